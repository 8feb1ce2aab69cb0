"""寺子屋・交流会 notices — pushes no event of the resident caused — and the worker's jobs.
Everything is queued in the caller's transaction via line_app.outbox.enqueue with a dedupe
key, so each message goes out exactly once.
The admin calls the staff actions here (domain rule + the resident told, in one transaction);
the LINE flow calls `tell` with the Outcome of a resident's action."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from line_app import outbox
from line_app.flows import card_parts as parts
from line_app.flows.card_parts import CORAL, SEA
from line_app.flows.course_cards import children_text
from line_app.messages import Action, Message, flex, postback, postback_data, text
from models.course import Programme, ProgrammeSession, Registration, RegistrationStatus
from models.residents import Resident
from shima.domain import course as rules
from shima.settings import Settings
from shima.timeutil import format_date_ja, format_jst, span_ja

FLOW = "course"
RATINGS = {1: "不満", 2: "やや不満", 3: "ふつう", 4: "満足", 5: "とても満足"}
CAN_CANCEL = "ご都合が悪くなったときは、マイページからキャンセルできます。"
# The admin's nonce becomes part of a dedupe key (≤ 128 characters in all).
NONCE_MAX = 48


# -- pieces -------------------------------------------------------------------------------


def _at(value: datetime) -> str:
    """「5月7日(水) 20:00」."""
    return f"{format_date_ja(value)} {format_jst(value, '%H:%M')}"


def _stamp(value: datetime | None) -> str:
    """A time in a dedupe key (to the microsecond, as stored)."""
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S%f") if value else "-"


def _courses() -> Action:
    return postback("寺子屋・交流会", postback_data(FLOW), "寺子屋・交流会")


def _title(programme: Programme) -> str:
    return f"{programme.kind.label}「{programme.title}」"


def _place(session: ProgrammeSession, with_url: bool = False) -> str:
    if not session.online:
        return session.venue
    if with_url and session.online_url:
        return f"オンライン（{session.online_url}）"
    return "オンライン（URLは前日までにこのトークでお送りします）"


def _childcare(reg: Registration) -> str:
    if reg.children <= 0:
        return ""
    return "お子さま" + children_text(reg.children, reg.children_ages)


def _rows(reg: Registration, with_url: bool = False) -> list[dict[str, Any]]:
    session = reg.session
    rows = [
        parts.row("内容", _title(session.programme)),
        parts.row("日時", span_ja(session.starts_at, session.ends_at)),
        parts.row("場所", _place(session, with_url)),
        parts.row("参加費", session.programme.fee_text),
    ]
    if reg.children > 0:
        rows.append(parts.row("託児", _childcare(reg)))
    return rows


def _card(
    alt: str, heading: str, lead: str, reg: Registration, buttons: list[Action], note: str = ""
) -> Message:
    """A notice's bubble: heading, the message, the session's rows, a footnote, buttons."""
    return flex(
        alt,
        parts.bubble(
            heading,
            SEA,
            _rows(reg, with_url=True),
            buttons,
            button_colour=CORAL,
            lead=[parts.paragraph(lead)],
            footnote=note,
        ),
    )


async def _load(reg: Registration) -> bool:
    """Load what a notice shows (session, programme, resident); False for a walk-in or a
    resident no longer on file (nobody to tell)."""
    if reg.resident_id is None:
        return False
    missing = []
    session = reg.session
    if not (isinstance(session, ProgrammeSession) and isinstance(session.programme, Programme)):
        missing.append("session__programme")
    if not isinstance(reg.resident, Resident):
        missing.append("resident")
    if missing:  # the rules usually loaded them already
        await reg.fetch_related(*missing)
    return isinstance(reg.resident, Resident)


async def _push(reg: Registration, messages: list[Message], kind: str, dedupe_key: str) -> int:
    assert reg.resident is not None  # loaded by _load (or select_related)
    rows = await outbox.enqueue(
        reg.resident.line_user_id, messages, kind=kind, dedupe_key=dedupe_key
    )
    return 1 if rows else 0


def _nonce(nonce: str) -> str:
    if len(nonce) <= NONCE_MAX and nonce.isascii() and ":" not in nonce:
        return nonce
    return hashlib.sha256(nonce.encode()).hexdigest()[:NONCE_MAX]


# -- the waitlist's messages --------------------------------------------------------------


def offer_message(reg: Registration, settings: Settings) -> Message:
    """A single offer (the seat held until `offer_expires_at`) or an everyone-at-once one."""
    programme = reg.session.programme
    buttons = [
        postback(
            "参加する", postback_data(FLOW, "offer_yes", r=reg.id), "キャンセル待ち: 参加する"
        ),
        postback("辞退する", postback_data(FLOW, "offer_no", r=reg.id), "キャンセル待ち: 辞退する"),
    ]
    if reg.status == RegistrationStatus.OFFERED:
        deadline = _at(reg.offer_expires_at) if reg.offer_expires_at else "お早め"
        held = "お席" + ("と託児の枠" if reg.children > 0 else "")
        lead = (
            f"キャンセル待ちに登録いただいていた{_title(programme)}に空きが出ました。"
            f"{held}をお取りしています。\n"
            f"{deadline}までにお返事ください。"
        )
        note = (
            "期限を過ぎると、次にお待ちの方にご案内します"
            f"（{settings.offer_quiet_from_hour}時〜翌{settings.offer_quiet_until_hour}時は"
            "期限が止まります）。"
        )
    else:
        lead = (
            f"キャンセル待ちに登録いただいていた{_title(programme)}に空きが出ました。\n"
            "開催が近いため、キャンセル待ちの皆さまに同時にお知らせしています。"
            "先着順で、最初に「参加する」を押した方にご参加いただけます。"
        )
        note = "参加されない場合は「辞退する」を押すと、キャンセル待ちから外れます。"
    return _card(
        f"キャンセル待ちのお知らせ: {programme.title} に空きが出ました",
        "キャンセル待ちのお知らせ",
        lead,
        reg,
        buttons,
        note,
    )


def taken_message(reg: Registration) -> Message:
    programme = reg.session.programme
    return text(
        "【キャンセル待ちのお知らせ】\n"
        f"先ほどご案内した{_title(programme)}"
        f"（{span_ja(reg.session.starts_at, reg.session.ends_at)}）の空き席は、"
        "ほかの方のお申し込みで埋まりました。お知らせしたばかりで、申し訳ありません。\n"
        "引き続きキャンセル待ちに登録されていますので、また空きが出たらお知らせします。",
        [parts.mypage_action()],
    )


def expired_message(reg: Registration) -> Message:
    programme = reg.session.programme
    deadline = f"（{_at(reg.offer_expires_at)}）" if reg.offer_expires_at else ""
    return text(
        "【キャンセル待ちのお知らせ】\n"
        f"{_title(programme)}（{span_ja(reg.session.starts_at, reg.session.ends_at)}）の"
        f"ご案内は、お返事の期限{deadline}が過ぎたため、次にお待ちの方にお譲りしました。\n"
        "この回のキャンセル待ちからは外れています。ご登録いただきありがとうございました。"
        "またのお申し込みをお待ちしています。",
        [_courses()],
    )


def _offer_key(reg: Registration) -> str:
    if reg.status == RegistrationStatus.OFFERED:
        return f"course_offer:{reg.id}:{_stamp(reg.offered_at)}"
    return f"course_open_offer:{reg.id}:{_stamp(reg.open_offer_at)}"


async def tell(outcome: rules.Outcome, settings: Settings) -> int:
    """Queue the pushes an Outcome asks for: each offer (single: 参加する/辞退する with its
    deadline; everyone-at-once: first come), each `taken` (kindly: the seat went to someone
    else, you stay on the waitlist), each `expired`. Returns how many were queued."""
    queued = 0
    for reg in outcome.offers:
        if await _load(reg):
            queued += await _push(
                reg, [offer_message(reg, settings)], "course_offer", _offer_key(reg)
            )
    winner = outcome.registration.id if outcome.registration else "-"
    for reg in outcome.taken:
        if await _load(reg):
            # One per everyone-at-once offer: who took the seat names the round.
            key = f"course_taken:{reg.id}:{winner}:{_stamp(reg.open_offer_at)}"
            queued += await _push(reg, [taken_message(reg)], "course_taken", key)
    for reg in outcome.expired:
        if await _load(reg):
            key = f"course_expired:{reg.id}:{_stamp(reg.offered_at)}"
            queued += await _push(reg, [expired_message(reg)], "course_expired", key)
    return queued


# -- the worker's jobs (shima.areas), each run inside one transaction --------------------


async def run_offers(settings: Settings) -> int:
    """rules.run_offers + tell (outside the overnight pause rules.run_offers sends nothing)."""
    return await tell(await rules.run_offers(settings), settings)


def reminder_message(reg: Registration, settings: Settings) -> Message:
    session = reg.session
    programme = session.programme
    lines = [
        f"明日は{_title(programme)}です。"
        + ("" if session.online else "お気をつけてお越しください。")
    ]
    if session.online and not session.online_url:
        lines.append("オンライン参加のURLは、開始までにこのトークでお送りします。")
    if reg.children > 0:
        lines.append("託児をご利用の方は、当日お子さまと一緒に受付でお声がけください。")
    lines.append(CAN_CANCEL)
    return _card(
        f"明日の寺子屋・交流会のお知らせ: {programme.title}",
        "明日の寺子屋・交流会のお知らせ",
        "\n".join(lines),
        reg,
        [
            postback("チェックイン", postback_data(FLOW, "checkin", r=reg.id), "チェックイン"),
            parts.mypage_action(),
        ],
        f"当日は開始{settings.course_checkin_minutes}分前から、"
        "「チェックイン」ボタンで受付ができます。",
    )


async def queue_due_reminders(settings: Settings) -> int:
    """The day-before reminder (rules.claim_due_reminders), exactly once per registration."""
    queued = 0
    for reg in await rules.claim_due_reminders(settings):
        if await _load(reg):
            queued += await _push(
                reg,
                [reminder_message(reg, settings)],
                "course_reminder",
                f"course_reminder:{reg.id}",
            )
    return queued


def followup_message(reg: Registration) -> Message:
    programme = reg.session.programme
    rates = [
        postback(
            f"{value} {label}",
            postback_data(FLOW, "rate", r=reg.id, v=value),
            f"満足度: {value}（{label}）",
        )
        for value, label in RATINGS.items()
    ]
    rates.append(postback("感想を書く", postback_data(FLOW, "comment", r=reg.id), "感想を書く"))
    return text(
        "【ご参加ありがとうございました】\n"
        f"{_title(programme)}（{span_ja(reg.session.starts_at, reg.session.ends_at)}）に"
        "ご参加いただき、ありがとうございました。\n"
        "今後の企画の参考にさせてください。満足度を1〜5でお選びください"
        "（5がいちばん満足です）。ご感想は「感想を書く」からお聞かせください。",
        rates,
    )


async def queue_due_followups(settings: Settings) -> int:
    """After the session, attendees get one push: 満足度 1–5 buttons (and a comment prompt)."""
    queued = 0
    for reg in await rules.claim_due_followups(settings):
        if await _load(reg):
            queued += await _push(
                reg, [followup_message(reg)], "course_followup", f"course_followup:{reg.id}"
            )
    return queued


# -- staff actions, called by the admin inside its transaction ---------------------------


def _reason(reason: str) -> str:
    return f"理由: {reason.strip()}\n" if reason.strip() else ""


async def cancel_by_staff(registration_id: int, reason: str, settings: Settings) -> Registration:
    """rules.cancel_by_staff; the resident is told with the reason; the Outcome is told."""
    before = await Registration.get_or_none(id=registration_id)
    was_waiting = before is not None and before.status in (
        RegistrationStatus.WAITING,
        RegistrationStatus.OFFERED,
    )
    outcome = await rules.cancel_by_staff(registration_id, reason, settings)
    reg = outcome.registration
    if reg is None:  # the rules always name it; nothing to tell otherwise
        reg = await Registration.get(id=registration_id)
    if await _load(reg):
        what = "キャンセル待ちのご登録" if was_waiting else "お申し込み"
        await _push(
            reg,
            [
                text(
                    "【お申し込みキャンセルのお知らせ】\n"
                    f"{_title(reg.session.programme)}"
                    f"（{span_ja(reg.session.starts_at, reg.session.ends_at)}）の{what}は、"
                    "キャンセルとなりました。\n"
                    + _reason(reason)
                    + "ご不明な点は、このトークでお気軽にお問い合わせください。",
                    [_courses()],
                )
            ],
            "course_staff_cancel",
            f"course_staff_cancel:{reg.id}",
        )
    await tell(outcome, settings)
    return reg


async def promote(registration_id: int, settings: Settings) -> Registration:
    """rules.promote; the resident is told they now have a seat."""
    outcome = await rules.promote(registration_id, settings)
    reg = outcome.registration or await Registration.get(id=registration_id)
    if await _load(reg):
        await _push(
            reg,
            [
                _card(
                    f"お申し込みが確定しました: {reg.session.programme.title}",
                    "お申し込みが確定しました",
                    "キャンセル待ちに登録いただいていた回に、ご参加いただけることになりました"
                    "（事務局で繰り上げました）。",
                    reg,
                    [parts.mypage_action()],
                    "前日にこのLINEでお知らせします。" + CAN_CANCEL,
                )
            ],
            "course_promote",
            f"course_promote:{reg.id}",
        )
    await tell(outcome, settings)
    return reg


async def cancel_session(session_id: int, reason: str) -> int:
    """rules.cancel_session; everyone registered or waiting is told. Returns how many."""
    told = 0
    for reg in await rules.cancel_session(session_id, reason):
        if not await _load(reg):
            continue
        told += await _push(
            reg,
            [
                text(
                    "【中止のお知らせ】\n"
                    f"{_title(reg.session.programme)}"
                    f"（{span_ja(reg.session.starts_at, reg.session.ends_at)}）は、"
                    "中止となりました。楽しみにしていただいていたのに、申し訳ありません。\n"
                    + _reason(reason)
                    + "お申し込み・キャンセル待ちのご登録は取り消しました。"
                    "ほかの回は「寺子屋・交流会」からご覧いただけます。",
                    [_courses()],
                )
            ],
            "course_session_cancel",
            f"course_session_cancel:{reg.id}",
        )
    return told


def _registered(session_id: int) -> Any:
    return Registration.filter(
        session_id=session_id,
        status=RegistrationStatus.REGISTERED,
        resident_id__isnull=False,
        resident__is_following=True,
    )


async def recipients(session_id: int) -> int:
    """How many pushes `message_registered` would send (registered residents who follow the
    account; walk-ins and blocked residents excluded) — shown to staff before sending."""
    return int(await _registered(session_id).count())


async def message_registered(session_id: int, body: str, nonce: str) -> int:
    """Push `body` to every registered resident (e.g. a room change); `nonce` (the form's)
    makes a double submit send once. Returns how many were queued."""
    if not body.strip():
        return 0
    session = await ProgrammeSession.get(id=session_id).prefetch_related("programme")
    heading = (
        f"【{_title(session.programme)}"
        f"（{span_ja(session.starts_at, session.ends_at)}）についてのお知らせ】\n"
    )
    key = _nonce(nonce)
    queued = 0
    for reg in await _registered(session_id).select_related("resident").order_by("id"):
        queued += await _push(
            reg,
            [text(heading + body.strip(), [parts.mypage_action()])],
            "course_message",
            f"course_message:{key}:{reg.id}",
        )
    return queued
