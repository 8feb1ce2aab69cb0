"""Admin → チャット: residents by latest message with unread counts, one conversation
(newest at the bottom, polled for new messages), and staff answers (text, a picture or a
saved reply) sent through line_app.notices.chat. Viewing a conversation is audited; the
text of messages is never logged."""

from __future__ import annotations

import re
import secrets
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from admin import audit
from admin.auth import current_staff, staff_required
from admin.chat import images
from admin.errors import error_page
from admin.forms import flash, form_text, parse_int
from admin.listing import page_of
from admin.pages import render
from admin.sessions import settings_of
from line_app.notices import chat as chat_notices
from models.chat import ChatMessage, ChatThread, Direction, SavedReply, Sender
from models.outbox import OutboxMessage
from models.residents import Resident
from models.staff import StaffUser
from shima.templating import templates

SHOWN = 100  # messages on the conversation page (older ones: not paged yet)
MAX_TEXT = 5000  # LINE's limit for a text message
_IN_NAME = re.compile(r"[0-9A-Za-z]{1,64}\.(jpg|png|gif)")
_OUT_NAME = re.compile(r"[A-Za-z0-9_-]{32}(_p)?\.jpg")
DONE = {
    "reply": ("success", "応答メッセージとして送信しました（無料）。"),
    "push": ("success", "プッシュメッセージとして送信しました（月間の送信数を 1 通使います）。"),
    "duplicate": ("warning", "このメッセージはすでに送信済みです（二重送信を防ぎました）。"),
    "blocked": (
        "warning",
        "この利用者はアカウントをブロックしているため、メッセージを送れません。",
    ),
    "empty": ("warning", "送る内容を入力するか、定型文を選んでください。"),
    "too_long": ("warning", f"メッセージは {MAX_TEXT} 文字以内で入力してください。"),
    "bad_image": (
        "warning",
        "画像を読み込めませんでした。8MB 以下の JPEG・PNG・GIF・WebP を選んでください。",
    ),
    "handling_on": ("success", "「スタッフ対応中」にしました。自動の取り次ぎ案内は送りません。"),
    "handling_off": ("success", "「スタッフ対応中」を解除しました。"),
}
STATUS_LABELS = {
    "pending": "送信待ち",
    "sending": "送信中",
    "sent": "送信済み",
    "dead": "未配信",
    "unknown": "配信状況不明",
    "cancelled": "破棄",
}


def _path(resident_id: int) -> str:
    return f"/admin/chat/{resident_id}"


@staff_required
async def chat_list(request: Request) -> Response:
    page, threads = await page_of(
        request, ChatThread.all(), "-last_message_at", "-id", related=("resident",)
    )
    await audit.record(request, "chat.list", "resident", "", {"page": page.number})
    return render(
        request,
        "admin/chat/list.html",
        {
            "threads": threads,
            "page": page,
            "latest": await _latest([t.resident_id for t in threads]),
        },
        active="chat",
    )


