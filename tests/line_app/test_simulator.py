"""The simulator: LINE-shaped, signed webhooks into the real `/callback`, and the page."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import (
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
)
from PIL import Image
from starlette.applications import Starlette

from line_app import simulator
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform, serve_on_loopback
from line_app.signature import sign
from line_app.simulator.api import ASSETS_DIR
from models.inbox import InboxEvent
from shima.app import create_app
from shima.settings import FAKE_LINE_PATH, Settings
from shima.worker import Worker

HANAKO = simulator.DEMO_USERS[0]["id"]
HEADERS = {"X-Requested-With": "simulator"}


@pytest.fixture
def sim_settings(settings: Settings) -> Settings:
    return settings.with_overrides(simulator=True, channel_secret="simulator-test-secret")


@pytest.fixture
async def sim(sim_settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(sim_settings, init_db=False)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


def platform(client: httpx2.AsyncClient) -> FakeLinePlatform:
    fake = client.app.state.fake_line  # type: ignore[attr-defined]
    assert isinstance(fake, FakeLinePlatform)
    return fake


async def act(client: httpx2.AsyncClient, kind: str, **fields: Any) -> httpx2.Response:
    body = {"user_id": HANAKO, "display_name": "奄美 花子", "kind": kind, **fields}
    return await client.post("/simulator/api/events", json=body, headers=HEADERS)


async def test_page_renders(sim: httpx2.AsyncClient) -> None:
    response = await sim.get("/simulator/")
    assert response.status_code == 200
    html = response.text
    assert "島フリーランス" in html and "LINE シミュレーター" in html
    script = re.search(
        r'<script type="module" src="(/simulator/assets/\d+/)main\.js"></script>', html
    )
    assert script
    assets = script.group(1)
    assert f'<link rel="stylesheet" href="{assets}simulator.css">' in html
    assert 'data-api="/simulator/api"' in html
    # CSP allows no inline code: every script has a src, no inline handlers or style attrs.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+=", html) and "style=" not in html
    for asset in ("main.js", "simulator.css"):
        response = await sim.get(assets + asset)
        assert response.status_code == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_every_module_import_resolves_in_the_versioned_directory(
    sim: httpx2.AsyncClient,
) -> None:
    """The modules import each other by relative URL, so every import must name a file that
    is served next to main.js (a typo would only show as a blank page in a browser)."""
    html = (await sim.get("/simulator/")).text
    script = re.search(r'src="(/simulator/assets/\d+/)main\.js"', html)
    assert script
    pending, seen = ["main.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        response = await sim.get(script.group(1) + name)
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(
            ("text/javascript", "application/javascript")
        )
        for imported in re.findall(
            r'^import [^;]*? from "\./([a-z]+\.js)";$', response.text, re.M | re.S
        ):
            if imported not in seen:
                pending.append(imported)
    assert seen == {path.name for path in ASSETS_DIR.glob("*.js")}  # none unreachable


async def test_follow_becomes_a_signed_webhook_stored_in_the_inbox(
    sim: httpx2.AsyncClient,
) -> None:
    response = await act(sim, "follow")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["webhook_status"] == 200 and result["following"] is True
    assert result["bubble"]["type"] == "system"

    [row] = await InboxEvent.all()
    assert (row.event_type, row.line_user_id) == ("follow", HANAKO)
    assert row.webhook_event_id == result["webhook_event_id"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", row.webhook_event_id)
    event = row.payload
    assert event["mode"] == "active"
    assert event["source"] == {"type": "user", "userId": HANAKO}
    assert event["deliveryContext"] == {"isRedelivery": False}
    assert event["follow"] == {"isUnblocked": False}
    assert row.reply_token == event["replyToken"]
    # The profile API now knows the name the page acts under.
    assert platform(sim)._profiles[HANAKO].display_name == "奄美 花子"


async def test_refollow_after_block_is_unblocked(sim: httpx2.AsyncClient) -> None:
    assert (await act(sim, "follow")).status_code == 200
    unfollow = await act(sim, "unfollow")
    assert unfollow.json()["following"] is False
    assert (await act(sim, "follow")).status_code == 200
    rows = await InboxEvent.all().order_by("id")
    assert [r.event_type for r in rows] == ["follow", "unfollow", "follow"]
    assert "replyToken" not in rows[1].payload
    assert rows[2].payload["follow"] == {"isUnblocked": True}
    assert len({r.webhook_event_id for r in rows}) == 3


async def test_messages_need_a_friend(sim: httpx2.AsyncClient) -> None:
    response = await act(sim, "text", text="こんにちは")
    assert response.status_code == 409
    assert "友だち追加" in response.json()["error"]
    assert await InboxEvent.all().count() == 0


async def test_text_postback_and_picker_events(sim: httpx2.AsyncClient) -> None:
    await act(sim, "follow")
    text = await act(sim, "text", text="予約\nしたい")
    bubble = text.json()["bubble"]
    assert (bubble["type"], bubble["text"]) == ("text", "予約\nしたい")
    postback = await act(sim, "postback", data="flow=consult", display_text="相談予約")
    assert postback.json()["bubble"]["text"] == "相談予約"
    picker = await act(
        sim, "postback", data="flow=consult&step=date", params={"date": "2025-04-03"}
    )
    assert picker.json()["bubble"] is None  # LINE shows no bubble for a date pick
    rows = await InboxEvent.all().order_by("id")
    assert [r.event_type for r in rows] == ["follow", "message", "postback", "postback"]
    assert rows[1].payload["message"]["text"] == "予約\nしたい"
    assert rows[2].payload["postback"] == {"data": "flow=consult"}
    assert rows[3].payload["postback"] == {
        "data": "flow=consult&step=date",
        "params": {"date": "2025-04-03"},
    }
    tokens = [r.reply_token for r in rows]
    assert all(tokens) and len(set(tokens)) == 4


async def test_image_event_content_is_at_the_fake_platform(sim: httpx2.AsyncClient) -> None:
    await act(sim, "follow")
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "#ff0000").save(out, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    response = await act(sim, "image", image=data_url)
    assert response.status_code == 200
    assert response.json()["bubble"] == {
        "type": "image",
        "src": data_url,
        "at": response.json()["bubble"]["at"],
    }
    row = await InboxEvent.filter(event_type="message").get()
    message = row.payload["message"]
    assert message["type"] == "image" and message["contentProvider"] == {"type": "line"}
    content = platform(sim)._contents[message["id"]]
    assert (content.data, content.content_type) == (out.getvalue(), "image/png")

    bad = await act(sim, "image", image="data:image/gif;base64,R0lGODlhAQABAAAAACw=")
    assert bad.status_code == 400


async def test_photos_sent_together_share_an_image_set(sim: httpx2.AsyncClient) -> None:
    """Several photos picked at once arrive as LINE sends them: one event each, with the same
    imageSet id, their index and the total; WebP is accepted like JPEG and PNG."""
    await act(sim, "follow")
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "#00ff00").save(out, "WEBP")
    data_url = "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode()
    for index in (1, 2):
        one = {"id": "simset1", "index": index, "total": 2}
        response = await act(sim, "image", image=data_url, image_set=one)
        assert response.status_code == 200
    rows = await InboxEvent.filter(event_type="message").order_by("id")
    assert [r.payload["message"]["imageSet"] for r in rows] == [
        {"id": "simset1", "index": 1, "total": 2},
        {"id": "simset1", "index": 2, "total": 2},
    ]
    content = platform(sim)._contents[rows[0].payload["message"]["id"]]
    assert content.content_type == "image/webp"
    for bad in ({"id": "x", "index": 3, "total": 2}, {"id": "", "index": 1, "total": 2}, "set"):
        refused = await act(sim, "image", image=data_url, image_set=bad)
        assert refused.status_code == 400
    assert await InboxEvent.filter(event_type="message").count() == 2


@pytest.mark.parametrize(
    ("kind", "fields", "model", "content"),
    [
        ("follow", {}, FollowEvent, None),
        ("unfollow", {}, UnfollowEvent, None),
        ("text", {"text": "こんにちは"}, MessageEvent, TextMessageContent),
        ("image", {}, MessageEvent, ImageMessageContent),
        ("sticker", {}, MessageEvent, StickerMessageContent),
        ("location", {}, MessageEvent, LocationMessageContent),
        (
            "postback",
            {"data": "a=1", "params": {"datetime": "2025-04-03T10:00"}},
            PostbackEvent,
            None,
        ),
    ],
)
def test_events_parse_with_the_sdk(
    kind: str, fields: dict[str, Any], model: type[Any], content: type[Any] | None
) -> None:
    """Bodies the SDK's own parser accepts, signature included (what LINE would send)."""
    fake = FakeLinePlatform()
    user = simulator.SimUser(HANAKO, "奄美 花子", following=True)
    event, _ = simulator.build_event(fake, user, kind, fields)
    body = json.dumps({"destination": simulator.BOT_USER_ID, "events": [event]})
    signature = sign("secret", body.encode())
    [parsed] = WebhookParser("secret").parse(body, signature)
    assert isinstance(parsed, model)
    assert parsed.source.user_id == HANAKO
    if content is not None:
        assert isinstance(parsed.message, content)
    if kind == "postback":
        assert parsed.postback.params == {"datetime": "2025-04-03T10:00"}


