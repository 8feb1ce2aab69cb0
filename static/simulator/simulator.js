// LINE simulator page. Everything is rendered with DOM APIs and textContent: message content
// comes from the app (and from residents), so it is never parsed as HTML.
"use strict";

(() => {
  const API = document.body.dataset.api;
  const BOT_NAME = document.body.dataset.botName;
  const POLL_MS = 500;
  const STORE_USERS = "shimaSimulator.users";
  const STORE_CURRENT = "shimaSimulator.current";
  const TIME = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit" });
  const DAY = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", month: "numeric", day: "numeric", weekday: "short" });
  const DAY_KEY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit" });

  const $ = (id) => document.getElementById(id);
  const ui = {
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

  const state = {
    demoUsers: [], customUsers: [], user: null, generation: 0, lastSeq: 0, following: false,
    everFollowed: false, sending: 0, menu: null, menuOpen: true, mode: "menu", lastDay: null,
    lastSide: null, loadingUntil: 0, atBottom: true, typingRow: null, pickerAction: null,
  };

  // ---- small helpers ----------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function toast(message) {
    ui.toast.textContent = message;
    ui.toast.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { ui.toast.hidden = true; }, 3500);
  }

  async function api(path, options = {}) {
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

  function randomUserId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "U" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function safeUrl(value, schemes = ["http:", "https:"]) {
    try {
      const url = new URL(value, location.href);
      return schemes.includes(url.protocol) ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  // Text with line breaks kept and http(s) URLs as links (built node by node).
  const URL_RE = /https?:\/\/[^\s<>"'「」（）()、。]+/g;
  function appendLinkified(parent, text) {
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

  // An <img> for a URL the page may load (CSP allows same-origin and data: only);
  // anything else shows a placeholder.
  function image(url, onMissing) {
    const img = document.createElement("img");
    img.alt = "";
    img.loading = "lazy";
    img.addEventListener("error", () => { img.remove(); onMissing(); });
    img.addEventListener("load", keepBottom);
    const href = safeUrl(url, ["http:", "https:", "data:"]);
    if (href && (href.startsWith("data:") || new URL(href).origin === location.origin)) {
      img.src = href;
      return img;
    }
    onMissing();
    return null;
  }

  // ---- users ------------------------------------------------------------------------------

  function loadCustomUsers() {
    try {
      const stored = JSON.parse(localStorage.getItem(STORE_USERS) || "[]");
      return Array.isArray(stored) ? stored.filter((u) => /^U[0-9a-f]{32}$/.test(u.id) && typeof u.name === "string") : [];
    } catch (_) {
      return [];
    }
  }

  function saveCustomUsers() {
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

  function selectUser(id) {
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
    poll(state.generation, true);
  }

  // ---- chat rendering ---------------------------------------------------------------------

  function nearBottom() {
    const c = ui.chat;
    return c.scrollHeight - c.scrollTop - c.clientHeight < 120;
  }

  function scrollToBottom() {
    ui.chat.scrollTop = ui.chat.scrollHeight;
    state.atBottom = true;
  }

  // Keep the latest message in view when content or the chat area changes size (menu,
  // quick replies, images loading) — if the user was reading the latest messages.
  function keepBottom() {
    if (state.atBottom) ui.chat.scrollTop = ui.chat.scrollHeight;
  }

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

  function renderUserBubble(bubble) {
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

  function renderDelivery(item) {
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

  function renderMessage(message) {
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

  // A drawn stand-in for a LINE sticker (the real artwork is LINE's).
  function sticker(side) {
    const node = el("div", `sticker sticker--${side}`);
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", "スタンプ");
    const face = el("span", "sticker__face");
    face.append(el("span", "sticker__eye"), el("span", "sticker__eye"), el("span", "sticker__mouth"));
    node.appendChild(face);
    return node;
  }

  function mediaBox(previewUrl, label, openUrl) {
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

  function locationCard(title, address, message) {
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

  // ---- flex messages ----------------------------------------------------------------------

  const SPACING = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
  const TEXT_SIZE = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
  const IMAGE_SIZE = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 220 };
  const ALIGN = { start: "flex-start", end: "flex-end", center: "center", top: "flex-start", bottom: "flex-end" };

  function length(value, map) {
    if (value === undefined || value === null) return null;
    if (map && Object.prototype.hasOwnProperty.call(map, value)) return `${map[value]}px`;
    if (typeof value === "string" && /^\d+(\.\d+)?(px|%)$/.test(value)) return value;
    return null;
  }

  function color(value) {
    return typeof value === "string" && /^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(value) ? value : null;
  }

  function renderFlexContainer(container) {
    if (container.type === "carousel") {
      const scroller = el("div", "scroller");
      for (const bubble of container.contents || []) scroller.appendChild(renderBubble(bubble));
      return scroller;
    }
    return renderBubble(container);
  }

  function renderBubble(bubble) {
    const node = el("div", "fx-bubble fx-bubble--" + (bubble.size in { nano: 1, micro: 1, deca: 1, hecto: 1, kilo: 1, mega: 1, giga: 1 } ? bubble.size : "mega"));
    const styles = bubble.styles || {};
    let previous = false;
    for (const block of ["header", "hero", "body", "footer"]) {
      const component = bubble[block];
      if (!component) continue;
      const style = styles[block] || {};
      const wrapper = el("div", `fx-block fx-block--${block}`);
      const bg = color(style.backgroundColor);
      if (bg) wrapper.style.backgroundColor = bg;
      if (style.separator && previous) {
        wrapper.classList.add("fx-block--sep");
        const sepColor = color(style.separatorColor);
        if (sepColor) wrapper.style.borderTopColor = sepColor;
      }
      const inner = renderComponent(component, "vertical", true);
      if (component.type === "box" && !hasPadding(component)) {
        inner.style.padding = block === "hero" ? "0" : block === "footer" ? "10px" : "20px";
      }
      wrapper.appendChild(inner);
      node.appendChild(wrapper);
      previous = true;
    }
    if (bubble.action) makeTappable(node, bubble.action);
    return node;
  }

  function hasPadding(box) {
    return ["paddingAll", "paddingTop", "paddingBottom", "paddingStart", "paddingEnd"].some((k) => box[k] !== undefined);
  }

  function makeTappable(node, action) {
    node.classList.add("fx-tap");
    node.setAttribute("role", "button");
    node.tabIndex = 0;
    const run = (event) => { event.stopPropagation(); runAction(action); };
    node.addEventListener("click", run);
    node.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); run(event); } });
  }

  function applyFlex(node, component, parentLayout) {
    const horizontal = parentLayout !== "vertical";
    let grow = component.flex;
    if (grow === undefined) {
      const fixed = ["separator", "icon", "spacer"].includes(component.type);
      grow = horizontal && !fixed ? 1 : 0;
    }
    node.style.flex = grow > 0 ? `${grow} 1 0` : "0 1 auto";
    if (component.type === "filler" && component.flex === undefined) node.style.flex = "1 1 0";
  }

  function applyBoxStyles(node, box) {
    const bg = color(box.backgroundColor);
    if (bg) node.style.backgroundColor = bg;
    const border = color(box.borderColor);
    const borderWidth = length(box.borderWidth, { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 });
    if (borderWidth) { node.style.borderStyle = "solid"; node.style.borderWidth = borderWidth; node.style.borderColor = border || "#000"; }
    const radius = length(box.cornerRadius, { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 });
    if (radius) { node.style.borderRadius = radius; node.style.overflow = "hidden"; }
    const pad = length(box.paddingAll, SPACING);
    if (pad) node.style.padding = pad;
    const sides = { paddingTop: "paddingTop", paddingBottom: "paddingBottom", paddingStart: "paddingLeft", paddingEnd: "paddingRight" };
    for (const [key, css] of Object.entries(sides)) {
      const value = length(box[key], SPACING);
      if (value) node.style[css] = value;
    }
    for (const key of ["width", "maxWidth", "height", "maxHeight"]) {
      const value = length(box[key]);
      if (value) node.style[key] = value;
    }
    if (box.justifyContent) node.style.justifyContent = box.justifyContent.replace("space-", "space-");
    if (box.alignItems) node.style.alignItems = box.alignItems;
  }

  function applyPosition(node, component) {
    if (component.position === "absolute") {
      node.style.position = "absolute";
      const map = { offsetTop: "top", offsetBottom: "bottom", offsetStart: "left", offsetEnd: "right" };
      for (const [key, css] of Object.entries(map)) {
        const value = length(component[key], SPACING);
        if (value) node.style[css] = value;
      }
    } else {
      const map = { offsetTop: "top", offsetBottom: "bottom", offsetStart: "left", offsetEnd: "right" };
      for (const [key, css] of Object.entries(map)) {
        const value = length(component[key], SPACING);
        if (value) { node.style.position = "relative"; node.style[css] = value; }
      }
    }
  }

  function applyTextStyles(node, c) {
    const size = length(c.size, TEXT_SIZE);
    if (size) node.style.fontSize = size;
    if (c.weight === "bold") node.style.fontWeight = "700";
    const fg = color(c.color);
    if (fg) node.style.color = fg;
    if (c.style === "italic") node.style.fontStyle = "italic";
    if (c.decoration === "underline" || c.decoration === "line-through") node.style.textDecoration = c.decoration;
  }

  function renderComponent(c, parentLayout, first) {
    let node;
    switch (c.type) {
      case "box": {
        node = el("div", "fx-box");
        const layout = c.layout || "vertical";
        node.style.flexDirection = layout === "vertical" ? "column" : "row";
        if (layout === "baseline") node.style.alignItems = "baseline";
        applyBoxStyles(node, c);
        const spacing = length(c.spacing, SPACING);
        (c.contents || []).forEach((child, i) => {
          const childNode = renderComponent(child, layout, i === 0);
          if (i > 0 && spacing && child.margin === undefined) {
            childNode.style[layout === "vertical" ? "marginTop" : "marginLeft"] = spacing;
          }
          node.appendChild(childNode);
        });
        break;
      }
      case "text": {
        node = el("div", "fx-text " + (c.wrap ? "fx-text--wrap" : "fx-text--nowrap"));
        if (Array.isArray(c.contents) && c.contents.length) {
          for (const span of c.contents) {
            const s = el("span", null, span.text || "");
            applyTextStyles(s, span);
            node.appendChild(s);
          }
        } else {
          node.textContent = c.text || "";
        }
        applyTextStyles(node, c);
        if (c.align) node.style.textAlign = { start: "left", end: "right", center: "center" }[c.align] || "left";
        if (c.wrap && c.maxLines > 0) { node.classList.add("fx-clamp"); node.style.webkitLineClamp = String(c.maxLines); }
        const lineSpacing = length(c.lineSpacing);
        if (lineSpacing) node.style.lineHeight = `calc(1.4em + ${lineSpacing})`;
        break;
      }
      case "button": {
        const style = ["primary", "secondary", "link"].includes(c.style) ? c.style : "link";
        node = el("button", `fx-button fx-button--${style}` + (c.height === "sm" ? " fx-button--sm" : ""));
        node.type = "button";
        node.appendChild(el("span", null, (c.action && c.action.label) || ""));
        const custom = color(c.color);
        if (custom) {
          if (style === "link") node.style.color = custom; else node.style.backgroundColor = custom;
        }
        node.addEventListener("click", (event) => { event.stopPropagation(); runAction(c.action); });
        break;
      }
      case "image": {
        node = el("div", "fx-image" + (c.aspectMode === "cover" ? " fx-image--cover" : ""));
        const size = c.size === "full" ? "100%" : length(c.size || "md", IMAGE_SIZE) || "100px";
        node.style.width = size;
        node.style.maxWidth = "100%";
        const [w, h] = String(c.aspectRatio || "1:1").split(":").map(Number);
        node.style.aspectRatio = w > 0 && h > 0 ? `${w} / ${h}` : "1 / 1";
        const bg = color(c.backgroundColor);
        if (bg) node.style.backgroundColor = bg;
        const img = image(c.url, () => node.classList.add("fx-image--missing"));
        if (img) node.appendChild(img);
        if (c.align) node.style.alignSelf = ALIGN[c.align] || "center";
        break;
      }
      case "icon": {
        node = el("span", "fx-icon");
        const size = length(c.size || "md", TEXT_SIZE) || "16px";
        node.style.width = size;
        node.style.height = size;
        const img = image(c.url, () => {});
        if (img) { img.style.width = "100%"; img.style.height = "100%"; node.appendChild(img); node.style.background = "none"; }
        break;
      }
      case "separator": {
        node = el("div", "fx-sep " + (parentLayout === "vertical" ? "fx-sep--h" : "fx-sep--v"));
        const sepColor = color(c.color);
        if (sepColor) node.style.backgroundColor = sepColor;
        break;
      }
      case "filler":
        node = el("div", "fx-filler");
        break;
      case "spacer": {
        node = el("div", "fx-spacer");
        const size = length(c.size || "md", SPACING);
        node.style[parentLayout === "vertical" ? "height" : "width"] = size;
        break;
      }
      case "video":
        node = mediaBox(c.previewUrl, "動画", c.url);
        break;
      default:
        node = el("div");
    }
    applyFlex(node, c, parentLayout);
    const margin = length(c.margin, SPACING);
    if (margin && !first) node.style[parentLayout === "vertical" ? "marginTop" : "marginLeft"] = margin;
    if (c.gravity && parentLayout !== "vertical") node.style.alignSelf = ALIGN[c.gravity] || "flex-start";
    applyPosition(node, c);
    if (c.action && c.type !== "button") makeTappable(node, c.action);
    return node;
  }

  // ---- quick replies ----------------------------------------------------------------------

  function showQuickReplies(quickReply) {
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

  function hideQuickReplies() {
    ui.quick.hidden = true;
    ui.quick.replaceChildren();
  }

  // ---- actions ----------------------------------------------------------------------------

  function runAction(action) {
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

  function closePicker() {
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

  async function sendEvent(payload) {
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
        renderUserBubble(result.bubble);
        scrollToBottom();
      }
      setFollowing(result.following);
    } catch (error) {
      toast(error.message);
    } finally {
      state.sending -= 1;
    }
  }

  // ---- follow state, rich menu, input modes ----------------------------------------------

  function setFollowing(following) {
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

  function setMode(mode) {
    state.mode = state.menu ? mode : "keyboard";
    refreshBottom();
  }

  function setMenuOpen(open) {
    state.menuOpen = open;
    refreshBottom();
  }

  function refreshBottom() {
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

  async function loadMenu() {
    const generation = state.generation;
    try {
      const menu = await api(`/richmenu?user_id=${encodeURIComponent(state.user.id)}`);
      if (generation === state.generation) renderMenu(menu);
    } catch (_) {
      renderMenu({ definition: null });
    }
  }

  function renderMenu(menu) {
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

  async function poll(generation, initial = false) {
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
    setTimeout(() => poll(generation), POLL_MS);
  }

  // ---- panel (a drawer on phones) ---------------------------------------------------------

  function openPanel() {
    ui.panel.classList.add("panel--open");
    ui.backdrop.hidden = false;
    ui.openPanel.setAttribute("aria-expanded", "true");
  }

  function closePanel() {
    ui.panel.classList.remove("panel--open");
    ui.backdrop.hidden = true;
    ui.openPanel.setAttribute("aria-expanded", "false");
  }

  // ---- wiring -----------------------------------------------------------------------------

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
      const file = ui.imageFile.files && ui.imageFile.files[0];
      ui.imageFile.value = "";
      if (!file) return;
      if (file.size > 10 * 1024 * 1024) { toast("画像が大きすぎます（10MBまで）"); return; }
      const reader = new FileReader();
      reader.addEventListener("load", () => sendEvent({ kind: "image", image: reader.result }));
      reader.readAsDataURL(file);
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
    selectUser(localStorage.getItem(STORE_CURRENT) || state.demoUsers[0].id);
  }

  start();
})();
