"""ハンドメイドマーケット's part of the admin, as its registry entry (shima.areas) uses it:
routes, the nav entry, audit labels, the dashboard's これからのマーケット part and its
事業の指標.

Markets and the review are admin.market.markets / review / photos; 結果を通知, booths, fees
and the CSV are admin.market.results / booths / export, whose routes and audit labels are
added here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from admin.market import booths, export, markets, photos, results, review
from admin.market.markets import MarketCounts, market_counts, market_state
from admin.registry import AdminArea, Card, DashboardPart, NavItem
from admin.routing import route
from models.market import ApplicationStatus, Market, MarketApplication, MarketStatus
from shima.domain import market as rules
from shima.timeutil import fiscal_year_of, jst_datetime, now, today_jst

DASHBOARD_MARKETS = 5  # markets in the dashboard's これからのマーケット

ACTION_LABELS = {
    "market.market.create": "マーケットの作成",
    "market.market.update": "マーケットの編集",
    "market.market.publish": "マーケットの公開",
    "market.market.close": "マーケットの申込み締切",
}
TARGET_LABELS = {"market": "ハンドメイドマーケット"}
TARGET_URLS = {"market": "/admin/market/{id}"}
DETAIL_LABELS = {
    "name": "マーケット名",
    "when": "開催日時",
    "booths": "ブース数",
    "market_status": "マーケットの状態",
    "fields": "変更した項目",
}
DETAIL_VALUES = {"market_status": {s.value: s.label for s in MarketStatus}}


# The parts with their own routes and audit vocabulary: the review (admin.market.review) and
# the results helper's 結果を通知, booths and fees, and the CSV.
PARTS: tuple[ModuleType, ...] = (review, results, booths, export)


# ---------- Dashboard ----------


@dataclass(frozen=True)
class MarketLine:
    """A market as the dashboard lists it: counts only, no artist's data."""

    market: Market
    counts: MarketCounts


async def dashboard_part(request: Request) -> DashboardPart:
    """これからのマーケット: published markets not held yet, soonest first — the window, the
    applications, those not decided, booths taken of all."""
    found = (
        await Market.filter(ends_at__gt=now())
        .exclude(status=MarketStatus.DRAFT)
        .order_by("starts_at", "id")
        .limit(DASHBOARD_MARKETS)
    )
    counts = await market_counts([m.id for m in found])
    return DashboardPart(
        "admin/market/_dashboard.html",
        {
            "lines": [MarketLine(m, counts[m.id]) for m in found],
            "state": market_state,
            "window_text": rules.window_text,
            "booth_rate": markets.booth_rate,
        },
    )


def fiscal_year() -> tuple[datetime, datetime]:
    """The current 年度: April 1st 00:00 JST to the next April 1st."""
    start = fiscal_year_of(today_jst())
    return jst_datetime(date(start, 4, 1)), jst_datetime(date(start + 1, 4, 1))


async def kpis() -> list[Card]:
    """事業の指標 of ハンドメイドマーケット: counts only."""
    at = now()
    open_now = await Market.filter(
        status=MarketStatus.PUBLISHED,
        applications_open_at__lte=at,
        applications_close_at__gt=at,
    ).count()
    undecided = await MarketApplication.filter(
        status=ApplicationStatus.SUBMITTED, market__ends_at__gt=at
    ).count()
    since, until = fiscal_year()
    in_year = MarketApplication.filter(market__starts_at__gte=since, market__starts_at__lt=until)
    artists = len(
        await in_year.filter(status=ApplicationStatus.ACCEPTED)
        .distinct()
        .values_list("resident_id", flat=True)
    )
    applied = await in_year.filter(submitted_at__isnull=False).count()
    return [
        Card("受付中のマーケット", open_now, "件", "/admin/market", "マーケットへ"),
        Card("審査待ちの出店申込み", undecided, "件"),
        Card("今年度の出店申込み", applied, "件"),
        Card("今年度の出店者（採択）", artists, "人"),
    ]


# ---------- Routes ----------


def routes() -> list[BaseRoute]:
    one = "/market/{market_id:id}"
    application = "/market/applications/{application_id:id}"
    return [
        route("/market", markets.market_list, ["GET"], "market"),
        route("/market/new", markets.market_new, ["GET", "POST"], "market_new"),
        # Photos before the market's own paths (all are distinct, but read in order).
        route("/market/photos/{photo_id:id}.jpg", photos.photo_full, ["GET"], "market_photo"),
        route(
            "/market/photos/{photo_id:id}/thumb.jpg",
            photos.photo_thumb,
            ["GET"],
            "market_photo_thumb",
        ),
        # LINE fetches the summary's thumbnails without a session (admin.routing.PUBLIC).
        route(
            "/market/public/{photo_id:id}-{token}.jpg",
            photos.photo_public,
            ["GET"],
            "market_photo_public",
        ),
        route(application, review.application_detail, ["GET"], "market_application"),
        route(f"{application}/score", review.score, ["POST"], "market_application_score"),
        route(
            f"{application}/return", review.send_back, ["GET", "POST"], "market_application_return"
        ),
        route(one, markets.market_detail_page, ["GET"], "market_detail"),
        route(f"{one}/edit", markets.market_edit, ["GET", "POST"], "market_edit"),
        route(f"{one}/publish", markets.market_publish, ["POST"], "market_publish"),
        route(f"{one}/close", markets.market_close, ["POST"], "market_close"),
        route(f"{one}/review", review.review, ["GET"], "market_review"),
        route(f"{one}/decide", review.decide, ["POST"], "market_decide"),
        *results.routes(),
        *booths.routes(),
        *export.routes(),
    ]


def _merged(name: str, own: Mapping[str, Any]) -> dict[str, Any]:
    """`own` with the review's and the results modules' dict of the same name."""
    merged = dict(own)
    for part in PARTS:
        for key, value in getattr(part, name, {}).items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **value}
            else:
                merged.setdefault(key, value)
    return merged


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("market", "マーケット", "/admin/market"),),
    audit_labels=_merged("AUDIT_LABELS", ACTION_LABELS),
    target_labels=_merged("TARGET_LABELS", TARGET_LABELS),
    target_urls=_merged("TARGET_URLS", TARGET_URLS),
    detail_labels=_merged("DETAIL_LABELS", DETAIL_LABELS),
    detail_values=_merged("DETAIL_VALUES", DETAIL_VALUES),
    dashboard=dashboard_part,
    kpis=kpis,
)
