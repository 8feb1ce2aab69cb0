"""A session's roster and attendance at the door, through the ASGI app: order and 託児
totals, cancel with a reason (the resident told, the seat offered to the first waiting),
promote by hand, 参加者にメッセージ (cost first, sent once under a double submit),
attendance mark/undo/walk-in, forged ids, CSRF, and the resident's page."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta

import httpx2
import pytest
from starlette.routing import Mount, Route
from tortoise.transactions import in_transaction

from models.audit import AuditLog
from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import course as rules
from shima.settings import Settings
from shima.timeutil import jst_datetime, today_jst
from tests.admin.conftest import page_csrf

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FIRST_DAY = today_jst() + timedelta(days=20)
SESSION_START = jst_datetime(FIRST_DAY + timedelta(days=10), time(13))


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """10:00 JST, days before the session (daytime: offers go out at once)."""
    c = Clock(jst_datetime(FIRST_DAY, time(10)))
    monkeypatch.setattr(rules, "now", c)
    return c


async def make_session(seats: int = 2, childcare: int = 4) -> ProgrammeSession:
    programme = await Programme.create(
        kind=ProgrammeKind.TERAKOYA, title="はじめてのWeb制作", instructor="山田 太郎"
    )
    return await ProgrammeSession.create(
        programme=programme,
        starts_at=SESSION_START,
        ends_at=SESSION_START + timedelta(hours=2),
        seats=seats,
        childcare_places=childcare,
        deadline=SESSION_START,
        status=SessionStatus.PUBLISHED,
    )


async def resident(name: str, *, following: bool = True) -> Resident:
    return await Resident.create(
        line_user_id="U" + uuid.uuid4().hex, display_name=name, is_following=following
    )


async def sign_up(
    clock: Clock, who: Resident, session: ProgrammeSession, children: int = 0, ages: str = ""
) -> Registration:
    clock.at += timedelta(minutes=1)  # arrival order
    async with in_transaction():
        outcome = await rules.register(
            who,
            rules.SignUp(session.id, children=children, children_ages=ages),
            Settings(),
        )
    assert outcome.registration is not None
    return outcome.registration


def roster(session: ProgrammeSession) -> str:
    return f"/admin/programmes/sessions/{session.id}/registrations"


def attendance(session: ProgrammeSession) -> str:
    return f"/admin/programmes/sessions/{session.id}/attendance"


def session_path(session: ProgrammeSession) -> str:
    return f"/admin/programmes/sessions/{session.id}"


async def status(reg: Registration) -> RegistrationStatus:
    return (await Registration.get(id=reg.id)).status


async def kinds(who: Resident) -> list[str]:
    return [m.kind for m in await OutboxMessage.filter(line_user_id=who.line_user_id)]


async def full_house(clock: Clock) -> tuple[ProgrammeSession, list[Registration]]:
    """Two seats taken (the first with two children), two waiting (the first with one)."""
    session = await make_session()
    people = [await resident(name) for name in ("奄美 花子", XSS, "喜界 一郎", "徳之島 さくら")]
    regs = [
        await sign_up(clock, people[0], session, 2, "3歳・5歳"),
        await sign_up(clock, people[1], session),
        await sign_up(clock, people[2], session, 1, "1歳"),
        await sign_up(clock, people[3], session),
    ]
    assert [r.status for r in regs] == [
        RegistrationStatus.REGISTERED,
        RegistrationStatus.REGISTERED,
        RegistrationStatus.WAITING,
        RegistrationStatus.WAITING,
    ]
    return session, regs


def order_of(html: str, section: str) -> list[int]:
    """The registration ids in a section of the roster (id="registered" / "waitlist")."""
    part = html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return [int(i) for i in re.findall(r'<tr id="r(\d+)"', part)]


# ---------- Guards ----------


def course_routes(client: httpx2.AsyncClient) -> list[tuple[str, str]]:
    app = client.app  # type: ignore[attr-defined]
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    mine = {
        "programmes_roster",
        "programmes_registration_cancel",
        "programmes_registration_promote",
        "programmes_session_message",
        "programmes_attendance",
        "programmes_attendance_walk_in",
        "programmes_attendance_mark",
    }
    found = []
    for route in mount.routes:
        assert isinstance(route, Route)
        if route.name in mine:
            path = "/admin" + re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, path))
    return found


async def test_every_route_refuses_anonymous_users(client: httpx2.AsyncClient) -> None:
    routes = course_routes(client)
    assert len(routes) == 7
    for method, path in routes:
        response = await client.request(method, path, data={} if method == "POST" else None)
        assert response.status_code == (303 if method == "GET" else 403), path
    assert await AuditLog.all().count() == 0


async def test_posts_without_the_csrf_token_change_nothing(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session, regs = await full_house(clock)
    base = session_path(session)
    posts = [
        (f"{roster(session)}/{regs[0].id}/cancel", {"confirm": "yes", "reason": "急病"}),
        (f"{roster(session)}/{regs[2].id}/promote", {}),
        (f"{base}/message", {"body": "会場変更", "confirm": "yes", "nonce": "a" * 24}),
        (f"{attendance(session)}/{regs[0].id}", {"attendance": "present"}),
        (f"{attendance(session)}/walk-in", {"name": "当日 太郎"}),
    ]
    for path, data in posts:
        response = await staff_client.post(path, data=data)
        assert response.status_code == 403, path
        assert "不正なリクエスト" in response.text
    assert [await status(r) for r in regs] == [r.status for r in regs]
    assert await OutboxMessage.all().count() == 0
    assert await Registration.all().count() == 4
    assert (await Registration.get(id=regs[0].id)).attendance == Attendance.UNKNOWN


async def test_forged_ids_are_not_found(staff_client: httpx2.AsyncClient, clock: Clock) -> None:
    session, regs = await full_house(clock)
    other = await make_session()
    csrf = await page_csrf(staff_client, roster(session))
    # Another session's path with this session's registration ids: nothing found, nothing done.
    for path, data in (
        (f"{roster(other)}/{regs[0].id}/cancel", {"confirm": "yes", "reason": "x"}),
        (f"{roster(other)}/{regs[2].id}/promote", {}),
        (f"{attendance(other)}/{regs[0].id}", {"attendance": "present"}),
        (f"{roster(session)}/999999/cancel", {"confirm": "yes", "reason": "x"}),
    ):
        response = await staff_client.post(path, data={"csrf_token": csrf, **data})
        assert response.status_code == 404, path
        assert "見つかりません" in response.text
    for path in (
        "/admin/programmes/sessions/999999/registrations",
        "/admin/programmes/sessions/999999/attendance",
        "/admin/programmes/sessions/99999999999/registrations",  # beyond any id: no route
    ):
        assert (await staff_client.get(path)).status_code == 404, path
    assert [await status(r) for r in regs] == [r.status for r in regs]
    assert await OutboxMessage.all().count() == 0
    bad = await staff_client.post(
        f"{attendance(session)}/{regs[0].id}", data={"csrf_token": csrf, "attendance": "maybe"}
    )
    assert bad.status_code == 400


# ---------- The roster ----------


async def test_roster_shows_order_childcare_totals_and_the_waitlist(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session, regs = await full_house(clock)
    response = await staff_client.get(roster(session))
    assert response.status_code == 200
    html = response.text
    assert order_of(html, "registered") == [regs[0].id, regs[1].id]
    assert order_of(html, "waitlist") == [regs[2].id, regs[3].id]
    assert XSS_ESCAPED in html and XSS not in html
    assert "3歳・5歳" in html and "1歳" in html
    # The 託児 total staff arrange 託児 staff by: placed children only, waiting ones apart.
    assert "お預かりする子ども <strong>2人</strong>（1件）" in html
    assert "キャンセル待ちの子ども 1人" in html
    assert "申込者（2人・申込順）" in html and "キャンセル待ち（2人・順番どおり）" in html
    assert f'href="/admin/residents/{regs[0].resident_id}"' in html
    entry = await AuditLog.get(action="course.roster.view")
    assert entry.target_type == "session" and entry.target_id == str(session.id)


async def test_cancel_asks_then_tells_the_resident_and_offers_the_seat(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session, regs = await full_house(clock)
    first, waiting = regs[0], regs[2]
    hanako = await Resident.get(id=first.resident_id)
    ichiro = await Resident.get(id=waiting.resident_id)
    path = f"{roster(session)}/{first.id}/cancel"
    csrf = await page_csrf(staff_client, roster(session))

    asked = await staff_client.post(path, data={"csrf_token": csrf})
    assert asked.status_code == 200
    assert "キャンセル理由" in asked.text and 'name="confirm" value="yes"' in asked.text
    assert await status(first) == RegistrationStatus.REGISTERED

    empty = await staff_client.post(path, data={"csrf_token": csrf, "confirm": "yes"})
    assert empty.status_code == 400 and "キャンセル理由を入力してください" in empty.text
    long_reason = "長" * (rules.REASON_MAX + 1)
    over = await staff_client.post(
        path, data={"csrf_token": csrf, "confirm": "yes", "reason": long_reason}
    )
    assert over.status_code == 400 and "300文字以内" in over.text
    assert long_reason in over.text  # the typed text comes back
    assert await status(first) == RegistrationStatus.REGISTERED
    assert await OutboxMessage.all().count() == 0

    done = await staff_client.post(
        path, data={"csrf_token": csrf, "confirm": "yes", "reason": "講師の急病のため"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{roster(session)}?done=cancelled"
    cancelled = await Registration.get(id=first.id)
    assert cancelled.status == RegistrationStatus.CANCELLED
    assert cancelled.cancel_reason == "講師の急病のため"
    [told] = await OutboxMessage.filter(line_user_id=hanako.line_user_id)
    assert told.kind == "course_staff_cancel" and "講師の急病のため" in str(told.messages)
    # The freed seat is offered to the first person waiting, and only to them.
    assert await status(waiting) == RegistrationStatus.OFFERED
    assert await status(regs[3]) == RegistrationStatus.WAITING
    assert len(await kinds(ichiro)) == 1
    page = await staff_client.get(done.headers["location"])
    assert "申込みをキャンセルし、利用者に LINE でお知らせしました" in page.text
    assert "回答期限" in page.text and "繰り上げ案内中" in page.text

    again = await staff_client.post(
        path, data={"csrf_token": csrf, "confirm": "yes", "reason": "二度目"}
    )
    assert again.headers["location"] == f"{roster(session)}?done=stale"
    assert await OutboxMessage.all().count() == 2
    entry = await AuditLog.get(action="course.registration.cancel")
    assert entry.target_id == str(first.id) and entry.detail["reason"] == "講師の急病のため"


async def test_promote_by_hand_needs_a_free_seat(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session, regs = await full_house(clock)
    last = regs[3]  # out of queue order: the second person waiting
    who = await Resident.get(id=last.resident_id)
    csrf = await page_csrf(staff_client, roster(session))
    path = f"{roster(session)}/{last.id}/promote"

    full = await staff_client.post(path, data={"csrf_token": csrf})
    assert full.status_code == 303 and "done=no_seat" in full.headers["location"]
    page = await staff_client.get(full.headers["location"])
    assert "空いている席がないため、繰り上げできませんでした" in page.text
    assert await status(last) == RegistrationStatus.WAITING
    assert await OutboxMessage.all().count() == 0

    await ProgrammeSession.filter(id=session.id).update(seats=3)
    done = await staff_client.post(path, data={"csrf_token": csrf})
    assert "done=promoted" in done.headers["location"]
    assert await status(last) == RegistrationStatus.REGISTERED
    assert await status(regs[2]) == RegistrationStatus.WAITING
    assert await kinds(who) == ["course_promote"]
    fresh = await ProgrammeSession.get(id=session.id)
    assert (fresh.taken, fresh.waiting) == (3, 1)
    assert await AuditLog.filter(action="course.registration.promote").count() == 1
    twice = await staff_client.post(path, data={"csrf_token": csrf})
    assert "done=stale" in twice.headers["location"]
    assert await kinds(who) == ["course_promote"]


async def test_message_shows_its_cost_then_sends_once(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session = await make_session(seats=5)
    people = [await resident("奄美 花子"), await resident("喜界 一郎")]
    blocked = await resident("ブロック 中", following=False)
    for who in [*people, blocked]:
        await sign_up(clock, who, session)
    page = await staff_client.get(roster(session))
    assert "いま 2通" in page.text
    csrf = await page_csrf(staff_client, roster(session))
    path = f"{session_path(session)}/message"

    empty = await staff_client.post(path, data={"csrf_token": csrf, "body": "  "})
    assert empty.status_code == 400 and "メッセージを入力してください" in empty.text
    long_body = "あ" * 1001
    over = await staff_client.post(path, data={"csrf_token": csrf, "body": long_body})
    assert over.status_code == 400 and "1,000文字以内" in over.text and long_body in over.text

    body = "会場が 2階 研修室B に変わりました。<b>"
    asked = await staff_client.post(path, data={"csrf_token": csrf, "body": body})
    assert asked.status_code == 200
    assert "<strong>2通</strong>" in asked.text and "2通を送信する" in asked.text
    assert "研修室B に変わりました。&lt;b&gt;" in asked.text
    assert await OutboxMessage.all().count() == 0
    nonce = re.search(r'name="nonce" value="([^"]+)"', asked.text)
    assert nonce
    confirm = {"csrf_token": csrf, "body": body, "nonce": nonce.group(1), "confirm": "yes"}
    sent = await staff_client.post(path, data=confirm)
    assert sent.status_code == 303 and "done=sent&n=2" in sent.headers["location"]
    double = await staff_client.post(path, data=confirm)  # the double submit
    assert "done=sent_again" in double.headers["location"]
    messages = await OutboxMessage.filter(kind="course_message")
    assert sorted(m.line_user_id for m in messages) == sorted(p.line_user_id for p in people)
    assert all("研修室B" in str(m.messages) for m in messages)
    assert await AuditLog.filter(action="course.session.message").count() == 1
    shown = await staff_client.get(sent.headers["location"])
    assert "参加者にメッセージを送信しました。（2通）" in shown.text

    # 戻って内容を直す: the roster with the text kept, nothing sent.
    edit = await staff_client.post(path, data={"csrf_token": csrf, "body": body, "edit": "yes"})
    assert edit.status_code == 200 and "研修室B に変わりました。&lt;b&gt;</textarea>" in edit.text


# ---------- Attendance at the door ----------


async def test_attendance_mark_undo_line_check_in_and_walk_ins(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session, regs = await full_house(clock)
    clock.at = SESSION_START - timedelta(minutes=10)  # check-in is open
    line_user = await Resident.get(id=regs[1].resident_id)
    async with in_transaction():
        await rules.check_in(line_user, regs[1].id, Settings())
    page = await staff_client.get(attendance(session))
    assert page.status_code == 200
    assert '<strong data-count="present">1</strong>' in page.text
    assert '<strong data-count="total">2</strong>' in page.text
    assert "LINEでチェックイン" in page.text
    csrf = await page_csrf(staff_client, attendance(session))
    mark = f"{attendance(session)}/{regs[0].id}"

    done = await staff_client.post(mark, data={"csrf_token": csrf, "attendance": "present"})
    assert done.status_code == 303
    assert done.headers["location"] == f"{attendance(session)}#r{regs[0].id}"
    assert (await Registration.get(id=regs[0].id)).attendance == Attendance.PRESENT
    # The page's script asks for JSON: the row and the count come back.
    undo = await staff_client.post(
        mark,
        data={"csrf_token": csrf, "attendance": "unknown"},
        headers={"Accept": "application/json"},
    )
    assert undo.status_code == 200
    assert undo.json()["attendance"] == "unknown"
    assert undo.json()["counts"] == {"present": 1, "absent": 0, "unknown": 1, "total": 2}
    # Staff correct a LINE check-in.
    fix = await staff_client.post(
        f"{attendance(session)}/{regs[1].id}",
        data={"csrf_token": csrf, "attendance": "absent"},
        headers={"Accept": "application/json"},
    )
    assert fix.json()["attendance"] == "absent" and fix.json()["by"] == "staff"
    # Someone waiting is not at the door.
    waiting = await staff_client.post(
        f"{attendance(session)}/{regs[2].id}", data={"csrf_token": csrf, "attendance": "present"}
    )
    assert "done=stale" in waiting.headers["location"]
    assert (await Registration.get(id=regs[2].id)).attendance == Attendance.UNKNOWN

    walk = f"{attendance(session)}/walk-in"
    nobody = await staff_client.post(walk, data={"csrf_token": csrf, "name": " "})
    assert nobody.status_code == 400 and "お名前を入力してください" in nobody.text
    long_name = "名" * 101
    too_long = await staff_client.post(walk, data={"csrf_token": csrf, "name": long_name})
    assert too_long.status_code == 400 and "100文字以内" in too_long.text
    assert f'value="{long_name}"' in too_long.text
    full = await staff_client.post(walk, data={"csrf_token": csrf, "name": "当日 太郎"})
    assert full.status_code == 400 and "定員を超えて受け入れる" in full.text
    assert 'value="当日 太郎"' in full.text
    added = await staff_client.post(
        walk, data={"csrf_token": csrf, "name": "当日 太郎", "beyond_capacity": "yes"}
    )
    assert added.status_code == 303
    walker = await Registration.get(walk_in_name="当日 太郎")
    assert added.headers["location"].endswith(f"?done=walk_in#r{walker.id}")
    assert walker.attendance == Attendance.PRESENT and walker.resident_id is None
    after = await staff_client.get(attendance(session))
    assert '<strong data-count="present">1</strong>' in after.text
    assert '<strong data-count="total">3</strong>' in after.text
    assert "当日 太郎" in after.text
    # A walk-in added by mistake is taken off again (no reason needed: nobody to tell).
    undo_walk_in = await staff_client.post(
        f"{roster(session)}/{walker.id}/cancel", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert "done=cancelled_walk_in" in undo_walk_in.headers["location"]
    assert (await Registration.get(id=walker.id)).status == RegistrationStatus.CANCELLED
    assert (await ProgrammeSession.get(id=session.id)).taken == 2
    actions = [a.action for a in await AuditLog.all().order_by("id")]
    assert actions.count("course.attendance.mark") == 2
    assert actions.count("course.attendance.unmark") == 1
    assert actions.count("course.attendance.walk_in") == 1
    assert actions.count("course.attendance.view") == 3  # page_csrf reads the page too
    assert await OutboxMessage.all().count() == 0


async def test_attendance_of_a_cancelled_session_offers_no_walk_in_form(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    """Found using it: after 中止 the door page still offered 「追加して出席にする」 with
    「空き 2 席」, and every walk-in typed there was refused."""
    session, _ = await full_house(clock)
    clock.at = SESSION_START - timedelta(minutes=10)  # check-in is open
    open_page = await staff_client.get(attendance(session))
    assert 'action="' + attendance(session) + '/walk-in"' in open_page.text
    # Full: the hint says how to add someone anyway.
    assert "「定員を超えて受け入れる」にチェックしてください" in open_page.text
    async with in_transaction():
        await rules.cancel_session(session.id, "台風のため")
    page = await staff_client.get(attendance(session))
    assert page.status_code == 200
    assert "/walk-in" not in page.text and "追加して出席にする" not in page.text
    assert "中止になったため、当日参加の方は追加できません" in page.text
    assert "空き 2 席" not in page.text


async def test_waitlist_shows_who_waits_for_a_childcare_place(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    """Found using it: someone first in the queue but never offered (their children did
    not fit the 託児 places left) looked the same as anyone waiting."""
    session = await make_session(seats=3, childcare=2)
    await sign_up(clock, await resident("奄美 花子"), session, 2, "3歳・5歳")
    clock.at += timedelta(minutes=1)
    async with in_transaction():
        outcome = await rules.register(
            await resident("笠利 さくら"),
            rules.SignUp(session.id, children=1, children_ages="1歳", wait_for_childcare=True),
            Settings(),
        )
    assert outcome.registration is not None
    assert outcome.registration.status == RegistrationStatus.WAITING
    plain = await sign_up(clock, await resident("名瀬 太郎"), session)
    assert plain.status == RegistrationStatus.REGISTERED
    html = (await staff_client.get(roster(session))).text
    waitlist = html[html.index('id="waitlist"') : html.index('id="message"')]
    assert waitlist.count("託児の空き待ち") == 1
    row = waitlist[waitlist.index(f'id="r{outcome.registration.id}"') :]
    assert row.index("託児の空き待ち") < row.index("</tr>")


async def test_attendance_before_check_in_opens_changes_nothing(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session, regs = await full_house(clock)
    page = await staff_client.get(attendance(session))
    assert "出欠は当日" in page.text and "disabled" in page.text
    assert "data-opens-in-ms" not in page.text  # days ahead: the page does not wait
    # Opened at the door 90 minutes early: it reloads itself when marking opens (30 min
    # before the start), so the buttons enable without staff reloading.
    clock.at = SESSION_START - timedelta(minutes=90)
    early = await staff_client.get(attendance(session))
    assert f'data-opens-in-ms="{60 * 60 * 1000}"' in early.text and "disabled" in early.text
    csrf = await page_csrf(staff_client, attendance(session))
    mark = f"{attendance(session)}/{regs[0].id}"
    refused = await staff_client.post(mark, data={"csrf_token": csrf, "attendance": "present"})
    assert "done=too_early" in refused.headers["location"]
    as_json = await staff_client.post(
        mark,
        data={"csrf_token": csrf, "attendance": "present"},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 409 and "出欠は当日" in as_json.json()["message"]
    walk = await staff_client.post(
        f"{attendance(session)}/walk-in", data={"csrf_token": csrf, "name": "早い 人"}
    )
    assert walk.status_code == 400 and "出欠は当日" in walk.text
    assert (await Registration.get(id=regs[0].id)).attendance == Attendance.UNKNOWN
    assert await Registration.filter(resident_id__isnull=True).count() == 0
    assert await AuditLog.filter(action__startswith="course.attendance.m").count() == 0


async def test_resident_page_shows_sign_ups_and_attendance(
    staff_client: httpx2.AsyncClient, clock: Clock
) -> None:
    session, regs = await full_house(clock)
    clock.at = SESSION_START
    async with in_transaction():
        await rules.mark_attendance(regs[0].id, Attendance.PRESENT, Settings())
    page = await staff_client.get(f"/admin/residents/{regs[0].resident_id}")
    assert page.status_code == 200
    assert "寺子屋・交流会の申込みと出欠（出席 1回）" in page.text
    assert "はじめてのWeb制作" in page.text and "申込済み" in page.text
    assert f"/registrations#r{regs[0].id}" in page.text
    waiting = await staff_client.get(f"/admin/residents/{regs[2].resident_id}")
    assert "キャンセル待ち" in waiting.text and "出席 1回" not in waiting.text
