// What every part of the simulator page shares: the page's elements, the session state,
// DOM and fetch helpers. Everything is rendered with DOM APIs and textContent: message
// content comes from the app (and from residents), so it is never parsed as HTML.

export const API = document.body.dataset.api;
export const BOT_NAME = document.body.dataset.botName;

const $ = (id) => document.getElementById(id);
export const ui = {
  panel: $("panel"), backdrop: $("backdrop"), openPanel: $("open-panel"), users: $("users"),
  addUser: $("add-user"), newUserName: $("new-user-name"), friendStatus: $("friend-status"),
  follow: $("follow"), unfollow: $("unfollow"), actingAs: $("acting-as"), chat: $("chat"),
  gate: $("gate"), gateText: $("gate-text"), gateFollow: $("gate-follow"), quick: $("quick"),
  composer: $("composer"), composerForm: $("composer-form"), text: $("text"), send: $("send"),
  toMenu: $("to-menu"), sendImage: $("send-image"), sendSticker: $("send-sticker"), imageFile: $("image-file"),
  menubar: $("menubar"), toKeyboard: $("to-keyboard"), menuToggle: $("menu-toggle"),
  chatBarText: $("chat-bar-text"), menuArrow: $("menu-arrow"), richmenu: $("richmenu"),
  richmenuFrame: $("richmenu-frame"), picker: $("picker"), pickerForm: $("picker-form"),
  pickerTitle: $("picker-title"), pickerInput: $("picker-input"), pickerCancel: $("picker-cancel"),
  toast: $("toast"),
};

export const state = {
  demoUsers: [], customUsers: [], user: null, generation: 0, lastSeq: 0, following: false,
  everFollowed: false, sending: 0, menu: null, menuOpen: true, mode: "menu", lastDay: null,
  lastSide: null, loadingUntil: 0, atBottom: true, typingRow: null, pickerAction: null,
};

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function toast(message) {
  ui.toast.textContent = message;
  ui.toast.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { ui.toast.hidden = true; }, 3500);
}

export async function api(path, options = {}) {
  const init = { method: options.method || "GET", credentials: "same-origin", headers: { "X-Requested-With": "simulator" } };
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(API + path, init);
  let data = {};
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error(data.error || `エラーが発生しました（${response.status}）`);
  return data;
}

export function safeUrl(value, schemes = ["http:", "https:"]) {
  try {
    const url = new URL(value, location.href);
    return schemes.includes(url.protocol) ? url.href : null;
  } catch (_) {
    return null;
  }
}

// ---- the chat's scroll position (images loading anywhere in it move it) ------------------

export function nearBottom() {
  const c = ui.chat;
  return c.scrollHeight - c.scrollTop - c.clientHeight < 120;
}

export function scrollToBottom() {
  ui.chat.scrollTop = ui.chat.scrollHeight;
  state.atBottom = true;
}

// Keep the latest message in view when content or the chat area changes size (menu,
// quick replies, images loading) — if the user was reading the latest messages.
export function keepBottom() {
  if (state.atBottom) ui.chat.scrollTop = ui.chat.scrollHeight;
}

// ---- taps -------------------------------------------------------------------------------

// Messages, quick replies and the rich menu are drawn by modules that actions.js itself
// uses (to show what a tap sent), so they reach it through this hook, set by main.js,
// rather than by importing it.
let actionHandler = () => {};

export function onAction(handler) {
  actionHandler = handler;
}

export function runAction(action) {
  actionHandler(action);
}
