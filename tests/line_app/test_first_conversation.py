"""Follow, unfollow and words we do not understand: signed webhook in, LINE calls out."""

from __future__ import annotations

import httpx2

from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.inbox import InboxEvent, InboxStatus
from models.residents import Resident
from shima.settings import Settings
from shima.worker import Worker
from tests.line_app import events
from tests.line_app.planned import planned_worker

SECRET = "test-channel-secret"
EVERY_AREA = [
    "相談予約",
    "寺子屋・交流会",
    "マーケット出店",
    "アンケート",
    "お知らせ",
    "マイページ",
]


def texts(delivery) -> list[str]:
    return [m.get("text", m.get("altText", "")) for m in delivery.messages]


async def test_follow_greets_by_name_with_privacy_notice_first(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    fake_line.add_user("U100", "奄美 花子")
    token = fake_line.issue_reply_token("U100")
    await events.post(client, SECRET, events.follow("U100", token))
    await worker.drain()

    [delivery] = fake_line.delivered("U100")
    assert delivery.via == "reply"
    body = texts(delivery)
    assert body[0].startswith("奄美 花子さん、友だち追加ありがとうございます")
    assert "個人情報の取り扱い" in body[1]
    assert "quickReply" in delivery.messages[-1]
    labels = [i["action"]["label"] for i in delivery.messages[-1]["quickReply"]["items"]]
    # Every area works today: each is offered, none is named as 準備中.
    assert labels == EVERY_AREA
    assert "準備中" not in body[-1]
    assert "寺子屋・交流会" in body[-1] and "アンケート" in body[-1] and "お知らせ" in body[-1]

    resident = await Resident.get(line_user_id="U100")
    assert resident.display_name == "奄美 花子"
    assert resident.is_following
    assert resident.privacy_notice_shown_at is not None
    assert (await InboxEvent.get()).status == InboxStatus.DONE


async def test_the_greeting_names_an_area_not_built_yet_as_coming(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings, line: LineClient
) -> None:
    token = fake_line.issue_reply_token("U101")
    await events.post(client, SECRET, events.follow("U101", token))
    await planned_worker(settings, line).drain()
    [delivery] = fake_line.delivered("U101")
    labels = [i["action"]["label"] for i in delivery.messages[-1]["quickReply"]["items"]]
    assert labels == EVERY_AREA  # the planned area is not a button
    offers, coming = texts(delivery)[-1].split("準備中: ")
    assert "アンケート" in offers and "写真教室" not in offers
    assert coming.startswith("写真教室")


async def test_follow_without_profile_still_greets(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    token = fake_line.issue_reply_token("U404")  # the profile API answers 404
    await events.post(client, SECRET, events.follow("U404", token))
    await worker.drain()
    [delivery] = fake_line.delivered("U404")
    assert texts(delivery)[0].startswith("友だち追加ありがとうございます")


async def test_unfollow_marks_resident_and_sends_nothing(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    fake_line.add_user("U1", "名瀬 太郎")
    await events.post(client, SECRET, events.follow("U1", fake_line.issue_reply_token("U1")))
    await worker.drain()
    await events.post(client, SECRET, events.unfollow("U1"))
    await worker.drain()
    resident = await Resident.get(line_user_id="U1")
    assert not resident.is_following
    assert resident.unfollowed_at is not None
    assert len(fake_line.delivered("U1")) == 1  # only the greeting


async def test_unknown_words_go_to_the_desk_with_the_menu_as_quick_replies(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    token = fake_line.issue_reply_token("U2")
    await events.post(client, SECRET, events.text("U2", token, "今日の天気は？"))
    await worker.drain()
    [delivery] = fake_line.delivered("U2")
    # A resident we never greeted sees the privacy notice before anything else.
    assert "個人情報の取り扱い" in texts(delivery)[0]
    last = delivery.messages[-1]
    assert "窓口の担当者にお伝えしました" in last["text"]  # 個別チャット's hand-over
    # Only what works today is offered (準備中 areas are not buttons).
    labels = [item["action"]["label"] for item in last["quickReply"]["items"]]
    assert labels == EVERY_AREA


async def test_keywords_start_flows_or_say_coming_soon(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, settings: Settings, line: LineClient
) -> None:
    worker = planned_worker(settings, line)
    # ハンドメイドマーケット is live: its keyword starts the flow (no market open here).
    token = fake_line.issue_reply_token("U3")
    await events.post(client, SECRET, events.text("U3", token, "マーケット"))
    await worker.drain()
    last = fake_line.delivered("U3")[-1].messages[-1]
    assert "ハンドメイドマーケット" in last["text"] and "準備中" not in last["text"]
    # アンケート is live too: its keyword starts the flow (no survey open here).
    token = fake_line.issue_reply_token("U3")
    await events.post(client, SECRET, events.text("U3", token, "アンケート"))
    await worker.drain()
    last = fake_line.delivered("U3")[-1].messages[-1]
    assert "回答を受け付けているアンケートはありません" in last["text"]
    assert "準備中" not in last["text"]
    # An area not built yet answers 準備中, offering only what works.
    token = fake_line.issue_reply_token("U3")
    await events.post(client, SECRET, events.text("U3", token, "写真教室"))
    await worker.drain()
    last = fake_line.delivered("U3")[-1].messages[-1]
    assert "「写真教室の申込み」" in last["text"] and "準備中" in last["text"]
    assert [i["action"]["label"] for i in last["quickReply"]["items"]] == EVERY_AREA


async def test_stale_or_forged_postback_gets_an_answer(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    token = fake_line.issue_reply_token("U4")
    await events.post(client, SECRET, events.postback("U4", token, "flow=nonexistent&id=9"))
    await worker.drain()
    [delivery] = fake_line.delivered("U4")
    assert "メニュー" in delivery.messages[-1]["text"]


async def test_each_users_events_are_answered_in_order(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    batch = []
    for _ in range(5):
        # Words the menu answers every time (free text goes to the desk, answered once).
        batch.append(events.text("U5", fake_line.issue_reply_token("U5"), "ヘルプ"))
        batch.append(events.text("U6", fake_line.issue_reply_token("U6"), "メニュー"))
    await events.post(client, SECRET, *batch)
    await worker.drain()
    assert len(fake_line.delivered("U5")) == 5
    assert len(fake_line.delivered("U6")) == 5
    # The privacy notice is part of each user's first answer only.
    firsts = [texts(d)[0] for d in fake_line.delivered("U5")]
    assert "個人情報" in firsts[0] and all("個人情報" not in t for t in firsts[1:])
