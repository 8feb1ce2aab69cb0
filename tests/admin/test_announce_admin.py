"""お知らせ配信 in the admin, through the ASGI app against the fake LINE platform's quota:
composing with every kind of audience (the stored segment and the count on the page are
what shima.domain.segments says for a hand-built town), the count endpoint and its JS-less
「人数を確認」, Japanese messages with the form back, the picture re-encoded (EXIF and GPS
gone) and served publicly by its token, the preview escaped, the cost stopping a send that
does not fit (and a stale form refused), schedule and cancel, the approval step only admins
take, double submits acting once, a stale send after a cancel refused, the history's
figures, CSRF and the audit log (SQLite, and PostgreSQL with SHIMA_TEST_BACKEND)."""

from __future__ import annotations

import html
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest
from PIL import Image
from starlette.routing import Mount, Route

from admin.announce import area
from admin.announce.compose import TEXT_FIELDS
from admin.routing import PUBLIC
from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.announcements import Announcement, AnnouncementStatus
from models.audit import AuditLog
from models.residents import Resident
from shima.domain import announcements as rules
from shima.domain import segments
from shima.domain.segments import Segment
from shima.settings import Settings
from shima.timeutil import JST, WEEKDAYS_JA, now
from tests.admin.conftest import ADMIN_EMAIL, PASSWORD, login, page_csrf
from tests.shima.domain.test_segments import Town, town

__all__ = ["town"]  # the hand-built town of test_segments, a fixture here too

PATH = "/admin/announcements"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(autouse=True)
async def line(client: httpx2.AsyncClient, settings: Settings) -> AsyncIterator[LineClient]:
    """The process's LineClient (the app's lifespan makes it; the test client has none)."""
    made = LineClient(settings)
    client.app.state.line = made  # type: ignore[attr-defined]
    yield made
    await made.close()


def with_settings(client: httpx2.AsyncClient, **changes: Any) -> None:
    app = client.app  # type: ignore[attr-defined]
    app.state.settings = app.state.settings.with_overrides(**changes)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} on the page"
    return found.group(1)


async def new_form(client: httpx2.AsyncClient) -> dict[str, str]:
    page = await client.get(f"{PATH}/new")
    assert page.status_code == 200, page.text
    return {"csrf_token": hidden(page.text, "csrf_token"), "nonce": hidden(page.text, "nonce")}


def message(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "12月の寺子屋のご案内",
        "body": "{名前}さん、こんにちは。12月の寺子屋のお知らせです。",
        "audience": "all",
        "action": "save",
    }
    values.update(changes)
    return values


async def compose(
    client: httpx2.AsyncClient, files: dict[str, Any] | None = None, **changes: Any
) -> Announcement:
    data = {**await new_form(client), **message(**changes)}
    response = await client.post(f"{PATH}/new", data=data, files=files)
    assert response.status_code == 303, response.text
    a_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    return await Announcement.get(id=a_id)


async def confirm_page(
    client: httpx2.AsyncClient, a: Announcement, when: str = "now", send_at: str = ""
) -> httpx2.Response:
    csrf = await page_csrf(client, f"{PATH}/{a.id}")
    data = {"csrf_token": csrf, "send_when": when, "send_at": send_at}
    return await client.post(f"{PATH}/{a.id}/send", data=data)


def confirmation(page: httpx2.Response) -> dict[str, str]:
    """The confirmation's form, as the browser sends it back."""
    assert page.status_code == 200, page.text
    names = ("csrf_token", "send_when", "send_at", "nonce", "version", "confirm")
    return {name: hidden(page.text, name) for name in names}


async def send(
    client: httpx2.AsyncClient, a: Announcement, when: str = "now", send_at: str = ""
) -> httpx2.Response:
    page = await confirm_page(client, a, when, send_at)
    return await client.post(f"{PATH}/{a.id}/send", data=confirmation(page))


async def status(a: Announcement) -> AnnouncementStatus:
    return (await Announcement.get(id=a.id)).status


def later(hours: int = 3) -> str:
    return (now() + timedelta(hours=hours)).astimezone(JST).strftime("%Y-%m-%dT%H:%M")


# ---------- Guards ----------


