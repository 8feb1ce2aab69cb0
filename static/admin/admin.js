// Staff admin. Works without JS too: nojs.css then keeps the phone navigation open, and
// tables show as cards without their column names.
"use strict";

// Ask before destructive actions (forms with data-confirm).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// Phones: the menu button opens and closes the navigation (admin/base.html).
function setMenu(toggle, open) {
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  var bar = toggle.closest(".sidebar");
  if (bar) bar.classList.toggle("nav-open", open);
}
document.addEventListener("click", function (event) {
  var toggle = event.target instanceof Element ? event.target.closest(".nav-toggle") : null;
  if (toggle) setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var toggle = document.querySelector(".nav-toggle[aria-expanded='true']");
  if (toggle) {
    setMenu(toggle, false);
    toggle.focus();
  }
});

// Tables as cards (admin.css): a cell without data-label gets its column's header text, so
// every table — also one a new page adds — shows its labels on a phone.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.table").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
          cell.setAttribute("data-label", heads[i] || "");
        }
      });
    });
  });
});
