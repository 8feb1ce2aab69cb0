"""ハンドメイドマーケット in the admin, through the ASGI app: markets (create, edit, 公開, 締切),
the review (cards, filters, the jury's scores and notes, decisions one at a time and in bulk
with the booths full, 差し戻し with its LINE push), the photos (staff only; the public
thumbnail behind its token), the dashboard and the audit entries."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

import httpx2
from PIL import Image
from starlette.routing import Mount, Route
from tortoise.transactions import in_transaction

from admin.market.markets import spec_values
from admin.passwords import create_staff
from admin.routing import PUBLIC
from models.audit import AuditLog
from models.market import (
    DEFAULT_CATEGORIES,
    ApplicationStatus,
    Market,
    MarketApplication,
    MarketPhoto,
    MarketReview,
    MarketStatus,
)
from models.outbox import OutboxMessage
from models.residents import Resident
from models.staff import StaffUser
from shima.domain import market as rules
from shima.domain import market_photos
from shima.settings import Settings
from shima.timeutil import jst_datetime, now, today_jst
from tests.admin.conftest import PASSWORD, login, page_csrf

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
MARKETS = "/admin/market"
APPS = "/admin/market/applications"
MARKET_DAY = today_jst() + timedelta(days=40)
FULL = "ブースが埋まっています"


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    return jst_datetime(today_jst() + timedelta(days=day_offset), time(hour, minute))


def spec(**changes: object) -> rules.MarketSpec:
    values: dict[str, object] = dict(
        name="あまみハンドメイドマーケット 冬",
        starts_at=jst_datetime(MARKET_DAY, time(10)),
        ends_at=jst_datetime(MARKET_DAY, time(16)),
        venue="AiAi ひろば",
        applications_open_at=now() - timedelta(days=1),
        applications_close_at=now() + timedelta(days=10),
        booths=2,
        booth_fee=2000,
    )
    values.update(changes)
    return rules.MarketSpec(**values)  # type: ignore[arg-type]


async def open_market(**changes: object) -> Market:
    async with in_transaction():
        market = await rules.create_market(spec(**changes))
        return await rules.publish(market.id)


def jpeg(color: str = "#c0392b", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


async def stored_photo(who: Resident, *, error: str = "", color: str = "#c0392b") -> MarketPhoto:
    return await MarketPhoto.create(
        line_message_id=uuid.uuid4().hex,
        resident=who,
        error=error,
        data=None if error else jpeg(color, (640, 480)),
        thumb=None if error else jpeg(color),
        width=0 if error else 640,
        height=0 if error else 480,
    )


async def applicant(
    market: Market,
    name: str,
    category: str = "アクセサリー",
    *,
    booths: int = 1,
    photos: int = 1,
    url: str = "",
    items: str = "ガラスのピアスとイヤリング",
) -> MarketApplication:
    """An artist who applied through the rules, as the LINE flow does."""
    who = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=f"{name}（LINE）")
    async with in_transaction():
        app = await rules.start(who, market.id)
        await rules.save(
            who,
            app.id,
            artist_name=name,
            category=category,
            items=items,
            booths_requested=booths,
            needs_table=True,
            url=url,
        )
        for _ in range(photos):
            await rules.attach_photo(who, app.id, await stored_photo(who))
        app, _ = await rules.submit(who, app.id, uuid.uuid4().hex)
    return app


def market_form(csrf: str, **changes: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf_token": csrf,
        "name": "あまみハンドメイドマーケット 春",
        "date": MARKET_DAY.isoformat(),
        "start": "10:00",
        "end": "16:00",
        "venue": "AiAi ひろば",
        "opens_at": f"{(today_jst() + timedelta(days=1)).isoformat()}T09:00",
        "closes_at": f"{(today_jst() + timedelta(days=20)).isoformat()}T23:59",
        "booths": "30",
        "booth_fee": "3,000",
        "fee_due_on": (MARKET_DAY - timedelta(days=7)).isoformat(),
        "category": [*DEFAULT_CATEGORIES, ""],
        "photos_min": "1",
        "photos_max": "3",
        "notes": "テント・机は各自ご用意ください。",
    }
    form.update(changes)
    return form


def market_routes(client: httpx2.AsyncClient) -> list[tuple[str, str, str]]:
    app = client.app  # type: ignore[attr-defined]
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    found = []
    for route in mount.routes:
        assert isinstance(route, Route)
        if route.path.startswith("/market"):
            path = "/admin" + re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((route.name, method, path))
    return found


async def second_staff(client: httpx2.AsyncClient) -> httpx2.AsyncClient:
    """Another staff member signed in on their own client (same app)."""
    await create_staff("jiro@example.jp", PASSWORD, display_name="島 次郎")
    app = client.app  # type: ignore[attr-defined]
    other = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://testserver"
    )
    assert (await login(other, "jiro@example.jp", PASSWORD)).status_code == 303
    return other


# ---------- Guards ----------


async def test_every_market_route_refuses_anonymous_users(client: httpx2.AsyncClient) -> None:
    market = await open_market()
    await applicant(market, "ガラス工房 海")
    routes = market_routes(client)
    assert len(routes) >= 14
    for name, method, path in routes:
        response = await client.request(method, path, data={} if method == "POST" else None)
        if name in PUBLIC:
            assert response.status_code == 404, path  # no valid token: nothing
        elif method == "GET":
            assert response.status_code == 303, path
            assert urlsplit(response.headers["location"]).path == "/admin/login"
        else:
            assert response.status_code == 403, path
    assert "market_photo_public" in PUBLIC
    assert await AuditLog.all().count() == 0
    assert await Market.all().count() == 1


async def test_posts_without_csrf_token_change_nothing(staff_client: httpx2.AsyncClient) -> None:
    market = await open_market()
    app = await applicant(market, "ガラス工房 海")
    for path, data in (
        (f"{MARKETS}/new", {"name": "別のマーケット"}),
        (f"{MARKETS}/{market.id}/close", {}),
        (f"{MARKETS}/{market.id}/decide", {"ids": str(app.id), "decision": "accepted"}),
        (f"{APPS}/{app.id}/score", {"score": "5", "note": "とても良い"}),
        (f"{APPS}/{app.id}/return", {"message": "写真を追加してください"}),
    ):
        response = await staff_client.post(path, data=data)
        assert response.status_code == 403, path
        assert "不正なリクエスト" in response.text
    await app.refresh_from_db()
    await market.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED and market.status == MarketStatus.PUBLISHED
    assert await Market.all().count() == 1 and await MarketReview.all().count() == 0
    assert await OutboxMessage.all().count() == 0


# ---------- Markets ----------


async def test_create_edit_publish_and_close_a_market(staff_client: httpx2.AsyncClient) -> None:
    new = await staff_client.get(f"{MARKETS}/new")
    assert new.status_code == 200
    for category in DEFAULT_CATEGORIES:
        assert f'value="{category}"' in new.text
    assert (
        'name="photos_min" type="number" min="0" max="10" step="1" inputmode="numeric" value="1"'
        in new.text
    )
    csrf = await page_csrf(staff_client, f"{MARKETS}/new")
    categories = ["アクセサリー", "布小物", "", "木工", "ガラス"]
    created = await staff_client.post(
        f"{MARKETS}/new", data=market_form(csrf, category=categories, allow_two_booths="1")
    )
    assert created.status_code == 303, created.text
    market = await Market.get()
    assert created.headers["location"] == f"{MARKETS}/{market.id}?done=created"
    assert market.status == MarketStatus.DRAFT
    assert market.categories == ["アクセサリー", "布小物", "木工", "ガラス"]
    assert market.booth_fee == 3000 and market.booths == 30 and market.allow_two_booths
    assert market.starts_at == jst_datetime(MARKET_DAY, time(10))
    assert market.fee_due_on == MARKET_DAY - timedelta(days=7)
    page = await staff_client.get(created.headers["location"])
    assert "下書きで作成しました" in page.text and "1ブース 3,000円" in page.text
    assert "ガラス" in page.text and "公開する" in page.text

    csrf = await page_csrf(staff_client, f"{MARKETS}/{market.id}/edit")
    edited = await staff_client.post(
        f"{MARKETS}/{market.id}/edit",
        data=market_form(csrf, category=categories, booths="24", venue="奄美文化センター"),
    )
    assert edited.status_code == 303
    await market.refresh_from_db()
    assert market.booths == 24 and market.venue == "奄美文化センター"
    entry = await AuditLog.get(action="market.market.update")
    assert entry.target_id == str(market.id)
    assert entry.detail["fields"] == "会場・ブース数・2ブースの申込み"

    published = await staff_client.post(f"{MARKETS}/{market.id}/publish", data={"csrf_token": csrf})
    assert published.headers["location"] == f"{MARKETS}/{market.id}?done=published"
    await market.refresh_from_db()
    assert market.status == MarketStatus.PUBLISHED
    listed = await staff_client.get(MARKETS)
    assert "あまみハンドメイドマーケット 春" in listed.text and "受付前" in listed.text

    closed = await staff_client.post(f"{MARKETS}/{market.id}/close", data={"csrf_token": csrf})
    assert closed.headers["location"] == f"{MARKETS}/{market.id}?done=closed"
    await market.refresh_from_db()
    assert market.status == MarketStatus.CLOSED
    again = await staff_client.post(f"{MARKETS}/{market.id}/publish", data={"csrf_token": csrf})
    assert again.headers["location"].endswith("done=stale")
    actions = set(await AuditLog.filter(target_type="market").values_list("action", flat=True))
    assert actions == {
        "market.market.create",
        "market.market.update",
        "market.market.publish",
        "market.market.close",
    }


async def test_the_market_form_comes_back_with_japanese_messages_and_the_typed_values(
    staff_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(staff_client, f"{MARKETS}/new")
    unreadable = await staff_client.post(
        f"{MARKETS}/new",
        data=market_form(csrf, date="", booths="たくさん", opens_at="いつか", photos_max=""),
    )
    assert unreadable.status_code == 400
    for message in (
        "開催日を入力してください。",
        "ブース数を数字で入力してください。",
        "受付開始の日時を入力してください。",
        "作品写真の枚数（最少・最多）を数字で入力してください。",
    ):
        assert message in unreadable.text
    assert 'value="たくさん"' in unreadable.text and 'value="いつか"' in unreadable.text

    closes_late = f"{(MARKET_DAY + timedelta(days=1)).isoformat()}T10:00"
    wrong = await staff_client.post(
        f"{MARKETS}/new",
        data=market_form(
            csrf,
            name="",
            end="09:00",
            closes_at=closes_late,
            photos_min="4",
            photos_max="2",
            category=["陶芸", "陶芸"],
        ),
    )
    assert wrong.status_code == 400
    for message in (
        "マーケット名を入力してください。",
        "終了時刻は開始時刻より後にしてください。",
        "申込みの締切は開催日より前にしてください。",
        "写真の枚数は、最少 ≤ 最多 ≤ 10 で指定してください。",
        "同じジャンル（陶芸）が2回以上入っています。1つにしてください。",
    ):
        assert message in wrong.text
    assert f'value="{closes_late}"' in wrong.text

    long_name = "長" * 101
    too_long = await staff_client.post(
        f"{MARKETS}/new", data=market_form(csrf, name=long_name, notes=XSS)
    )
    assert too_long.status_code == 400
    assert "マーケット名は100文字以内で入力してください（いま101文字です）。" in too_long.text
    assert long_name in too_long.text and XSS_ESCAPED in too_long.text and XSS not in too_long.text
    assert await Market.all().count() == 0


async def test_booths_cannot_go_below_those_accepted(staff_client: httpx2.AsyncClient) -> None:
    market = await open_market(booths=3)
    for name in ("工房 一", "工房 二"):
        app = await applicant(market, name)
        async with in_transaction():
            await rules.decide(app.id, ApplicationStatus.ACCEPTED, 1)
    path = f"{MARKETS}/{market.id}/edit"
    page = await staff_client.get(path)
    assert "いま 2ブースが採択" in page.text
    csrf = await page_csrf(staff_client, path)
    values = spec_values(rules.MarketSpec.of(market))
    form = {"csrf_token": csrf, **values, "category": values["categories"], "booths": "1"}
    refused = await staff_client.post(path, data=form)
    assert refused.status_code == 400
    assert "採択済みのブース数（2）より少なくはできません" in refused.text
    await market.refresh_from_db()
    assert market.booths == 3


async def test_list_and_market_page_escape_and_count(staff_client: httpx2.AsyncClient) -> None:
    market = await open_market(name=XSS)
    await applicant(market, "工房 一")
    two = await applicant(market, "工房 二", "木工")
    async with in_transaction():
        await rules.decide(two.id, ApplicationStatus.ACCEPTED, 1)
    listed = await staff_client.get(MARKETS)
    assert XSS_ESCAPED in listed.text and XSS not in listed.text
    assert "受付中" in listed.text and "2件" in listed.text and "1 / 2" in listed.text
    page = await staff_client.get(f"{MARKETS}/{market.id}")
    assert page.status_code == 200 and XSS not in page.text
    assert "締め切る" in page.text and "採択 1・補欠 0" in page.text
    missing = await staff_client.get(f"{MARKETS}/99999")
    assert missing.status_code == 404 and "マーケットが見つかりません" in missing.text


# ---------- The review ----------


async def test_review_shows_cards_with_photos_and_filters_them(
    staff_client: httpx2.AsyncClient,
) -> None:
    market = await open_market(booths=5)
    sea = await applicant(
        market, "ガラス工房 海", photos=3, url="https://example.jp/shop?a=1&b=<b>"
    )
    wood = await applicant(market, "木の器 森", "木工", booths=1)
    clay = await applicant(market, "陶房 " + XSS, "陶芸")
    async with in_transaction():
        await rules.decide(wood.id, ApplicationStatus.ACCEPTED, 1)
    # A draft still being entered in LINE is not shown.
    drafter = await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name="入力中")
    async with in_transaction():
        draft = await rules.start(drafter, market.id)
        await rules.save(drafter, draft.id, artist_name="入力中の工房")

    page = await staff_client.get(f"{MARKETS}/{market.id}/review")
    assert page.status_code == 200
    text = page.text
    assert "ガラス工房 海" in text and "木の器 森" in text and "入力中の工房" not in text
    assert XSS_ESCAPED in text and XSS not in text
    photos = await MarketPhoto.filter(application_id=sea.id).order_by("id")
    for photo in photos:
        assert f'href="/admin/market/photos/{photo.id}.jpg"' in text
        assert f'src="/admin/market/photos/{photo.id}/thumb.jpg"' in text
    link = (
        'href="https://example.jp/shop?a=1&amp;b=&lt;b&gt;" target="_blank"'
        ' rel="noopener noreferrer"'
    )
    assert link in text
    assert "机・椅子" in text and "貸出希望" in text
    # The genre balance: 木工 has its booth accepted, アクセサリー one waiting.
    assert "採択 1</strong> / 5ブース" in text
    assert 'class="seg-accepted" x="0" y="0" width="1"' in text

    woodwork = await staff_client.get(f"{MARKETS}/{market.id}/review", params={"category": "木工"})
    assert "木の器 森" in woodwork.text and "ガラス工房 海" not in woodwork.text
    accepted = await staff_client.get(
        f"{MARKETS}/{market.id}/review", params={"status": "submitted"}
    )
    assert "ガラス工房 海" in accepted.text and "木の器 森" not in accepted.text
    assert str(clay.id) in accepted.text
    forged = await staff_client.get(
        f"{MARKETS}/{market.id}/review", params={"category": XSS, "status": "nope"}
    )
    assert (
        forged.status_code == 200 and "木の器 森" in forged.text and "ガラス工房 海" in forged.text
    )
    views = await AuditLog.filter(action="market.review.view").order_by("id")
    assert len(views) == 4 and views[1].detail == {"category": "木工"}
    assert views[3].detail == {}

    one = await staff_client.get(f"{APPS}/{sea.id}")
    assert one.status_code == 200 and "ガラス工房 海" in one.text and "評価を保存" in one.text
    assert await AuditLog.filter(action="market.application.view", target_id=str(sea.id)).exists()
    assert (await staff_client.get(f"{APPS}/{draft.id}")).status_code == 404


async def test_decisions_one_at_a_time_and_in_bulk_with_the_booths_full(
    staff_client: httpx2.AsyncClient,
) -> None:
    market = await open_market(booths=2)
    apps = [await applicant(market, f"工房 {n}") for n in ("一", "二", "三")]
    csrf = await page_csrf(staff_client, f"{MARKETS}/{market.id}/review")
    decide = f"{MARKETS}/{market.id}/decide"

    nothing = await staff_client.post(decide, data={"csrf_token": csrf, "decision": "accepted"})
    assert nothing.status_code == 400 and "チェックボックスで選んでください" in nothing.text

    bulk = await staff_client.post(
        decide,
        data={
            "csrf_token": csrf,
            "decision": "accepted",
            "ids": [str(a.id) for a in apps],
            "f_status": "submitted",
        },
    )
    assert bulk.status_code == 409
    assert (
        "2件を「採択」にしました。" in bulk.text
        and "次の1件は「採択」にできませんでした" in bulk.text
    )
    report = bulk.text.split('id="report"', 1)[1].split("</div>", 1)[0]
    assert f'<p class="report-reason">{FULL}' in report and "<strong>工房 三</strong>" in report
    assert "工房 一" not in report
    # The refused card stays ticked (to make it 補欠 at once); the accepted ones do not.
    assert f'value="{apps[2].id}" form="bulk" data-bulk-item checked' in bulk.text
    assert f'value="{apps[0].id}" form="bulk" data-bulk-item checked' not in bulk.text
    statuses = [(await MarketApplication.get(id=a.id)).status for a in apps]
    assert statuses == [
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.SUBMITTED,
    ]
    await market.refresh_from_db()
    assert market.booths_taken == 2

    single = await staff_client.post(
        decide, data={"csrf_token": csrf, "decision": "accepted", "ids": str(apps[2].id)}
    )
    assert single.status_code == 409 and FULL in single.text

    reserve = await staff_client.post(
        decide,
        data={
            "csrf_token": csrf,
            "decision": "reserve",
            "ids": str(apps[2].id),
            "f_status": "submitted",
        },
    )
    assert reserve.status_code == 303
    assert reserve.headers["location"] == (
        f"{MARKETS}/{market.id}/review?status=submitted&done=decided#a{apps[2].id}"
    )
    undo = await staff_client.post(
        decide,
        data={
            "csrf_token": csrf,
            "decision": "submitted",
            "ids": str(apps[0].id),
            "from": "application",
        },
    )
    assert undo.headers["location"] == f"{APPS}/{apps[0].id}?done=decided"
    await market.refresh_from_db()
    assert market.booths_taken == 1  # the undo freed its booth

    other = await open_market(name="別のマーケット")
    stranger = await applicant(other, "よその工房")
    forged = await staff_client.post(
        decide, data={"csrf_token": csrf, "decision": "rejected", "ids": str(stranger.id)}
    )
    assert forged.status_code == 409 and "このマーケットの申込みではありません" in forged.text
    assert (await MarketApplication.get(id=stranger.id)).status == ApplicationStatus.SUBMITTED

    decided = await AuditLog.filter(action="market.application.decide").order_by("id")
    assert [(e.target_id, e.detail["decision"]) for e in decided] == [
        (str(apps[0].id), "accepted"),
        (str(apps[1].id), "accepted"),
        (str(apps[2].id), "reserve"),
        (str(apps[0].id), "submitted"),
    ]
    assert decided[0].detail["bulk"] == 3 and "bulk" not in decided[2].detail
    labels = (await staff_client.get(f"{MARKETS}/{market.id}/review")).text
    assert "✓ 補欠" in labels and "✓ 採択" in labels


async def test_a_bulk_decision_says_how_many_became_what(
    staff_client: httpx2.AsyncClient,
) -> None:
    market = await open_market(booths=2)
    apps = [await applicant(market, f"工房 {n}") for n in ("一", "二", "三")]
    csrf = await page_csrf(staff_client, f"{MARKETS}/{market.id}/review")
    sent = await staff_client.post(
        f"{MARKETS}/{market.id}/decide",
        data={"csrf_token": csrf, "decision": "reserve", "ids": [str(a.id) for a in apps]},
    )
    assert sent.status_code == 303 and "d=reserve" in sent.headers["location"]
    page = (await staff_client.get(sent.headers["location"])).text
    assert "3件を「補欠」にしました" in page
    # The status chips link to clean URLs (no dangling separator).
    assert f'href="{MARKETS}/{market.id}/review?status=reserve"' in page
    assert '&amp;"' not in page and '?"' not in page


async def test_two_staff_accepting_the_last_booth_at_once(
    staff_client: httpx2.AsyncClient,
) -> None:
    market = await open_market(booths=1)
    first, second = await applicant(market, "工房 一"), await applicant(market, "工房 二")
    other = await second_staff(staff_client)
    try:
        forms = []
        for client, app in ((staff_client, first), (other, second)):
            csrf = await page_csrf(client, f"{MARKETS}/{market.id}/review")
            forms.append(
                client.post(
                    f"{MARKETS}/{market.id}/decide",
                    data={"csrf_token": csrf, "decision": "accepted", "ids": str(app.id)},
                )
            )
        answers = await asyncio.gather(*forms)
    finally:
        await other.aclose()
    codes = sorted(a.status_code for a in answers)
    assert codes == [303, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert FULL in loser.text
    assert await MarketApplication.filter(status=ApplicationStatus.ACCEPTED).count() == 1
    await market.refresh_from_db()
    assert market.booths_taken == 1


async def test_every_reviewer_sees_all_scores_and_notes_and_the_average(
    staff_client: httpx2.AsyncClient,
) -> None:
    market = await open_market()
    app = await applicant(market, "ガラス工房 海")
    path = f"{APPS}/{app.id}/score"
    csrf = await page_csrf(staff_client, f"{MARKETS}/{market.id}/review")
    saved = await staff_client.post(
        path,
        data={
            "csrf_token": csrf,
            "score": "4",
            "note": "色づかいが良い。" + XSS,
            "f_category": "アクセサリー",
        },
    )
    assert saved.headers["location"] == (
        f"{MARKETS}/{market.id}/review?category=%E3%82%A2%E3%82%AF%E3%82%BB%E3%82%B5%E3%83%AA%E3%83%BC&done=scored#a{app.id}"
    )
    other = await second_staff(staff_client)
    try:
        other_csrf = await page_csrf(other, f"{APPS}/{app.id}")
        assert (
            await other.post(
                path,
                data={"csrf_token": other_csrf, "score": "2", "note": "", "from": "application"},
            )
        ).headers["location"] == f"{APPS}/{app.id}?done=scored#jury"
        page = (await other.get(f"{MARKETS}/{market.id}/review")).text
    finally:
        await other.aclose()
    assert "島 花子" in page and "島 次郎（あなた）" in page
    assert "色づかいが良い。" + XSS_ESCAPED in page and XSS not in page
    assert "3.0<small>（2人）</small>" in page
    rows = await MarketReview.filter(application_id=app.id).order_by("id")
    assert [(r.score, r.note) for r in rows] == [(4, "色づかいが良い。" + XSS), (2, "")]

    bad = await staff_client.post(path, data={"csrf_token": csrf, "score": "7", "note": "x"})
    assert bad.status_code == 400 and "点数は1〜5から選んでください" in bad.text
    long_note = "メ" * (rules.NOTE_MAX + 1)
    too_long = await staff_client.post(
        path, data={"csrf_token": csrf, "score": "3", "note": long_note}
    )
    assert too_long.status_code == 400
    assert f"メモは{rules.NOTE_MAX:,}文字以内で入力してください" in too_long.text
    assert long_note in too_long.text  # the typed note comes back
    assert (await MarketReview.get(application_id=app.id, staff_id=rows[0].staff_id)).score == 4
    scored = await AuditLog.filter(action="market.application.score").order_by("id")
    assert [e.detail["score"] for e in scored] == [4, 2]
    assert [e.detail["note"] for e in scored] == ["written", "empty"]


async def test_send_back_queues_one_push_with_the_message(
    staff_client: httpx2.AsyncClient,
) -> None:
    market = await open_market()
    app = await applicant(market, "ガラス工房 海")
    path = f"{APPS}/{app.id}/return"
    page = await staff_client.get(path)
    assert page.status_code == 200 and "差し戻して LINE で知らせる" in page.text
    # The form shows the application and its photos: audited as a view of it.
    photo = await MarketPhoto.get(application_id=app.id)
    assert f"/admin/market/photos/{photo.id}/thumb.jpg" in page.text
    assert await AuditLog.filter(action="market.application.view", target_id=str(app.id)).exists()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce
    csrf = await page_csrf(staff_client, path)
    empty = await staff_client.post(path, data={"csrf_token": csrf, "message": "  "})
    assert empty.status_code == 400 and "直してほしいことを入力してください" in empty.text
    message = "作品全体がわかる写真をもう1枚追加してください。"
    sent = await staff_client.post(
        path, data={"csrf_token": csrf, "message": message, "nonce": nonce.group(1)}
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{MARKETS}/{market.id}/review?done=returned#a{app.id}"
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.RETURNED and app.return_message == message
    pushes = await OutboxMessage.all()
    assert len(pushes) == 1
    resident = await Resident.get(id=app.resident_id)
    assert pushes[0].line_user_id == resident.line_user_id
    assert message in str(pushes[0].messages)

    again = await staff_client.post(
        path, data={"csrf_token": csrf, "message": message, "nonce": nonce.group(1)}
    )
    assert again.status_code == 409 and "審査中のお申し込みだけ差し戻しできます" in again.text
    assert await OutboxMessage.all().count() == 1
    entry = await AuditLog.get(action="market.application.return")
    assert entry.target_id == str(app.id) and entry.detail["pushes"] == 1
    # That a message was sent and how long it was: never its text (the artist's business).
    assert entry.detail["message_chars"] == len(message)
    assert message not in str(entry.detail) and "message" not in entry.detail
    review = (await staff_client.get(f"{MARKETS}/{market.id}/review")).text
    assert "差し戻し中" in review and message in review


# ---------- Photos ----------


async def test_photos_are_served_to_staff_only_and_the_public_thumbnail_needs_its_token(
    client: httpx2.AsyncClient, staff_user: StaffUser, settings: Settings
) -> None:
    market = await open_market()
    app = await applicant(market, "ガラス工房 海")
    photo = await MarketPhoto.get(application_id=app.id)
    failed = await stored_photo(await Resident.get(id=app.resident_id), error="gone")
    full, thumb = f"{MARKETS}/photos/{photo.id}.jpg", f"{MARKETS}/photos/{photo.id}/thumb.jpg"

    for path in (full, thumb):
        anonymous = await client.get(path)
        assert anonymous.status_code == 303 and "/admin/login" in anonymous.headers["location"]
    token = market_photos.token(settings.secret_key, photo.id)
    public = await client.get(f"{MARKETS}/public/{photo.id}-{token}.jpg")
    assert public.status_code == 200 and public.headers["content-type"] == "image/jpeg"
    assert public.content == photo.thumb
    assert market_photos.thumb_url(settings, photo.id).endswith(
        f"/admin/market/public/{photo.id}-{token}.jpg"
    )
    for bad in (
        f"{MARKETS}/public/{photo.id}-{token[:-1]}x.jpg",
        f"{MARKETS}/public/{photo.id + 1}-{token}.jpg",
        f"{MARKETS}/public/{failed.id}-{market_photos.token(settings.secret_key, failed.id)}.jpg",
    ):
        assert (await client.get(bad)).status_code == 404, bad

    assert (await login(client, "hanako@example.jp", PASSWORD)).status_code == 303
    big = await client.get(full)
    assert big.status_code == 200 and big.headers["content-type"] == "image/jpeg"
    assert big.content == photo.data and Image.open(io.BytesIO(big.content)).size == (640, 480)
    small = await client.get(thumb)
    assert small.status_code == 200 and small.content == photo.thumb
    assert small.headers["etag"] == f'"market-photo-{photo.id}-thumb"'
    for missing in (f"{MARKETS}/photos/{failed.id}.jpg", f"{MARKETS}/photos/99999/thumb.jpg"):
        assert (await client.get(missing)).status_code == 404
    views = await AuditLog.filter(action="market.photo.view")
    assert [(v.target_id, v.detail) for v in views] == [(str(photo.id), {"application": app.id})]


# ---------- Dashboard and the audit page ----------


async def test_dashboard_lists_upcoming_markets_with_counts(
    staff_client: httpx2.AsyncClient,
) -> None:
    market = await open_market(booths=4)
    await applicant(market, "工房 一")
    accepted = await applicant(market, "工房 二")
    async with in_transaction():
        await rules.decide(accepted.id, ApplicationStatus.ACCEPTED, 1)
        await rules.create_market(spec(name="下書きのマーケット"))
    page = (await staff_client.get("/admin/")).text
    part = page.split('id="market-dashboard-title"')[1].split("</section>")[0]
    assert "あまみハンドメイドマーケット 冬" in part and "下書きのマーケット" not in part
    assert "受付中" in part and "2件" in part and "1件" in part and "1 / 4" in part
    assert "工房 一" not in page  # counts only on the dashboard
    kpi = page.split('id="kpi-title"')[1]
    assert re.search(r'受付中のマーケット</h3>\s*<p class="card-value">1<', kpi)
    assert re.search(r'審査待ちの出店申込み</h3>\s*<p class="card-value">1<', kpi)


async def test_the_audit_page_names_market_actions_in_japanese(
    admin_client: httpx2.AsyncClient,
) -> None:
    market = await open_market()
    app = await applicant(market, "ガラス工房 海")
    await admin_client.get(f"{MARKETS}/{market.id}/review")
    csrf = await page_csrf(admin_client, f"{MARKETS}/{market.id}/review")
    await admin_client.post(
        f"{MARKETS}/{market.id}/decide",
        data={"csrf_token": csrf, "decision": "reserve", "ids": str(app.id)},
    )
    page = (await admin_client.get("/admin/audit")).text
    assert "マーケットの審査画面の閲覧" in page and "出店申込みの審査結果の決定" in page
    assert f'href="/admin/market/applications/{app.id}"' in page
    assert "補欠" in page
