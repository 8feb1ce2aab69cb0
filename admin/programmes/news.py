"""お知らせ: the news items イベント・お知らせ shows in LINE (the published ones, newest
first). Staff write, publish, unpublish and delete them; every change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import Flash, flash, form_text, short_text, too_long, typed_text
from admin.listing import page_of
from admin.pages import render
from models.course import NewsItem
from shima.timeutil import now

NEWS_PATH = "/admin/news"
TITLE_MAX = 100
BODY_MAX = 2000
URL_MAX = 500
NEWS_TEXT = {"title": ("タイトル", TITLE_MAX), "body": ("本文", BODY_MAX), "url": ("URL", URL_MAX)}

OUTCOMES: dict[str, Flash] = {
    "created": (
        "success",
        "お知らせを下書きとして保存しました。「公開する」で LINE に表示されます。",
    ),
    "created_published": ("success", "お知らせを公開しました。LINE の「お知らせ」に表示されます。"),
    "updated": ("success", "お知らせを保存しました。"),
    "published": ("success", "お知らせを公開しました。LINE の「お知らせ」に表示されます。"),
    "unpublished": ("success", "お知らせを非公開にしました。LINE には表示されません。"),
    "deleted": ("success", "お知らせを削除しました。"),
}


@dataclass(frozen=True)
class NewsData:
    title: str
    body: str
    url: str


def parse_news_form(form: FormData) -> tuple[NewsData | None, list[str]]:
    errors = too_long(form, NEWS_TEXT)
    if errors:
        return None, errors
    title = form_text(form, "title", TITLE_MAX)
    url = form_text(form, "url", URL_MAX)
    if not title:
        errors.append("タイトルを入力してください。")
    if url and (not url.startswith("https://") or any(c.isspace() for c in url)):
        errors.append("URL は https:// で始まる URL を入力してください（空欄なら URL なし）。")
    if errors:
        return None, errors
    return NewsData(title, form_text(form, "body", BODY_MAX), url), []


def to_list(outcome: str) -> Response:
    return RedirectResponse(f"{NEWS_PATH}?done={outcome}", status_code=303)


def form_page(
    request: Request, item: NewsItem | None, values: Mapping[str, str], errors: list[str]
) -> Response:
    return render(
        request,
        "admin/programmes/news_form.html",
        {
            "item": item,
            "values": values,
            "errors": errors,
            "limits": {name: limit for name, (_, limit) in NEWS_TEXT.items()},
        },
        status_code=400 if errors else 200,
        active="news",
    )


def typed_values(form: FormData) -> dict[str, str]:
    return {
        "title": typed_text(form, "title"),
        "body": typed_text(form, "body"),
        "url": typed_text(form, "url"),
        "publish": "1" if short_text(form, "publish", 1) == "1" else "",
    }


async def item_or_404(request: Request) -> NewsItem | Response:
    item = await NewsItem.get_or_none(id=request.path_params["news_id"])
    if item is None:
        return error_page(request, 404, title="お知らせが見つかりません")
    return item


@staff_required
async def news_list(request: Request) -> Response:
    page, items = await page_of(request, NewsItem.all(), "-created_at", "-id")
    return render(
        request,
        "admin/programmes/news.html",
        {"items": items, "page": page, "outcome": flash(request, OUTCOMES)},
        active="news",
    )


@staff_required
async def news_new(request: Request) -> Response:
    if request.method == "GET":
        return form_page(request, None, {"title": "", "body": "", "url": "", "publish": ""}, [])
    form = await request.form()
    data, errors = parse_news_form(form)
    if data is None:
        return form_page(request, None, typed_values(form), errors)
    publish = short_text(form, "publish", 1) == "1"
    async with in_transaction():
        item = await NewsItem.create(
            title=data.title,
            body=data.body,
            url=data.url,
            is_published=publish,
            published_at=now() if publish else None,
        )
        await audit.record(
            request,
            "news.item.create",
            "news_item",
            item.id,
            {"title": item.title, "published": publish},
        )
    return to_list("created_published" if publish else "created")


@staff_required
async def news_edit(request: Request) -> Response:
    item = await item_or_404(request)
    if isinstance(item, Response):
        return item
    if request.method == "GET":
        values = {"title": item.title, "body": item.body, "url": item.url, "publish": ""}
        return form_page(request, item, values, [])
    form = await request.form()
    data, errors = parse_news_form(form)
    if data is None:
        return form_page(request, item, typed_values(form), errors)
    async with in_transaction():
        await NewsItem.filter(id=item.id).update(
            title=data.title, body=data.body, url=data.url, updated_at=now()
        )
        await audit.record(request, "news.item.update", "news_item", item.id, {"title": data.title})
    return to_list("updated")


@staff_required
async def news_publish(request: Request) -> Response:
    """公開する (publish=1) or 非公開にする (publish=0)."""
    item = await item_or_404(request)
    if isinstance(item, Response):
        return item
    form = await request.form()
    publish = short_text(form, "publish", 1) == "1"
    async with in_transaction():
        if publish:
            await NewsItem.filter(id=item.id).update(is_published=True, published_at=now())
        else:
            await NewsItem.filter(id=item.id).update(is_published=False)
        await audit.record(
            request,
            "news.item.publish" if publish else "news.item.unpublish",
            "news_item",
            item.id,
            {"title": item.title},
        )
    return to_list("published" if publish else "unpublished")


@staff_required
async def news_delete(request: Request) -> Response:
    """Asks first (GET), then deletes (POST)."""
    item = await item_or_404(request)
    if isinstance(item, Response):
        return item
    if request.method == "GET":
        return render(request, "admin/programmes/news_delete.html", {"item": item}, active="news")
    async with in_transaction():
        await NewsItem.filter(id=item.id).delete()
        await audit.record(
            request,
            "news.item.delete",
            "news_item",
            item.id,
            {"title": item.title, "published": item.is_published},
        )
    return to_list("deleted")
