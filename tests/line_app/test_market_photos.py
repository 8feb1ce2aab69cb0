"""ハンドメイドマーケット: artists' photos through LINE — signed webhooks with image events in,
the content served by the fake LINE platform (`add_content`, failures injected on its content
path), answers at the fake platform out, rows in the database.

The artist's draft (出店者名・ジャンル・販売するもの) is made through the rules; the photo step is
then asked for through the flow's own button (`flow=market&step=ask&q=photos`)."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tortoise.transactions import in_transaction

from line_app import chat, market_intake
from line_app.client import LineClient
from line_app.flows import market_photos as flow_photos
from line_app.notices import chat as chat_notices
from models.chat import ChatKind, ChatMessage
from models.inbox import InboxEvent, InboxStatus
from models.market import Market, MarketApplication, MarketPhoto
from models.outbox import OutboxMessage, OutboxStatus
from models.residents import Resident
from shima.domain import market as rules
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.line_app import events
from tests.line_app.test_consult_flow import Resident_

GPS_TAG = 0x8825
_ids = iter(range(700_000_001, 800_000_000))


def photo_bytes(colour: tuple[int, int, int] = (200, 80, 40), size=(1600, 1200)) -> bytes:
    """A phone photo: JPEG with EXIF (make, orientation, GPS)."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "ShimaPhone"
    exif[GPS_TAG] = {1: "N", 2: (28.0, 22.0, 39.0), 3: "E", 4: (129.0, 29.0, 37.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def image_event(
    user_id: str, reply_token: str | None, message_id: str, image_set: tuple[str, int, int] | None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": message_id,
        "type": "image",
        "quoteToken": f"q{message_id}",
        "contentProvider": {"type": "line"},
    }
    if image_set is not None:
        set_id, index, total = image_set
        message["imageSet"] = {"id": set_id, "index": index, "total": total}
    return events._base("message", user_id, reply_token, message=message)


def unsend_event(user_id: str, message_id: str) -> dict[str, Any]:
    return events._base("unsend", user_id, None, unsend={"messageId": message_id})


class Artist(Resident_):
    app_id: int = 0

    async def settle(self, timeout: float = 20.0) -> None:
        """Run the worker until every event is handled (retries wait for their backoff)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.worker.drain(timeout=timeout)
            if not await InboxEvent.filter(
                status__in=(InboxStatus.PENDING, InboxStatus.PROCESSING)
            ).exists():
                return
            assert loop.time() < deadline, "events still open"
            await asyncio.sleep(0.02)

    async def post(self, *batch: dict[str, Any]) -> None:
        response = await events.post(self.client, "test-channel-secret", *batch)
        assert response.status_code == 200
        await self.settle()

    def image(self, message_id: str, image_set: tuple[str, int, int] | None = None) -> dict:
        token = self.fake.issue_reply_token(self.user_id)
        return image_event(self.user_id, token, message_id, image_set)

    async def send_photo(self, data: bytes | None = None, *, content_type="image/jpeg") -> str:
        message_id = str(next(_ids))
        self.fake.add_content(message_id, photo_bytes() if data is None else data, content_type)
        await self.post(self.image(message_id))
        return message_id

    def answers(self) -> list[str]:
        return [
            m.get("text", "")
            for d in self.fake.delivered(self.user_id)
            for m in d.messages
            if m.get("type") == "text"
        ]

    def quick_types(self) -> list[str]:
        items = self.last[-1].get("quickReply", {}).get("items", [])
        return [i["action"].get("label") or i["action"]["type"] for i in items]


@pytest.fixture(autouse=True)
async def all_accepted_by_line(db: str) -> AsyncIterator[None]:
    """Every message the flow sent passed the fake platform's validation (as LINE's)."""
    yield
    refused = await OutboxMessage.filter(last_error__isnull=False).values_list(
        "last_error", flat=True
    )
    assert not refused, refused
    assert not await OutboxMessage.filter(status=OutboxStatus.DEAD).exists()


@pytest.fixture(autouse=True)
def chat_media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Residents' chat pictures go to a temporary folder (the chat must not take these)."""
    monkeypatch.setattr(chat_notices, "MEDIA_DIR", tmp_path / "chat")
    return tmp_path / "chat"


async def open_market(photos_min: int = 1, photos_max: int = 3) -> Market:
    at = now()
    spec = rules.MarketSpec(
        name="あまみハンドメイドマーケット vol.9",
        starts_at=at + timedelta(days=30),
        ends_at=at + timedelta(days=30, hours=6),
        venue="AiAiひろば",
        applications_open_at=at - timedelta(hours=1),
        applications_close_at=at + timedelta(days=10),
        booths=20,
        photos_min=photos_min,
        photos_max=photos_max,
    )
    async with in_transaction():
        market = await rules.create_market(spec)
        return await rules.publish(market.id)


async def at_photo_step(client, fake_line, worker: Worker, market: Market, user_id="U1") -> Artist:
    """An artist whose draft has its name, genre and items, asked for the photos."""
    fake_line.add_user(user_id, "奄美 花子")
    artist = Artist(client, fake_line, worker, user_id)
    async with in_transaction():
        resident, _ = await Resident.get_or_create(line_user_id=user_id)
        app = await rules.start(resident, market.id)
        await rules.save(
            resident,
            app.id,
            step="photos",
            artist_name="夜光貝工房",
            category=rules.categories_of(market)[0],
            items="夜光貝のピアスとネックレス",
        )
    artist.app_id = app.id
    await artist.tap(f"flow=market&step=ask&a={app.id}&q=photos")
    assert "作品の写真を送ってください" in artist.text()
    assert artist.quick_types()[:2] == ["カメラ", "カメラロール"]
    return artist


@pytest.fixture
async def market(db: str) -> Market:
    return await open_market()


@pytest.fixture
async def artist(client, fake_line, worker, market) -> Artist:
    return await at_photo_step(client, fake_line, worker, market)


async def attached(app_id: int) -> list[str]:
    return [
        str(m)
        for m in await MarketPhoto.filter(application_id=app_id, error="")
        .order_by("id")
        .values_list("line_message_id", flat=True)
    ]


async def assert_nothing_lost(artist: Artist, photos: list[str]) -> None:
    app = await MarketApplication.get(id=artist.app_id)
    assert (app.artist_name, app.items) == ("夜光貝工房", "夜光貝のピアスとネックレス")
    assert app.category and app.step == "photos"
    assert await attached(artist.app_id) == photos
    # Still at the photo step: the next photo is taken.
    assert "カメラロール" in artist.quick_types()


def content_calls(fake_line, message_id: str) -> int:
    return sum(1 for c in fake_line.calls if c.path.endswith(f"/message/{message_id}/content"))


# -- the happy path -------------------------------------------------------------------------


async def test_each_photo_is_acknowledged_with_the_count(artist: Artist, fake_line) -> None:
    first = await artist.send_photo()
    assert artist.answers()[-1].startswith("1枚目を受け取りました（あと2枚まで送れます）")
    assert "次へ" in artist.quick_types()  # photos_min is 1
    assert set(artist.quick_types()) >= {"カメラ", "カメラロール", "戻る", "やめる"}
    second = await artist.send_photo()
    assert artist.answers()[-1].startswith("2枚目を受け取りました（あと1枚まで送れます）")
    third = await artist.send_photo()
    assert artist.answers()[-1].startswith("3枚目を受け取りました")
    assert "カメラ" not in artist.quick_types()  # the limit: no more to send
    assert await attached(artist.app_id) == [first, second, third]

    fourth = await artist.send_photo()
    assert "写真は3枚までのため" in artist.answers()[-1]
    assert "この写真は受け取っていません" in artist.answers()[-1]
    assert not await MarketPhoto.filter(line_message_id=fourth).exists()  # no orphan kept
    await assert_nothing_lost_at_limit(artist, [first, second, third])


async def assert_nothing_lost_at_limit(artist: Artist, photos: list[str]) -> None:
    app = await MarketApplication.get(id=artist.app_id)
    assert app.artist_name == "夜光貝工房"
    assert await attached(artist.app_id) == photos


async def test_the_stored_photo_has_no_exif_and_is_downloaded_once(
    artist: Artist, fake_line, line: LineClient, chat_media: Path
) -> None:
    raw = photo_bytes(size=(3000, 2250))
    assert b"ShimaPhone" in raw
    message_id = await artist.send_photo(raw)

    row = await MarketPhoto.get(line_message_id=message_id)
    assert row.application_id == artist.app_id and row.error == ""
    for data in (bytes(row.data), bytes(row.thumb)):
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG"
        assert not image.getexif() and "exif" not in image.info
        assert b"ShimaPhone" not in data and b"Exif" not in data
    assert max(row.width, row.height) <= 2048 and row.size == len(bytes(row.data))
    assert max(Image.open(io.BytesIO(bytes(row.thumb))).size) <= 320

    # One download: the chat neither fetched it nor will (its log says what it was).
    assert content_calls(fake_line, message_id) == 1
    logged = await ChatMessage.get(line_message_id=message_id)
    assert logged.kind == ChatKind.OTHER and "出店申込の写真" in logged.text
    assert await chat.fill_missing_images(line) == 0
    assert content_calls(fake_line, message_id) == 1
    assert not list(chat_media.glob("**/*.jpg"))


async def test_an_image_set_in_any_order_is_kept_in_set_order(artist: Artist, fake_line) -> None:
    """Three photos sent at once (LINE's imageSet) arrive in one webhook body, shuffled."""
    ids = [str(next(_ids)) for _ in range(3)]
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    for message_id, colour in zip(ids, colours, strict=True):
        fake_line.add_content(message_id, photo_bytes(colour, (800, 600)))
    batch = [artist.image(ids[i], ("SET1", i + 1, 3)) for i in range(3)]
    random.Random(7).shuffle(batch)
    order = [e["message"]["imageSet"]["index"] for e in batch]
    assert order != [1, 2, 3]
    await artist.post(*batch)

    kept = await rules.photos_of(artist.app_id)
    assert [p.image_set_index for p in kept] == [1, 2, 3]
    assert {p.image_set_id for p in kept} == {"SET1"}
    by_id = {p.id: p for p in await MarketPhoto.filter(application_id=artist.app_id)}
    for photo, colour in zip(kept, colours, strict=True):
        pixel = Image.open(io.BytesIO(bytes(by_id[photo.id].data))).getpixel((10, 10))
        assert isinstance(pixel, tuple)
        assert max(range(3), key=lambda c: pixel[c]) == colours.index(colour)
    acks = [a for a in artist.answers() if "枚目を受け取りました" in a]
    assert [a[:5] for a in acks] == ["1枚目を受", "2枚目を受", "3枚目を受"]
    # What to do next is said once, with the set's last picture, not under each of them.
    assert sum("「次へ」" in a for a in acks) == 1


async def test_photos_can_be_sent_again_after_a_confirmation(artist: Artist) -> None:
    first = await artist.send_photo()
    assert "写真を送り直す" in artist.quick_types()
    for _ in range(2):
        await artist.send_photo()
    assert artist.answers()[-1] == (
        "3枚目を受け取りました。写真はこれで上限（3枚）です。\n「次へ」で先に進んでください。"
    )
    assert artist.quick_types() == ["次へ", "写真を送り直す", "戻る", "やめる"]
    refused = await artist.send_photo()  # over the limit: the way to change them is said
    assert "「写真を送り直す」を押してください" in artist.answers()[-1]
    assert not await MarketPhoto.filter(line_message_id=refused).exists()

    await artist.tap(artist.button("写真を送り直す"))
    assert "3枚の写真を削除して、はじめから送り直しますか" in artist.text()
    await artist.tap(artist.button("やめておく"))  # nothing changes
    assert len(await attached(artist.app_id)) == 3
    assert "写真を送り直す" in artist.quick_types()

    await artist.tap(artist.button("写真を送り直す"))
    await artist.tap(artist.button("送り直す"))
    assert "写真を削除しました" in artist.text() and "作品の写真を送ってください" in artist.text()
    assert await attached(artist.app_id) == []
    assert not await MarketPhoto.filter(line_message_id=first).exists()
    assert "写真を送り直す" not in artist.quick_types() and "次へ" not in artist.quick_types()
    again = await artist.send_photo()
    assert artist.answers()[-1].startswith("1枚目を受け取りました（あと2枚まで送れます）")
    await assert_nothing_lost(artist, [again])


async def test_unsend_removes_the_photo(artist: Artist, fake_line) -> None:
    first = await artist.send_photo()
    second = await artist.send_photo()
    delivered = len(fake_line.delivered(artist.user_id))
    await artist.post(unsend_event(artist.user_id, first))
    assert await attached(artist.app_id) == [second]
    assert not await MarketPhoto.filter(line_message_id=first).exists()
    assert len(fake_line.delivered(artist.user_id)) == delivered  # quiet: no push
    await artist.post(unsend_event(artist.user_id, "999"))  # not a photo: nothing happens
    assert await attached(artist.app_id) == [second]
    third = await artist.send_photo()
    assert artist.answers()[-1].startswith("2枚目を受け取りました（あと1枚まで送れます）")
    assert await attached(artist.app_id) == [second, third]


# -- what LINE or the artist can get wrong: a clear answer, nothing lost --------------------


async def test_a_file_that_is_not_a_picture(artist: Artist) -> None:
    kept = await artist.send_photo()
    bad = await artist.send_photo("出店者リスト".encode() * 50, content_type="image/jpeg")
    assert "写真として読み取れませんでした" in artist.answers()[-1]
    assert "ここまでの入力内容は保存されています" in artist.answers()[-1]
    assert "いま1枚受け取っています" in artist.answers()[-1]
    assert not await MarketPhoto.filter(line_message_id=bad).exists()
    await assert_nothing_lost(artist, [kept])
    logged = await ChatMessage.get(line_message_id=bad)
    assert logged.kind == ChatKind.OTHER


async def test_an_oversized_file(artist: Artist, fake_line) -> None:
    kept = await artist.send_photo()
    huge = photo_bytes() + b"\x00" * (10 * 1024 * 1024)
    await artist.send_photo(huge)
    assert "サイズが大きすぎる" in artist.answers()[-1]
    assert "10MBまで" in artist.answers()[-1]
    await assert_nothing_lost(artist, [kept])


@pytest.mark.parametrize("status", [404, 410])
async def test_content_gone_at_line(artist: Artist, fake_line, status: int) -> None:
    kept = await artist.send_photo()
    message_id = str(next(_ids))
    fake_line.add_content(message_id, photo_bytes())
    fake_line.fail_next(status, path=f"/{message_id}/content")
    await artist.post(artist.image(message_id))
    assert "もう一度送ってください" in artist.answers()[-1]
    assert content_calls(fake_line, message_id) == 1  # gone is gone: not asked again
    await assert_nothing_lost(artist, [kept])
    # Sent again, it is taken.
    again = await artist.send_photo()
    assert artist.answers()[-1].startswith("2枚目を受け取りました")
    assert await attached(artist.app_id) == [kept, again]


async def test_a_passing_5xx_is_retried_quickly(artist: Artist, fake_line) -> None:
    message_id = str(next(_ids))
    fake_line.add_content(message_id, photo_bytes())
    fake_line.fail_next(500, times=2, path=f"/{message_id}/content")
    await artist.post(artist.image(message_id))
    assert artist.answers()[-1].startswith("1枚目を受け取りました")
    assert content_calls(fake_line, message_id) == 3


async def test_line_failing_for_a_while_is_retried_then_answered(artist: Artist, fake_line) -> None:
    """5xx on every try: the event is retried with backoff (the content fetched again each
    time), then the artist is asked to send it again — once — and nothing is lost."""
    kept = await artist.send_photo()
    message_id = str(next(_ids))
    fake_line.add_content(message_id, photo_bytes())
    fake_line.fail_next(503, times=100, path=f"/{message_id}/content")
    before = len(artist.answers())
    await artist.post(artist.image(message_id))
    answers = artist.answers()[before:]
    assert answers == [
        "写真をうまく受け取れませんでした。お手数ですが、もう一度送ってください。\n"
        "ここまでの入力内容は保存されています。\nいま1枚受け取っています（あと2枚まで送れます）。"
    ]
    # Each attempt fetches again (with its quick retries) before the flow answers.
    assert content_calls(fake_line, message_id) == (
        flow_photos.RETRY_LIMIT * market_intake.QUICK_TRIES
    )
    assert not await MarketPhoto.filter(line_message_id=message_id).exists()
    await assert_nothing_lost(artist, [kept])


async def test_a_line_timeout(client, fake_line, settings: Settings, market: Market) -> None:
    """LINE stalls: the download times out (a short timeout here), the event is retried,
    and a photo that comes through on a retry is taken; one that never does is asked for
    again."""
    quick = settings.with_overrides(line_timeout_seconds=0.3)
    line = LineClient(quick)
    try:
        worker = Worker(quick, line)
        artist = await at_photo_step(client, fake_line, worker, market)
        kept = await artist.send_photo()

        slow = str(next(_ids))
        fake_line.add_content(slow, photo_bytes())
        fake_line.delay_next(1.0, times=2, path=f"/{slow}/content")  # the first round's tries
        await artist.post(artist.image(slow))
        assert artist.answers()[-1].startswith("2枚目を受け取りました")
        assert await attached(artist.app_id) == [kept, slow]

        stuck = str(next(_ids))
        fake_line.add_content(stuck, photo_bytes())
        fake_line.delay_next(1.0, times=100, path=f"/{stuck}/content")
        await artist.post(artist.image(stuck))
        assert artist.answers()[-1].startswith("写真をうまく受け取れませんでした")
        assert not await MarketPhoto.filter(line_message_id=stuck).exists()
        await assert_nothing_lost(artist, [kept, slow])
    finally:
        await line.close()


# -- where the market does not take pictures ---------------------------------------------


async def test_a_picture_outside_the_photo_step_goes_to_the_desk(
    client, fake_line, worker, market: Market, chat_media: Path
) -> None:
    fake_line.add_user("U2", "島 次郎")
    someone = Artist(client, fake_line, worker, "U2")
    message_id = await someone.send_photo(photo_bytes(size=(400, 300)))
    assert "窓口の担当者にお伝えしました" in someone.answers()[-1]
    assert not await MarketPhoto.filter(line_message_id=message_id).exists()
    logged = await ChatMessage.get(line_message_id=message_id)
    assert logged.kind == ChatKind.IMAGE and logged.image_path  # the chat kept it
    assert (chat_media / "in" / logged.image_path).is_file()


async def test_a_photo_after_the_window_closed(artist: Artist, market: Market) -> None:
    """The photo step was asked before the deadline; the photo comes after it: the rules'
    answer (with the dates), the photo not kept, the draft as it was."""
    kept = await artist.send_photo()
    await Market.filter(id=market.id).update(applications_close_at=now() - timedelta(minutes=1))
    late = await artist.send_photo()
    assert "締め切りました" in artist.answers()[-1]
    assert not await MarketPhoto.filter(line_message_id=late).exists()
    assert await attached(artist.app_id) == [kept]
    app = await MarketApplication.get(id=artist.app_id)
    assert app.artist_name == "夜光貝工房"


async def test_a_slow_photo_does_not_hold_back_anyone_elses_answer(
    artist: Artist, client, fake_line, worker: Worker
) -> None:
    """The photo's event waits for its download in a round of its own: a resident who wrote
    at the same moment is answered first, and the photo is then acknowledged as usual."""
    message_id = str(next(_ids))
    fake_line.add_content(message_id, photo_bytes())
    fake_line.delay_next(1.5, path=f"/message/{message_id}/content")
    fake_line.add_user("U2", "名瀬 太郎")
    texted = events.text("U2", fake_line.issue_reply_token("U2"), "メニュー")
    response = await events.post(client, "test-channel-secret", artist.image(message_id), texted)
    assert response.status_code == 200
    await artist.settle()
    [answer] = fake_line.delivered("U2")
    ack = fake_line.delivered(artist.user_id)[-1]
    assert ack.messages[0]["text"].startswith("1枚目を受け取りました")
    assert answer.seq < ack.seq
    assert await attached(artist.app_id) == [message_id]
