"""The admin's routes, mounted at /admin by the app factory.

Every route is built with admin.routing.route, which refuses an unguarded endpoint.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from admin import audit_log, dashboard, login, profiles, residents, undelivered
from admin.registry import AdminAreas
from admin.routing import route as _route


def routes(areas: AdminAreas) -> list[BaseRoute]:
    """The platform's pages, then each area's (from the registry, via the app factory)."""
    return [
        _route("/login", login.login_page, ["GET", "POST"], "login"),
        _route("/logout", login.logout, ["POST"], "logout"),
        _route("/", dashboard.dashboard, ["GET"], "dashboard"),
        _route("/residents", residents.resident_list, ["GET"], "residents"),
        _route("/residents/{resident_id:id}", residents.resident_detail, ["GET"], "resident"),
        *profiles.routes(),
        _route("/undelivered", undelivered.undelivered_list, ["GET"], "undelivered"),
        _route(
            "/undelivered/{message_id:id}/requeue",
            undelivered.requeue,
            ["POST"],
            "undelivered_requeue",
        ),
        _route(
            "/undelivered/{message_id:id}/discard",
            undelivered.discard,
            ["POST"],
            "undelivered_discard",
        ),
        _route("/audit", audit_log.audit_log, ["GET"], "audit_log"),
        *areas.routes(),
    ]
