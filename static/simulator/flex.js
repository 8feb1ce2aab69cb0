// Flex messages (bubbles and carousels), drawn with DOM nodes and CSSOM styles close enough
// to LINE's layout to check a message's content and its taps.

import { el, runAction } from "./core.js";
import { image, mediaBox } from "./media.js";

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

export function renderFlexContainer(container) {
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
