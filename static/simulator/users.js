// The users panel (a drawer on phones): demo and added residents, who is acting, and the
// acting resident's friend state (panel, follow card, bottom bar).

import { el, state, ui } from "./core.js";
import { hideQuickReplies, poll } from "./chat.js";
import { loadMenu, refreshBottom } from "./richmenu.js";

const STORE_USERS = "shimaSimulator.users";
const STORE_CURRENT = "shimaSimulator.current";

export function randomUserId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "U" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function loadCustomUsers() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE_USERS) || "[]");
    return Array.isArray(stored) ? stored.filter((u) => /^U[0-9a-f]{32}$/.test(u.id) && typeof u.name === "string") : [];
  } catch (_) {
    return [];
  }
}

// The resident acted as last time (selectUser falls back to the first demo user).
export function storedUserId() {
  return localStorage.getItem(STORE_CURRENT);
}

export function saveCustomUsers() {
  localStorage.setItem(STORE_USERS, JSON.stringify(state.customUsers));
}

function allUsers() { return [...state.demoUsers, ...state.customUsers]; }

function renderUsers() {
  ui.users.replaceChildren();
  for (const user of allUsers()) {
    const li = el("li", "user-row");
    const button = el("button", "user");
    button.type = "button";
    button.setAttribute("aria-current", String(state.user && state.user.id === user.id));
    button.appendChild(el("span", "avatar", user.name.trim().charAt(0) || "?"));
    button.appendChild(el("span", "user__name", user.name));
    if (state.user && state.user.id === user.id) {
      button.appendChild(el("span", "user__state" + (state.following ? " user__state--on" : ""),
        state.following ? "友だち" : "未追加"));
    }
    button.addEventListener("click", () => { selectUser(user.id); closePanel(); });
    li.appendChild(button);
    if (state.customUsers.includes(user)) {
      const remove = el("button", "user-remove", "×");
      remove.type = "button";
      remove.setAttribute("aria-label", `${user.name}を一覧から外す`);
      remove.addEventListener("click", () => removeUser(user.id));
      li.appendChild(remove);
    }
    ui.users.appendChild(li);
  }
}

function removeUser(id) {
  state.customUsers = state.customUsers.filter((u) => u.id !== id);
  saveCustomUsers();
  if (state.user && state.user.id === id) selectUser(state.demoUsers[0].id);
  else renderUsers();
}

export function selectUser(id) {
  const user = allUsers().find((u) => u.id === id) || state.demoUsers[0];
  state.user = user;
  state.generation += 1;
  state.lastSeq = 0;
  state.lastDay = null;
  state.lastSide = null;
  state.loadingUntil = 0;
  state.typingRow = null;
  localStorage.setItem(STORE_CURRENT, user.id);
  ui.chat.replaceChildren();
  hideQuickReplies();
  ui.actingAs.textContent = `${user.name} として操作中`;
  renderUsers();
  loadMenu();
  poll(state.generation, setFollowing, true);
}

export function setFollowing(following) {
  if (following) state.everFollowed = true;
  const changed = state.following !== following;
  state.following = following;
  ui.follow.disabled = following;
  ui.unfollow.disabled = !following;
  ui.follow.textContent = state.everFollowed && !following ? "ブロック解除" : "友だち追加";
  ui.gateFollow.textContent = ui.follow.textContent;
  ui.friendStatus.textContent = following
    ? `${state.user.name} さんは友だちです`
    : state.everFollowed ? `${state.user.name} さんはブロック中です` : `${state.user.name} さんはまだ友だちではありません`;
  ui.gateText.textContent = state.everFollowed
    ? "ブロック中です。ブロックを解除するとメッセージを送受信できます。"
    : "友だち追加して、相談予約やイベントの情報を受け取りましょう。";
  ui.gate.hidden = following;
  refreshBottom();
  if (changed) renderUsers();
}

export function openPanel() {
  ui.panel.classList.add("panel--open");
  ui.backdrop.hidden = false;
  ui.openPanel.setAttribute("aria-expanded", "true");
}

export function closePanel() {
  ui.panel.classList.remove("panel--open");
  ui.backdrop.hidden = true;
  ui.openPanel.setAttribute("aria-expanded", "false");
}
