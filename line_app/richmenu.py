"""The rich menu: one definition, rendered to the committed image and deployed to LINE.

`definition()` is LINE's rich-menu JSON; `render_image()` draws static/richmenu.png from the
same `AREAS` (run `python -m line_app.richmenu render` after changing them); `deploy()` creates
the menu, uploads the image, makes it the default and removes the menus an earlier deploy made.
Rendering needs Noto Sans CJK; deploying only needs the committed PNG.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    RichMenuRequest,
)
from PIL import Image, ImageDraw, ImageFont

from shima.settings import STATIC_DIR, Settings

log = logging.getLogger(__name__)

IMAGE_PATH = STATIC_DIR / "richmenu.png"
WIDTH, HEIGHT = 2500, 1686  # LINE's "large" size; 2 rows x 3 columns
COLUMNS, ROWS = 3, 2
NAME_PREFIX = "shima-"  # every menu we deploy is named so; a redeploy deletes the others
NAME = f"{NAME_PREFIX}main-v1"
CHAT_BAR_TEXT = "メニュー"
MAX_IMAGE_BYTES = 1024 * 1024  # LINE's limit
DEFAULT_TIMEOUT = 10.0  # seconds per Messaging API call

Rgb = tuple[int, int, int]


def _hex(value: str) -> Rgb:
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))


@dataclass(frozen=True)
class Area:
    """One tile of the menu: what it says, what it sends, how it looks."""

    key: str
    label: str  # the action label (≤ 20 chars) and the tile's title
    sublabel: str  # a short hint under the title
    data: str  # postback data; the event router dispatches on it
    display_text: str  # the bubble LINE shows as the resident's own message
    icon: str  # name of a drawing in `ICONS`
    colour: str  # "#rrggbb"
    title_lines: tuple[str, ...] = ()  # how the title wraps on the image; default one line

    @property
    def lines(self) -> tuple[str, ...]:
        return self.title_lines or (self.label,)


AREAS: tuple[Area, ...] = (
    Area(
        key="consult",
        label="相談予約",
        sublabel="WorkStyle Lab Innoで個別相談",
        data="flow=consult",
        display_text="相談予約",
        icon="calendar",
        colour="#0F5F8F",  # deep sea
    ),
    Area(
        key="course",
        label="寺子屋・交流会",
        sublabel="学び合い・仲間づくり",
        data="flow=course",
        display_text="寺子屋・交流会",
        icon="people",
        colour="#2E8B5E",  # island green
    ),
    Area(
        key="market",
        label="ハンドメイドマーケット",
        sublabel="出店の申込み・開催情報",
        data="flow=market",
        display_text="ハンドメイドマーケット",
        icon="bag",
        colour="#E0604A",  # coral
        title_lines=("ハンドメイド", "マーケット"),
    ),
    Area(
        key="survey",
        label="アンケート",
        sublabel="ご意見をお聞かせください",
        data="flow=survey",
        display_text="アンケート",
        icon="checklist",
        colour="#D48A1E",  # sunset sand
    ),
    Area(
        key="news",
        label="イベント・お知らせ",
        sublabel="最新の催し・募集のご案内",
        data="flow=news",
        display_text="イベント・お知らせ",
        icon="megaphone",
        colour="#13929F",  # lagoon
        title_lines=("イベント・", "お知らせ"),
    ),
    Area(
        key="mypage",
        label="マイページ",
        sublabel="予約・申込み・プロフィール",
        data="flow=mypage",
        display_text="マイページ",
        icon="person",
        colour="#4A5DA8",  # evening sea
    ),
)


def tile_bounds(index: int) -> dict[str, int]:
    """Bounds of tile `index` (row-major); the tiles cover the image exactly."""
    row, col = divmod(index, COLUMNS)
    x0, x1 = round(col * WIDTH / COLUMNS), round((col + 1) * WIDTH / COLUMNS)
    y0, y1 = round(row * HEIGHT / ROWS), round((row + 1) * HEIGHT / ROWS)
    return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


def definition() -> dict[str, Any]:
    """LINE's rich-menu object (the body of `POST /v2/bot/richmenu`)."""
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,  # open when the chat opens: the menu is how residents start
        "name": NAME,
        "chatBarText": CHAT_BAR_TEXT,
        "areas": [
            {
                "bounds": tile_bounds(i),
                "action": {
                    "type": "postback",
                    "label": area.label,
                    "data": area.data,
                    "displayText": area.display_text,
                    # Fold the menu away so the reply (and its buttons) has the screen.
                    "inputOption": "closeRichMenu",
                },
            }
            for i, area in enumerate(AREAS)
        ],
    }


