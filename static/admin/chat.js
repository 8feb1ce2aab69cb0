// チャット: keep the conversation live (polls for new messages every few seconds), scroll
// to the newest, and fill the text box from a chosen 定型文. No dependencies.
(() => {
  "use strict";
  const POLL_MS = 4000;
  const log = document.getElementById("chat-log");
  const plan = document.getElementById("chat-plan");

  const toBottom = () => { if (log) log.scrollTop = log.scrollHeight; };

  const PLAN_TEXT = {
    reply: "<strong>応答メッセージ</strong>で送ります（無料・送信数に数えません）。利用者の直前のメッセージに返信できる間だけ使えます。",
    push: "<strong>プッシュメッセージ</strong>で送ります（1 通につき月間の送信数を 1 通使います）。",
  };

  async function poll() {
    if (!log || document.hidden) return;
    try {
      const url = `${log.dataset.poll}?after=${encodeURIComponent(log.dataset.last || "0")}`;
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      if (data.html && data.html.trim()) {
        const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
        log.insertAdjacentHTML("beforeend", data.html);
        const empty = document.getElementById("chat-empty");
        if (empty) empty.remove();
        if (nearBottom) toBottom();
      }
      log.dataset.last = String(data.last_id);
      if (plan && plan.dataset.via !== data.via && PLAN_TEXT[data.via]) {
        plan.dataset.via = data.via;
        plan.innerHTML = PLAN_TEXT[data.via];
      }
    } catch (_) {
      // offline for a moment: the next round tries again
    }
  }

  const select = document.querySelector("select[data-fill]");
  if (select) {
    select.addEventListener("change", () => {
      const option = select.selectedOptions[0];
      const box = document.getElementById(select.dataset.fill);
      if (option && option.dataset.body && box) box.value = option.dataset.body;
    });
  }
  for (const form of document.querySelectorAll(".chat-composer form")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) setTimeout(() => { button.disabled = true; }, 0);
    });
  }
  toBottom();
  if (log) setInterval(poll, POLL_MS);
})();
