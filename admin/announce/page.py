"""An お知らせ's page: the preview as it will look in LINE, the audience described with the
current count, the cost against the month's quota, and what can be done in its status —
配信 (two steps: the time chosen, then a confirmation restating count and cost, with a
nonce), 承認 (admins, over settings.announce_approval_over), 取り消し, 複製, 削除 (drafts).

The cost: messages per recipient × recipients = N通, against the quota left this month
(line_app.notices.announce.monthly_quota) less what other sends will still use
(announcements.reserved_messages). When it does not fit, no send or approve button is
offered, and a stale form posting anyway is refused here with the same words. When LINE
cannot be asked, staff are told and may send: the worker checks again when it starts.
Each step is the rules' compare-and-set, audited in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.announce.common import (
    ACTIVE,
    APPROVE,
    CANCEL,
    CREATE,
    DELETE,
    OUTCOMES,
    PATH,
    SEND,
    announcement_or_404,
    audit_detail,
    is_due,
    nonce_used,
    staff_names,
    status_label,
    status_text,
    to_list,
    to_page,
    when_text,
)
from admin.auth import current_staff, staff_required
from admin.forms import NONCE, flash, new_nonce, parse_date, parse_time, short_text
from admin.pages import render
from admin.sessions import settings_of
from line_app.notices import announce as notices
from models.announcements import Announcement, AnnouncementStatus
from shima.domain import announcements as rules
from shima.domain import segments
from shima.timeutil import JST, format_jst, jst_datetime, now

NAME_SHOWN = "（利用者の名前）"  # {名前} in the preview
NOW, LATER = "now", "later"
QUOTA_STOP = "配信できません: 今月の残り通数が足りません。"
CHANGED = (
    "確認のあとで内容か配信先が変わりました。もう一度、人数と通数を確かめてから配信してください。"
)
STARTED = (AnnouncementStatus.SENDING, AnnouncementStatus.SENT, AnnouncementStatus.REFUSED)


# ---------- The cost ----------


@dataclass(frozen=True)
class Cost:
    per: int  # messages per recipient
    recipients: int
    quota: notices.Quota
    reserved: int  # what other sends will still use this month
    later_month: bool = False  # to be sent in a later month: its own quota, checked then

    @property
    def total(self) -> int:
        return self.per * self.recipients

    @property
    def available(self) -> int | None:
        """What this send may use (None: no limit, or unknown)."""
        left = self.quota.remaining
        return None if left is None or self.quota.error else max(0, left - self.reserved)

    @property
    def fits(self) -> bool:
        return self.later_month or self.available is None or self.total <= self.available

    @property
    def after(self) -> int | None:
        return None if self.available is None else self.available - self.total


async def quota_of(request: Request) -> notices.Quota:
    """The month's quota from LINE (the process's LineClient; none in an app built without
    its lifespan: said as LINE not answering)."""
    line = getattr(request.app.state, "line", None)
    if line is None:
        return notices.Quota(None, None, error=notices.QUOTA_ERROR)
    return await notices.monthly_quota(line)


def _month(at: datetime) -> tuple[int, int]:
    local = at.astimezone(JST)
    return local.year, local.month


def next_month_start() -> str:
    """The first minute of next month (JST) as the date field takes it: when this month's
    quota is short, a send can still be scheduled from then (its own month's quota)."""
    local = now().astimezone(JST)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1).strftime("%Y-%m-%dT%H:%M")


async def cost_of(
    request: Request, a: Announcement, recipients: int, send_at: datetime | None = None
) -> Cost:
    return Cost(
        per=rules.message_count(a),
        recipients=recipients,
        quota=await quota_of(request),
        reserved=await rules.reserved_messages(exclude_id=a.id),
        later_month=send_at is not None and _month(send_at) != _month(now()),
    )


# ---------- The preview ----------


@dataclass(frozen=True)
class Preview:
    """The bubbles LINE shows, in order (announcements.message_count counts them)."""

    text_parts: list[str]  # the text split at {名前} (shown as NAME_SHOWN between the parts)
    image_url: str
    card: Announcement | None


