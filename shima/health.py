"""`GET /healthz`: is the database up, and is the worker keeping up?

Answers 503 (JSON, with the reason) when the database does not answer, or when the worker
looks stuck: the oldest unhandled webhook event, or the most overdue sendable outbox
message, is older than `health_max_event_age_seconds`. A platform health check can then
restart the process. Counts and ages only: no ids, no personal data.

Part of the top layer (beside shima.app and shima.worker), so it may read line_app's rules.
Every query is on an indexed column: inbox (status, id), outbox (status, next_attempt_at).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise import Tortoise
from tortoise.expressions import Q

from line_app import claims, inbox, outbox
from models.inbox import InboxEvent
from models.outbox import OutboxMessage
from shima.settings import Settings
from shima.timeutil import now

log = logging.getLogger("shima.health")
UNHANDLED = inbox.OPEN
WAITING = outbox.OPEN


async def report(max_age_seconds: float) -> tuple[bool, dict[str, Any]]:
    """(healthy, body). Raises if the database does not answer."""
    await Tortoise.get_connection("default").execute_query("SELECT 1")
    at = now()
    oldest = (
        await InboxEvent.filter(status__in=UNHANDLED).order_by("id").first().values("received_at")
    )
    event_age = (at - oldest["received_at"]).total_seconds() if oldest else 0.0
    # Only each user's first waiting message can be sent now: the ones behind it wait for
    # it by design, and one waiting for its retry (a LINE outage) is not overdue.
    due = (
        await OutboxMessage.filter(
            Q(status__in=WAITING),
            Q(next_attempt_at__lte=at),
            id__in=claims.first_open_per_user(OutboxMessage, WAITING),
        )
        .order_by("next_attempt_at")
        .first()
        .values("next_attempt_at")
    )
    overdue = (at - due["next_attempt_at"]).total_seconds() if due else 0.0
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "inbox": {
            "unhandled": await InboxEvent.filter(status__in=UNHANDLED).count(),
            "oldest_unhandled_age_seconds": round(max(event_age, 0.0), 1),
        },
        "outbox": {
            "backlog": await OutboxMessage.filter(status__in=WAITING).count(),
            "most_overdue_seconds": round(max(overdue, 0.0), 1),
            # Dead letters and 配信状況不明: what the admin's 未配信 page lists.
            "undelivered": await OutboxMessage.filter(status__in=outbox.FOR_STAFF).count(),
        },
        "max_age_seconds": max_age_seconds,
    }
    reasons = []
    if event_age > max_age_seconds:
        reasons.append(f"未処理の受信イベントが {event_age:.0f} 秒待っています")
    if overdue > max_age_seconds:
        reasons.append(f"送信予定を {overdue:.0f} 秒過ぎたメッセージがあります")
    if reasons:
        body.update(
            status="stuck", reason="ワーカーが止まっている可能性があります: " + "、".join(reasons)
        )
    return not reasons, body


async def healthz(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    try:
        healthy, body = await report(settings.health_max_event_age_seconds)
    except Exception as exc:
        # The type only: a driver's message can carry connection details.
        log.warning("health check: database error (%s)", type(exc).__name__)
        body = {
            "status": "error",
            "database": "error",
            "reason": "データベースに接続できません",
        }
        return JSONResponse(body, status_code=503, headers={"cache-control": "no-store"})
    return JSONResponse(
        body, status_code=200 if healthy else 503, headers={"cache-control": "no-store"}
    )
