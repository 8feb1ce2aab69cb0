"""寺子屋・交流会・ワークショップ: the list of programmes (filtered by kind), creating and
editing one, archiving it, and its page with its sessions (upcoming first, then the past).

The sessions' rules live in shima.domain.course; this module only translates forms and
shows counts (no resident's data is on these pages).

A programme's picture (the hero of its LINE cards) is uploaded on its form and goes through
the chat's picture machinery (admin.chat.images: type checked by content, re-encoded by
Pillow, EXIF gone, saved under an unguessable public name LINE fetches). Programme.image_url
holds its https URL, built as the chat builds the URLs of the pictures staff send."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.chat import images
from admin.errors import error_page
from admin.forms import Flash, flash, form_text, parse_int, short_text, too_long, typed_text
from admin.listing import page_of
from admin.pages import render
from admin.routing import Endpoint
from admin.sessions import settings_of
from line_app.notices.chat import media_path
from models.course import (
    Attendance,
    Programme,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from shima.timeutil import now, today_jst

PROGRAMMES_PATH = "/admin/programmes"
TITLE_MAX = 100
DESCRIPTION_MAX = 2000
INSTRUCTOR_MAX = 100
AUDIENCE_MAX = 200
IMAGE_URL_MAX = 500
# The form with a picture in it: the picture (≤ 8 MB, admin.chat.images) and the fields
# around it. Larger bodies are refused by admin.routing before they are read to the end.
IMAGE_FORM_BYTES = images.MAX_UPLOAD_BYTES + 1024 * 1024
IMAGE_MB = images.MAX_UPLOAD_BYTES // (1024 * 1024)
# LINE shows a Flex image of at most 1024×1024 px: the hero is scaled down to that.
HERO_MAX = 1024
# Pictures saved by admin.chat.images, served by the chat's public route.
PUBLIC_MEDIA = "/admin/chat/public/"
_OWN_IMAGE = re.compile(re.escape(PUBLIC_MEDIA) + r"([A-Za-z0-9_-]{32})\.jpg")
FEE_MAX = 100_000
PAST_SHOWN = 30  # past sessions listed on a programme's page (most recent first)
UPCOMING_SHOWN = 100

# Free-text fields with their limits (the templates' maxlength): over-long values come back
# with a message, never cut (admin.forms.too_long).
PROGRAMME_TEXT = {
    "title": ("タイトル", TITLE_MAX),
    "description": ("内容の説明", DESCRIPTION_MAX),
    "instructor": ("講師", INSTRUCTOR_MAX),
    "audience": ("対象", AUDIENCE_MAX),
    "image_url": ("画像", IMAGE_URL_MAX),
}
FIELD_NAMES = {
    "kind": "種別",
    "title": "タイトル",
    "description": "内容の説明",
    "instructor": "講師",
    "audience": "対象",
    "fee": "参加費",
    "image_url": "画像",
}

# Outcome codes in redirects; only these fixed texts are ever shown (nothing reflected).
OUTCOMES: dict[str, Flash] = {
    "created": ("success", "講座・イベントを作成しました。続けて開催回を追加してください。"),
    "updated": ("success", "講座・イベントを保存しました。"),
    "archived": (
        "success",
        "アーカイブしました。一覧には「アーカイブ済みも表示」で表示されます。",
    ),
    "unarchived": ("success", "アーカイブを解除しました。"),
    "session_created": ("success", "開催回を作成しました。"),
    "session_updated": ("success", "開催回を保存しました。"),
    "session_published": (
        "success",
        "開催回を公開しました。LINE の「寺子屋・交流会」に表示されます。",
    ),
}
BAD_IMAGE = (
    "画像を読み込めませんでした。JPEG・PNG・GIF・WebP の画像ファイル"
    f"（{IMAGE_MB}MB まで）を選んでください。ほかの内容はまだ保存されていません。"
)
IMAGE_TOO_LARGE = (
    f"画像のファイルが大きすぎます（{IMAGE_MB}MB まで）。小さい画像を選んでください。"
    "ほかの内容はまだ保存されていません。"
)
BODY_REFUSED_HINT = (
    f"画像を選んでいた場合は、{IMAGE_MB}MB までの画像を選んで、もう一度入力してください。"
)


# ---------- The programme form ----------


@dataclass(frozen=True)
class ProgrammeData:
    kind: ProgrammeKind
    title: str
    description: str
    instructor: str
    audience: str
    fee: int
    image_url: str

    def changed_fields(self, programme: Programme) -> list[str]:
        return [
            FIELD_NAMES[name]
            for name in FIELD_NAMES
            if getattr(self, name) != getattr(programme, name)
        ]


def own_image_name(url: str) -> str:
    """The name of a picture uploaded here (admin.chat.images), "" for any other URL."""
    match = _OWN_IMAGE.fullmatch(urlsplit(url).path) if url else None
    return match.group(1) if match else ""


def image_preview(url: str) -> str:
    """The small copy of an uploaded picture, on this server (the admin's CSP shows only
    its own images); "" for a picture elsewhere."""
    name = own_image_name(url)
    return f"{PUBLIC_MEDIA}{name}_p.jpg" if name else ""


def kept_image(form: FormData) -> str:
    """The picture the form keeps (its hidden `image_url`), "" when 画像を削除 is ticked."""
    if short_text(form, "remove_image", 1) == "1":
        return ""
    return form_text(form, "image_url", IMAGE_URL_MAX)


def parse_programme_form(form: FormData) -> tuple[ProgrammeData | None, list[str]]:
    errors = too_long(form, PROGRAMME_TEXT)
    kind_value = short_text(form, "kind", 16)
    kind = ProgrammeKind(kind_value) if kind_value in ProgrammeKind._value2member_map_ else None
    if kind is None:
        errors.append("種別（寺子屋・交流会・ワークショップ）を選んでください。")
    fee_text = short_text(form, "fee", 12).replace(",", "")
    fee = parse_int(fee_text, 0 if not fee_text else None)
    if fee is None or fee > FEE_MAX:
        errors.append(f"参加費は0〜{FEE_MAX:,}円の数字で入力してください（無料のときは0）。")
    if errors:
        return None, errors
    title = form_text(form, "title", TITLE_MAX)
    image_url = kept_image(form)
    if not title:
        errors.append("タイトルを入力してください。")
    # The kept picture is one uploaded here (http in the simulator) or, from before uploads,
    # an https URL typed by staff: anything else is not from this form.
    if (
        image_url
        and not own_image_name(image_url)
        and (not image_url.startswith("https://") or any(c.isspace() for c in image_url))
    ):
        errors.append(
            "画像の URL は https:// で始まる URL を入力してください（空欄なら画像なし）。"
        )
    if errors or kind is None or fee is None:
        return None, errors
    return (
        ProgrammeData(
            kind=kind,
            title=title,
            description=form_text(form, "description", DESCRIPTION_MAX),
            instructor=form_text(form, "instructor", INSTRUCTOR_MAX),
            audience=form_text(form, "audience", AUDIENCE_MAX),
            fee=fee,
            image_url=image_url,
        ),
        [],
    )


def _shrink_hero(name: str) -> None:
    """The picture LINE shows as the cards' hero: at most HERO_MAX px (a Flex image's
    limit), re-encoded from the already clean copy admin.chat.images saved."""
    path = media_path("out", f"{name}.jpg")
    with Image.open(path) as saved:
        if max(saved.size) <= HERO_MAX:
            return
        hero = saved.copy()
    hero.thumbnail((HERO_MAX, HERO_MAX))
    hero.save(path, "JPEG", quality=85, optimize=True)


def _store_image(data: bytes) -> str:
    name = images.store(data)
    _shrink_hero(name)
    return name


async def uploaded_image(request: Request, form: FormData) -> tuple[str, str]:
    """The picture chosen on the form, saved: (its public URL, ""), ("", a Japanese
    message) when it is not a picture or too large, ("", "") when none was chosen."""
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        return "", ""
    data = await upload.read(images.MAX_UPLOAD_BYTES + 1)
    if not data:  # the file field left empty
        return "", ""
    if len(data) > images.MAX_UPLOAD_BYTES:
        return "", IMAGE_TOO_LARGE
    try:
        name = await run_in_threadpool(_store_image, data)
    except images.NotAnImage:
        return "", BAD_IMAGE
    # As the chat's pictures (admin.chat.views.send_image): LINE fetches over https only,
    # from this host as the request named it (checked against SHIMA_ALLOWED_HOSTS); TLS
    # ends at the proxy in production. The simulator serves it as it is served itself.
    scheme = request.url.scheme if settings_of(request).simulator else "https"
    base = str(request.base_url.replace(scheme=scheme)).rstrip("/")
    return f"{base}{PUBLIC_MEDIA}{name}.jpg", ""


async def forget_image(url: str) -> None:
    """Delete an uploaded picture no programme shows any more (replaced or 画像を削除)."""
    name = own_image_name(url)
    if not name or await Programme.filter(image_url=url).exists():
        return
    for suffix in ("", "_p"):
        media_path("out", f"{name}{suffix}.jpg").unlink(missing_ok=True)


def programme_values(programme: Programme | None) -> dict[str, str]:
    if programme is None:
        return {
            "kind": "",
            "title": "",
            "description": "",
            "instructor": "",
            "audience": "",
            "fee": "0",
            "image_url": "",
        }
    return {
        "kind": programme.kind.value,
        "title": programme.title,
        "description": programme.description,
        "instructor": programme.instructor,
        "audience": programme.audience,
        "fee": str(programme.fee),
        "image_url": programme.image_url,
    }


def typed_values(form: FormData, new_image: str = "") -> dict[str, str]:
    """The form as sent; a picture uploaded with it comes back as the one the form keeps
    (it is saved only with the form)."""
    values = {name: typed_text(form, name) for name in FIELD_NAMES}
    values["remove_image"] = "1" if typed_text(form, "remove_image") == "1" else ""
    if new_image:
        values["image_url"], values["remove_image"] = new_image, ""
    return values


async def read_programme_form(
    request: Request, form: FormData
) -> tuple[ProgrammeData | None, list[str], dict[str, str]]:
    """The form's data with the picture chosen on it saved; or None, the Japanese messages
    and the values to show the form again with (nothing of the programme changed)."""
    data, errors = parse_programme_form(form)
    new_image, image_error = await uploaded_image(request, form)
    if image_error:
        errors.append(image_error)
    if data is None or errors:
        return None, errors, typed_values(form, new_image)
    if new_image:
        data = replace(data, image_url=new_image)
    return data, [], {}


def form_page(
    request: Request, programme: Programme | None, values: Mapping[str, str], errors: list[str]
) -> Response:
    # A form body admin.routing refused (too large) comes back as this page with its notice:
    # most likely the picture, so say so next to it.
    refused = bool(getattr(request.state, "form_notice", ""))
    image_url = values.get("image_url", "")
    return render(
        request,
        "admin/programmes/programme_form.html",
        {
            "programme": programme,
            "values": values,
            "errors": errors,
            "kinds": list(ProgrammeKind),
            "limits": {name: limit for name, (_, limit) in PROGRAMME_TEXT.items()},
            "fee_max": FEE_MAX,
            "image_preview": image_preview(image_url),
            "image_unsaved": image_url != (programme.image_url if programme else ""),
            "image_mb": IMAGE_MB,
            "image_hint": BODY_REFUSED_HINT if refused else "",
        },
        status_code=400 if errors else 200,
        active="programmes",
    )


def to_programme(programme_id: int, outcome: str = "", **extra: str | int) -> Response:
    query = urlencode({**({"done": outcome} if outcome else {}), **extra})
    return RedirectResponse(
        f"{PROGRAMMES_PATH}/{programme_id}" + (f"?{query}" if query else ""), status_code=303
    )


async def programme_or_404(request: Request) -> Programme | Response:
    programme = await Programme.get_or_none(id=request.path_params["programme_id"])
    if programme is None:
        return error_page(request, 404, title="講座・イベントが見つかりません")
    return programme


# ---------- Pages ----------


def closes_upload(endpoint: Endpoint) -> Endpoint:
    """`endpoint` (guarded) with the form's temporary upload file closed whatever the
    answer, also when the guard refuses the post (no session, no CSRF token)."""

    @functools.wraps(endpoint)  # keeps the guard mark
    async def closing(request: Request) -> Response:
        try:
            return await endpoint(request)
        finally:
            await request.close()

    return closing


@staff_required
async def programme_list(request: Request) -> Response:
    kind_value = request.query_params.get("kind", "")
    kind = ProgrammeKind(kind_value) if kind_value in ProgrammeKind._value2member_map_ else None
    archived = request.query_params.get("archived") == "1"
    programmes = Programme.all()
    if kind is not None:
        programmes = programmes.filter(kind=kind)
    if not archived:
        programmes = programmes.filter(is_archived=False)
    page, rows = await page_of(request, programmes, "is_archived", "-created_at", "-id")
    ids = [p.id for p in rows]
    upcoming: dict[int, list[ProgrammeSession]] = {i: [] for i in ids}
    for session in await ProgrammeSession.filter(
        programme_id__in=ids, ends_at__gte=now(), status__not=SessionStatus.CANCELLED
    ).order_by("starts_at", "id"):
        upcoming[session.programme_id].append(session)
    today = today_jst()
    return render(
        request,
        "admin/programmes/programmes.html",
        {
            "programmes": rows,
            "upcoming": upcoming,
            "kinds": list(ProgrammeKind),
            "kind": kind,
            "archived": archived,
            "page": page,
            "month_start": today.replace(day=1).isoformat(),
            "today": today.isoformat(),
            "outcome": flash(request, OUTCOMES),
        },
        active="programmes",
    )


@closes_upload
@staff_required
async def programme_new(request: Request) -> Response:
    if request.method == "GET":
        values = programme_values(None)
        kind = request.query_params.get("kind", "")
        if kind in ProgrammeKind._value2member_map_:
            values["kind"] = kind
        return form_page(request, None, values, [])
    form = await request.form()
    data, errors, values = await read_programme_form(request, form)
    if data is None:
        return form_page(request, None, values, errors)
    async with in_transaction():
        programme = await Programme.create(**vars(data))
        await audit.record(
            request,
            "course.programme.create",
            "programme",
            programme.id,
            {"title": programme.title, "kind": programme.kind.value},
        )
    return to_programme(programme.id, "created")


@closes_upload
@staff_required
async def programme_edit(request: Request) -> Response:
    programme = await programme_or_404(request)
    if isinstance(programme, Response):
        return programme
    if request.method == "GET":
        return form_page(request, programme, programme_values(programme), [])
    form = await request.form()
    data, errors, values = await read_programme_form(request, form)
    if data is None:
        return form_page(request, programme, values, errors)
    changed = data.changed_fields(programme)
    async with in_transaction():
        await Programme.filter(id=programme.id).update(**vars(data))
        await audit.record(
            request,
            "course.programme.update",
            "programme",
            programme.id,
            {"title": data.title, "fields": "・".join(changed) or "なし"},
        )
    if data.image_url != programme.image_url:
        await forget_image(programme.image_url)
    return to_programme(programme.id, "updated")


@staff_required
async def programme_archive(request: Request) -> Response:
    """アーカイブ (value=1) or its undo (value=0): an archived programme leaves the list;
    its sessions and their records stay."""
    programme = await programme_or_404(request)
    if isinstance(programme, Response):
        return programme
    form = await request.form()
    archive = short_text(form, "archive", 1) != "0"
    async with in_transaction():
        await Programme.filter(id=programme.id).update(is_archived=archive)
        await audit.record(
            request,
            "course.programme.archive" if archive else "course.programme.unarchive",
            "programme",
            programme.id,
            {"title": programme.title},
        )
    return to_programme(programme.id, "archived" if archive else "unarchived")


# ---------- A programme's sessions ----------


@dataclass(frozen=True)
class AttendanceCount:
    present: int = 0
    absent: int = 0
    registered: int = 0  # rows holding a seat (walk-ins included)

    @property
    def recorded(self) -> int:
        return self.present + self.absent

    @property
    def rate(self) -> int | None:
        """出席率 in % of those registered (None when nobody was)."""
        return round(100 * self.present / self.registered) if self.registered else None


async def attendance_counts(session_ids: list[int]) -> dict[int, AttendanceCount]:
    """出席 / 欠席 / 申込 per session (one grouped query)."""
    if not session_ids:
        return {}
    rows = (
        await Registration.filter(session_id__in=session_ids, status=RegistrationStatus.REGISTERED)
        .annotate(n=Count("id"))
        .group_by("session_id", "attendance")
        .values("session_id", "attendance", "n")
    )
    found: dict[int, dict[str, int]] = {}
    for row in rows:
        counts = found.setdefault(int(row["session_id"]), {})
        counts[str(row["attendance"])] = int(row["n"])
    return {
        sid: AttendanceCount(
            present=c.get(Attendance.PRESENT.value, 0),
            absent=c.get(Attendance.ABSENT.value, 0),
            registered=sum(c.values()),
        )
        for sid, c in found.items()
    }


def fill_rate(session: ProgrammeSession) -> int:
    return round(100 * session.taken / session.seats) if session.seats > 0 else 0


def session_state(session: ProgrammeSession, at: datetime | None = None) -> tuple[str, str]:
    """A short extra mark next to the status: (css key, label), ("", "") for none."""
    at = at or now()
    if session.status == SessionStatus.CANCELLED:
        return "", ""
    if session.ends_at <= at:
        return "ended", "終了"
    if session.starts_at <= at:
        return "running", "開催中"
    if session.status == SessionStatus.PUBLISHED and session.deadline <= at:
        return "closed", "受付終了"
    if session.taken >= session.seats:
        return "full", "満席"
    return "", ""


async def programme_page(
    request: Request,
    programme: Programme,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    at = now()
    sessions = ProgrammeSession.filter(programme_id=programme.id)
    upcoming = (
        await sessions.filter(ends_at__gt=at).order_by("starts_at", "id").limit(UPCOMING_SHOWN)
    )
    past = await sessions.filter(ends_at__lte=at).order_by("-starts_at", "-id").limit(PAST_SHOWN)
    past_total = await sessions.filter(ends_at__lte=at).count()
    counts = await attendance_counts([s.id for s in [*upcoming, *past]])
    return render(
        request,
        "admin/programmes/programme.html",
        {
            "programme": programme,
            "now": at,
            "upcoming": upcoming,
            "past": past,
            "past_total": past_total,
            "past_shown": PAST_SHOWN,
            "counts": counts,
            "image_preview": image_preview(programme.image_url),
            "fill_rate": fill_rate,
            "session_state": session_state,
            "errors": errors or [],
            "outcome": flash(request, OUTCOMES),
        },
        status_code=status_code,
        active="programmes",
    )


@staff_required
async def programme_detail(request: Request) -> Response:
    programme = await programme_or_404(request)
    if isinstance(programme, Response):
        return programme
    return await programme_page(request, programme)
