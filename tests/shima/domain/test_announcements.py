"""shima.domain.announcements: what a message may hold, the steps from draft to sent (each a
compare-and-set: a double submit or a stale form changes nothing), the quota check and the
batches fixed at the start, and the figures counted from the recipient rows."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.announcements import (
    Announcement,
    AnnouncementBatch,
    AnnouncementRecipient,
    AnnouncementStatus,
    BatchStatus,
    RecipientStatus,
)
from models.profiles import ResidentTag
from models.residents import Resident
from shima.domain import announce_demo, course_demo, segments, survey_demo
from shima.domain import announcements as rules
from shima.domain.announcements import AnnouncementError
from shima.domain.segments import Segment
from shima.settings import Settings

DRAFT = AnnouncementStatus.DRAFT
AWAITING = AnnouncementStatus.AWAITING_APPROVAL
SCHEDULED = AnnouncementStatus.SCHEDULED
SENDING = AnnouncementStatus.SENDING
SENT = AnnouncementStatus.SENT
CANCELLED = AnnouncementStatus.CANCELLED
REFUSED = AnnouncementStatus.REFUSED
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def form(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "交流会のご案内",
        "body": "今月の交流会のお知らせです。",
        "card_title": "",
        "card_text": "",
        "card_label": "",
        "card_url": "",
        "has_image": False,
    }
    return values | changes


async def people(n: int, prefix: str = "Upeople", **extra: Any) -> list[int]:
    await Resident.bulk_create(
        [Resident(line_user_id=f"{prefix}{i:026d}", **extra) for i in range(n)], batch_size=1_000
    )
    found = await Resident.filter(line_user_id__startswith=prefix).order_by("id")
    return [r.id for r in found]


async def draft(**fields: Any) -> Announcement:
    values: dict[str, Any] = {"title": "交流会のご案内", "body": "今月の交流会のお知らせです。"}
    return await Announcement.create(**(values | fields))


async def scheduled(**fields: Any) -> Announcement:
    values: dict[str, Any] = {"status": SCHEDULED, "send_at": datetime.now(UTC)}
    return await draft(**(values | fields))


async def status_of(a_id: int) -> AnnouncementStatus:
    return (await Announcement.get(id=a_id)).status


@pytest.fixture
def small(settings: Settings) -> Settings:
    """More than two recipients waits for an admin's approval."""
    return replace(settings, announce_approval_over=2)


# ---------- What a message may hold ----------


def test_a_plain_text_message_has_no_problems() -> None:
    assert rules.problems(**form()) == {}
    assert rules.problems(**form(body="{名前}さん、" + "あ" * (rules.BODY_MAX - 7))) == {}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"title": "  "}, {"title": "管理用のタイトルを入力してください。"}),
        ({"title": "t" * 101}, {"title": "タイトルは100文字以内で入力してください。"}),
        ({"body": ""}, {"body": "本文・画像・カードのいずれかを入れてください。"}),
        ({"body": " \n "}, {"body": "本文・画像・カードのいずれかを入れてください。"}),
        (
            {"body": "あ" * 4_901},
            {"body": "本文は4,900文字以内で入力してください（いま4,901文字）。"},
        ),
        (
            {"card_label": "申し込む"},
            {
                "card_title": "カードを付けるときは、カードの見出しを入力してください。",
                "card_url": "カードを付けるときは、リンク先の URL を入力してください。",
            },
        ),
        (
            {"card_title": "寺子屋", "card_label": "申し込む", "card_url": "http://example.jp/a"},
            {"card_url": "リンク先は https:// で始まる URL を入力してください。"},
        ),
        (
            {"card_title": "寺子屋", "card_label": "申し込む", "card_url": "javascript:alert(1)"},
            {"card_url": "リンク先は https:// で始まる URL を入力してください。"},
        ),
        (
            {"card_title": "寺子屋", "card_label": "申し込む", "card_url": "https://例え.jp/"},
            {"card_url": "リンク先は https:// で始まる URL を入力してください。"},
        ),
        (
            {"card_title": "寺子屋", "card_label": "申し込む", "card_url": "https://a b.jp/"},
            {"card_url": "リンク先は https:// で始まる URL を入力してください。"},
        ),
        (
            {
                "card_title": "見" * 41,
                "card_text": "説" * 161,
                "card_label": "ボ" * 21,
                "card_url": "https://example.jp/" + "a" * 1_000,
            },
            {
                "card_title": "カードの見出しは40文字以内で入力してください。",
                "card_text": "カードの説明は160文字以内で入力してください。",
                "card_label": "ボタンの文字は20文字以内で入力してください。",
                "card_url": "リンク先の URL は1,000文字以内で入力してください。",
            },
        ),
    ],
)
def test_problems_per_field(changes: dict[str, Any], expected: dict[str, str]) -> None:
    assert rules.problems(**form(**changes)) == expected


