"""寺子屋・交流会 in the admin, through the ASGI app: programmes, sessions (create, edit,
publish, copy, 中止), the CSV exports and the dashboard."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

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
from shima.timeutil import jst_datetime, now, today_jst
from tests.admin.conftest import page_csrf

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
PROGRAMMES = "/admin/programmes"
SESSIONS = "/admin/programmes/sessions"
# The rules' clock: 10:00 JST three days ahead (daytime, so freed seats are offered at once).
CLOCK_DAY = today_jst() + timedelta(days=3)
SESSION_DAY = today_jst() + timedelta(days=10)


@pytest.fixture(autouse=True)
def daytime(monkeypatch: pytest.MonkeyPatch) -> datetime:
    at = jst_datetime(CLOCK_DAY, time(10))
    monkeypatch.setattr(rules, "now", lambda: at)
    return at


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return jst_datetime(day, time(hour, minute))


async def resident(name: str = "奄美 花子") -> Resident:
    return await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)


async def programme(
    title: str = "はじめての SNS 発信", kind: ProgrammeKind = ProgrammeKind.TERAKOYA
) -> Programme:
    return await Programme.create(kind=kind, title=title, instructor="山田 太郎", fee=500)


async def session_of(
    prog: Programme,
    seats: int = 2,
    childcare: int = 2,
    status: SessionStatus = SessionStatus.PUBLISHED,
    starts: datetime | None = None,
) -> ProgrammeSession:
    start = starts or at(SESSION_DAY, 10)
    async with in_transaction():
        return await rules.create_session(
            prog,
            rules.SessionSpec(
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                seats=seats,
                childcare_places=childcare,
                status=status,
            ),
        )


async def sign_up(
    settings: Settings, who: Resident, session: ProgrammeSession, children: int = 0, ages: str = ""
) -> Registration:
    async with in_transaction():
        outcome = await rules.register(
            who, rules.SignUp(session.id, children=children, children_ages=ages), settings
        )
    assert outcome.registration is not None
    return outcome.registration


def session_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "date": SESSION_DAY.isoformat(),
        "start": "13:00",
        "end": "15:00",
        "place": "venue",
        "venue": "WorkStyle Lab Inno",
        "online_url": "",
        "seats": "20",
        "childcare_places": "3",
        "deadline": "",
        "status": "draft",
    }
    form.update(changes)
    return form


def programme_routes(client: httpx2.AsyncClient) -> list[tuple[str, str]]:
    app = client.app  # type: ignore[attr-defined]
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    found = []
    for route in mount.routes:
        assert isinstance(route, Route)
        if route.path.startswith(("/programmes", "/news")):
            path = "/admin" + re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, path))
    return found


def csv_rows(response: httpx2.Response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# ---------- Guards ----------


async def test_every_programme_and_news_route_refuses_anonymous_users(
    client: httpx2.AsyncClient,
) -> None:
    prog = await programme()
    await session_of(prog)
    routes = programme_routes(client)
    assert len(routes) >= 20
    for method, path in routes:
        response = await client.request(method, path, data={} if method == "POST" else None)
        if method == "GET":
            assert response.status_code == 303, path
            assert urlsplit(response.headers["location"]).path == "/admin/login"
        else:
            assert response.status_code == 403, path
    assert await AuditLog.all().count() == 0
    assert await Programme.all().count() == 1


async def test_posts_without_csrf_token_are_refused(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    prog = await programme()
    session = await session_of(prog)
    await sign_up(settings, await resident(), session)
    for path, data in (
        (f"{PROGRAMMES}/new", {"kind": "meetup", "title": "交流会"}),
        (f"{SESSIONS}/{session.id}/cancel", {"reason": "台風のため"}),
        (f"{SESSIONS}/{session.id}/copy", {"by": "week"}),
    ):
        response = await staff_client.post(path, data=data)
        assert response.status_code == 403, path
        assert "不正なリクエスト" in response.text
    await session.refresh_from_db()
    assert session.status == SessionStatus.PUBLISHED
    assert await Programme.all().count() == 1
    assert await ProgrammeSession.all().count() == 1
    assert await OutboxMessage.all().count() == 0


# ---------- Programmes ----------


async def test_create_and_edit_a_programme(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/new")
    form = {
        "csrf_token": csrf,
        "kind": "meetup",
        "title": "島フリーランス交流会",
        "description": "自己紹介と名刺交換。\n飲み物あり。",
        "instructor": "",
        "audience": "フリーランス・副業の方",
        "fee": "1,000",
        "image_url": "https://example.jp/meetup.jpg",
    }
    response = await staff_client.post(f"{PROGRAMMES}/new", data=form)
    assert response.status_code == 303
    prog = await Programme.get()
    assert prog.kind == ProgrammeKind.MEETUP and prog.fee == 1000
    assert response.headers["location"] == f"{PROGRAMMES}/{prog.id}?done=created"
    page = await staff_client.get(response.headers["location"])
    assert "島フリーランス交流会" in page.text and "1,000円（当日お支払い）" in page.text
    assert "開催回を追加" in page.text and "これからの開催回はありません" in page.text

    edited = await staff_client.post(
        f"{PROGRAMMES}/{prog.id}/edit", data={**form, "fee": "0", "title": "交流会 vol.2"}
    )
    assert edited.status_code == 303
    await prog.refresh_from_db()
    assert prog.fee == 0 and prog.title == "交流会 vol.2" and prog.fee_text == "無料"
    entry = await AuditLog.get(action="course.programme.update")
    assert entry.target_id == str(prog.id) and entry.detail["fields"] == "タイトル・参加費"
    assert await AuditLog.filter(action="course.programme.create").count() == 1


async def test_programme_form_comes_back_with_japanese_messages(
    staff_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/new")
    long_title = "長" * 101
    response = await staff_client.post(
        f"{PROGRAMMES}/new",
        data={"csrf_token": csrf, "kind": "", "title": long_title, "fee": "-5", "image_url": ""},
    )
    assert response.status_code == 400
    text = response.text
    assert "タイトルは100文字以内で入力してください（いま101文字です）。" in text
    assert "種別（寺子屋・交流会・ワークショップ）を選んでください。" in text
    assert "参加費は0〜100,000円の数字で入力してください" in text
    assert long_title in text  # the typed value comes back
    bad_url = await staff_client.post(
        f"{PROGRAMMES}/new",
        data={"csrf_token": csrf, "kind": "terakoya", "title": "講座", "image_url": "http://x"},
    )
    assert bad_url.status_code == 400 and "https:// で始まる URL" in bad_url.text
    assert await Programme.all().count() == 0


async def test_list_filters_by_kind_hides_archived_and_escapes(
    staff_client: httpx2.AsyncClient,
) -> None:
    course = await programme(XSS)
    await session_of(course)
    await programme("交流会 in 名瀬", ProgrammeKind.MEETUP)
    listed = await staff_client.get(PROGRAMMES)
    assert XSS_ESCAPED in listed.text and XSS not in listed.text
    assert "交流会 in 名瀬" in listed.text and "予定なし" in listed.text
    meetups = await staff_client.get(PROGRAMMES, params={"kind": "meetup"})
    assert "交流会 in 名瀬" in meetups.text and XSS_ESCAPED not in meetups.text

    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/{course.id}/edit")
    archived = await staff_client.post(
        f"{PROGRAMMES}/{course.id}/archive", data={"csrf_token": csrf, "archive": "1"}
    )
    assert archived.status_code == 303
    assert XSS_ESCAPED not in (await staff_client.get(PROGRAMMES)).text
    both = await staff_client.get(PROGRAMMES, params={"archived": "1"})
    assert XSS_ESCAPED in both.text and "アーカイブ済み" in both.text
    assert await AuditLog.filter(action="course.programme.archive").count() == 1
    page = await staff_client.get(f"{PROGRAMMES}/{course.id}")
    assert page.status_code == 200 and XSS not in page.text
    missing = await staff_client.get(f"{PROGRAMMES}/999999")
    assert missing.status_code == 404 and "講座・イベントが見つかりません" in missing.text


# ---------- Sessions ----------


async def test_create_a_session_and_its_validation(staff_client: httpx2.AsyncClient) -> None:
    prog = await programme()
    path = f"{PROGRAMMES}/{prog.id}/sessions/new"
    csrf = await page_csrf(staff_client, path)
    past = await staff_client.post(
        path, data=session_form(csrf, date=(CLOCK_DAY - timedelta(days=1)).isoformat())
    )
    assert past.status_code == 400 and "開始日時が過去です" in past.text
    backwards = await staff_client.post(path, data=session_form(csrf, end="12:00"))
    assert (
        backwards.status_code == 400 and "終了日時は開始日時より後にしてください" in backwards.text
    )
    late = f"{SESSION_DAY.isoformat()}T14:00"
    deadline = await staff_client.post(path, data=session_form(csrf, deadline=late))
    assert deadline.status_code == 400 and "申込締切は開始日時より前にしてください" in deadline.text
    assert f'value="{late}"' in deadline.text  # the typed values come back
    nonsense = await staff_client.post(path, data=session_form(csrf, seats="たくさん"))
    assert nonsense.status_code == 400 and "定員を数字で入力してください" in nonsense.text
    venue = await staff_client.post(path, data=session_form(csrf, venue="x" * 201))
    assert venue.status_code == 400 and "会場は200文字以内で入力してください" in venue.text
    assert await ProgrammeSession.all().count() == 0

    created = await staff_client.post(path, data=session_form(csrf))
    assert created.status_code == 303
    assert created.headers["location"] == f"{PROGRAMMES}/{prog.id}?done=session_created"
    session = await ProgrammeSession.get()
    assert session.starts_at == at(SESSION_DAY, 13) and session.ends_at == at(SESSION_DAY, 15)
    assert session.deadline == session.starts_at  # the default
    assert session.status == SessionStatus.DRAFT and session.childcare_places == 3
    entry = await AuditLog.get(action="course.session.create")
    assert entry.target_type == "session" and entry.target_id == str(session.id)

    online = await staff_client.post(
        path,
        data=session_form(
            csrf,
            start="19:00",
            end="20:30",
            place="online",
            online_url="https://meet.example.jp/abc",
            deadline=f"{SESSION_DAY.isoformat()}T12:00",
        ),
    )
    assert online.status_code == 303
    second = await ProgrammeSession.get(online=True)
    assert second.online_url == "https://meet.example.jp/abc"
    assert second.deadline == at(SESSION_DAY, 12)
    page = await staff_client.get(f"{PROGRAMMES}/{prog.id}")
    assert "オンライン" in page.text and "下書き" in page.text
    assert page.text.index("13:00〜15:00") < page.text.index("19:00〜20:30")  # soonest first


async def test_edit_refuses_fewer_seats_than_taken_and_more_seats_offer_the_waitlist(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    prog = await programme()
    session = await session_of(prog, seats=1)
    await sign_up(settings, await resident("一番 さん"), session)
    waiting = await sign_up(settings, await resident("二番 さん"), session)
    assert waiting.status == RegistrationStatus.WAITING
    path = f"{SESSIONS}/{session.id}/edit"
    page = await staff_client.get(path)
    assert "申込み 1人" in page.text and "キャンセル待ち 1人" in page.text
    csrf = await page_csrf(staff_client, path)
    values = dict(
        start="10:00", end="12:00", childcare_places="2", status="published", venue="会議室 A"
    )
    fewer = await staff_client.post(path, data=session_form(csrf, seats="0", **values))
    assert fewer.status_code == 400 and "定員は1〜1000人で指定してください" in fewer.text
    assert "定員を申込済みの人数（1人）より少なくはできません" in fewer.text
    more = await staff_client.post(path, data=session_form(csrf, seats="2", **values))
    assert more.status_code == 303
    assert more.headers["location"] == f"{SESSIONS}/{session.id}?done=updated"
    await session.refresh_from_db()
    assert session.seats == 2 and session.venue == "会議室 A"
    await waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.OFFERED  # the freed seat is offered at once
    assert await OutboxMessage.filter(kind="course_offer").count() == 1
    entry = await AuditLog.get(action="course.session.update")
    assert entry.detail["offers"] == 1 and entry.detail["told"] == 1


async def test_copy_to_next_week_and_next_month(staff_client: httpx2.AsyncClient) -> None:
    prog = await programme()
    day = today_jst() + timedelta(days=40)
    day = day.replace(day=min(day.day, 28))
    session = await session_of(prog, starts=at(day, 18, 30))
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/{prog.id}")
    week = await staff_client.post(
        f"{SESSIONS}/{session.id}/copy", data={"csrf_token": csrf, "by": "week"}
    )
    assert week.status_code == 303
    copy = await ProgrammeSession.exclude(id=session.id).get()
    assert week.headers["location"] == f"{SESSIONS}/{copy.id}/edit?done=copied_week"
    assert copy.starts_at == at(day + timedelta(days=7), 18, 30)
    assert copy.status == SessionStatus.DRAFT and copy.taken == 0
    shown = await staff_client.get(week.headers["location"])
    assert "翌週にコピーしました（下書き）" in shown.text

    month = await staff_client.post(
        f"{SESSIONS}/{session.id}/copy", data={"csrf_token": csrf, "by": "month"}
    )
    assert month.status_code == 303
    later = await ProgrammeSession.exclude(id__in=[session.id, copy.id]).get()
    assert later.starts_at == at(rules.add_months(day, 1), 18, 30)
    copies = AuditLog.filter(action="course.session.copy").order_by("id")
    details = [e.detail for e in await copies]
    assert [d["by"] for d in details] == ["week", "month"]
    assert all(d["from_session"] == session.id for d in details)


async def test_copying_twice_to_the_same_week_makes_one_copy(
    staff_client: httpx2.AsyncClient,
) -> None:
    """Found using it: a second tap on 翌週 made a second draft at the same time."""
    prog = await programme()
    session = await session_of(prog)
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/{prog.id}")
    path = f"{SESSIONS}/{session.id}/copy"
    first = await staff_client.post(path, data={"csrf_token": csrf, "by": "week"})
    copy = await ProgrammeSession.exclude(id=session.id).get()
    again = await staff_client.post(path, data={"csrf_token": csrf, "by": "week"})
    assert again.status_code == 303
    assert again.headers["location"] == f"{SESSIONS}/{copy.id}/edit?done=already_week"
    assert first.headers["location"] != again.headers["location"]
    assert await ProgrammeSession.filter(programme_id=prog.id).count() == 2
    assert await AuditLog.filter(action="course.session.copy").count() == 1
    shown = await staff_client.get(again.headers["location"])
    assert "すでにこの開催回があります" in shown.text

    # A cancelled session at that time does not stand in the way.
    await ProgrammeSession.filter(id=copy.id).update(status=SessionStatus.CANCELLED)
    third = await staff_client.post(path, data={"csrf_token": csrf, "by": "week"})
    assert "done=copied_week" in third.headers["location"]
    assert await ProgrammeSession.filter(programme_id=prog.id).count() == 3


async def test_publish_a_draft(staff_client: httpx2.AsyncClient) -> None:
    prog = await programme()
    draft = await session_of(prog, status=SessionStatus.DRAFT)
    page = await staff_client.get(f"{PROGRAMMES}/{prog.id}")
    assert "公開する" in page.text
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/{prog.id}")
    response = await staff_client.post(f"{SESSIONS}/{draft.id}/publish", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == f"{PROGRAMMES}/{prog.id}?done=session_published"
    await draft.refresh_from_db()
    assert draft.status == SessionStatus.PUBLISHED
    assert [s.id for s in await rules.upcoming_sessions()] == [draft.id]
    assert await AuditLog.filter(action="course.session.publish").count() == 1
    shown = await staff_client.get(response.headers["location"])
    assert "開催回を公開しました" in shown.text


async def test_cancel_a_session_tells_everyone_registered_or_waiting(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    prog = await programme()
    session = await session_of(prog, seats=1)
    first = await sign_up(settings, await resident("一番 さん"), session)
    second = await sign_up(settings, await resident("二番 さん"), session)
    path = f"{SESSIONS}/{session.id}/cancel"
    confirm = await staff_client.get(path)
    assert confirm.status_code == 200
    assert "<strong>2人</strong>に中止を LINE でお知らせします" in confirm.text
    assert "申込み 1人・キャンセル待ち 1人" in confirm.text
    assert "data-confirm=" in confirm.text
    csrf = await page_csrf(staff_client, path)
    empty = await staff_client.post(path, data={"csrf_token": csrf, "reason": "  "})
    assert empty.status_code == 400 and "中止の理由を入力してください" in empty.text
    too_long = await staff_client.post(path, data={"csrf_token": csrf, "reason": "あ" * 301})
    assert too_long.status_code == 400 and "中止の理由は300文字以内" in too_long.text
    assert await OutboxMessage.all().count() == 0

    response = await staff_client.post(path, data={"csrf_token": csrf, "reason": "台風接近のため"})
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query) == {
        "done": ["cancelled"],
        "told": ["2"],
    }
    await session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED and session.cancel_reason == "台風接近のため"
    for reg in (first, second):
        await reg.refresh_from_db()
        assert reg.status == RegistrationStatus.CANCELLED
    pushes = await OutboxMessage.filter(kind="course_session_cancel")
    assert len(pushes) == 2
    assert all("台風接近のため" in str(p.messages) for p in pushes)
    entry = await AuditLog.get(action="course.session.cancel")
    assert entry.detail["told"] == 2 and entry.detail["reason"] == "台風接近のため"
    shown = await staff_client.get(response.headers["location"])
    assert "開催回を中止しました。2人に LINE でお知らせしました。" in shown.text
    assert "この回は中止になりました（理由：台風接近のため）" in shown.text
    again = await staff_client.post(path, data={"csrf_token": csrf, "reason": "再送"})
    assert again.status_code == 303 and "done=stale" in again.headers["location"]
    assert await OutboxMessage.all().count() == 2


# ---------- CSV ----------


async def test_registration_and_attendance_csv(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    prog = await programme("=SUM(A1)")
    session = await session_of(prog, seats=2, childcare=3)
    mother = await resident("子連れ ママ")
    await sign_up(settings, mother, session, children=2, ages="3歳・5歳")
    await sign_up(settings, await resident("=cmd|' /C calc'!A0"), session)
    await sign_up(settings, await resident("待ち 太郎"), session)
    await Registration.filter(resident_id=mother.id).update(
        attendance=Attendance.PRESENT, attendance_by="line", attendance_at=now(), satisfaction=5
    )
    await Registration.create(
        session=session,
        walk_in_name="当日 飛び込み",
        status=RegistrationStatus.REGISTERED,
        registered_at=rules.now() + timedelta(minutes=1),
        attendance=Attendance.PRESENT,
        attendance_by="staff",
        attendance_at=now(),
    )

    response = await staff_client.get(f"{SESSIONS}/{session.id}/registrations.csv")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    rows = csv_rows(response)
    assert rows[0][:6] == ["順番", "状態", "氏名", "利用者ID", "託児（人数）", "子どもの年齢"]
    assert [r[:3] for r in rows[1:]] == [
        ["1", "申込済み", "子連れ ママ"],
        ["2", "申込済み", "'=cmd|' /C calc'!A0"],  # a formula is defused
        ["3", "申込済み", "当日 飛び込み"],
        ["待ち1", "キャンセル待ち", "待ち 太郎"],
    ]
    assert rows[1][4:6] == ["2", "3歳・5歳"]

    attendance = csv_rows(await staff_client.get(f"{SESSIONS}/{session.id}/attendance.csv"))
    assert attendance[0] == [
        "氏名",
        "区分",
        "利用者ID",
        "出欠",
        "記録方法",
        "記録日時",
        "満足度",
        "コメント",
    ]
    by_name = {r[0]: r for r in attendance[1:]}
    assert by_name["子連れ ママ"][3:5] == ["出席", "LINE チェックイン"]
    assert by_name["子連れ ママ"][6] == "5"
    assert by_name["当日 飛び込み"][1:5] == ["当日参加", "", "出席", "スタッフ"]
    assert by_name["'=cmd|' /C calc'!A0"][3] == "未記録"
    assert "待ち 太郎" not in by_name

    period = await staff_client.get(
        f"{PROGRAMMES}/attendance.csv",
        params={"from": SESSION_DAY.isoformat(), "to": SESSION_DAY.isoformat()},
    )
    rows = csv_rows(period)
    assert rows[0][:6] == ["開催日", "開始", "終了", "種別", "講座・イベント", "会場"]
    assert len(rows) == 4 and {r[4] for r in rows[1:]} == {"'=SUM(A1)"}
    assert rows[1][0] == SESSION_DAY.strftime("%Y/%m/%d") and rows[1][3] == "寺子屋"
    outside = await staff_client.get(
        f"{PROGRAMMES}/attendance.csv", params={"from": "2001-01-01", "to": "2001-01-31"}
    )
    assert len(csv_rows(outside)) == 1
    bad = await staff_client.get(f"{PROGRAMMES}/attendance.csv", params={"from": "2026-13-45"})
    assert bad.status_code == 400 and "日付として読めない" in bad.text

    exports = await AuditLog.filter(action__endswith=".export").order_by("id")
    assert [e.action for e in exports] == [
        "course.registration.export",
        "course.attendance.export",
        "course.attendance.export",
        "course.attendance.export",
    ]
    assert exports[0].detail == {"rows": 4} and exports[2].detail["period_from"]


async def test_registration_csv_numbers_seats_and_waitlist_apart_and_not_the_cancelled(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    """Found using it: a cancelled registration was numbered after the waitlist (「6」
    under 待ち1), as if it still had a place."""
    session = await session_of(await programme(), seats=2)
    gone = await sign_up(settings, await resident("取消 さん"), session)
    await sign_up(settings, await resident("席 さん"), session)
    await sign_up(settings, await resident("待ち 一番"), session)
    await sign_up(settings, await resident("待ち 二番"), session)
    async with in_transaction():
        await rules.cancel_by_staff(gone.id, "ご本人から連絡", settings)  # 待ち 一番 is offered

    rows = csv_rows(await staff_client.get(f"{SESSIONS}/{session.id}/registrations.csv"))
    assert [r[:3] for r in rows[1:]] == [
        ["1", "申込済み", "席 さん"],
        ["待ち1", "繰り上げ案内中", "待ち 一番"],
        ["待ち2", "キャンセル待ち", "待ち 二番"],
        ["", "キャンセル", "取消 さん"],
    ]


# ---------- Dashboard and the session page ----------


async def test_dashboard_shows_fill_rate_waitlist_and_attendance_rate(
    staff_client: httpx2.AsyncClient, settings: Settings
) -> None:
    prog = await programme("Web 制作入門")
    session = await session_of(prog, seats=4)
    for name in ("一", "二"):
        await sign_up(settings, await resident(name), session)
    full = await session_of(prog, seats=1, starts=at(SESSION_DAY + timedelta(days=1), 10))
    await sign_up(settings, await resident("三"), full)
    await sign_up(settings, await resident("四"), full)
    past = await ProgrammeSession.create(
        programme=prog,
        starts_at=now() - timedelta(days=2),
        ends_at=now() - timedelta(days=2) + timedelta(hours=2),
        deadline=now() - timedelta(days=2),
        seats=10,
        taken=4,
        status=SessionStatus.PUBLISHED,
    )
    for i, mark in enumerate(
        [Attendance.PRESENT, Attendance.PRESENT, Attendance.PRESENT, Attendance.ABSENT]
    ):
        await Registration.create(
            session=past,
            resident=await resident(f"過去 {i}"),
            status=RegistrationStatus.REGISTERED,
            registered_at=now() - timedelta(days=5),
            attendance=mark,
        )

    response = await staff_client.get("/admin/")
    text = response.text
    assert "寺子屋・交流会" in text and "Web 制作入門" in text
    assert "2 / 4席" in text and "<strong>50%</strong>" in text
    assert "1 / 1席" in text and "<strong>100%</strong>" in text
    assert "最近終わった回の出席率" in text and "3 / 4人" in text and "<strong>75%</strong>" in text
    cards = dict(re.findall(r'card-label">([^<]+)</h3>\s*<p class="card-value">(\d+)', text))
    assert cards["今後の開催（公開中）"] == "2"
    assert cards["今月の出席"] in {"0", "3"}  # the past session may fall in last month
    assert int(cards["今年度の受講者（実人数）"]) in {0, 3}
    assert "過去 0" not in text  # counts only on the dashboard

    page = await staff_client.get(f"{SESSIONS}/{past.id}")
    assert page.status_code == 200
    assert "出席率 75%" in page.text and "申込者・キャンセル待ち" in page.text
    assert f'href="{SESSIONS}/{past.id}/registrations.csv"' in page.text
    assert "この回を中止する" not in page.text  # it has taken place
    upcoming = await staff_client.get(f"{SESSIONS}/{full.id}")
    assert "この回を中止する" in upcoming.text and "100%" in upcoming.text


async def test_the_audit_log_reads_programme_entries_in_japanese(
    admin_client: httpx2.AsyncClient,
) -> None:
    prog = await programme()
    session = await session_of(prog)
    await admin_client.get(f"{SESSIONS}/{session.id}/registrations.csv")
    csrf = await page_csrf(admin_client, f"{PROGRAMMES}/{prog.id}")
    await admin_client.post(
        f"{SESSIONS}/{session.id}/copy", data={"csrf_token": csrf, "by": "month"}
    )
    page = await admin_client.get("/admin/audit")
    text = page.text
    assert "寺子屋・交流会の申込者の CSV 出力" in text and "開催回のコピー" in text
    assert f'href="{SESSIONS}/{session.id}"' in text  # the target's page
    assert "コピー先" in text and "翌月" in text and "コピー元の開催回" in text