async def _latest(resident_ids: list[int]) -> dict[int, ChatMessage]:
    """Each resident's latest message (two queries for a page of threads)."""
    if not resident_ids:
        return {}
    last_ids = (
        await ChatMessage.filter(resident_id__in=resident_ids)
        .group_by("resident_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    return {m.resident_id: m for m in await ChatMessage.filter(id__in=list(last_ids))}


async def _messages(resident: Resident, after: int = 0) -> list[dict[str, Any]]:
    query = ChatMessage.filter(resident_id=resident.id)
    if after:
        rows = await query.filter(id__gt=after).order_by("id").limit(SHOWN)
    else:
        rows = list(reversed(await query.order_by("-id").limit(SHOWN)))
    staff_ids = {m.staff_id for m in rows if m.staff_id}
    names = {s.id: s.display_name or s.email for s in await StaffUser.filter(id__in=staff_ids)}
    outbox_ids = {m.outbox_id for m in rows if m.sender == Sender.STAFF and m.outbox_id}
    statuses = dict(await OutboxMessage.filter(id__in=outbox_ids).values_list("id", "status"))
    return [
        {
            "m": m,
            "mine": m.direction == Direction.OUT,
            "staff_name": names.get(m.staff_id or 0, ""),
            "status": str(statuses.get(m.outbox_id, "")) if m.sender == Sender.STAFF else "",
            "image_url": _image_url(m),
        }
        for m in rows
    ]


def _image_url(m: ChatMessage) -> str:
    if not m.image_path:
        return ""
    if m.direction == Direction.IN:
        return f"/admin/chat/media/in/{m.image_path}"
    return m.image_path  # our own picture's public URL


async def _resident(request: Request) -> Resident | None:
    return await Resident.get_or_none(id=request.path_params["resident_id"])


async def _mark_read(resident: Resident) -> None:
    await ChatThread.filter(resident_id=resident.id).update(unread=0)


@staff_required
async def conversation(request: Request) -> Response:
    resident = await _resident(request)
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    thread = await ChatThread.get_or_none(resident_id=resident.id)
    items = await _messages(resident)
    await _mark_read(resident)
    plan = await chat_notices.plan(resident)
    await audit.record(request, "chat.view", "resident", resident.id)
    return render(
        request,
        "admin/chat/conversation.html",
        {
            "resident": resident,
            "thread": thread,
            "items": items,
            "last_id": items[-1]["m"].id if items else 0,
            "plan": plan,
            "saved_replies": await SavedReply.all(),
            "nonce": secrets.token_urlsafe(18),
            "outcome": flash(request, DONE),
            "status_labels": STATUS_LABELS,
        },
        active="chat",
    )


@staff_required
async def poll(request: Request) -> Response:
    """New messages after `?after=` as an HTML fragment, and how a message would go now."""
    resident = await _resident(request)
    if resident is None:
        return JSONResponse({"error": "not_found"}, status_code=404)
    after = parse_int(request.query_params.get("after"), 0) or 0
    items = await _messages(resident, after)
    if items:
        await _mark_read(resident)
        await audit.record(request, "chat.poll", "resident", resident.id, {"count": len(items)})
    plan = await chat_notices.plan(resident)
    html = templates.get_template("admin/chat/_messages.html").render(
        items=items, status_labels=STATUS_LABELS
    )
    return JSONResponse(
        {
            "html": html,
            "last_id": items[-1]["m"].id if items else after,
            "via": plan.via,
            "blocked": plan.blocked,
        },
        headers={"Cache-Control": "no-store"},
    )


def _back(resident: Resident, done: str) -> Response:
    return RedirectResponse(f"{_path(resident.id)}?done={done}#composer", status_code=303)


@staff_required
async def send_text(request: Request) -> Response:
    resident = await _resident(request)
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    form = await request.form()
    raw = form.get("body")
    body = raw.strip() if isinstance(raw, str) else ""
    if not body:
        saved_id = parse_int(form.get("saved_reply"))
        saved = await SavedReply.get_or_none(id=saved_id) if saved_id else None
        body = saved.body.strip() if saved else ""
    if not body:
        return _back(resident, "empty")
    if len(body) > MAX_TEXT:
        return _back(resident, "too_long")
    nonce = form_text(form, "nonce", 64) or secrets.token_urlsafe(18)
    sent = await chat_notices.send(resident, current_staff(request).id, nonce, body=body)
    return await _after_send(request, resident, sent)


async def _after_send(request: Request, resident: Resident, sent: chat_notices.Sent) -> Response:
    if sent.blocked:
        done = "blocked"
    elif sent.duplicate:
        done = "duplicate"
    else:
        done = sent.via
    await audit.record(request, "chat.send", "resident", resident.id, {"result": done})
    return _back(resident, done)


@staff_required
async def send_image(request: Request) -> Response:
    resident = await _resident(request)
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("image")
    try:
        data = (
            await upload.read(images.MAX_UPLOAD_BYTES + 1)
            if isinstance(upload, UploadFile)
            else b""
        )
    finally:
        await form.close()
    if not resident.is_following:
        return await _after_send(request, resident, chat_notices.Sent(ok=False, blocked=True))
    try:
        name = images.store(data)
    except images.NotAnImage:
        return _back(resident, "bad_image")
    # LINE fetches pictures over https only: this host, as the request named it (checked
    # against SHIMA_ALLOWED_HOSTS), always https (TLS ends at the proxy in production).
    # The simulator shows them from this very server, as it is served (http on localhost).
    scheme = request.url.scheme if settings_of(request).simulator else "https"
    base = str(request.base_url.replace(scheme=scheme)).rstrip("/")
    original = f"{base}/admin/chat/public/{name}.jpg"
    preview = f"{base}/admin/chat/public/{name}_p.jpg"
    nonce = form_text(form, "nonce", 64) or secrets.token_urlsafe(18)
    sent = await chat_notices.send(
        resident, current_staff(request).id, nonce, image=(original, preview)
    )
    return await _after_send(request, resident, sent)


@staff_required
async def set_handling(request: Request) -> Response:
    resident = await _resident(request)
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    form = await request.form()
    on = form.get("on") == "1"
    if not await ChatThread.filter(resident_id=resident.id).update(staff_handling=on):
        try:
            await ChatThread.create(
                resident_id=resident.id, last_message_at=resident.created_at, staff_handling=on
            )
        except IntegrityError:  # their first message created it meanwhile
            await ChatThread.filter(resident_id=resident.id).update(staff_handling=on)
    await audit.record(request, "chat.handling", "resident", resident.id, {"on": on})
    return _back(resident, "handling_on" if on else "handling_off")


@staff_required
async def media_in(request: Request) -> Response:
    """A resident's picture: signed-in staff only, never cached by the browser."""
    name = request.path_params["name"]
    path = chat_notices.media_path("in", name)
    if not _IN_NAME.fullmatch(name) or not path.is_file():
        return Response("見つかりません", status_code=404)
    return FileResponse(path, headers={"Cache-Control": "private, no-store"})


async def media_public(request: Request) -> Response:
    """A picture staff sent: public at its unguessable name, because LINE fetches it (and
    shows it to the resident) without a session."""
    name = request.path_params["name"]
    path = chat_notices.media_path("out", name)
    if not _OUT_NAME.fullmatch(name) or not path.is_file():
        return Response("Not Found", status_code=404)
    return FileResponse(
        path,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=86400", "X-Robots-Tag": "noindex"},
    )