def test_an_image_or_a_card_alone_is_a_message() -> None:
    assert rules.problems(**form(body="", has_image=True)) == {}
    card = {"card_title": "寺子屋", "card_label": "申し込む", "card_url": "https://example.jp/"}
    assert rules.problems(**form(body="", **card)) == {}


def test_the_quota_cost_and_personalisation() -> None:
    text = Announcement(body="お知らせです")
    assert (rules.message_count(text), rules.personalised(text)) == (1, False)
    full = Announcement(
        body="{名前}さん、こんにちは",
        image_token="tok",
        card_title="寺子屋",
        card_label="申し込む",
        card_url="https://example.jp/",
    )
    assert (rules.message_count(full), rules.personalised(full)) == (3, True)
    assert rules.message_count(Announcement(body=" ", image_token="tok")) == 1


# ---------- Asking to send ----------


async def test_request_send_now_schedules_it_at_once(small: Settings) -> None:
    await people(2)
    a = await draft()
    before = datetime.now(UTC)
    done = await rules.request_send(a.id, by="staff@example.jp", send_at=None, settings=small)
    assert done.status == SCHEDULED
    assert done.requested_by == "staff@example.jp"
    assert done.send_at is not None and before <= done.send_at <= datetime.now(UTC)
    assert await rules.due_ids() == [a.id]
    assert not rules.editable(done)


async def test_over_the_threshold_waits_for_an_admin(small: Settings) -> None:
    await people(3)
    a = await draft()
    done = await rules.request_send(a.id, by="staff@example.jp", send_at=None, settings=small)
    assert done.status == AWAITING
    assert await rules.due_ids() == []  # not started before approval


async def test_a_double_submit_changes_nothing(small: Settings) -> None:
    await people(2)
    a = await draft()
    later = datetime.now(UTC) + timedelta(days=2)
    first = await rules.request_send(a.id, by="one@example.jp", send_at=later, settings=small)
    with pytest.raises(AnnouncementError, match="いま「配信予約」のため配信の手続きをできません"):
        await rules.request_send(a.id, by="two@example.jp", send_at=None, settings=small)
    again = await Announcement.get(id=a.id)
    assert (again.status, again.send_at, again.requested_by) == (
        SCHEDULED,
        first.send_at,
        "one@example.jp",
    )


async def test_a_past_time_is_refused_a_moment_ago_is_now(small: Settings) -> None:
    await people(1)
    a = await draft()
    past = datetime.now(UTC) - timedelta(minutes=2)
    with pytest.raises(AnnouncementError, match="が過ぎています"):
        await rules.request_send(a.id, by="s", send_at=past, settings=small)
    assert await status_of(a.id) == DRAFT
    far = datetime.now(UTC) + timedelta(days=181)
    with pytest.raises(AnnouncementError, match="180日先まで"):
        await rules.request_send(a.id, by="s", send_at=far, settings=small)
    assert await status_of(a.id) == DRAFT
    moment = datetime.now(UTC) - timedelta(seconds=20)  # the form took a while
    done = await rules.request_send(a.id, by="s", send_at=moment, settings=small)
    assert done.status == SCHEDULED and done.send_at is not None and done.send_at > moment