# --- rendering ---------------------------------------------------------------------------

SCALE = 2  # draw at twice the size and downsample: Pillow's shapes are not antialiased
BACKGROUND = _hex("#0B3A5C")  # deep sea, shows as the borders between the cards
CARD = _hex("#FFFCF5")  # sand white
TITLE = _hex("#12324D")
SUBTITLE = _hex("#5B6B78")
GUTTER = 12  # px between a card and its tile's edge (so 24 px between cards)
CARD_RADIUS = 44
ICON_RADIUS = 165
TITLE_SIZE = 96
SUBTITLE_SIZE = 48
TEXT_MARGIN = 32  # least px between text and the card's sides
FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/usr/local/share/fonts"),
)
FONT_SEARCH_ROOTS = (Path("/usr/share/fonts"), Path.home() / ".fonts")  # searched last, deeply


class FontMissingError(RuntimeError):
    """Noto Sans CJK is not installed (needed to render the image, not to deploy it)."""


def find_font(weight: str) -> Path:
    """Path of Noto Sans CJK `weight` ("Bold" or "Regular")."""
    name = f"NotoSansCJK-{weight}.ttc"
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    for folder in FONT_SEARCH_ROOTS:
        if folder.is_dir():
            found = sorted(folder.rglob(name))
            if found:
                return found[0]
    raise FontMissingError(
        f"フォント {name} が見つかりません。リッチメニュー画像の生成には Noto Sans CJK が必要です"
        "(Debian/Ubuntu: sudo apt-get install fonts-noto-cjk)。"
        "デプロイだけなら、コミット済みの static/richmenu.png を使うのでフォントは不要です。"
    )


def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    # index 0 of the collection is "Noto Sans CJK JP" (the others are KR/SC/TC glyph forms).
    return ImageFont.truetype(str(find_font(weight)), size * SCALE, index=0)


class _Pen:
    """Draws an icon in a 100 x 100 design grid centred on (cx, cy) of the canvas."""

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float) -> None:
        self.draw, self.u = draw, size / 100
        self.ox, self.oy = cx - size / 2, cy - size / 2

    def p(self, x: float, y: float) -> tuple[float, float]:
        return (self.ox + x * self.u, self.oy + y * self.u)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (*self.p(x0, y0), *self.p(x1, y1))

    def w(self, width: float) -> int:
        return max(1, round(width * self.u))


IconFn = Callable[[_Pen, Rgb, Rgb], None]


def _calendar(pen: _Pen, fg: Rgb, bg: Rgb) -> None:
    d = pen.draw
    d.rounded_rectangle(pen.box(12, 22, 84, 86), radius=pen.w(9), fill=fg)
    d.rectangle(pen.box(12, 37, 84, 40.5), fill=bg)  # under the header
    for row in range(3):
        for col in range(4):
            if row * 4 + col >= 10:
                continue  # room for the badge
            x, y = 20.5 + col * 15, 47 + row * 12.5
            d.rounded_rectangle(pen.box(x, y, x + 9.5, y + 7.5), radius=pen.w(1.5), fill=bg)
    for x in (28, 60):
        d.rounded_rectangle(
            pen.box(x, 12, x + 8, 30), radius=pen.w(4), fill=fg, outline=bg, width=pen.w(2.5)
        )
    _badge(pen, 76, 78, fg, bg)


