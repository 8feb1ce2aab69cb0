"""お知らせ in the admin, through the ASGI app: create, edit, publish, unpublish, delete."""

from __future__ import annotations

import httpx2

from models.audit import AuditLog
from models.course import NewsItem
from tests.admin.conftest import page_csrf

NEWS = "/admin/news"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def test_news_lifecycle(staff_client: httpx2.AsyncClient) -> None:
    empty = await staff_client.get(NEWS)
    assert empty.status_code == 200 and "お知らせはまだありません" in empty.text
    assert 'href="/admin/news"' in empty.text and ">お知らせ</a>" in empty.text  # the nav

    csrf = await page_csrf(staff_client, f"{NEWS}/new")
    created = await staff_client.post(
        f"{NEWS}/new",
        data={"csrf_token": csrf, "title": "年末年始の休館", "body": "12/29〜1/3 は休館です。"},
    )
    assert created.status_code == 303 and created.headers["location"] == f"{NEWS}?done=created"
    item = await NewsItem.get()
    assert not item.is_published and item.published_at is None
    listed = await staff_client.get(created.headers["location"])
    assert "年末年始の休館" in listed.text and "下書き" in listed.text
    assert "下書きとして保存しました" in listed.text

    published = await staff_client.post(
        f"{NEWS}/{item.id}/publish", data={"csrf_token": csrf, "publish": "1"}
    )
    assert published.headers["location"] == f"{NEWS}?done=published"
    await item.refresh_from_db()
    assert item.is_published and item.published_at is not None
    assert "公開中" in (await staff_client.get(NEWS)).text

    edited = await staff_client.post(
        f"{NEWS}/{item.id}/edit",
        data={
            "csrf_token": csrf,
            "title": "年末年始の休館について",
            "body": "12/29〜1/3 は休館です。",
            "url": "https://example.jp/closed",
        },
    )
    assert edited.status_code == 303
    await item.refresh_from_db()
    assert item.title == "年末年始の休館について" and item.url == "https://example.jp/closed"
    assert item.is_published  # editing keeps it published

    unpublished = await staff_client.post(
        f"{NEWS}/{item.id}/publish", data={"csrf_token": csrf, "publish": "0"}
    )
    assert unpublished.headers["location"] == f"{NEWS}?done=unpublished"
    await item.refresh_from_db()
    assert not item.is_published

    confirm = await staff_client.get(f"{NEWS}/{item.id}/delete")
    assert confirm.status_code == 200
    assert "次のお知らせを削除します" in confirm.text and "年末年始の休館について" in confirm.text
    assert await NewsItem.all().count() == 1  # asking deletes nothing
    deleted = await staff_client.post(f"{NEWS}/{item.id}/delete", data={"csrf_token": csrf})
    assert deleted.headers["location"] == f"{NEWS}?done=deleted"
    assert await NewsItem.all().count() == 0
    gone = await staff_client.get(f"{NEWS}/{item.id}/edit")
    assert gone.status_code == 404 and "お知らせが見つかりません" in gone.text

    actions = [e.action for e in await AuditLog.filter(action__startswith="news.").order_by("id")]
    assert actions == [
        "news.item.create",
        "news.item.publish",
        "news.item.update",
        "news.item.unpublish",
        "news.item.delete",
    ]


async def test_create_published_at_once(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client, f"{NEWS}/new")
    response = await staff_client.post(
        f"{NEWS}/new", data={"csrf_token": csrf, "title": "交流会のお知らせ", "publish": "1"}
    )
    assert response.headers["location"] == f"{NEWS}?done=created_published"
    item = await NewsItem.get()
    assert item.is_published and item.published_at is not None


async def test_news_form_validation_keeps_what_was_typed(
    staff_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(staff_client, f"{NEWS}/new")
    body = "本文" * 1001
    response = await staff_client.post(
        f"{NEWS}/new", data={"csrf_token": csrf, "title": XSS, "body": body, "url": ""}
    )
    assert response.status_code == 400
    assert "本文は2,000文字以内で入力してください（いま2,002文字です）。" in response.text
    assert body in response.text and XSS_ESCAPED in response.text and XSS not in response.text
    missing = await staff_client.post(f"{NEWS}/new", data={"csrf_token": csrf, "title": " "})
    assert missing.status_code == 400 and "タイトルを入力してください。" in missing.text
    bad_url = await staff_client.post(
        f"{NEWS}/new", data={"csrf_token": csrf, "title": "x", "url": "javascript:alert(1)"}
    )
    assert bad_url.status_code == 400 and "https:// で始まる URL" in bad_url.text
    assert await NewsItem.all().count() == 0


async def test_news_posts_need_the_csrf_token(staff_client: httpx2.AsyncClient) -> None:
    item = await NewsItem.create(title=XSS, is_published=True)
    listed = await staff_client.get(NEWS)
    assert XSS_ESCAPED in listed.text and XSS not in listed.text
    for path, data in (
        (f"{NEWS}/new", {"title": "x"}),
        (f"{NEWS}/{item.id}/publish", {"publish": "0"}),
        (f"{NEWS}/{item.id}/delete", {}),
    ):
        response = await staff_client.post(path, data=data)
        assert response.status_code == 403, path
    await item.refresh_from_db()
    assert item.is_published and await NewsItem.all().count() == 1
    assert await AuditLog.filter(action__startswith="news.").count() == 0
