// One message the bot sent, as the chat shows it: text, sticker, media, location, template
// (buttons, confirm, carousels) or Flex.

import { el, runAction } from "./core.js";
import { appendLinkified, image, locationCard, mediaBox, sticker } from "./media.js";
import { renderFlexContainer } from "./flex.js";

export function renderMessage(message) {
  try {
    switch (message.type) {
      case "text": {
        const node = el("div", "bubble bubble--bot");
        appendLinkified(node, message.text || "");
        return node;
      }
      case "sticker": return sticker("bot");
      case "image": return mediaBox(message.previewImageUrl || message.originalContentUrl, "画像", message.originalContentUrl);
      case "video": return mediaBox(message.previewImageUrl, "動画", message.originalContentUrl);
      case "audio": return mediaBox(null, "音声", message.originalContentUrl);
      case "location": return locationCard(message.title, message.address, message);
      case "template": return renderTemplate(message.template || {}, message.altText);
      case "flex": return renderFlexContainer(message.contents || {});
      default: {
        const node = el("div", "bubble bubble--bot");
        node.textContent = message.altText || "（この種類のメッセージはシミュレーターでは表示できません）";
        return node;
      }
    }
  } catch (error) {
    const node = el("div", "bubble bubble--bot");
    node.textContent = `（表示できないメッセージ: ${message.altText || message.type}）`;
    return node;
  }
}

// ---- template messages ------------------------------------------------------------------

function actionButton(action, className) {
  const button = el("button", className, (action && action.label) || "");
  button.type = "button";
  button.addEventListener("click", () => runAction(action));
  return button;
}

function templateCard(column, template, confirm) {
  const card = el("div", "tpl" + (confirm ? " tpl--confirm" : ""));
  if (column.thumbnailImageUrl) {
    const thumb = el("div", "tpl__thumb" + (template.imageAspectRatio === "square" ? " tpl__thumb--square" : ""));
    if (column.imageBackgroundColor) thumb.style.backgroundColor = column.imageBackgroundColor;
    const img = image(column.thumbnailImageUrl, () => thumb.classList.add("fx-image--missing"));
    if (img) {
      if (template.imageSize === "contain") img.style.objectFit = "contain";
      thumb.appendChild(img);
    }
    thumb.classList.add("fx-image");
    card.appendChild(thumb);
  }
  const body = el("div", "tpl__body");
  if (column.title) body.appendChild(el("div", "tpl__title", column.title));
  body.appendChild(el("div", "tpl__text", column.text || ""));
  card.appendChild(body);
  const actions = el("div", "tpl__actions");
  for (const action of column.actions || []) actions.appendChild(actionButton(action, "tpl__action"));
  card.appendChild(actions);
  if (column.defaultAction) {
    body.classList.add("fx-tap");
    body.addEventListener("click", () => runAction(column.defaultAction));
  }
  return card;
}

function renderTemplate(template, altText) {
  switch (template.type) {
    case "buttons": return templateCard(template, template, false);
    case "confirm": return templateCard(template, template, true);
    case "carousel": {
      const scroller = el("div", "scroller");
      for (const column of template.columns || []) scroller.appendChild(templateCard(column, template, false));
      return scroller;
    }
    case "image_carousel": {
      const scroller = el("div", "scroller");
      for (const column of template.columns || []) {
        const tile = el("button", "imgcol");
        tile.type = "button";
        const img = image(column.imageUrl, () => tile.classList.add("fx-image--missing"));
        if (img) tile.appendChild(img);
        if (column.action && column.action.label) tile.appendChild(el("span", "imgcol__label", column.action.label));
        tile.addEventListener("click", () => runAction(column.action));
        scroller.appendChild(tile);
      }
      return scroller;
    }
    default: {
      const node = el("div", "bubble bubble--bot");
      node.textContent = altText || "（テンプレートメッセージ）";
      return node;
    }
  }
}
