"""The rich menu: a valid definition, a committed image in sync with it, and a deploy that
replaces (never piles up) the menus it made, driven against the fake LINE platform."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import AsyncIterator
from itertools import combinations
from pathlib import Path
from typing import cast

import pytest
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    RichMenuRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from PIL import Image, ImageChops

from line_app import richmenu
from line_app.fake_line import FakeLinePlatform, validate_rich_menu
from shima.settings import Settings

TOKEN = "test-access-token"
RENDER_HINT = "run `python -m line_app.richmenu render` and commit static/richmenu.png"
# Font rasterisers differ a little between Pillow/FreeType builds; compared at quarter size,
# such noise stays under ~10/255, while changing one character of a hint line gives 70+.
TOLERANCE = 32

EXPECTED = [
    ("相談予約", "flow=consult", "相談予約"),
    ("寺子屋・交流会", "flow=course", "寺子屋・交流会"),
    ("ハンドメイドマーケット", "flow=market", "ハンドメイドマーケット"),
    ("アンケート", "flow=survey", "アンケート"),
    ("イベント・お知らせ", "flow=news", "イベント・お知らせ"),
    ("マイページ", "flow=mypage", "マイページ"),
]


# --- the definition ----------------------------------------------------------------------


def test_six_postback_areas_in_menu_order() -> None:
    menu = richmenu.definition()
    actions = [area["action"] for area in menu["areas"]]
    assert [(a["label"], a["data"], a["displayText"]) for a in actions] == EXPECTED
    assert all(a["type"] == "postback" for a in actions)
    assert menu["size"] == {"width": 2500, "height": 1686}
    assert menu["selected"] is True
    assert menu["name"].startswith(richmenu.NAME_PREFIX)


def test_areas_tile_the_image_in_two_rows_of_three_without_overlap() -> None:
    bounds = [area["bounds"] for area in richmenu.definition()["areas"]]
    rects = [(b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]) for b in bounds]
    for x0, y0, x1, y1 in rects:
        assert 0 <= x0 < x1 <= 2500 and 0 <= y0 < y1 <= 1686
    for a, b in combinations(rects, 2):
        overlap_w = min(a[2], b[2]) - max(a[0], b[0])
        overlap_h = min(a[3], b[3]) - max(a[1], b[1])
        assert overlap_w <= 0 or overlap_h <= 0, f"{a} overlaps {b}"
    # No overlap and the areas add up to the whole image: every pixel is in exactly one.
    assert sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rects) == 2500 * 1686
    # Row-major 2 x 3: top row left to right, then the bottom row.
    assert [(r[1], r[0]) for r in rects] == sorted((r[1], r[0]) for r in rects)
    assert len({r[1] for r in rects}) == 2 and len({r[0] for r in rects}) == 3


def test_texts_within_line_limits() -> None:
    menu = richmenu.definition()
    assert 1 <= len(menu["chatBarText"]) <= 14
    assert len(menu["name"]) <= 300
    for area in menu["areas"]:
        action = area["action"]
        assert 1 <= len(action["label"]) <= 20
        assert 1 <= len(action["data"]) <= 300
        assert 1 <= len(action["displayText"]) <= 300


def test_definition_is_what_line_and_the_sdk_accept() -> None:
    menu = richmenu.definition()
    assert validate_rich_menu(menu) == []
    # The SDK model keeps every field (a typo in a camelCase key would be dropped here).
    assert RichMenuRequest.from_dict(menu).to_dict() == menu


def test_image_titles_spell_the_labels() -> None:
    for area in richmenu.AREAS:
        assert "".join(area.lines) == area.label
        assert area.icon in richmenu.ICONS


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(richmenu, "FONT_DIRS", (tmp_path,))
    monkeypatch.setattr(richmenu, "FONT_SEARCH_ROOTS", (tmp_path,))
    with pytest.raises(richmenu.FontMissingError, match="fonts-noto-cjk"):
        richmenu.render_image(tmp_path / "menu.png")
    assert not (tmp_path / "menu.png").exists()


def test_text_too_wide_for_its_tile_is_refused() -> None:
    areas = list(richmenu.AREAS)
    areas[1] = dataclasses.replace(areas[1], sublabel="学び合い・仲間づくり・地域とつながる場")
    with pytest.raises(ValueError, match="too wide"):
        richmenu.render(areas)


# --- the committed image -----------------------------------------------------------------


def _pixels(path_or_bytes: Path | bytes) -> Image.Image:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(source) as image:
        return image.convert("RGB")


def _difference(a: Image.Image, b: Image.Image) -> tuple[int, tuple[int, int, int, int] | None]:
    """Largest channel difference at quarter size, and where (full-size box) it exceeds
    TOLERANCE."""
    assert a.size == b.size
    diff = ImageChops.difference(a.reduce(4), b.reduce(4))
    extrema = cast("tuple[tuple[int, int], ...]", diff.getextrema())  # (low, high) per channel
    worst = max(high for _, high in extrema)
    box = diff.point(lambda v: 255 if v > TOLERANCE else 0).getbbox()
    if box is None:
        return worst, None
    x0, y0, x1, y1 = box
    return worst, (4 * x0, 4 * y0, 4 * x1, 4 * y1)


@pytest.fixture(scope="module")
def fresh_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The menu rendered now, through the same entry point a developer runs."""
    path = tmp_path_factory.mktemp("richmenu") / "richmenu.png"
    assert richmenu.main(["render", str(path)]) == 0
    return path


