"""The fake LINE platform, driven by the real line-bot-sdk v3 async client over loopback."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from PIL import Image

from line_app.fake_line import FakeLinePlatform, validate_messages

TOKEN = "test-access-token"


@pytest.fixture
async def api(fake_line: FakeLinePlatform) -> AsyncIterator[AsyncMessagingApi]:
    async with AsyncApiClient(Configuration(host=fake_line.base_url, access_token=TOKEN)) as c:
        yield AsyncMessagingApi(c)


@pytest.fixture
async def blob(fake_line: FakeLinePlatform) -> AsyncIterator[AsyncMessagingApiBlob]:
    async with AsyncApiClient(Configuration(host=fake_line.base_url, access_token=TOKEN)) as c:
        yield AsyncMessagingApiBlob(c)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def reply(token: str, *messages: dict[str, Any]) -> ReplyMessageRequest:
    return ReplyMessageRequest.from_dict({"replyToken": token, "messages": list(messages)})


def push(to: str, *messages: dict[str, Any]) -> PushMessageRequest:
    return PushMessageRequest.from_dict({"to": to, "messages": list(messages)})


def error_body(exc: ApiException) -> dict[str, Any]:
    return dict(json.loads(exc.body))


async def test_reply_delivers_once_to_the_tokens_user(
    fake_line: FakeLinePlatform, api: AsyncMessagingApi
) -> None:
    token = fake_line.issue_reply_token("U1")
    response = await api.reply_message(reply(token, text("こんにちは"), text("二通目")))
    assert len(response.sent_messages) == 2
    [delivery] = fake_line.delivered("U1")
    assert delivery.via == "reply"
    assert delivery.messages == [text("こんにちは"), text("二通目")]
    assert delivery.retry_key is None
    call = fake_line.calls[-1]
    assert (call.method, call.path, call.status) == ("POST", "/v2/bot/message/reply", 200)
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.json["replyToken"] == token

    with pytest.raises(ApiException) as reused:
        await api.reply_message(reply(token, text("again")))
    assert reused.value.status == 400
    assert error_body(reused.value)["message"] == "Invalid reply token"
    assert len(fake_line.deliveries) == 1


async def test_expired_and_unknown_reply_tokens_are_rejected(
    fake_line: FakeLinePlatform, api: AsyncMessagingApi
) -> None:
    token = fake_line.issue_reply_token("U1")
    fake_line.expire_reply_tokens()
    for candidate in (token, "never-issued"):
        with pytest.raises(ApiException) as exc:
            await api.reply_message(reply(candidate, text("hi")))
        assert exc.value.status == 400
    assert fake_line.deliveries == []


async def test_reply_token_ttl(api: AsyncMessagingApi, fake_line: FakeLinePlatform) -> None:
    fake_line.reply_token_ttl = 0.05
    token = fake_line.issue_reply_token("U1")
    await asyncio.sleep(0.1)
    with pytest.raises(ApiException):
        await api.reply_message(reply(token, text("late")))


async def test_reply_with_retry_key_is_rejected(fake_line: FakeLinePlatform) -> None:
    token = fake_line.issue_reply_token("U1")
    status, _ = await raw_post(
        fake_line,
        "/v2/bot/message/reply",
        {"replyToken": token, "messages": [text("x")]},
        {"X-Line-Retry-Key": str(uuid.uuid4())},
    )
    assert status == 400
    assert fake_line.deliveries == []


async def test_push_retry_key_is_accepted_once(
    fake_line: FakeLinePlatform, api: AsyncMessagingApi
) -> None:
    key = str(uuid.uuid4())
    await api.push_message(push("U2", text("お知らせ")), x_line_retry_key=key)
    with pytest.raises(ApiException) as again:
        await api.push_message(push("U2", text("お知らせ")), x_line_retry_key=key)
    assert again.value.status == 409
    assert again.value.headers["x-line-accepted-request-id"]
    assert error_body(again.value)["message"] == "The retry key is already accepted"
    [delivery] = fake_line.delivered("U2")
    assert (delivery.via, delivery.retry_key) == ("push", key)
    # A different key is a different request.
    await api.push_message(push("U2", text("次")), x_line_retry_key=str(uuid.uuid4()))
    assert [d.seq for d in fake_line.delivered("U2")] == [1, 2]


async def test_push_rejects_a_malformed_retry_key(api: AsyncMessagingApi) -> None:
    with pytest.raises(ApiException) as exc:
        await api.push_message(push("U2", text("x")), x_line_retry_key="not-a-uuid")
    assert exc.value.status == 400


async def test_fail_next_then_success(fake_line: FakeLinePlatform, api: AsyncMessagingApi) -> None:
    fake_line.fail_next(500, times=2, path="/message/push")
    key = str(uuid.uuid4())
    for _ in range(2):
        with pytest.raises(ApiException) as exc:
            await api.push_message(push("U3", text("x")), x_line_retry_key=key)
        assert exc.value.status == 500
    # Not matching the path filter: unaffected.
    fake_line.fail_next(429, path="/message/push")
    await api.show_loading_animation(ShowLoadingAnimationRequest(chatId="U3", loadingSeconds=5))
    with pytest.raises(ApiException) as limited:
        await api.push_message(push("U3", text("x")), x_line_retry_key=key)
    assert limited.value.status == 429
    await api.push_message(push("U3", text("x")), x_line_retry_key=key)
    assert len(fake_line.delivered("U3")) == 1
    assert [c.status for c in fake_line.calls] == [500, 500, 202, 429, 200]


async def test_fail_next_with_custom_body_and_headers(
    fake_line: FakeLinePlatform, api: AsyncMessagingApi
) -> None:
    fake_line.fail_next(429, body={"message": "slow down"}, headers={"retry-after": "3"})
    with pytest.raises(ApiException) as exc:
        await api.push_message(push("U3", text("x")))
    assert error_body(exc.value) == {"message": "slow down"}
    assert exc.value.headers["retry-after"] == "3"


async def test_delay_next_makes_the_client_time_out(
    fake_line: FakeLinePlatform, api: AsyncMessagingApi
) -> None:
    fake_line.delay_next(0.5, path="/message/push")
    key = str(uuid.uuid4())
    with pytest.raises(asyncio.TimeoutError):
        await api.push_message(
            push("U4", text("x")),
            x_line_retry_key=key,
            _request_timeout=aiohttp.ClientTimeout(total=0.2),
        )
    # Like LINE, the stalled request still went through: the retry is told so.
    await fake_line.wait_for_deliveries(1, user_id="U4", timeout=2)
    with pytest.raises(ApiException) as exc:
        await api.push_message(push("U4", text("x")), x_line_retry_key=key)
    assert exc.value.status == 409
    assert len(fake_line.delivered("U4")) == 1


async def test_wrong_access_token_is_401(fake_line: FakeLinePlatform) -> None:
    config = Configuration(host=fake_line.base_url, access_token="wrong")
    async with AsyncApiClient(config) as client:
        with pytest.raises(ApiException) as exc:
            await AsyncMessagingApi(client).push_message(push("U1", text("x")))
    assert exc.value.status == 401
    assert error_body(exc.value)["message"].startswith("Authentication failed")
    assert fake_line.deliveries == []


async def raw_post(
    fake_line: FakeLinePlatform, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """What a hand-rolled client would send: the SDK's own models refuse some bad input."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{fake_line.base_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})},
        ) as r:
            return r.status, await r.json()


