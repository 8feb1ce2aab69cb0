"""結果を通知, per market: how many applications are 採択 / 補欠 / 不採択 and how many are still
undecided (a warning: they are not told), the staff's message, and the cost shown first
(N通 = N messages of the monthly quota). The send is two steps — the message checked with
the cost and a fresh nonce, then sent — and a nonce already used (a double submit) sends
nothing. Each applicant is told once (line_app.notices.market.send_results: the domain's
claim and the pushes in one transaction), audited as `market.results.send`.

The helpers at the top (an application of the path's market, the header facts) are shared
by the after-results pages (admin.market.booths, admin.market.export)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import NONCE, flash, form_text, new_nonce, parse_int, too_long, typed_text
from admin.market.markets import ACTIVE, MARKETS_PATH, market_or_404, market_state
from admin.pages import render
from admin.routing import route
from admin.sessions import settings_of
from line_app.notices import market as market_notices
from models.audit import AuditLog
from models.market import ApplicationStatus, Market, MarketApplication, MarketStatus
from shima.domain import market as rules

MARKET_PATH = MARKETS_PATH + "/{id}"
MESSAGE_MAX = market_notices.MESSAGE_MAX
SEND_ACTION = "market.results.send"

UNDECIDED = (ApplicationStatus.SUBMITTED, ApplicationStatus.RETURNED)

AUDIT_LABELS: dict[str, str] = {
    "market.results.view": "マーケットの結果通知画面の閲覧",
    SEND_ACTION: "マーケットの結果の通知（LINE）",
}
DETAIL_LABELS: dict[str, str] = {
    "applicants": "通知した応募者",
    "pushes": "送信数",
    "blocked": "ブロック中（届かない）",
    "nonce": "送信の確認番号",
}

OUTCOMES: dict[str, tuple[str, str]] = {
    "sent": ("success", "結果を LINE で通知しました。"),
    "sent_again": (
        "warning",
        "この結果通知はすでに送信済みです（二重送信は行っていません）。",
    ),
    "sent_none": ("warning", "まだ結果を知らせていない応募者がいないため、何も送っていません。"),
}


# ---------- the market from the path, the header (shared by booths and export) ----------


async def application_or_404(request: Request, market: Market) -> MarketApplication | Response:
    """The path's application, only if it belongs to the path's market (a forged id of
    another market is not found)."""
    application = await MarketApplication.get_or_none(
        id=request.path_params["application_id"], market_id=market.id
    ).select_related("resident", "market")
    if application is None:
        return error_page(request, 404, title="出店申込みが見つかりません")
    return application


def market_path(market_id: int) -> str:
    return MARKET_PATH.format(id=market_id)


def results_path(market_id: int) -> str:
    return market_path(market_id) + "/results"


def booths_path(market_id: int) -> str:
    return market_path(market_id) + "/booths"


def market_facts(market: Market) -> dict[str, object]:
    """What the header of the after-results pages shows (the tabs between them)."""
    return {
        "market": market,
        "state": market_state,
        "market_path": market_path(market.id),
        "review_path": market_path(market.id) + "/review",
        "results_path": results_path(market.id),
        "booths_path": booths_path(market.id),
        "print_path": booths_path(market.id) + "/print",
        "csv_path": market_path(market.id) + "/accepted.csv",
    }


# ---------- counts ----------


@dataclass(frozen=True)
class Counts:
    accepted: int
    reserve: int
    rejected: int
    undecided: int  # 審査中 and 差し戻し: not told by 結果を通知
    told: int  # decided and already told

    @property
    def decided(self) -> int:
        return self.accepted + self.reserve + self.rejected

    @classmethod
    async def of(cls, market_id: int) -> Counts:
        rows = await MarketApplication.filter(market_id=market_id).values_list(
            "status", "result_notified_at"
        )
        status = Counter(str(s) for s, _ in rows)
        return cls(
            accepted=status[ApplicationStatus.ACCEPTED.value],
            reserve=status[ApplicationStatus.RESERVE.value],
            rejected=status[ApplicationStatus.REJECTED.value],
            undecided=sum(status[s.value] for s in UNDECIDED),
            told=sum(1 for _, told in rows if told is not None),
        )


def closed_for_results(market: Market) -> str:
    """Why results cannot be sent yet ("" when they can): the rule's own check runs at the
    send; this only keeps the button from inviting a refusal."""
    if market.status == MarketStatus.DRAFT:
        return "下書きのマーケットです。公開して申込みを受け付け、審査してから結果を通知します。"
    if market.status == MarketStatus.PUBLISHED and rules.is_open(market):
        return (
            "申込みの受付期間中です。締切にしてから（受付期間が終わってから）結果を通知できます。"
        )
    return ""


async def undecided_names(market_id: int) -> list[MarketApplication]:
    return list(
        await MarketApplication.filter(market_id=market_id, status__in=UNDECIDED)
        .order_by("submitted_at", "id")
        .limit(50)
    )


async def _results_page(
    request: Request,
    market: Market,
    *,
    error: str = "",
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    due = await rules.pending_results(market.id)
    return render(
        request,
        "admin/market/results.html",
        {
            **market_facts(market),
            "page": "results",
            "counts": await Counts.of(market.id),
            "cost": await market_notices.results_cost(market.id),
            "blocked": [a for a in due if not a.resident.is_following],
            "undecided": await undecided_names(market.id),
            "closed_reason": closed_for_results(market),
            "outcome": flash(request, OUTCOMES),
            "sent_count": parse_int(request.query_params.get("n")),
            "error": error,
            "values": values or {},
            "message_max": MESSAGE_MAX,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def results(request: Request) -> Response:
    """GET: the page; POST: the send's two steps (one route, so a refused form comes back
    as this page)."""
    if request.method == "POST":
        return await results_send(request)
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    await audit.record(request, "market.results.view", "market", market.id)
    return await _results_page(request, market)


async def _nonce_used(market_id: int, nonce: str) -> bool:
    """Whether a 結果を通知 with this form's nonce was sent (a double submit)."""
    sent = await AuditLog.filter(
        action=SEND_ACTION, target_type="market", target_id=str(market_id)
    ).values_list("detail", flat=True)
    return any(isinstance(d, dict) and d.get("nonce") == nonce for d in sent)


