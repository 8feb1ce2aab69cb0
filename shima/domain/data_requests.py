"""Residents' requests about their data (個人情報保護法): asked from マイページ
(データの確認・削除の申請), handled by staff in the admin (個人データの申請).

The rules, shared by the LINE flow and the admin:
- one OPEN request per resident and kind: asking again while one is open makes nothing;
- a confirm button names when it was shown (`shown_at`): a request of that kind made since
  then means the button was used already (a double tap, or an old confirm tapped again after
  staff handled the request) — `Stale`, nothing is made;
- handling is a compare-and-set from OPEN (`finish`, `withdraw`): a second submit, or a
  request closed meanwhile, changes nothing;
- every erasure leaves a DONE erasure request (`close_erasure`): the resident's own request,
  or one recorded for an erasure staff made on a request received at the desk.

Callers run these inside their transaction; `now` is module-level so tests can move it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models.privacy import DataRequest, RequestKind, RequestStatus
from models.residents import Resident
from shima.domain.survey_demo import demo_line_id
from shima.timeutil import now

# What residents are promised (LINE) and staff are held to (the list shows older ones in
# the warning colour): APPI asks for 遅滞なく; two weeks leaves the desk time to meet them.
RESPONSE_DAYS = 14
KIND_LABELS = {RequestKind.EXPORT: "データの確認", RequestKind.ERASURE: "データの削除"}
STATUS_LABELS = {
    RequestStatus.OPEN: "未対応",
    RequestStatus.DONE: "対応済み",
    RequestStatus.WITHDRAWN: "取り下げ",
}


class AlreadyOpen(Exception):
    """A request of this kind is open already: nothing new is made."""

    def __init__(self, request: DataRequest) -> None:
        super().__init__(request.id)
        self.request = request


class Stale(Exception):
    """The confirm was used already: `request` was made after it was shown."""

    def __init__(self, request: DataRequest) -> None:
        super().__init__(request.id)
        self.request = request


def parse_kind(value: str | None) -> RequestKind | None:
    try:
        return RequestKind(value or "")
    except ValueError:
        return None


async def open_requests(resident_id: int) -> list[DataRequest]:
    """The resident's open requests, oldest first."""
    return list(
        await DataRequest.filter(resident_id=resident_id, status=RequestStatus.OPEN).order_by(
            "requested_at", "id"
        )
    )


async def _lock_resident(resident_id: int) -> None:
    """Two requests of one resident at once (two workers, PostgreSQL) wait for each other, so
    the open-request check holds; SQLite runs one writer at a time."""
    await Resident.filter(id=resident_id).select_for_update().first()


async def make(resident: Resident, kind: RequestKind, *, shown_at: datetime) -> DataRequest:
    """The resident's request of `kind`, confirmed on a button shown at `shown_at`.
    Raises Stale (a request of that kind made since the button was shown) or AlreadyOpen."""
    await _lock_resident(resident.id)
    since = (
        await DataRequest.filter(resident_id=resident.id, kind=kind, requested_at__gte=shown_at)
        .order_by("-requested_at", "-id")
        .first()
    )
    if since is not None:
        raise Stale(since)
    already = await DataRequest.get_or_none(
        resident_id=resident.id, kind=kind, status=RequestStatus.OPEN
    )
    if already is not None:
        raise AlreadyOpen(already)
    return await DataRequest.create(resident_id=resident.id, kind=kind, requested_at=now())


async def _close(request_id: int, status: RequestStatus, by: str) -> DataRequest | None:
    changed = await DataRequest.filter(id=request_id, status=RequestStatus.OPEN).update(
        status=status, handled_at=now(), handled_by=by[:254]
    )
    return await DataRequest.get(id=request_id) if changed else None


async def finish(request_id: int, *, by: str) -> DataRequest | None:
    """An open request handled (the copy made and handed over): DONE. None when it was not
    open (handled or withdrawn meanwhile, a second submit)."""
    return await _close(request_id, RequestStatus.DONE, by)


async def withdraw(request_id: int, *, by: str) -> DataRequest | None:
    """An open request closed without action (the resident changed their mind): WITHDRAWN.
    None when it was not open."""
    return await _close(request_id, RequestStatus.WITHDRAWN, by)


async def close_erasure(resident_id: int, *, by: str) -> DataRequest:
    """After the erasure, in its transaction: the resident's open erasure request DONE, or a
    DONE one recorded when staff erased on a request received otherwise (at the desk, by
    post), so every erasure is in the requests' history and its notice has an id."""
    at = now()
    pending = await DataRequest.filter(
        resident_id=resident_id, kind=RequestKind.ERASURE, status=RequestStatus.OPEN
    ).order_by("requested_at", "id")
    if not pending:
        return await DataRequest.create(
            resident_id=resident_id,
            kind=RequestKind.ERASURE,
            status=RequestStatus.DONE,
            requested_at=at,
            handled_at=at,
            handled_by=by[:254],
        )
    await DataRequest.filter(id__in=[r.id for r in pending]).update(
        status=RequestStatus.DONE, handled_at=at, handled_by=by[:254]
    )
    return await DataRequest.get(id=pending[0].id)


async def open_count() -> int:
    return await DataRequest.filter(status=RequestStatus.OPEN).count()


def age_days(request: DataRequest, at: datetime | None = None) -> int:
    """Whole days since the request (0 on its first day)."""
    return max(0, ((at or now()) - request.requested_at) // timedelta(days=1))


def overdue(request: DataRequest, at: datetime | None = None) -> bool:
    return request.status == RequestStatus.OPEN and age_days(request, at) >= RESPONSE_DAYS


def due_by(request: DataRequest) -> datetime:
    return request.requested_at + timedelta(days=RESPONSE_DAYS)


async def seed_demo() -> str:
    """Demo data (idempotent): one open 確認 request from a demo resident three days ago, so
    the 個人データの申請 page has something to handle. Runs after the survey's demo."""
    resident = await Resident.get_or_none(line_user_id=demo_line_id(3))
    if resident is None or await DataRequest.exists(resident_id=resident.id):
        return ""
    await DataRequest.create(
        resident_id=resident.id, kind=RequestKind.EXPORT, requested_at=now() - timedelta(days=3)
    )
    return "個人データの申請 1件（未対応）"
