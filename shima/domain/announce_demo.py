"""Demo data of お知らせ配信 (shima seed-demo): one announcement already sent to the demo
residents (LINE ids "Udemo…", made by survey_demo) with its figures — a batch sent, every
recipient delivered — and one draft for 子育て中 freelancers about a 託児付き寺子屋, ready to
preview, count and send from the admin.

Nothing here calls LINE or queues a message: the sent one is written as the delivery loop
leaves a finished send. Idempotent: each is found by its title and `created_by`."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from models.announcements import (
    Announcement,
    AnnouncementBatch,
    AnnouncementRecipient,
    AnnouncementStatus,
    BatchStatus,
    RecipientStatus,
)
from shima.domain import segments
from shima.domain.announcements import BATCH_SIZE, message_count
from shima.timeutil import now

DEMO_BY = "デモデータ"
DEMO_PREFIX = "Udemo"

SENT_TITLE = "【デモ】交流会のご案内（友だち全員）"
SENT_BODY = (
    "こんにちは、島フリーランスです。\n"
    "今月の島フリーランス交流会は、WorkStyle Lab Inno で開きます。"
    "仕事の相談や仲間づくりに、お気軽にお越しください。\n"
    "お申し込みはメニューの「寺子屋・交流会」からどうぞ。"
)
SENT_DAYS_AGO = 5

DRAFT_TITLE = "【デモ】託児付き寺子屋のご案内（子育て中の方へ）"
DRAFT_BODY = (
    "{名前}さん、こんにちは。島フリーランスです。\n"
    "次回のフリーランス寺子屋は託児付きです。お子さまを預けて、"
    "じっくり学ぶ時間をつくりませんか。託児の枠には限りがありますので、お早めにお申し込みください。"
)
DRAFT_CARD = {
    "card_title": "託児付き寺子屋",
    "card_text": "伝わる文章の書き方。託児（無料）はお申し込みのときにお知らせください。",
    "card_label": "くわしく見る",
    "card_url": "https://shima-freelance.example.jp/terakoya",
}


async def _seed_sent() -> bool:
    if await Announcement.exists(title=SENT_TITLE, created_by=DEMO_BY):
        return False
    found: list[Any] = (
        await segments.reachable()
        .filter(line_user_id__startswith=DEMO_PREFIX)
        .order_by("id")
        .values_list("id", flat=True)
    )
    ids = [int(i) for i in found]
    if not ids:
        return False  # no demo residents (survey_demo makes them first)
    at = now() - timedelta(days=SENT_DAYS_AGO)
    a = await Announcement.create(
        title=SENT_TITLE,
        body=SENT_BODY,
        audience={},
        status=AnnouncementStatus.SENT,
        send_at=at,
        created_by=DEMO_BY,
        requested_by=DEMO_BY,
        started_at=at,
        finished_at=at + timedelta(seconds=2),
        recipients=len(ids),
        delivered=len(ids),
    )
    a.messages_per_recipient = message_count(a)
    await a.save(update_fields=["messages_per_recipient"])
    for seq, start in enumerate(range(0, len(ids), BATCH_SIZE), start=1):
        chunk = ids[start : start + BATCH_SIZE]
        batch = await AnnouncementBatch.create(
            announcement=a,
            seq=seq,
            retry_key=str(uuid.uuid4()),
            status=BatchStatus.SENT,
            size=len(chunk),
            attempts=1,
            next_attempt_at=at,
            frozen_at=at,
            sent_at=at + timedelta(seconds=1),
        )
        await AnnouncementRecipient.bulk_create(
            [
                AnnouncementRecipient(
                    announcement=a, batch=batch, resident_id=rid, status=RecipientStatus.DELIVERED
                )
                for rid in chunk
            ]
        )
    return True


async def _seed_draft() -> bool:
    if await Announcement.exists(title=DRAFT_TITLE, created_by=DEMO_BY):
        return False
    await Announcement.create(
        title=DRAFT_TITLE,
        body=DRAFT_BODY,
        card_title=DRAFT_CARD["card_title"],
        card_text=DRAFT_CARD["card_text"],
        card_label=DRAFT_CARD["card_label"],
        card_url=DRAFT_CARD["card_url"],
        audience=segments.Segment(raising_children=True).to_json(),
        created_by=DEMO_BY,
    )
    return True


async def seed_demo() -> str:
    """Creates what is missing and says what it added (Japanese), "" when nothing."""
    made = int(await _seed_sent()) + int(await _seed_draft())
    return f"お知らせ配信 {made}件" if made else ""