def _badge(pen: _Pen, cx: float, cy: float, fg: Rgb, bg: Rgb) -> None:
    """A round tick badge ("booked", "yours") over the icon's corner."""
    d = pen.draw
    d.ellipse(pen.box(cx - 17, cy - 17, cx + 17, cy + 17), fill=bg)
    d.ellipse(pen.box(cx - 13, cy - 13, cx + 13, cy + 13), fill=fg)
    d.line(
        [pen.p(cx - 7, cy + 0.5), pen.p(cx - 2, cy + 5.5), pen.p(cx + 7.5, cy - 5.5)],
        fill=bg,
        width=pen.w(4),
        joint="curve",
    )


def _people(pen: _Pen, fg: Rgb, bg: Rgb) -> None:
    d = pen.draw
    for cx in (24, 76):  # the two behind
        d.ellipse(pen.box(cx - 10, 27, cx + 10, 47), fill=fg)
        d.chord(pen.box(cx - 19, 51, cx + 19, 95), 180, 360, fill=fg)
    # the one in front, cut out of the others by a ring of background colour
    d.ellipse(pen.box(36, 17, 64, 45), fill=fg, outline=bg, width=pen.w(3.5))
    d.chord(pen.box(23, 49, 77, 111), 180, 360, fill=fg, outline=bg, width=pen.w(3.5))
    d.rectangle(pen.box(20, 80, 80, 84), fill=bg)  # a clean base line
    # an open book in front of them: the 寺子屋
    d.polygon(
        [pen.p(30, 74), pen.p(50, 79), pen.p(70, 74), pen.p(70, 90), pen.p(50, 95), pen.p(30, 90)],
        fill=fg,
        outline=bg,
        width=pen.w(2.5),
    )
    d.line([pen.p(50, 79), pen.p(50, 95)], fill=bg, width=pen.w(2.5))


def _bag(pen: _Pen, fg: Rgb, bg: Rgb) -> None:
    d = pen.draw
    d.rounded_rectangle(pen.box(33, 13, 67, 60), radius=pen.w(16), outline=fg, width=pen.w(6))
    d.rounded_rectangle(pen.box(18, 36, 82, 88), radius=pen.w(8), fill=fg)
    # a stitched heart: made by hand
    d.ellipse(pen.box(35, 49, 51, 65), fill=bg)
    d.ellipse(pen.box(49, 49, 65, 65), fill=bg)
    d.polygon([pen.p(36.2, 60.5), pen.p(63.8, 60.5), pen.p(50, 77)], fill=bg)
    for x in range(24, 78, 7):
        d.line([pen.p(x, 42), pen.p(x + 3.5, 42)], fill=bg, width=pen.w(2))


def _checklist(pen: _Pen, fg: Rgb, bg: Rgb) -> None:
    d = pen.draw
    d.rounded_rectangle(pen.box(20, 16, 80, 90), radius=pen.w(8), fill=fg)
    d.rounded_rectangle(
        pen.box(37, 9, 63, 23), radius=pen.w(4), fill=fg, outline=bg, width=pen.w(3)
    )
    for i, checked in enumerate((True, True, False)):
        y = 34 + i * 18
        d.rounded_rectangle(
            pen.box(29, y, 40, y + 11), radius=pen.w(2), outline=bg, width=pen.w(2.8)
        )
        if checked:
            d.line(
                [pen.p(31.5, y + 5), pen.p(35, y + 8.5), pen.p(43, y - 2)],
                fill=bg,
                width=pen.w(3.6),
                joint="curve",
            )
        d.rounded_rectangle(pen.box(47, y + 3.5, 71, y + 7.5), radius=pen.w(2), fill=bg)


