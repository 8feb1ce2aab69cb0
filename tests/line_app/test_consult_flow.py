"""相談予約 through LINE: signed webhooks in, messages at the fake LINE platform out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qsl

import httpx2
import pytest

from line_app.fake_line import FakeLinePlatform
from models.consultation import Booking, BookingStatus, ConsultationSlot
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.timeutil import now
from shima.worker import Worker
from tests.line_app import events

SECRET = "test-channel-secret"


class Resident_:
    """One resident tapping through LINE."""

    def __init__(
        self, client: httpx2.AsyncClient, fake: FakeLinePlatform, worker: Worker, user_id: str
    ) -> None:
        self.client, self.fake, self.worker, self.user_id = client, fake, worker, user_id

    async def send(self, event: dict) -> None:
        response = await events.post(self.client, SECRET, event)
        assert response.status_code == 200
        await self.worker.drain()
        await self.worker.drain()

    async def say(self, words: str) -> None:
        await self.send(events.text(self.user_id, self.fake.issue_reply_token(self.user_id), words))

    async def tap(self, data: str) -> None:
        await self.send(
            events.postback(self.user_id, self.fake.issue_reply_token(self.user_id), data)
        )

    @property
    def last(self) -> list[dict]:
        return self.fake.delivered(self.user_id)[-1].messages

    def actions(self) -> list[dict]:
        """Every tappable action in the last answer (quick replies, buttons, Flex)."""
        found: list[dict] = []

        def walk(node: object) -> None:
            if isinstance(node, dict):
                if node.get("type") in ("postback", "message", "uri", "datetimepicker") and (
                    "label" in node
                ):
                    found.append(node)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.last)
        return found

    def button(self, label: str) -> str:
        for action in self.actions():
            if action["label"] == label:
                return action["data"]
        raise AssertionError(f"no {label!r} in {[a['label'] for a in self.actions()]}")

    def first_button_with(self, key: str, value: str | None = None) -> str:
        for action in self.actions():
            params = dict(parse_qsl(action.get("data", "")))
            if params.get("step") == key and (value is None or value in action["data"]):
                return action["data"]
        raise AssertionError(f"no step={key} in {[a.get('data') for a in self.actions()]}")

    def text(self) -> str:
        """Every text the last answer shows (plain texts, alt texts, Flex texts)."""
        found: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, dict):
                for key in ("text", "altText"):
                    if isinstance(node.get(key), str):
                        found.append(node[key])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.last)
        return "\n".join(found)


async def make_slots(count: int = 3, hours_ahead: int = 30) -> list[ConsultationSlot]:
    start = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
    slots = []
    for i in range(count):
        s = start + timedelta(hours=i)
        slots.append(
            await ConsultationSlot.create(
                starts_at=s,
                ends_at=s + timedelta(minutes=50),
                counsellor="田中",
                methods="visit,online,phone",
            )
        )
    return slots


@pytest.fixture
def resident(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


def slot_buttons(r: Resident_) -> list[str]:
    return [a["data"] for a in r.actions() if "step=slot" in a.get("data", "")]


async def book_through(
    r: Resident_, note: str | None = "単価の決め方を相談したい", pick: int = 0
) -> str:
    await r.say("予約")
    assert "ご相談の内容をお選びください" in r.text()
    await r.tap(r.button("開業・独立"))
    await r.tap(r.first_button_with("date"))
    await r.tap(slot_buttons(r)[pick])
    await r.tap(r.button("来所"))
    assert "ひとことお聞かせください" in r.text()
    if note is None:
        await r.tap(r.button("スキップ"))
    else:
        await r.say(note)
    assert "この内容で予約しますか" in r.text()
    return r.button("予約を確定する")


async def test_books_a_consultation_end_to_end(resident: Resident_) -> None:
    [slot, *_] = await make_slots()
    confirm = await book_through(resident)
    await resident.tap(confirm)
    assert "ご予約を承りました" in resident.text()
    [delivery] = resident.fake.delivered("U1")[-1:]
    assert delivery.via == "reply"  # confirmations are replies: no message quota
    card = str(delivery.messages)
    assert "来所" in card and "地図を開く" in card and "マイページ" in card
    booking = await Booking.get().select_related("slot", "resident")
    assert booking.slot.id == slot.id
    assert booking.note == "単価の決め方を相談したい"
    assert booking.resident.line_user_id == "U1"
    assert (await ConsultationSlot.get(id=slot.id)).booked_count == 1


async def test_back_and_stop_at_every_step(resident: Resident_) -> None:
    await make_slots()
    await resident.say("相談")
    await resident.tap(resident.button("スキルアップ"))
    await resident.tap(resident.button("戻る"))
    assert "ご相談の内容をお選びください" in resident.text()
    await resident.tap(resident.button("スキルアップ"))
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.button("戻る"))
    assert "ご希望の日をお選びください" in resident.text()
    await resident.tap(resident.first_button_with("date"))
    await resident.tap(resident.first_button_with("slot"))
    await resident.tap(resident.button("オンライン"))
    await resident.say("戻る")
    assert "方法をお選びください" in resident.text()
    await resident.tap(resident.button("やめる"))
    assert "中止しました" in resident.text()
    assert await Booking.all().count() == 0


async def test_slot_taken_since_gets_nearest_times(
    resident: Resident_, client, fake_line, worker
) -> None:
    slots = await make_slots()
    confirm = await book_through(resident, note=None)
    other = Resident_(client, fake_line, worker, "U2")
    other_confirm = await book_through(other, note=None)
    await other.tap(other_confirm)  # the other resident takes the slot first
    await resident.tap(confirm)
    assert "申し訳ありません、この枠は埋まりました" in resident.text()
    offered = [a for a in resident.actions() if "step=slot" in a.get("data", "")]
    assert offered and all(f"s={slots[0].id}&" not in a["data"] + "&" for a in offered)
    assert await Booking.filter(resident__line_user_id="U1").count() == 0


async def test_double_tap_books_once_and_confirms_once(resident: Resident_) -> None:
    await make_slots()
    confirm = await book_through(resident)
    before = len(resident.fake.delivered("U1"))
    taps = [events.postback("U1", resident.fake.issue_reply_token("U1"), confirm) for _ in range(5)]
    responses = await asyncio.gather(*(events.post(resident.client, SECRET, t) for t in taps))
    assert all(r.status_code == 200 for r in responses)
    await resident.worker.drain()
    await resident.worker.drain()
    assert await Booking.all().count() == 1
    new = resident.fake.delivered("U1")[before:]
    assert len(new) == 1 and "ご予約を承りました" in str(new[0].messages)


async def test_twenty_residents_one_slot_exactly_one_booking(client, fake_line, worker) -> None:
    [slot] = await make_slots(1)
    people = [Resident_(client, fake_line, worker, f"U{i:02d}") for i in range(20)]
    confirms = []
    for person in people:
        confirms.append(await book_through(person, note=None))
    taps = [
        events.postback(p.user_id, fake_line.issue_reply_token(p.user_id), c)
        for p, c in zip(people, confirms, strict=True)
    ]
    responses = await asyncio.gather(*(events.post(client, SECRET, t) for t in taps))
    assert [r.status_code for r in responses] == [200] * 20
    await worker.drain()
    await worker.drain()
    assert await Booking.filter(slot_id=slot.id, status=BookingStatus.BOOKED).count() == 1
    assert (await ConsultationSlot.get(id=slot.id)).booked_count == 1
    answers = [p.text() for p in people]
    assert sum("ご予約を承りました" in a for a in answers) == 1
    assert sum("この枠は埋まりました" in a for a in answers) == 19


async def test_at_most_two_upcoming_bookings(resident: Resident_) -> None:
    await make_slots(3)
    await resident.tap(await book_through(resident, note=None))
    # Two attempts reach the summary while the resident holds one booking: the rule holds
    # again at 確定.
    second = await book_through(resident, note=None)
    await resident.tap("flow=menu")  # leaves the summary waiting; its 確定 button still works
    third = await book_through(resident, note=None, pick=1)
    await resident.tap(second)
    assert "ご予約を承りました" in resident.text()
    await resident.tap(third)
    assert "2件まで" in resident.text()
    assert await Booking.all().count() == 2


async def test_the_limit_is_told_when_the_flow_starts(resident: Resident_) -> None:
    await make_slots(3)
    for _ in range(2):
        await resident.tap(await book_through(resident, note=None))
    for start in (lambda: resident.say("予約"), lambda: resident.tap("flow=consult")):
        await start()
        answer = resident.text()
        assert "2件まで" in answer and "ご相談の内容をお選びください" not in answer
        # Their bookings, each with its cancel button, so they can make room.
        assert "ご予約 2件" in answer
        cancels = [a for a in resident.actions() if a["label"] == "キャンセルする"]
        assert len(cancels) == 2
    await resident.tap(cancels[0]["data"])
    await resident.tap(resident.button("キャンセルする"))
    await resident.say("予約")
    assert "ご相談の内容をお選びください" in resident.text()


async def test_booking_closes_before_the_start(resident: Resident_) -> None:
    await make_slots(1, hours_ahead=1)  # starts within the 2-hour cut-off
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    assert "すべて埋まっています" in resident.text()


async def test_mypage_lists_and_cancel_frees_the_slot(
    resident: Resident_, client, fake_line, worker
) -> None:
    [slot] = await make_slots(1)
    await resident.tap(await book_through(resident, note=None))
    await resident.say("予約の確認")
    assert "ご予約 1件" in resident.text()
    await resident.tap(resident.button("キャンセルする"))
    assert "キャンセルしますか" in resident.text()
    await resident.tap(resident.button("キャンセルする"))
    assert "キャンセルしました" in resident.text()
    assert (await ConsultationSlot.get(id=slot.id)).booked_count == 0
    # Bookable again at once: by the same resident and then (after they cancel) another.
    await resident.tap(await book_through(resident, note=None))
    assert "ご予約を承りました" in resident.text()
    booking = await Booking.get(status=BookingStatus.BOOKED)
    await resident.tap(f"flow=consult&step=cancel_yes&b={booking.id}")
    other = Resident_(client, fake_line, worker, "U2")
    await other.tap(await book_through(other, note=None))
    assert "ご予約を承りました" in other.text()
    assert await Booking.filter(slot_id=slot.id, status=BookingStatus.BOOKED).count() == 1


async def test_forged_postback_cannot_cancel_anothers_booking(
    resident: Resident_, client, fake_line, worker
) -> None:
    await make_slots(1)
    await resident.tap(await book_through(resident, note=None))
    booking = await Booking.get()
    intruder = Resident_(client, fake_line, worker, "U666")
    await intruder.tap(f"flow=consult&step=cancel_yes&b={booking.id}")
    assert "見つかりませんでした" in intruder.text()
    await intruder.tap(f"flow=consult&step=cancel&b={booking.id}")
    assert (await Booking.get()).status == BookingStatus.BOOKED


async def test_reminder_is_queued_once_and_not_for_cancelled(resident: Resident_, settings) -> None:
    slots = await make_slots(2, hours_ahead=20)
    for _ in range(2):
        await resident.tap(await book_through(resident, note=None))
    bookings = await Booking.all().order_by("id")
    await Booking.filter(id__in=[b.id for b in bookings]).update(
        created_at=now() - timedelta(days=3)
    )
    await resident.tap(f"flow=consult&step=cancel_yes&b={bookings[1].id}")
    # Pretend it is past 18:00 the evening before.
    late = settings.with_overrides(reminder_hour_jst=0)
    w1 = Worker(late, resident.worker.line)
    w2 = Worker(late, resident.worker.line)
    counts = await asyncio.gather(w1.run_schedule_once(), w2.run_schedule_once())
    counts += (await w1.run_schedule_once(),)
    assert sum(counts) == 1
    await resident.worker.drain()
    reminders = await OutboxMessage.filter(kind="reminder")
    assert len(reminders) == 1 and reminders[0].dedupe_key == f"reminder:booking:{bookings[0].id}"
    assert "明日のご相談" in resident.text()
    assert resident.fake.delivered("U1")[-1].via == "push"
    assert slots  # both slots existed; only the active booking was reminded


async def test_resident_row_shared_with_admin(resident: Resident_) -> None:
    await make_slots(1)
    await resident.tap(await book_through(resident, note=None))
    assert await Resident.filter(line_user_id="U1").count() == 1


async def test_reminder_survives_a_worker_dying_mid_run(
    resident: Resident_, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_slots(1, hours_ahead=20)
    await resident.tap(await book_through(resident, note=None))
    await Booking.all().update(created_at=now() - timedelta(days=3))
    late = settings.with_overrides(reminder_hour_jst=0)

    from line_app import outbox

    real_enqueue = outbox.enqueue

    async def dies(*args, **kwargs):  # the process dies after claiming, before queueing
        raise SystemError("killed")

    monkeypatch.setattr(outbox, "enqueue", dies)
    with pytest.raises(SystemError):
        await Worker(late, resident.worker.line).run_schedule_once()
    assert (await Booking.get()).reminder_queued_at is None  # rolled back with the crash

    monkeypatch.setattr(outbox, "enqueue", real_enqueue)
    restarted = Worker(late, resident.worker.line)
    assert await restarted.run_schedule_once() == 1
    assert await restarted.run_schedule_once() == 0
    assert await OutboxMessage.filter(kind="reminder").count() == 1


async def test_closed_days_are_never_offered(resident: Resident_) -> None:
    from models.consultation import Closure
    from shima.timeutil import JST

    [slot] = await make_slots(1, hours_ahead=30)
    day = slot.starts_at.astimezone(JST).date()
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    assert day.strftime("%Y%m%d") in str(resident.actions())
    await Closure.create(date=day, reason="施設点検")
    await resident.say("予約")
    await resident.tap(resident.button("開業・独立"))
    assert "すべて埋まっています" in resident.text()
    # A button shown before the closure was entered cannot book it either.
    await resident.tap(f"flow=consult&step=slot&t=start&s={slot.id}")
    assert "この枠は埋まりました" in resident.text()
    assert await Booking.all().count() == 0


async def test_confirm_tapped_after_the_cut_off_does_not_book(resident: Resident_) -> None:
    later = await make_slots(2, hours_ahead=50)
    [slot] = await make_slots(1, hours_ahead=30)
    confirm = await book_through(resident, note=None)
    assert f"s={slot.id}&" in confirm + "&"
    # Time passes while the summary waits: the slot now starts within the cut-off.
    starts = now() + timedelta(hours=1)
    await ConsultationSlot.filter(id=slot.id).update(
        starts_at=starts, ends_at=starts + timedelta(minutes=50)
    )
    await resident.tap(confirm)
    assert "この枠は受付を終了しました" in resident.text()
    assert "近い日時で、次の枠が空いています" in resident.text()
    offered = {dict(parse_qsl(a["data"])).get("s") for a in resident.actions() if "data" in a}
    assert {str(s.id) for s in later} <= offered and str(slot.id) not in offered
    assert await Booking.all().count() == 0
    assert (await ConsultationSlot.get(id=slot.id)).booked_count == 0


async def test_confirm_tapped_after_a_closure_was_added_does_not_book(
    resident: Resident_,
) -> None:
    from models.consultation import Closure
    from shima.timeutil import JST

    [slot] = await make_slots(1, hours_ahead=30)
    [elsewhere] = await make_slots(1, hours_ahead=30 + 24 * 7)
    confirm = await book_through(resident, note=None)
    await Closure.create(date=slot.starts_at.astimezone(JST).date(), reason="施設点検")
    await resident.tap(confirm)
    assert "休館日（施設点検）のため、この枠は予約できません" in resident.text()
    assert f"s={elsewhere.id}" in str(resident.actions())
    assert await Booking.all().count() == 0
    assert (await ConsultationSlot.get(id=slot.id)).booked_count == 0
