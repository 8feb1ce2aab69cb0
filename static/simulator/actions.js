// What a tap does (message, postback, datetimepicker, uri, camera, location, richmenuswitch,
// clipboard actions), and sending an event to the app as the acting resident.

import { api, safeUrl, scrollToBottom, state, toast, ui } from "./core.js";
import { hideQuickReplies, renderUserBubble } from "./chat.js";
import { renderMenu, setMenuOpen, setMode } from "./richmenu.js";
import { setFollowing } from "./users.js";

export function runAction(action) {
  if (!action) return;
  switch (action.type) {
    case "message":
      sendEvent({ kind: "text", text: action.text });
      break;
    case "postback":
      applyInputOption(action);
      sendEvent({ kind: "postback", data: action.data, display_text: action.displayText || action.text || null });
      break;
    case "datetimepicker":
      openPicker(action);
      break;
    case "uri": {
      const href = safeUrl(action.uri, ["http:", "https:", "tel:"]);
      if (href) window.open(href, "_blank", "noopener,noreferrer");
      else toast("このリンクはシミュレーターでは開けません");
      break;
    }
    case "camera":
    case "cameraRoll":
      ui.imageFile.click();
      break;
    case "location":
      sendEvent({ kind: "location" });
      break;
    case "richmenuswitch":
      switchMenu(action);
      break;
    case "clipboard":
      if (navigator.clipboard) navigator.clipboard.writeText(action.clipboardText || "").then(() => toast("コピーしました"));
      break;
    default:
      toast("この操作はシミュレーターでは使えません");
  }
}

function applyInputOption(action) {
  switch (action.inputOption) {
    case "closeRichMenu": setMenuOpen(false); break;
    case "openRichMenu": setMode("menu"); setMenuOpen(true); break;
    case "openKeyboard":
    case "openVoice":
      setMode("keyboard");
      if (action.fillInText) ui.text.value = action.fillInText;
      ui.text.focus();
      break;
    default: break;
  }
}

function openPicker(action) {
  const type = { date: "date", time: "time", datetime: "datetime-local" }[action.mode];
  if (!type) { toast("この日時選択はシミュレーターでは使えません"); return; }
  state.pickerAction = action;
  const fix = (v) => (v ? String(v).replace("t", "T") : "");
  ui.pickerInput.type = type;
  ui.pickerInput.min = fix(action.min);
  ui.pickerInput.max = fix(action.max);
  ui.pickerInput.value = fix(action.initial);
  ui.pickerTitle.textContent = action.label || { date: "日付を選択", time: "時刻を選択", datetime: "日時を選択" }[action.mode];
  ui.picker.hidden = false;
  ui.pickerInput.focus();
}

export function closePicker() {
  ui.picker.hidden = true;
  state.pickerAction = null;
}

async function switchMenu(action) {
  await sendEvent({ kind: "postback", data: action.data, params: { newRichMenuAliasId: action.richMenuAliasId, status: "SUCCESS" } });
  try {
    const menu = await api(`/richmenu?user_id=${encodeURIComponent(state.user.id)}&alias=${encodeURIComponent(action.richMenuAliasId)}`);
    renderMenu(menu);
  } catch (error) {
    toast(error.message);
  }
}

export async function sendEvent(payload) {
  if (!state.user) return;
  const generation = state.generation;
  hideQuickReplies();
  state.sending += 1;
  try {
    const result = await api("/events", {
      method: "POST",
      body: { user_id: state.user.id, display_name: state.user.name, ...payload },
    });
    if (generation !== state.generation) return;
    if (result.bubble) {
      // A large photo is not kept in the page's history (src null): this page has it still.
      const bubble = result.bubble.type === "image" && !result.bubble.src && payload.image
        ? { ...result.bubble, src: payload.image }
        : result.bubble;
      renderUserBubble(bubble);
      scrollToBottom();
    }
    setFollowing(result.following);
  } catch (error) {
    toast(error.message);
  } finally {
    state.sending -= 1;
  }
}
