"""ハンドメイドマーケット pushes no event of the artist caused: the results (結果を通知), a
差し戻し, 補欠 offers of a freed booth and their expiry, and a staff withdrawal. Queued through
the outbox in the caller's transaction, each with a dedupe key, so each goes out once.

The admin calls `send_results`, `sent_back` and `withdrawn_by_staff` (domain rule + the
artist told, in its transaction); the LINE flow calls `tell` with the Outcome of an artist's
action (withdraw, decline an offer); the worker's job is `run_offers`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from line_app import outbox
from line_app.flows import card_parts as parts
from line_app.flows.card_parts import CORAL, MUTED, SEA
from line_app.messages import Action, Message, flex, postback, postback_data, text
from models.market import ApplicationStatus, Market, MarketApplication
from models.residents import Resident
from shima.domain import market as rules
from shima.settings import Settings
from shima.timeutil import WEEKDAYS_JA, format_date_ja, format_jst, span_ja

FLOW = "market"
# The postbacks of a 補欠 offer (answered by line_app.flows.market): `a` = application id.
OFFER_YES, OFFER_NO = "offer_yes", "offer_no"
# A nonce becomes part of a dedupe key (≤ 128 characters in all).
NONCE_MAX = 48
MESSAGE_MAX = 1000  # the staff's message with the results (the admin's textarea)
GREEN = "#2E7D5B"

HEADINGS = {
    ApplicationStatus.ACCEPTED: "出店決定のお知らせ",
    ApplicationStatus.RESERVE: "選考結果のお知らせ（補欠）",
    ApplicationStatus.REJECTED: "選考結果のお知らせ",
}


# -- pieces -------------------------------------------------------------------------------


def _at(value: datetime) -> str:
    """「5月7日(水) 20:00」 in JST."""
    return f"{format_date_ja(value)} {format_jst(value, '%H:%M')}"


def _day(value: date) -> str:
    """「6月1日(月)」."""
    return f"{value.month}月{value.day}日({WEEKDAYS_JA[value.weekday()]})"


def _stamp(value: datetime | None) -> str:
    """A time in a dedupe key (to the microsecond, as stored)."""
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S%f") if value else "-"


def _nonce(nonce: str) -> str:
    if len(nonce) <= NONCE_MAX and nonce.isascii() and ":" not in nonce:
        return nonce
    return hashlib.sha256(nonce.encode()).hexdigest()[:NONCE_MAX]


def _markets() -> Action:
    return postback("ハンドメイドマーケット", postback_data(FLOW), "ハンドメイドマーケット")


def _title(market: Market) -> str:
    return f"「{market.name}」"


def fee_text(app: MarketApplication) -> str:
    """「1ブース 3,000円 × 2ブース = 6,000円」 or 「無料」."""
    market = app.market
    if market.booth_fee <= 0:
        return "無料"
    booths = max(app.booths_requested, 1)
    if booths == 1:
        return f"{market.booth_fee:,}円（1ブース）"
    return f"{market.booth_fee * booths:,}円（1ブース {market.booth_fee:,}円 × {booths}ブース）"


# The rows' labels are at most 4 characters: a card on a phone cuts longer ones (「マーケ…」).
def _market_rows(market: Market, label: str = "申込先") -> list[dict[str, Any]]:
    """The market (「出店先」 once a booth is theirs), its day and venue."""
    return [
        parts.row(label, market.name),
        parts.row("日時", span_ja(market.starts_at, market.ends_at)),
        parts.row("会場", market.venue),
    ]


def _booth_rows(app: MarketApplication, *, with_number: bool) -> list[dict[str, Any]]:
    market = app.market
    booths = f"{app.booths_requested}ブース"
    if with_number:
        number = app.booth_number or "後日お知らせします"
        booths += f"（ブース番号: {number}）" if app.booth_number else f"（番号は{number}）"
    rows = [
        parts.row("出店者名", app.artist_name),
        parts.row("ブース", booths),
        parts.row("出店料", fee_text(app)),
    ]
    if market.booth_fee > 0:
        due = f"{_day(market.fee_due_on)}まで" if market.fee_due_on else "後日お知らせします"
        rows.append(parts.row("支払期限", due))
    return rows


def _staff_block(message: str) -> dict[str, Any]:
    """The staff's own words, set apart under 「事務局より」."""
    return {
        "type": "box",
        "layout": "vertical",
        "margin": "md",
        "paddingAll": "md",
        "backgroundColor": "#F3F6F8",
        "cornerRadius": "md",
        "contents": [
            {"type": "text", "text": "事務局より", "size": "xs", "color": MUTED},
            {"type": "text", "text": message, "size": "sm", "wrap": True, "margin": "sm"},
        ],
    }