def my_routes(client: httpx2.AsyncClient) -> list[tuple[str, str, str]]:
    app = client.app  # type: ignore[attr-defined]
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    names = {r.name for r in area.routes() if isinstance(r, Route)}
    found = []
    for route in mount.routes:
        if isinstance(route, Route) and route.name in names:
            path = "/admin" + re.sub(r"\{[^}]+\}", "1", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((route.name, method, path))
    return found


async def test_every_route_but_the_picture_refuses_anonymous_users(
    client: httpx2.AsyncClient,
) -> None:
    routes = my_routes(client)
    assert len(routes) == 13
    assert "announcement_image_public" in PUBLIC
    for name, method, path in routes:
        response = await client.request(method, path, data={} if method == "POST" else None)
        if name == "announcement_image_public":
            assert response.status_code == 404, path  # no such picture, but no login asked
        else:
            assert response.status_code == (303 if method == "GET" else 403), path
    assert await AuditLog.all().count() == 0


async def test_posts_without_the_csrf_token_change_nothing(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    a = await compose(staff_client)
    page = await confirm_page(staff_client, a)
    confirmed = confirmation(page)
    del confirmed["csrf_token"]
    posts = [
        (f"{PATH}/new", message()),
        (f"{PATH}/{a.id}/edit", message(title="変えた")),
        (f"{PATH}/{a.id}/send", confirmed),
        (f"{PATH}/{a.id}/copy", {}),
        (f"{PATH}/{a.id}/delete", {}),
        (f"{PATH}/{a.id}/cancel", {}),
        (f"{PATH}/{a.id}/approve", {}),
    ]
    for path, data in posts:
        response = await staff_client.post(path, data=data)
        assert response.status_code == 403, path
        assert "不正なリクエスト" in response.text
    assert await Announcement.all().count() == 1
    saved = await Announcement.get(id=a.id)
    assert (saved.title, saved.status) == ("12月の寺子屋のご案内", AnnouncementStatus.DRAFT)


async def test_unknown_ids_are_not_found(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client, PATH)
    for path in (f"{PATH}/999999", f"{PATH}/999999/edit"):
        response = await staff_client.get(path)
        assert response.status_code == 404, path
        assert "お知らせが見つかりません" in response.text
    for verb in ("send", "approve", "cancel", "copy", "delete"):
        response = await staff_client.post(f"{PATH}/999999/{verb}", data={"csrf_token": csrf})
        assert response.status_code == 404, verb


# ---------- Composing: every kind of audience ----------


def audiences(t: Town) -> list[tuple[dict[str, Any], Segment, tuple[str, ...]]]:
    """(the builder's fields, the segment they mean, who it reaches in the town)."""
    return [
        ({"audience": "all", "tag": ["講師"]}, Segment(), tuple(EVERYONE)),
        ({"audience": "segment"}, Segment(), tuple(EVERYONE)),
        ({"audience": "segment", "tag": ["講師"]}, Segment(tags=("講師",)), ("hanako", "jiro")),
        (
            {"audience": "segment", "skill": ["web", "photo"]},
            Segment(skills=("web", "photo")),
            ("taro", "saki"),
        ),
        (
            {"audience": "segment", "children": "yes"},
            Segment(raising_children=True),
            ("hanako", "saki"),
        ),
        ({"audience": "segment", "side_job": "no"}, Segment(side_job=False), ("hanako",)),
        ({"audience": "segment", "migrant": "no"}, Segment(migrant=False), ("taro", "yui")),
        (
            {"audience": "segment", "district": ["kasari", "sumiyo"]},
            Segment(districts=("kasari", "sumiyo")),
            ("taro", "yui"),
        ),
        (
            {"audience": "segment", "course": f"p{t.programme.id}", "course_who": "registered"},
            Segment(programme_id=t.programme.id),
            ("hanako", "taro"),
        ),
        (
            {"audience": "segment", "course": f"p{t.programme.id}", "course_who": "attended"},
            Segment(programme_id=t.programme.id, programme_who="attended"),
            ("hanako",),
        ),
        (
            {"audience": "segment", "course": f"s{t.s2.id}"},
            Segment(session_id=t.s2.id),
            ("taro",),
        ),
        (
            {"audience": "segment", "market": str(t.market.id)},
            Segment(market_id=t.market.id),
            ("hanako", "taro", "yui"),
        ),
        (
            {
                "audience": "segment",
                "market": str(t.market.id),
                "market_status": ["submitted", "rejected"],
            },
            Segment(market_id=t.market.id, market_statuses=("submitted", "rejected")),
            ("hanako", "yui"),
        ),
        (
            {"audience": "segment", "round": str(t.round.id), "round_who": "responded"},
            Segment(round_id=t.round.id),
            ("hanako",),
        ),
        (
            {"audience": "segment", "round": str(t.round.id), "round_who": "not_responded"},
            Segment(round_id=t.round.id, round_who="not_responded"),
            ("taro", "jiro", "yui", "saki"),
        ),
        (
            {"audience": "segment", "tag": ["講師"], "children": "yes", "district": ["naze"]},
            Segment(tags=("講師",), raising_children=True, districts=("naze",)),
            ("hanako",),
        ),
    ]


EVERYONE = ("hanako", "taro", "jiro", "yui", "saki")


async def test_compose_with_every_kind_of_audience(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    for fields, meant, names in audiences(town):
        segment = Segment.from_json(meant.to_json())  # its lists in their canonical order
        a = await compose(staff_client, **fields)
        assert Segment.from_json(a.audience) == segment, fields
        assert a.status == AnnouncementStatus.DRAFT
        assert a.created_by == "hanako@example.jp"
        page = await staff_client.get(f"{PATH}/{a.id}")
        assert page.status_code == 200
        assert f"いま届く人数: <strong>{len(names)}人</strong>" in page.text, fields
        for line in await segments.describe(segment):
            assert f"<li>{html.escape(line, quote=False)}</li>" in page.text, line
        # The count endpoint reads the same fields.
        counted = await staff_client.get(f"{PATH}/count", params=fields)
        assert counted.json()["count"] == len(names), fields
        # The edit form shows the builder as it was saved.
        form = await staff_client.get(f"{PATH}/{a.id}/edit")
        for tag in fields.get("tag", []) if fields["audience"] == "segment" else []:
            assert f'name="tag" value="{tag}" checked' in form.text
        if "course" in fields:
            assert f'value="{fields["course"]}" selected' in form.text
    created = await AuditLog.filter(action="announce.message.create").count()
    assert created == len(audiences(town))


async def test_the_count_follows_the_builder_and_never_counts_the_unreachable(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    everyone = await staff_client.get(f"{PATH}/count", params={"audience": "all"})
    assert everyone.status_code == 200
    assert everyone.headers["cache-control"] == "no-store"
    assert everyone.json() == {"count": 5, "text": "5人", "everyone": True}
    teachers = {"audience": "segment", "tag": "講師"}
    assert (await staff_client.get(f"{PATH}/count", params=teachers)).json()["count"] == 2
    await Resident.filter(id=town.people["jiro"].id).update(is_following=False)
    assert (await staff_client.get(f"{PATH}/count", params=teachers)).json()["count"] == 1
    # Values no option offers are dropped, not trusted.
    odd = {"audience": "segment", "skill": "hacker", "course": "x1", "market": "-3"}
    assert (await staff_client.get(f"{PATH}/count", params=odd)).json() == {
        "count": 4,
        "text": "4人",
        "everyone": True,
    }
    anonymous = httpx2.AsyncClient(transport=staff_client._transport, base_url="http://testserver")
    assert (await anonymous.get(f"{PATH}/count")).status_code == 303


async def test_count_without_js_shows_the_form_again_with_its_count(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    data = {**await new_form(staff_client), **message(audience="segment", tag=["講師"])}
    data["action"] = "count"
    response = await staff_client.post(f"{PATH}/new", data=data)
    assert response.status_code == 200
    assert "届く人数: <strong data-count>2人</strong>" in response.text
    assert 'name="tag" value="講師" checked' in response.text
    assert "12月の寺子屋のご案内" in response.text
    assert await Announcement.all().count() == 0


# ---------- Bad input ----------


def rules_say(**changes: str) -> list[str]:
    """The content rules' own messages for the message with `changes` (their wording is
    shima.domain.announcements')."""
    typed = {**message(), **changes}
    fields = {name: typed.get(name, "") for name in TEXT_FIELDS}
    found = list(rules.problems(**fields, has_image=False).values())
    assert found, changes
    return found


async def test_bad_input_gives_the_form_back_in_japanese_and_changes_nothing(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    card = {"card_title": "寺子屋", "card_label": "見る"}
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({"title": " "}, rules_say(title="")),
        ({"body": ""}, rules_say(body="")),
        ({"card_title": "寺子屋"}, rules_say(card_title="寺子屋")),
        (
            {**card, "card_url": "http://example.jp/"},
            rules_say(**card, card_url="http://example.jp/"),
        ),
        (
            {**card, "card_url": "javascript:alert(1)"},
            rules_say(**card, card_url="javascript:alert(1)"),
        ),
        # Statuses without a market would narrow nothing: said, not silently ignored.
        (
            {"market_status": "accepted"},
            ["申込みの状態で絞り込むときは、ハンドメイドマーケットも選んでください。"],
        ),
        # Over a field's size: the shared form helpers name it (nothing is cut).
        ({"body": "あ" * 5000}, ["本文は4,900文字以内で入力してください（いま5,000文字です）。"]),
        (
            {"title": "た" * 101},
            ["管理用のタイトルは100文字以内で入力してください（いま101文字です）。"],
        ),
    ]
    for changes, words in cases:
        typed = message(audience="segment", tag=["講師"], **changes)
        data = {**await new_form(staff_client), **typed}
        response = await staff_client.post(f"{PATH}/new", data=data)
        assert response.status_code == 400, changes
        for said in words:
            assert html.escape(said, quote=False) in response.text, said
        assert 'name="tag" value="講師" checked' in response.text  # the builder as typed
        for name, value in changes.items():
            assert html.escape(value) in response.text, name  # what was typed, kept
    assert await Announcement.all().count() == 0
    assert not await AuditLog.filter(action__startswith="announce.").exists()


async def test_a_field_over_the_form_helpers_limit_is_named_not_cut(
    staff_client: httpx2.AsyncClient,
) -> None:
    a = await compose(staff_client)
    csrf = await page_csrf(staff_client, f"{PATH}/{a.id}/edit")
    response = await staff_client.post(
        f"{PATH}/{a.id}/edit",
        data={"csrf_token": csrf, **message(card_text="説" * 161, card_title="見出し")},
    )
    assert response.status_code == 400
    assert "カードの説明は160文字以内で入力してください（いま161文字です）" in response.text
    assert (await Announcement.get(id=a.id)).card_text == ""


# ---------- The picture ----------


def photo(size: tuple[int, int] = (3000, 1500)) -> bytes:
    """A phone photo: EXIF with the camera, the author, GPS and 'rotate 90° to show'."""
    image = Image.new("RGB", size, "white")
    image.paste((200, 30, 30), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x013B] = "島 花子"
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (28.0, 22.0, 30.0)
    gps[3], gps[4] = "E", (129.0, 29.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


async def test_the_picture_is_re_encoded_kept_in_the_row_and_public_at_its_token(
    staff_client: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    original = photo()
    assert b"PhoneMaker" in original
    a = await compose(staff_client, files={"image": ("IMG_0001.jpg", original, "image/jpeg")})
    assert a.image and a.image_preview and a.image_token
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", a.image_token)
    for data, longest in ((a.image, 2048), (a.image_preview, 480)):
        with Image.open(io.BytesIO(data)) as saved:
            assert saved.format == "JPEG"
            assert max(saved.size) == longest
            assert saved.size[1] > saved.size[0]  # turned upright by its EXIF orientation
            assert not saved.getexif()
        assert b"PhoneMaker" not in data and "島 花子".encode() not in data
    # Public (LINE fetches it), the original and the preview, cached, not indexed.
    staff_client.cookies.clear()
    for suffix, data in (("", a.image), ("_p", a.image_preview)):
        served = await staff_client.get(f"{PATH}/public/{a.image_token}{suffix}.jpg")
        assert served.status_code == 200
        assert served.content == data
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-robots-tag"] == "noindex"
    for name in ("x" * 32 + ".jpg", f"{a.image_token}.png", f"{a.image_token}_q.jpg", "a.jpg"):
        assert (await staff_client.get(f"{PATH}/public/{name}")).status_code == 404, name


async def test_a_file_that_is_not_a_picture_is_refused_with_the_form_back(
    staff_client: httpx2.AsyncClient,
) -> None:
    data = {**await new_form(staff_client), **message()}
    files = {"image": ("note.jpg", b"%PDF-1.4 not a picture", "image/jpeg")}
    response = await staff_client.post(f"{PATH}/new", data=data, files=files)
    assert response.status_code == 400
    assert "画像として読み取れませんでした" in response.text
    assert "12月の寺子屋のご案内" in response.text
    # With the card's problems too, all are said at once (not one round each).
    data = {**await new_form(staff_client), **message(card_title="寺子屋")}
    response = await staff_client.post(f"{PATH}/new", data=data, files=files)
    assert response.status_code == 400
    assert 'id="image-error"' in response.text
    for said in rules_say(card_title="寺子屋"):
        assert html.escape(said, quote=False) in response.text, said
    assert await Announcement.all().count() == 0


async def test_a_picture_is_replaced_with_a_new_token_and_removed(
    staff_client: httpx2.AsyncClient,
) -> None:
    a = await compose(staff_client, files={"image": ("a.jpg", photo((800, 600)), "image/jpeg")})
    first = a.image_token
    csrf = await page_csrf(staff_client, f"{PATH}/{a.id}/edit")
    edit = f"{PATH}/{a.id}/edit"
    files = {"image": ("b.png", _png(), "image/png")}
    assert (
        await staff_client.post(edit, data={"csrf_token": csrf, **message()}, files=files)
    ).status_code == 303
    replaced = await Announcement.get(id=a.id)
    assert replaced.image_token and replaced.image_token != first
    assert (await staff_client.get(f"{PATH}/public/{first}.jpg")).status_code == 404
    kept = await staff_client.post(edit, data={"csrf_token": csrf, **message()})
    assert kept.status_code == 303
    assert (await Announcement.get(id=a.id)).image_token == replaced.image_token
    removed = await staff_client.post(edit, data={"csrf_token": csrf, **message(remove_image="1")})
    assert removed.status_code == 303
    gone = await Announcement.get(id=a.id)
    assert (gone.image, gone.image_preview, gone.image_token) == (None, None, None)
    audited = await AuditLog.filter(action="announce.message.update").count()
    assert audited == 3


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 120, 200, 128)).save(out, "PNG")
    return out.getvalue()


# ---------- The page: preview, escaping, cost ----------


async def test_the_preview_shows_the_name_placeholder_and_escapes_html(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    a = await compose(
        staff_client,
        title=f"題 {XSS}",
        body=f"{{名前}}さん {XSS}",
        card_title=f"見出し {XSS}",
        card_text=f"説明 {XSS}",
        card_label="くわしく",
        card_url="https://example.jp/terakoya?a=1&b=2",
    )
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert page.status_code == 200
    assert XSS not in page.text
    assert page.text.count(XSS_ESCAPED) >= 4
    assert '<span class="line-name">（利用者の名前）</span>さん' in page.text
    assert 'href="https://example.jp/terakoya?a=1&amp;b=2"' in page.text
    assert "1人あたり</dt><dd>2通" in page.text  # text + card
    assert "<strong>10通</strong>" in page.text  # × 5 residents


async def test_the_cost_stops_a_send_that_does_not_fit_this_month(
    staff_client: httpx2.AsyncClient, town: Town, fake_line: FakeLinePlatform
) -> None:
    a = await compose(staff_client, files={"image": ("a.jpg", photo((600, 400)), "image/jpeg")})
    fake_line.quota_limit, fake_line.quota_used = 1000, 995  # 5 left; this needs 2 × 5 = 10
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "配信できません: 今月の残り通数が足りません。" in page.text
    assert "この配信には 10通が必要ですが、使えるのは 5通です" in page.text
    assert 'name="send_when" value="now"' not in page.text  # no 今すぐ this month
    assert "来月以降の日時を指定すれば予約できます" in page.text  # its own month's quota
    # A stale confirmation (made while it fitted) posted anyway is refused.
    fake_line.quota_used = 0
    stale = confirmation(await confirm_page(staff_client, a))
    fake_line.quota_used = 995
    refused = await staff_client.post(f"{PATH}/{a.id}/send", data=stale)
    assert refused.status_code == 409
    assert "配信できません: 今月の残り通数が足りません。" in refused.text
    assert await status(a) == AnnouncementStatus.DRAFT
    assert not await AuditLog.filter(action="announce.message.send").exists()
    # Other scheduled sends hold their part of the quota.
    fake_line.quota_used = 985  # 15 left
    other = await compose(staff_client, title="ほかのお知らせ")  # 1 × 5
    assert (await send(staff_client, other, "later", later())).status_code == 303
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "ほかの配信の予定分</dt><dd>5通" in page.text
    assert "配信できません" not in page.text  # 15 − 5 = 10: it just fits
    assert f'action="{PATH}/{a.id}/send"' in page.text
    # Short again: next month is still open (its quota is checked when the send starts).
    fake_line.quota_used = 995
    first = (now().astimezone(JST).replace(day=1) + timedelta(days=32)).replace(day=1)
    booked = await send(staff_client, a, "later", first.strftime("%Y-%m-%dT10:00"))
    assert booked.headers["location"].endswith("?done=scheduled")
    assert await status(a) == AnnouncementStatus.SCHEDULED


async def test_when_the_quota_cannot_be_read_staff_are_told_and_may_send(
    staff_client: httpx2.AsyncClient, town: Town, fake_line: FakeLinePlatform
) -> None:
    a = await compose(staff_client)
    fake_line.fail_next(500, times=4, path="/quota")
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "LINE に今月の残りの通数を問い合わせられませんでした" in page.text
    assert "配信の手続きはできます" in page.text
    assert f'action="{PATH}/{a.id}/send"' in page.text
    fake_line.clear_failures()
    fake_line.quota_limit, fake_line.quota_used = None, 0
    assert "上限なし" in (await staff_client.get(f"{PATH}/{a.id}")).text


# ---------- Sending, scheduling, cancelling ----------


async def test_send_now_is_confirmed_first_and_a_double_submit_acts_once(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    a = await compose(staff_client, audience="segment", tag=["講師"])
    page = await confirm_page(staff_client, a)
    assert (
        "<strong>2人</strong>に、<strong>2通</strong>（1人あたり 1通）を、"
        "<strong>今すぐ</strong>配信します" in page.text
    )
    assert await status(a) == AnnouncementStatus.DRAFT  # the confirmation changes nothing
    form = confirmation(page)
    first = await staff_client.post(f"{PATH}/{a.id}/send", data=form)
    assert first.status_code == 303
    assert first.headers["location"].endswith("?done=now")
    again = await staff_client.post(f"{PATH}/{a.id}/send", data=form)
    assert again.headers["location"].endswith("?done=already")
    sent = await Announcement.get(id=a.id)
    assert sent.status == AnnouncementStatus.SCHEDULED
    assert sent.send_at is not None and abs(sent.send_at - now()) < timedelta(minutes=1)
    assert sent.requested_by == "hanako@example.jp"
    # Its time has come: said as such, not as a 配信予約 at the time it was asked.
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "配信待ち（まもなく開始）" in page.text and "まもなく配信が始まります" in page.text
    assert "配信予約（" not in page.text
    entries = await AuditLog.filter(action="announce.message.send")
    assert len(entries) == 1
    assert entries[0].detail["recipients"] == 2 and entries[0].detail["messages"] == 2
    assert entries[0].target_id == str(a.id)


async def test_schedule_then_cancel(staff_client: httpx2.AsyncClient, town: Town) -> None:
    a = await compose(staff_client)
    when = later(26)
    page = await confirm_page(staff_client, a, "later", when)
    day = datetime.strptime(when, "%Y-%m-%dT%H:%M")
    shown = f"{when[:4]}/{when[5:7]}/{when[8:10]}({WEEKDAYS_JA[day.weekday()]}) {when[11:]}"
    assert f"<strong>{shown}</strong>に配信します" in page.text
    done = await staff_client.post(f"{PATH}/{a.id}/send", data=confirmation(page))
    assert done.headers["location"].endswith("?done=scheduled")
    scheduled = await Announcement.get(id=a.id)
    assert scheduled.status == AnnouncementStatus.SCHEDULED
    assert scheduled.send_at is not None
    assert scheduled.send_at.astimezone(JST).strftime("%Y-%m-%dT%H:%M") == when
    listed = await staff_client.get(PATH)
    assert f"配信予約（{when[5:7]}/{when[8:10]} {when[11:]}）" in listed.text
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "配信を取り消す" in page.text and f'action="{PATH}/{a.id}/edit"' not in page.text
    cancel = {"csrf_token": hidden(page.text, "csrf_token"), "nonce": hidden(page.text, "nonce")}
    first = await staff_client.post(f"{PATH}/{a.id}/cancel", data=cancel)
    assert first.headers["location"].endswith("?done=cancelled")
    again = await staff_client.post(f"{PATH}/{a.id}/cancel", data=cancel)
    assert again.headers["location"].endswith("?done=already")
    cancelled = await Announcement.get(id=a.id)
    assert (cancelled.status, cancelled.cancelled_by) == (
        AnnouncementStatus.CANCELLED,
        "hanako@example.jp",
    )
    assert await AuditLog.filter(action="announce.message.cancel").count() == 1
    # A cancel form from before (another nonce) is refused by the rules, in Japanese.
    stale = {**cancel, "nonce": "b" * 32}
    refused = await staff_client.post(f"{PATH}/{a.id}/cancel", data=stale)
    assert refused.status_code == 409
    assert "取り消しできません" in refused.text


async def test_a_past_or_unreadable_time_is_refused_before_the_confirmation(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    a = await compose(staff_client)
    past = (now() - timedelta(hours=2)).astimezone(JST).strftime("%Y-%m-%dT%H:%M")
    for when, words in (
        (past, "が過ぎています"),
        ("", "配信する日時を選んでください"),
        ("2026-13-45T10:00", "配信する日時を選んでください"),
        (later(24 * 200), "日先までです"),
    ):
        response = await confirm_page(staff_client, a, "later", when)
        assert response.status_code == 400, when
        assert words in response.text, when
    assert await status(a) == AnnouncementStatus.DRAFT


async def test_a_stale_send_after_a_cancel_is_refused(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    a = await compose(staff_client)
    old = confirmation(await confirm_page(staff_client, a))  # left open in another tab
    assert (await send(staff_client, a, "later", later())).status_code == 303
    page = await staff_client.get(f"{PATH}/{a.id}")
    cancel = {"csrf_token": hidden(page.text, "csrf_token"), "nonce": hidden(page.text, "nonce")}
    await staff_client.post(f"{PATH}/{a.id}/cancel", data=cancel)
    refused = await staff_client.post(f"{PATH}/{a.id}/send", data=old)
    assert refused.status_code == 409
    assert "「取り消し」のため配信の手続きをできません" in refused.text
    assert await status(a) == AnnouncementStatus.CANCELLED
    assert await AuditLog.filter(action="announce.message.send").count() == 1


async def test_an_edit_after_the_confirmation_asks_again(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    a = await compose(staff_client)
    form = confirmation(await confirm_page(staff_client, a))
    csrf = form["csrf_token"]
    edited = await staff_client.post(
        f"{PATH}/{a.id}/edit",
        data={
            "csrf_token": csrf,
            **message(card_title="寺子屋", card_label="見る", card_url="https://example.jp/"),
        },
    )
    assert edited.status_code == 303
    again = await staff_client.post(f"{PATH}/{a.id}/send", data=form)
    assert again.status_code == 409
    assert "確認のあとで内容か配信先が変わりました" in again.text
    assert "<strong>10通</strong>" in again.text  # the new cost: 2 × 5
    assert await status(a) == AnnouncementStatus.DRAFT


async def test_only_drafts_are_edited(staff_client: httpx2.AsyncClient, town: Town) -> None:
    a = await compose(staff_client)
    csrf = await page_csrf(staff_client, f"{PATH}/{a.id}/edit")
    await send(staff_client, a, "later", later())
    opened = await staff_client.get(f"{PATH}/{a.id}/edit")
    assert opened.status_code == 303
    assert opened.headers["location"].endswith("?done=not_draft")
    posted = await staff_client.post(
        f"{PATH}/{a.id}/edit", data={"csrf_token": csrf, **message(title="変更")}
    )
    assert posted.status_code == 303
    assert (await Announcement.get(id=a.id)).title == "12月の寺子屋のご案内"


async def test_nobody_to_reach_is_not_sent(staff_client: httpx2.AsyncClient, town: Town) -> None:
    a = await compose(staff_client, audience="segment", skill=["programming"])
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "当てはまる方（お知らせを受け取れる友だち）がいません" in page.text
    assert f'action="{PATH}/{a.id}/send"' not in page.text
    confirm = await confirm_page(staff_client, a)
    assert 'name="confirm"' not in confirm.text  # nothing to confirm
    forged = {
        "csrf_token": hidden(confirm.text, "csrf_token"),
        "send_when": "now",
        "nonce": "c" * 32,
        "confirm": "yes",
        "version": (await Announcement.get(id=a.id)).updated_at.isoformat(),
    }
    refused = await staff_client.post(f"{PATH}/{a.id}/send", data=forged)
    assert refused.status_code == 409
    assert await status(a) == AnnouncementStatus.DRAFT


# ---------- Approval ----------


async def test_a_large_send_waits_for_an_admin_and_only_admins_approve(
    staff_client: httpx2.AsyncClient, town: Town, fake_line: FakeLinePlatform
) -> None:
    with_settings(staff_client, announce_approval_over=3)
    a = await compose(staff_client)  # 5 residents
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "3人を超える配信のため、管理者の承認が必要です" in page.text
    confirm = await confirm_page(staff_client, a)
    assert "承認を依頼する（5人・5通）" in confirm.text
    done = await staff_client.post(f"{PATH}/{a.id}/send", data=confirmation(confirm))
    assert done.headers["location"].endswith("?done=awaiting")
    assert await status(a) == AnnouncementStatus.AWAITING_APPROVAL

    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "管理者の承認待ち" in page.text
    assert "承認して配信" not in page.text
    form = {"csrf_token": hidden(page.text, "csrf_token"), "nonce": hidden(page.text, "nonce")}
    refused = await staff_client.post(f"{PATH}/{a.id}/approve", data=form)
    assert refused.status_code == 403
    assert "管理者の権限をもつスタッフだけ" in refused.text
    assert await status(a) == AnnouncementStatus.AWAITING_APPROVAL

    staff_client.cookies.clear()
    from admin.passwords import create_staff

    await create_staff(ADMIN_EMAIL, PASSWORD, role="admin", display_name="管理 太郎")
    assert (await login(staff_client, ADMIN_EMAIL, PASSWORD)).status_code == 303
    fake_line.quota_limit, fake_line.quota_used = 100, 97  # 3 left: not enough
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "配信できません: 今月の残り通数が足りません。" in page.text
    assert "承認して配信" not in page.text
    form = {"csrf_token": hidden(page.text, "csrf_token"), "nonce": hidden(page.text, "nonce")}
    stopped = await staff_client.post(f"{PATH}/{a.id}/approve", data=form)
    assert stopped.status_code == 409
    assert await status(a) == AnnouncementStatus.AWAITING_APPROVAL
    fake_line.quota_used = 0
    page = await staff_client.get(f"{PATH}/{a.id}")
    assert "承認して配信" in page.text
    form = {"csrf_token": hidden(page.text, "csrf_token"), "nonce": hidden(page.text, "nonce")}
    approved = await staff_client.post(f"{PATH}/{a.id}/approve", data=form)
    assert approved.headers["location"].endswith("?done=approved")
    again = await staff_client.post(f"{PATH}/{a.id}/approve", data=form)
    assert again.headers["location"].endswith("?done=already")
    done_row = await Announcement.get(id=a.id)
    assert (done_row.status, done_row.approved_by) == (AnnouncementStatus.SCHEDULED, ADMIN_EMAIL)
    assert await AuditLog.filter(action="announce.message.approve").count() == 1


# ---------- Copy, delete, history, dashboard, audit ----------


async def test_copy_makes_one_new_draft_and_drafts_can_be_deleted(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    a = await compose(
        staff_client,
        audience="segment",
        tag=["講師"],
        files={"image": ("a.jpg", photo((600, 400)), "image/jpeg")},
    )
    await send(staff_client, a, "later", later())
    page = await staff_client.get(f"{PATH}/{a.id}")
    form = {"csrf_token": hidden(page.text, "csrf_token"), "nonce": hidden(page.text, "nonce")}
    made = await staff_client.post(f"{PATH}/{a.id}/copy", data=form)
    assert made.headers["location"].endswith("?done=copied")
    again = await staff_client.post(f"{PATH}/{a.id}/copy", data=form)
    assert again.headers["location"] == made.headers["location"].replace("copied", "already")
    copies = await Announcement.exclude(id=a.id)
    assert len(copies) == 1
    copy = copies[0]
    assert copy.status == AnnouncementStatus.DRAFT
    assert (copy.body, copy.audience, copy.image) == (a.body, a.audience, a.image)
    assert copy.image_token and copy.image_token != a.image_token
    assert (await staff_client.get(f"{PATH}/public/{copy.image_token}_p.jpg")).status_code == 200
    deleted = await staff_client.post(
        f"{PATH}/{copy.id}/delete", data={"csrf_token": form["csrf_token"]}
    )
    assert deleted.headers["location"] == f"{PATH}?done=deleted"
    assert not await Announcement.exists(id=copy.id)
    kept = await staff_client.post(f"{PATH}/{a.id}/delete", data={"csrf_token": form["csrf_token"]})
    assert kept.status_code == 409  # not a draft: its record stays
    assert await Announcement.exists(id=a.id)
    assert await AuditLog.filter(action="announce.message.delete").count() == 1


async def test_the_history_shows_each_status_and_the_figures(
    staff_client: httpx2.AsyncClient, staff_user: Any
) -> None:
    started = now() - timedelta(hours=2)
    sent = await Announcement.create(
        title="11月の交流会",
        body="こんにちは",
        status=AnnouncementStatus.SENT,
        recipients=1201,
        delivered=1180,
        failed=3,
        skipped=18,
        created_by="hanako@example.jp",
        send_at=started,
        started_at=started,
        finished_at=started + timedelta(minutes=3),
    )
    refused = await Announcement.create(
        title="大きすぎた配信",
        body="x",
        status=AnnouncementStatus.REFUSED,
        recipients=9000,
        quota_note="今月の残りの通数 100通では、この配信の 9,000通が送れないため、"
        "配信を中止しました。",
        created_by="someone@example.jp",
    )
    await Announcement.create(title="下書きのまま", body="x", created_by="hanako@example.jp")
    listed = await staff_client.get(PATH)
    assert listed.status_code == 200
    text = listed.text
    for words in ("11月の交流会", "配信済み", "1,201人", "1,180人", "3人", "18人", "島 花子"):
        assert words in text, words
    assert "中止（通数の上限）" in text and "下書き" in text and "someone@example.jp" in text
    page = await staff_client.get(f"{PATH}/{sent.id}")
    assert "配信を始めたときの人数: <strong>1,201人</strong>" in page.text
    assert "data-auto-refresh" not in page.text
    page = await staff_client.get(f"{PATH}/{refused.id}")
    assert "9,000通が送れないため" in page.text
    await Announcement.filter(id=sent.id).update(status=AnnouncementStatus.SENDING)
    page = await staff_client.get(f"{PATH}/{sent.id}")
    assert 'data-auto-refresh="15"' in page.text
    assert "取り消せません" in page.text


async def test_the_dashboard_lists_sends_under_way(
    staff_client: httpx2.AsyncClient, town: Town
) -> None:
    assert "お知らせ配信 <span" not in (await staff_client.get("/admin/")).text
    a = await compose(staff_client, title="予約した配信")
    await send(staff_client, a, "later", later())
    board = await staff_client.get("/admin/")
    assert "予約した配信" in board.text
    assert "配信予約（" in board.text


async def test_the_audit_page_names_every_change(
    staff_client: httpx2.AsyncClient, admin_user: Any, town: Town
) -> None:
    a = await compose(staff_client, audience="segment", tag=["講師"])
    await send(staff_client, a, "later", later())
    staff_client.cookies.clear()
    await login(staff_client, ADMIN_EMAIL, PASSWORD)
    audit = await staff_client.get("/admin/audit")
    assert audit.status_code == 200
    for words in (
        "お知らせの作成",
        "お知らせの配信の手続き",
        "お知らせ配信 #",
        "配信先の条件",
        "タグ",
        "配信予約",
    ):
        assert words in audit.text, words
    assert f'href="{PATH}/{a.id}"' in audit.text
    for entry in await AuditLog.filter(action__startswith="announce."):
        assert "hanako" not in str(entry.detail)  # no resident's name
