"""The LINE Messaging API client: reply, push, profile — with timeouts and outcomes the
sender can act on. Every call goes to `settings.line_api_base_url` when it is set."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from shima.settings import Settings

log = logging.getLogger("shima.line")
# The SDK logs response bodies (profiles: names) at DEBUG; never let that reach our logs.
logging.getLogger("linebot").setLevel(logging.WARNING)


class Outcome(StrEnum):
    SENT = "sent"
    ALREADY_ACCEPTED = "already_accepted"  # 409 to a retried push: delivered before
    INVALID_REPLY_TOKEN = "invalid_reply_token"  # used or expired: push instead
    RETRY = "retry"  # 429, 5xx, timeout, connection trouble
    REJECTED = "rejected"  # other 4xx: retrying will not help


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int = 0
    error: str = ""
    # The request may have reached LINE (a timeout): we cannot know whether it was taken.
    ambiguous: bool = False


class LineClient:
    """One aiohttp session for the process; close it on shutdown."""

    def __init__(self, settings: Settings) -> None:
        config = Configuration(access_token=settings.channel_access_token)
        if settings.line_api_base_url:
            config = Configuration(
                host=settings.line_api_base_url, access_token=settings.channel_access_token
            )
        self._client = AsyncApiClient(config)
        self.api = AsyncMessagingApi(self._client)
        self.blob = AsyncMessagingApiBlob(self._client)
        self.timeout = aiohttp.ClientTimeout(total=settings.line_timeout_seconds)

    async def close(self) -> None:
        await self._client.close()

    async def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> SendResult:
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        return await self._send(self.api.reply_message_with_http_info(request, **self._kw()))

    async def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> SendResult:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        return await self._send(
            self.api.push_message_with_http_info(request, x_line_retry_key=retry_key, **self._kw())
        )

    async def display_name(self, user_id: str) -> str | None:
        """The user's LINE display name, or None when LINE cannot tell us now."""
        try:
            profile = await self.api.get_profile(user_id, **self._kw())
        except (ApiException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("profile lookup failed: %s", _describe(exc))
            return None
        return str(profile.display_name)

    def _kw(self) -> dict[str, Any]:
        return {"_request_timeout": self.timeout}

    async def _send(self, call: Any) -> SendResult:
        try:
            await call
        except ApiException as exc:
            return _classify(exc)
        except TimeoutError:
            return SendResult(Outcome.RETRY, 0, "タイムアウト", ambiguous=True)
        except aiohttp.ClientConnectorError as exc:  # never reached LINE
            return SendResult(Outcome.RETRY, 0, f"接続エラー: {type(exc).__name__}")
        except aiohttp.ClientError as exc:  # may have been cut off after LINE took it
            return SendResult(Outcome.RETRY, 0, f"通信エラー: {type(exc).__name__}", ambiguous=True)
        return SendResult(Outcome.SENT, 200)


def _classify(exc: ApiException) -> SendResult:
    status = int(exc.status or 0)
    message = _error_message(exc)
    if status == 409:
        return SendResult(Outcome.ALREADY_ACCEPTED, status, message)
    if status == 400 and "reply token" in message.lower():
        return SendResult(Outcome.INVALID_REPLY_TOKEN, status, message)
    if status == 429 or status >= 500 or status == 0:
        return SendResult(Outcome.RETRY, status, message)
    return SendResult(Outcome.REJECTED, status, message)


def _error_message(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body or "")
    except ValueError:
        return str(exc.reason or "")
    if isinstance(parsed, dict):
        details = parsed.get("details") or []
        text = str(parsed.get("message", ""))
        if details:
            text += " " + "; ".join(
                f"{d.get('property', '')}: {d.get('message', '')}" for d in details
            )
        return text[:500]
    return str(exc.reason or "")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status}"
    return type(exc).__name__
