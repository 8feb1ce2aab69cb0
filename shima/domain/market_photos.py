"""Photos of artists' work (ハンドメイドマーケット): what is kept of a picture sent in LINE, and
the signed public address of its thumbnail.

`process` is CPU work (run it in a thread): the type is told by the content, never by a name
or header (JPEG, PNG, WebP, GIF, AVIF; HEIC when pillow-heif is installed); the picture is
decoded at a reduced scale where the format allows it (JPEG: `Image.draft`, so a 12-megapixel
phone photo is decoded at a quarter of its pixels), turned upright by its EXIF orientation,
and re-encoded as a plain JPEG of at most `MAX_SIDE` px with a thumbnail: nothing of the
file but its pixels (and colour profile) is kept — no EXIF, no GPS position, no maker notes.

The thumbnail is public at `thumb_url` (LINE fetches it for the summary card): the address
carries an HMAC of the photo id, so ids cannot be walked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from PIL import Image, ImageOps, UnidentifiedImageError

from shima.settings import Settings

MAX_BYTES = 10 * 1024 * 1024  # what LINE gives us, at most
MAX_SIDE = 2048  # px, the longer side of the stored photo
THUMB_SIDE = 320  # px, the thumbnail (summary card, review cards)
# Pixels actually decoded (after the JPEG reduction): a 4096×4096 PNG decodes to 64 MB of
# RGBA, as much as the worker's memory budget allows a few of at once (a 12-megapixel
# photo saved as PNG still fits). Anything bigger is refused as too large.
MAX_DECODED_PIXELS = 16_777_216
QUALITY = 85
THUMB_QUALITY = 80
TOKEN_BYTES = 18  # 144 bits, 24 url-safe characters
# Formats taken (those this Pillow reads); a phone's JPEG may open as MPO, a JPEG too.
WANTED = ("JPEG", "PNG", "WEBP", "GIF", "AVIF", "HEIF")

try:  # HEIC/HEIF (iPhone) when pillow-heif happens to be installed; LINE sends JPEG anyway
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - not a dependency
    pass
else:  # pragma: no cover
    register_heif_opener()
Image.init()
FORMATS = [f for f in WANTED if f in Image.OPEN]


class PhotoRejected(ValueError):
    """Not kept: `reason` is "too_large" (file or pixels) or "not_image"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Processed:
    data: bytes  # JPEG, at most MAX_SIDE px
    thumb: bytes  # JPEG, at most THUMB_SIDE px
    width: int
    height: int


def _draft_size(width: int, height: int) -> tuple[int, int]:
    """The size to ask `Image.draft` for: it picks the strongest of 1/2, 1/4, 1/8 that
    keeps both sides at least this big. Asking for half of MAX_SIDE on the longer side keeps
    what is stored between MAX_SIDE/2 and MAX_SIDE px (3000 px is decoded at 1500, 4032 at
    2016, 6000 at 1500): plenty to judge a piece of work by, at a quarter of the pixels —
    decoding is nearly all the CPU and memory a photo costs."""
    longest = max(width, height)
    if longest <= MAX_SIDE:
        return width, height
    ratio = (MAX_SIDE / 2) / longest
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparency over white (a cut-out product photo stays readable)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int, icc_profile: bytes | None) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality}
    if icc_profile:
        options["icc_profile"] = icc_profile  # colours as shot (Display P3), not metadata
    image.save(out, "JPEG", **options)
    return out.getvalue()


def _fitted(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """`size` shrunk (never enlarged) to fit `longest` on its longer side."""
    width, height = size
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decoded(raw: bytes) -> tuple[Image.Image, bytes | None]:
    """The picture upright, RGB, decoded at a reduced scale where possible, and its colour
    profile. Memory: one full copy of the (reduced) pixels at a time, no more."""
    image: Image.Image = Image.open(io.BytesIO(raw), formats=FORMATS)
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", _draft_size(*image.size))
    width, height = image.size
    if width * height > MAX_DECODED_PIXELS:
        raise PhotoRejected("too_large")
    icc_profile = image.info.get("icc_profile")
    image.load()
    ImageOps.exif_transpose(image, in_place=True)  # turned as the phone showed it
    if image.mode != "RGB":
        image = _flatten(image)
    image.info = {}  # nothing of the original's metadata travels with the pixels
    return image, icc_profile


def process(raw: bytes) -> Processed:
    """The photo as kept (JPEG without metadata, at most MAX_SIDE px) and its thumbnail.
    PhotoRejected("too_large") over MAX_BYTES or MAX_DECODED_PIXELS (decompression bombs
    too), PhotoRejected("not_image") for anything Pillow cannot read as a picture."""
    if len(raw) > MAX_BYTES:
        raise PhotoRejected("too_large")
    if not raw:
        raise PhotoRejected("not_image")
    try:
        image, icc_profile = _decoded(raw)
    except PhotoRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoRejected("too_large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoRejected("not_image") from exc
    size = _fitted(image.size, MAX_SIDE)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    data = _jpeg(image, QUALITY, icc_profile)
    small = image.resize(
        _fitted(image.size, THUMB_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0
    )
    thumb = _jpeg(small, THUMB_QUALITY, icc_profile)
    return Processed(data=data, thumb=thumb, width=image.width, height=image.height)


# -- order --------------------------------------------------------------------------------


class _Ordered(Protocol):
    id: int
    image_set_id: str
    image_set_index: int


P = TypeVar("P", bound=_Ordered)


def in_order(photos: Sequence[P]) -> list[P]:
    """Photos in the order they were sent: by arrival (id), except that the photos of one
    imageSet (several sent at once, which LINE may deliver in any order) stand together, in
    the set's own order, where the set's first arrival stands."""
    first: dict[str, int] = {}
    for photo in sorted(photos, key=lambda p: p.id):
        if photo.image_set_id:
            first.setdefault(photo.image_set_id, photo.id)

    def key(photo: P) -> tuple[int, int, int]:
        if not photo.image_set_id:
            return photo.id, 0, photo.id
        return first[photo.image_set_id], photo.image_set_index, photo.id

    return sorted(photos, key=key)


# -- the public thumbnail's signed address ------------------------------------------------


def token(secret_key: str, photo_id: int) -> str:
    """HMAC-SHA256 of the photo id (144 bits, url-safe, no padding)."""
    mac = hmac.new(
        secret_key.encode(), f"market-photo:{int(photo_id)}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac[:TOKEN_BYTES]).decode().rstrip("=")


def verify_token(secret_key: str, photo_id: int, given: str) -> bool:
    """Whether `given` is the photo's token (compared in constant time)."""
    return hmac.compare_digest(token(secret_key, photo_id).encode(), given.encode("utf-8"))


def public_path(secret_key: str, photo_id: int) -> str:
    return f"/admin/market/public/{int(photo_id)}-{token(secret_key, photo_id)}.jpg"


def thumb_url(settings: Settings, photo_id: int) -> str:
    """The thumbnail's public https address (for LINE's Flex summary)."""
    return settings.public_base_url + public_path(settings.secret_key, photo_id)
