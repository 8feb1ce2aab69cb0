// The survey builder (templates/admin/surveys/survey_form.html). Without JS the form works
// as it is: every row's fields are shown and 「質問欄を増やす」 sends the form back with more
// empty rows. With it: 「質問欄を増やす」 adds a row here, the 選択肢 box shows only for the
// kinds that have choices, and each row's 表示する条件 lists the questions typed above it
// (kept in step as they are typed, so a condition can name a question not yet saved).
"use strict";

(function () {
  var CHOICE_KINDS = ["single", "multi"];
  var serial = 0;

  function syncChoices(row) {
    var kind = row.querySelector("[data-field='kind']");
    var box = row.querySelector("[data-choices-field]");
    if (!kind || !box) return;
    var area = box.querySelector("textarea");
    var wanted = CHOICE_KINDS.indexOf(kind.value) >= 0;
    // Kept visible when something is typed there, so nothing is hidden from the form.
    box.hidden = !wanted && !(area && area.value.trim());
  }

  function earlierOptions(rows, upTo) {
    var options = [];
    for (var i = 0; i < upTo; i++) {
      var text = rows[i].querySelector("[data-field='text']").value.trim();
      var kind = rows[i].querySelector("[data-field='kind']").value;
      if (!text || kind === "text") continue;
      var key = rows[i].querySelector("input[name='q_key']").value;
      var short = text.length > 24 ? text.slice(0, 23) + "…" : text;
      options.push([key, "質問" + (i + 1) + "：" + short + "の回答が…"]);
    }
    return options;
  }

  // Rebuilds a row's 表示する条件 options from the rows above it. A chosen question that
  // is no longer listed (emptied, or now free text) stays chosen: the server then says what
  // is wrong rather than the condition silently disappearing.
  function fillConditions(select, options) {
    var chosen = select.value;
    var kept = null;
    if (chosen) {
      kept = select.options[select.selectedIndex];
    }
    while (select.options.length > 1) select.remove(1);
    var found = false;
    options.forEach(function (pair) {
      select.add(new Option(pair[1], pair[0]));
      if (pair[0] === chosen) found = true;
    });
    if (chosen && !found && kept) select.add(kept);
    select.value = chosen;
  }

  function syncConditions(list) {
    var rows = Array.prototype.slice.call(list.querySelectorAll("[data-question-row]"));
    rows.forEach(function (row, n) {
      var select = row.querySelector("[data-field='if']");
      if (select) fillConditions(select, earlierOptions(rows, n));
    });
  }

  function addRow(list) {
    var rows = list.querySelectorAll("[data-question-row]");
    var last = rows[rows.length - 1];
    var row = last.cloneNode(true);
    var n = rows.length + 1;
    serial += 1;
    row.querySelector("input[name='q_key']").value = "n" + Date.now().toString(36) + serial;
    row.querySelectorAll("input[type='text'], textarea").forEach(function (input) {
      input.value = "";
    });
    row.querySelector("[data-field='kind']").selectedIndex = 0;
    row.querySelector("[data-field='required']").selectedIndex = 0;
    row.querySelectorAll(".survey-role, [data-choices-field] .field-hint").forEach(function (el) {
      el.remove();
    });
    row.querySelector("[data-question-number]").textContent = "質問" + n;
    row.querySelectorAll("[id]").forEach(function (el) {
      el.id = el.id.replace(/^q\d+-/, "q" + n + "-");
    });
    row.querySelectorAll("label[for]").forEach(function (label) {
      label.htmlFor = label.htmlFor.replace(/^q\d+-/, "q" + n + "-");
    });
    var condition = row.querySelector("[data-field='if']");
    condition.selectedIndex = 0;
    list.append(row);
    syncConditions(list);
    syncChoices(row);
    row.querySelector("[data-field='text']").focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-survey-builder]");
    if (!form) return;
    var list = form.querySelector("[data-question-rows]");
    list.querySelectorAll("[data-question-row]").forEach(syncChoices);
    list.addEventListener("change", function (event) {
      var row = event.target instanceof Element ? event.target.closest("[data-question-row]") : null;
      if (row && event.target.matches("[data-field='kind']")) syncChoices(row);
      if (row && event.target.matches("[data-field='text'], [data-field='kind']")) {
        syncConditions(list);
      }
    });
    // Also just before a condition is chosen (a question typed but not yet left).
    list.addEventListener("focusin", function (event) {
      if (event.target instanceof Element && event.target.matches("[data-field='if']")) {
        syncConditions(list);
      }
    });
    var add = form.querySelector("[data-add-question]");
    if (add) {
      add.addEventListener("click", function (event) {
        event.preventDefault();
        addRow(list);
      });
    }
  });
})();
