"""Composing an お知らせ: the form (title, text with {名前}, an image, a card with one link
button, the audience builder) for a new draft and for editing a draft, and the count endpoint
the builder's script asks as the audience changes.

The form works without JS: 「人数を確認」 sends it back with the count (nothing saved). The
content rules are shima.domain.announcements (`problems`); oversized fields are named by the
shared form helpers with what was typed kept. A new draft's form carries a nonce: the same
form sent twice makes one draft. Each save is audited in its transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.announce import audience, images
from admin.announce.common import (
    ACTIVE,
    CREATE,
    PATH,
    UPDATE,
    announcement_or_404,
    audit_detail,
    nonce_used,
    to_page,
)
from admin.auth import current_staff, staff_required
from admin.forms import NONCE, form_text, new_nonce, short_text, too_long, typed_text
from admin.pages import render
from models.announcements import Announcement
from shima.domain import announcements as rules
from shima.domain import segments

TEXT_FIELDS = ("title", "body", "card_title", "card_text", "card_label", "card_url")
LIMITS: dict[str, tuple[str, int]] = {
    "title": ("管理用のタイトル", rules.TITLE_MAX),
    "body": ("本文", rules.BODY_MAX),
    "card_title": ("カードの見出し", rules.CARD_TITLE_MAX),
    "card_text": ("カードの説明", rules.CARD_TEXT_MAX),
    "card_label": ("ボタンの文字", rules.CARD_LABEL_MAX),
    "card_url": ("リンク先の URL", rules.CARD_URL_MAX),
}
# The picture (≤ 8 MB) and the form around it: the route's body limit (admin.routing).
FORM_BYTES = images.MAX_UPLOAD_BYTES + 1024 * 1024
BAD_IMAGE = "画像として読み取れませんでした。JPEG・PNG・GIF・WebP の画像ファイルを選んでください。"
IMAGE_TOO_LARGE = f"画像が大きすぎます（{images.MAX_MB}MB まで）。小さくしてから選んでください。"
IMAGE_NOT_KEPT = (
    "選んだ画像はまだ保存されていません。保存するときに、もう一度画像を選んでください。"
)


def count_text(n: int) -> str:
    return f"{n:,}人"


# ---------- The form's values ----------


def stored_values(a: Announcement | None) -> dict[str, Any]:
    """The form's values for a draft (or a new one: everyone, nothing typed)."""
    texts = {name: getattr(a, name) if a else "" for name in TEXT_FIELDS}
    segment = rules.segment_of(a) if a else segments.Segment()
    return {**texts, **audience.values_of(segment), "remove_image": ""}


def typed_values(form: FormData) -> dict[str, Any]:
    _, chosen = audience.read(form)
    texts = {name: typed_text(form, name) for name in TEXT_FIELDS}
    remove = "1" if short_text(form, "remove_image", 1) == "1" else ""
    return {**texts, **chosen, "remove_image": remove}


async def form_page(
    request: Request,
    a: Announcement | None,
    values: Mapping[str, Any],
    *,
    errors: Sequence[str] = (),
    field_errors: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    nonce: str = "",
    status_code: int | None = None,
) -> Response:
    segment, _ = audience.read(audience.as_params(dict(values)))
    return render(
        request,
        "admin/announce/form.html",
        {
            "a": a,
            "values": values,
            "choices": await audience.choices(dict(values)),
            "count": await segments.count(segment),
            "count_text": count_text,
            "errors": list(errors),
            "field_errors": dict(field_errors or {}),
            "notes": list(notes),
            "nonce": nonce,
            "limits": {name: most for name, (_, most) in LIMITS.items()},
            "placeholder": rules.PLACEHOLDER,
            "image_mb": images.MAX_MB,
            "has_image": a is not None and rules.has_image(a),
            "form_path": f"{PATH}/{a.id}/edit" if a else f"{PATH}/new",
        },
        status_code=status_code or (400 if errors or field_errors else 200),
        active=ACTIVE,
    )


# ---------- Reading a submitted form ----------


async def _picture(form: FormData) -> tuple[images.Picture | None, str, bool]:
    """The picture chosen on the form, re-encoded: (picture, "", chosen), (None, a Japanese
    message, True) when it is not one, (None, "", False) when none was chosen."""
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        return None, "", False
    data = await upload.read(images.MAX_UPLOAD_BYTES + 1)
    if not data:  # the file field left empty
        return None, "", False
    if len(data) > images.MAX_UPLOAD_BYTES:
        return None, IMAGE_TOO_LARGE, True
    try:
        return await run_in_threadpool(images.reencode, data), "", True
    except images.NotAnImage:
        return None, BAD_IMAGE, True