async def results_send(request: Request) -> Response:
    """Step 1 (no `confirm`): the message checked and shown with the cost, with a fresh
    nonce. Step 2 (`confirm=yes` + the nonce): every decided applicant not yet told is told
    once; a nonce already used sends nothing."""
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    form = await request.form()
    typed = typed_text(form, "body")
    if form_text(form, "edit", 3) == "yes":  # 戻って直す: the page with the text kept
        return await _results_page(request, market, values={"body": typed})
    over = too_long(form, {"body": ("メッセージ", MESSAGE_MAX)})
    if over:
        return await _results_page(
            request, market, error=over[0], values={"body": typed}, status_code=400
        )
    body = form_text(form, "body", MESSAGE_MAX)
    nonce = form_text(form, "nonce", 64)
    confirmed = form_text(form, "confirm", 3) == "yes" and NONCE.fullmatch(nonce)
    if not confirmed:
        cost = await market_notices.results_cost(market.id)
        return render(
            request,
            "admin/market/results_confirm.html",
            {
                **market_facts(market),
                "body": body,
                "cost": cost,
                "counts": await Counts.of(market.id),
                "closed_reason": closed_for_results(market),
                "nonce": new_nonce(),
            },
            active=ACTIVE,
        )
    staff = request.state.staff
    try:
        async with in_transaction():
            if await _nonce_used(market.id, nonce):
                return RedirectResponse(f"{results_path(market.id)}?done=sent_again", 303)
            told = await market_notices.send_results(
                market.id, body, staff.id, settings_of(request)
            )
            if told.applicants:  # nothing claimed (sent before): nothing recorded
                await audit.record(
                    request,
                    SEND_ACTION,
                    "market",
                    market.id,
                    {
                        "applicants": told.applicants,
                        "pushes": told.pushes,
                        "blocked": told.applicants - told.pushes,
                        "nonce": nonce,
                    },
                )
    except rules.MarketError as exc:
        return await _results_page(
            request, market, error=exc.message, values={"body": typed}, status_code=409
        )
    if not told.applicants:
        done = "sent_again" if (await Counts.of(market.id)).told else "sent_none"
        return RedirectResponse(f"{results_path(market.id)}?done={done}", status_code=303)
    return RedirectResponse(f"{results_path(market.id)}?done=sent&n={told.pushes}", status_code=303)


def routes() -> list[BaseRoute]:
    return [route("/market/{market_id:id}/results", results, ["GET", "POST"], "market_results")]
