"""個人データ in the admin, through the ASGI app, with residents asking in LINE (signed
webhooks) and the notices arriving at the fake LINE platform: the list of requests (open
first, dates in JST, age), staff without the admin role (they see, they cannot act), the
export (a ZIP with the resident's files, audited), the erasure (the name typed wrong: nothing
changes; right: erased, the request done, audited without the name, the resident told at
their real LINE id, then the notice scrubbed so no table holds that id), an erasure that
must wait (the reasons), closing an export request (told once), CSRF on every form."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx2
import pytest
from tortoise import Tortoise

from admin import audit as admin_audit
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from line_app.notices import privacy as notices
from models.audit import AuditLog
from models.chat import ChatKind, ChatMessage, Direction, Sender
from models.consultation import Booking, BookingStatus, Method, Topic
from models.outbox import OutboxMessage, OutboxStatus
from models.privacy import DataRequest, RequestKind, RequestStatus
from models.residents import PSEUDONYM_PREFIX, Resident
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.admin.conftest import ADMIN_EMAIL, page_csrf
from tests.line_app import events
from tests.line_app.test_consult_flow import Resident_, make_slots

LINE_ID = "U" + "4f" * 16
NAME = "奄美 花子"
OTHER_ID = "U" + "7a" * 16


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


@pytest.fixture
async def hanako(
    client: httpx2.AsyncClient, fake_line: FakeLinePlatform, worker: Worker
) -> Resident_:
    """A friend of the account, their LINE name known."""
    fake_line.add_user(LINE_ID, NAME)
    someone = Resident_(client, fake_line, worker, LINE_ID)
    await someone.send(events.follow(LINE_ID, fake_line.issue_reply_token(LINE_ID)))
    return someone


async def asks(r: Resident_, kind: str) -> Resident:
    """The resident asks in LINE: 設定's データの確認・削除 → kind → 申請する."""
    await r.tap(f"flow=privacy&step=pick&k={kind}")
    await r.tap(r.button("申請する"))
    assert "申請を受け付けました" in r.text()
    return await Resident.get(line_user_id=r.user_id)


def data_page(resident: Resident) -> str:
    return f"/admin/residents/{resident.id}/data"


def erase_page(resident: Resident) -> str:
    return f"/admin/residents/{resident.id}/data/erase"


async def audits(action: str) -> list[AuditLog]:
    return list(await AuditLog.filter(action=action).order_by("id"))


# -- the list -----------------------------------------------------------------------------------


async def test_the_list_shows_open_requests_first_with_their_age(
    staff_client: httpx2.AsyncClient,
) -> None:
    late = await Resident.create(line_user_id=LINE_ID, display_name="<b>遅い</b>")
    today = await Resident.create(line_user_id=OTHER_ID, display_name="今日の人")
    asked = datetime(2026, 4, 30, 16, 5, tzinfo=UTC)  # 5月1日 01:05 JST
    await DataRequest.create(
        resident_id=today.id,
        kind=RequestKind.EXPORT,
        status=RequestStatus.DONE,
        requested_at=now() - timedelta(days=40),
        handled_at=now() - timedelta(days=38),
        handled_by=ADMIN_EMAIL,
    )
    await DataRequest.create(resident_id=today.id, kind=RequestKind.ERASURE, requested_at=now())
    old = await DataRequest.create(resident_id=late.id, kind=RequestKind.EXPORT, requested_at=asked)

    page = await staff_client.get("/admin/data-requests")
    assert page.status_code == 200
    html = page.text
    assert "2026/05/01 01:05" in html  # JST
    assert "&lt;b&gt;遅い&lt;/b&gt;" in html and "<b>遅い" not in html  # escaped
    days = (now() - asked).days
    assert f"{days}日（期限超過）" in html
    assert ">今日<" in html  # today's
    opened, closed = html.split('id="closed-title"')
    # Open ones first, the oldest first; the handled one below.
    assert opened.index("遅い") < opened.index("今日の人")
    assert opened.count(">対応する</a>") == 2
    assert "対応済み" in closed and ADMIN_EMAIL in closed and "遅い" not in closed
    assert f'href="/admin/residents/{late.id}/data"' in opened
    [entry] = await audits("privacy.request.list")
    assert entry.detail == {"page": 1}

    # The dashboard counts the open ones.
    board = (await staff_client.get("/admin/")).text
    assert re.search(r"個人データの申請（未対応）</h3>\s*<p class=\"card-value\">2<", board)
    assert old.status == RequestStatus.OPEN