async def test_too_many_messages_and_long_postback_data(fake_line: FakeLinePlatform) -> None:
    messages = [text(str(i)) for i in range(6)]
    status, six = await raw_post(
        fake_line, "/v2/bot/message/push", {"to": "U1", "messages": messages}
    )
    assert status == 400
    assert six == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Size must be between 1 and 5", "property": "messages"}],
    }
    quick = {
        "type": "text",
        "text": "選んでください",
        "quickReply": {
            "items": [
                {
                    "type": "action",
                    "action": {"type": "postback", "label": "はい", "data": "x" * 301},
                }
            ]
        },
    }
    status, long_data = await raw_post(
        fake_line, "/v2/bot/message/push", {"to": "U1", "messages": [quick]}
    )
    assert status == 400
    [detail] = long_data["details"]
    assert detail["property"] == "messages[0].quickReply.items[0].action.data"
    assert fake_line.deliveries == []


@pytest.mark.parametrize(
    ("message", "prop"),
    [
        ({"type": "text", "text": ""}, "messages[0].text"),
        ({"type": "text", "text": "あ" * 5001}, "messages[0].text"),
        ({"type": "text", "text": "😀" * 2501}, "messages[0].text"),  # UTF-16 units
        ({"type": "mystery"}, "messages[0].type"),
        ({"type": "flex", "contents": {"type": "bubble"}}, "messages[0].altText"),
        ({"type": "flex", "altText": "x" * 1501, "contents": {"type": "bubble"}}, None),
        ({"type": "flex", "altText": "x"}, "messages[0].contents"),
        ({"type": "template", "template": {"type": "confirm"}}, "messages[0].altText"),
        (
            {
                "type": "text",
                "text": "x",
                "quickReply": {
                    "items": [
                        {"type": "action", "action": {"type": "message", "label": "a", "text": "a"}}
                    ]
                    * 14
                },
            },
            "messages[0].quickReply.items",
        ),
        (
            {
                "type": "text",
                "text": "x",
                "quickReply": {
                    "items": [
                        {
                            "type": "action",
                            "action": {"type": "message", "label": "あ" * 21, "text": "a"},
                        }
                    ]
                },
            },
            "messages[0].quickReply.items[0].action.label",
        ),
        (
            {
                "type": "text",
                "text": "x",
                "quickReply": {
                    "items": [
                        {
                            "type": "action",
                            "action": {
                                "type": "datetimepicker",
                                "label": "日付",
                                "data": "d",
                                "mode": "week",
                            },
                        }
                    ]
                },
            },
            "messages[0].quickReply.items[0].action.mode",
        ),
        (
            {
                "type": "flex",
                "altText": "x",
                "contents": {
                    "type": "bubble",
                    "body": {
                        "type": "box",
                        "layout": "vertical",
                        "contents": [
                            {
                                "type": "button",
                                "action": {"type": "postback", "label": "予約する", "data": ""},
                            }
                        ],
                    },
                },
            },
            "messages[0].contents.body.contents[0].action.data",
        ),
        (
            {
                "type": "flex",
                "altText": "x",
                "contents": {
                    "type": "bubble",
                    "body": {
                        "type": "box",
                        "layout": "vertical",
                        "contents": [{"type": "text", "text": "x", "color": "red"}],
                    },
                },
            },
            "messages[0].contents.body.contents[0].color",
        ),
        (
            {
                "type": "template",
                "altText": "x",
                "template": {
                    "type": "buttons",
                    "text": "x",
                    "actions": [
                        {"type": "message", "label": str(i), "text": "x"} for i in range(5)
                    ],
                },
            },
            "messages[0].template.actions",
        ),
    ],
)
def test_message_validation(message: dict[str, Any], prop: str | None) -> None:
    errors = validate_messages([message])
    assert errors, "expected a validation error"
    if prop is not None:
        assert prop in [p for _, p in errors]