async def test_nobody_to_reach_is_refused(small: Settings) -> None:
    ids = await people(2)
    await Resident.filter(id=ids[0]).update(is_following=False)
    await ResidentTag.create(resident_id=ids[0], tag="講師")  # unfollowed: not counted
    a = await draft(audience=Segment(tags=("講師",)).to_json())
    with pytest.raises(AnnouncementError, match="この条件に当てはまる方"):
        await rules.request_send(a.id, by="s", send_at=None, settings=small)
    assert await status_of(a.id) == DRAFT


async def test_content_that_cannot_be_sent_is_refused(small: Settings) -> None:
    await people(1)
    a = await draft(body="", card_label="申し込む")
    with pytest.raises(AnnouncementError, match="内容に不足があります"):
        await rules.request_send(a.id, by="s", send_at=None, settings=small)
    assert await status_of(a.id) == DRAFT


async def test_only_a_draft_is_edited(db: str) -> None:
    a = await draft()
    changed = await rules.update_draft(
        a.id, body="{名前}さん", audience={"tags": ["講師"], "bogus": 1}
    )
    assert (changed.body, changed.audience) == ("{名前}さん", {"tags": ["講師"]})
    await Announcement.filter(id=a.id).update(status=SCHEDULED)
    with pytest.raises(AnnouncementError, match="「配信予約」のため変更できません"):
        await rules.update_draft(a.id, body="stale form")
    assert (await Announcement.get(id=a.id)).body == "{名前}さん"
    with pytest.raises(TypeError):
        await rules.update_draft(a.id, status="sent")
    assert not await rules.delete_draft(a.id)
    other = await draft()
    assert await rules.delete_draft(other.id)


async def test_copy_as_draft(db: str) -> None:
    a = await scheduled(audience={"tags": ["講師"]}, image=b"jpeg", image_token="tok")
    await rules.cancel(a.id, by="s")
    copy = await rules.copy_as_draft(a.id, by="me@example.jp")
    assert (copy.status, copy.title, copy.audience, copy.image) == (
        DRAFT,
        "交流会のご案内（コピー）",
        {"tags": ["講師"]},
        b"jpeg",
    )
    assert copy.image_token and copy.image_token != "tok"


# ---------- Approval and cancel ----------


async def test_approval_needs_an_admin_and_happens_once(db: str) -> None:
    later = datetime.now(UTC) + timedelta(hours=3)
    a = await draft(status=AWAITING, send_at=later)
    with pytest.raises(AnnouncementError, match="管理者の権限"):
        await rules.approve(a.id, by="staff@example.jp", by_role_admin=False)
    assert await status_of(a.id) == AWAITING
    done = await rules.approve(a.id, by="admin@example.jp", by_role_admin=True)
    assert (done.status, done.send_at, done.approved_by) == (SCHEDULED, later, "admin@example.jp")
    assert done.approved_at is not None
    with pytest.raises(AnnouncementError, match="「配信予約」のため承認できません"):
        await rules.approve(a.id, by="other@example.jp", by_role_admin=True)
    assert (await Announcement.get(id=a.id)).approved_by == "admin@example.jp"


async def test_approved_late_it_goes_now(db: str) -> None:
    a = await draft(status=AWAITING, send_at=datetime.now(UTC) - timedelta(hours=2))
    before = datetime.now(UTC)
    done = await rules.approve(a.id, by="admin@example.jp", by_role_admin=True)
    assert done.send_at is not None and done.send_at >= before
    assert await rules.due_ids() == [a.id]


@pytest.mark.parametrize("status", [AWAITING, SCHEDULED])
async def test_cancel_before_it_starts(db: str, status: AnnouncementStatus) -> None:
    a = await draft(status=status, send_at=datetime.now(UTC))
    done = await rules.cancel(a.id, by="staff@example.jp")
    assert (done.status, done.cancelled_by) == (CANCELLED, "staff@example.jp")
    with pytest.raises(AnnouncementError, match="「取り消し」のため取り消しできません"):
        await rules.cancel(a.id, by="again@example.jp")
    with pytest.raises(AnnouncementError):
        await rules.approve(a.id, by="admin@example.jp", by_role_admin=True)
    assert await rules.start(a.id, remaining=None) is None
    assert await AnnouncementBatch.all().count() == 0


