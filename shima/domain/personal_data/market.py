"""ハンドメイドマーケット's part of a resident's data: their applications (with the photos of
their work, stored in the database), and the jury's notes and scores on them.

Erasure keeps every application (its market, status, genre, booths, fee: the market's
figures) and empties the words — the 出店者名・屋号, what they sell, their URL, the 差し戻し
message, a withdrawal's reason, the jury's notes — and the photos' bytes (the rows stay,
marked erased, so no page offers a picture that is gone). An application the jury is still
handling, or one holding or waiting for a booth at a market not yet held, blocks it: staff
withdraw it first (審査・ブースの画面), so its booths go to the 補欠 by the usual rule."""

from __future__ import annotations

from models.market import (
    ApplicationStatus,
    MarketApplication,
    MarketPhoto,
    MarketReview,
)
from models.residents import Resident
from shima.domain.personal_data import Erasure, ExportTable
from shima.domain.personal_data.cells import row, yes_no
from shima.timeutil import format_date_ja, format_jst, now

PHOTO_ERASED = "erased"  # MarketPhoto.error: the bytes were erased with the resident
PHOTO_FOLDER = "写真/マーケット"
# Still in the jury's hands, or holding or waiting for booths.
IN_HAND = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.RETURNED,
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.RESERVE,
    ApplicationStatus.OFFERED,
)

APPLICATION_COLUMNS = (
    "申込番号",
    "マーケット",
    "開催日時",
    "状態",
    "出店者名・屋号",
    "ジャンル",
    "販売するもの",
    "ブース数",
    "机・椅子の貸出",
    "電源",
    "SNS・ショップのURL",
    "申し込んだ日時",
    "結果が決まった日時",
    "差し戻しの内容",
    "差し戻した日時",
    "結果をお知らせした日時",
    "ブース番号",
    "出店料の支払い",
    "出店料を受け取った日時",
    "繰り上げの案内をした日時",
    "繰り上げの回答期限",
    "取り下げた日時",
    "取り下げの理由",
    "入力を始めた日時",
    "写真",
)
PHOTO_COLUMNS = ("写真番号", "申込番号", "受け取った日時", "状態", "幅", "高さ", "ファイル")
REVIEW_COLUMNS = ("申込番号", "評価（5段階）", "審査メモ", "更新日時")


def _photo_name(photo: MarketPhoto) -> str:
    owner = f"申込{photo.application_id}" if photo.application_id else "申込に使われなかった写真"
    return f"{PHOTO_FOLDER}/{owner}_写真{photo.id}.jpg"


def _photo_state(photo: MarketPhoto) -> str:
    if photo.error == PHOTO_ERASED:
        return "削除済み"
    return "受け取り済み" if not photo.error else "受け取れませんでした"


async def export(resident: Resident) -> list[ExportTable]:
    applications = (
        await MarketApplication.filter(resident_id=resident.id)
        .select_related("market")
        .order_by("id")
    )
    photos = await MarketPhoto.filter(resident_id=resident.id).order_by("id")
    files = {_photo_name(p): bytes(p.data) for p in photos if p.data and not p.error}
    names_by_application: dict[int, list[str]] = {}
    for p in photos:
        if p.application_id and _photo_name(p) in files:
            names_by_application.setdefault(p.application_id, []).append(_photo_name(p))
    rows = [
        row(
            APPLICATION_COLUMNS,
            (
                a.id,
                a.market.name,
                format_date_ja(a.market.starts_at),
                a.status.label,
                a.artist_name,
                a.category,
                a.items,
                a.booths_requested,
                yes_no(a.needs_table),
                yes_no(a.needs_power),
                a.url,
                format_jst(a.submitted_at),
                format_jst(a.decided_at),
                a.return_message,
                format_jst(a.returned_at),
                format_jst(a.result_notified_at),
                a.booth_number,
                "支払い済み" if a.fee_paid else "",
                format_jst(a.fee_paid_at),
                format_jst(a.offered_at),
                format_jst(a.offer_expires_at),
                format_jst(a.withdrawn_at),
                a.withdraw_reason,
                format_jst(a.created_at),
                "、".join(names_by_application.get(a.id, [])),
            ),
        )
        for a in applications
    ]
    photo_rows = [
        row(
            PHOTO_COLUMNS,
            (
                p.id,
                p.application_id,
                format_jst(p.created_at),
                _photo_state(p),
                p.width,
                p.height,
                _photo_name(p) if _photo_name(p) in files else "",
            ),
        )
        for p in photos
    ]
    reviews = await MarketReview.filter(application__resident_id=resident.id).order_by(
        "application_id", "id"
    )
    review_rows = [
        row(REVIEW_COLUMNS, (r.application_id, r.score, r.note, format_jst(r.updated_at)))
        for r in reviews
    ]
    return [
        ExportTable(
            MarketApplication,
            "マーケットの出店申込み",
            rows,
            columns=APPLICATION_COLUMNS,
            about="ハンドメイドマーケットへの出店のお申し込みと結果",
        ),
        ExportTable(
            MarketPhoto,
            "マーケットの作品写真",
            photo_rows,
            files,
            columns=PHOTO_COLUMNS,
            about="出店申込みでお送りいただいた作品の写真（写真フォルダにあります）",
        ),
        ExportTable(
            MarketReview,
            "マーケットの審査メモ",
            review_rows,
            columns=REVIEW_COLUMNS,
            about="審査をしたスタッフの評価とメモ",
        ),
    ]


async def blockers(resident_id: int) -> list[str]:
    applications = (
        await MarketApplication.filter(
            resident_id=resident_id, status__in=IN_HAND, market__ends_at__gt=now()
        )
        .select_related("market")
        .order_by("market__starts_at")
    )
    return [
        f"{format_date_ja(a.market.starts_at)}の「{a.market.name}」の出店申込み"
        f"（{a.status.label}）が残っています"
        for a in applications
    ]


async def erase(e: Erasure) -> None:
    await MarketApplication.filter(resident_id=e.resident.id).update(
        artist_name="", items="", url="", return_message="", withdraw_reason=""
    )
    ids = list(
        await MarketApplication.filter(resident_id=e.resident.id).values_list("id", flat=True)
    )
    if ids:
        await MarketReview.filter(application_id__in=ids).update(note="")
    photos = MarketPhoto.filter(resident_id=e.resident.id)
    await photos.update(data=None, thumb=None, size=0, image_set_id="", error=PHOTO_ERASED)
    # LINE's message id would still fetch the picture from LINE for a while: replaced too
    # (it is unique, so by the row's own id; an artist sends a few photos).
    for photo_id in await photos.values_list("id", flat=True):
        await MarketPhoto.filter(id=photo_id).update(line_message_id=f"{PHOTO_ERASED}-{photo_id}")
