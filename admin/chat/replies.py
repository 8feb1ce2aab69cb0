"""定型文 (saved replies) for the chat: list, add, edit, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import flash, form_text
from admin.pages import render
from models.chat import SavedReply

LIST_PATH = "/admin/chat/replies"
MAX_TITLE = 100
MAX_BODY = 5000
DONE = {
    "created": ("success", "定型文を追加しました。"),
    "updated": ("success", "定型文を保存しました。"),
    "deleted": ("success", "定型文を削除しました。"),
}
# Seeded for a new installation (shima seed-demo) — the desk's most common message.
SEED = (
    (
        "オンライン相談のURL",
        "オンライン相談のご案内です。\n"
        "当日はお時間になりましたら、こちらのURLからご参加ください。\n"
        "https://meet.example.jp/（会議のURLに書き換えてください）\n\n"
        "接続がうまくいかない場合は、このトークでお知らせください。",
    ),
    (
        "お電話番号のお伺い",
        "お問い合わせありがとうございます。\n"
        "詳しくお話を伺いたいため、ご連絡のつくお電話番号を教えていただけますか。",
    ),
    ("受付のお礼", "ご連絡ありがとうございます。内容を確認して、担当者からご連絡いたします。"),
)


def _errors(title: str, body: str) -> list[str]:
    errors = []
    if not title:
        errors.append("タイトルを入力してください。")
    if not body:
        errors.append("本文を入力してください。")
    return errors


async def _read(request: Request) -> tuple[str, str, bool]:
    form = await request.form()
    raw_title, raw_body = form.get("title"), form.get("body")
    too_long = (isinstance(raw_title, str) and len(raw_title.strip()) > MAX_TITLE) or (
        isinstance(raw_body, str) and len(raw_body.strip()) > MAX_BODY
    )
    return form_text(form, "title", MAX_TITLE), form_text(form, "body", MAX_BODY), too_long


@staff_required
async def reply_list(request: Request) -> Response:
    errors: list[str] = []
    title = body = ""
    if request.method == "POST":
        title, body, too_long = await _read(request)
        errors = _errors(title, body)
        if too_long:
            errors.append(f"タイトルは {MAX_TITLE} 文字、本文は {MAX_BODY} 文字までです。")
        if not errors:
            reply = await SavedReply.create(title=title, body=body)
            await audit.record(request, "chat.reply.create", "saved_reply", reply.id)
            return RedirectResponse(f"{LIST_PATH}?done=created", status_code=303)
    return render(
        request,
        "admin/chat/replies.html",
        {
            "replies": await SavedReply.all(),
            "errors": errors,
            "title": title,
            "body": body,
            "outcome": flash(request, DONE),
        },
        status_code=400 if errors else 200,
        active="saved_replies",
    )


@staff_required
async def reply_edit(request: Request) -> Response:
    reply = await SavedReply.get_or_none(id=request.path_params["reply_id"])
    if reply is None:
        return error_page(request, 404, title="定型文が見つかりません")
    errors: list[str] = []
    if request.method == "POST":
        title, body, too_long = await _read(request)
        errors = _errors(title, body)
        if too_long:
            errors.append(f"タイトルは {MAX_TITLE} 文字、本文は {MAX_BODY} 文字までです。")
        reply.title, reply.body = title, body
        if not errors:
            await reply.save()
            await audit.record(request, "chat.reply.update", "saved_reply", reply.id)
            return RedirectResponse(f"{LIST_PATH}?done=updated", status_code=303)
    return render(
        request,
        "admin/chat/reply_edit.html",
        {"reply": reply, "errors": errors},
        status_code=400 if errors else 200,
        active="saved_replies",
    )


@staff_required
async def reply_delete(request: Request) -> Response:
    deleted = await SavedReply.filter(id=request.path_params["reply_id"]).delete()
    if deleted:
        await audit.record(
            request, "chat.reply.delete", "saved_reply", request.path_params["reply_id"]
        )
    return RedirectResponse(f"{LIST_PATH}?done=deleted", status_code=303)


async def seed_saved_replies() -> int:
    """Add the standard 定型文 when there are none yet (idempotent)."""
    if await SavedReply.exists():
        return 0
    for title, body in SEED:
        await SavedReply.create(title=title, body=body)
    return len(SEED)