async def test_staff_without_the_admin_role_see_but_cannot_act(
    staff_client: httpx2.AsyncClient, hanako: Resident_
) -> None:
    resident = await asks(hanako, "export")
    [request] = await DataRequest.all()
    page = await staff_client.get(data_page(resident))
    assert page.status_code == 200
    assert "データの確認" in page.text and "未対応" in page.text
    assert "データを書き出す" not in page.text and ">対応済みにする<" not in page.text
    assert ">取り下げ<" not in page.text and "data/erase" not in page.text
    assert "管理者の権限を持つスタッフが行います" in page.text
    csrf = await page_csrf(staff_client, data_page(resident))
    for path in (
        f"{data_page(resident)}/export",
        erase_page(resident),
        f"/admin/data-requests/{request.id}/done",
        f"/admin/data-requests/{request.id}/withdraw",
    ):
        response = await staff_client.post(path, data={"csrf_token": csrf, "name": NAME})
        assert response.status_code == 403, path
    assert (await staff_client.get(erase_page(resident))).status_code == 403
    assert (await DataRequest.get(id=request.id)).status == RequestStatus.OPEN
    assert (await Resident.get(id=resident.id)).erased_at is None
    assert await audits("privacy.resident.export") == []


async def test_every_form_needs_the_csrf_token(
    admin_client: httpx2.AsyncClient, hanako: Resident_
) -> None:
    resident = await asks(hanako, "export")
    [request] = await DataRequest.all()
    for path, data in (
        (f"{data_page(resident)}/export", {}),
        (erase_page(resident), {"name": NAME}),
        (f"/admin/data-requests/{request.id}/done", {}),
        (f"/admin/data-requests/{request.id}/withdraw", {}),
    ):
        response = await admin_client.post(path, data=data)
        assert response.status_code == 403, path
        response = await admin_client.post(path, data={**data, "csrf_token": "forged"})
        assert response.status_code == 403, path
    assert (await DataRequest.get(id=request.id)).status == RequestStatus.OPEN
    assert (await Resident.get(id=resident.id)).erased_at is None
    assert await audits("privacy.resident.export") == []


# -- the export ---------------------------------------------------------------------------------


async def test_the_export_is_a_zip_of_the_residents_data(
    admin_client: httpx2.AsyncClient, hanako: Resident_
) -> None:
    await hanako.say("子どもの預け先について相談したいです")  # to the desk: the chat log
    resident = await asks(hanako, "export")
    csrf = await page_csrf(admin_client, data_page(resident))
    response = await admin_client.post(f"{data_page(resident)}/export", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"個人データ_利用者{resident.id}_" in unquote(disposition.split("filename*=UTF-8''")[1])
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".json") for n in names)
    everything = "\n".join(
        archive.read(n).decode("utf-8-sig", "replace") for n in names if not n.endswith("/")
    )
    assert NAME in everything and LINE_ID in everything
    assert "子どもの預け先について相談したいです" in everything
    [entry] = await audits("privacy.resident.export")
    assert (entry.target_type, entry.target_id) == ("resident", str(resident.id))
    assert entry.detail == {"bytes": len(response.content)}
    assert NAME not in json.dumps(entry.detail, ensure_ascii=False)


# -- closing an export request ------------------------------------------------------------------


