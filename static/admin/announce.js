// お知らせ配信 (templates/admin/announce/). Without JS everything works: {名前} is typed, and
// 「人数を確認」 sends the form back with the count. With it: a button puts {名前} where the
// cursor is, the count follows the audience builder as it changes (GET
// /admin/announcements/count with the builder's own fields), a market's statuses wait for a
// market, and a page whose send is under way refreshes itself.
"use strict";

(function () {
  var COUNT_PATH = "/admin/announcements/count";
  var WAIT_MS = 250;

  // {名前} at the cursor of the text (or replacing what is selected there).
  function setUpNameButton(form) {
    var button = form.querySelector("[data-insert-name]");
    var body = form.querySelector("[data-body]");
    if (!button || !body) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var word = button.getAttribute("data-insert-name");
      var start = body.selectionStart == null ? body.value.length : body.selectionStart;
      var end = body.selectionEnd == null ? start : body.selectionEnd;
      if (body.maxLength > 0 && body.value.length - (end - start) + word.length > body.maxLength) {
        body.focus();
        return;
      }
      body.setRangeText(word, start, end, "end");
      body.focus();
      body.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  // The builder's fields as the count endpoint reads them (the form's own names).
  function audienceQuery(box) {
    var params = new URLSearchParams();
    box.querySelectorAll("input, select").forEach(function (field) {
      // :disabled, not .disabled: a field in a disabled fieldset is not sent either.
      if (!field.name || field.matches(":disabled") || field.name === "action") return;
      if ((field.type === "checkbox" || field.type === "radio") && !field.checked) return;
      params.append(field.name, field.value);
    });
    return params.toString();
  }

  function setUpCount(form) {
    var box = form.querySelector("[data-audience]");
    if (!box) return;
    var shown = box.querySelector("[data-count]");
    var busy = box.querySelector("[data-count-busy]");
    var button = box.querySelector("[data-count-button]");
    if (!shown) return;
    if (button) button.hidden = true; // the count follows the builder by itself
    var timer = null;
    var asked = 0; // only the latest answer is shown
    function ask() {
      var mine = ++asked;
      if (busy) busy.hidden = false;
      fetch(COUNT_PATH + "?" + audienceQuery(box), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error("count " + response.status);
          return response.json();
        })
        .then(function (answer) {
          if (mine !== asked) return;
          shown.textContent = answer.text;
          if (busy) busy.hidden = true;
        })
        .catch(function () {
          if (mine !== asked) return;
          if (busy) busy.hidden = true;
          if (button) button.hidden = false; // ask the server the JS-less way
        });
    }
    box.addEventListener("change", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, WAIT_MS);
    });
  }

  // A market's application statuses mean something only with a market: without one they
  // are disabled (not sent, not counted) and say so, rather than narrowing nothing.
  function setUpMarketStatuses(form) {
    var market = form.querySelector("[data-market]");
    var statuses = form.querySelector("[data-market-statuses]");
    if (!market || !statuses) return;
    function follow() {
      statuses.disabled = !market.value;
    }
    market.addEventListener("change", follow);
    follow();
  }

  // A send under way: its figures come from the worker, so the page loads again now and
  // then (without the query, so the message of the step that led here is not repeated).
  function setUpRefresh() {
    var figures = document.querySelector("[data-auto-refresh]");
    if (!figures) return;
    var seconds = parseInt(figures.getAttribute("data-auto-refresh"), 10) || 15;
    window.setTimeout(function () {
      window.location.replace(window.location.pathname);
    }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-announce-form]").forEach(function (form) {
      setUpNameButton(form);
      setUpMarketStatuses(form);
      setUpCount(form);
    });
    setUpRefresh();
  });
})();
