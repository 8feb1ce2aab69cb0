"""Display names: a hung profile API never holds other residents' answers back, and names
LINE did not give in time are filled in later (line_app.profiles)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx2
import pytest

from line_app import profiles
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.residents import Resident
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.line_app import events

SECRET = "test-channel-secret"
HUNG_SECONDS = 30.0


@pytest.fixture
async def patient_worker(settings: Settings) -> AsyncIterator[Worker]:
    # A LINE client that would wait for a hung call much longer than a batch may.
    line = LineClient(settings.with_overrides(line_timeout_seconds=20.0))
    yield Worker(settings, line)
    await line.close()


def profile_calls(fake: FakeLinePlatform, user_id: str) -> int:
    return sum(1 for c in fake.calls if c.path.endswith(f"/v2/bot/profile/{user_id}"))


async def test_a_hung_profile_api_does_not_hold_others_back(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, patient_worker: Worker
) -> None:
    fake_line.add_user("U1", "龍郷 みどり")
    fake_line.delay_next(HUNG_SECONDS, times=5, path="/v2/bot/profile/")
    follow = events.follow("U1", fake_line.issue_reply_token("U1"))
    other = events.text("U2", fake_line.issue_reply_token("U2"), "メニュー")
    assert (await events.post(client, SECRET, follow, other)).status_code == 200

    started = time.monotonic()
    await patient_worker.drain(timeout=HUNG_SECONDS)
    elapsed = time.monotonic() - started

    # The batch waited about FOLLOW_WAIT for the name, not the hung call's 30 s.
    assert elapsed < 5, elapsed
    assert fake_line.delivered("U2"), "the other resident was not answered"
    [greeting] = fake_line.delivered("U1")
    assert greeting.messages[0]["text"].startswith("友だち追加ありがとうございます")
    assert (await Resident.get(line_user_id="U1")).display_name == ""

    # LINE answers again: the name is filled in with the scheduled jobs.
    fake_line.clear_failures()
    await patient_worker.run_schedule_once()
    resident = await Resident.get(line_user_id="U1")
    assert resident.display_name == "龍郷 みどり"
    assert resident.name_checked_at is not None


async def test_names_are_filled_for_residents_who_never_followed(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    # Friends from before the bot existed write without a follow event first.
    fake_line.add_user("U3", "住用 一郎")
    await events.post(client, SECRET, events.text("U3", fake_line.issue_reply_token("U3"), "x"))
    await worker.drain()
    assert (await Resident.get(line_user_id="U3")).display_name == ""
    await worker.run_schedule_once()
    assert (await Resident.get(line_user_id="U3")).display_name == "住用 一郎"


async def test_a_resident_line_gives_no_name_for_is_asked_again_only_later(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> None:
    await events.post(client, SECRET, events.follow("U404", fake_line.issue_reply_token("U404")))
    await worker.drain()
    calls = profile_calls(fake_line, "U404")
    await worker.run_schedule_once()
    await worker.run_schedule_once()
    assert profile_calls(fake_line, "U404") == calls + 1  # asked once, then left alone
    await Resident.filter(line_user_id="U404").update(
        name_checked_at=now() - profiles.RECHECK_AFTER - timedelta(minutes=1)
    )
    await worker.run_schedule_once()
    assert profile_calls(fake_line, "U404") == calls + 2


async def test_a_name_set_by_a_follow_is_not_overwritten(
    fake_line: FakeLinePlatform, line: LineClient, db: str
) -> None:
    resident = await Resident.create(line_user_id="U7", display_name="")
    fake_line.add_user("U7", "新しい 名前")
    await Resident.filter(id=resident.id).update(display_name="フォロー時の名前")
    assert await profiles.fill_missing(line) == 0
    assert (await Resident.get(id=resident.id)).display_name == "フォロー時の名前"
