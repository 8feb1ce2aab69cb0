// Pieces of message content shared by residents' bubbles, the bot's messages and Flex:
// linkified text, images the page may load, media boxes, stickers, location cards.

import { el, keepBottom, safeUrl } from "./core.js";

// Text with line breaks kept and http(s) URLs as links (built node by node).
const URL_RE = /https?:\/\/[^\s<>"'「」（）()、。]+/g;
export function appendLinkified(parent, text) {
  const lines = String(text).split("\n");
  lines.forEach((line, i) => {
    if (i > 0) parent.appendChild(document.createElement("br"));
    let last = 0;
    for (const match of line.matchAll(URL_RE)) {
      const href = safeUrl(match[0]);
      if (!href) continue;
      if (match.index > last) parent.appendChild(document.createTextNode(line.slice(last, match.index)));
      const a = el("a", null, match[0]);
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      parent.appendChild(a);
      last = match.index + match[0].length;
    }
    if (last < line.length) parent.appendChild(document.createTextNode(line.slice(last)));
  });
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

// The app gives LINE https addresses of its own pictures (LINE loads nothing else); the
// simulator runs the app over plain http on this machine, so such a picture is loaded from
// the page's own origin.
function ownPicture(href) {
  if (!href || href.startsWith("data:")) return href;
  const url = new URL(href);
  const same = url.hostname === location.hostname
    || (LOOPBACK.has(url.hostname) && LOOPBACK.has(location.hostname));
  if (url.protocol === "https:" && location.protocol === "http:" && same) {
    return location.origin + url.pathname + url.search;
  }
  return href;
}

// An <img> for a URL the page may load (CSP allows same-origin and data: only);
// anything else shows a placeholder.
export function image(url, onMissing) {
  const img = document.createElement("img");
  img.alt = "";
  img.loading = "lazy";
  img.addEventListener("error", () => { img.remove(); onMissing(); });
  img.addEventListener("load", keepBottom);
  const href = ownPicture(safeUrl(url, ["http:", "https:", "data:"]));
  if (href && (href.startsWith("data:") || new URL(href).origin === location.origin)) {
    img.src = href;
    return img;
  }
  onMissing();
  return null;
}

// A drawn stand-in for a LINE sticker (the real artwork is LINE's).
export function sticker(side) {
  const node = el("div", `sticker sticker--${side}`);
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", "スタンプ");
  const face = el("span", "sticker__face");
  face.append(el("span", "sticker__eye"), el("span", "sticker__eye"), el("span", "sticker__mouth"));
  node.appendChild(face);
  return node;
}

export function mediaBox(previewUrl, label, openUrl) {
  const box = el("div", "media");
  const placeholder = () => {
    if (box.querySelector(".media__placeholder")) return;
    box.insertBefore(el("div", "media__placeholder", label), box.firstChild);
  };
  const img = previewUrl ? image(previewUrl, placeholder) : null;
  if (img) box.appendChild(img); else if (!previewUrl) placeholder();
  const href = safeUrl(openUrl);
  if (href) {
    const caption = el("div", "media__caption");
    const a = el("a", null, `${label}を開く`);
    a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer";
    caption.appendChild(a);
    box.appendChild(caption);
  }
  return box;
}

export function locationCard(title, address, message) {
  const card = el("div", "location");
  const map = el("div", "location__map");
  map.appendChild(el("span", "location__pin"));
  card.appendChild(map);
  const body = el("div", "location__body");
  body.appendChild(el("div", "location__title", title || "位置情報"));
  if (address) body.appendChild(el("div", "location__address", address));
  if (message && typeof message.latitude === "number") {
    const a = el("a", null, "地図で見る");
    a.href = `https://www.openstreetmap.org/?mlat=${message.latitude}&mlon=${message.longitude}#map=16/${message.latitude}/${message.longitude}`;
    a.target = "_blank"; a.rel = "noopener noreferrer";
    body.appendChild(a);
  }
  card.appendChild(body);
  return card;
}
