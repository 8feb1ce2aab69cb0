"""shima.domain.market_photos: what is kept of an artist's photo — type told by content,
EXIF orientation applied and every piece of metadata (GPS above all) gone from the stored
file, at most 2048 px with a thumbnail of at most 320 px, JPEG out; too large or not a
picture refused with its reason; the public thumbnail's signed address."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shima.domain import market_photos as photos
from shima.settings import Settings

GPS_TAG = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def jpeg_with_exif(size: tuple[int, int] = (400, 200), orientation: int = 6) -> bytes:
    """A photo as a phone takes it: left half red, right half blue, with its orientation,
    the camera's make and a GPS position (奄美市) in EXIF."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "ShimaPhone"
    exif[GPS_TAG] = {1: "N", 2: (28.0, 22.0, 39.0), 3: "E", 4: (129.0, 29.0, 37.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def encoded(fmt: str, size: tuple[int, int], mode: str = "RGB", colour: object = None) -> bytes:
    image = Image.new(mode, size, colour if colour is not None else (30, 120, 90))  # type: ignore[arg-type]
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_phone_photo_is_kept_upright_without_exif_or_gps() -> None:
    raw = jpeg_with_exif()
    assert b"ShimaPhone" in raw and opened(raw).getexif().get(GPS_TAG)  # the input has them

    kept = photos.process(raw)

    for data in (kept.data, kept.thumb):
        image = opened(data)
        assert image.format == "JPEG"
        assert not image.getexif()  # no EXIF at all: no GPS, no make, no orientation
        assert "exif" not in image.info
        assert b"Exif" not in data and b"ShimaPhone" not in data
    # Orientation 6 (turn 90° clockwise) applied to the pixels: the left (red) half is on top.
    image = opened(kept.data).convert("RGB")
    assert (kept.width, kept.height) == image.size == (200, 400)
    top, bottom = image.getpixel((100, 50)), image.getpixel((100, 350))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 and top[2] < 80  # red
    assert bottom[2] > 150 and bottom[0] < 80  # blue


def test_a_large_photo_is_at_most_2048_px_with_a_thumbnail_of_320() -> None:
    kept = photos.process(encoded("PNG", (5000, 2500)))
    assert (kept.width, kept.height) == (2048, 1024) == opened(kept.data).size
    assert opened(kept.thumb).size == (320, 160)

    small = photos.process(encoded("JPEG", (800, 600)))
    assert (small.width, small.height) == (800, 600)  # never enlarged
    assert opened(small.thumb).size == (320, 240)


def test_a_phone_sized_jpeg_is_decoded_at_a_reduced_scale() -> None:
    """A 4032×3024 JPEG is decoded at half its size (Image.draft): 2016 px is kept, and
    the full 12 megapixels are never in memory."""
    kept = photos.process(jpeg_with_exif((4032, 3024), orientation=1))
    assert (kept.width, kept.height) == (2016, 1512)
    huge = photos.process(encoded("JPEG", (8192, 4096)))
    assert max(huge.width, huge.height) <= photos.MAX_SIDE


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "JPEG"])
def test_common_formats_are_taken_and_stored_as_jpeg(fmt: str) -> None:
    kept = photos.process(encoded(fmt, (640, 480)))
    assert opened(kept.data).format == "JPEG"
    assert opened(kept.thumb).format == "JPEG"
    assert (kept.width, kept.height) == (640, 480)


def test_transparency_becomes_white_not_black() -> None:
    kept = photos.process(encoded("PNG", (300, 300), "RGBA", (0, 0, 0, 0)))
    pixel = opened(kept.data).convert("RGB").getpixel((150, 150))
    assert isinstance(pixel, tuple) and min(pixel) > 240


def test_the_type_is_told_by_content_not_by_name() -> None:
    """A JPEG is a JPEG whatever it is called; a text file is not a picture even when it
    starts like one."""
    assert photos.process(encoded("PNG", (100, 100))).width == 100
    jpeg = encoded("JPEG", (500, 400))
    for raw in (
        b"",
        "作品の説明です".encode(),
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n",
        b"\xff\xd8\xff" + b"not really a jpeg" * 20,
        jpeg[: len(jpeg) // 2],  # cut off in the middle
        b"GIF89a" + b"\x00" * 10,
    ):
        with pytest.raises(photos.PhotoRejected) as refused:
            photos.process(raw)
        assert refused.value.reason == "not_image"


def test_over_10_mb_is_refused_before_reading() -> None:
    over = encoded("PNG", (64, 64)) + b"\x00" * photos.MAX_BYTES  # a valid start, too long
    with pytest.raises(photos.PhotoRejected) as refused:
        photos.process(over)
    assert refused.value.reason == "too_large"
    assert photos.process(encoded("PNG", (64, 64))).width == 64


def test_too_many_pixels_are_refused_as_too_large() -> None:
    """A small file that decodes to a huge picture (a decompression bomb) is refused."""
    bomb = encoded("PNG", (20_000, 20_000), "1", 0)
    assert len(bomb) < 1024 * 1024
    with pytest.raises(photos.PhotoRejected) as refused:
        photos.process(bomb)
    assert refused.value.reason == "too_large"
    big = encoded("PNG", (4200, 4200), "L", 0)  # over MAX_DECODED_PIXELS (no reduced decode)
    with pytest.raises(photos.PhotoRejected) as refused:
        photos.process(big)
    assert refused.value.reason == "too_large"


def test_the_public_thumbnail_address_is_signed() -> None:
    settings = Settings(secret_key="k1", public_url="https://line.example.jp")
    url = photos.thumb_url(settings, 42)
    prefix = "https://line.example.jp/admin/market/public/42-"
    assert url.startswith(prefix) and url.endswith(".jpg")
    token = url[len(prefix) : -len(".jpg")]
    assert len(token) * 6 >= 128  # at least 128 bits
    assert token.replace("-", "").replace("_", "").isalnum()  # url-safe
    assert photos.verify_token("k1", 42, token)
    assert not photos.verify_token("k1", 43, token)  # another photo's id
    assert not photos.verify_token("k2", 42, token)  # another secret
    assert not photos.verify_token("k1", 42, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not photos.verify_token("k1", 42, "")
    assert not photos.verify_token("k1", 42, "ｘ" * len(token))  # not even ASCII
    assert photos.thumb_url(settings, 43) != url
