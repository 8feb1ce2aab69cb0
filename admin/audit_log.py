"""The audit log page (admins only): newest first, filtered by action."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin import registry
from admin.audit import ACTION_LABELS, DETAIL_LABELS, TARGET_LABELS
from admin.auth import require_role
from admin.pages import page_url, paginate, render
from models.audit import AuditLog


@require_role("admin")
async def audit_log(request: Request) -> Response:
    action = request.query_params.get("action", "")[:64]
    entries = AuditLog.all()
    if action:
        entries = entries.filter(action=action)
    page = paginate(request, await entries.count())
    rows = (
        await entries.order_by("-id")
        .offset(page.offset)
        .limit(page.per_page)
        .select_related("staff")
    )
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
            "prev_url": page_url(request, page.number - 1),
            "next_url": page_url(request, page.number + 1),
        },
        active="audit",
    )
