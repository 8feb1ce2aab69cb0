"""A programme's picture, uploaded on its form: re-encoded by the chat's picture machinery
(EXIF gone, turned upright, at most 1024 px for LINE's Flex image), public at an unguessable
https URL, the hero of the LINE carousel at the fake platform; bad files give the form back
with what was typed and change nothing (SQLite, and PostgreSQL with SHIMA_TEST_BACKEND)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from PIL import Image

from line_app.client import LineClient
from line_app.fake_line import FakeLinePlatform
from models.audit import AuditLog
from models.course import Programme, ProgrammeKind, ProgrammeSession, SessionStatus
from models.outbox import OutboxMessage
from shima.settings import Settings
from shima.timeutil import now
from shima.worker import Worker
from tests.admin.conftest import page_csrf
from tests.line_app.test_consult_flow import Resident_

PROGRAMMES = "/admin/programmes"
PUBLIC = "/admin/chat/public/"
_PREVIEW = re.compile(r'<img class="programme-image-thumb" src="(/admin/chat/public/[^"]+)"')


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pictures go under ./data: run each test in its own folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    line = LineClient(settings)
    yield Worker(settings, line)
    await line.close()


def photo(size: tuple[int, int] = (3000, 1500), fmt: str = "JPEG") -> bytes:
    """A phone photo: EXIF with the camera, the author, GPS and 'rotate 90° to show'."""
    image = Image.new("RGB", size, "white")
    image.paste((200, 30, 30), (0, 0, size[0] // 2, size[1]))  # left half red
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x013B] = "島 花子"  # Artist
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (28.0, 22.0, 30.0)
    gps[3], gps[4] = "E", (129.0, 29.0, 40.0)
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def form(csrf: str, **changes: str) -> dict[str, str]:
    values = {
        "csrf_token": csrf,
        "kind": "terakoya",
        "title": "はじめての SNS 発信",
        "description": "スマートフォンで、お店の発信を始めます。",
        "instructor": "山田 太郎",
        "audience": "初心者歓迎",
        "fee": "500",
        "image_url": "",
    }
    values.update(changes)
    return values


def picture(data: bytes, name: str = "IMG_0001.JPG", kind: str = "image/jpeg") -> Any:
    return {"image": (name, data, kind)}


def stored(data_dir: Path) -> list[str]:
    folder = data_dir / "data" / "chat" / "out"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def name_of(url: str) -> str:
    path = urlsplit(url).path
    assert path.startswith(PUBLIC) and path.endswith(".jpg"), url
    return path.removeprefix(PUBLIC).removesuffix(".jpg")


async def create(client: httpx2.AsyncClient, data: bytes | None = None) -> Programme:
    csrf = await page_csrf(client, f"{PROGRAMMES}/new")
    response = await client.post(
        f"{PROGRAMMES}/new", data=form(csrf), files=picture(data) if data else None
    )
    assert response.status_code == 303, response.text
    return await Programme.get()


async def publish_session(programme: Programme) -> ProgrammeSession:
    start = now().replace(second=0, microsecond=0) + timedelta(days=3)
    return await ProgrammeSession.create(
        programme=programme,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        seats=10,
        childcare_places=0,
        deadline=start - timedelta(hours=1),
        status=SessionStatus.PUBLISHED,
    )


async def test_upload_is_re_encoded_public_and_the_hero_of_the_carousel(
    staff_client: httpx2.AsyncClient,
    fake_line: FakeLinePlatform,
    worker: Worker,
    data_dir: Path,
) -> None:
    original = photo()
    assert b"PhoneMaker" in original
    prog = await create(staff_client, original)
    assert prog.kind == ProgrammeKind.TERAKOYA and prog.title == "はじめての SNS 発信"
    # An https URL LINE can fetch (TLS ends at the proxy), at an unguessable name.
    assert prog.image_url.startswith(f"https://testserver{PUBLIC}")
    name = name_of(prog.image_url)
    assert len(name) == 32
    assert stored(data_dir) == sorted([f"{name}.jpg", f"{name}_p.jpg"])
    entry = await AuditLog.get(action="course.programme.create")
    assert entry.target_id == str(prog.id)

    # Public without a session (LINE has none): re-encoded JPEG, upright, EXIF gone, and
    # within LINE's 1024×1024 for a Flex image.
    async with httpx2.AsyncClient(
        transport=staff_client._transport, base_url="http://testserver"
    ) as line_fetch:
        served = await line_fetch.get(urlsplit(prog.image_url).path)
        preview = await line_fetch.get(f"{PUBLIC}{name}_p.jpg")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in served.content and "島 花子".encode() not in served.content
    with Image.open(io.BytesIO(served.content)) as shown:
        assert shown.format == "JPEG"
        assert shown.size == (512, 1024)  # turned upright (portrait), scaled to 1024
        assert not shown.getexif() and "exif" not in shown.info
        assert shown.getpixel((256, 10))[0] > 150  # the red half is on top once upright
        assert shown.getpixel((256, 1010))[1] > 200
    with Image.open(io.BytesIO(preview.content)) as small:
        assert max(small.size) <= 480 and not small.getexif()

    # The programme page and its form show the thumbnail (the small copy, from this host).
    page = await staff_client.get(f"{PROGRAMMES}/{prog.id}")
    assert _PREVIEW.search(page.text).group(1) == f"{PUBLIC}{name}_p.jpg"  # type: ignore[union-attr]
    edit = await staff_client.get(f"{PROGRAMMES}/{prog.id}/edit")
    assert f'src="{PUBLIC}{name}_p.jpg"' in edit.text and "画像を削除" in edit.text
    assert 'enctype="multipart/form-data"' in edit.text
    assert f'name="image_url" value="{prog.image_url}"' in edit.text

    # A resident opens 寺子屋・交流会: the carousel's bubble has the picture as its hero, and
    # the fake platform (as strict as LINE: https only) accepted it.
    await publish_session(prog)
    fake_line.add_user("Uimage1", "奄美 花子")
    resident = Resident_(staff_client, fake_line, worker, "Uimage1")
    await resident.say("寺子屋")
    flex = next(m for m in resident.last if m["type"] == "flex")
    bubbles = flex["contents"]["contents"] if flex["contents"]["type"] == "carousel" else [flex]
    heroes = [b["hero"]["url"] for b in bubbles if "hero" in b]
    assert heroes == [prog.image_url]
    assert not await OutboxMessage.filter(last_error__isnull=False).exists()


async def test_replace_keep_and_remove_the_picture(
    staff_client: httpx2.AsyncClient, data_dir: Path
) -> None:
    prog = await create(staff_client, photo((800, 600)))
    first = prog.image_url
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/{prog.id}/edit")
    edit = f"{PROGRAMMES}/{prog.id}/edit"

    # Saving without choosing a file keeps the picture (the form's hidden field).
    kept = await staff_client.post(edit, data=form(csrf, image_url=first, fee="0"))
    assert kept.status_code == 303
    await prog.refresh_from_db()
    assert prog.image_url == first and prog.fee == 0

    # A new file replaces it; the old one is no longer served.
    png = io.BytesIO()
    Image.new("RGB", (1200, 900), "blue").save(png, "PNG")
    replaced = await staff_client.post(
        edit,
        data=form(csrf, image_url=first, fee="0"),
        files=picture(png.getvalue(), "banner.png", "image/png"),
    )
    assert replaced.status_code == 303
    await prog.refresh_from_db()
    second = prog.image_url
    assert second != first and second.startswith(f"https://testserver{PUBLIC}")
    assert (await staff_client.get(urlsplit(first).path)).status_code == 404
    assert stored(data_dir) == sorted([f"{name_of(second)}.jpg", f"{name_of(second)}_p.jpg"])
    with Image.open(io.BytesIO((await staff_client.get(urlsplit(second).path)).content)) as s:
        assert s.format == "JPEG" and s.size == (1024, 768)
    update = await AuditLog.filter(action="course.programme.update").order_by("-id").first()
    assert update is not None and update.detail["fields"] == "画像"

    # 画像を削除: no picture, its files gone, the page says so.
    removed = await staff_client.post(edit, data=form(csrf, image_url=second, remove_image="1"))
    assert removed.status_code == 303
    await prog.refresh_from_db()
    assert prog.image_url == ""
    assert stored(data_dir) == []
    page = await staff_client.get(f"{PROGRAMMES}/{prog.id}")
    assert (
        "programme-image-thumb" not in page.text and "内容を編集</a>から追加できます" in page.text
    )


async def test_not_a_picture_comes_back_with_what_was_typed(
    staff_client: httpx2.AsyncClient, data_dir: Path
) -> None:
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/new")
    for data, filename in (
        (b"<script>alert(1)</script>", "x.png"),
        (b"%PDF-1.4 not a picture", "flyer.pdf"),
        (photo()[:2000], "cut.jpg"),  # a truncated JPEG
        (b"BM" + b"\0" * 200, "old.bmp"),
    ):
        response = await staff_client.post(
            f"{PROGRAMMES}/new",
            data=form(csrf, title="夏の交流会", audience="<b>どなたでも</b>"),
            files=picture(data, filename),
        )
        assert response.status_code == 400, filename
        assert "画像を読み込めませんでした。JPEG・PNG・GIF・WebP の画像ファイル" in response.text
        assert 'value="夏の交流会"' in response.text  # typed values come back
        assert "&lt;b&gt;どなたでも&lt;/b&gt;" in response.text
        assert 'enctype="multipart/form-data"' in response.text
    assert await Programme.all().count() == 0
    assert stored(data_dir) == []

    # On an existing programme: nothing of it changes, its picture stays.
    prog = await create(staff_client, photo((640, 480)))
    before = prog.image_url
    response = await staff_client.post(
        f"{PROGRAMMES}/{prog.id}/edit",
        data=form(csrf, title="別のタイトル", image_url=before),
        files=picture(b"GIF89a broken", "anim.gif", "image/gif"),
    )
    assert response.status_code == 400
    assert 'value="別のタイトル"' in response.text and "画像を読み込めませんでした" in response.text
    await prog.refresh_from_db()
    assert prog.title == "はじめての SNS 発信" and prog.image_url == before
    assert not await AuditLog.filter(action="course.programme.update").exists()


async def test_too_large_files_are_refused_with_a_japanese_message(
    staff_client: httpx2.AsyncClient, data_dir: Path
) -> None:
    prog = await create(staff_client)
    edit = f"{PROGRAMMES}/{prog.id}/edit"
    csrf = await page_csrf(staff_client, edit)
    # Over the picture's 8 MB but within the form's limit: the form back as typed.
    big = b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024)
    response = await staff_client.post(
        edit, data=form(csrf, title="大きな写真の回"), files=picture(big)
    )
    assert response.status_code == 400
    assert "画像のファイルが大きすぎます（8MB まで）" in response.text
    assert 'value="大きな写真の回"' in response.text
    # Over the form's limit (admin.routing refuses it unread): the form page with the notice
    # and the hint next to the picture.
    huge = b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024)
    refused = await staff_client.post(
        edit,
        data=form(csrf, title="もっと大きな写真の回"),
        files=picture(huge),
        headers={"referer": f"http://testserver{edit}"},
    )
    assert refused.status_code == 413
    assert "送信された内容が大きすぎるため、受け付けませんでした" in refused.text
    assert "画像を選んでいた場合は、8MB までの画像を選んで" in refused.text
    assert 'enctype="multipart/form-data"' in refused.text
    await prog.refresh_from_db()
    assert prog.title == "はじめての SNS 発信" and prog.image_url == ""
    assert stored(data_dir) == []


async def test_a_picture_sent_with_a_mistake_elsewhere_is_kept_for_the_retry(
    staff_client: httpx2.AsyncClient, data_dir: Path
) -> None:
    csrf = await page_csrf(staff_client, f"{PROGRAMMES}/new")
    response = await staff_client.post(
        f"{PROGRAMMES}/new", data=form(csrf, title=""), files=picture(photo((900, 600)))
    )
    assert response.status_code == 400 and "タイトルを入力してください。" in response.text
    assert "選んだ画像です。「作成」を押すと反映されます。" in response.text
    kept = re.search(r'name="image_url" value="([^"]+)"', response.text)
    assert kept and kept.group(1).startswith(f"https://testserver{PUBLIC}")
    assert await Programme.all().count() == 0
    retry = await staff_client.post(f"{PROGRAMMES}/new", data=form(csrf, image_url=kept.group(1)))
    assert retry.status_code == 303
    assert (await Programme.get()).image_url == kept.group(1)

    # The hidden field takes only a picture of this form or an https URL.
    forged = await staff_client.post(
        f"{PROGRAMMES}/new", data=form(csrf, image_url="javascript:alert(1)")
    )
    assert forged.status_code == 400 and "https:// で始まる URL" in forged.text


async def test_the_upload_needs_staff_and_the_csrf_token(
    staff_client: httpx2.AsyncClient, data_dir: Path
) -> None:
    await page_csrf(staff_client, f"{PROGRAMMES}/new")
    for token in ("", "forged-token"):
        data = form(token)
        if not token:
            del data["csrf_token"]
        response = await staff_client.post(
            f"{PROGRAMMES}/new", data=data, files=picture(photo((300, 200)))
        )
        assert response.status_code == 403
        assert "リクエストを処理できませんでした" in response.text
    async with httpx2.AsyncClient(
        transport=staff_client._transport, base_url="http://testserver"
    ) as anonymous:
        response = await anonymous.post(
            f"{PROGRAMMES}/new", data=form("x"), files=picture(photo((300, 200)))
        )
        assert response.status_code == 403 and "ログインが必要です" in response.text
    assert await Programme.all().count() == 0
    assert stored(data_dir) == []
    # Guessing a name finds nothing.
    assert (await staff_client.get(f"{PUBLIC}{'A' * 32}.jpg")).status_code == 404
