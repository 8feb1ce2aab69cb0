// The simulator page's entry point: wires the page's controls, then acts as the last
// selected (or first demo) resident.

import { api, keepBottom, nearBottom, onAction, state, toast, ui } from "./core.js";
import { closePicker, runAction, sendEvent } from "./actions.js";
import { setMenuOpen, setMode } from "./richmenu.js";
import {
  closePanel, loadCustomUsers, openPanel, randomUserId, saveCustomUsers, selectUser, storedUserId,
} from "./users.js";

function autosize() {
  ui.text.style.height = "auto";
  ui.text.style.height = `${Math.min(ui.text.scrollHeight + 2, 120)}px`;
}

function submitText() {
  const text = ui.text.value;
  if (!text.trim()) return;
  ui.text.value = "";
  autosize();
  sendEvent({ kind: "text", text });
}

function wire() {
  ui.chat.addEventListener("scroll", () => { state.atBottom = nearBottom(); }, { passive: true });
  new ResizeObserver(keepBottom).observe(ui.chat);
  ui.openPanel.addEventListener("click", openPanel);
  ui.backdrop.addEventListener("click", closePanel);
  ui.addUser.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.newUserName.value.trim().slice(0, 20);
    if (!name) return;
    const user = { id: randomUserId(), name };
    state.customUsers.push(user);
    saveCustomUsers();
    ui.newUserName.value = "";
    selectUser(user.id);
  });
  const follow = () => sendEvent({ kind: "follow" });
  ui.follow.addEventListener("click", follow);
  ui.gateFollow.addEventListener("click", follow);
  ui.unfollow.addEventListener("click", () => sendEvent({ kind: "unfollow" }));
  ui.composerForm.addEventListener("submit", (event) => { event.preventDefault(); submitText(); });
  ui.text.addEventListener("input", autosize);
  ui.text.addEventListener("keydown", (event) => {
    // Enter sends (like LINE on a computer); Shift+Enter and IME composition do not.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitText();
    }
  });
  ui.sendSticker.addEventListener("click", () => sendEvent({ kind: "sticker" }));
  ui.sendImage.addEventListener("click", () => ui.imageFile.click());
  ui.imageFile.addEventListener("change", () => {
    const files = Array.from(ui.imageFile.files || []);
    ui.imageFile.value = "";
    if (!files.length) return;
    if (files.length > 5) { toast("一度に送れる画像は5枚までです"); return; }
    if (files.some((file) => file.size > 10 * 1024 * 1024)) { toast("画像が大きすぎます（10MBまで）"); return; }
    // Several photos at once arrive as LINE does: one event each, with the same imageSet.
    const setId = files.length > 1 ? `sim${Date.now().toString(36)}` : null;
    Promise.all(files.map(readAsDataUrl)).then(async (images) => {
      for (const [i, image] of images.entries()) {
        const payload = { kind: "image", image };
        if (setId) payload.image_set = { id: setId, index: i + 1, total: images.length };
        await sendEvent(payload);
      }
    }, () => toast("画像を読み込めませんでした"));
  });
  ui.toKeyboard.addEventListener("click", () => { setMode("keyboard"); ui.text.focus(); });
  ui.toMenu.addEventListener("click", () => { setMode("menu"); setMenuOpen(true); });
  ui.menuToggle.addEventListener("click", () => setMenuOpen(!state.menuOpen));
  ui.pickerCancel.addEventListener("click", closePicker);
  ui.picker.addEventListener("click", (event) => { if (event.target === ui.picker) closePicker(); });
  ui.pickerForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const action = state.pickerAction;
    const value = ui.pickerInput.value;
    if (!action || !value) return;
    closePicker();
    sendEvent({ kind: "postback", data: action.data, params: { [action.mode]: value } });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { closePicker(); closePanel(); }
  });
}

async function start() {
  wire();
  try {
    const config = await api("/config");
    state.demoUsers = config.demo_users;
  } catch (error) {
    toast(error.message);
    return;
  }
  state.customUsers = loadCustomUsers();
  selectUser(storedUserId() || state.demoUsers[0].id);
}

onAction(runAction);
start();

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener("load", () => resolve(reader.result));
    reader.addEventListener("error", reject);
    reader.readAsDataURL(file);
  });
}
