// 当日の出欠: the 出席 / 欠席 / 取り消す forms work without JS (they redirect back to the
// row). With JS the same form (its CSRF token included) is sent with fetch, and the row and
// the running count are updated in place; a name filter appears for long lists.
(() => {
  "use strict";
  const list = document.getElementById("att-list");
  const count = document.getElementById("att-count");
  const errorBox = document.getElementById("att-error");
  if (!list || !count) return;

  const LABELS = { present: "出席", absent: "欠席", unknown: "未記録" };

  // Opened before marking opens: the page reloads itself when it does (the buttons enable).
  const opensIn = Number(list.dataset.opensInMs || 0);
  if (opensIn > 0) setTimeout(() => window.location.reload(), opensIn + 1000);

  function showError(text) {
    if (!errorBox) return;
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  function setCounts(counts) {
    for (const key of Object.keys(counts)) {
      const el = count.querySelector(`[data-count="${key}"]`);
      if (el) el.textContent = String(counts[key]);
    }
    count.classList.remove("att-bump");
    void count.offsetWidth; // restart the highlight
    count.classList.add("att-bump");
  }

  function setRow(row, data) {
    const state = data.attendance;
    row.classList.remove("att-present", "att-absent", "att-unknown");
    row.classList.add(`att-${state}`);
    const label = row.querySelector("[data-state]");
    if (label) label.textContent = LABELS[state] || data.label;
    for (const button of row.querySelectorAll("button[aria-pressed]")) {
      button.setAttribute("aria-pressed", button.value === state ? "true" : "false");
    }
    const undo = row.querySelector("button[value='unknown']");
    if (undo) undo.hidden = state === "unknown";
    const line = row.querySelector("[data-line]");
    if (line && data.by !== "line") line.remove();
  }

  list.addEventListener("submit", async (event) => {
    const form = event.target;
    const submitter = event.submitter;
    if (!(form instanceof HTMLFormElement) || !submitter || !form.closest(".att-row")) return;
    event.preventDefault();
    const row = form.closest(".att-row");
    row.classList.add("att-busy");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form, submitter),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const data = await response.json().catch(() => null);
      if (!data) {
        showError("記録できませんでした。ページを再読み込みして、もう一度お試しください。");
        return;
      }
      showError(data.ok ? "" : data.message);
      setRow(row, data);
      setCounts(data.counts);
    } catch (_) {
      showError("通信できませんでした。電波の状態を確かめて、もう一度タップしてください。");
    } finally {
      row.classList.remove("att-busy");
    }
  });

  // A name filter for long lists (hidden without JS: it needs this script).
  const filterBox = document.querySelector(".att-filter");
  const filter = document.getElementById("att-filter");
  if (filterBox && filter && list.querySelectorAll(".att-row").length > 8) {
    filterBox.hidden = false;
    filter.addEventListener("input", () => {
      const wanted = filter.value.trim().toLowerCase();
      for (const row of list.querySelectorAll(".att-row")) {
        const name = (row.dataset.name || "").toLowerCase();
        row.classList.toggle("att-hidden", wanted !== "" && !name.includes(wanted));
      }
    });
  }
})();
