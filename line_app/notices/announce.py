"""お知らせ配信 — what the admin calls: the month's message quota (LINE's quota and consumption
APIs, read before staff send) and the LINE messages of an announcement, which the sender
(line_app.announcements) builds the same way, so the preview and the quota cost match what
goes out."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from line_app.client import QuotaUnavailable
from line_app.flows import card_parts as parts
from line_app.messages import Message, flex, postback, quick_reply, text, uri_action
from models.announcements import Announcement
from shima.domain import announcements as rules
from shima.settings import Settings

# Who `{名前}` becomes when LINE has not told us a resident's name: 「{名前}さん、こんにちは」
# reads 「みなさん、こんにちは」 (「利用者さん」 read like a form letter gone wrong), so the
# honorific after it goes too (「{名前}様」 → 「みなさま」).
NO_NAME = "みなさん"
_NAMELESS = re.compile(re.escape(rules.PLACEHOLDER) + r"[ 　]?(さん|様|さま)?")
QUOTA_ERROR = (
    "LINE に今月の残りの通数を問い合わせられませんでした。しばらくしてからもう一度お試しください。"
)
# Where LINE fetches an announcement's picture (served publicly by admin/announce at an
# unguessable token: LINE's servers cannot log in).
IMAGE_PATH = "/admin/announcements/public/{token}.jpg"
PREVIEW_PATH = "/admin/announcements/public/{token}_p.jpg"
# Every announcement ends with this quick reply (free: it is part of the message): a way to
# stop announcements other than blocking the account, which would stop reminders too.
SETTINGS_ACTION = postback("お知らせの受け取り", "flow=notify", "お知らせの受け取り")


@dataclass(frozen=True)
class Quota:
    limit: int | None  # None: no monthly limit (LINE's type "none"), or not known (`error`)
    used: int | None
    error: str = ""  # Japanese, when LINE could not be asked

    @property
    def remaining(self) -> int | None:
        """Messages still available this month; None when there is no limit — or when LINE
        could not be asked (check `error` first)."""
        if self.limit is None:
            return None
        return max(0, self.limit - (self.used or 0))


async def monthly_quota(line: Any) -> Quota:
    """Ask LINE for the month's limit and what is used (both at once; never inside a
    transaction). `line` is the process's LineClient."""
    try:
        limit, used = await asyncio.gather(line.quota(), line.consumption())
    except QuotaUnavailable:
        return Quota(limit=None, used=None, error=QUOTA_ERROR)
    return Quota(limit=limit, used=used)


def image_urls(a: Announcement, settings: Settings) -> tuple[str, str]:
    """The picture's public URLs (original, preview) LINE fetches."""
    base = settings.public_base_url
    token = a.image_token or ""
    return base + IMAGE_PATH.format(token=token), base + PREVIEW_PATH.format(token=token)


def messages_for(a: Announcement, *, name: str | None, settings: Settings) -> list[Message]:
    """The LINE message objects, in order: the text (`{名前}` replaced by `name`), the
    picture, the card — as many as rules.message_count, what each recipient costs of the
    quota."""
    messages: list[Message] = []
    if a.body.strip():
        messages.append(text(_with_name(a.body, name)))
    if rules.has_image(a):
        original, preview = image_urls(a, settings)
        messages.append(
            {"type": "image", "originalContentUrl": original, "previewImageUrl": preview}
        )
    if rules.has_card(a):
        messages.append(_card(a))
    if messages:
        messages[-1] = {**messages[-1], "quickReply": quick_reply([SETTINGS_ACTION])}
    return messages


def _with_name(body: str, name: str | None) -> str:
    if name:
        return body.replace(rules.PLACEHOLDER, name)
    return _NAMELESS.sub(lambda m: "みなさま" if m.group(1) in ("様", "さま") else NO_NAME, body)


def _card(a: Announcement) -> Message:
    """The card: its title, its text and one link button."""
    rows = [parts.paragraph(a.card_text)] if a.card_text else []
    bubble = parts.bubble(a.card_title, parts.SEA, rows, [uri_action(a.card_label, a.card_url)])
    if not rows:
        # A title alone: the rule and the empty box under it read as a missing text.
        body = bubble["body"]
        body["contents"] = [c for c in body["contents"] if c["type"] == "text"]
    return flex(a.card_title, bubble)
