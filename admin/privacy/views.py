"""個人データ: residents' requests (確認・削除) and one resident's data — the list of requests
(open ones first, with their age), a resident's page (their requests; for admins the export
and the erasure), the export (a ZIP, audited), the erasure (a confirmation page that asks for
the resident's name; erased, told and audited in one transaction) and closing a request.

Staff see the requests; exporting, erasing and closing a request need the admin role. The
rules are shima.domain.personal_data (what is exported and erased, the blockers, the name
check) and shima.domain.data_requests (the requests); the resident is told through
line_app.notices.privacy. Audit details hold ids and counts only, never a name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.transactions import in_transaction

from admin import audit, registry
from admin.auth import current_staff, require_role, staff_required
from admin.csv_export import content_disposition
from admin.errors import error_page
from admin.forms import Flash, flash, short_text, typed_text
from admin.listing import page_of
from admin.pages import render
from line_app.notices import privacy as notices
from models.outbox import OutboxMessage, OutboxStatus
from models.privacy import DataRequest, RequestKind, RequestStatus
from models.residents import Resident
from shima.domain import data_requests as rules
from shima.domain import personal_data
from shima.timeutil import format_jst, now

LIST_PATH = "/admin/data-requests"
NAME_MAX = 200  # a display name is at most 200 characters (models.residents)
OUTCOMES: dict[str, Flash] = {
    "done": ("success", "申請を対応済みにしました。利用者に LINE でお知らせします。"),
    "done_blocked": (
        "success",
        "申請を対応済みにしました"
        "（この利用者はブロック中のため、LINE のお知らせは送っていません）。",
    ),
    "withdrawn": ("success", "申請を取り下げにしました。"),
    "stale": ("warning", "この申請はすでに対応済みか取り下げられています。"),
    "erasure_by_erasing": (
        "warning",
        "削除の申請は、データを削除（匿名化）すると対応済みになります。",
    ),
    "erased": ("success", "データを削除（匿名化）しました。"),
    "already_erased": ("warning", "この利用者のデータはすでに削除（匿名化）されています。"),
}
# The erasure notice's delivery, as the resident's page tells it.
NOTICE_STATUS: dict[OutboxStatus | None, str] = {
    None: "送っていません（ブロック中でした）",
    OutboxStatus.PENDING: "送信待ち",
    OutboxStatus.SENDING: "送信中",
    OutboxStatus.SENT: "送信済み",
    OutboxStatus.DEAD: "届けられませんでした",
    OutboxStatus.UNKNOWN: "届いたかどうか不明です",
    OutboxStatus.CANCELLED: "届けられませんでした",
}
NAME_MISMATCH = (
    "入力されたお名前が、この利用者のお名前と一致しません。"
    "画面に表示されているお名前を、そのとおりに入力してください。"
)
NAME_MISSING = "確認のため、利用者のお名前を入力してください。"
# What the confirmation page says erasure does (shima.domain.personal_data does it).
ANONYMISED = (
    "LINE の表示名と LINE ユーザー ID（ランダムな仮の ID に置き換えます）",
    "プロフィールの職種（その他の内容）・お住まいの地区・年収の目安と、スタッフが付けたタグ"
    "（コミュニティリーダーを除く）",
    "相談予約の相談メモ・電話番号、寺子屋・交流会の託児のお子さまの年齢など、入力された文章",
    "ハンドメイドマーケットの出店者名・販売するもの・URL・作品の写真・審査のメモ",
    "アンケートの自由記述の回答",
    "チャットのやりとり（文章と画像）、受信したイベントと送信メッセージの中身",
)
KEPT = (
    "予約・申込み・出席・出店・アンケート回答の記録そのもの（日時と件数）。"
    "統計と計画の目標の数字は変わりません",
    # shima.domain.personal_data.survey keeps what the goals count (ERASED_FIELDS aside).
    "計画の目標に数えるプロフィールの項目（職種・スキル、子育て、副業、フリーランスの収入、"
    "地元／移住と移住した年）と「コミュニティリーダー」のタグ。どなたのものか分からない形で残ります",
    "監査ログ（誰がいつ削除したか。削除した内容は記録しません）",
    "個人データの申請の記録（申請日と対応日）",
)
# Where staff cancel what blocks an erasure (the resident's page has each list).
BLOCKER_LINKS = (
    ("相談予約", "bookings"),
    ("寺子屋・交流会", "programmes"),
    ("ハンドメイドマーケット", "market"),
)


@dataclass(frozen=True)
class Row:
    """A request as the lists show it."""

    request: DataRequest
    resident: Resident | None
    kind: str
    status: str
    age: int
    overdue: bool


def data_path(resident_id: int, done: str = "") -> str:
    return f"/admin/residents/{resident_id}/data" + (f"?done={done}" if done else "")


async def _rows(found: list[DataRequest]) -> list[Row]:
    residents = {r.id: r for r in await Resident.filter(id__in={q.resident_id for q in found})}
    at = now()
    return [
        Row(
            request=q,
            resident=residents.get(q.resident_id),
            kind=rules.KIND_LABELS[RequestKind(q.kind)],
            status=rules.STATUS_LABELS[RequestStatus(q.status)],
            age=rules.age_days(q, at),
            overdue=rules.overdue(q, at),
        )
        for q in found
    ]


async def _resident_or_404(request: Request) -> Resident | Response:
    resident = await Resident.get_or_none(id=request.path_params["resident_id"])
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    return resident


def _parts(request: Request) -> Any:
    return request.app.state.personal_data


# -- the list ----------------------------------------------------------------------------------


@staff_required
async def request_list(request: Request) -> Response:
    """Open requests (all, oldest first), then the handled ones (paged, latest first)."""
    open_ = await DataRequest.filter(status=RequestStatus.OPEN).order_by("requested_at", "id")
    page, closed = await page_of(
        request, DataRequest.exclude(status=RequestStatus.OPEN), "-requested_at", "-id"
    )
    await audit.record(request, "privacy.request.list", "data_request", "", {"page": page.number})
    return render(
        request,
        "admin/privacy/requests.html",
        {
            "open_rows": await _rows(list(open_)),
            "closed_rows": await _rows(closed),
            "page": page,
            "response_days": rules.RESPONSE_DAYS,
        },
        active="privacy",
    )


# -- one resident ------------------------------------------------------------------------------


@staff_required
async def resident_data(request: Request) -> Response:
    """The resident's requests, and (admins) the export and the erasure."""
    found = await _resident_or_404(request)
    if isinstance(found, Response):
        return found
    history = await DataRequest.filter(resident_id=found.id).order_by("-requested_at", "-id")
    rows = await _rows(list(history))
    erased_by = next(
        (
            r.request
            for r in rows
            if r.request.kind == RequestKind.ERASURE and r.request.status == RequestStatus.DONE
        ),
        None,
    )
    notice = None
    if erased_by is not None:
        notice = await OutboxMessage.get_or_none(dedupe_key=notices.dedupe_key(erased_by))
    await audit.record(request, "privacy.resident.view", "resident", found.id)
    return render(
        request,
        "admin/privacy/resident.html",
        {
            "resident": found,
            "rows": rows,
            "erased_by": erased_by,
            # An export asked for: the export is the next step, so it is the page's primary.
            "open_export": any(
                r.request.kind == RequestKind.EXPORT and r.request.status == RequestStatus.OPEN
                for r in rows
            ),
            "notice_status": NOTICE_STATUS[notice.status if notice else None],
            "outcome": flash(request, OUTCOMES),
            "response_days": rules.RESPONSE_DAYS,
        },
        active="privacy",
    )


