"""The dashboard: headline counts, then each area's part (from the registry), with room for
the KPI cards later areas add."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin import registry
from admin.auth import staff_required
from admin.pages import render
from admin.registry import Card
from line_app import outbox
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.timeutil import jst_datetime, now, today_jst


async def headline_cards() -> list[Card]:
    friends = await Resident.filter(is_following=True).count()
    new_today = await Resident.filter(first_followed_at__gte=jst_datetime(today_jst())).count()
    dead = await OutboxMessage.filter(status__in=outbox.FOR_STAFF).count()
    return [
        Card("友だち数", friends, "人", "/admin/residents", "利用者一覧へ"),
        Card("今日の新規", new_today, "人"),
        Card("未配信メッセージ", dead, "件", "/admin/undelivered", "確認する", alert=dead > 0),
    ]


@staff_required
async def dashboard(request: Request) -> Response:
    # 事業の指標: each area's cards (AdminArea.kpis); areas not built yet are named as planned.
    areas = registry.of(request)
    return render(
        request,
        "admin/dashboard.html",
        {
            "cards": await headline_cards(),
            "kpi_cards": await areas.kpi_cards(),
            "planned": areas.planned,
            "today": now(),
            "parts": await areas.dashboard_parts(request),
        },
        active="dashboard",
    )
