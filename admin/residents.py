"""Residents (LINE users): list with search by name and filter by tag, and a detail page
(with the profile and the tags: admin.profiles edits them).

Viewing either is recorded in the audit log (personal data).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import Flash, flash, short_text
from admin.listing import page_of
from admin.pages import render
from models.chat import ChatMessage, ChatThread
from models.consultation import Booking
from models.course import Attendance, Registration
from models.inbox import InboxEvent
from models.market import MarketApplication
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import data_requests, profiles

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
# The detail page's message after a profile or tag change (admin.profiles redirects here).
OUTCOMES: dict[str, Flash] = {
    "profile_saved": ("success", "プロフィールを保存しました。"),
    "profile_unchanged": ("success", "プロフィールに変更はありませんでした。"),
    "tag_added": ("success", "タグを付けました。"),
    "tag_exists": ("warning", "そのタグはすでに付いています。"),
    "tag_removed": ("success", "タグを外しました。"),
    "tag_gone": ("warning", "そのタグはすでに外されています。"),
}


@staff_required
async def resident_list(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()[:100]
    tag = short_text(request.query_params, "tag", profiles.TAG_MAX)
    residents = Resident.all()
    if query:
        residents = residents.filter(display_name__icontains=query)
    if tag:
        residents = residents.filter(tags__tag=tag)
    page, rows = await page_of(request, residents, "-id")
    await audit.record(
        request, "resident.list", "resident", "", {"q": query, "tag": tag, "page": page.number}
    )
    return render(
        request,
        "admin/residents.html",
        {
            "residents": rows,
            "q": query,
            "tag": tag,
            "tags": await profiles.tags_by_resident([r.id for r in rows]),
            "known_tags": await profiles.tags_in_use(),
            "page": page,
        },
        active="residents",
    )


@staff_required
async def resident_detail(request: Request) -> Response:
    resident = await Resident.get_or_none(id=request.path_params["resident_id"])
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    return await detail_page(request, resident)


async def detail_page(
    request: Request,
    resident: Resident,
    *,
    tag_errors: list[str] | None = None,
    tag_value: str = "",
) -> Response:
    """The resident's page (audited as a view); with `tag_errors`, the tag form refused
    `tag_value` and the page says why (400)."""
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
    tags = await profiles.tags_of(resident.id)
    # 個人データ: open requests about their data (the page for them: admin.privacy).
    open_requests = await data_requests.open_requests(resident.id)
    await audit.record(request, "resident.view", "resident", resident.id)
    return render(
        request,
        "admin/resident_detail.html",
        {
            "resident": resident,
            "profile_fields": profiles.describe(await profiles.profile_of(resident.id)),
            "tags": tags,
            "suggested_tags": [t for t in profiles.SUGGESTED_TAGS if t not in tags],
            "tag_errors": tag_errors or [],
            "tag_value": tag_value,
            "tag_max": profiles.TAG_MAX,
            "outcome": None if tag_errors else flash(request, OUTCOMES),
            "events": events,
            "messages": messages,
            "bookings": bookings,
            "signups": signups,
            "attended": attended,
            "market_applications": market_applications,
            "chat": chat,
            "thread": thread,
            "open_requests": [data_requests.KIND_LABELS[r.kind] for r in open_requests],
            "event_labels": EVENT_LABELS,
            "status_labels": OUTBOX_STATUS_LABELS,
            "via_labels": SENT_VIA_LABELS,
        },
        status_code=400 if tag_errors else 200,
        active="residents",
    )
