"""Admin routes are built through `route()`: every endpoint must be guarded
(`staff_required` / `require_role`) unless it is listed in PUBLIC, so a new page — of the
platform or of an area — cannot be left open by mistake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from admin.auth import is_guarded

MAX_FORM_BYTES = 64 * 1024  # admin forms are small

PUBLIC = frozenset({"login"})  # route names reachable without a session


def route(path: str, endpoint: Callable[..., Any], methods: list[str], name: str) -> Route:
    if name not in PUBLIC and not is_guarded(endpoint):
        raise RuntimeError(f"admin route {path} is not guarded")
    return Route(path, endpoint, methods=methods, name=name, max_body_size=MAX_FORM_BYTES)