def _megaphone(pen: _Pen, fg: Rgb, bg: Rgb) -> None:
    d = pen.draw
    d.polygon([pen.p(26, 38), pen.p(66, 18), pen.p(66, 80), pen.p(26, 62)], fill=fg)
    d.rounded_rectangle(pen.box(14, 37, 30, 63), radius=pen.w(4), fill=fg)
    d.rounded_rectangle(pen.box(62, 14, 72, 84), radius=pen.w(5), fill=fg)
    d.polygon([pen.p(30, 60), pen.p(42, 64), pen.p(47, 84), pen.p(36, 84)], fill=fg)
    for r in (12, 22):
        d.arc(pen.box(70 - r, 49 - r, 70 + r, 49 + r), -40, 40, fill=fg, width=pen.w(4.5))


def _person(pen: _Pen, fg: Rgb, bg: Rgb) -> None:
    d = pen.draw
    d.ellipse(pen.box(31, 12, 65, 46), fill=fg)
    d.chord(pen.box(16, 52, 80, 120), 180, 360, fill=fg)
    d.rectangle(pen.box(16, 84, 80, 86), fill=fg)
    _badge(pen, 76, 76, fg, bg)


ICONS: dict[str, IconFn] = {
    "calendar": _calendar,
    "people": _people,
    "bag": _bag,
    "checklist": _checklist,
    "megaphone": _megaphone,
    "person": _person,
}


def _draw_tile(
    draw: ImageDraw.ImageDraw,
    area: Area,
    bounds: dict[str, int],
    title_font: ImageFont.FreeTypeFont,
    sub_font: ImageFont.FreeTypeFont,
) -> None:
    s = SCALE
    colour = _hex(area.colour)
    x0 = (bounds["x"] + GUTTER) * s
    y0 = (bounds["y"] + GUTTER) * s
    x1 = (bounds["x"] + bounds["width"] - GUTTER) * s
    y1 = (bounds["y"] + bounds["height"] - GUTTER) * s
    cx = (x0 + x1) / 2
    draw.rounded_rectangle((x0, y0, x1, y1), radius=CARD_RADIUS * s, fill=CARD)
    # a band of the tile's colour along the bottom edge ties card and icon together
    band = 20 * s
    draw.rounded_rectangle((x0, y1 - 3 * band, x1, y1), radius=CARD_RADIUS * s, fill=colour)
    draw.rectangle((x0, y1 - 3 * band, x1, y1 - band), fill=CARD)

    icon_cy = y0 + (64 + ICON_RADIUS) * s
    r = ICON_RADIUS * s
    draw.ellipse((cx - r, icon_cy - r, cx + r, icon_cy + r), fill=colour)
    ICONS[area.icon](_Pen(draw, cx, icon_cy, r * 1.3), CARD, colour)

    room = x1 - x0 - 2 * TEXT_MARGIN * s
    for text, font in [*((line, title_font) for line in area.lines), (area.sublabel, sub_font)]:
        if draw.textlength(text, font=font) > room:
            raise ValueError(
                f"{area.key}: {text!r} is too wide for its tile; shorten it or wrap the title "
                "with title_lines"
            )

    # title lines and hint, centred in the space under the icon
    line_h = round(TITLE_SIZE * 1.22) * s
    gap = 30 * s
    sub_h = round(SUBTITLE_SIZE * 1.2) * s
    block = line_h * len(area.lines) + gap + sub_h
    top_space = icon_cy + r + 20 * s
    bottom_space = y1 - band - 30 * s
    y = top_space + (bottom_space - top_space - block) / 2
    for line in area.lines:
        draw.text((cx, y + line_h / 2), line, font=title_font, fill=TITLE, anchor="mm")
        y += line_h
    y += gap
    draw.text((cx, y + sub_h / 2), area.sublabel, font=sub_font, fill=SUBTITLE, anchor="mm")


