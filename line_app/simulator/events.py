"""The webhook events a simulator action becomes, shaped exactly as LINE sends them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import secrets
import time
from typing import Any

from line_app.fake_line import FakeLinePlatform
from line_app.simulator.transcript import SimUser

BOT_NAME = "島フリーランス"
DEMO_USER_NAMES = ("奄美 花子", "名瀬 太郎", "笠利 さくら")
MAX_DISPLAY_NAME = 20  # LINE's limit for display names
MAX_TEXT = 5000
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # LINE accepts larger photos; a demo needs no more
MAX_KEPT_IMAGE_BYTES = 2 * 1024 * 1024  # larger images are not kept in the page's history
KINDS = ("follow", "unfollow", "text", "postback", "image", "sticker", "location")
PARAM_KEYS = ("date", "time", "datetime", "newRichMenuAliasId", "status")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _line_user_id(seed: str) -> str:
    """A stable LINE-shaped user id ("U" + 32 hex digits) for a demo user."""
    return "U" + hashlib.sha256(f"shima-simulator:{seed}".encode()).hexdigest()[:32]


BOT_USER_ID = _line_user_id("bot")
DEMO_USERS = tuple({"id": _line_user_id(name), "name": name} for name in DEMO_USER_NAMES)


def ulid() -> str:
    """A ULID like LINE's `webhookEventId`: 48-bit ms timestamp + 80 random bits, base32."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def message_id() -> str:
    return str(10**17 + secrets.randbelow(9 * 10**17))


class ApiError(Exception):
    """What the page's JSON API answers: a status and a Japanese message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def short_text(value: Any, limit: int, what: str, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise ApiError(400, f"{what}を入力してください")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(400, f"{what}は{limit}文字以内で入力してください")
    return value


# ---- webhook events ------------------------------------------------------------------------


def _event(kind: str, user_id: str, reply_token: str | None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ulid(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    event.update(extra)
    return event


def _decode_image(data_url: Any) -> tuple[bytes, str]:
    """The page's chosen photo (a data: URL), or a generated placeholder photo."""
    if data_url is None:
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (640, 480), "#13929F").save(out, "JPEG", quality=80)
        return out.getvalue(), "image/jpeg"
    if not isinstance(data_url, str) or not data_url.startswith("data:image/"):
        raise ApiError(400, "画像を読み込めませんでした")
    try:
        header, encoded = data_url.split(",", 1)
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise ApiError(400, "画像を読み込めませんでした") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(413, "画像が大きすぎます（10MBまで）")
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data, "image/webp"
    raise ApiError(400, "JPEG・PNG・WebP の画像を選んでください")


def build_event(
    fake: FakeLinePlatform, user: SimUser, kind: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The webhook event for the page's action, and the bubble the user sees for it."""
    uid = user.user_id
    bubble: dict[str, Any] | None = None
    message: dict[str, Any]
    if kind == "follow":
        event = _event(
            "follow",
            uid,
            fake.issue_reply_token(uid),
            follow={"isUnblocked": user.ever_followed},
        )
        bubble = {"type": "system", "text": f"{BOT_NAME}を友だち追加しました"}
    elif kind == "unfollow":
        event = _event("unfollow", uid, None)  # LINE gives no reply token: nobody to answer
        bubble = {"type": "system", "text": f"{BOT_NAME}をブロックしました"}
    elif kind == "text":
        text = short_text(payload.get("text"), MAX_TEXT, "メッセージ")
        message = {"id": message_id(), "type": "text", "text": text, "quoteToken": _quote()}
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        bubble = {"type": "text", "text": text}
    elif kind == "postback":
        data = short_text(payload.get("data"), 300, "data")
        postback: dict[str, Any] = {"data": data}
        params = payload.get("params")
        if params:
            if not isinstance(params, dict) or not all(
                k in PARAM_KEYS and isinstance(v, str) and len(v) <= 64 for k, v in params.items()
            ):
                raise ApiError(400, "params が正しくありません")
            postback["params"] = params
        event = _event("postback", uid, fake.issue_reply_token(uid), postback=postback)
        shown = short_text(payload.get("display_text"), 300, "表示テキスト", required=False)
        if shown:
            bubble = {"type": "text", "text": shown}
    elif kind == "image":
        data_bytes, content_type = _decode_image(payload.get("image"))
        mid = message_id()
        fake.add_content(mid, data_bytes, content_type)
        message = {
            "id": mid,
            "type": "image",
            "quoteToken": _quote(),
            "contentProvider": {"type": "line"},
        }
        image_set = payload.get("image_set")
        if image_set is not None:
            message["imageSet"] = _image_set(image_set)
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        kept = payload.get("image") if len(data_bytes) <= MAX_KEPT_IMAGE_BYTES else None
        bubble = {"type": "image", "src": kept}
    elif kind == "sticker":
        message = {
            "id": message_id(),
            "type": "sticker",
            "quoteToken": _quote(),
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
            "keywords": ["OK", "Thanks"],
        }
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        bubble = {"type": "sticker"}
    elif kind == "location":
        message = {
            "id": message_id(),
            "type": "location",
            "title": "奄美市役所",
            "address": "鹿児島県奄美市名瀬幸町25-8",
            "latitude": 28.3771,
            "longitude": 129.4938,
        }
        event = _event("message", uid, fake.issue_reply_token(uid), message=message)
        bubble = {"type": "location", "title": message["title"], "address": message["address"]}
    else:
        raise ApiError(400, "kind が正しくありません")
    return event, bubble


MAX_IMAGE_SET = 5  # photos the page sends at once (LINE's own limit is higher)


def _image_set(value: Any) -> dict[str, Any]:
    """LINE's `imageSet` of a photo sent together with others: {id, index (1-based), total}."""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("id"), str)
        or not 1 <= len(value["id"]) <= 64
        or not isinstance(value.get("total"), int)
        or not isinstance(value.get("index"), int)
        or not 2 <= value["total"] <= MAX_IMAGE_SET
        or not 1 <= value["index"] <= value["total"]
    ):
        raise ApiError(400, "imageSet が正しくありません")
    return {"id": value["id"], "index": value["index"], "total": value["total"]}


def _quote() -> str:
    return secrets.token_urlsafe(48)
