// The bottom of the phone: the rich menu (image with tap areas) and its bar, or the
// keyboard composer; which one shows depends on the friend state and the input mode.

import { api, el, runAction, state, ui } from "./core.js";
import { hideQuickReplies } from "./chat.js";

export function setMode(mode) {
  state.mode = state.menu ? mode : "keyboard";
  refreshBottom();
}

export function setMenuOpen(open) {
  state.menuOpen = open;
  refreshBottom();
}

export function refreshBottom() {
  const active = state.following;
  const menuMode = active && state.menu && state.mode === "menu";
  ui.menubar.hidden = !menuMode;
  ui.richmenu.hidden = !(menuMode && state.menuOpen);
  ui.composer.hidden = !active || menuMode;
  ui.toMenu.hidden = !state.menu;
  ui.menuArrow.textContent = state.menuOpen ? "▼" : "▲";
  ui.menuToggle.setAttribute("aria-expanded", String(Boolean(state.menuOpen)));
  if (!active) hideQuickReplies();
}

export async function loadMenu() {
  const generation = state.generation;
  try {
    const menu = await api(`/richmenu?user_id=${encodeURIComponent(state.user.id)}`);
    if (generation === state.generation) renderMenu(menu);
  } catch (_) {
    renderMenu({ definition: null });
  }
}

export function renderMenu(menu) {
  const definition = menu && menu.definition;
  ui.richmenuFrame.replaceChildren();
  if (!definition || !menu.image_url) {
    state.menu = null;
    state.mode = "keyboard";
    refreshBottom();
    return;
  }
  state.menu = definition;
  const img = document.createElement("img");
  img.src = menu.image_url;
  img.alt = definition.chatBarText || "リッチメニュー";
  img.draggable = false;
  ui.richmenuFrame.appendChild(img);
  const { width, height } = definition.size;
  ui.richmenuFrame.style.aspectRatio = `${width} / ${height}`;
  for (const area of definition.areas || []) {
    const b = area.bounds;
    const button = el("button", "richmenu__area");
    button.type = "button";
    button.style.left = `${(b.x / width) * 100}%`;
    button.style.top = `${(b.y / height) * 100}%`;
    button.style.width = `${(b.width / width) * 100}%`;
    button.style.height = `${(b.height / height) * 100}%`;
    const action = area.action || {};
    button.setAttribute("aria-label", action.label || action.displayText || action.text || "メニュー");
    button.title = button.getAttribute("aria-label");
    button.addEventListener("click", () => runAction(action));
    ui.richmenuFrame.appendChild(button);
  }
  ui.chatBarText.textContent = definition.chatBarText || "メニュー";
  state.mode = "menu";
  state.menuOpen = definition.selected !== false;
  refreshBottom();
}
