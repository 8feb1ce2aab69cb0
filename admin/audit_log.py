"""The audit log page (admins only): newest first, filtered by action."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin import registry
from admin.audit import ACTION_LABELS, DETAIL_LABELS, TARGET_LABELS
from admin.auth import require_role
from admin.listing import page_of
from admin.pages import render
from models.audit import AuditLog


@require_role("admin")
async def audit_log(request: Request) -> Response:
    action = request.query_params.get("action", "")[:64]
    entries = AuditLog.all()
    if action:
        entries = entries.filter(action=action)
    page, rows = await page_of(request, entries, "-id", related=("staff",))
    areas = registry.of(request)
    labels = {**ACTION_LABELS, **areas.audit_labels}
    known = {
        str(a)
        for a in await AuditLog.all().order_by("action").distinct().values_list("action", flat=True)
    }
    actions = sorted(known | set(labels), key=lambda a: (a not in labels, a))
    return render(
        request,
        "admin/audit_log.html",
        {
            "entries": rows,
            "action": action,
            "actions": [(a, labels.get(a, a)) for a in actions],
            "labels": labels,
            "target_labels": {**TARGET_LABELS, **areas.target_labels},
            "detail_labels": DETAIL_LABELS,
            "page": page,
        },
        active="audit",
    )