def cost_parts(a: Announcement) -> list[str]:
    """What each recipient is sent, in order (one message each)."""
    parts = [
        ("本文", bool(a.body.strip())),
        ("画像", rules.has_image(a)),
        ("カード", rules.has_card(a)),
    ]
    return [name for name, present in parts if present]


def preview_of(a: Announcement) -> Preview:
    parts = a.body.split(rules.PLACEHOLDER) if a.body.strip() else []
    image = notices.PREVIEW_PATH.format(token=a.image_token) if rules.has_image(a) else ""
    return Preview(parts, image, a if rules.has_card(a) else None)


# ---------- The page ----------


async def recipients_now(a: Announcement) -> int:
    """Who it reaches: today's count until it starts, then the recipients it was given."""
    if a.status in STARTED:
        return a.recipients
    return await segments.count(rules.segment_of(a))


async def announcement_page(
    request: Request,
    a: Announcement,
    *,
    error: str = "",
    when_error: str = "",
    send_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The page; `when_error` is said at the date field (a time that cannot be used)."""
    staff = current_staff(request)
    settings = settings_of(request)
    count = await recipients_now(a)
    emails = {a.created_by, a.requested_by, a.approved_by, a.cancelled_by} - {""}
    names = await staff_names(emails)
    # The cost of what may still go out (LINE is asked only then).
    costed = a.status == AnnouncementStatus.DRAFT or a.status in rules.WAITING
    cost = await cost_of(request, a, count, a.send_at) if costed else None
    return render(
        request,
        "admin/announce/page.html",
        {
            "a": a,
            "status_text": status_text,
            "preview": preview_of(a),
            "name_shown": NAME_SHOWN,
            "personalised": rules.personalised(a),
            "audience": await segments.describe(rules.segment_of(a)),
            "count": count,
            "cost": cost,
            "approval_over": settings.announce_approval_over,
            "needs_approval": count > settings.announce_approval_over,
            "is_admin": staff.is_admin,
            "problems": _content_problems(a),
            "send_values": send_values or {"send_when": NOW, "send_at": ""},
            "error": error,
            "when_error": when_error,
            "due": is_due(a),
            "when_text": when_text,
            "next_month_start": next_month_start(),
            "outcome": flash(request, OUTCOMES),
            "nonce": new_nonce(),
            "pending": max(0, a.recipients - a.delivered - a.failed - a.skipped),
            "cost_parts": cost_parts(a),
            "who": lambda email: names.get(email) or email or "—",
            "min_send_at": format_jst(now(), "%Y-%m-%dT%H:%M"),
            "path": f"{PATH}/{a.id}",
        },
        status_code=status_code,
        active=ACTIVE,
    )


def _content_problems(a: Announcement) -> list[str]:
    """What keeps a draft from being sent (saved drafts pass; kept for an old row)."""
    if not rules.editable(a):
        return []
    found = rules.problems(
        title=a.title,
        body=a.body,
        card_title=a.card_title,
        card_text=a.card_text,
        card_label=a.card_label,
        card_url=a.card_url,
        has_image=rules.has_image(a),
    )
    return list(found.values())


@staff_required
async def announcement_detail(request: Request) -> Response:
    a = await announcement_or_404(request)
    if isinstance(a, Response):
        return a
    return await announcement_page(request, a)


# ---------- 配信: the time, the confirmation, the request ----------


def _send_at(text: str) -> datetime | None:
    """A typed `YYYY-MM-DDTHH:MM` (JST)."""
    day = parse_date(text[:10])
    at = parse_time(text[11:16]) if len(text) >= 16 and text[10] in "T " else None
    return jst_datetime(day, at) if day is not None and at is not None else None


def when_problem(send_at: datetime) -> str:
    """Why a chosen time cannot be used, before the confirmation ("" when it can): the
    rules' own check, so staff are spared a confirmation that would be refused."""
    return rules.send_at_problem(send_at, now())


def read_when(form: FormData) -> tuple[datetime | None, dict[str, str], str]:
    """(send_at — None for now —, the fields as typed, a Japanese problem or "")."""
    when = NOW if short_text(form, "send_when", 5) != LATER else LATER
    typed = short_text(form, "send_at", 19)
    values = {"send_when": when, "send_at": typed}
    if when == NOW:
        return None, values, ""
    send_at = _send_at(typed)
    if send_at is None:
        return None, values, "配信する日時を選んでください（日本時間）。"
    return send_at, values, when_problem(send_at)


def version_of(a: Announcement) -> str:
    """What the confirmation was made for: any save or step since changes it."""
    return a.updated_at.isoformat() if a.updated_at else ""


async def _confirm_page(
    request: Request,
    a: Announcement,
    send_at: datetime | None,
    values: dict[str, str],
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    count = await segments.count(rules.segment_of(a))
    cost = await cost_of(request, a, count, send_at)
    return render(
        request,
        "admin/announce/confirm.html",
        {
            "a": a,
            "preview": preview_of(a),
            "name_shown": NAME_SHOWN,
            "personalised": rules.personalised(a),
            "audience": await segments.describe(rules.segment_of(a)),
            "count": count,
            "cost": cost,
            "send_at": send_at,
            "values": values,
            "needs_approval": count > settings.announce_approval_over,
            "approval_over": settings.announce_approval_over,
            "nonce": new_nonce(),
            "version": version_of(a),
            "cost_parts": cost_parts(a),
            "error": error,
            "when_text": when_text,
            "path": f"{PATH}/{a.id}",
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def announcement_send(request: Request) -> Response:
    """Step 1 (no `confirm`): the chosen time checked, the confirmation with the count and
    the cost and a fresh nonce. Step 2 (`confirm=yes`, the nonce and the version confirmed):
    the rules' request_send; a nonce already used acts once."""
    a = await announcement_or_404(request)
    if isinstance(a, Response):
        return a
    form = await request.form()
    send_at, values, problem = read_when(form)
    if problem:
        return await announcement_page(
            request, a, when_error=problem, send_values=values, status_code=400
        )
    nonce = short_text(form, "nonce", 64)
    if short_text(form, "confirm", 3) != "yes" or not NONCE.fullmatch(nonce):
        if not rules.editable(a):
            return await _refused(request, a)
        return await _confirm_page(request, a, send_at, values)
    if await nonce_used(SEND, nonce, a.id) is not None:
        return to_page(a.id, "already")
    if rules.editable(a) and short_text(form, "version", 40) != version_of(a):
        return await _confirm_page(request, a, send_at, values, error=CHANGED, status_code=409)
    return await _request_send(request, a, send_at, values, nonce)


async def _refused(request: Request, a: Announcement) -> Response:
    """A send asked of an announcement that is no longer a draft (a stale form)."""
    return await announcement_page(
        request,
        a,
        error=f"このお知らせはいま「{status_label(a)}」のため、配信の手続きはできません。",
        status_code=409,
    )


async def _request_send(
    request: Request, a: Announcement, send_at: datetime | None, values: dict[str, str], nonce: str
) -> Response:
    count = await segments.count(rules.segment_of(a))
    cost = await cost_of(request, a, count, send_at)
    if rules.editable(a) and not cost.fits:  # anything else: the rules say why not
        return await announcement_page(
            request, a, error=QUOTA_STOP, send_values=values, status_code=409
        )
    staff = current_staff(request)
    try:
        async with in_transaction():
            sent = await rules.request_send(
                a.id, by=staff.email, send_at=send_at, settings=settings_of(request)
            )
            await audit.record(request, SEND, "announcement", a.id, _send_detail(sent, cost, nonce))
    except rules.AnnouncementError as exc:
        fresh = await Announcement.get(id=a.id)
        return await announcement_page(
            request, fresh, error=exc.message, send_values=values, status_code=409
        )
    if sent.status == AnnouncementStatus.AWAITING_APPROVAL:
        return to_page(a.id, "awaiting")
    wake_sender(request)
    return to_page(a.id, "now" if send_at is None else "scheduled")


def wake_sender(request: Request) -> None:
    """A send due now starts at once instead of at the sender's next poll (this process's
    worker, when it runs one; other workers poll within seconds)."""
    worker = getattr(request.app.state, "worker", None)
    wake = getattr(worker, "wake_announcements", None)
    if wake is not None:
        wake()


def _send_detail(a: Announcement, cost: Cost, nonce: str) -> dict[str, Any]:
    return audit_detail(
        a,
        send_status=a.status.value,
        recipients=cost.recipients,
        messages=cost.total,
        send_at=format_jst(a.send_at),
        nonce=nonce,
    )


# ---------- 承認, 取り消し ----------


@staff_required
async def announcement_approve(request: Request) -> Response:
    """An admin approves a large send (the quota checked again first)."""
    a = await announcement_or_404(request)
    if isinstance(a, Response):
        return a
    staff = current_staff(request)
    nonce = short_text(await request.form(), "nonce", 64)
    if NONCE.fullmatch(nonce) and await nonce_used(APPROVE, nonce, a.id) is not None:
        return to_page(a.id, "already")
    if not staff.is_admin:
        return await announcement_page(
            request,
            a,
            error="配信の承認は、管理者の権限をもつスタッフだけができます。",
            status_code=403,
        )
    if a.status == AnnouncementStatus.AWAITING_APPROVAL:
        cost = await cost_of(request, a, await recipients_now(a), a.send_at)
        if not cost.fits:
            return await announcement_page(request, a, error=QUOTA_STOP, status_code=409)
    try:
        async with in_transaction():
            done = await rules.approve(a.id, by=staff.email, by_role_admin=staff.is_admin)
            detail = audit_detail(done, send_at=format_jst(done.send_at), nonce=nonce)
            await audit.record(request, APPROVE, "announcement", a.id, detail)
    except rules.AnnouncementError as exc:
        return await announcement_page(
            request, await Announcement.get(id=a.id), error=exc.message, status_code=409
        )
    wake_sender(request)
    return to_page(a.id, "approved")


@staff_required
async def announcement_cancel(request: Request) -> Response:
    a = await announcement_or_404(request)
    if isinstance(a, Response):
        return a
    nonce = short_text(await request.form(), "nonce", 64)
    if NONCE.fullmatch(nonce) and await nonce_used(CANCEL, nonce, a.id) is not None:
        return to_page(a.id, "already")
    try:
        async with in_transaction():
            done = await rules.cancel(a.id, by=current_staff(request).email)
            detail = audit_detail(done, was_status=a.status.value, nonce=nonce)
            await audit.record(request, CANCEL, "announcement", a.id, detail)
    except rules.AnnouncementError as exc:
        return await announcement_page(
            request, await Announcement.get(id=a.id), error=exc.message, status_code=409
        )
    return to_page(a.id, "cancelled")


# ---------- 複製, 削除 ----------


@staff_required
async def announcement_copy(request: Request) -> Response:
    """A new draft with the same content and audience (a double submit makes one)."""
    a = await announcement_or_404(request)
    if isinstance(a, Response):
        return a
    nonce = short_text(await request.form(), "nonce", 64)
    async with in_transaction():
        made = await nonce_used(CREATE, nonce) if NONCE.fullmatch(nonce) else None
        if made is not None:
            return to_page(made, "already")
        copy = await rules.copy_as_draft(a.id, by=current_staff(request).email)
        detail = audit_detail(copy, copied_from=a.id, nonce=nonce)
        await audit.record(request, CREATE, "announcement", copy.id, detail)
    return to_page(copy.id, "copied")


@staff_required
async def announcement_delete(request: Request) -> Response:
    """A draft deleted (anything else stays: its history is the record of what was sent)."""
    a = await announcement_or_404(request)
    if isinstance(a, Response):
        return a
    async with in_transaction():
        deleted = await rules.delete_draft(a.id)
        if deleted:
            await audit.record(request, DELETE, "announcement", a.id, audit_detail(a))
    if not deleted:
        return await _refused_delete(request, a)
    return to_list("deleted")


async def _refused_delete(request: Request, a: Announcement) -> Response:
    fresh = await Announcement.get(id=a.id)
    return await announcement_page(
        request,
        fresh,
        error=f"このお知らせはいま「{status_label(fresh)}」のため削除できません。",
        status_code=409,
    )
