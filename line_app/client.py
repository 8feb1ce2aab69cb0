"""The LINE Messaging API client: reply, push, multicast, profile, the month's quota — with
timeouts and outcomes the sender can act on. Every call goes to `settings.line_api_base_url`
when it is set."""

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
    REJECTED = "rejected"  # other 4xx (and the month's quota used up): retrying will not help


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int = 0
    error: str = ""
    # The request may have reached LINE (a timeout): we cannot know whether it was taken.
    ambiguous: bool = False


LINE_API = "https://api.line.me"
# LINE's 429 when the month's message quota is used up (a rate limit's 429 says otherwise).
MONTHLY_LIMIT = "monthly limit"


class QuotaUnavailable(Exception):
    """LINE could not be asked for the quota now (the reason, no personal data)."""


class LineClient:
    """Messaging API calls for one process; close it on shutdown.

    Reply and push — the hot path — post the stored message JSON as it is over one aiohttp
    session: the SDK would rebuild every message as pydantic models and serialise them back
    (about 2 ms of CPU per message batch, measured by bench/webhook.py), and its session
    looks up proxy settings and ~/.netrc on every request. Everything else (profile, rich
    menus) goes through line-bot-sdk's AsyncMessagingApi on the same base URL.
    """

    def __init__(self, settings: Settings) -> None:
        base = settings.line_api_base_url or LINE_API
        config = Configuration(access_token=settings.channel_access_token)
        if settings.line_api_base_url:
            config = Configuration(host=base, access_token=settings.channel_access_token)
        self._client = AsyncApiClient(config)
        self.api = AsyncMessagingApi(self._client)
        self.blob = AsyncMessagingApiBlob(self._client)
        self.timeout = aiohttp.ClientTimeout(total=settings.line_timeout_seconds)
        self._base = base
        self._token = settings.channel_access_token
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                trust_env=False,
                timeout=self.timeout,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                    "User-Agent": "shima-freelance-line/0.1",
                },
            )
        return self._session

    async def close(self) -> None:
        await self._client.close()
        if self._session is not None:
            await self._session.close()

    async def reply(
        self, reply_token: str, messages: list[dict[str, Any]], timeout: float | None = None
    ) -> SendResult:
        """Reply; `timeout` (seconds) short enough that a retry still fits the token's life."""
        body = {"replyToken": reply_token, "messages": messages}
        return await self._post("/v2/bot/message/reply", body, timeout=timeout)

    async def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> SendResult:
        body = {"to": to, "messages": messages}
        return await self._post("/v2/bot/message/push", body, {"X-Line-Retry-Key": retry_key})

    async def multicast(
        self, to: list[str], messages: list[dict[str, Any]], retry_key: str
    ) -> SendResult:
        """The same messages to up to 500 users in one request (quota: messages × users)."""
        body = {"to": to, "messages": messages}
        return await self._post("/v2/bot/message/multicast", body, {"X-Line-Retry-Key": retry_key})

    async def quota(self) -> int | None:
        """The month's message limit, None when the plan has none (raises QuotaUnavailable)."""
        try:
            answer = await self.api.get_message_quota(**self._kw())
        except (ApiException, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise QuotaUnavailable(_describe(exc)) from exc
        if str(getattr(answer.type, "value", answer.type)) == "none":
            return None
        return int(answer.value or 0)

    async def consumption(self) -> int:
        """Messages used so far this month (raises QuotaUnavailable)."""
        try:
            answer = await self.api.get_message_quota_consumption(**self._kw())
        except (ApiException, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise QuotaUnavailable(_describe(exc)) from exc
        return int(answer.total_usage)

    async def _post(
        self,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> SendResult:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        limit = self.timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        try:
            async with self._http().post(
                self._base + path, data=data, headers=headers, timeout=limit
            ) as resp:
                text = await resp.text()
                if 200 <= resp.status < 300:
                    return SendResult(Outcome.SENT, resp.status)
                return _classify_status(resp.status, _message_of(text))
        except TimeoutError:
            return SendResult(Outcome.RETRY, 0, "タイムアウト", ambiguous=True)
        except aiohttp.ClientConnectorError as exc:  # never reached LINE
            return SendResult(Outcome.RETRY, 0, f"接続エラー: {type(exc).__name__}")
        except aiohttp.ClientError as exc:  # may have been cut off after LINE took it
            return SendResult(Outcome.RETRY, 0, f"通信エラー: {type(exc).__name__}", ambiguous=True)

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


def _message_of(text: str) -> str:
    """LINE's error body (`message` and `details`) as one line, for staff and the logs."""
    try:
        parsed = json.loads(text or "")
    except ValueError:
        return text[:200]
    if not isinstance(parsed, dict):
        return text[:200]
    message = str(parsed.get("message", ""))
    details = parsed.get("details") or []
    if details:
        message += " " + "; ".join(
            f"{d.get('property', '')}: {d.get('message', '')}" for d in details
        )
    return message[:500] or text[:200]


def _classify_status(status: int, message: str) -> SendResult:
    if status == 409:
        return SendResult(Outcome.ALREADY_ACCEPTED, status, message)
    if status == 400 and "reply token" in message.lower():
        return SendResult(Outcome.INVALID_REPLY_TOKEN, status, message)
    if status == 429 and MONTHLY_LIMIT in message.lower():
        # Retrying will not help until next month: the sender stops and staff see why.
        return SendResult(Outcome.REJECTED, status, message)
    if status == 429 or status >= 500 or status == 0:
        return SendResult(Outcome.RETRY, status, message)
    return SendResult(Outcome.REJECTED, status, message)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status}"
    return type(exc).__name__
