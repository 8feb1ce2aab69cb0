"""相談予約's part of a resident's data: their bookings and the history of their moves.

Erasure keeps every booking (its slot, topic, method, status and times: the desk's figures)
and empties what was said or written about it: the resident's ひとこと, the phone number,
staff's reason for a cancel or a move. An upcoming booking blocks it: staff cancel it first
on the booking's page (the slot is freed by the usual rule)."""

from __future__ import annotations

from models.consultation import Booking, BookingMove, BookingStatus
from models.residents import Resident
from shima.domain.personal_data import Erasure, ExportTable
from shima.domain.personal_data.cells import row
from shima.timeutil import format_jst, now, span_ja

BOOKING_COLUMNS = (
    "予約番号",
    "日時",
    "担当",
    "相談内容",
    "相談の方法",
    "ひとこと・メモ",
    "電話番号",
    "状態",
    "予約した人",
    "予約した日時",
    "キャンセルした日時",
    "キャンセルした人",
    "キャンセルの理由",
    "前日のお知らせを送った日時",
)
MOVE_COLUMNS = (
    "予約番号",
    "変更した日時",
    "変更前の日時",
    "変更後の日時",
    "変更前の担当",
    "変更後の担当",
    "理由",
)


async def export(resident: Resident) -> list[ExportTable]:
    bookings = await Booking.filter(resident_id=resident.id).select_related("slot").order_by("id")
    rows = [
        row(
            BOOKING_COLUMNS,
            (
                b.id,
                span_ja(b.slot.starts_at, b.slot.ends_at),
                b.slot.counsellor,
                b.topic.label,
                b.method.label,
                b.note,
                b.phone or "",
                b.status.label,
                b.booked_by.label,
                format_jst(b.created_at),
                format_jst(b.cancelled_at),
                b.cancelled_by.label,
                b.cancel_reason,
                format_jst(b.reminder_queued_at),
            ),
        )
        for b in bookings
    ]
    moves = await BookingMove.filter(booking__resident_id=resident.id).order_by("id")
    move_rows = [
        row(
            MOVE_COLUMNS,
            (
                m.booking_id,
                format_jst(m.moved_at),
                span_ja(m.from_starts_at, m.from_ends_at),
                span_ja(m.to_starts_at, m.to_ends_at),
                m.from_counsellor,
                m.to_counsellor,
                m.reason,
            ),
        )
        for m in moves
    ]
    return [
        ExportTable(
            Booking,
            "相談予約",
            rows,
            columns=BOOKING_COLUMNS,
            about="相談予約（LINE から、またはスタッフが代わりに予約したもの）",
        ),
        ExportTable(
            BookingMove,
            "相談予約の日時の変更",
            move_rows,
            columns=MOVE_COLUMNS,
            about="スタッフが相談予約の日時を変えた記録",
        ),
    ]


async def blockers(resident_id: int) -> list[str]:
    bookings = (
        await Booking.filter(
            resident_id=resident_id, status=BookingStatus.BOOKED, slot__ends_at__gt=now()
        )
        .select_related("slot")
        .order_by("slot__starts_at")
    )
    return [
        f"{span_ja(b.slot.starts_at, b.slot.ends_at)}の相談予約が残っています" for b in bookings
    ]


async def erase(e: Erasure) -> None:
    await Booking.filter(resident_id=e.resident.id).update(note="", phone=None, cancel_reason="")
    ids = await Booking.filter(resident_id=e.resident.id).values_list("id", flat=True)
    if ids:
        await BookingMove.filter(booking_id__in=list(ids)).update(reason="")
