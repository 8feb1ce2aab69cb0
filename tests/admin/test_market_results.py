"""ハンドメイドマーケット after the review, through the ASGI app: 結果を通知 (counts, the undecided
warning, the cost shown first, sent once under a double submit, refused while the window is
open), booth numbers (saved all at once, a duplicate refused in Japanese with the typed
values kept, a swap allowed), fees (paid / unpaid, overdue highlighted), withdrawing an
artist (the reason asked first; the booth offered to the first 補欠), the printable list,
the CSV (BOM, booth order, formulas neutralised), the resident's page, forged ids, CSRF and
the audit log."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx2
import pytest
from starlette.routing import Mount, Route

from line_app.fake_line import FakeLinePlatform
from models.audit import AuditLog
from models.market import ApplicationStatus, Market, MarketApplication, MarketStatus
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.timeutil import today_jst
from tests.admin.conftest import page_csrf
from tests.line_app.test_market_notices import (
    Clock,
    applicant,
    decide,
    decided_market,
    make_market,
    set_clock,
)

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
MINE = {
    "market_results",
    "market_booths",
    "market_booth_list",
    "market_fee",
    "market_withdraw",
    "market_export",
}


def results(market: Market) -> str:
    return f"/admin/market/{market.id}/results"


def booths(market: Market) -> str:
    return f"/admin/market/{market.id}/booths"


def nonce_of(html: str) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', html)
    assert found, "no nonce on the page"
    return found.group(1)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The market rules' clock at 10:00 JST (daytime: freed booths are offered at once)."""
    return set_clock(monkeypatch)


async def status(app: MarketApplication) -> ApplicationStatus:
    return (await MarketApplication.get(id=app.id)).status


# ---------- Guards ----------


def my_routes(client: httpx2.AsyncClient) -> list[tuple[str, str]]:
    app = client.app  # type: ignore[attr-defined]
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    found = []
    for route in mount.routes:
        if isinstance(route, Route) and route.name in MINE:
            path = "/admin" + re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, path))
    return found


async def test_every_route_refuses_anonymous_users(client: httpx2.AsyncClient) -> None:
    routes = my_routes(client)
    assert len(routes) == 8
    for method, path in routes:
        response = await client.request(method, path, data={} if method == "POST" else None)
        assert response.status_code == (303 if method == "GET" else 403), path
    assert await AuditLog.all().count() == 0


