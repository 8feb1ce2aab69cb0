"""Demo data of 寺子屋・交流会 (shima seed-demo): a 寺子屋 course, a 交流会 and a workshop, each
with upcoming published sessions that have free seats and 託児 places, and two published news
items for イベント・お知らせ — so `make run` shows the sign-up flow at once.

Idempotent: a programme is found by its title; its sessions are planned only while it has no
upcoming published session (running it again adds nothing while the demo's sessions are still to
come, and plans new ones once they are past); a news item is found by its title."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from models.course import NewsItem, Programme, ProgrammeKind, ProgrammeSession, SessionStatus
from shima.domain import course as rules
from shima.domain.calendar import closed_days
from shima.domain.course import SessionSpec
from shima.timeutil import jst_datetime, now, today_jst

INNO = "WorkStyle Lab Inno"
DEMO_MEETING_URL = "https://meet.example.jp/shima-terakoya"
# A programme's first session is 8 to 14 days ahead (on its weekday), the others one or two
# weeks later: all within four weeks, unless a holiday moves one to the next open day.
FIRST_DAYS = 8


@dataclass(frozen=True)
class DemoSession:
    weeks: int  # weeks after the programme's first session
    start: time
    minutes: int
    seats: int
    childcare: int
    online: bool = False


@dataclass(frozen=True)
class DemoProgramme:
    kind: ProgrammeKind
    title: str
    description: str
    instructor: str
    audience: str
    fee: int
    weekday: int  # 0 = Monday
    sessions: tuple[DemoSession, ...]


PROGRAMMES = (
    DemoProgramme(
        kind=ProgrammeKind.TERAKOYA,
        title="フリーランス寺子屋：伝わる文章の書き方",
        description=(
            "プロフィール文、ブログ、提案書。読み手に伝わる文章の組み立て方を、"
            "実際に書きながら学びます。パソコンかスマートフォンをお持ちください。"
        ),
        instructor="山田 みさき（ライター・編集者）",
        audience="文章を書く仕事を始めたい方、SNS やブログの発信に悩んでいる方（初心者歓迎）",
        fee=0,
        weekday=1,  # Tuesday
        sessions=(
            DemoSession(0, time(10), 120, seats=12, childcare=4),
            DemoSession(1, time(14), 90, seats=30, childcare=0, online=True),
            DemoSession(2, time(10), 120, seats=12, childcare=4),
        ),
    ),
    DemoProgramme(
        kind=ProgrammeKind.MEETUP,
        title="島フリーランス交流会",
        description=(
            "島で働くフリーランスや、これから始めたい方が集まる交流会です。"
            "自己紹介のあと、仕事の話・子育てとの両立・島での暮らしについて気軽に話しましょう。"
            "お茶とお菓子つき。"
        ),
        instructor="WorkStyle Lab Inno コミュニティマネージャー",
        audience="島で働くフリーランスの方、これから始めたい方、副業中の方",
        fee=500,
        weekday=4,  # Friday
        sessions=(
            DemoSession(0, time(15), 120, seats=20, childcare=5),
            DemoSession(2, time(15), 120, seats=20, childcare=5),
        ),
    ),
    DemoProgramme(
        kind=ProgrammeKind.WORKSHOP,
        title="ハンドメイド作品の写真の撮り方ワークショップ",
        description=(
            "スマートフォンだけで、ネットショップや SNS に載せる作品写真をきれいに撮るコツを"
            "練習します。撮りたい作品を1〜2点お持ちください。"
        ),
        instructor="元田 さとし（フォトグラファー）",
        audience="ハンドメイド作品を販売している方、これから販売したい方",
        fee=0,
        weekday=5,  # Saturday
        sessions=(
            DemoSession(0, time(13, 30), 120, seats=8, childcare=3),
            DemoSession(1, time(13, 30), 120, seats=8, childcare=3),
        ),
    ),
)

NEWS = (
    (
        "寺子屋・交流会の申込みを LINE で受け付けています",
        "メニューの「寺子屋・交流会」から、日程を選んでお申し込みいただけます。"
        "満席の回はキャンセル待ちに登録でき、空きが出たら LINE でお知らせします。"
        "託児つきの回は、お子さまの人数と年齢をお知らせください。",
    ),
    (
        "WorkStyle Lab Inno のコワーキングスペースをご利用ください",
        "講座や交流会のない時間は、コワーキングスペースとしてご利用いただけます。"
        "ご利用の方法は窓口でご案内します。",
    ),
)


def session_day(anchor: date, weekday: int, weeks: int) -> date:
    """The `weekday` on or after `anchor`, `weeks` later."""
    return anchor + timedelta(days=(weekday - anchor.weekday()) % 7 + 7 * weeks)


async def _has_upcoming(programme: Programme) -> bool:
    return await ProgrammeSession.exists(
        programme_id=programme.id, status=SessionStatus.PUBLISHED, starts_at__gt=now()
    )


async def demo_programme(demo: DemoProgramme) -> tuple[Programme, bool]:
    """The demo programme, found by its title, or made now (then True)."""
    found = await Programme.get_or_none(title=demo.title)
    if found is not None:
        return found, False
    made = await Programme.create(
        kind=demo.kind,
        title=demo.title,
        description=demo.description,
        instructor=demo.instructor,
        audience=demo.audience,
        fee=demo.fee,
    )
    return made, True


async def _seed_programme(demo: DemoProgramme, closed: set[date], anchor: date) -> int:
    programme, made = await demo_programme(demo)
    if not made and (programme.is_archived or await _has_upcoming(programme)):
        return 0
    created = 0
    for plan in demo.sessions:
        day = session_day(anchor, demo.weekday, plan.weeks)
        while day in closed:  # a holiday or a closure: the next open day instead
            day += timedelta(days=1)
        starts_at = jst_datetime(day, plan.start)
        spec = SessionSpec(
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=plan.minutes),
            seats=plan.seats,
            childcare_places=plan.childcare,
            deadline=jst_datetime(day - timedelta(days=1), time(17)),  # the day before, 17:00
            venue="" if plan.online else INNO,
            online=plan.online,
            online_url=DEMO_MEETING_URL if plan.online else "",
            status=SessionStatus.PUBLISHED,
        )
        await rules.create_session(programme, spec)
        created += 1
    return created


async def _seed_news() -> int:
    created = 0
    for index, (title, body) in enumerate(NEWS):
        if await NewsItem.exists(title=title):
            continue
        await NewsItem.create(
            title=title,
            body=body,
            is_published=True,
            published_at=now() - timedelta(days=index + 1),
        )
        created += 1
    return created


async def seed_demo() -> str:
    """Creates what is missing and says what it added (Japanese), "" when nothing."""
    anchor = today_jst() + timedelta(days=FIRST_DAYS)
    closed = set(await closed_days(anchor, anchor + timedelta(days=35)))
    sessions = 0
    for demo in PROGRAMMES:
        sessions += await _seed_programme(demo, closed, anchor)
    news = await _seed_news()
    parts = []
    if sessions:
        parts.append(f"寺子屋・交流会 {sessions}回")
    if news:
        parts.append(f"お知らせ {news}件")
    return ", ".join(parts)
