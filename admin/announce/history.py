"""The history of お知らせ配信: every announcement, newest first (paged), with its status in
Japanese (配信予約 with its JST time), its figures and who made it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin.announce.common import ACTIVE, LIST_OUTCOMES, staff_names, status_text
from admin.auth import staff_required
from admin.forms import flash
from admin.listing import page_of
from admin.pages import render
from models.announcements import Announcement, AnnouncementStatus

# Figures exist once recipients are fixed (配信中, 配信済み, and a refused start's count).
STARTED = (AnnouncementStatus.SENDING, AnnouncementStatus.SENT, AnnouncementStatus.REFUSED)


@staff_required
async def announcement_list(request: Request) -> Response:
    page, rows = await page_of(
        request,
        Announcement.all().only(
            "id",
            "title",
            "status",
            "send_at",
            "started_at",
            "recipients",
            "delivered",
            "failed",
            "skipped",
            "created_by",
            "created_at",
        ),
        "-id",
    )
    return render(
        request,
        "admin/announce/list.html",
        {
            "rows": rows,
            "page": page,
            "status_text": status_text,
            "started": STARTED,
            "names": await staff_names({a.created_by for a in rows}),
            "outcome": flash(request, LIST_OUTCOMES),
        },
        active=ACTIVE,
    )
