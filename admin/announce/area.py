"""お知らせ配信's part of the admin, as its registry entry (shima.areas) uses it."""

from __future__ import annotations

from starlette.routing import BaseRoute

from admin.registry import AdminArea, NavItem


def routes() -> list[BaseRoute]:
    return []


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("announce", "お知らせ配信", "/admin/announcements"),),
)
