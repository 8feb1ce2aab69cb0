"""寺子屋・交流会's part of a resident's data: their sign-ups, waitlist places, attendance and
the 満足度 they gave.

Erasure keeps every registration (its session, status, seat, children counted, attendance and
満足度: the plan's goal 1 counts attendance) and empties the words: the children's ages as
typed, the comment, staff's reason for a cancel, a name typed for the row. A sign-up or a
waitlist place for a session that has not ended blocks it: staff cancel it first on the
session's roster (the seat goes to the waitlist by the usual rule)."""

from __future__ import annotations

from models.course import ACTIVE_STATUSES, Registration, SessionStatus
from models.residents import Resident
from shima.domain.personal_data import Erasure, ExportTable
from shima.domain.personal_data.cells import row
from shima.timeutil import format_jst, now, span_ja

COLUMNS = (
    "申込番号",
    "種類",
    "講座・イベント",
    "日時",
    "場所",
    "状態",
    "託児の人数",
    "お子さまの年齢",
    "申し込んだ人",
    "キャンセル待ちに登録した日時",
    "席が確定した日時",
    "繰り上げの案内をした日時",
    "繰り上げの回答期限",
    "出欠",
    "出欠の記録",
    "出欠を記録した日時",
    "満足度（5段階）",
    "ひとこと",
    "申し込んだ日時",
    "キャンセルした日時",
    "キャンセルした人",
    "キャンセルの理由",
)


async def export(resident: Resident) -> list[ExportTable]:
    registrations = (
        await Registration.filter(resident_id=resident.id)
        .select_related("session__programme")
        .order_by("id")
    )
    rows = []
    for r in registrations:
        session = r.session
        rows.append(
            row(
                COLUMNS,
                (
                    r.id,
                    session.programme.kind.label,
                    session.programme.title,
                    span_ja(session.starts_at, session.ends_at),
                    session.place,
                    r.status.label,
                    r.children,
                    r.children_ages,
                    r.registered_by.label,
                    format_jst(r.queued_at),
                    format_jst(r.registered_at),
                    format_jst(r.offered_at),
                    format_jst(r.offer_expires_at),
                    r.attendance.label,
                    {"line": "チェックイン（LINE）", "staff": "スタッフ"}.get(r.attendance_by, ""),
                    format_jst(r.attendance_at),
                    r.satisfaction,
                    r.comment,
                    format_jst(r.created_at),
                    format_jst(r.cancelled_at),
                    r.cancelled_by.label,
                    r.cancel_reason,
                ),
            )
        )
    return [
        ExportTable(
            Registration,
            "寺子屋・交流会の申込み",
            rows,
            columns=COLUMNS,
            about="寺子屋・交流会・ワークショップのお申し込み、キャンセル待ち、出欠と満足度",
        )
    ]


async def blockers(resident_id: int) -> list[str]:
    registrations = (
        await Registration.filter(
            resident_id=resident_id,
            status__in=ACTIVE_STATUSES,
            session__ends_at__gt=now(),
        )
        .exclude(session__status=SessionStatus.CANCELLED)
        .select_related("session__programme")
        .order_by("session__starts_at")
    )
    return [
        f"{span_ja(r.session.starts_at, r.session.ends_at)}の「{r.session.programme.title}」の"
        f"お申し込み（{r.status.label}）が残っています"
        for r in registrations
    ]


async def erase(e: Erasure) -> None:
    await Registration.filter(resident_id=e.resident.id).update(
        children_ages="", comment="", cancel_reason="", walk_in_name=""
    )
