"""An area not built yet — in the menu, answering 準備中 — for the tests of that answer now
that every area of the product is live (the worker takes the areas it serves)."""

from __future__ import annotations

from line_app.client import LineClient
from line_app.flows.menu import MenuItem
from line_app.router import LineArea
from shima.areas import AREAS, Area
from shima.settings import Settings
from shima.worker import Worker

PLANNED = Area(
    key="photo",
    title="写真教室",
    line=LineArea(MenuItem("photo", "写真教室", "写真教室の申込み", ("写真教室",))),
)


def planned_worker(settings: Settings, line: LineClient) -> Worker:
    """A worker serving the product's areas and PLANNED (no flow: 準備中)."""
    return Worker(settings, line, (*AREAS, PLANNED))