async def _load(app: MarketApplication) -> bool:
    """Load what a notice shows (market, resident); False when the resident cannot be told
    (no longer on file)."""
    missing: list[str] = []
    if not isinstance(app.market, Market):
        missing.append("market")
    if not isinstance(app.resident, Resident):
        missing.append("resident")
    if missing:  # the rules usually loaded them already
        await app.fetch_related(*missing)
    return isinstance(app.resident, Resident)


async def _push(app: MarketApplication, messages: list[Message], kind: str, key: str) -> int:
    rows = await outbox.enqueue(app.resident.line_user_id, messages, kind=kind, dedupe_key=key)
    return 1 if rows else 0


# -- the results (結果を通知) -----------------------------------------------------------------


def result_message(app: MarketApplication, message: str, settings: Settings) -> Message:
    """One applicant's result with the staff's message: 採択 (fee, payment deadline, booth
    number if known), 補欠 (what it means), 不採択 (kindly)."""
    market = app.market
    staff = [_staff_block(message.strip())] if message.strip() else []
    status = ApplicationStatus(app.status)
    if status == ApplicationStatus.ACCEPTED:
        lead = (
            f"{_title(market)}へのお申し込みありがとうございました。"
            "選考の結果、ご出店いただけることになりました（採択）。"
        )
        if market.booth_fee > 0:
            lead += "出店料はお支払い期限までにお納めください。"
        return flex(
            f"ハンドメイドマーケット: {market.name} への出店が決まりました",
            parts.bubble(
                HEADINGS[status],
                GREEN,
                _market_rows(market, "出店先") + _booth_rows(app, with_number=True),
                [parts.mypage_action()],
                button_colour=CORAL,
                lead=[parts.paragraph(lead), *staff],
                footnote="出店できなくなったときは、お早めにこのトークでお知らせください。"
                "ブース番号はマイページの「出店申込」でもご確認いただけます。",
            ),
        )
    if status == ApplicationStatus.RESERVE:
        hours = f"{settings.market_offer_hours:g}"
        lead = (
            f"{_title(market)}へのお申し込みありがとうございました。"
            "選考の結果、今回は「補欠」となりました。\n"
            "採択された方の出店取りやめなどでブースが空いた場合、補欠の方に順番に、"
            "このLINEでご案内します。ご案内には「出店する」「辞退する」のボタンがあり、"
            f"お返事の期限（ご案内から{hours}時間。"
            f"{settings.offer_quiet_from_hour}時〜翌{settings.offer_quiet_until_hour}時は"
            "期限が止まります）を過ぎると次の方にご案内します。"
        )
        return flex(
            f"ハンドメイドマーケット: {market.name} の選考結果（補欠）",
            parts.bubble(
                HEADINGS[status],
                SEA,
                _market_rows(market) + [parts.row("出店者名", app.artist_name)],
                [parts.mypage_action()],
                button_colour=CORAL,
                lead=[parts.paragraph(lead), *staff],
                footnote="ブースが空かなかった場合は、ご案内はありません。あらかじめご了承ください。",
            ),
        )
    lead = (
        f"{_title(market)}にお申し込みいただき、ありがとうございました。"
        "たくさんのお申し込みをいただき、ブースの数やジャンルのバランスを考えて慎重に選考した"
        "結果、誠に残念ながら、今回はご出店いただけないこととなりました。\n"
        "作品を拝見できて、とてもうれしかったです。次回のマーケットにも、ぜひお申し込みください。"
    )
    return flex(
        f"ハンドメイドマーケット: {market.name} の選考結果",
        parts.bubble(
            HEADINGS.get(status, "選考結果のお知らせ"),
            SEA,
            _market_rows(market) + [parts.row("出店者名", app.artist_name)],
            [_markets()],
            button_colour=CORAL,
            lead=[parts.paragraph(lead), *staff],
        ),
    )


