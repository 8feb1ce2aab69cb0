"""An announcement's picture: type-checked by its content and re-encoded with Pillow, as the
chat's pictures are (admin.chat.images: same formats, size limit and decompression-bomb
bound) — nothing of the upload but its pixels goes out, EXIF and GPS included. The JPEGs are
kept in the Announcement row (not in files): a send may start on another machine than the
one staff uploaded on, and the row is what LINE's image URL points at (its `image_token`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from admin.chat.images import MAX_UPLOAD_BYTES, NotAnImage, decode, encode

ORIGINAL_MAX = 2048  # px, the longer side (LINE: originalContentUrl)
PREVIEW_MAX = 480  # px (LINE: previewImageUrl, shown in the chat list)
MAX_MB = MAX_UPLOAD_BYTES // (1024 * 1024)

__all__ = ["MAX_MB", "MAX_UPLOAD_BYTES", "NotAnImage", "Picture", "reencode"]


@dataclass(frozen=True)
class Picture:
    image: bytes  # JPEG, ≤ ORIGINAL_MAX px
    preview: bytes  # JPEG, ≤ PREVIEW_MAX px
    token: str  # the public name LINE fetches it at


def reencode(data: bytes) -> Picture:
    """The upload as two clean JPEGs under a new unguessable token; NotAnImage when it is
    empty, too large, not one of the allowed formats or broken."""
    image = decode(data)
    return Picture(
        encode(image, ORIGINAL_MAX), encode(image, PREVIEW_MAX), secrets.token_urlsafe(24)
    )