async def test_api_refuses_cross_site_requests(sim: httpx2.AsyncClient) -> None:
    body = {"user_id": HANAKO, "kind": "follow"}
    no_header = await sim.post("/simulator/api/events", json=body)
    assert no_header.status_code == 403
    form = await sim.post(
        "/simulator/api/events", data={"user_id": HANAKO, "kind": "follow"}, headers=HEADERS
    )
    assert form.status_code == 415
    assert await InboxEvent.all().count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "not-a-user", "kind": "follow"},
        {"user_id": HANAKO, "kind": "beacon"},
        {"user_id": HANAKO, "kind": "follow", "display_name": "あ" * 21},
    ],
)
async def test_api_validates_input(sim: httpx2.AsyncClient, body: dict[str, Any]) -> None:
    response = await sim.post("/simulator/api/events", json=body, headers=HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_unknown_api_path_is_json_404(sim: httpx2.AsyncClient) -> None:
    response = await sim.get("/simulator/api/nothing")
    assert response.status_code == 404
    assert response.json() == {"error": "見つかりません"}


async def test_messages_api_returns_deliveries_after_a_seq(sim: httpx2.AsyncClient) -> None:
    await act(sim, "follow")
    fake = platform(sim)
    fake.deliveries.clear()
    fake._record(HANAKO, "push", [{"type": "text", "text": "一通目"}], None)
    fake._record("Uother", "push", [{"type": "text", "text": "他の人"}], None)
    fake._record(HANAKO, "push", [{"type": "text", "text": "二通目"}], None)
    url = f"/simulator/api/messages?user_id={HANAKO}"
    first = (await sim.get(url + "&after=0")).json()
    kinds = [(i["kind"], i.get("messages", [{}])[0].get("text")) for i in first["items"]]
    assert kinds == [("user", None), ("bot", "一通目"), ("bot", "二通目")]
    assert first["following"] is True and first["last_seq"] == fake.last_seq
    later = (await sim.get(url + f"&after={first['items'][1]['seq']}")).json()
    assert [i["messages"][0]["text"] for i in later["items"]] == ["二通目"]
    bad = await sim.get("/simulator/api/messages?user_id=x")
    assert bad.status_code == 400


async def test_rich_menu_comes_from_the_repository_until_one_is_deployed(
    sim: httpx2.AsyncClient,
) -> None:
    from line_app import richmenu

    menu = (await sim.get(f"/simulator/api/richmenu?user_id={HANAKO}")).json()
    assert menu["definition"] == richmenu.definition()
    assert menu["image_url"].startswith("/static/richmenu.png?v=")

    fake = platform(sim)
    out = io.BytesIO()
    Image.new("RGB", (2500, 843), "#0b3a5c").save(out, "PNG")
    fake.rich_menus["richmenu-x"] = {"richMenuId": "richmenu-x", **richmenu.definition()}
    fake.rich_menu_images["richmenu-x"] = out.getvalue()
    fake.default_rich_menu_id = "richmenu-x"
    deployed = (await sim.get(f"/simulator/api/richmenu?user_id={HANAKO}")).json()
    assert deployed["definition"]["richMenuId"] == "richmenu-x"
    image = await sim.get(deployed["image_url"])
    assert image.status_code == 200 and image.content == out.getvalue()
    assert image.headers["content-type"] == "image/png"


async def test_simulator_is_not_mounted_without_simulator_mode(
    client: httpx2.AsyncClient,
) -> None:
    assert (await client.get("/simulator/")).status_code == 404
    response = await client.post(
        "/simulator/api/events", json={"user_id": HANAKO, "kind": "follow"}, headers=HEADERS
    )
    assert response.status_code == 404
    assert (await client.get(f"/simulator/api/messages?user_id={HANAKO}")).status_code == 404
    assert await InboxEvent.all().count() == 0


async def test_round_trip_through_the_worker(sim_settings: Settings) -> None:
    """Follow in the simulator → webhook → inbox → worker → the app's reply reaches the
    in-app fake platform over loopback → the page's messages API shows it."""
    app = create_app(sim_settings, init_db=False)
    assert isinstance(app, Starlette)
    async with serve_on_loopback(app) as base_url:
        settings = sim_settings.with_overrides(line_api_base_url=base_url + FAKE_LINE_PATH)
        line = LineClient(settings)
        try:
            async with httpx2.AsyncClient(base_url=base_url, headers=HEADERS) as browser:
                body = {"user_id": HANAKO, "display_name": "奄美 花子", "kind": "follow"}
                assert (await browser.post("/simulator/api/events", json=body)).status_code == 200
                await Worker(settings, line).drain()
                fake: FakeLinePlatform = app.state.fake_line
                [delivery] = await fake.wait_for_deliveries(1, user_id=HANAKO)
                assert delivery.via == "reply"
                page = await browser.get(f"/simulator/api/messages?user_id={HANAKO}&after=0")
                bot = [i for i in page.json()["items"] if i["kind"] == "bot"]
                assert bot and bot[0]["messages"] == delivery.messages
        finally:
            await line.close()