def test_committed_image_is_a_png_line_accepts() -> None:
    data = richmenu.IMAGE_PATH.read_bytes()
    assert len(data) <= 1024 * 1024
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (2500, 1686)


def test_committed_image_matches_a_fresh_render(fresh_render: Path) -> None:
    worst, box = _difference(_pixels(richmenu.IMAGE_PATH), _pixels(fresh_render))
    assert worst <= TOLERANCE, (
        f"static/richmenu.png is out of date with line_app/richmenu.py (differs in {box}): "
        f"{RENDER_HINT}"
    )


def test_the_sync_check_notices_a_one_letter_change(fresh_render: Path) -> None:
    # The comparison above must be able to fail: change one letter of one hint line.
    areas = list(richmenu.AREAS)
    areas[0] = dataclasses.replace(areas[0], sublabel=areas[0].sublabel.replace("I", "l", 1))
    changed = _pixels(richmenu.encode_png(richmenu.render(areas)))
    worst, box = _difference(_pixels(fresh_render), changed)
    assert worst > TOLERANCE
    assert box is not None
    x0, y0, x1, y1 = box
    tile = richmenu.tile_bounds(0)
    assert tile["x"] <= x0 < x1 <= tile["x"] + tile["width"]
    assert tile["y"] <= y0 < y1 <= tile["y"] + tile["height"]


def test_render_entry_point_refuses_unknown_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert richmenu.main([]) == 2
    assert richmenu.main(["deploy"]) == 2
    assert "render" in capsys.readouterr().err


# --- deploying -----------------------------------------------------------------------------


@pytest.fixture
async def line(
    fake_line: FakeLinePlatform,
) -> AsyncIterator[tuple[AsyncMessagingApi, AsyncMessagingApiBlob]]:
    config = Configuration(host=fake_line.base_url, access_token=TOKEN)
    async with AsyncApiClient(config) as client:
        yield AsyncMessagingApi(client), AsyncMessagingApiBlob(client)


def _ours(fake_line: FakeLinePlatform) -> set[str]:
    return {i for i, m in fake_line.rich_menus.items() if m["name"].startswith("shima-")}


