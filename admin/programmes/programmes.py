"""寺子屋・交流会・ワークショップ: the list of programmes (filtered by kind), creating and
editing one, archiving it, and its page with its sessions (upcoming first, then the past).

The sessions' rules live in shima.domain.course; this module only translates forms and
shows counts (no resident's data is on these pages)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import Flash, flash, form_text, parse_int, short_text, too_long, typed_text
from admin.listing import page_of
from admin.pages import render
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
    "image_url": ("画像の URL", IMAGE_URL_MAX),
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
    image_url = form_text(form, "image_url", IMAGE_URL_MAX)
    if not title:
        errors.append("タイトルを入力してください。")
    if image_url and (not image_url.startswith("https://") or any(c.isspace() for c in image_url)):
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


def typed_values(form: FormData) -> dict[str, str]:
    return {name: typed_text(form, name) for name in FIELD_NAMES}


def form_page(
    request: Request, programme: Programme | None, values: Mapping[str, str], errors: list[str]
) -> Response:
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


@staff_required
async def programme_new(request: Request) -> Response:
    if request.method == "GET":
        values = programme_values(None)
        kind = request.query_params.get("kind", "")
        if kind in ProgrammeKind._value2member_map_:
            values["kind"] = kind
        return form_page(request, None, values, [])
    form = await request.form()
    data, errors = parse_programme_form(form)
    if data is None:
        return form_page(request, None, typed_values(form), errors)
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


@staff_required
async def programme_edit(request: Request) -> Response:
    programme = await programme_or_404(request)
    if isinstance(programme, Response):
        return programme
    if request.method == "GET":
        return form_page(request, programme, programme_values(programme), [])
    form = await request.form()
    data, errors = parse_programme_form(form)
    if data is None:
        return form_page(request, programme, typed_values(form), errors)
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
