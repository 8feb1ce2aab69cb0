"""Pictures staff send in the chat: type-checked and re-encoded with Pillow (nothing of the
upload but its pixels goes out), saved under an unguessable name LINE can fetch."""

from __future__ import annotations

import io
import secrets

from PIL import Image, ImageOps, UnidentifiedImageError

from line_app.notices.chat import media_path

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
ORIGINAL_MAX = 2048  # px, the longer side
PREVIEW_MAX = 480
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs


class NotAnImage(ValueError):
    pass


def encode(image: Image.Image, longest: int) -> bytes:
    """A JPEG of the picture, at most `longest` px on its longer side."""
    copy = image.copy()
    copy.thumbnail((longest, longest))
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    """The upload's pixels, upright (EXIF orientation applied; EXIF itself is not kept):
    NotAnImage when it is empty, too large, not an allowed format or broken. The type is
    judged by the content, never by the file name or the browser's word."""
    if not data or len(data) > MAX_UPLOAD_BYTES:
        raise NotAnImage("size")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise NotAnImage("format")
            probe.verify()
        with Image.open(io.BytesIO(data)) as opened:
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise NotAnImage("broken") from exc


def store(data: bytes) -> str:
    """Save an uploaded picture (original and preview, both JPEG); returns its public name."""
    image = decode(data)
    name = secrets.token_urlsafe(24)
    folder = media_path("out", "")
    folder.mkdir(parents=True, exist_ok=True)
    media_path("out", f"{name}.jpg").write_bytes(encode(image, ORIGINAL_MAX))
    media_path("out", f"{name}_p.jpg").write_bytes(encode(image, PREVIEW_MAX))
    return name
