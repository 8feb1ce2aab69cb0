"""What the お知らせ配信 pages share: paths, the statuses in Japanese, the flash messages, the
announcement of the path, what the audit log keeps of one, and the nonce of a two-step form
(a double submit acts once)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.errors import error_page
from admin.forms import Flash
from models.announcements import Announcement, AnnouncementStatus
from models.audit import AuditLog
from models.staff import StaffUser
from shima.domain.announcements import STATUS_LABELS
from shima.timeutil import WEEKDAYS_JA, format_jst, now, to_jst

PATH = "/admin/announcements"
ACTIVE = "announce"  # the nav entry (admin/announce/area.py)
NONCE_HOURS = 24  # a form's nonce is looked up among this many hours of audit entries
DUE_LABEL = "配信待ち（まもなく開始）"

CREATE = "announce.message.create"
UPDATE = "announce.message.update"
SEND = "announce.message.send"
APPROVE = "announce.message.approve"
CANCEL = "announce.message.cancel"
DELETE = "announce.message.delete"

OUTCOMES: dict[str, Flash] = {
    "created": (
        "success",
        "下書きを保存しました。プレビューと通数を確かめてから配信してください。",
    ),
    "saved": ("success", "下書きを保存しました。"),
    "copied": ("success", "複製して新しい下書きを作りました。内容を確かめてから配信してください。"),
    "scheduled": ("success", "配信を予約しました。予約した時刻になると順に送られます。"),
    "now": ("success", "配信を受け付けました。まもなく配信が始まります。"),
    "awaiting": (
        "warning",
        "配信する人数が多いため、管理者の承認待ちになりました。承認されると配信されます。",
    ),
    "approved": ("success", "承認しました。予約した時刻（過ぎていれば今すぐ）に配信されます。"),
    "cancelled": ("success", "配信を取り消しました。誰にも送られていません。"),
    "already": ("warning", "この操作はすでに受け付けています（二重には行っていません）。"),
    "not_draft": (
        "warning",
        "下書きではないため、編集できません。内容を変えるには複製してください。",
    ),
}


LIST_OUTCOMES: dict[str, Flash] = {
    "deleted": ("success", "下書きを削除しました。"),
}


def status_label(a: Announcement) -> str:
    """The status in Japanese (the rules' words, as their refusals use them)."""
    return STATUS_LABELS.get(AnnouncementStatus(a.status), str(a.status))


def is_due(a: Announcement) -> bool:
    """Waiting and its time has come: a 今すぐ send, or a scheduled time that passed while it
    waited for approval. Its time says nothing to staff any more: it goes out next."""
    return a.send_at is not None and a.send_at <= now()


def status_text(a: Announcement) -> str:
    """The status as the list and the page show it: 配信予約 with its JST time; a send
    whose time has come as 配信待ち (a 今すぐ send read 「配信予約（いまの時刻）」)."""
    label = status_label(a)
    if a.status not in (AnnouncementStatus.SCHEDULED, AnnouncementStatus.AWAITING_APPROVAL):
        return label
    if is_due(a):
        return DUE_LABEL if a.status == AnnouncementStatus.SCHEDULED else label
    if a.send_at is not None:
        return f"{label}（{format_jst(a.send_at, '%m/%d %H:%M')}）"
    return label


def when_text(at: datetime | None) -> str:
    """`2026/12/05(土) 10:00` (JST): a send's time, with its weekday, as staff choose it."""
    if at is None:
        return ""
    local = to_jst(at)
    return f"{local:%Y/%m/%d}({WEEKDAYS_JA[local.weekday()]}) {local:%H:%M}"


def page_path(a_id: int) -> str:
    return f"{PATH}/{a_id}"


def to_page(a_id: int, outcome: str = "") -> Response:
    query = f"?{urlencode({'done': outcome})}" if outcome else ""
    return RedirectResponse(page_path(a_id) + query, status_code=303)


def to_list(outcome: str = "") -> Response:
    query = f"?{urlencode({'done': outcome})}" if outcome else ""
    return RedirectResponse(PATH + query, status_code=303)


async def announcement_or_404(request: Request) -> Announcement | Response:
    found = await Announcement.get_or_none(id=request.path_params["announcement_id"])
    if found is None:
        return error_page(request, 404, title="お知らせが見つかりません")
    return found


def audit_detail(a: Announcement, **more: Any) -> dict[str, Any]:
    """What the audit log keeps of an announcement: its title (staff's own words, not sent)
    and counts — never a resident's name or text."""
    return {"title": a.title, **more}


async def nonce_used(action: str, nonce: str, target_id: int | None = None) -> int | None:
    """The announcement an entry of `action` with this form's nonce was recorded for (a
    double submit), None when the nonce is new."""
    entries = AuditLog.filter(action=action, created_at__gte=now() - timedelta(hours=NONCE_HOURS))
    if target_id is not None:
        entries = entries.filter(target_type="announcement", target_id=str(target_id))
    for target, detail in await entries.values_list("target_id", "detail"):
        if isinstance(detail, dict) and detail.get("nonce") == nonce and str(target).isdigit():
            return int(target)
    return None


async def staff_names(emails: set[str]) -> dict[str, str]:
    """Staff's display names by email (the rows keep the email)."""
    rows = await StaffUser.filter(email__in=list(emails)).values_list("email", "display_name")
    return {str(email): str(name) for email, name in rows if name}