def test_valid_messages_pass() -> None:
    picker = {
        "type": "datetimepicker",
        "label": "日時を選ぶ",
        "data": "flow=consult&step=when",
        "mode": "datetime",
        "initial": "2025-04-01T10:00",
        "min": "2025-04-01T09:00",
        "max": "2025-04-30T17:00",
    }
    flex = {
        "type": "flex",
        "altText": "予約の確認",
        "contents": {
            "type": "carousel",
            "contents": [
                {
                    "type": "bubble",
                    "size": "kilo",
                    "body": {
                        "type": "box",
                        "layout": "vertical",
                        "spacing": "md",
                        "contents": [
                            {"type": "text", "text": "相談", "weight": "bold", "color": "#06C755"},
                            {"type": "separator"},
                            {
                                "type": "button",
                                "style": "primary",
                                "action": {
                                    "type": "postback",
                                    "label": "予約",
                                    "data": "a=1",
                                    "displayText": "予約",
                                },
                            },
                        ],
                    },
                }
            ],
        },
        "quickReply": {"items": [{"type": "action", "action": picker}]},
    }
    confirm = {
        "type": "template",
        "altText": "確認",
        "template": {
            "type": "confirm",
            "text": "キャンセルしますか？",
            "actions": [
                {"type": "postback", "label": "はい", "data": "yes"},
                {"type": "message", "label": "いいえ", "text": "いいえ"},
            ],
        },
    }
    assert validate_messages([text("😀" * 2500), flex, confirm]) == []


async def test_profile(fake_line: FakeLinePlatform, api: AsyncMessagingApi) -> None:
    fake_line.add_user("U5", "奄美 花子")
    profile = await api.get_profile("U5")
    assert (profile.user_id, profile.display_name, profile.language) == ("U5", "奄美 花子", "ja")
    with pytest.raises(ApiException) as exc:
        await api.get_profile("U-unknown")
    assert exc.value.status == 404


async def test_message_content(fake_line: FakeLinePlatform, blob: AsyncMessagingApiBlob) -> None:
    fake_line.add_content("m1", b"\xff\xd8\xffdata", "image/jpeg")
    assert bytes(await blob.get_message_content("m1")) == b"\xff\xd8\xffdata"
    with pytest.raises(ApiException) as exc:
        await blob.get_message_content("m2")
    assert exc.value.status == 404


async def test_unknown_path_is_json_404(fake_line: FakeLinePlatform) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{fake_line.base_url}/v2/bot/nothing", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as r:
            assert r.status == 404
            assert (await r.json())["message"] == "Not found"


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#06C755").save(out, "PNG")
    return out.getvalue()


def rich_menu(**overrides: Any) -> dict[str, Any]:
    menu = {
        "size": {"width": 2500, "height": 1686},
        "selected": True,
        "name": "main",
        "chatBarText": "メニュー",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                "action": {"type": "postback", "data": "flow=consult", "displayText": "相談予約"},
            }
        ],
    }
    menu.update(overrides)
    return menu


