"""The fake platform's request validation: what LINE answers 400 for.

Strict on purpose: a message or rich menu our builders get wrong fails in tests and in the
simulator, not in production.
"""

from __future__ import annotations

import json
import re
from typing import Any

MESSAGE_TYPES = (
    "text",
    "sticker",
    "image",
    "video",
    "audio",
    "location",
    "imagemap",
    "template",
    "flex",
)
ACTION_TYPES = (
    "postback",
    "message",
    "uri",
    "datetimepicker",
    "camera",
    "cameraRoll",
    "location",
    "richmenuswitch",
    "clipboard",
)
QUICK_REPLY_ONLY = ("camera", "cameraRoll", "location")
FLEX_COMPONENTS = ("box", "button", "image", "video", "icon", "text", "span", "separator", "filler")
FLEX_SIZES = ("nano", "micro", "deca", "hecto", "kilo", "mega", "giga")
SPACINGS = ("none", "xs", "sm", "md", "lg", "xl", "xxl")
TEXT_SIZES = ("xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl")
PICKER_FORMATS = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "time": re.compile(r"^\d{2}:\d{2}$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}$"),
}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")
_PIXELS = re.compile(r"^\d+(\.\d+)?px$")
_RATIO = re.compile(r"^\d+(\.\d+)?:\d+(\.\d+)?$")
MAX_BUBBLE_JSON = 30 * 1024  # LINE: a bubble's JSON may be up to 30 KB, a carousel 50 KB
MAX_CAROUSEL_JSON = 50 * 1024

Errors = list[tuple[str, str]]  # (message, property) as in LINE's "details"