async def test_posts_without_the_csrf_token_change_nothing(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    one = apps["U1"]
    posts = [
        (results(market), {"body": "x", "confirm": "yes", "nonce": "a" * 24}),
        (booths(market), {f"booth_{one.id}": "A-1"}),
        (f"{booths(market)}/{one.id}/fee", {"paid": "1"}),
        (f"{booths(market)}/{one.id}/withdraw", {"confirm": "yes", "reason": "辞退"}),
    ]
    for path, data in posts:
        response = await staff_client.post(path, data=data)
        assert response.status_code == 403, path
        assert "不正なリクエスト" in response.text
    app = await MarketApplication.get(id=one.id)
    assert (app.status, app.booth_number, app.fee_paid) == (ApplicationStatus.ACCEPTED, "", False)
    assert await OutboxMessage.all().count() == 0
    assert not await MarketApplication.filter(result_notified_at__isnull=False).exists()


async def test_forged_ids_are_not_found(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    other = await make_market(clock)
    csrf = await page_csrf(staff_client, booths(market))
    for path, data in (
        (f"{booths(other)}/{apps['U1'].id}/fee", {"paid": "1"}),
        (f"{booths(other)}/{apps['U1'].id}/withdraw", {"confirm": "yes", "reason": "x"}),
        (f"{booths(market)}/999999/fee", {"paid": "1"}),
    ):
        response = await staff_client.post(path, data={"csrf_token": csrf, **data})
        assert response.status_code == 404, path
        assert "見つかりません" in response.text
    for path in (
        "/admin/market/999999/results",
        "/admin/market/999999/booths",
        "/admin/market/999999/booths/print",
        "/admin/market/999999/accepted.csv",
    ):
        assert (await staff_client.get(path)).status_code == 404, path
    # A booth field of another market's application is ignored by this market's form.
    stranger = await applicant(fake_line, other, "U9", "他所")
    await decide(clock, stranger, ApplicationStatus.ACCEPTED)
    saved = await staff_client.post(
        booths(market), data={"csrf_token": csrf, f"booth_{stranger.id}": "Z-9"}
    )
    assert saved.status_code == 303
    assert (await MarketApplication.get(id=stranger.id)).booth_number == ""
    assert (await MarketApplication.get(id=apps["U1"].id)).status == ApplicationStatus.ACCEPTED


# ---------- 結果を通知 ----------


async def test_results_page_shows_counts_the_undecided_and_the_cost_first(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    await Resident.filter(id=apps["U5"].resident_id).update(is_following=False)
    page = await staff_client.get(results(market))
    assert page.status_code == 200
    html = page.text
    assert 'data-count="accepted">2' in html and 'data-count="reserve">2' in html
    assert 'data-count="rejected">1' in html and 'data-count="undecided">1' in html
    assert "まだ決定していないお申し込みが <strong>1件</strong>" in html
    assert "宇検工房" in html.split('id="undecided"', 1)[1].split("</div>", 1)[0]
    assert "<strong>5人</strong>" in html and "<strong>4通</strong>" in html
    assert "ブロック中" in html and "住用工房" in html.split('id="blocked"', 1)[1]
    entry = await AuditLog.get(action="market.results.view")
    assert entry.target_type == "market" and entry.target_id == str(market.id)


async def test_send_shows_the_cost_then_sends_once_under_a_double_submit(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    csrf = await page_csrf(staff_client, results(market))
    body = f"ご応募ありがとうございました。{XSS}"

    asked = await staff_client.post(results(market), data={"csrf_token": csrf, "body": body})
    assert asked.status_code == 200
    assert "<strong>5通</strong>" in asked.text and "5通を送信する" in asked.text
    assert XSS_ESCAPED in asked.text and XSS not in asked.text
    assert await OutboxMessage.all().count() == 0  # nothing sent at the first step
    nonce = nonce_of(asked.text)
    confirm = {"csrf_token": csrf, "body": body, "nonce": nonce, "confirm": "yes"}

    sent = await staff_client.post(results(market), data=confirm)
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("?done=sent&n=5")
    again = await staff_client.post(results(market), data=confirm)  # a double submit
    assert again.status_code == 303 and again.headers["location"].endswith("?done=sent_again")
    shown = await staff_client.get(again.headers["location"])
    assert "すでに送信済み" in shown.text

    rows = await OutboxMessage.filter(kind="market_result")
    assert len(rows) == 5
    assert {r.dedupe_key for r in rows} == {
        f"market_result:{apps[u].id}" for u in ("U1", "U2", "U3", "U4", "U5")
    }
    assert all(XSS in str(r.messages) for r in rows)  # the artist's LINE shows it as typed
    [entry] = await AuditLog.filter(action="market.results.send")
    assert entry.target_id == str(market.id)
    assert entry.detail["pushes"] == 5 and entry.detail["applicants"] == 5
    assert (await Market.get(id=market.id)).status == MarketStatus.RESULTS_SENT

    # A new form (a new nonce) with nobody left to tell sends nothing either.
    asked = await staff_client.post(results(market), data={"csrf_token": csrf, "body": "再送"})
    assert "いま結果を知らせる応募者はいません" in asked.text
    fresh = {"csrf_token": csrf, "body": "再送", "nonce": nonce_of(asked.text), "confirm": "yes"}
    done = await staff_client.post(results(market), data=fresh)
    assert done.headers["location"].endswith("?done=sent_again")
    assert await OutboxMessage.filter(kind="market_result").count() == 5
    assert await AuditLog.filter(action="market.results.send").count() == 1

    # A late decision: the first form submitted once more (its nonce used) still sends
    # nothing — the late applicant gets the message staff confirm for them, not an old one.
    await decide(clock, apps["U6"], ApplicationStatus.REJECTED)
    stale = await staff_client.post(results(market), data=confirm)
    assert stale.headers["location"].endswith("?done=sent_again")
    assert (await MarketApplication.get(id=apps["U6"].id)).result_notified_at is None
    asked = await staff_client.post(results(market), data={"csrf_token": csrf, "body": "追加"})
    assert "<strong>1通</strong>" in asked.text
    late = {"csrf_token": csrf, "body": "追加", "nonce": nonce_of(asked.text), "confirm": "yes"}
    sent = await staff_client.post(results(market), data=late)
    assert sent.headers["location"].endswith("?done=sent&n=1")
    assert await OutboxMessage.filter(kind="market_result").count() == 6
    assert await AuditLog.filter(action="market.results.send").count() == 2


async def test_send_refusals_keep_the_message(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market = await make_market(clock)
    await Market.filter(id=market.id).update(
        status=MarketStatus.PUBLISHED, applications_close_at=clock.day(3, 10)
    )
    app = await applicant(fake_line, market, "U1", "奄美")
    await decide(clock, app, ApplicationStatus.ACCEPTED)
    csrf = await page_csrf(staff_client, results(market))
    page = await staff_client.get(results(market))
    assert "締切にしてから" in page.text and "disabled" in page.text

    long_body = "長" * 1001
    too_long = await staff_client.post(
        results(market), data={"csrf_token": csrf, "body": long_body}
    )
    assert too_long.status_code == 400
    assert "1,000文字以内" in too_long.text and long_body in too_long.text

    forced = await staff_client.post(
        results(market),
        data={"csrf_token": csrf, "body": "お知らせ", "nonce": "b" * 24, "confirm": "yes"},
    )
    assert forced.status_code == 409
    assert "締切にしてから" in forced.text and "お知らせ" in forced.text
    assert await OutboxMessage.all().count() == 0
    assert (await MarketApplication.get(id=app.id)).result_notified_at is None


# ---------- Booths and fees ----------


async def test_booth_numbers_saved_at_once_duplicates_refused_swaps_allowed(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    one, two = apps["U1"], apps["U2"]
    csrf = await page_csrf(staff_client, booths(market))
    saved = await staff_client.post(
        booths(market),
        data={"csrf_token": csrf, f"booth_{one.id}": " A-2 ", f"booth_{two.id}": "A-10"},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    assert [(await MarketApplication.get(id=a.id)).booth_number for a in (one, two)] == [
        "A-2",
        "A-10",
    ]

    duplicate = await staff_client.post(
        booths(market),
        data={"csrf_token": csrf, f"booth_{one.id}": "B-1", f"booth_{two.id}": "B-1"},
    )
    assert duplicate.status_code == 400
    assert "ブース番号「B-1」は、すでにほかの出店者に付いています。" in duplicate.text
    assert duplicate.text.count('value="B-1"') == 2  # the typed numbers kept
    assert [  # nothing saved of the refused form
        (await MarketApplication.get(id=a.id)).booth_number for a in (one, two)
    ] == ["A-2", "A-10"]

    swap = await staff_client.post(
        booths(market),
        data={"csrf_token": csrf, f"booth_{one.id}": "A-10", f"booth_{two.id}": "A-2"},
    )
    assert swap.status_code == 303
    assert [(await MarketApplication.get(id=a.id)).booth_number for a in (one, two)] == [
        "A-10",
        "A-2",
    ]
    unchanged = await staff_client.post(
        booths(market),
        data={"csrf_token": csrf, f"booth_{one.id}": "A-10", f"booth_{two.id}": "A-2"},
    )
    assert unchanged.headers["location"].endswith("?done=unchanged")
    assert await AuditLog.filter(action="market.booths.update").count() == 2

    too_long = await staff_client.post(
        booths(market), data={"csrf_token": csrf, f"booth_{one.id}": "X" * 21}
    )
    assert too_long.status_code == 400 and "20文字以内" in too_long.text

    page = await staff_client.get(booths(market))
    html = page.text.split('id="accepted"', 1)[1].split("</section>", 1)[0]
    assert html.index(f'id="a{two.id}"') < html.index(f'id="a{one.id}"')  # A-2 before A-10
    assert await AuditLog.filter(action="market.booths.view").count() >= 1


async def test_fees_paid_unpaid_and_overdue_highlighted(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    await Market.filter(id=market.id).update(fee_due_on=today_jst() - timedelta(days=1))
    one, two = apps["U1"], apps["U2"]
    page = await staff_client.get(booths(market))
    assert page.text.count("row-overdue") == 2 and "期限切れ・未入金" in page.text
    csrf = await page_csrf(staff_client, booths(market))

    paid = await staff_client.post(
        f"{booths(market)}/{one.id}/fee", data={"csrf_token": csrf, "paid": "1"}
    )
    assert paid.status_code == 303 and "done=paid" in paid.headers["location"]
    fresh = await MarketApplication.get(id=one.id)
    assert fresh.fee_paid and fresh.fee_paid_at is not None
    page = await staff_client.get(booths(market))
    assert page.text.count("row-overdue") == 1
    assert f'<tr id="a{two.id}" class="row-overdue">' in page.text
    assert "未入金に戻す" in page.text and "入金済みにする" in page.text

    await staff_client.post(
        f"{booths(market)}/{one.id}/fee", data={"csrf_token": csrf, "paid": "0"}
    )
    assert not (await MarketApplication.get(id=one.id)).fee_paid
    entries = await AuditLog.filter(action="market.fee.update").order_by("id")
    assert [e.detail["fee"] for e in entries] == ["paid", "unpaid"]
    # A 補欠 has no fee to record: refused, nothing changed.
    stale = await staff_client.post(
        f"{booths(market)}/{apps['U3'].id}/fee", data={"csrf_token": csrf, "paid": "1"}
    )
    assert stale.headers["location"].endswith("?done=stale")
    assert not (await MarketApplication.get(id=apps["U3"].id)).fee_paid


async def test_a_booth_freed_at_night_is_offered_in_the_morning_and_staff_are_told(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    csrf = await page_csrf(staff_client, results(market))
    asked = await staff_client.post(results(market), data={"csrf_token": csrf, "body": ""})
    await staff_client.post(
        results(market),
        data={"csrf_token": csrf, "body": "", "nonce": nonce_of(asked.text), "confirm": "yes"},
    )
    clock.at = clock.day(0, 22)  # the overnight pause: no offer now
    done = await staff_client.post(
        f"{booths(market)}/{apps['U1'].id}/withdraw",
        data={"csrf_token": csrf, "confirm": "yes", "reason": "お電話で辞退のご連絡"},
    )
    assert done.headers["location"].endswith("?done=withdrawn_later")
    assert await status(apps["U3"]) == ApplicationStatus.RESERVE
    assert not await OutboxMessage.filter(kind="market_offer").exists()
    page = await staff_client.get(done.headers["location"])
    assert "朝になってから補欠の方に順に LINE でご案内します" in page.text


async def test_withdraw_asks_then_frees_the_booth_for_the_first_reserve(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    csrf = await page_csrf(staff_client, results(market))
    asked = await staff_client.post(results(market), data={"csrf_token": csrf, "body": ""})
    await staff_client.post(
        results(market),
        data={"csrf_token": csrf, "body": "", "nonce": nonce_of(asked.text), "confirm": "yes"},
    )
    one = apps["U1"]
    path = f"{booths(market)}/{one.id}/withdraw"

    question = await staff_client.post(path, data={"csrf_token": csrf})
    assert question.status_code == 200
    assert "取り下げの理由" in question.text and 'name="confirm" value="yes"' in question.text
    assert await status(one) == ApplicationStatus.ACCEPTED
    empty = await staff_client.post(path, data={"csrf_token": csrf, "confirm": "yes"})
    assert empty.status_code == 400 and "取り下げの理由を入力してください" in empty.text

    done = await staff_client.post(
        path, data={"csrf_token": csrf, "confirm": "yes", "reason": "お電話で辞退のご連絡"}
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=withdrawn_offered")
    assert await status(one) == ApplicationStatus.WITHDRAWN
    assert await status(apps["U3"]) == ApplicationStatus.OFFERED
    assert await status(apps["U4"]) == ApplicationStatus.RESERVE
    assert (await Market.get(id=market.id)).booths_taken == 2  # freed and held for U3
    kinds = sorted(r.kind for r in await OutboxMessage.exclude(kind="market_result"))
    assert kinds == ["market_offer", "market_staff_withdraw"]
    entry = await AuditLog.get(action="market.application.withdraw")
    assert entry.detail["offered"] == 1
    # The reason is the artist's business: the log keeps its length, never its text.
    assert entry.detail["reason_chars"] == len("お電話で辞退のご連絡")
    assert "お電話で辞退のご連絡" not in str(entry.detail)

    page = await staff_client.get(booths(market))
    reserves = page.text.split('id="reserves"', 1)[1].split("</section>", 1)[0]
    assert "回答期限" in reserves and "笠利工房" in reserves
    assert reserves.index("笠利工房") < reserves.index("龍郷工房")
    assert "お電話で辞退のご連絡" in page.text  # the ended list
    again = await staff_client.post(
        path, data={"csrf_token": csrf, "confirm": "yes", "reason": "二度目"}
    )
    assert again.headers["location"].endswith("?done=stale")
    assert await OutboxMessage.filter(kind="market_staff_withdraw").count() == 1


# ---------- The printable list and the CSV ----------


async def test_printable_booth_list_and_the_csv(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    one, two = apps["U1"], apps["U2"]
    await MarketApplication.filter(id=one.id).update(
        artist_name='=HYPERLINK("http://evil")', booth_number="B-1", needs_power=True
    )
    await MarketApplication.filter(id=two.id).update(
        booth_number="A-1", url="https://instagram.com/nase", fee_paid=True
    )

    printed = await staff_client.get(f"{booths(market)}/print")
    assert printed.status_code == 200
    html = printed.text
    assert "/static/admin/market_results.css" in html and "no-print" in html
    assert "data-print" in html and '<script src="/static/admin/print.js" defer></script>' in html
    assert html.index("A-1") < html.index("B-1")
    assert "=HYPERLINK(&#34;http://evil&#34;)" in html or "=HYPERLINK(&quot;" in html
    assert await AuditLog.filter(action="market.booth_list.view").count() == 1

    response = await staff_client.get(f"/admin/market/{market.id}/accepted.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ブース番号", "出店者名・屋号", "ジャンル"]
    assert [r[0] for r in rows[1:]] == ["A-1", "B-1"]  # accepted only, in booth order
    a1, b1 = rows[1], rows[2]
    assert a1[1] == "名瀬工房" and a1[7] == "https://instagram.com/nase"
    assert a1[8] == "3000" and a1[9] == "入金済み"
    assert b1[1] == '\'=HYPERLINK("http://evil")'  # neutralised for Excel
    assert b1[6] == "希望" and b1[9] == "未入金"
    entry = await AuditLog.get(action="market.application.export")
    assert entry.target_id == str(market.id) and entry.detail == {"rows": 2}


# ---------- The resident's page ----------


async def test_the_residents_page_lists_applications_and_results(
    staff_client: httpx2.AsyncClient, clock: Clock, fake_line: FakeLinePlatform
) -> None:
    market, apps = await decided_market(clock, fake_line)
    await MarketApplication.filter(id=apps["U1"].id).update(booth_number="C-7")
    page = await staff_client.get(f"/admin/residents/{apps['U1'].resident_id}")
    assert page.status_code == 200
    part = page.text.split('id="market"', 1)[1].split("</section>", 1)[0]
    assert "あまみハンドメイドマーケット" in part and "奄美工房" in part
    assert "採択" in part and "C-7" in part and "未入金" in part and "結果は未通知" in part
    assert f'href="/admin/market/{market.id}/review#a{apps["U1"].id}"' in part
    assert f'href="/admin/market/applications/{apps["U1"].id}"' in part
    other = await staff_client.get(f"/admin/residents/{apps['U6'].resident_id}")
    assert "審査中" in other.text.split('id="market"', 1)[1].split("</section>", 1)[0]