async def test_deploy_creates_uploads_and_sets_default(
    fake_line: FakeLinePlatform, line: tuple[AsyncMessagingApi, AsyncMessagingApiBlob]
) -> None:
    rich_menu_id = await richmenu.deploy(*line)
    assert fake_line.default_rich_menu_id == rich_menu_id
    assert fake_line.rich_menu_images[rich_menu_id] == richmenu.IMAGE_PATH.read_bytes()
    stored = dict(fake_line.rich_menus[rich_menu_id])
    assert stored.pop("richMenuId") == rich_menu_id
    assert stored == richmenu.definition()
    upload = next(c for c in fake_line.calls if c.path.endswith("/content"))
    assert upload.headers["content-type"] == "image/png"


async def test_redeploy_replaces_our_menu_and_keeps_others(
    fake_line: FakeLinePlatform, line: tuple[AsyncMessagingApi, AsyncMessagingApiBlob]
) -> None:
    api, _ = line
    campaign = dict(richmenu.definition(), name="campaign-autumn")
    other = (await api.create_rich_menu(RichMenuRequest.from_dict(campaign))).rich_menu_id

    first = await richmenu.deploy(*line)
    second = await richmenu.deploy(*line)

    assert first != second
    assert _ours(fake_line) == {second}
    assert fake_line.default_rich_menu_id == second
    assert second in fake_line.rich_menu_images
    assert other in fake_line.rich_menus  # not named "shima-": not ours to delete


async def test_deploy_cleans_up_leftovers_of_earlier_failures(
    fake_line: FakeLinePlatform, line: tuple[AsyncMessagingApi, AsyncMessagingApiBlob]
) -> None:
    api, _ = line
    leftover = dict(richmenu.definition(), name="shima-main-v0")
    await api.create_rich_menu(RichMenuRequest.from_dict(leftover))  # no image, never default
    new = await richmenu.deploy(*line)
    assert _ours(fake_line) == {new}


@pytest.mark.parametrize(
    "failing_path", ["/content", "/user/all/richmenu/"], ids=["upload", "set-default"]
)
async def test_failed_deploy_keeps_previous_default_and_leaves_no_stray_menu(
    fake_line: FakeLinePlatform,
    line: tuple[AsyncMessagingApi, AsyncMessagingApiBlob],
    failing_path: str,
) -> None:
    previous = await richmenu.deploy(*line)
    fake_line.fail_next(500, path=failing_path)
    with pytest.raises(ApiException) as excinfo:
        await richmenu.deploy(*line)
    assert excinfo.value.status == 500
    assert set(fake_line.rich_menus) == {previous}
    assert fake_line.default_rich_menu_id == previous
    assert set(fake_line.rich_menu_images) == {previous}


async def test_deploy_gives_up_on_a_stalled_upload(
    fake_line: FakeLinePlatform, line: tuple[AsyncMessagingApi, AsyncMessagingApiBlob]
) -> None:
    previous = await richmenu.deploy(*line)
    fake_line.delay_next(0.6, path="/content")
    with pytest.raises(asyncio.TimeoutError):
        await richmenu.deploy(*line, timeout=0.2)
    await asyncio.sleep(0.6)  # let the stalled upload land (on a menu that is gone by now)
    assert set(fake_line.rich_menus) == {previous}
    assert fake_line.default_rich_menu_id == previous


async def test_missing_image_fails_before_calling_line(
    fake_line: FakeLinePlatform,
    line: tuple[AsyncMessagingApi, AsyncMessagingApiBlob],
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError):
        await richmenu.deploy(*line, image_path=tmp_path / "missing.png")
    assert fake_line.calls == []


async def test_deploy_from_settings_talks_to_the_configured_base_url(
    fake_line: FakeLinePlatform,
) -> None:
    settings = Settings(
        channel_access_token=TOKEN,
        simulator=False,
        line_api_base_url=fake_line.base_url,
        line_timeout_seconds=5.0,
    )
    rich_menu_id = await richmenu.deploy_from_settings(settings)
    assert fake_line.default_rich_menu_id == rich_menu_id
    assert _ours(fake_line) == {rich_menu_id}
    assert all(c.headers["authorization"] == f"Bearer {TOKEN}" for c in fake_line.calls)