async def test_an_export_request_done_tells_the_resident_once(
    admin_client: httpx2.AsyncClient, hanako: Resident_, fake_line: FakeLinePlatform
) -> None:
    resident = await asks(hanako, "export")
    [request] = await DataRequest.all()
    page = await admin_client.get(data_page(resident))
    assert "対応済みにする" in page.text
    csrf = await page_csrf(admin_client, data_page(resident))
    done = f"/admin/data-requests/{request.id}/done"
    response = await admin_client.post(done, data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"].endswith("?done=done")
    request = await DataRequest.get(id=request.id)
    assert (request.status, request.handled_by) == (RequestStatus.DONE, ADMIN_EMAIL)
    assert request.handled_at is not None
    await hanako.worker.drain()
    told = [d for d in fake_line.delivered(LINE_ID) if d.via == "push"]
    assert len(told) == 1 and "写しの準備ができました" in json.dumps(
        told[0].messages, ensure_ascii=False
    )

    # Submitted again (a double submit, an old page): nothing more.
    again = await admin_client.post(done, data={"csrf_token": csrf})
    assert again.headers["location"].endswith("?done=stale")
    await hanako.worker.drain()
    assert len([d for d in fake_line.delivered(LINE_ID) if d.via == "push"]) == 1
    assert len(await audits("privacy.request.done")) == 1
    shown = await admin_client.get(again.headers["location"])
    assert "すでに対応済みか取り下げられています" in shown.text

    # An erasure request is done by erasing, not by this button; withdrawing closes it.
    await asks(hanako, "erasure")
    erasure = await DataRequest.get(kind=RequestKind.ERASURE)
    refused = await admin_client.post(
        f"/admin/data-requests/{erasure.id}/done", data={"csrf_token": csrf}
    )
    assert refused.headers["location"].endswith("?done=erasure_by_erasing")
    assert (await DataRequest.get(id=erasure.id)).status == RequestStatus.OPEN
    withdrawn = await admin_client.post(
        f"/admin/data-requests/{erasure.id}/withdraw", data={"csrf_token": csrf}
    )
    assert withdrawn.headers["location"].endswith("?done=withdrawn")
    assert (await DataRequest.get(id=erasure.id)).status == RequestStatus.WITHDRAWN
    assert len(await audits("privacy.request.withdraw")) == 1


# -- the erasure --------------------------------------------------------------------------------


async def test_a_wrong_name_changes_nothing(
    admin_client: httpx2.AsyncClient, hanako: Resident_
) -> None:
    resident = await asks(hanako, "erasure")
    page = await admin_client.get(erase_page(resident))
    assert page.status_code == 200
    assert "匿名化するもの" in page.text and "残るもの" in page.text
    assert f"「{NAME}」を入力してください" in page.text
    csrf = await page_csrf(admin_client, data_page(resident))
    for typed, message in (("奄美 太郎", "一致しません"), ("", "お名前を入力してください")):
        response = await admin_client.post(
            erase_page(resident), data={"csrf_token": csrf, "name": typed}
        )
        assert response.status_code == 400
        assert message in response.text and 'name="name"' in response.text
        assert 'aria-invalid="true" autofocus' in response.text  # said at the field
    after = await Resident.get(id=resident.id)
    assert (after.line_user_id, after.display_name, after.erased_at) == (LINE_ID, NAME, None)
    assert (await DataRequest.get(resident_id=resident.id)).status == RequestStatus.OPEN
    assert await audits("privacy.resident.erase") == []
    assert len(await audits("privacy.erasure.view")) == 1


async def every_value() -> str:
    """Every row of every table, as text (JSON payloads included)."""
    found = []
    for model in Tortoise.apps["models"].values():
        for row in await model.all().values():
            found.append(json.dumps(row, ensure_ascii=False, default=str))
    return "\n".join(found)


async def test_the_right_name_erases_tells_and_scrubs(
    admin_client: httpx2.AsyncClient,
    hanako: Resident_,
    fake_line: FakeLinePlatform,
    settings: Settings,
) -> None:
    resident = await asks(hanako, "erasure")
    assert LINE_ID in await every_value()
    csrf = await page_csrf(admin_client, erase_page(resident))
    typed = "奄美　花子 "  # a full-width space and a trailing one: the same name
    response = await admin_client.post(
        erase_page(resident), data={"csrf_token": csrf, "name": typed}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{data_page(resident)}?done=erased"

    erased = await Resident.get(id=resident.id)
    assert erased.erased_at is not None and erased.line_user_id.startswith(PSEUDONYM_PREFIX)
    assert NAME not in str(erased)
    request = await DataRequest.get(resident_id=resident.id)
    assert (request.status, request.handled_by) == (RequestStatus.DONE, ADMIN_EMAIL)
    [entry] = await audits("privacy.resident.erase")
    assert (entry.target_type, entry.target_id, entry.staff_email) == (
        "resident",
        str(resident.id),
        ADMIN_EMAIL,
    )
    recorded = json.dumps(entry.detail, ensure_ascii=False)
    assert NAME not in recorded and LINE_ID not in recorded
    assert entry.detail["request"] == request.id

    # What was done, on the resident's page.
    page = await admin_client.get(response.headers["location"])
    assert "データを削除（匿名化）しました。" in page.text and "削除（匿名化）しました" in page.text
    assert "送信待ち" in page.text and NAME not in page.text

    # The notice goes to the LINE id the resident had, once.
    await hanako.worker.drain()
    pushes = [d for d in fake_line.delivered(LINE_ID) if d.via == "push"]
    assert len(pushes) == 1
    assert "データの削除が完了しました" in json.dumps(pushes[0].messages, ensure_ascii=False)
    row = await OutboxMessage.get(dedupe_key=notices.dedupe_key(request))
    assert row.status == OutboxStatus.SENT and row.line_user_id == LINE_ID

    # Submitted again: already erased, nothing more.
    again = await admin_client.post(erase_page(resident), data={"csrf_token": csrf, "name": typed})
    assert again.headers["location"].endswith("?done=already_erased")
    assert len(await audits("privacy.resident.erase")) == 1

    # The job scrubs the notice: no table holds the real LINE id or the name any more.
    assert await notices.scrub_notices(settings) == 0
    row = await OutboxMessage.get(id=row.id)
    assert row.line_user_id == erased.line_user_id and row.messages == []
    everything = await every_value()
    assert LINE_ID not in everything and NAME not in everything
    assert "送信済み" in (await admin_client.get(data_page(resident))).text
    # Nothing is left for it to do.
    await notices.scrub_notices(settings)
    assert (await OutboxMessage.get(id=row.id)).line_user_id == erased.line_user_id


async def test_pictures_go_only_when_the_erasure_is_committed(
    admin_client: httpx2.AsyncClient,
    hanako: Resident_,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chat's picture files are deleted after the admin's transaction commits: an
    erasure rolled back (here the audit entry fails) leaves rows and files as they were."""
    resident = await asks(hanako, "erasure")
    picture = data_dir / "data" / "chat" / "in" / "4711.jpg"
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\xff\xd8 a resident's picture")
    await ChatMessage.create(
        resident=resident,
        direction=Direction.IN,
        sender=Sender.RESIDENT,
        kind=ChatKind.IMAGE,
        text="画像",
        image_path="4711.jpg",
    )
    csrf = await page_csrf(admin_client, erase_page(resident))
    form = {"csrf_token": csrf, "name": NAME}

    async def audit_down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is unavailable")

    record = admin_audit.record
    monkeypatch.setattr(admin_audit, "record", audit_down)
    try:
        failed = await admin_client.post(erase_page(resident), data=form)
        assert failed.status_code == 500
    except RuntimeError:
        pass  # the test client may hand the app's exception on
    assert (await Resident.get(id=resident.id)).erased_at is None
    assert picture.exists()

    monkeypatch.setattr(admin_audit, "record", record)
    done = await admin_client.post(erase_page(resident), data=form)
    assert done.status_code == 303
    assert (await Resident.get(id=resident.id)).erased_at is not None
    assert not picture.exists()


async def test_an_undelivered_erasure_notice_is_scrubbed_and_discarded(
    admin_client: httpx2.AsyncClient,
    hanako: Resident_,
    fake_line: FakeLinePlatform,
    settings: Settings,
) -> None:
    resident = await asks(hanako, "erasure")
    csrf = await page_csrf(admin_client, erase_page(resident))
    await admin_client.post(erase_page(resident), data={"csrf_token": csrf, "name": NAME})
    row = await OutboxMessage.get(kind=notices.ERASED_KIND)
    assert await notices.scrub_notices(settings) == 0
    assert (await OutboxMessage.get(id=row.id)).line_user_id == LINE_ID  # pending: kept
    await OutboxMessage.filter(id=row.id).update(status=OutboxStatus.DEAD)  # LINE gave up
    await notices.scrub_notices(settings)
    row = await OutboxMessage.get(id=row.id)
    assert row.status == OutboxStatus.CANCELLED and row.messages == []
    assert row.line_user_id.startswith(PSEUDONYM_PREFIX)
    assert LINE_ID not in await every_value()


async def test_an_erasure_that_must_wait_shows_why(
    admin_client: httpx2.AsyncClient, hanako: Resident_
) -> None:
    resident = await asks(hanako, "erasure")
    [slot] = await make_slots(1)
    await Booking.create(
        resident=resident,
        slot=slot,
        topic=Topic.PARENTING,
        method=Method.VISIT,
        status=BookingStatus.BOOKED,
        active_key=f"{slot.id}:{resident.id}",
    )
    page = await admin_client.get(erase_page(resident))
    assert page.status_code == 200
    assert "まだ削除できません" in page.text
    assert f'href="/admin/residents/{resident.id}#bookings"' in page.text
    assert 'action="/admin/residents/' not in page.text.split("まだ削除できません")[1]
    csrf = await page_csrf(admin_client, data_page(resident))
    response = await admin_client.post(
        erase_page(resident), data={"csrf_token": csrf, "name": NAME}
    )
    assert response.status_code == 409
    assert "まだ削除できません" in response.text
    after = await Resident.get(id=resident.id)
    assert (after.line_user_id, after.erased_at) == (LINE_ID, None)
    assert (await DataRequest.get(resident_id=resident.id)).status == RequestStatus.OPEN
    assert await audits("privacy.resident.erase") == []
    assert not await OutboxMessage.exists(kind=notices.ERASED_KIND)


async def test_the_residents_page_links_to_their_data(
    staff_client: httpx2.AsyncClient, hanako: Resident_
) -> None:
    await hanako.tap("flow=notify&step=set&v=off")
    resident = await asks(hanako, "erasure")
    page = await staff_client.get(f"/admin/residents/{resident.id}")
    assert page.status_code == 200
    section = page.text.split('id="privacy"')[1].split("</section>")[0]
    assert "受け取らない" in section and "データの削除" in section and "未対応" in section
    assert f'href="/admin/residents/{resident.id}/data"' in section
