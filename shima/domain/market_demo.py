"""Demo data of ハンドメイドマーケット (shima seed-demo): a market whose application window is open
now, with free booths and photos of the work required — so `make run` shows the artists' flow
in LINE at once — and the next one, whose window opens later (the list shows it as coming).

Idempotent: a demo market is found by its name among the markets whose window has not closed
yet; running it again adds nothing while they are still to come, and adds new ones once their
windows are past."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from models.market import DEFAULT_CATEGORIES, Market
from shima.domain import market as rules
from shima.domain.market import MarketSpec
from shima.timeutil import jst_datetime, now, today_jst


@dataclass(frozen=True)
class DemoMarket:
    name: str
    venue: str
    held_in_days: int  # the market is on the first Sunday at least this many days ahead
    opens_in_days: int  # the application window opens this many days from today (< 0: ago)
    closes_in_days: int
    booths: int
    booth_fee: int
    allow_two_booths: bool
    notes: str
    fee_due_days_before: int = 14  # the payment deadline, days before the market


MARKETS = (
    DemoMarket(
        name="あまみハンドメイドマーケット",
        venue="AiAi ひろば（奄美市名瀬末広町）",
        held_in_days=42,
        opens_in_days=-3,
        closes_in_days=20,
        booths=30,
        booth_fee=1500,
        allow_two_booths=True,
        notes=(
            "島で作られた手作りの品の即売会です。はじめての方も歓迎します。\n"
            "作品の写真（1〜3枚）を LINE で送ってください。審査の結果は締切のあと LINE で"
            "お知らせします。\n"
            "出店料は採択のご連絡のあと、お支払い期限までに窓口でお支払いください。"
            "机・椅子と電源の貸出は数に限りがあります。雨天の場合は屋根のある場所に移って開催します。"
        ),
    ),
    DemoMarket(
        name="名瀬まちなかハンドメイドマルシェ",
        venue="奄美市役所前 広場（奄美市名瀬幸町）",
        held_in_days=120,
        opens_in_days=50,
        closes_in_days=80,
        booths=24,
        booth_fee=1500,
        allow_two_booths=False,
        notes=(
            "市役所前の広場で開く、青空のハンドメイドマルシェです。"
            "受付が始まったら、メニューの「ハンドメイドマーケット」からお申し込みください。"
        ),
    ),
)

OPENS_AT = time(9)  # the window opens at 9:00 and closes at 17:00 (JST)
CLOSES_AT = time(17)
HOURS = (time(10), time(16))  # the market day


def market_day(anchor: date) -> date:
    """The first Sunday on or after `anchor`."""
    return anchor + timedelta(days=(6 - anchor.weekday()) % 7)


async def _seed_market(demo: DemoMarket, today: date) -> bool:
    if await Market.exists(name=demo.name, applications_close_at__gt=now()):
        return False
    day = market_day(today + timedelta(days=demo.held_in_days))
    spec = MarketSpec(
        name=demo.name,
        starts_at=jst_datetime(day, HOURS[0]),
        ends_at=jst_datetime(day, HOURS[1]),
        venue=demo.venue,
        applications_open_at=jst_datetime(today + timedelta(days=demo.opens_in_days), OPENS_AT),
        applications_close_at=jst_datetime(today + timedelta(days=demo.closes_in_days), CLOSES_AT),
        booths=demo.booths,
        booth_fee=demo.booth_fee,
        fee_due_on=day - timedelta(days=demo.fee_due_days_before),
        categories=DEFAULT_CATEGORIES,
        photos_min=1,
        photos_max=3,
        allow_two_booths=demo.allow_two_booths,
        notes=demo.notes,
    )
    market = await rules.create_market(spec)
    await rules.publish(market.id)
    return True


async def seed_demo() -> str:
    """Creates what is missing and says what it added (Japanese), "" when nothing."""
    today = today_jst()
    added = 0
    for demo in MARKETS:
        added += await _seed_market(demo, today)
    return f"マーケット {added}件" if added else ""