def render(areas: Sequence[Area] = AREAS) -> Image.Image:
    """The menu image (RGB, WIDTH x HEIGHT) drawn from `areas`."""
    title_font = _font("Bold", TITLE_SIZE)
    sub_font = _font("Regular", SUBTITLE_SIZE)
    canvas = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for i, area in enumerate(areas):
        _draw_tile(draw, area, tile_bounds(i), title_font, sub_font)
    return canvas.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def encode_png(image: Image.Image) -> bytes:
    """`image` as the optimised PNG we commit and upload."""
    # A 256-colour palette keeps the flat colours and smooth edges (error ≤ ~15/255) at a
    # third of the RGB size.
    palette = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_image(path: str | Path = IMAGE_PATH) -> None:
    """Draw the menu from `AREAS` and save it as an optimised PNG at `path`."""
    png = encode_png(render())
    if len(png) > MAX_IMAGE_BYTES:
        raise ValueError(f"rich-menu image is {len(png)} bytes; LINE accepts at most 1 MB")
    Path(path).write_bytes(png)


# --- deploying ---------------------------------------------------------------------------


def _content_type(image: bytes) -> str:
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if image.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    raise ValueError("リッチメニュー画像は PNG か JPEG にしてください。")


async def deploy(
    api: AsyncMessagingApi,
    blob: AsyncMessagingApiBlob,
    image_path: str | Path = IMAGE_PATH,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Create the menu, upload its image, make it the default, then delete every other menu
    named "shima-…" (what earlier deploys left). Returns the new richMenuId.

    If creating, uploading or setting the default fails, the half-made menu is deleted and the
    error raised: the previous default stays as it was.
    """
    image = Path(image_path).read_bytes()  # fail before touching LINE if it is missing
    if len(image) > MAX_IMAGE_BYTES:
        raise ValueError(f"リッチメニュー画像が 1 MB を超えています({len(image)} バイト)。")
    content_type = _content_type(image)

    created = await api.create_rich_menu(
        RichMenuRequest.from_dict(definition()), _request_timeout=timeout
    )
    new_id = created.rich_menu_id
    try:
        await blob.set_rich_menu_image(
            new_id, body=image, _headers={"Content-Type": content_type}, _request_timeout=timeout
        )
        await api.set_default_rich_menu(new_id, _request_timeout=timeout)
    except BaseException:
        try:
            await api.delete_rich_menu(new_id, _request_timeout=timeout)
        except Exception:
            log.warning("could not delete half-made rich menu %s", new_id, exc_info=True)
        raise

    # Listed after the switch, so leftovers of failed earlier deploys are cleaned up too.
    menus = await api.get_rich_menu_list(_request_timeout=timeout)
    for menu in menus.richmenus:
        if menu.name.startswith(NAME_PREFIX) and menu.rich_menu_id != new_id:
            try:
                await api.delete_rich_menu(menu.rich_menu_id, _request_timeout=timeout)
            except Exception:
                # Harmless: the new menu is the default; the next deploy retries the delete.
                log.warning("could not delete old rich menu %s", menu.rich_menu_id, exc_info=True)
    log.info("rich menu %s deployed as default", new_id)
    return new_id


async def deploy_from_settings(settings: Settings) -> str:
    """`deploy()` with a client built from `settings` (LINE's hosts unless
    `line_api_base_url` is set). Returns the new richMenuId."""
    config = Configuration(
        host=settings.line_api_base_url or None, access_token=settings.channel_access_token
    )
    client = AsyncApiClient(config)
    try:
        return await deploy(
            AsyncMessagingApi(client),
            AsyncMessagingApiBlob(client),
            timeout=settings.line_timeout_seconds,
        )
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m line_app.richmenu render [PATH]` — redraw the committed image."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "render" or len(args) > 2:
        print("使い方: python -m line_app.richmenu render [出力先.png]", file=sys.stderr)
        return 2
    path = Path(args[1]) if len(args) == 2 else IMAGE_PATH
    try:
        render_image(path)
    except FontMissingError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{path} を書き出しました({path.stat().st_size:,} バイト)。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
