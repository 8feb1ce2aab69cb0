// The transcript: day separators, the resident's and the bot's rows, the typing indicator,
// quick replies under the latest message, and polling for what the bot sent.

import { BOT_NAME, api, el, nearBottom, runAction, scrollToBottom, state, toast, ui } from "./core.js";
import { appendLinkified, image, locationCard, sticker } from "./media.js";
import { renderMessage } from "./messages.js";

const POLL_MS = 500;
const TIME = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", month: "numeric", day: "numeric", weekday: "short" });
const DAY_KEY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit" });

function dayLabel(ms) {
  const key = DAY_KEY.format(ms);
  return key === DAY_KEY.format(Date.now()) ? "今日" : DAY.format(ms);
}

function addDaySeparator(ms) {
  const key = DAY_KEY.format(ms);
  if (key === state.lastDay) return;
  state.lastDay = key;
  state.lastSide = null;
  const day = el("div", "day");
  day.appendChild(el("span", null, dayLabel(ms)));
  ui.chat.insertBefore(day, state.typingRow);
}

function meta(ms, read) {
  const box = el("div", "row__meta");
  if (read) box.appendChild(el("span", null, "既読"));
  box.appendChild(el("span", null, TIME.format(ms)));
  return box;
}

function addBotRow(content, ms, options = {}) {
  const row = el("div", "row row--bot" + (options.wide ? " row--wide" : ""));
  const first = state.lastSide !== "bot";
  const avatar = el("div", "row__avatar" + (first ? "" : " row__avatar--blank"));
  if (first) avatar.appendChild(el("div", "avatar avatar--bot", "島"));
  row.appendChild(avatar);
  const main = el("div", "row__main");
  if (first) main.appendChild(el("div", "row__name", BOT_NAME));
  const line = el("div", "row__line");
  if (options.tail && first) content.classList.add("bubble--tail");
  line.appendChild(content);
  if (options.showTime) line.appendChild(meta(ms, false));
  main.appendChild(line);
  row.appendChild(main);
  ui.chat.insertBefore(row, state.typingRow);
  state.lastSide = "bot";
}

function addUserRow(content, ms, tail) {
  const row = el("div", "row row--me");
  const main = el("div", "row__main");
  const line = el("div", "row__line");
  if (tail && state.lastSide !== "me") content.classList.add("bubble--tail");
  line.appendChild(content);
  line.appendChild(meta(ms, true));
  main.appendChild(line);
  row.appendChild(main);
  ui.chat.insertBefore(row, state.typingRow);
  state.lastSide = "me";
}

function addSystem(text, ms) {
  addDaySeparator(ms);
  ui.chat.insertBefore(el("div", "system", text), state.typingRow);
  state.lastSide = null;
}

export function renderUserBubble(bubble) {
  const ms = bubble.at || Date.now();
  if (bubble.type === "system") { addSystem(bubble.text, ms); return; }
  addDaySeparator(ms);
  if (bubble.type === "text") {
    const node = el("div", "bubble bubble--me");
    appendLinkified(node, bubble.text);
    addUserRow(node, ms, true);
  } else if (bubble.type === "image") {
    const box = el("div", "media");
    const missing = () => box.replaceChildren(el("div", "media__placeholder", "画像"));
    const img = bubble.src ? image(bubble.src, missing) : null;
    if (img) box.appendChild(img); else if (!bubble.src) missing();
    addUserRow(box, ms, false);
  } else if (bubble.type === "sticker") {
    addUserRow(sticker("me"), ms, false);
  } else if (bubble.type === "location") {
    addUserRow(locationCard(bubble.title, bubble.address, null), ms, false);
  }
}

export function renderDelivery(item) {
  addDaySeparator(item.at);
  item.messages.forEach((message, i) => {
    const last = i === item.messages.length - 1;
    const node = renderMessage(message);
    addBotRow(node, item.at, {
      tail: node.classList.contains("bubble"),
      showTime: last,
      wide: node.classList.contains("scroller"),
    });
  });
}

// ---- quick replies ----------------------------------------------------------------------

export function showQuickReplies(quickReply) {
  const items = (quickReply && quickReply.items) || [];
  ui.quick.replaceChildren();
  for (const item of items) {
    if (!item || !item.action) continue;
    const chip = el("button", "chip", item.action.label || "");
    chip.type = "button";
    chip.addEventListener("click", () => runAction(item.action));
    ui.quick.appendChild(chip);
  }
  ui.quick.hidden = ui.quick.childElementCount === 0;
}

export function hideQuickReplies() {
  ui.quick.hidden = true;
  ui.quick.replaceChildren();
}

// ---- polling ----------------------------------------------------------------------------

function showTyping(show) {
  if (show && !state.typingRow) {
    const row = el("div", "row row--bot");
    const avatar = el("div", "row__avatar");
    avatar.appendChild(el("div", "avatar avatar--bot", "島"));
    row.appendChild(avatar);
    const bubble = el("div", "bubble bubble--bot typing");
    bubble.setAttribute("aria-label", "入力中");
    bubble.append(el("i"), el("i"), el("i"));
    row.appendChild(bubble);
    ui.chat.appendChild(row);
    state.typingRow = row;
    scrollToBottom();
  } else if (!show && state.typingRow) {
    state.typingRow.remove();
    state.typingRow = null;
  }
}

// Fetches what arrived for the acting user after `state.lastSeq`, then again every POLL_MS
// until another user is selected (`generation` changes). The friend state goes to
// `setFollowing`, which belongs to the users panel (users.js), not to the transcript.
export async function poll(generation, setFollowing, initial = false) {
  if (generation !== state.generation) return;
  if (state.sending === 0 || initial) {
    try {
      const data = await api(`/messages?user_id=${encodeURIComponent(state.user.id)}&after=${state.lastSeq}`);
      if (generation !== state.generation) return;
      state.everFollowed = data.ever_followed;
      const stick = initial || nearBottom();
      let lastBot = null;
      let lastKind = null;
      for (const item of data.items) {
        if (item.kind === "bot") {
          renderDelivery(item);
          lastBot = item;
        } else {
          renderUserBubble(item.bubble);
        }
        lastKind = item.kind;
      }
      if (lastBot && lastKind === "bot") {
        const messages = lastBot.messages;
        const last = messages[messages.length - 1];
        if (last && last.quickReply) showQuickReplies(last.quickReply);
        else hideQuickReplies();
      }
      state.lastSeq = data.last_seq;
      if (initial || data.following !== state.following) setFollowing(data.following);
      showTyping(data.loading_until > Date.now() && data.following);
      if (stick && data.items.length) scrollToBottom();
    } catch (error) {
      if (initial) toast(error.message);
    }
  }
  setTimeout(() => poll(generation, setFollowing), POLL_MS);
}
