"""Photos of artists' work, served from the database (MarketPhoto.data / .thumb, re-encoded
JPEG without EXIF, see shima.domain.market_photos), so every web process can serve them.

- `/admin/market/photos/{id}.jpg` (full size) and `/admin/market/photos/{id}/thumb.jpg`:
  signed-in staff only. A full-size view is audited (the review page that shows the
  thumbnails is audited itself).
- `/admin/market/public/{id}-{token}.jpg`: the thumbnail LINE fetches for the artist's
  application summary, without a session (route name in admin.routing.PUBLIC); the token is
  an HMAC of the photo id (market_photos.verify_token), so ids cannot be walked.

A failed fetch (MarketPhoto.error set) has no picture: 404, as for an unknown id. Only ids
and sizes are ever logged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin import audit
from admin.auth import staff_required
from admin.sessions import settings_of
from models.market import MarketPhoto
from shima.domain import market_photos

# A photo never changes under its id (a new photo is a new row), so the browser may keep it
# for the session's work; `private`: never a shared cache (a proxy), it is personal data.
STAFF_CACHE = "private, max-age=3600"
PUBLIC_CACHE = "public, max-age=86400"
NOT_FOUND = "見つかりません"


def _not_found() -> Response:
    # Plain text, not the admin's HTML page: an <img> shows its alt text instead.
    return Response(NOT_FOUND, status_code=404, media_type="text/plain; charset=utf-8")


def _jpeg(data: bytes, photo_id: int, kind: str, cache: str) -> Response:
    return Response(
        data,
        media_type="image/jpeg",
        headers={
            "Cache-Control": cache,
            "ETag": f'"market-photo-{photo_id}-{kind}"',
            "X-Robots-Tag": "noindex",
        },
    )


async def _bytes(photo_id: int, column: str) -> bytes | None:
    """The stored JPEG (`data` or `thumb`) of a photo that was stored, else None."""
    rows = await MarketPhoto.filter(id=photo_id, error="").values_list(column, flat=True)
    found = rows[0] if rows else None
    return bytes(found) if found else None


def _not_modified(request: Request, photo_id: int, kind: str) -> bool:
    return request.headers.get("if-none-match", "") == f'"market-photo-{photo_id}-{kind}"'


@staff_required
async def photo_full(request: Request) -> Response:
    photo_id: int = request.path_params["photo_id"]
    if _not_modified(request, photo_id, "full"):
        return Response(status_code=304, headers={"Cache-Control": STAFF_CACHE})
    rows = await MarketPhoto.filter(id=photo_id, error="").values_list("data", "application_id")
    if not rows or not rows[0][0]:
        return _not_found()
    data, application_id = rows[0]
    await audit.record(
        request, "market.photo.view", "market_photo", photo_id, {"application": application_id}
    )
    return _jpeg(bytes(data), photo_id, "full", STAFF_CACHE)


@staff_required
async def photo_thumb(request: Request) -> Response:
    photo_id: int = request.path_params["photo_id"]
    if _not_modified(request, photo_id, "thumb"):
        return Response(status_code=304, headers={"Cache-Control": STAFF_CACHE})
    data = await _bytes(photo_id, "thumb")
    return _not_found() if data is None else _jpeg(data, photo_id, "thumb", STAFF_CACHE)


async def photo_public(request: Request) -> Response:
    """The thumbnail at its signed address (no session: LINE fetches it)."""
    photo_id: int = request.path_params["photo_id"]
    token: str = request.path_params["token"]
    if not market_photos.verify_token(settings_of(request).secret_key, photo_id, token):
        return _not_found()
    data = await _bytes(photo_id, "thumb")
    return _not_found() if data is None else _jpeg(data, photo_id, "public", PUBLIC_CACHE)