def _told(app: MarketApplication) -> bool:
    """Whether a result push can reach the artist (a blocked account is not pushed to)."""
    return isinstance(app.resident, Resident) and app.resident.is_following


@dataclass(frozen=True)
class ResultsCost:
    """What 結果を通知 would do now, shown to staff before sending."""

    applicants: int  # decided and not yet told
    pushes: int  # pushes sent (= messages of the monthly quota): blocked accounts excluded
    blocked: int  # decided, not told, and blocking the account: not pushed to


async def results_cost(market_id: int) -> ResultsCost:
    due = await rules.pending_results(market_id)
    pushes = sum(1 for app in due if _told(app))
    return ResultsCost(len(due), pushes, len(due) - pushes)


@dataclass(frozen=True)
class Told:
    """What one 結果を通知 did."""

    applicants: int  # claimed: marked as told (blocked accounts included)
    pushes: int  # pushes queued (messages of the monthly quota)


async def send_results(market_id: int, message: str, staff_id: int, settings: Settings) -> Told:
    """結果を通知: `rules.claim_results` marks every decided applicant not yet told as told,
    and each gets one push (their result with the staff's `message`) in the caller's
    transaction: a crash rolls both back, a second call claims nobody, and the dedupe key
    `market_result:<application id>` refuses a second row anyway. Artists blocking the
    account are claimed but not pushed to (staff see them first, see `results_cost`).
    `staff_id` is who sent them (recorded by the caller's audit entry)."""
    claimed = await rules.claim_results(market_id)
    pushes = 0
    for app in claimed:
        if await _load(app) and _told(app):
            pushes += await _push(
                app,
                [result_message(app, message, settings)],
                "market_result",
                f"market_result:{app.id}",
            )
    return Told(len(claimed), pushes)


# -- 差し戻し ---------------------------------------------------------------------------------


async def sent_back(app: MarketApplication, message: str, nonce: str = "") -> int:
    """The artist asked to fix their application (after rules.send_back), with the staff's
    message. `nonce` (the form's) makes a double submit tell once; without one, the
    application's `returned_at` names this 差し戻し."""
    if not await _load(app):
        return 0
    market = app.market
    # A 差し戻し may come after the window closed (it can still be fixed then): a date
    # already past is not given as the deadline.
    by = f"{_at(market.applications_close_at)}までに" if rules.is_open(market) else "お早めに"
    body = (
        "【出店申込の差し戻し】\n"
        f"{_title(market)}へのお申し込みについて、事務局から修正のお願いがあります。\n\n"
        f"{message.strip()}\n\n"
        "マイページの出店申込にある「修正して再提出」から内容を直して、"
        f"{by}「再提出する」を押してください。"
    )
    key = f"market_returned:{app.id}:{_nonce(nonce) if nonce else _stamp(app.returned_at)}"
    return await _push(app, [text(body, [parts.mypage_action()])], "market_returned", key)


# -- 補欠 offers --------------------------------------------------------------------------------


