"""個別チャット end to end: signed webhooks in, the fake LINE platform's calls out, the admin
through the ASGI app (SQLite, and PostgreSQL with SHIMA_TEST_BACKEND=postgres)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image

from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.chat import ChatMessage, ChatThread, SavedReply
from models.consultation import Booking, Method, Topic
from models.residents import Resident
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.admin.conftest import csrf_from
from tests.line_app import events
from tests.line_app.test_consult_flow import make_slots

SECRET = "test-channel-secret"
HANDOVER = "窓口の担当者にお伝えしました"
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pictures go under ./data: run each test in its own folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    line = LineClient(settings)
    yield Worker(settings, line)
    await line.close()


async def say(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker, user: str, body: str
) -> None:
    await events.post(client, SECRET, events.text(user, fake_line.issue_reply_token(user), body))
    await worker.drain()


async def follow(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker, user: str
) -> Resident:
    await events.post(client, SECRET, events.follow(user, fake_line.issue_reply_token(user)))
    await worker.drain()
    return await Resident.get(line_user_id=user)


def image_event(user: str, token: str, message_id: str) -> dict[str, Any]:
    event = events.text(user, token, "")
    event["message"] = {"id": message_id, "type": "image", "contentProvider": {"type": "line"}}
    return event


def jpeg_bytes(color: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


async def open_chat(client: httpx2.AsyncClient, resident: Resident) -> tuple[str, str, str]:
    """The conversation page: (html, csrf token, form nonce)."""
    page = await client.get(f"/admin/chat/{resident.id}")
    assert page.status_code == 200, page.text
    match = _NONCE.search(page.text)
    return page.text, csrf_from(page.text), match.group(1) if match else ""


async def send(
    client: httpx2.AsyncClient, resident: Resident, csrf: str, nonce: str, body: str, **extra: str
) -> httpx2.Response:
    data = {"csrf_token": csrf, "nonce": nonce, "body": body, **extra}
    response = await client.post(f"/admin/chat/{resident.id}/send", data=data)
    assert response.status_code == 303, response.text
    return await client.get(response.headers["location"])


async def test_unmatched_text_is_handed_over_once_and_shown_unread(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat1")
    await say(client, fake_line, worker, "Uchat1", "来週のオンラインはスマホでも参加できますか")
    answer = fake_line.delivered("Uchat1")[-1]
    assert answer.via == "reply"
    assert HANDOVER in answer.messages[-1]["text"]
    assert "0997-52-1111" in answer.messages[-1]["text"]  # settings.desk_phone
    assert "平日（月〜金）9:00〜17:00" in answer.messages[-1]["text"]  # desk_hours_text
    delivered = len(fake_line.delivered("Uchat1"))

    # A second message within the quiet period: no bot answer, its token stays free.
    await say(client, fake_line, worker, "Uchat1", "カメラはオフでも大丈夫ですか")
    assert len(fake_line.delivered("Uchat1")) == delivered

    listing = await client.get("/admin/chat")
    assert listing.status_code == 200
    assert "未読 2" in listing.text
    assert "カメラはオフでも大丈夫ですか" in listing.text  # the latest message, as a preview
    page, _, _ = await open_chat(client, resident)
    assert "来週のオンラインはスマホでも参加できますか" in page
    assert "カメラはオフでも大丈夫ですか" in page
    assert "自動応答" in page and HANDOVER in page  # the bot's answer, marked as such
    assert page.index("来週のオンライン") < page.index("カメラはオフ")  # newest at the bottom
    assert "応答メッセージ" in page  # the free token is offered
    listing = await client.get("/admin/chat")
    assert "未読" not in listing.text  # opening marked it read


async def test_quiet_period_ends_and_the_hand_over_answers_again(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    resident = await follow(staff_client, fake_line, worker, "Uchat2")
    await say(staff_client, fake_line, worker, "Uchat2", "質問があります")
    await ChatThread.filter(resident_id=resident.id).update(handover_at=now() - timedelta(hours=4))
    before = len(fake_line.delivered("Uchat2"))
    await say(staff_client, fake_line, worker, "Uchat2", "もうひとつ質問です")
    assert len(fake_line.delivered("Uchat2")) == before + 1
    assert HANDOVER in fake_line.delivered("Uchat2")[-1].messages[-1]["text"]


async def test_staff_handling_pauses_the_fallback_but_not_keywords(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat3")
    _, csrf, _ = await open_chat(client, resident)
    response = await client.post(
        f"/admin/chat/{resident.id}/handling", data={"csrf_token": csrf, "on": "1"}
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "スタッフ対応中" in page.text
    before = len(fake_line.delivered("Uchat3"))
    await say(client, fake_line, worker, "Uchat3", "担当の方とお話ししたいです")
    assert len(fake_line.delivered("Uchat3")) == before  # no fallback answer
    assert await ChatMessage.filter(resident_id=resident.id, text__contains="お話し").exists()

    await make_slots()
    await say(client, fake_line, worker, "Uchat3", "予約")
    last = fake_line.delivered("Uchat3")[-1]
    assert len(fake_line.delivered("Uchat3")) == before + 1
    assert "ご相談の内容をお選びください" in str(last.messages)
    # Only what no flow took is unread: the keyword started a flow and needs no one.
    thread = await ChatThread.get(resident_id=resident.id)
    assert thread.unread == 1


async def test_staff_reply_goes_by_reply_then_push_and_a_double_submit_sends_once(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat4")
    await say(client, fake_line, worker, "Uchat4", "事前に聞きたいことがあります")  # hand-over
    await say(client, fake_line, worker, "Uchat4", "駐車場はありますか")  # token left free
    before = len(fake_line.delivered("Uchat4"))

    page, csrf, nonce = await open_chat(client, resident)
    assert "応答メッセージ</strong>で送ります（無料" in page
    done = await send(client, resident, csrf, nonce, "はい、建物の横に3台分ございます。")
    assert "応答メッセージとして送信しました" in done.text
    await send(client, resident, csrf, nonce, "はい、建物の横に3台分ございます。")  # again
    await worker.drain()
    sent = fake_line.delivered("Uchat4")[before:]
    assert [(d.via, d.messages[0]["text"]) for d in sent] == [
        ("reply", "はい、建物の横に3台分ございます。")
    ]
    replies = [c for c in fake_line.calls if c.path.endswith("/message/reply")]
    assert "はい、建物の横" in replies[-1].body.decode()

    # The token is used now: the next message is pushed, with its retry key.
    page, csrf, nonce = await open_chat(client, resident)
    assert "プッシュメッセージ</strong>で送ります（1 通につき" in page
    assert "スタッフ" in page and "はい、建物の横に3台分" in page
    done = await send(client, resident, csrf, nonce, "当日お待ちしております。")
    assert "プッシュメッセージとして送信しました" in done.text
    await worker.drain()
    last = fake_line.delivered("Uchat4")[-1]
    assert last.via == "push" and last.messages[0]["text"] == "当日お待ちしております。"
    pushes = [c for c in fake_line.calls if c.path.endswith("/message/push")]
    assert pushes[-1].headers.get("x-line-retry-key")
    assert len(fake_line.delivered("Uchat4")) == before + 2


async def test_a_token_past_its_window_is_not_offered(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat5")
    await say(client, fake_line, worker, "Uchat5", "ひとつ質問です")  # hand-over
    old = events.text("Uchat5", fake_line.issue_reply_token("Uchat5"), "明日伺います")
    old["timestamp"] = int((time.time() - 120) * 1000)  # written two minutes ago
    await events.post(client, SECRET, old)
    await worker.drain()
    page, csrf, nonce = await open_chat(client, resident)
    assert "プッシュメッセージ</strong>で送ります" in page
    await send(client, resident, csrf, nonce, "お待ちしております。")
    await worker.drain()
    assert fake_line.delivered("Uchat5")[-1].via == "push"


async def test_a_picture_from_a_resident_is_fetched_and_shown_to_staff_only(
    staff_client: httpx2.AsyncClient,
    settings: Settings,
    fake_line: FakeLinePlatform,
    worker: Worker,
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat6")
    picture = jpeg_bytes()
    fake_line.add_content("46001", picture)
    token = fake_line.issue_reply_token("Uchat6")
    await events.post(client, SECRET, image_event("Uchat6", token, "46001"))
    await worker.drain()
    assert any(c.path.endswith("/message/46001/content") for c in fake_line.calls)
    assert HANDOVER in fake_line.delivered("Uchat6")[-1].messages[-1]["text"]

    page, _, _ = await open_chat(client, resident)
    assert 'src="/admin/chat/media/in/46001.jpg"' in page
    shown = await client.get("/admin/chat/media/in/46001.jpg")
    assert shown.status_code == 200 and shown.content == picture
    assert "no-store" in shown.headers["cache-control"]

    from shima.app import create_app

    anonymous_app = create_app(settings, init_db=False)
    transport = httpx2.ASGITransport(app=anonymous_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as anon:
        refused = await anon.get("/admin/chat/media/in/46001.jpg")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/admin/login")
        assert (await anon.get(f"/admin/chat/{resident.id}")).status_code == 303


async def test_staff_send_a_picture_re_encoded_at_a_public_https_url(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat7")
    _, csrf, nonce = await open_chat(client, resident)
    png = io.BytesIO()
    Image.new("RGB", (3000, 1000), "blue").save(png, "PNG")
    response = await client.post(
        f"/admin/chat/{resident.id}/image",
        data={"csrf_token": csrf, "nonce": nonce + "-img"},
        files={"image": ("map.png", png.getvalue(), "image/png")},
    )
    assert response.status_code == 303, response.text
    await worker.drain()
    message = fake_line.delivered("Uchat7")[-1].messages[0]
    assert message["type"] == "image"
    original = message["originalContentUrl"]
    assert original.startswith("https://testserver/admin/chat/public/")
    name = original.rsplit("/", 1)[1]
    assert len(name) == len("x" * 32 + ".jpg")
    public = await client.get(f"/admin/chat/public/{name}")  # LINE fetches it
    assert public.status_code == 200
    with Image.open(io.BytesIO(public.content)) as shown:
        assert shown.format == "JPEG" and max(shown.size) == 2048  # re-encoded

    not_a_picture = await client.post(
        f"/admin/chat/{resident.id}/image",
        data={"csrf_token": csrf, "nonce": "another"},
        files={"image": ("x.png", b"<script>alert(1)</script>", "image/png")},
    )
    page = await client.get(not_a_picture.headers["location"])
    assert "画像を読み込めませんでした" in page.text
    assert (await client.get("/admin/chat/public/guess.jpg")).status_code == 404


async def test_saved_replies_crud_and_sending_one(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    page = await client.get("/admin/chat/replies")
    csrf = csrf_from(page.text)
    created = await client.post(
        "/admin/chat/replies",
        data={"csrf_token": csrf, "title": "会議URL", "body": "URL: https://meet.example.jp/a"},
    )
    assert created.status_code == 303
    listing = await client.get(created.headers["location"])
    assert "会議URL" in listing.text and "定型文を追加しました" in listing.text
    reply = await SavedReply.get(title="会議URL")
    empty = await client.post(
        "/admin/chat/replies", data={"csrf_token": csrf, "title": "", "body": ""}
    )
    assert empty.status_code == 400 and "タイトルを入力してください" in empty.text

    edited = await client.post(
        f"/admin/chat/replies/{reply.id}",
        data={"csrf_token": csrf, "title": "会議URL", "body": "URL: https://meet.example.jp/b"},
    )
    assert edited.status_code == 303
    await reply.refresh_from_db()
    assert reply.body.endswith("/b")

    resident = await follow(client, fake_line, worker, "Uchat8")
    _, csrf, nonce = await open_chat(client, resident)
    await send(client, resident, csrf, nonce, "", saved_reply=str(reply.id))
    await worker.drain()
    assert fake_line.delivered("Uchat8")[-1].messages[0]["text"] == "URL: https://meet.example.jp/b"

    deleted = await client.post(f"/admin/chat/replies/{reply.id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert not await SavedReply.exists(id=reply.id)


async def test_a_blocked_resident_is_flagged_and_refused(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat9")
    await say(client, fake_line, worker, "Uchat9", "ありがとうございました")
    page, csrf, nonce = await open_chat(client, resident)
    await events.post(client, SECRET, events.unfollow("Uchat9"))
    await worker.drain()
    before = len(fake_line.delivered("Uchat9"))
    done = await send(client, resident, csrf, nonce, "ご連絡ありがとうございます。")
    assert "ブロックしているため、メッセージを送れません" in done.text
    assert "ブロック中" in done.text
    await worker.drain()
    assert len(fake_line.delivered("Uchat9")) == before
    assert "ブロック中" in (await client.get("/admin/chat")).text


async def test_views_are_audited_and_text_stays_out_of_the_log(
    staff_client: httpx2.AsyncClient,
    fake_line: FakeLinePlatform,
    worker: Worker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from models.audit import AuditLog

    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat10")
    await say(client, fake_line, worker, "Uchat10", "ひみつの内容です")
    await open_chat(client, resident)
    assert await AuditLog.exists(action="chat.view", target_id=str(resident.id))
    [slot, *_] = await make_slots()
    booking = await Booking.create(
        resident=resident, slot=slot, topic=Topic.SALES, method=Method.ONLINE
    )
    detail = await client.get(f"/admin/residents/{resident.id}")
    assert "ひみつの内容です" in detail.text and f"/admin/chat/{resident.id}" in detail.text
    assert f"/admin/consult/bookings/{booking.id}" in detail.text  # their bookings too
    assert Topic.SALES.label in detail.text
    poll = await client.get(f"/admin/chat/{resident.id}/messages", params={"after": "0"})
    assert poll.status_code == 200 and "ひみつの内容です" in poll.json()["html"]
    assert "ひみつの内容" not in caplog.text


async def test_demo_conversations_are_seeded_once(db: str) -> None:
    from admin.chat import demo

    assert await demo.seed_demo() == "チャット 2件, 定型文 3件"
    count = await ChatMessage.all().count()
    assert await demo.seed_demo() == ""  # idempotent
    assert await ChatMessage.all().count() == count
    assert await ChatThread.filter(unread__gt=0).count() == 1


async def test_a_picture_line_could_not_give_at_once_is_fetched_later(
    staff_client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    client = staff_client
    resident = await follow(client, fake_line, worker, "Uchat11")
    token = fake_line.issue_reply_token("Uchat11")
    await events.post(client, SECRET, image_event("Uchat11", token, "46002"))
    await worker.drain()  # LINE has no content for it yet (404)
    page, _, _ = await open_chat(client, resident)
    assert "画像（取得できませんでした）" in page
    picture = jpeg_bytes("green")
    fake_line.add_content("46002", picture)
    await worker.run_schedule_once()
    page, _, _ = await open_chat(client, resident)
    assert 'src="/admin/chat/media/in/46002.jpg"' in page
    assert (await client.get("/admin/chat/media/in/46002.jpg")).content == picture