async def test_once_started_it_cannot_be_cancelled(db: str) -> None:
    await people(3)
    a = await scheduled()
    assert await rules.start(a.id, remaining=None) is not None
    with pytest.raises(AnnouncementError, match="配信が始まっているため取り消しできません"):
        await rules.cancel(a.id, by="staff@example.jp")
    assert await status_of(a.id) == SENDING


async def test_steps_on_a_missing_announcement(small: Settings) -> None:
    with pytest.raises(AnnouncementError, match="見つかりませんでした"):
        await rules.cancel(999, by="s")
    with pytest.raises(AnnouncementError, match="見つかりませんでした"):
        await rules.request_send(999, by="s", send_at=None, settings=small)


# ---------- Start ----------


async def test_1201_recipients_make_batches_of_500_500_201(db: str) -> None:
    ids = await people(1_201)
    await people(3, prefix="Ugone", is_following=False)
    await people(2, prefix="Uquiet", announcements_opt_out=True)
    await people(1, prefix="Uerased", erased_at=datetime.now(UTC))
    a = await scheduled()
    started = await rules.start(a.id, remaining=10_000)
    assert started is not None
    assert (started.status, started.recipients, started.messages_per_recipient) == (
        SENDING,
        1_201,
        1,
    )
    assert started.started_at is not None
    batches = await AnnouncementBatch.filter(announcement_id=a.id).order_by("seq")
    assert [(b.seq, b.size, b.status) for b in batches] == [
        (1, 500, BatchStatus.PENDING),
        (2, 500, BatchStatus.PENDING),
        (3, 201, BatchStatus.PENDING),
    ]
    assert all(UUID.match(b.retry_key) for b in batches)
    assert len({b.retry_key for b in batches}) == 3
    rows = await AnnouncementRecipient.filter(announcement_id=a.id).order_by("id")
    assert [r.resident_id for r in rows] == ids  # by id: nobody unreachable
    by_batch = [[r.resident_id for r in rows if r.batch_id == b.id] for b in batches]  # type: ignore[attr-defined]
    assert by_batch == [ids[:500], ids[500:1000], ids[1000:]]
    assert all(r.status == RecipientStatus.PENDING for r in rows)
    # Started once: a second call does nothing.
    assert await rules.start(a.id, remaining=10_000) is None
    assert await AnnouncementBatch.filter(announcement_id=a.id).count() == 3


async def test_a_personalised_message_goes_one_by_one(db: str) -> None:
    ids = await people(3)
    a = await scheduled(
        body="{名前}さん、こんにちは",
        card_title="寺子屋",
        card_label="見る",
        card_url="https://example.jp/",
    )
    started = await rules.start(a.id, remaining=None)
    assert started is not None and started.messages_per_recipient == 2
    batches = await AnnouncementBatch.filter(announcement_id=a.id).order_by("seq")
    assert [b.size for b in batches] == [1, 1, 1]
    rows = await AnnouncementRecipient.filter(announcement_id=a.id).order_by("batch_id")
    assert [r.resident_id for r in rows] == ids


async def test_not_before_its_time(db: str) -> None:
    await people(1)
    a = await scheduled(send_at=datetime.now(UTC) + timedelta(minutes=5))
    assert await rules.due_ids() == []
    assert await rules.start(a.id, remaining=None) is None
    assert await status_of(a.id) == SCHEDULED


async def test_refused_when_the_quota_left_does_not_cover_it(db: str) -> None:
    await people(10)
    a = await scheduled(image_token="tok")  # text + image: 20 messages
    refused = await rules.start(a.id, remaining=19)
    assert refused is not None
    assert (refused.status, refused.recipients) == (REFUSED, 10)
    assert refused.quota_note == (
        "今月の残りの通数 19通では、この配信の 20通が送れないため、配信を中止しました。"
    )
    assert refused.finished_at is not None
    assert await AnnouncementBatch.all().count() == 0
    assert await AnnouncementRecipient.all().count() == 0
    reloaded = await Announcement.get(id=a.id)
    assert (reloaded.status, reloaded.quota_note) == (REFUSED, refused.quota_note)
    with pytest.raises(AnnouncementError):
        await rules.cancel(a.id, by="s")


