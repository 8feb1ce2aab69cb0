"""Messages not caused by a resident's event: the day-before reminder and staff notices.
Queued in the caller's transaction with a dedupe key, so each goes out exactly once."""

from __future__ import annotations

from line_app import outbox
from line_app.flows.consult_cards import HOW_TO_MEET, when
from line_app.messages import postback, postback_data, text
from models.consultation import Booking, Method, Topic
from shima import consultation as rules
from shima.settings import Settings


async def queue_due_reminders(settings: Settings) -> int:
    """Claim due reminders and queue them (call inside one transaction)."""
    bookings = await rules.claim_due_reminders(settings)
    for booking in bookings:
        method = Method(booking.method)
        await outbox.enqueue(
            booking.resident.line_user_id,
            [
                text(
                    "【明日のご相談のお知らせ】\n"
                    f"{when(booking.slot)}\n"
                    f"内容: {Topic(booking.topic).label}／方法: {method.label}\n"
                    f"{HOW_TO_MEET[method]}\n"
                    "ご都合が悪くなったときは、マイページからキャンセルできます。",
                    [postback("予約の確認", postback_data("mypage"), "予約の確認")],
                )
            ],
            kind="reminder",
            dedupe_key=f"reminder:booking:{booking.id}",
        )
    return len(bookings)


async def notify_staff_cancel(booking: Booking, reason: str) -> None:
    """Tell the resident that staff cancelled their booking, with the reason given."""
    await booking.fetch_related("slot", "resident")
    await outbox.enqueue(
        booking.resident.line_user_id,
        [
            text(
                "【ご予約キャンセルのお知らせ】\n"
                f"{when(booking.slot)} のご相談は、窓口の都合によりキャンセルとなりました。\n"
                f"理由: {reason or '（記載なし）'}\n"
                "ご迷惑をおかけして申し訳ありません。別の日時でのご予約をお待ちしています。",
                [postback("相談予約", postback_data("consult"), "相談予約")],
            )
        ],
        kind="staff_cancel",
        dedupe_key=f"staff_cancel:booking:{booking.id}",
    )


async def notify_staff_change(booking: Booking, before: str, reason: str) -> None:
    """Tell the resident that staff moved their booking."""
    await booking.fetch_related("slot", "resident")
    await outbox.enqueue(
        booking.resident.line_user_id,
        [
            text(
                "【ご予約変更のお知らせ】\n"
                f"{before} のご相談は、窓口の都合により次の日時に変更となりました。\n"
                f"新しい日時: {when(booking.slot)}\n"
                f"理由: {reason or '（記載なし）'}\n"
                "ご都合が合わないときは、マイページからキャンセルできます。",
                [postback("予約の確認", postback_data("mypage"), "予約の確認")],
            )
        ],
        kind="staff_change",
    )


async def notify_staff_booking(booking: Booking) -> None:
    """Confirm on LINE a booking staff made for the resident (by phone or at the desk)."""
    await booking.fetch_related("slot", "resident")
    method = Method(booking.method)
    await outbox.enqueue(
        booking.resident.line_user_id,
        [
            text(
                "【ご予約のお知らせ】\n"
                "窓口でご予約を承りました。\n"
                f"日時: {when(booking.slot)}\n"
                f"内容: {Topic(booking.topic).label}／方法: {method.label}\n"
                f"{HOW_TO_MEET[method]}\n"
                "ご都合が悪くなったときは、マイページからキャンセルできます。",
                [postback("予約の確認", postback_data("mypage"), "予約の確認")],
            )
        ],
        kind="staff_booking",
        dedupe_key=f"staff_booking:booking:{booking.id}",
    )