def _utf16_len(text: str) -> int:
    """LINE counts message text in UTF-16 code units (an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


class _Checker:
    def __init__(self) -> None:
        self.errors: Errors = []

    def add(self, prop: str, message: str) -> None:
        self.errors.append((message, prop))

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        prop: str,
        max_len: int,
        *,
        required: bool = True,
        utf16: bool = False,
    ) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(f"{prop}.{key}", "must be specified")
            return None
        if not isinstance(value, str):
            self.add(f"{prop}.{key}", "must be a string")
            return None
        length = _utf16_len(value) if utf16 else len(value)
        if length < 1 or length > max_len:
            self.add(f"{prop}.{key}", f"Length must be between 1 and {max_len}")
        return value

    def url(self, obj: dict[str, Any], key: str, prop: str, *, required: bool = True) -> None:
        value = self.string(obj, key, prop, 2000, required=required)
        if value is not None and not value.startswith("https://"):
            self.add(f"{prop}.{key}", "must be an HTTPS URL")

    def enum(
        self,
        obj: dict[str, Any],
        key: str,
        prop: str,
        allowed: tuple[str, ...],
        *,
        px: bool = False,
    ) -> None:
        value = obj.get(key)
        if value is None:
            return
        if not (value in allowed or (px and isinstance(value, str) and _PIXELS.match(value))):
            self.add(f"{prop}.{key}", f"Must be one of the following values: {list(allowed)}")

    def color(self, obj: dict[str, Any], key: str, prop: str) -> None:
        value = obj.get(key)
        if value is not None and not (isinstance(value, str) and _COLOR.match(value)):
            self.add(f"{prop}.{key}", "Invalid color code")

    def sized_list(
        self, obj: dict[str, Any], key: str, prop: str, low: int, high: int
    ) -> list[Any]:
        value = obj.get(key)
        if not isinstance(value, list):
            self.add(f"{prop}.{key}", "must be specified")
            return []
        if not low <= len(value) <= high:
            self.add(f"{prop}.{key}", f"Size must be between {low} and {high}")
        return value

    def obj(self, value: Any, prop: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(prop, "must be an object")
            return None
        return value

    # ---- actions ----

    def action(
        self,
        value: Any,
        prop: str,
        *,
        label_required: bool,
        label_max: int = 20,
        quick_reply: bool = False,
    ) -> None:
        action = self.obj(value, prop)
        if action is None:
            return
        kind = action.get("type")
        allowed = (
            ACTION_TYPES
            if quick_reply
            else tuple(t for t in ACTION_TYPES if t not in QUICK_REPLY_ONLY)
        )
        if kind not in allowed:
            self.add(f"{prop}.type", f"Must be one of the following values: {list(allowed)}")
            return
        # LINE counts labels in grapheme clusters; code points are close enough for our copy.
        self.string(action, "label", prop, label_max, required=label_required)
        if kind == "postback":
            self.string(action, "data", prop, 300)
            self.string(action, "displayText", prop, 300, required=False)
            self.string(action, "text", prop, 300, required=False)
            if "displayText" in action and "text" in action:
                self.add(f"{prop}.text", "displayText and text cannot both be specified")
            self.enum(
                action,
                "inputOption",
                prop,
                ("closeRichMenu", "openRichMenu", "openKeyboard", "openVoice"),
            )
            self.string(action, "fillInText", prop, 300, required=False)
        elif kind == "message":
            self.string(action, "text", prop, 300)
        elif kind == "uri":
            uri = self.string(action, "uri", prop, 1000)
            if uri is not None and not uri.startswith(("http://", "https://", "tel:", "line://")):
                self.add(f"{prop}.uri", "must start with http, https, tel or line")
        elif kind == "datetimepicker":
            self.string(action, "data", prop, 300)
            self._picker(action, prop)
        elif kind == "richmenuswitch":
            self.string(action, "richMenuAliasId", prop, 32)
            self.string(action, "data", prop, 300)
        elif kind == "clipboard":
            self.string(action, "clipboardText", prop, 1000)

    def _picker(self, action: dict[str, Any], prop: str) -> None:
        mode = action.get("mode")
        if mode not in PICKER_FORMATS:
            self.add(f"{prop}.mode", "Must be one of the following values: [date, time, datetime]")
            return
        pattern = PICKER_FORMATS[mode]
        values: dict[str, str] = {}
        for key in ("initial", "min", "max"):
            value = action.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not pattern.match(value):
                self.add(f"{prop}.{key}", f"Invalid format for mode {mode}")
            else:
                values[key] = value.lower()
        low, high, initial = values.get("min"), values.get("max"), values.get("initial")
        if low and high and not low < high:
            self.add(f"{prop}.max", "max must be greater than min")
        if initial and ((low and initial < low) or (high and initial > high)):
            self.add(f"{prop}.initial", "initial must be between min and max")

    # ---- messages ----

    def message(self, value: Any, prop: str) -> None:
        message = self.obj(value, prop)
        if message is None:
            return
        kind = message.get("type")
        if kind not in MESSAGE_TYPES:
            self.add(f"{prop}.type", f"Must be one of the following values: {list(MESSAGE_TYPES)}")
            return
        if kind == "text":
            self.string(message, "text", prop, 5000, utf16=True)
        elif kind == "sticker":
            self.string(message, "packageId", prop, 100)
            self.string(message, "stickerId", prop, 100)
        elif kind in ("image", "video"):
            self.url(message, "originalContentUrl", prop)
            self.url(message, "previewImageUrl", prop)
        elif kind == "audio":
            self.url(message, "originalContentUrl", prop)
            if not isinstance(message.get("duration"), int):
                self.add(f"{prop}.duration", "must be specified")
        elif kind == "location":
            self.string(message, "title", prop, 100)
            self.string(message, "address", prop, 100)
            for key in ("latitude", "longitude"):
                if not isinstance(message.get(key), int | float):
                    self.add(f"{prop}.{key}", "must be specified")
        elif kind == "imagemap":
            self.string(message, "altText", prop, 1500, utf16=True)
            self.url(message, "baseUrl", prop)
            self.obj(message.get("baseSize"), f"{prop}.baseSize")
            self.sized_list(message, "actions", prop, 0, 50)
        elif kind == "template":
            self.string(message, "altText", prop, 400, utf16=True)
            template = self.obj(message.get("template"), f"{prop}.template")
            if template is not None:
                self.template(template, f"{prop}.template")
        elif kind == "flex":
            self.string(message, "altText", prop, 1500, utf16=True)
            contents = self.obj(message.get("contents"), f"{prop}.contents")
            if contents is not None:
                self.flex_container(contents, f"{prop}.contents")
        quick_reply = message.get("quickReply")
        if quick_reply is not None:
            self.quick_reply(quick_reply, f"{prop}.quickReply")

    def quick_reply(self, value: Any, prop: str) -> None:
        quick_reply = self.obj(value, prop)
        if quick_reply is None:
            return
        for i, item in enumerate(self.sized_list(quick_reply, "items", prop, 1, 13)):
            item_prop = f"{prop}.items[{i}]"
            item_obj = self.obj(item, item_prop)
            if item_obj is None:
                continue
            if item_obj.get("type") != "action":
                self.add(f"{item_prop}.type", "Must be one of the following values: [action]")
            self.url(item_obj, "imageUrl", item_prop, required=False)
            self.action(
                item_obj.get("action"), f"{item_prop}.action", label_required=True, quick_reply=True
            )

    def template(self, template: dict[str, Any], prop: str) -> None:
        kind = template.get("type")
        if kind == "buttons":
            rich = "thumbnailImageUrl" in template or "title" in template
            self.string(template, "title", prop, 40, required=False)
            self.string(template, "text", prop, 60 if rich else 160)
            self.url(template, "thumbnailImageUrl", prop, required=False)
            for i, action in enumerate(self.sized_list(template, "actions", prop, 1, 4)):
                self.action(action, f"{prop}.actions[{i}]", label_required=True)
        elif kind == "confirm":
            self.string(template, "text", prop, 240)
            for i, action in enumerate(self.sized_list(template, "actions", prop, 2, 2)):
                self.action(action, f"{prop}.actions[{i}]", label_required=True)
        elif kind == "carousel":
            counts = set()
            for i, column in enumerate(self.sized_list(template, "columns", prop, 1, 10)):
                col_prop = f"{prop}.columns[{i}]"
                col = self.obj(column, col_prop)
                if col is None:
                    continue
                rich = "thumbnailImageUrl" in col or "title" in col
                self.string(col, "title", col_prop, 40, required=False)
                self.string(col, "text", col_prop, 60 if rich else 120)
                actions = self.sized_list(col, "actions", col_prop, 1, 3)
                counts.add(len(actions))
                for j, action in enumerate(actions):
                    self.action(action, f"{col_prop}.actions[{j}]", label_required=True)
            if len(counts) > 1:
                self.add(f"{prop}.columns", "All columns must have the same number of actions")
        elif kind == "image_carousel":
            for i, column in enumerate(self.sized_list(template, "columns", prop, 1, 10)):
                col_prop = f"{prop}.columns[{i}]"
                col = self.obj(column, col_prop)
                if col is not None:
                    self.url(col, "imageUrl", col_prop)
                    self.action(
                        col.get("action"), f"{col_prop}.action", label_required=False, label_max=12
                    )
        else:
            self.add(
                f"{prop}.type",
                "Must be one of the following values: [buttons, confirm, carousel, image_carousel]",
            )

    # ---- flex ----

    def flex_container(self, container: dict[str, Any], prop: str) -> None:
        kind = container.get("type")
        size = len(json.dumps(container, ensure_ascii=False).encode())
        if kind == "bubble":
            if size > MAX_BUBBLE_JSON:
                self.add(prop, "A bubble must be 30 KB or less")
            self.bubble(container, prop)
        elif kind == "carousel":
            if size > MAX_CAROUSEL_JSON:
                self.add(prop, "A carousel must be 50 KB or less")
            for i, bubble in enumerate(self.sized_list(container, "contents", prop, 1, 12)):
                bubble_prop = f"{prop}.contents[{i}]"
                bubble_obj = self.obj(bubble, bubble_prop)
                if bubble_obj is None:
                    continue
                if bubble_obj.get("type") != "bubble":
                    self.add(f"{bubble_prop}.type", "Must be one of the following values: [bubble]")
                else:
                    self.bubble(bubble_obj, bubble_prop)
        else:
            self.add(f"{prop}.type", "Must be one of the following values: [bubble, carousel]")

    def bubble(self, bubble: dict[str, Any], prop: str) -> None:
        self.enum(bubble, "size", prop, FLEX_SIZES)
        self.enum(bubble, "direction", prop, ("ltr", "rtl"))
        for block in ("header", "hero", "body", "footer"):
            value = bubble.get(block)
            if value is None:
                continue
            block_obj = self.obj(value, f"{prop}.{block}")
            if block_obj is None:
                continue
            allowed = ("box", "image", "video") if block == "hero" else ("box",)
            if block_obj.get("type") not in allowed:
                self.add(
                    f"{prop}.{block}.type", f"Must be one of the following values: {list(allowed)}"
                )
            else:
                self.component(block_obj, f"{prop}.{block}")
        if "action" in bubble:
            self.action(bubble["action"], f"{prop}.action", label_required=False)

    def component(self, component: dict[str, Any], prop: str) -> None:
        kind = component.get("type")
        if kind not in FLEX_COMPONENTS:
            self.add(
                f"{prop}.type", f"Must be one of the following values: {list(FLEX_COMPONENTS)}"
            )
            return
        self.enum(component, "margin", prop, SPACINGS, px=True)
        flex = component.get("flex")
        if flex is not None and (not isinstance(flex, int) or flex < 0):
            self.add(f"{prop}.flex", "must be an integer of 0 or more")
        for key in ("color", "backgroundColor", "borderColor"):
            self.color(component, key, prop)
        if kind == "box":
            if component.get("layout") not in ("horizontal", "vertical", "baseline"):
                self.add(
                    f"{prop}.layout",
                    "Must be one of the following values: [horizontal, vertical, baseline]",
                )
            self.enum(component, "spacing", prop, SPACINGS, px=True)
            contents = component.get("contents")
            if not isinstance(contents, list):
                self.add(f"{prop}.contents", "must be specified")
            else:
                for i, child in enumerate(contents):
                    child_prop = f"{prop}.contents[{i}]"
                    child_obj = self.obj(child, child_prop)
                    if child_obj is not None:
                        self.component(child_obj, child_prop)
        elif kind == "text":
            if "contents" not in component:
                self.string(component, "text", prop, 2000, utf16=True)
            self.enum(component, "size", prop, TEXT_SIZES, px=True)
            self.enum(component, "weight", prop, ("regular", "bold"))
            self.enum(component, "align", prop, ("start", "end", "center"))
            wrap = component.get("wrap")
            if wrap is not None and not isinstance(wrap, bool):
                self.add(f"{prop}.wrap", "must be a boolean")
        elif kind == "span":
            self.string(component, "text", prop, 2000, utf16=True)
        elif kind == "button":
            self.enum(component, "style", prop, ("primary", "secondary", "link"))
            self.enum(component, "height", prop, ("sm", "md"))
            self.action(component.get("action"), f"{prop}.action", label_required=True)
        elif kind in ("image", "icon"):
            self.url(component, "url", prop)
            ratio = component.get("aspectRatio")
            if ratio is not None and not (isinstance(ratio, str) and _RATIO.match(ratio)):
                self.add(f"{prop}.aspectRatio", "must be {width}:{height}")
        elif kind == "video":
            self.url(component, "url", prop)
            self.url(component, "previewUrl", prop)
        if kind != "button" and "action" in component:
            self.action(component["action"], f"{prop}.action", label_required=False)


def validate_messages(messages: Any) -> Errors:
    """The errors LINE would list for a reply/push `messages` array (empty when valid)."""
    checker = _Checker()
    if not isinstance(messages, list):
        checker.add("messages", "must be specified")
        return checker.errors
    if not 1 <= len(messages) <= 5:
        checker.add("messages", "Size must be between 1 and 5")
    for i, message in enumerate(messages):
        checker.message(message, f"messages[{i}]")
    return checker.errors


def validate_rich_menu(menu: dict[str, Any]) -> Errors:
    """The errors LINE would list for a rich menu object (empty when valid)."""
    checker = _Checker()
    size = checker.obj(menu.get("size"), "size") or {}
    width, height = size.get("width"), size.get("height")
    if not isinstance(width, int) or not 800 <= width <= 2500:
        checker.add("size.width", "must be between 800 and 2500")
    if not isinstance(height, int) or height < 250:
        checker.add("size.height", "must be 250 or more")
    elif isinstance(width, int) and width / height < 1.45:
        checker.add("size", "width / height must be 1.45 or more")
    if not isinstance(menu.get("selected"), bool):
        checker.add("selected", "must be specified")
    checker.string(menu, "name", "", 300)
    checker.string(menu, "chatBarText", "", 14)
    for i, area in enumerate(checker.sized_list(menu, "areas", "", 1, 20)):
        prop = f"areas[{i}]"
        area_obj = checker.obj(area, prop)
        if area_obj is None:
            continue
        bounds = checker.obj(area_obj.get("bounds"), f"{prop}.bounds") or {}
        raw = [bounds.get(k) for k in ("x", "y", "width", "height")]
        numbers = [n for n in raw if isinstance(n, int) and n >= 0]
        if len(numbers) != 4:
            checker.add(f"{prop}.bounds", "x, y, width and height must be integers of 0 or more")
        elif isinstance(width, int) and isinstance(height, int):
            x, y, w, h = numbers
            if x + w > width or y + h > height:
                checker.add(f"{prop}.bounds", "must be within the rich menu size")
        checker.action(area_obj.get("action"), f"{prop}.action", label_required=False)
    # `checker.string(menu, key, "")` names the property ".key"; LINE says "key".
    return [(m, p.lstrip(".")) for m, p in checker.errors]
