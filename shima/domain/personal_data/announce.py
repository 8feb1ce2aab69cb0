"""お知らせ配信's part of a resident's data: the segment messages they were among the
recipients of.

A recipient row holds only ids and a status (no LINE id, no name: the batch reads the LINE id
from the resident when it goes), so erasure leaves it as it is — the figures of each send stay
— and nothing here waits: a batch not sent yet skips an erased resident when it is frozen
(line_app.announcements)."""

from __future__ import annotations

from models.announcements import (
    Announcement,
    AnnouncementBatch,
    AnnouncementRecipient,
    RecipientStatus,
)
from models.residents import Resident
from shima.domain.personal_data import Erasure, ExportTable
from shima.domain.personal_data.cells import row
from shima.timeutil import format_jst

STATUSES = {
    RecipientStatus.PENDING: "配信待ち",
    RecipientStatus.DELIVERED: "配信済み",
    RecipientStatus.FAILED: "配信できず",
    RecipientStatus.SKIPPED: "配信せず（ブロック・受け取り停止など）",
}
COLUMNS = ("お知らせ番号", "本文", "画像", "カードの見出し", "カードのリンク", "状態", "送った日時")


async def export(resident: Resident) -> list[ExportTable]:
    recipients = (
        await AnnouncementRecipient.filter(resident_id=resident.id)
        .order_by("id")
        .values("announcement_id", "batch_id", "status")
    )
    # Read apart: an announcement's row holds its image's bytes, not wanted here.
    announcements = {
        a["id"]: a
        for a in await Announcement.filter(
            id__in=list({r["announcement_id"] for r in recipients})
        ).values("id", "body", "image_token", "card_title", "card_url")
    }
    batches = list({r["batch_id"] for r in recipients})
    sent = dict(await AnnouncementBatch.filter(id__in=batches).values_list("id", "sent_at"))
    rows = []
    for r in recipients:
        a = announcements[r["announcement_id"]]
        status = RecipientStatus(r["status"])
        rows.append(
            row(
                COLUMNS,
                (
                    a["id"],
                    a["body"],
                    "あり" if a["image_token"] else "",
                    a["card_title"],
                    a["card_url"],
                    STATUSES.get(status, str(status)),
                    format_jst(sent.get(r["batch_id"]))
                    if status == RecipientStatus.DELIVERED
                    else "",
                ),
            )
        )
    return [
        ExportTable(
            AnnouncementRecipient,
            "お知らせ配信",
            rows,
            columns=COLUMNS,
            about="お送りしたお知らせ（配信の対象になったもの）",
        )
    ]


async def erase(e: Erasure) -> None:
    """Nothing to anonymise (see the module's docstring)."""
