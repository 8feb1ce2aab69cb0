"""The audit log page (admins only): newest first, in Japanese, filtered by kind (変更 /
閲覧 / ログイン), action, staff member and date range (JST days)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from admin import audit, registry
from admin.auth import require_role
from admin.forms import parse_date_range, parse_int
from admin.listing import page_of
from admin.pages import render
from models.audit import AuditLog
from models.staff import StaffUser
from shima.timeutil import jst_datetime


@dataclass(frozen=True)
class Vocabulary:
    """The platform's and every area's labels (admin.audit, admin.registry)."""

    actions: Mapping[str, str]
    targets: Mapping[str, str]
    target_urls: Mapping[str, str]
    details: Mapping[str, str]
    values: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(cls, request: Request) -> Vocabulary:
        areas = registry.of(request)
        return cls(
            actions={**audit.ACTION_LABELS, **areas.audit_labels},
            targets={**audit.TARGET_LABELS, **areas.target_labels},
            target_urls={**audit.TARGET_URLS, **areas.target_urls},
            details={**audit.DETAIL_LABELS, **areas.detail_labels},
            values={**audit.DETAIL_VALUES, **areas.detail_values},
        )

    def value(self, key: str, value: Any) -> str:
        if value is True:
            return "はい"
        if value is False:
            return "いいえ"
        if isinstance(value, list | tuple):
            return "、".join(self.value(key, v) for v in value)
        text = str(value)
        return self.values.get(key, {}).get(text, text)


@dataclass(frozen=True)
class Row:
    entry: AuditLog
    who: str
    action: str
    kind: str
    target: str  # "相談予約 #8", or "" for none
    target_url: str
    details: list[tuple[str, str]]


def describe(entry: AuditLog, words: Vocabulary) -> Row:
    staff = entry.staff
    who = (staff.display_name or staff.email) if staff else entry.staff_email
    target, url = "", ""
    if entry.target_type:
        name = words.targets.get(entry.target_type, "対象")
        target = f"{name} #{entry.target_id}" if entry.target_id else name
        pattern = words.target_urls.get(entry.target_type)
        if pattern and entry.target_id.isdigit():
            url = pattern.format(id=entry.target_id)
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    details = [
        (words.details.get(k, k), words.value(k, v))
        for k, v in detail.items()
        if v not in ("", None) and k not in audit.HIDDEN_DETAILS
    ]
    kind = audit.action_kind(entry.action)
    return Row(
        entry, who, words.actions.get(entry.action, entry.action), kind, target, url, details
    )


@require_role("admin")
async def audit_log(request: Request) -> Response:
    params = request.query_params
    words = Vocabulary.of(request)
    action = params.get("action", "")[:64]
    kind = params.get("kind", "")
    kind = kind if kind in audit.KINDS else ""
    staff_id = parse_int(params.get("staff"))
    dates = parse_date_range(params, what="期間")

    known = {
        str(a)
        for a in await AuditLog.all().order_by("action").distinct().values_list("action", flat=True)
    }
    actions = sorted(known | set(words.actions), key=lambda a: (a not in words.actions, a))
    entries = AuditLog.all()
    if kind:
        entries = entries.filter(action__in=[a for a in actions if audit.action_kind(a) == kind])
    if action:
        entries = entries.filter(action=action)
    if staff_id is not None:
        entries = entries.filter(staff_id=staff_id)
    if dates.start:
        entries = entries.filter(created_at__gte=jst_datetime(dates.start))
    if dates.end:
        entries = entries.filter(created_at__lt=jst_datetime(dates.end + timedelta(days=1)))
    page, found = await page_of(request, entries, "-id", related=("staff",))

    kept = [(k, v) for k, v in params.multi_items() if k not in ("kind", "page")]
    tabs = [
        (
            key,
            label,
            "/admin/audit"
            + (f"?{urlencode(kept + [('kind', key)] if key else kept)}" if kept or key else ""),
        )
        for key, label in [("", "すべて"), *audit.KINDS.items()]
    ]
    return render(
        request,
        "admin/audit_log.html",
        {
            "rows": [describe(e, words) for e in found],
            "action": action,
            "actions": [
                (a, words.actions.get(a, a))
                for a in actions
                if not kind or audit.action_kind(a) == kind
            ],
            "kind": kind,
            "kinds": audit.KINDS,
            "tabs": tabs,
            "staff_id": staff_id,
            "staff_members": await StaffUser.all().order_by("display_name", "email"),
            "dates": dates,
            "date_from": params.get("from", "")[:10] if dates.start else "",
            "date_to": params.get("to", "")[:10] if dates.end else "",
            "filtered": bool(
                action or kind or staff_id is not None or params.get("from") or params.get("to")
            ),
            "page": page,
        },
        active="audit",
    )