async def test_exactly_the_quota_left_is_enough(db: str) -> None:
    await people(10)
    a = await scheduled(image_token="tok")
    started = await rules.start(a.id, remaining=20)
    assert started is not None and started.status == SENDING


async def test_other_announcements_keep_their_share(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 11/20 12:00 JST
    monkeypatch.setattr(rules, "now", lambda: at)
    await people(10)
    await scheduled(send_at=at + timedelta(days=3))  # this month: 10 reserved
    await draft(status=AWAITING, send_at=at + timedelta(days=5), image_token="t")  # 20 more
    # 12/01 00:00 JST is next month's quota.
    await scheduled(send_at=datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    assert await rules.reserved_messages() == 30
    a = await scheduled(send_at=at)
    assert await rules.reserved_messages(exclude_id=a.id) == 30
    refused = await rules.start(a.id, remaining=39)
    assert refused is not None and refused.status == REFUSED
    assert "ほかの配信の予定分 30通を除くと 9通" in refused.quota_note
    b = await scheduled(send_at=at)
    started = await rules.start(b.id, remaining=40)
    assert started is not None and started.status == SENDING
    # What is still pending of a send under way stays reserved, at its messages each.
    assert await rules.reserved_messages() == 40
    await AnnouncementRecipient.filter(
        announcement_id=b.id, id__in=await _first_rows(b.id, 4)
    ).update(status=RecipientStatus.DELIVERED)
    assert await rules.reserved_messages() == 36
    assert await rules.reserved_messages(exclude_id=b.id) == 30


async def _first_rows(a_id: int, n: int) -> list[int]:
    rows = await AnnouncementRecipient.filter(announcement_id=a_id).order_by("id").limit(n)
    return [r.id for r in rows]


async def test_nobody_left_at_the_start_is_sent_with_no_batch(db: str) -> None:
    ids = await people(2)
    a = await scheduled()
    await Resident.filter(id__in=ids).update(announcements_opt_out=True)
    done = await rules.start(a.id, remaining=100)
    assert done is not None and (done.status, done.recipients) == (SENT, 0)
    assert await AnnouncementBatch.all().count() == 0


async def test_two_workers_starting_at_once_make_one_set_of_batches(db: str) -> None:
    await people(1_201)
    a = await scheduled()
    go = asyncio.Event()

    async def worker() -> Announcement | None:
        await go.wait()
        return await rules.start(a.id, remaining=None)

    # Made outside any transaction: each task opens its own (on PostgreSQL, its own
    # connection: two real concurrent transactions).
    tasks = [asyncio.create_task(worker()) for _ in range(2)]
    await asyncio.sleep(0)
    go.set()
    results = await asyncio.gather(*tasks)
    assert sorted(r is None for r in results) == [False, True]
    assert await AnnouncementBatch.filter(announcement_id=a.id).count() == 3
    assert await AnnouncementRecipient.filter(announcement_id=a.id).count() == 1_201


# ---------- Figures ----------


async def test_refresh_counts_and_finishes(db: str) -> None:
    await people(1_001)
    a = await scheduled()
    await rules.start(a.id, remaining=None)
    batches = await AnnouncementBatch.filter(announcement_id=a.id).order_by("seq")
    first, second, third = batches
    await AnnouncementBatch.filter(id=first.id).update(status=BatchStatus.SENT)
    await AnnouncementRecipient.filter(batch_id=first.id).update(status=RecipientStatus.DELIVERED)
    skipped = await AnnouncementRecipient.filter(batch_id=first.id).order_by("id").limit(3)
    await AnnouncementRecipient.filter(id__in=[r.id for r in skipped]).update(
        status=RecipientStatus.SKIPPED
    )
    mid = await rules.refresh(a.id)
    assert (mid.status, mid.recipients, mid.delivered, mid.failed, mid.skipped) == (
        SENDING,
        1_001,
        497,
        0,
        3,
    )
    assert mid.finished_at is None
    await AnnouncementBatch.filter(id=second.id).update(status=BatchStatus.FAILED)
    await AnnouncementRecipient.filter(batch_id=second.id).update(status=RecipientStatus.FAILED)
    await AnnouncementBatch.filter(id=third.id).update(status=BatchStatus.SENDING)
    assert (await rules.refresh(a.id)).status == SENDING  # one still going out
    await AnnouncementBatch.filter(id=third.id).update(status=BatchStatus.SENT)
    await AnnouncementRecipient.filter(batch_id=third.id).update(status=RecipientStatus.DELIVERED)
    done = await rules.refresh(a.id)
    assert (done.status, done.delivered, done.failed, done.skipped) == (SENT, 498, 500, 3)
    assert done.finished_at is not None
    stored = await Announcement.get(id=a.id)
    assert (stored.status, stored.delivered, stored.failed, stored.recipients) == (
        SENT,
        498,
        500,
        1_001,
    )
    # Refreshing again changes nothing.
    again = await rules.refresh(a.id)
    assert (again.status, again.finished_at) == (SENT, done.finished_at)


async def test_a_refused_announcement_keeps_its_figures_on_refresh(db: str) -> None:
    await people(3)
    a = await scheduled()
    await rules.start(a.id, remaining=1)
    refreshed = await rules.refresh(a.id)
    assert (refreshed.status, refreshed.recipients) == (REFUSED, 3)


# ---------- From the form to the batches ----------


async def test_the_whole_path(small: Settings) -> None:
    ids = await people(3)
    await ResidentTag.bulk_create([ResidentTag(resident_id=i, tag="講師") for i in ids[:2]])
    a = await draft(audience=Segment(tags=("講師",)).to_json())
    asked = await rules.request_send(a.id, by="s@example.jp", send_at=None, settings=small)
    assert asked.status == SCHEDULED
    started = await rules.start(a.id, remaining=100)
    assert started is not None and started.recipients == 2
    rows = await AnnouncementRecipient.filter(announcement_id=a.id).order_by("resident_id")
    assert [r.resident_id for r in rows] == ids[:2]


# ---------- seed-demo ----------


async def test_seed_demo_adds_a_sent_one_and_a_draft_once(db: str) -> None:
    await course_demo.seed_demo()
    await survey_demo.seed_demo()  # the demo residents (Udemo…)
    demo = await Resident.filter(line_user_id__startswith="Udemo").order_by("id")
    assert await announce_demo.seed_demo() == "お知らせ配信 2件"
    assert await announce_demo.seed_demo() == ""
    sent = await Announcement.get(status=SENT)
    n = len(demo)
    assert (sent.recipients, sent.delivered, sent.failed, sent.skipped) == (n, n, 0, 0)
    assert sent.finished_at is not None and sent.started_at is not None
    batches = await AnnouncementBatch.filter(announcement_id=sent.id)
    assert [(b.seq, b.size, b.status) for b in batches] == [(1, n, BatchStatus.SENT)]
    rows = await AnnouncementRecipient.filter(announcement_id=sent.id).order_by("resident_id")
    assert [r.resident_id for r in rows] == [r.id for r in demo]
    assert {r.status for r in rows} == {RecipientStatus.DELIVERED}
    # Refreshing it agrees with the figures written.
    again = await rules.refresh(sent.id)
    assert (again.status, again.delivered) == (SENT, n)

    draft_ = await Announcement.get(status=DRAFT)
    assert rules.personalised(draft_) and rules.message_count(draft_) == 2
    assert (
        rules.problems(
            title=draft_.title,
            body=draft_.body,
            card_title=draft_.card_title,
            card_text=draft_.card_text,
            card_label=draft_.card_label,
            card_url=draft_.card_url,
            has_image=False,
        )
        == {}
    )
    segment = rules.segment_of(draft_)
    assert segment == Segment(raising_children=True)
    parents = await segments.count(segment)
    assert 0 < parents < n
    assert await segments.describe(segment) == ["子育て中: はい"]
