"""相談予約 notices — messages no event of the resident caused: the day-before reminder, and
staff's cancel, move and 代理予約. Queued in the caller's transaction with a dedupe key, so
each goes out exactly once. The admin calls these (never a conversation flow)."""

from __future__ import annotations

from line_app import outbox
from line_app.flows.consult_cards import HOW_TO_MEET, when
from line_app.messages import Action, postback, postback_data, text
from models.consultation import Booking, BookingMove, BookingStatus, ConsultationSlot, Method, Topic
from models.residents import Resident
from models.staff import StaffUser
from shima.domain import consultation as rules
from shima.settings import Settings
from shima.timeutil import span_ja

CAN_CANCEL = "ご都合が悪くなったときは、マイページからキャンセルできます。"


def _see_bookings() -> Action:
    return postback("予約の確認", postback_data("mypage"), "予約の確認")


def _reason(reason: str) -> str:
    """The reason staff gave, as its own line; nothing when none was given (the notice never
    guesses whose wish it was: a move may be the resident's own request by phone)."""
    return f"理由: {reason.strip()}\n" if reason.strip() else ""


def _what_and_how(booking: Booking) -> str:
    method = Method(booking.method)
    return f"内容: {Topic(booking.topic).label}／方法: {method.label}\n{HOW_TO_MEET[method]}\n"


async def _notify(
    booking: Booking, body: str, button: Action, kind: str, once: bool = True
) -> None:
    """Push `body` to the booking's resident (loaded); with `once`, at most once per
    booking and kind."""
    await outbox.enqueue(
        booking.resident.line_user_id,
        [text(body, [button])],
        kind=kind,
        dedupe_key=f"{kind}:booking:{booking.id}" if once else None,
    )


async def queue_due_reminders(settings: Settings) -> int:
    """Claim due reminders and queue them (call inside one transaction)."""
    bookings = await rules.claim_due_reminders(settings)
    for booking in bookings:
        await _notify(
            booking,
            "【明日のご相談のお知らせ】\n"
            f"{when(booking.slot)}\n" + _what_and_how(booking) + CAN_CANCEL,
            _see_bookings(),
            "reminder",
        )
    return len(bookings)


async def notify_staff_cancel(booking: Booking, reason: str) -> None:
    """Tell the resident that staff cancelled their booking, with the reason given."""
    await booking.fetch_related("slot", "resident")
    await _notify(
        booking,
        "【ご予約キャンセルのお知らせ】\n"
        f"{when(booking.slot)} のご予約は、キャンセルとなりました。\n"
        + _reason(reason)
        + "別の日時でのご相談は「相談予約」からどうぞ。",
        postback("相談予約", postback_data("consult"), "相談予約"),
        "staff_cancel",
    )


def counsellor_change(before: str, after: str) -> str:
    """The notice's line about a changed counsellor ("" when it stays the same)."""
    if before == after:
        return ""
    if not after:
        return f"担当: {before} から変更になります（担当者は追ってお知らせします）。\n"
    if not before:
        return f"担当: {after}\n"
    return f"担当: {before} から {after} に変わります。\n"


async def notify_staff_change(
    booking: Booking, before: str, reason: str, counsellor_before: str | None = None
) -> None:
    """Tell the resident that staff moved their booking (a slot may move more than once);
    with `counsellor_before`, a changed counsellor is named."""
    await booking.fetch_related("slot", "resident")
    who = (
        counsellor_change(counsellor_before, booking.slot.counsellor)
        if counsellor_before is not None
        else ""
    )
    await _notify(
        booking,
        "【ご予約変更のお知らせ】\n"
        "ご予約の日時が次のとおり変更になりました。\n"
        f"変更前: {before}\n"
        f"新しい日時: {when(booking.slot)}\n"
        f"{who}" + _reason(reason) + "ご都合が合わないときは、マイページからキャンセルできます。",
        _see_bookings(),
        "staff_change",
        once=False,
    )


async def notify_staff_booking(booking: Booking) -> None:
    """Confirm on LINE a booking staff made for the resident (by phone or at the desk)."""
    await booking.fetch_related("slot", "resident")
    await _notify(
        booking,
        "【ご予約のお知らせ】\n"
        "窓口でご予約を承りました。\n"
        f"日時: {when(booking.slot)}\n"
        + (f"担当: {booking.slot.counsellor}\n" if booking.slot.counsellor else "")
        + _what_and_how(booking)
        + CAN_CANCEL,
        _see_bookings(),
        "staff_booking",
    )


async def cancel_by_staff(booking_id: int, reason: str) -> Booking:
    """Staff cancel a booking and the resident is told why (call inside a transaction, so
    both happen or neither). Raises BookingError."""
    booking = await rules.cancel_by_staff(booking_id, reason)
    await notify_staff_cancel(booking, reason)
    return booking


async def move_by_staff(
    booking_id: int,
    target_slot_id: int,
    reason: str,
    settings: Settings,
    by: StaffUser | None = None,
) -> BookingMove:
    """Staff move a booking to another slot (the same booking, with a history line) and the
    resident hears of the new time and a changed counsellor (call inside a transaction).
    Returns the move (its `booking` loaded); raises BookingError when the target cannot
    take it."""
    move = await rules.move_by_staff(booking_id, target_slot_id, reason, settings, by)
    before = span_ja(move.from_starts_at, move.from_ends_at)
    await notify_staff_change(move.booking, before, reason, move.from_counsellor)
    return move


async def book_by_staff(
    resident: Resident, request: rules.BookingRequest, settings: Settings
) -> Booking:
    """代理予約: book for the resident and confirm it to them on LINE."""
    booking = await rules.book(resident, request, settings)
    await notify_staff_booking(booking)
    return booking


async def slot_moved(
    slot_id: int,
    before: ConsultationSlot,
    reason: str,
    by: StaffUser | None = None,
) -> int:
    """A booked slot's time changed (`before`: the slot as it was): its bookings get a
    reminder for the new time and a line in their move history, and each resident is told.
    Returns how many were told."""
    await rules.slot_rescheduled(slot_id, before, reason, by)
    bookings = await Booking.filter(slot_id=slot_id, status=BookingStatus.BOOKED).order_by("id")
    for booking in bookings:
        await notify_staff_change(
            booking, span_ja(before.starts_at, before.ends_at), reason, before.counsellor
        )
    return len(bookings)
