"""The admin's routes, mounted at /admin by the app factory.

Every endpoint must be guarded (`staff_required` / `require_role`) unless it is listed in
PUBLIC: building the routes fails otherwise, so a new page cannot be left open by mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, Route

from admin import audit_log, dashboard, login, residents, undelivered
from admin.auth import is_guarded
from admin.consult.bookings import consult_routes

MAX_FORM_BYTES = 64 * 1024  # admin forms are small

PUBLIC = frozenset({"login"})  # route names reachable without a session


def _route(path: str, endpoint: Callable[..., Any], methods: list[str], name: str) -> Route:
    if name not in PUBLIC and not is_guarded(endpoint):
        raise RuntimeError(f"admin route {path} is not guarded")
    return Route(path, endpoint, methods=methods, name=name, max_body_size=MAX_FORM_BYTES)


def routes() -> list[BaseRoute]:
    return [
        _route("/login", login.login_page, ["GET", "POST"], "login"),
        _route("/logout", login.logout, ["POST"], "logout"),
        _route("/", dashboard.dashboard, ["GET"], "dashboard"),
        _route("/residents", residents.resident_list, ["GET"], "residents"),
        _route("/residents/{resident_id:int}", residents.resident_detail, ["GET"], "resident"),
        _route("/undelivered", undelivered.undelivered_list, ["GET"], "undelivered"),
        _route(
            "/undelivered/{message_id:int}/requeue",
            undelivered.requeue,
            ["POST"],
            "undelivered_requeue",
        ),
        _route(
            "/undelivered/{message_id:int}/discard",
            undelivered.discard,
            ["POST"],
            "undelivered_discard",
        ),
        _route("/audit", audit_log.audit_log, ["GET"], "audit_log"),
        *consult_routes(),
    ]
