"""The one Jinja2 environment for admin and simulator pages (autoescaped)."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.templating import Jinja2Templates

from shima.settings import TEMPLATES_DIR
from shima.timeutil import format_date_ja, format_jst

env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["jst"] = format_jst
env.filters["date_ja"] = format_date_ja

templates = Jinja2Templates(env=env)
