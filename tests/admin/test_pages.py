"""The admin pages, through the ASGI app."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx2

from models.audit import AuditLog
from models.inbox import InboxEvent
from models.outbox import OutboxMessage, OutboxStatus
from models.residents import Resident
from shima.timeutil import now
from tests.admin.conftest import page_csrf

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def resident(name: str, **kw: Any) -> Resident:
    return await Resident.create(
        line_user_id="U" + uuid.uuid4().hex, display_name=name, followed_at=now(), **kw
    )


async def dead_letter(line_user_id: str, messages: list[dict[str, Any]]) -> OutboxMessage:
    return await OutboxMessage.create(
        line_user_id=line_user_id,
        messages=messages,
        retry_key=str(uuid.uuid4()),
        status=OutboxStatus.DEAD,
        attempts=4,
        next_attempt_at=now(),
        last_error="HTTP 500 from LINE",
        kind="push",
    )


async def test_dashboard_counts(staff_client: httpx2.AsyncClient) -> None:
    await resident("新しい人", first_followed_at=now())
    await resident("昔の人", first_followed_at=now() - timedelta(days=3))
    blocked = await resident("ブロックした人", first_followed_at=now() - timedelta(days=9))
    await Resident.filter(id=blocked.id).update(is_following=False)
    await dead_letter(blocked.line_user_id, [{"type": "text", "text": "こんにちは"}])
    response = await staff_client.get("/admin/")
    assert response.status_code == 200
    text = response.text
    assert "友だち数" in text and "今日の新規" in text and "未配信メッセージ" in text
    assert 'href="/admin/undelivered"' in text
    cards = dict(re.findall(r'card-label">([^<]+)</h2>\s*<p class="card-value">(\d+)', text))
    assert cards == {"友だち数": "2", "今日の新規": "1", "未配信メッセージ": "1"}
    assert "事業の指標" in text  # the place later KPI cards go


async def test_resident_list_search_is_case_insensitive_and_audited(
    staff_client: httpx2.AsyncClient,
) -> None:
    await resident("Hanako Shima")
    await resident("奄美 太郎")
    response = await staff_client.get("/admin/residents", params={"q": "hanako"})
    assert response.status_code == 200
    assert "Hanako Shima" in response.text and "奄美 太郎" not in response.text
    response = await staff_client.get("/admin/residents", params={"q": "奄美"})
    assert "奄美 太郎" in response.text and "Hanako Shima" not in response.text
    response = await staff_client.get("/admin/residents", params={"q": "%"})
    assert "該当する利用者はいません" in response.text
    assert await AuditLog.filter(action="resident.list").count() == 3


async def test_resident_list_is_paginated(staff_client: httpx2.AsyncClient) -> None:
    await Resident.bulk_create(
        [Resident(line_user_id=f"U{i:032d}", display_name=f"利用者{i:03d}") for i in range(60)]
    )
    first = await staff_client.get("/admin/residents")
    assert first.text.count('class="row-link"') == 50
    assert "利用者059" in first.text and "利用者009" not in first.text
    assert 'href="/admin/residents?page=2"' in first.text
    second = await staff_client.get("/admin/residents", params={"page": "2"})
    assert second.text.count('class="row-link"') == 10
    assert "利用者009" in second.text and "利用者059" not in second.text
    beyond = await staff_client.get("/admin/residents", params={"page": "99"})
    assert beyond.status_code == 200 and "利用者009" in beyond.text


async def test_resident_detail_shows_history_and_is_audited(
    staff_client: httpx2.AsyncClient,
) -> None:
    person = await resident(
        "島 一郎", first_followed_at=now() - timedelta(days=30), privacy_notice_shown_at=now()
    )
    await InboxEvent.create(
        webhook_event_id="01TEST",
        line_user_id=person.line_user_id,
        event_type="follow",
        payload={"type": "follow", "secret": "message body stays hidden"},
        event_time=now(),
    )
    await dead_letter(person.line_user_id, [{"type": "text", "text": "ようこそ"}])
    response = await staff_client.get(f"/admin/residents/{person.id}")
    assert response.status_code == 200
    text = response.text
    assert "島 一郎" in text and person.line_user_id in text
    assert "友だち追加" in text and "未配信" in text
    assert "message body stays hidden" not in text  # inbox: type and time only
    assert "未表示" not in text  # the privacy notice was shown
    entry = await AuditLog.get(action="resident.view")
    assert entry.target_type == "resident" and entry.target_id == str(person.id)
    missing = await staff_client.get("/admin/residents/999999")
    assert missing.status_code == 404 and "利用者が見つかりません" in missing.text


async def test_resident_names_are_escaped_everywhere(staff_client: httpx2.AsyncClient) -> None:
    person = await resident(XSS)
    await dead_letter(person.line_user_id, [{"type": "text", "text": f"{XSS}さん、こんにちは"}])
    pages = [
        "/admin/residents",
        f"/admin/residents?q={XSS}",
        f"/admin/residents/{person.id}",
        "/admin/undelivered",
    ]
    for path in pages:
        response = await staff_client.get(path)
        assert response.status_code == 200
        assert XSS not in response.text, path
        assert XSS_ESCAPED in response.text, path


async def test_dead_letters_are_listed_readably(staff_client: httpx2.AsyncClient) -> None:
    person = await resident("配信 花子")
    await dead_letter(
        person.line_user_id,
        [
            {"type": "text", "text": "ご予約ありがとうございます"},
            {"type": "flex", "altText": "予約内容の確認", "contents": {}},
            {"type": "sticker", "packageId": "1", "stickerId": "1"},
        ],
    )
    await dead_letter("Uunknown", [{"type": "text", "text": "宛先不明"}])
    response = await staff_client.get("/admin/undelivered")
    text = response.text
    assert "配信 花子" in text and "不明な利用者" in text
    assert "ご予約ありがとうございます ／ 予約内容の確認 ／ ［スタンプ］" in text
    assert "HTTP 500 from LINE" in text and "試行 4 回" in text
    assert text.count(">再送</button>") == 2 and text.count(">破棄</button>") == 2
    assert await AuditLog.filter(action="outbox.dead.list").count() == 1


async def test_requeue_and_discard_through_the_ui(staff_client: httpx2.AsyncClient) -> None:
    person = await resident("再送 次郎")
    first = await dead_letter(person.line_user_id, [{"type": "text", "text": "一通目"}])
    second = await dead_letter(person.line_user_id, [{"type": "text", "text": "二通目"}])
    csrf = await page_csrf(staff_client, "/admin/undelivered")

    response = await staff_client.post(
        f"/admin/undelivered/{first.id}/requeue", data={"csrf_token": csrf}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/undelivered?done=requeued"
    assert (await OutboxMessage.get(id=first.id)).status == OutboxStatus.PENDING
    page = await staff_client.get(response.headers["location"])
    assert "再送を予約しました" in page.text and "一通目" not in page.text

    response = await staff_client.post(
        f"/admin/undelivered/{second.id}/discard", headers={"X-CSRF-Token": csrf}
    )
    assert response.headers["location"] == "/admin/undelivered?done=discarded"
    assert (await OutboxMessage.get(id=second.id)).status == OutboxStatus.CANCELLED

    # A second click on a handled message changes nothing and says so.
    response = await staff_client.post(
        f"/admin/undelivered/{second.id}/requeue", data={"csrf_token": csrf}
    )
    assert response.headers["location"] == "/admin/undelivered?done=stale"
    assert (await OutboxMessage.get(id=second.id)).status == OutboxStatus.CANCELLED

    actions = await AuditLog.filter(target_type="outbox_message").exclude(target_id="")
    assert [(a.action, a.target_id, a.detail) for a in sorted(actions, key=lambda a: a.id)] == [
        ("outbox.requeue", str(first.id), {"changed": True}),
        ("outbox.discard", str(second.id), {"changed": True}),
        ("outbox.requeue", str(second.id), {"changed": False}),
    ]


async def test_dead_letter_actions_refuse_a_bad_csrf_token(
    staff_client: httpx2.AsyncClient,
) -> None:
    person = await resident("守られる 三郎")
    letter = await dead_letter(person.line_user_id, [{"type": "text", "text": "保留"}])
    for path in (
        f"/admin/undelivered/{letter.id}/requeue",
        f"/admin/undelivered/{letter.id}/discard",
    ):
        response = await staff_client.post(path, data={"csrf_token": "forged"})
        assert response.status_code == 403
        assert "セッションの有効期限が切れたか、不正なリクエストです。" in response.text
    assert (await OutboxMessage.get(id=letter.id)).status == OutboxStatus.DEAD
    assert await AuditLog.filter(action__in=["outbox.requeue", "outbox.discard"]).count() == 0


async def test_audit_log_is_for_admins_only(staff_client: httpx2.AsyncClient) -> None:
    response = await staff_client.get("/admin/audit")
    assert response.status_code == 403
    assert "権限がありません" in response.text
    assert 'href="/admin/audit"' not in (await staff_client.get("/admin/")).text


async def test_audit_log_lists_and_filters(admin_client: httpx2.AsyncClient) -> None:
    person = await resident("監査 四郎")
    await admin_client.get(f"/admin/residents/{person.id}")
    await admin_client.get("/admin/residents")
    everything = await admin_client.get("/admin/audit")
    assert everything.status_code == 200
    assert 'href="/admin/audit"' in everything.text
    assert "ログイン成功" in everything.text and "利用者詳細の閲覧" in everything.text
    only_views = await admin_client.get("/admin/audit", params={"action": "resident.view"})
    assert "利用者詳細の閲覧" in only_views.text
    assert f'href="/admin/residents/{person.id}"' in only_views.text
    assert "<td>ログイン成功</td>" not in only_views.text
    assert "1件中" in only_views.text


async def test_unknown_delivery_is_shown_and_resent_in_one_click(
    staff_client: httpx2.AsyncClient,
) -> None:
    person = await resident("不明 五郎")
    letter = await dead_letter(person.line_user_id, [{"type": "text", "text": "確認です"}])
    await OutboxMessage.filter(id=letter.id).update(
        status=OutboxStatus.UNKNOWN, push_outcome_unknown=True
    )
    page = await staff_client.get("/admin/undelivered")
    assert "配信状況不明" in page.text and "確認です" in page.text
    csrf = await page_csrf(staff_client, "/admin/undelivered")
    response = await staff_client.post(
        f"/admin/undelivered/{letter.id}/requeue", data={"csrf_token": csrf}
    )
    assert response.headers["location"] == "/admin/undelivered?done=requeued"
    resent = await OutboxMessage.get(id=letter.id)
    assert resent.status == OutboxStatus.PENDING and not resent.push_outcome_unknown
    assert resent.retry_key != letter.retry_key  # a new push, not a 409 for the old key
    assert await AuditLog.filter(action="outbox.requeue", target_id=str(letter.id)).exists()
    dashboard = await staff_client.get("/admin/")
    assert "未配信メッセージ" in dashboard.text
