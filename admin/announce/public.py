"""An announcement's picture for LINE: public (LINE's servers fetch it without a session, so
the route is in admin.routing.PUBLIC) at its unguessable token — 192 random bits, or a copy's
uuid4 — served from the Announcement row, on any of the app's machines."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from models.announcements import Announcement

# `<token>.jpg` (the original) or `<token>_p.jpg` (the preview). Tokens are 32 characters:
# secrets.token_urlsafe(24) or a uuid4's hex, so `_p` is never part of one.
NAME = re.compile(r"([A-Za-z0-9_-]{32})(_p)?\.jpg")
HEADERS = {"Cache-Control": "public, max-age=86400", "X-Robots-Tag": "noindex"}


async def announcement_image(request: Request) -> Response:
    found = NAME.fullmatch(request.path_params["name"])
    if found is None:
        return Response("Not Found", status_code=404)
    token, preview = found.group(1), bool(found.group(2))
    column = "image_preview" if preview else "image"
    data = await Announcement.filter(image_token=token).first().values_list(column, flat=True)
    if not data:
        return Response("Not Found", status_code=404)
    return Response(bytes(data), media_type="image/jpeg", headers=HEADERS)