def _image_changes(
    a: Announcement | None, picture: images.Picture | None, remove: bool
) -> dict[str, Any]:
    """The image fields to save: a new picture (with a new token: LINE and browsers may have
    the old one cached), none (削除), or the draft's own kept."""
    if picture is not None:
        return {
            "image": picture.image,
            "image_preview": picture.preview,
            "image_token": picture.token,
        }
    if remove or a is None:
        return {"image": None, "image_preview": None, "image_token": None}
    return {}


async def read_form(
    form: FormData, a: Announcement | None
) -> tuple[dict[str, Any] | None, list[str], dict[str, str], list[str]]:
    """The draft's fields to save, or None with the messages (form-wide, per field) and the
    notes to show the form again with (nothing changed)."""
    errors = too_long(form, LIMITS)
    picture, image_error, chosen = await _picture(form)
    if errors:  # too long: the texts cannot be checked further
        errors += [image_error] if image_error else []
        return None, errors, {}, [IMAGE_NOT_KEPT] if chosen and not image_error else []
    texts = {name: form_text(form, name, LIMITS[name][1]) for name in TEXT_FIELDS}
    remove = short_text(form, "remove_image", 1) == "1"
    image = _image_changes(a, picture, remove)
    keeps_image = a is not None and rules.has_image(a) and not remove
    # Everything at once (the picture, the texts, the audience), not one round each.
    found = {
        **({"image": image_error} if image_error else {}),
        **rules.problems(**texts, has_image=chosen or keeps_image),
        **audience.problems(form),
    }
    if found:
        return None, [], found, [IMAGE_NOT_KEPT] if chosen and not image_error else []
    segment, _ = audience.read(form)
    return {**texts, **image, "audience": segment.to_json()}, [], {}, []


def _saved_detail(a: Announcement, fields: Mapping[str, Any], **more: Any) -> dict[str, Any]:
    return audit_detail(
        a,
        messages=rules.message_count(a),
        image=bool(fields.get("image_token") or a.image_token),
        audience=sorted(fields.get("audience", {})),
        **more,
    )


# ---------- New ----------


@staff_required
async def announcement_new(request: Request) -> Response:
    if request.method == "GET":
        return await form_page(request, None, stored_values(None), nonce=new_nonce())
    form = await request.form()
    nonce = short_text(form, "nonce", 64)
    if form.get("action") == "count":
        return await _counted(request, None, form, nonce)
    fields, errors, field_errors, notes = await read_form(form, None)
    if fields is None:
        return await form_page(
            request,
            None,
            typed_values(form),
            errors=errors,
            field_errors=field_errors,
            notes=notes,
            nonce=nonce,
        )
    by = current_staff(request).email
    async with in_transaction():
        made = await nonce_used(CREATE, nonce) if NONCE.fullmatch(nonce) else None
        if made is not None:  # the same form sent twice: the draft it made
            return to_page(made, "already")
        a = await Announcement.create(**fields, created_by=by)
        await audit.record(
            request, CREATE, "announcement", a.id, _saved_detail(a, fields, nonce=nonce)
        )
    return to_page(a.id, "created")


async def _counted(
    request: Request, a: Announcement | None, form: FormData, nonce: str
) -> Response:
    """「人数を確認」 without JS: the form as typed with its count (nothing saved)."""
    upload = form.get("image")
    chosen = isinstance(upload, UploadFile) and bool(upload.filename)
    return await form_page(
        request,
        a,
        typed_values(form),
        notes=[IMAGE_NOT_KEPT] if chosen else [],
        nonce=nonce,
        status_code=200,
    )


# ---------- Edit ----------


@staff_required
async def announcement_edit(request: Request) -> Response:
    """A draft's form; anything else is sent to its page (複製 makes an editable copy)."""
    a = await announcement_or_404(request)
    if isinstance(a, Response):
        return a
    if not rules.editable(a):
        return to_page(a.id, "not_draft")
    if request.method == "GET":
        return await form_page(request, a, stored_values(a))
    form = await request.form()
    if form.get("action") == "count":
        return await _counted(request, a, form, "")
    fields, errors, field_errors, notes = await read_form(form, a)
    if fields is None:
        return await form_page(
            request, a, typed_values(form), errors=errors, field_errors=field_errors, notes=notes
        )
    try:
        async with in_transaction():
            saved = await rules.update_draft(a.id, **fields)
            await audit.record(request, UPDATE, "announcement", a.id, _saved_detail(saved, fields))
    except rules.AnnouncementError as exc:  # sent or cancelled since the form was opened
        return await form_page(
            request, a, typed_values(form), errors=[exc.message], status_code=409
        )
    return to_page(a.id, "saved")


# ---------- The count ----------


@staff_required
async def announcement_count(request: Request) -> Response:
    """GET ?<the builder's fields>: how many residents the segment reaches now (counts
    only; the script on the form shows it)."""
    segment, _ = audience.read(request.query_params)
    n = await segments.count(segment)
    return JSONResponse(
        {"count": n, "text": count_text(n), "everyone": segment.is_everyone()},
        headers={"Cache-Control": "no-store"},
    )
