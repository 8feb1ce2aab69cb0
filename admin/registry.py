"""What an area gives the admin (its part of an entry in shima.areas), and the admin's view
of all of them together: navigation, audit vocabulary and dashboard parts. The app factory
builds one `AdminAreas` from the registry and keeps it in `app.state.admin_areas`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute


@dataclass(frozen=True)
class NavItem:
    key: str  # pages pass `active=key` or `active=key_<page>` to be marked current
    label: str
    href: str
    admin_only: bool = False

    def is_current(self, active: str) -> bool:
        return active == self.key or active.startswith(self.key + "_")


@dataclass(frozen=True)
class DashboardPart:
    """A section of the dashboard: `template` is included with `context`."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Card:
    """A headline number on the dashboard (its 概要 or an area's 事業の指標)."""

    label: str
    value: int | str
    unit: str = ""
    href: str = ""
    link_label: str = ""
    alert: bool = False  # drawn in the warning colour (needs attention)


@dataclass(frozen=True)
class AdminArea:
    routes: Callable[[], list[BaseRoute]]  # under /admin, built with admin.routing.route
    nav: tuple[NavItem, ...] = ()
    # The audit page's vocabulary: action → label; target type → label; a target's page
    # ("/admin/x/{id}"); detail key → label; detail key → {stored value → label}.
    # Actions named `<area>.<thing>.<verb>` with a verb in admin.audit.VIEW_VERBS are views.
    audit_labels: Mapping[str, str] = field(default_factory=dict)
    target_labels: Mapping[str, str] = field(default_factory=dict)
    target_urls: Mapping[str, str] = field(default_factory=dict)
    detail_labels: Mapping[str, str] = field(default_factory=dict)
    detail_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Its dashboard section; it audits what it shows of residents' data itself.
    dashboard: Callable[[Request], Awaitable[DashboardPart | None]] | None = None
    # Its cards in the dashboard's 事業の指標 (counts only, no residents' data).
    kpis: Callable[[], Awaitable[list[Card]]] | None = None


# The platform's own pages (not an area).
PLATFORM_NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", "ダッシュボード", "/admin/"),
    NavItem("residents", "利用者", "/admin/residents"),
    NavItem("undelivered", "未配信メッセージ", "/admin/undelivered"),
    NavItem("audit", "監査ログ", "/admin/audit", admin_only=True),
)


@dataclass(frozen=True)
class AdminAreas:
    areas: Sequence[AdminArea] = ()
    planned: tuple[str, ...] = ()  # titles of the areas with no admin yet (shima.areas)

    @property
    def nav(self) -> tuple[NavItem, ...]:
        # The areas first (相談予約 leads: it is what the desk works in), then the platform.
        return tuple(item for area in self.areas for item in area.nav) + PLATFORM_NAV

    @property
    def audit_labels(self) -> dict[str, str]:
        return {k: v for area in self.areas for k, v in area.audit_labels.items()}

    @property
    def target_labels(self) -> dict[str, str]:
        return {k: v for area in self.areas for k, v in area.target_labels.items()}

    @property
    def target_urls(self) -> dict[str, str]:
        return {k: v for area in self.areas for k, v in area.target_urls.items()}

    @property
    def detail_labels(self) -> dict[str, str]:
        return {k: v for area in self.areas for k, v in area.detail_labels.items()}

    @property
    def detail_values(self) -> dict[str, dict[str, str]]:
        merged: dict[str, dict[str, str]] = {}
        for area in self.areas:
            for key, values in area.detail_values.items():
                merged.setdefault(key, {}).update(values)
        return merged

    def routes(self) -> list[BaseRoute]:
        return [r for area in self.areas for r in area.routes()]

    async def kpi_cards(self) -> list[Card]:
        return [card for area in self.areas if area.kpis for card in await area.kpis()]

    async def dashboard_parts(self, request: Request) -> list[DashboardPart]:
        parts = [await area.dashboard(request) for area in self.areas if area.dashboard]
        return [p for p in parts if p is not None]


def of(request: Request) -> AdminAreas:
    """The areas of the running app (an app built without the factory has none)."""
    found = getattr(request.app.state, "admin_areas", None)
    return found if isinstance(found, AdminAreas) else AdminAreas()
