"""イベント・お知らせ through LINE: the upcoming sessions (the course flow's carousel) and the
news items staff published, newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.course import NewsItem, ProgrammeKind, SessionStatus
from models.outbox import OutboxMessage
from shima.timeutil import now
from tests.line_app.test_consult_flow import Resident_
from tests.line_app.test_course_flow import TITLE, make_session


@pytest.fixture
def resident(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


@pytest.fixture(autouse=True)
async def all_accepted_by_line(db: str):
    yield
    refused = await OutboxMessage.filter(last_error__isnull=False).values_list(
        "last_error", flat=True
    )
    assert not refused, refused


async def news(title: str, *, days_ago: float, published: bool = True, **fields) -> NewsItem:
    return await NewsItem.create(
        title=title,
        is_published=published,
        published_at=now() - timedelta(days=days_ago) if published else None,
        **fields,
    )


async def test_nothing_published_is_said_kindly(resident: Resident_) -> None:
    await news("下書きのお知らせ", days_ago=0, published=False, body="まだ秘密")
    await make_session(status=SessionStatus.DRAFT)
    await resident.tap("flow=news")
    answer = resident.text()
    assert "いまお届けできるイベントやお知らせはありません" in answer
    assert "下書きのお知らせ" not in answer and TITLE not in answer
    assert "寺子屋・交流会" in [a["label"] for a in resident.actions()]


async def test_sessions_and_news_newest_first(resident: Resident_) -> None:
    session = await make_session(childcare=2)
    await make_session(kind=ProgrammeKind.MEETUP, title="島フリーランス交流会", hours_ahead=96)
    await news("夏の交流会のお知らせ", days_ago=5, body="今年も開催します。")
    await news(
        "Web講座の資料を公開しました",
        days_ago=1,
        body="先日の講座の資料です。",
        url="https://example.jp/shiryo",
    )
    await news("下書き", days_ago=0, published=False, body="まだ秘密")
    await resident.say("お知らせ")
    answer = resident.text()
    assert TITLE in answer and "島フリーランス交流会" in answer and "残り10席" in answer
    assert answer.index("Web講座の資料を公開しました") < answer.index("夏の交流会のお知らせ")
    assert "下書き" not in answer
    links = [a for a in resident.actions() if a["type"] == "uri"]
    assert [a["uri"] for a in links] == ["https://example.jp/shiryo"]
    # 詳しく見る on a session continues in the course flow.
    await resident.tap(resident.first_button_with("detail", f"s={session.id}"))
    assert "申込締切" in resident.text() and "申し込む" in str(resident.actions())


async def test_news_without_sessions(resident: Resident_) -> None:
    await news("窓口の年末年始のお休み", days_ago=0, body="12/29〜1/3はお休みです。")
    await resident.say("イベント")
    answer = resident.text()
    assert "いま受付中の寺子屋・交流会はありません" in answer
    assert "窓口の年末年始のお休み" in answer


async def test_a_long_news_item_is_read_in_full(resident: Resident_) -> None:
    body = "島の事業者の皆さまへ。" * 60  # longer than a card shows
    item = await news("補助金のご案内", days_ago=0, body=body)
    await resident.tap("flow=news")
    assert body not in resident.text()
    await resident.tap(resident.first_button_with("item"))
    assert body in resident.text()
    await NewsItem.filter(id=item.id).update(is_published=False)
    await resident.tap(f"flow=news&step=item&i={item.id}")
    assert "公開されていません" in resident.text()