@require_role("admin")
async def export(request: Request) -> Response:
    """The resident's data as a ZIP (CSV and JSON per table, photos), never cached."""
    found = await _resident_or_404(request)
    if isinstance(found, Response):
        return found
    areas = registry.of(request)
    labels = {  # the audit table's 操作 and 対象 columns in the staff's words
        **audit.ACTION_LABELS,
        **areas.audit_labels,
        **audit.TARGET_LABELS,
        **areas.target_labels,
    }
    data = await personal_data.export_zip(found, _parts(request), labels=labels)
    await audit.record(
        request, "privacy.resident.export", "resident", found.id, {"bytes": len(data)}
    )
    day = format_jst(now(), "%Y%m%d")
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(
                f"個人データ_利用者{found.id}_{day}.zip", f"personal-data-{found.id}-{day}.zip"
            ),
            "Cache-Control": "no-store",  # personal data: not kept by proxies or the browser
        },
    )


def _erase_page(
    request: Request,
    resident: Resident,
    blockers: list[str],
    *,
    errors: list[str] | None = None,
    name_error: str = "",
    typed: str = "",
    pending_export: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/privacy/erase.html",
        {
            "resident": resident,
            "label": str(resident),
            "blockers": blockers,
            "blocker_links": BLOCKER_LINKS,
            "errors": errors or [],
            "name_error": name_error,  # said at the field, which takes the focus
            "typed": typed,
            "anonymised": ANONYMISED,
            "kept": KEPT,
            "pending_export": pending_export,
            "name_max": NAME_MAX,
        },
        status_code=status_code,
        active="privacy",
    )


