"""Residents (LINE users): list with search by name, and a detail page.

Viewing either is recorded in the audit log (personal data).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.listing import page_of
from admin.pages import render
from models.chat import ChatMessage, ChatThread
from models.consultation import Booking
from models.course import Attendance, Registration
from models.inbox import InboxEvent
from models.market import MarketApplication
from models.outbox import OutboxMessage
from models.residents import Resident

RECENT = 20  # events and messages shown on the detail page
CHAT_PREVIEW = 5  # the latest chat messages shown there (the whole conversation: チャット)

EVENT_LABELS = {
    "follow": "友だち追加",
    "unfollow": "ブロック",
    "message": "メッセージ",
    "postback": "ボタン操作",
    "join": "グループ参加",
    "leave": "グループ退出",
    "accountLink": "アカウント連携",
    "beacon": "ビーコン",
}
OUTBOX_STATUS_LABELS = {
    "pending": "送信待ち",
    "sending": "送信中",
    "sent": "送信済み",
    "dead": "未配信",
    "unknown": "配信状況不明",
    "cancelled": "破棄",
}
SENT_VIA_LABELS = {"reply": "応答", "push": "プッシュ"}


@staff_required
async def resident_list(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()[:100]
    residents = Resident.all()
    if query:
        residents = residents.filter(display_name__icontains=query)
    page, rows = await page_of(request, residents, "-id")
    await audit.record(request, "resident.list", "resident", "", {"q": query, "page": page.number})
    return render(
        request,
        "admin/residents.html",
        {
            "residents": rows,
            "q": query,
            "page": page,
        },
        active="residents",
    )


@staff_required
async def resident_detail(request: Request) -> Response:
    resident = await Resident.get_or_none(id=request.path_params["resident_id"])
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    events = (
        await InboxEvent.filter(line_user_id=resident.line_user_id)
        .order_by("-id")
        .limit(RECENT)
        .values("event_type", "event_time")
    )
    messages = (
        await OutboxMessage.filter(line_user_id=resident.line_user_id)
        .order_by("-id")
        .limit(RECENT)
        .values("id", "kind", "status", "created_at", "sent_at", "sent_via")
    )
    bookings = (
        await Booking.filter(resident_id=resident.id)
        .select_related("slot")
        .order_by("-slot__starts_at")
        .limit(RECENT)
    )
    # 寺子屋・交流会: sign-ups, waitlist places and attendance, the latest sessions first.
    signups = (
        await Registration.filter(resident_id=resident.id)
        .select_related("session__programme")
        .order_by("-session__starts_at", "-id")
        .limit(RECENT)
    )
    attended = await Registration.filter(
        resident_id=resident.id, attendance=Attendance.PRESENT
    ).count()
    # ハンドメイドマーケット: applications (drafts included) and their results, latest first.
    market_applications = (
        await MarketApplication.filter(resident_id=resident.id)
        .select_related("market")
        .order_by("-market__starts_at", "-id")
        .limit(RECENT)
    )
    chat = list(
        reversed(
            await ChatMessage.filter(resident_id=resident.id).order_by("-id").limit(CHAT_PREVIEW)
        )
    )
    thread = await ChatThread.get_or_none(resident_id=resident.id)
    await audit.record(request, "resident.view", "resident", resident.id)
    return render(
        request,
        "admin/resident_detail.html",
        {
            "resident": resident,
            "events": events,
            "messages": messages,
            "bookings": bookings,
            "signups": signups,
            "attended": attended,
            "market_applications": market_applications,
            "chat": chat,
            "thread": thread,
            "event_labels": EVENT_LABELS,
            "status_labels": OUTBOX_STATUS_LABELS,
            "via_labels": SENT_VIA_LABELS,
        },
        active="residents",
    )