async def test_rich_menu_lifecycle(
    fake_line: FakeLinePlatform, api: AsyncMessagingApi, blob: AsyncMessagingApiBlob
) -> None:
    created = await api.create_rich_menu(RichMenuRequest.from_dict(rich_menu()))
    menu_id = created.rich_menu_id
    assert menu_id.startswith("richmenu-")

    # No default before an image is attached.
    with pytest.raises(ApiException) as no_image:
        await api.set_default_rich_menu(menu_id)
    assert no_image.value.status == 400

    with pytest.raises(ApiException) as wrong_size:
        await blob.set_rich_menu_image(
            menu_id, png(800, 540), _headers={"Content-Type": "image/png"}
        )
    assert wrong_size.value.status == 400
    image = png(2500, 1686)
    await blob.set_rich_menu_image(menu_id, image, _headers={"Content-Type": "image/png"})
    assert fake_line.rich_menu_images[menu_id] == image
    await api.set_default_rich_menu(menu_id)
    assert (await api.get_default_rich_menu_id()).rich_menu_id == menu_id
    assert fake_line.default_rich_menu_id == menu_id

    listed = await api.get_rich_menu_list()
    assert [m.rich_menu_id for m in listed.richmenus] == [menu_id]
    assert listed.richmenus[0].chat_bar_text == "メニュー"
    assert (await api.get_rich_menu(menu_id)).areas[0].action.data == "flow=consult"

    await api.delete_rich_menu(menu_id)
    assert fake_line.rich_menus == {} and fake_line.default_rich_menu_id is None
    with pytest.raises(ApiException) as gone:
        await api.set_default_rich_menu(menu_id)
    assert gone.value.status == 404


async def test_rich_menu_image_must_be_png_or_jpeg(
    api: AsyncMessagingApi, blob: AsyncMessagingApiBlob
) -> None:
    menu_id = (await api.create_rich_menu(RichMenuRequest.from_dict(rich_menu()))).rich_menu_id
    with pytest.raises(ApiException) as exc:
        await blob.set_rich_menu_image(
            menu_id, b"GIF89a" + b"\0" * 100, _headers={"Content-Type": "image/png"}
        )
    assert exc.value.status == 400


@pytest.mark.parametrize(
    "overrides",
    [
        {"size": {"width": 700, "height": 400}},
        {"size": {"width": 2500, "height": 2000}},
        {"chatBarText": "メニューをひらいてね・タップしてね"},
        {
            "areas": [
                {
                    "bounds": {"x": 0, "y": 0, "width": 10, "height": 10},
                    "action": {"type": "message", "text": "x"},
                }
            ]
            * 21
        },
    ],
)
async def test_rich_menu_validation(fake_line: FakeLinePlatform, overrides: dict[str, Any]) -> None:
    status, body = await raw_post(fake_line, "/v2/bot/richmenu", rich_menu(**overrides))
    assert status == 400
    assert body["details"]
    assert fake_line.rich_menus == {}


async def test_rich_menu_aliases(fake_line: FakeLinePlatform, api: AsyncMessagingApi) -> None:
    from linebot.v3.messaging import CreateRichMenuAliasRequest

    menu_id = "richmenu-missing"
    fake_line.rich_menus[menu_id] = {"richMenuId": menu_id, **rich_menu()}
    fake_line.rich_menu_images[menu_id] = png(2500, 1686)
    request = CreateRichMenuAliasRequest(richMenuAliasId="tab-a", richMenuId=menu_id)
    await api.create_rich_menu_alias(request)
    with pytest.raises(ApiException):
        await api.create_rich_menu_alias(request)  # duplicate alias id
    aliases = (await api.get_rich_menu_alias_list()).aliases
    assert [(a.rich_menu_alias_id, a.rich_menu_id) for a in aliases] == [("tab-a", menu_id)]
    await api.delete_rich_menu_alias("tab-a")
    assert fake_line.rich_menu_aliases == {}


async def test_wait_for_deliveries_times_out_clearly(fake_line: FakeLinePlatform) -> None:
    with pytest.raises(AssertionError, match="expected 1 deliveries for U9"):
        await fake_line.wait_for_deliveries(1, user_id="U9", timeout=0.05)


async def test_reset_forgets_everything(
    fake_line: FakeLinePlatform, api: AsyncMessagingApi
) -> None:
    token = fake_line.issue_reply_token("U1")
    await api.reply_message(reply(token, text("x")))
    fake_line.add_user("U1", "名瀬 太郎")
    fake_line.reset()
    assert fake_line.calls == [] and fake_line.deliveries == []
    with pytest.raises(ApiException):
        await api.get_profile("U1")
