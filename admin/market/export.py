"""CSV (Excel-ready, admin.csv_export: UTF-8 with BOM, formula cells neutralised) of a
market's accepted artists, in booth order: for the programme (出店者一覧) and the booth map.
Audited as `market.application.export`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from admin import audit
from admin.auth import staff_required
from admin.csv_export import csv_response
from admin.market.booths import accepted_of, fee_amount
from admin.market.markets import market_or_404
from admin.routing import route
from models.market import Market, MarketApplication
from shima.timeutil import JST

HEADER = (
    "ブース番号",
    "出店者名・屋号",
    "ジャンル",
    "販売するもの",
    "ブース数",
    "机・椅子の貸出",
    "電源",
    "SNS・ショップURL",
    "出店料（円）",
    "出店料の入金",
)
AUDIT_LABELS: dict[str, str] = {"market.application.export": "マーケットの出店者の CSV 出力"}


def row(market: Market, app: MarketApplication) -> tuple[object, ...]:
    paid = "入金済み" if app.fee_paid else "未入金"
    return (
        app.booth_number,
        app.artist_name,
        app.category,
        app.items,
        app.booths_requested,
        "希望" if app.needs_table else "",
        "希望" if app.needs_power else "",
        app.url,
        fee_amount(market, app),
        paid if market.booth_fee > 0 else "無料",
    )


@staff_required
async def accepted_csv(request: Request) -> Response:
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    rows = [row(market, app) for app in await accepted_of(market.id)]
    await audit.record(
        request, "market.application.export", "market", market.id, {"rows": len(rows)}
    )
    day = market.starts_at.astimezone(JST)
    return csv_response(
        f"出店者_{market.name}_{day:%Y%m%d}.csv",
        HEADER,
        rows,
        fallback=f"market_{market.id}_accepted.csv",
    )


def routes() -> list[BaseRoute]:
    return [route("/market/{market_id:id}/accepted.csv", accepted_csv, ["GET"], "market_export")]