@require_role("admin")
async def erase(request: Request) -> Response:
    """GET: what erasure does, what blocks it, the name to type. POST: the erasure."""
    found = await _resident_or_404(request)
    if isinstance(found, Response):
        return found
    if found.erased_at is not None:
        return RedirectResponse(data_path(found.id, "already_erased"), status_code=303)
    pending_export = await DataRequest.exists(
        resident_id=found.id, kind=RequestKind.EXPORT, status=RequestStatus.OPEN
    )
    if request.method == "GET":
        blockers = await personal_data.blockers(found, _parts(request))
        await audit.record(request, "privacy.erasure.view", "resident", found.id)
        return _erase_page(request, found, blockers, pending_export=pending_export)
    form = await request.form()
    typed = short_text(form, "name", NAME_MAX)
    if not personal_data.name_confirms(found, typed):
        blockers = await personal_data.blockers(found, _parts(request))
        return _erase_page(
            request,
            found,
            blockers,
            name_error=NAME_MISMATCH if typed else NAME_MISSING,
            typed=typed_text(form, "name")[:NAME_MAX],
            pending_export=pending_export,
            status_code=400,
        )
    try:
        erased = await _erase(request, found)
    except personal_data.ErasureBlocked as exc:
        return _erase_page(
            request,
            found,
            exc.reasons,
            errors=["まだ削除できません。下の理由を解消してから、もう一度お試しください。"],
            pending_export=pending_export,
            status_code=409,
        )
    return RedirectResponse(data_path(found.id, "erased" if erased else "already_erased"), 303)


async def _erase(request: Request, resident: Resident) -> bool:
    """In one transaction: the erasure (shima.domain.personal_data), the erasure request
    DONE, the notice to the LINE id the resident had, the audit entry; the chat's picture
    files are deleted after the commit. False when someone erased them first."""
    by = current_staff(request).email
    files: list[Path] = []
    async with in_transaction():
        locked = await Resident.filter(id=resident.id).select_for_update().first()
        if locked is None or locked.erased_at is not None:
            return False  # a second submit, or another admin at the same time
        line_user_id = locked.line_user_id  # the row will hold the pseudonym
        files = await personal_data.erase(locked, _parts(request), remove_files=False)
        closed = await rules.close_erasure(locked.id, by=by)
        told = await notices.request_done(closed, locked, line_user_id=line_user_id)
        await audit.record(
            request,
            "privacy.resident.erase",
            "resident",
            locked.id,
            {"request": closed.id, "notified": told},
        )
    personal_data.delete_files(files)
    return True


# -- closing a request -------------------------------------------------------------------------


async def _request_or_404(request: Request) -> DataRequest | Response:
    found = await DataRequest.get_or_none(id=request.path_params["request_id"])
    if found is None:
        return error_page(request, 404, title="申請が見つかりません")
    return found


@require_role("admin")
async def finish(request: Request) -> Response:
    """An export request handled (the copy handed over, or ready for it): DONE, and the
    resident told. An erasure request is done by erasing."""
    found = await _request_or_404(request)
    if isinstance(found, Response):
        return found
    if found.kind == RequestKind.ERASURE:
        return RedirectResponse(data_path(found.resident_id, "erasure_by_erasing"), 303)
    async with in_transaction():
        done = await rules.finish(found.id, by=current_staff(request).email)
        if done is None:
            return RedirectResponse(data_path(found.resident_id, "stale"), status_code=303)
        resident = await Resident.get_or_none(id=found.resident_id)
        told = resident is not None and await notices.request_done(done, resident)
        await audit.record(
            request,
            "privacy.request.done",
            "data_request",
            done.id,
            {"resident": done.resident_id, "kind": done.kind.value, "notified": told},
        )
    return RedirectResponse(data_path(found.resident_id, "done" if told else "done_blocked"), 303)


@require_role("admin")
async def withdraw(request: Request) -> Response:
    """An open request closed without action (the resident changed their mind)."""
    found = await _request_or_404(request)
    if isinstance(found, Response):
        return found
    async with in_transaction():
        closed = await rules.withdraw(found.id, by=current_staff(request).email)
        if closed is None:
            return RedirectResponse(data_path(found.resident_id, "stale"), status_code=303)
        await audit.record(
            request,
            "privacy.request.withdraw",
            "data_request",
            closed.id,
            {"resident": closed.resident_id, "kind": closed.kind.value},
        )
    return RedirectResponse(data_path(found.resident_id, "withdrawn"), status_code=303)
