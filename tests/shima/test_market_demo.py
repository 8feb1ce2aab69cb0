"""`shima seed-demo`'s ハンドメイドマーケット (shima/domain/market_demo.py): a published market open
for applications now with free booths and photos required, the next one coming, and nothing
added twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.market import DEFAULT_CATEGORIES, Market, MarketStatus
from shima import areas
from shima.domain import market as rules
from shima.domain import market_demo
from shima.timeutil import JST, now
from tests.line_app import conftest as line_fixtures
from tests.line_app.test_consult_flow import Resident_

# The LINE side's fixtures (a worker answering through the fake LINE platform).
line = line_fixtures.line
worker = line_fixtures.worker


async def test_seeds_an_open_market_and_the_next_one_once(db: str) -> None:
    assert await market_demo.seed_demo() == "マーケット 2件"
    markets = await Market.all().order_by("starts_at")
    assert [m.name for m in markets] == [d.name for d in market_demo.MARKETS]

    assert await market_demo.seed_demo() == ""  # idempotent
    assert await Market.all().count() == 2


async def test_the_demo_market_is_open_now_with_free_booths_and_photos_required(db: str) -> None:
    await market_demo.seed_demo()
    market = await Market.get(name=market_demo.MARKETS[0].name)
    assert market.status == MarketStatus.PUBLISHED
    assert market.applications_open_at < now() < market.applications_close_at
    assert rules.is_open(market)
    assert [m.id for m in await rules.open_markets()] == [market.id]
    assert market.booths == 30 and market.booths_taken == 0 and market.booths_left == 30
    assert market.booth_fee == 1500 and market.fee_text == "1ブース 1,500円"
    assert market.photos_min == 1 and market.photos_max == 3
    assert market.allow_two_booths
    assert market.categories == list(DEFAULT_CATEGORIES)
    assert "AiAi" in market.venue and market.notes

    # Held about six weeks ahead, on a Sunday, 10:00–16:00, after the window closes; the fee
    # is due after the window and before the day.
    start, end = market.starts_at.astimezone(JST), market.ends_at.astimezone(JST)
    assert now() + timedelta(days=41) < market.starts_at < now() + timedelta(days=50)
    assert start.weekday() == 6 and (start.hour, end.hour) == (10, 16)
    assert start.date() == end.date()
    assert market.applications_close_at < market.starts_at
    assert market.fee_due_on is not None
    assert market.applications_close_at.astimezone(JST).date() < market.fee_due_on < start.date()


async def test_the_next_market_opens_later(db: str) -> None:
    await market_demo.seed_demo()
    first, later = await Market.all().order_by("starts_at")
    assert later.status == MarketStatus.PUBLISHED and not rules.is_open(later)
    assert [m.id for m in await rules.upcoming_markets()] == [later.id]
    assert now() < later.applications_open_at < later.applications_close_at < later.starts_at
    assert first.starts_at < later.applications_open_at  # after the first market is over
    assert later.booths_left == later.booths > 0 and later.photos_min >= 1


async def test_a_later_run_adds_new_markets_once_the_windows_are_past(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await market_demo.seed_demo()
    later = now() + timedelta(days=200)
    monkeypatch.setattr(market_demo, "now", lambda: later)
    monkeypatch.setattr(market_demo, "today_jst", lambda: later.astimezone(JST).date())
    assert await market_demo.seed_demo() == "マーケット 2件"
    assert await market_demo.seed_demo() == ""
    open_then = await Market.filter(applications_open_at__lt=later, applications_close_at__gt=later)
    assert [m.name for m in open_then] == [market_demo.MARKETS[0].name]


async def test_shima_seed_demo_includes_the_market_area(db: str) -> None:
    summary = await areas.seed_demo()
    assert "マーケット 2件" in summary, summary
    assert await areas.seed_demo() == []


def test_market_day_is_the_sunday_on_or_after_the_anchor() -> None:
    assert market_demo.market_day(date(2026, 12, 7)) == date(2026, 12, 13)  # a Monday
    assert market_demo.market_day(date(2026, 12, 13)) == date(2026, 12, 13)  # a Sunday


async def test_the_demo_shows_in_line_at_once(client, fake_line, worker) -> None:
    """`make run`: 「マーケット」 lists the open demo market and the next one coming, and an
    application can be started at once."""
    await market_demo.seed_demo()
    fake_line.add_user("U1", "奄美 花子")
    artist = Resident_(client, fake_line, worker, "U1")
    await artist.say("マーケット")
    shown = artist.text()
    first, later = market_demo.MARKETS
    assert first.name in shown and "AiAi ひろば" in shown and "1ブース 1,500円" in shown
    assert later.name in shown  # the next one, with its window
    await artist.tap(artist.button("申し込む"))
    assert "出店者名・屋号を教えてください" in artist.text()