def offer_message(app: MarketApplication, settings: Settings) -> Message:
    """A freed booth held for a 補欠 until `offer_expires_at`: 出店する / 辞退する."""
    market = app.market
    deadline = _at(app.offer_expires_at) if app.offer_expires_at else "お早め"
    buttons = [
        postback("出店する", postback_data(FLOW, OFFER_YES, a=app.id), "補欠のご案内: 出店する"),
        postback("辞退する", postback_data(FLOW, OFFER_NO, a=app.id), "補欠のご案内: 辞退する"),
    ]
    lead = (
        f"補欠としてお待ちいただいていた{_title(market)}で、ブースに空きが出ました。"
        "ブースをお取りしています。\n"
        f"{deadline}までに「出店する」か「辞退する」でお返事ください。"
    )
    return flex(
        f"ハンドメイドマーケット: {market.name} のブースに空きが出ました",
        parts.bubble(
            "補欠のご案内（ブースに空きが出ました）",
            SEA,
            _market_rows(market, "出店先") + _booth_rows(app, with_number=False),
            buttons,
            button_colour=CORAL,
            lead=[parts.paragraph(lead)],
            footnote="期限を過ぎると、次の補欠の方にご案内します"
            f"（{settings.offer_quiet_from_hour}時〜翌{settings.offer_quiet_until_hour}時は"
            "期限が止まります）。",
        ),
    )


def expired_message(app: MarketApplication) -> Message:
    market = app.market
    deadline = f"（{_at(app.offer_expires_at)}）" if app.offer_expires_at else ""
    return text(
        "【補欠のご案内について】\n"
        f"{_title(market)}のブースのご案内は、お返事の期限{deadline}が過ぎたため、"
        "次の補欠の方にお譲りしました。\n"
        "お待ちいただき、ありがとうございました。次回のマーケットにも、ぜひお申し込みください。",
        [_markets()],
    )


async def tell(outcome: rules.Outcome, settings: Settings) -> int:
    """Queue the pushes an Outcome asks for: each offer (出店する / 辞退する with its deadline
    in JST) and each expiry. Returns how many were queued."""
    queued = 0
    for app in outcome.offers:
        if await _load(app):
            key = f"market_offer:{app.id}:{_stamp(app.offered_at)}"
            queued += await _push(app, [offer_message(app, settings)], "market_offer", key)
    for app in outcome.expired:
        if await _load(app):
            key = f"market_expired:{app.id}:{_stamp(app.offered_at)}"
            queued += await _push(app, [expired_message(app)], "market_expired", key)
    return queued


async def run_offers(settings: Settings) -> int:
    """The worker's job: expire lapsed 補欠 offers, offer freed booths (rules.run_offers),
    and tell each artist. Returns the pushes queued."""
    return await tell(await rules.run_offers(settings), settings)


# -- staff withdrawal ---------------------------------------------------------------------------


async def withdrawn_by_staff(app_id: int, reason: str, settings: Settings) -> rules.Outcome:
    """rules.withdraw_by_staff (a booth freed goes to the first 補欠): the artist is told with
    the reason (a decision not yet told is not revealed: 「お申し込み」), and the Outcome's
    offers are told. Returns the Outcome (its `offers`: who was offered the booth)."""
    before = await MarketApplication.filter(id=app_id).values_list("status", "result_notified_at")
    outcome = await rules.withdraw_by_staff(app_id, reason, settings)
    app = outcome.application or await MarketApplication.get(id=app_id)
    was, told = (str(before[0][0]), before[0][1] is not None) if before else ("", False)
    if not told and was != ApplicationStatus.OFFERED:  # the result is not theirs to learn here
        what = "お申し込み"
    elif was == ApplicationStatus.ACCEPTED:
        what = "ご出店（採択）"
    elif was in (ApplicationStatus.RESERVE, ApplicationStatus.OFFERED):
        what = "補欠のご登録"
    else:
        what = "お申し込み"
    if await _load(app):
        why = f"理由: {reason.strip()}\n" if reason.strip() else ""
        market = app.market
        await _push(
            app,
            [
                text(
                    "【出店申込の取り下げのお知らせ】\n"
                    f"{_title(market)}（{span_ja(market.starts_at, market.ends_at)}）への"
                    f"{what}は、事務局で取り下げの手続きをしました。\n"
                    + why
                    + "ご不明な点は、このトークでお気軽にお問い合わせください。",
                    [parts.mypage_action()],
                )
            ],
            "market_staff_withdraw",
            f"market_staff_withdraw:{app.id}",
        )
    await tell(outcome, settings)
    return outcome
