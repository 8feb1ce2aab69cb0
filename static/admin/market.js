// ハンドメイドマーケット's review (templates/admin/market/review.html, application.html).
// Without JS everything still works: a photo opens on its own, the bulk bar sends the
// ticked cards. With it: photos open in a viewer (previous / next within the artist's
// photos, Esc closes), and the bulk bar counts what is ticked and can tick all.
"use strict";

(function () {
  // ---------- The photo viewer ----------
  var viewer = null;
  var links = [];
  var index = 0;

  function build() {
    var dialog = document.createElement("dialog");
    dialog.className = "photo-viewer";
    dialog.setAttribute("aria-label", "作品写真");
    var figure = document.createElement("figure");
    var img = document.createElement("img");
    img.alt = "";
    var caption = document.createElement("figcaption");
    var text = document.createElement("span");
    text.className = "viewer-caption";
    var buttons = document.createElement("span");
    buttons.className = "viewer-buttons";
    function button(label, title, onClick) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.setAttribute("aria-label", title);
      b.addEventListener("click", onClick);
      buttons.append(b);
      return b;
    }
    var prev = button("‹", "前の写真", function () { show(index - 1); });
    var next = button("›", "次の写真", function () { show(index + 1); });
    var original = document.createElement("a");
    original.textContent = "別のタブで開く";
    original.target = "_blank";
    original.rel = "noopener";
    buttons.append(original);
    button("閉じる", "閉じる", function () { dialog.close(); });
    caption.append(text, buttons);
    figure.append(img, caption);
    dialog.append(figure);
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") show(index - 1);
      if (event.key === "ArrowRight") show(index + 1);
    });
    document.body.append(dialog);
    return { dialog: dialog, img: img, text: text, prev: prev, next: next, original: original };
  }

  function show(i) {
    if (i < 0 || i >= links.length) return;
    index = i;
    var link = links[i];
    var thumb = link.querySelector("img");
    viewer.img.src = link.href;
    viewer.img.alt = thumb ? thumb.alt.replace("（クリックで拡大）", "") : "";
    viewer.text.textContent = link.getAttribute("data-caption") || "";
    viewer.original.href = link.href;
    viewer.prev.hidden = i === 0;
    viewer.next.hidden = i === links.length - 1;
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-photo]") : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    if (typeof HTMLDialogElement !== "function") return; // no <dialog>: open the photo
    event.preventDefault();
    viewer = viewer || build();
    var gallery = link.getAttribute("data-gallery");
    links = Array.prototype.filter.call(document.querySelectorAll("a[data-photo]"), function (a) {
      return a.getAttribute("data-gallery") === gallery;
    });
    show(links.indexOf(link));
    if (!viewer.dialog.open) viewer.dialog.showModal();
  });

  // ---------- The bulk bar ----------
  function items() {
    return document.querySelectorAll("input[data-bulk-item]");
  }

  function update() {
    var bar = document.getElementById("bulk");
    if (!bar) return;
    var all = items();
    var ticked = Array.prototype.filter.call(all, function (box) { return box.checked; }).length;
    var count = bar.querySelector("[data-bulk-count]");
    if (count) count.textContent = ticked ? ticked + "件を選択中：" : "チェックした申込みを";
    bar.setAttribute("data-empty", ticked ? "false" : "true");
    var every = bar.querySelector("input[data-bulk-all]");
    if (every) {
      every.checked = all.length > 0 && ticked === all.length;
      every.indeterminate = ticked > 0 && ticked < all.length;
    }
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    if (box.hasAttribute("data-bulk-all")) {
      Array.prototype.forEach.call(items(), function (item) { item.checked = box.checked; });
    }
    if (box.hasAttribute("data-bulk-all") || box.hasAttribute("data-bulk-item")) update();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var bar = document.getElementById("bulk");
    if (!bar) return;
    var every = bar.querySelector(".bulk-all");
    if (every && items().length) every.hidden = false;
    update();
  });
})();
