"""After the results, per market: the accepted artists with their booth numbers (a simple
list, saved all at once; a number already given to another artist is refused with the
rule's Japanese message and the typed numbers kept), the fee paid / unpaid per artist with
the payment deadline (overdue highlighted), withdrawing an artist (with a reason, asked
first: the booth is freed and the first 補欠 gets an offer through
line_app.notices.market.withdrawn_by_staff), the 補欠 in their order with any open offer,
and a printable booth list (print CSS: no navigation, no buttons).

The rules live in shima.domain.market; this module translates forms into calls to them.
Every view and change is audited."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.forms import flash, form_text, too_long, typed_text
from admin.market.markets import ACTIVE, market_or_404
from admin.market.results import application_or_404, booths_path, market_facts
from admin.pages import render
from admin.routing import route
from admin.sessions import settings_of
from line_app.notices import market as market_notices
from models.market import ApplicationStatus, Market, MarketApplication, MarketStatus
from shima.domain import market as rules
from shima.domain.offers import is_quiet
from shima.timeutil import today_jst

REASON_MAX = rules.REASON_MAX
BOOTH_MAX = rules.BOOTH_NUMBER_MAX
WITHDRAWABLE = (
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.OFFERED,
    ApplicationStatus.RESERVE,
)
ENDED = (ApplicationStatus.WITHDRAWN, ApplicationStatus.DECLINED, ApplicationStatus.EXPIRED)

AUDIT_LABELS: dict[str, str] = {
    "market.booths.view": "マーケットのブース・出店料の閲覧",
    "market.booth_list.view": "マーケットのブース一覧（印刷用）の閲覧",
    "market.booths.update": "マーケットのブース番号の保存",
    "market.fee.update": "マーケットの出店料の入金記録",
    "market.application.withdraw": "マーケットの出店の取り下げ（スタッフ）",
}
DETAIL_LABELS: dict[str, str] = {
    "market": "マーケット",
    "changed": "変更した件数",
    "fee": "出店料",
    "reason_chars": "理由の文字数",
    "application_status": "申込みの状態",
    "offered": "繰り上げ案内",
}
DETAIL_VALUES: dict[str, dict[str, str]] = {
    "fee": {"paid": "入金済み", "unpaid": "未入金"},
    "application_status": {s.value: s.label for s in ApplicationStatus},
}

NOT_DELIVERED = (
    "この出店者は LINE をブロック中のため、お知らせは届きません（電話などでお伝えください）。"
)
OUTCOMES: dict[str, tuple[str, str]] = {
    "saved": ("success", "ブース番号を保存しました。"),
    "unchanged": ("success", "ブース番号に変更はありませんでした。"),
    "paid": ("success", "入金済みにしました。"),
    "unpaid": ("success", "未入金に戻しました。"),
    "withdrawn": ("success", "取り下げにし、出店者に LINE でお知らせしました。"),
    "withdrawn_offered": (
        "success",
        "取り下げにし、出店者に LINE でお知らせしました。"
        "空いたブースは、補欠の1番目の方に LINE でご案内しました（回答期限つき）。",
    ),
    "withdrawn_later": (
        "success",
        "取り下げにし、出店者に LINE でお知らせしました。いまは夜間のため、空いたブースは"
        "朝になってから補欠の方に順に LINE でご案内します（回答期限つき）。",
    ),
    "withdrawn_blocked": ("warning", "取り下げにしました。" + NOT_DELIVERED),
    "stale": (
        "warning",
        "このお申し込みはすでに取り下げられたか状態が変わったため、操作できませんでした。"
        "最新の一覧を確認してください。",
    ),
}


# ---------- the lists ----------


def booth_order(app: MarketApplication) -> tuple[object, ...]:
    """Booth numbers in natural order (A-2 before A-10), unnumbered last, then by name."""
    number = app.booth_number
    parts = tuple(
        (0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", number) if p
    )
    return (number == "", parts, app.artist_name, app.id)


def fee_amount(market: Market, app: MarketApplication) -> int:
    return market.booth_fee * max(app.booths_requested, 1)


def overdue(market: Market, app: MarketApplication, today: date) -> bool:
    return bool(
        market.booth_fee > 0
        and market.fee_due_on is not None
        and market.fee_due_on < today
        and not app.fee_paid
    )


async def accepted_of(market_id: int) -> list[MarketApplication]:
    rows = await MarketApplication.filter(
        market_id=market_id, status=ApplicationStatus.ACCEPTED
    ).select_related("resident")
    return sorted(rows, key=booth_order)


async def _booths_page(
    request: Request,
    market: Market,
    *,
    error: str = "",
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    accepted = await accepted_of(market.id)
    today = today_jst()
    ended = (
        await MarketApplication.filter(market_id=market.id, status__in=ENDED)
        .select_related("resident")
        .order_by("-updated_at", "-id")
    )
    return render(
        request,
        "admin/market/booths.html",
        {
            **market_facts(market),
            "page": "booths",
            "accepted": accepted,
            "reserves": await rules.reserves(market.id),
            "ended": ended,
            "overdue": {a.id for a in accepted if overdue(market, a, today)},
            "fees": {a.id: fee_amount(market, a) for a in accepted},
            "paid_count": sum(1 for a in accepted if a.fee_paid),
            "numbered": sum(1 for a in accepted if a.booth_number),
            "outcome": flash(request, OUTCOMES),
            "error": error,
            "values": values or {},
            "booth_max": BOOTH_MAX,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def booths(request: Request) -> Response:
    """GET: the page; POST: save every booth number at once."""
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    if request.method == "POST":
        return await _save_booths(request, market)
    await audit.record(request, "market.booths.view", "market", market.id)
    return await _booths_page(request, market)


async def _save_booths(request: Request, market: Market) -> Response:
    form = await request.form()
    accepted = await accepted_of(market.id)
    fields = {f"booth_{a.id}": a for a in accepted}
    typed = {name: typed_text(form, name) for name in fields}
    over = too_long(
        form, {name: (f"{a.name}のブース番号", BOOTH_MAX) for name, a in fields.items()}
    )
    if over:
        return await _booths_page(request, market, error=over[0], values=typed, status_code=400)
    # Only the market's accepted artists are read: a field of another id is ignored.
    wanted = {
        a.id: form_text(form, name, BOOTH_MAX)
        for name, a in fields.items()
        if name in form and form_text(form, name, BOOTH_MAX) != a.booth_number
    }
    if not wanted:
        return to_booths(market.id, "unchanged")
    try:
        async with in_transaction():
            # Changed numbers are cleared first, so two artists may swap numbers.
            for app_id in wanted:
                await rules.set_booth(app_id, "")
            for app_id, number in wanted.items():
                if number:
                    await rules.set_booth(app_id, number)
            await audit.record(
                request, "market.booths.update", "market", market.id, {"changed": len(wanted)}
            )
    except rules.MarketError as exc:
        return await _booths_page(request, market, error=exc.message, values=typed, status_code=400)
    return to_booths(market.id, "saved")


def to_booths(market_id: int, outcome: str, anchor: str = "") -> Response:
    target = f"{booths_path(market_id)}?done={outcome}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(target, status_code=303)


# ---------- fees ----------


@staff_required
async def fee(request: Request) -> Response:
    """入金済み / 未入金 for one accepted artist (`paid` = 1 or 0)."""
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    app = await application_or_404(request, market)
    if isinstance(app, Response):
        return app
    form = await request.form()
    paid = form_text(form, "paid", 1) == "1"
    try:
        async with in_transaction():
            await rules.set_fee_paid(app.id, paid)
            await audit.record(
                request,
                "market.fee.update",
                "market_application",
                app.id,
                {"market": market.id, "fee": "paid" if paid else "unpaid"},
            )
    except rules.MarketError:
        return to_booths(market.id, "stale")
    return to_booths(market.id, "paid" if paid else "unpaid", f"a{app.id}")


# ---------- withdraw (the reason asked first) ----------


def _withdraw_page(
    request: Request,
    market: Market,
    app: MarketApplication,
    *,
    error: str = "",
    reason: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/market/withdraw.html",
        {
            **market_facts(market),
            "application": app,
            "error": error,
            "reason": reason,
            "reason_max": REASON_MAX,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def withdraw(request: Request) -> Response:
    """取り下げ on a row: first the question with the reason field; with `confirm=yes` and a
    reason, the artist is withdrawn and told, and a freed booth offered (one transaction)."""
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    app = await application_or_404(request, market)
    if isinstance(app, Response):
        return app
    if app.status not in WITHDRAWABLE:
        return to_booths(market.id, "stale")
    form = await request.form()
    typed = typed_text(form, "reason")
    if form_text(form, "confirm", 3) != "yes":
        return _withdraw_page(request, market, app, reason=typed)
    over = too_long(form, {"reason": ("取り下げの理由", REASON_MAX)})
    reason = "" if over else form_text(form, "reason", REASON_MAX)
    if over or not reason:
        return _withdraw_page(
            request,
            market,
            app,
            error=over[0]
            if over
            else "取り下げの理由を入力してください。理由は出店者への LINE のお知らせに載ります。",
            reason=typed,
            status_code=400,
        )
    try:
        async with in_transaction():
            outcome = await market_notices.withdrawn_by_staff(app.id, reason, settings_of(request))
            await audit.record(
                request,
                "market.application.withdraw",
                "market_application",
                app.id,
                {
                    "market": market.id,
                    "application_status": app.status.value,
                    "reason_chars": len(reason),  # never the text: it is about the artist
                    "offered": len(outcome.offers),
                },
            )
    except rules.MarketError:
        return to_booths(market.id, "stale")
    if not app.resident.is_following:
        return to_booths(market.id, "withdrawn_blocked")
    if outcome.offers:
        return to_booths(market.id, "withdrawn_offered")
    if await _offer_waits_for_morning(market, app, request):
        return to_booths(market.id, "withdrawn_later")
    return to_booths(market.id, "withdrawn")


async def _offer_waits_for_morning(
    market: Market, app: MarketApplication, request: Request
) -> bool:
    """Whether the booth just freed goes to a 補欠 later, not now: nothing is offered during
    the overnight pause (the worker offers it in the morning), so staff are told it will be."""
    if app.status != ApplicationStatus.ACCEPTED or market.status != MarketStatus.RESULTS_SENT:
        return False
    if not is_quiet(settings_of(request), rules.now()):  # the rules' clock
        return False
    return await MarketApplication.filter(
        market_id=market.id, status=ApplicationStatus.RESERVE, result_notified_at__isnull=False
    ).exists()


# ---------- the printable booth list ----------


@staff_required
async def booth_list(request: Request) -> Response:
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    accepted = await accepted_of(market.id)
    await audit.record(
        request, "market.booth_list.view", "market", market.id, {"rows": len(accepted)}
    )
    return render(
        request,
        "admin/market/booth_list.html",
        {
            **market_facts(market),
            "accepted": accepted,
            "fees": {a.id: fee_amount(market, a) for a in accepted},
            "booths_used": sum(a.booths_requested for a in accepted),
        },
        active=ACTIVE,
    )


def routes() -> list[BaseRoute]:
    base = "/market/{market_id:id}/booths"
    one = base + "/{application_id:id}"
    return [
        route(base, booths, ["GET", "POST"], "market_booths"),
        route(base + "/print", booth_list, ["GET"], "market_booth_list"),
        route(one + "/fee", fee, ["POST"], "market_fee"),
        route(one + "/withdraw", withdraw, ["POST"], "market_withdraw"),
    ]
