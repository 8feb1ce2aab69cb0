"""The platform's part of a resident's data: their resident row, the webhook events LINE sent
for them and the messages the account queued for them (both stored with the LINE id as text),
a conversation waiting for their typed answer, the audit entries about them and their data
requests.

Erasure: the LINE id becomes the pseudonym everywhere it is stored as text; stored payloads
and messages are emptied (the rows stay: webhook ids and dedupe keys keep refusing a
redelivery or a second notice); events not handled yet are ignored and messages not sent yet
cancelled (nothing is ever sent to a pseudonym); the conversation state is deleted; audit
details that quote their name or LINE id (a staff search) lose that value."""

from __future__ import annotations

import json
from typing import Any

from tortoise.expressions import Q, RawSQL

from models.audit import AuditLog
from models.consultation import Booking
from models.conversation import ConversationState
from models.course import Registration
from models.inbox import InboxEvent, InboxStatus
from models.market import MarketApplication, MarketPhoto
from models.outbox import OutboxMessage, OutboxStatus
from models.privacy import DataRequest, RequestKind, RequestStatus
from models.residents import Resident
from models.survey import SurveyResponse
from shima.domain.personal_data import Erasure, ExportTable, Part
from shima.domain.personal_data.cells import as_json, row
from shima.timeutil import format_jst, now

ERASED_VALUE = "（削除済み）"  # an audit detail value that quoted the resident
# Handled by nobody: the events of an erased resident (their payloads are gone).
ERASED_EVENT_NOTE = "利用者のデータを削除したため処理しません"

EVENT_TYPES = {
    "follow": "友だち追加",
    "unfollow": "ブロック",
    "message": "メッセージ",
    "postback": "ボタン・選択肢",
    "unsend": "送信の取り消し",
    "videoPlayComplete": "動画の視聴",
}
MESSAGE_TYPES = {
    "text": "テキスト",
    "image": "画像",
    "video": "動画",
    "audio": "音声",
    "file": "ファイル",
    "location": "位置情報",
    "sticker": "スタンプ",
}
EVENT_STATUSES = {
    InboxStatus.PENDING: "未処理",
    InboxStatus.PROCESSING: "処理中",
    InboxStatus.DONE: "処理済み",
    InboxStatus.FAILED: "処理できず",
    InboxStatus.IGNORED: "処理の対象外",
}
MESSAGE_STATUSES = {
    OutboxStatus.PENDING: "送信待ち",
    OutboxStatus.SENDING: "送信中",
    OutboxStatus.SENT: "送信済み",
    OutboxStatus.DEAD: "届けられず",
    OutboxStatus.UNKNOWN: "配信状況不明",
    OutboxStatus.CANCELLED: "取り消し",
}
REQUEST_KINDS = {RequestKind.EXPORT: "データの確認", RequestKind.ERASURE: "データの削除"}
REQUEST_STATUSES = {
    RequestStatus.OPEN: "受付中",
    RequestStatus.DONE: "対応済み",
    RequestStatus.WITHDRAWN: "取り下げ",
}
# Messages not sent yet (or given up, which staff could resend): cancelled at the erasure.
UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.DEAD, OutboxStatus.UNKNOWN)


# ---------- export ----------

RESIDENT_COLUMNS = (
    "利用者番号",
    "LINEのユーザーID",
    "LINEの表示名",
    "友だち登録",
    "はじめて友だち追加した日時",
    "最後に友だち追加した日時",
    "ブロックした日時",
    "個人情報の取り扱いを案内した日時",
    "お知らせ配信の受け取り",
    "受け取りの設定を変えた日時",
    "登録日時",
    "データを削除した日時",
)


def _resident_table(r: Resident) -> ExportTable:
    values = (
        r.id,
        r.line_user_id,
        r.display_name,
        "登録中" if r.is_following else "ブロック中",
        format_jst(r.first_followed_at),
        format_jst(r.followed_at),
        format_jst(r.unfollowed_at),
        format_jst(r.privacy_notice_shown_at),
        "受け取らない" if r.announcements_opt_out else "受け取る",
        format_jst(r.announcements_opt_out_at),
        format_jst(r.created_at),
        format_jst(r.erased_at),
    )
    return ExportTable(
        Resident,
        "利用者",
        [row(RESIDENT_COLUMNS, values)],
        columns=RESIDENT_COLUMNS,
        about="LINE の友だちとしての登録内容",
    )


EVENT_COLUMNS = (
    "番号",
    "受信日時",
    "LINEでの日時",
    "種類",
    "内容",
    "処理の状況",
    "受け取ったデータ（JSON）",
)


def event_text(event_type: str, payload: Any) -> str:
    """What an event says, in a word or its own words (a message's text, a button's data)."""
    payload = payload if isinstance(payload, dict) else {}
    if event_type == "message":
        message = payload.get("message") or {}
        kind = str(message.get("type", ""))
        return str(message.get("text", "")) if kind == "text" else MESSAGE_TYPES.get(kind, kind)
    if event_type == "postback":
        return str((payload.get("postback") or {}).get("data", ""))
    return ""


async def _events_table(line_user_id: str) -> ExportTable:
    events = await InboxEvent.filter(line_user_id=line_user_id).order_by("id")
    rows = [
        row(
            EVENT_COLUMNS,
            (
                e.id,
                format_jst(e.received_at),
                format_jst(e.event_time),
                EVENT_TYPES.get(e.event_type, e.event_type),
                event_text(e.event_type, e.payload),
                EVENT_STATUSES.get(InboxStatus(e.status), str(e.status)),
                as_json(e.payload),
            ),
        )
        for e in events
    ]
    return ExportTable(
        InboxEvent,
        "受信したイベント",
        rows,
        columns=EVENT_COLUMNS,
        about="LINE から届いた操作（メッセージ、ボタン、友だち追加など）の記録",
    )


MESSAGE_COLUMNS = (
    "番号",
    "作成日時",
    "送信日時",
    "状態",
    "送り方",
    "種類",
    "内容",
    "送ったデータ（JSON）",
)


def messages_text(messages: Any) -> str:
    """The words of LINE message objects (a card by its alternative text)."""
    lines = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        kind = str(message.get("type", ""))
        if kind == "text":
            lines.append(str(message.get("text", "")))
        elif "altText" in message:
            lines.append(str(message["altText"]))
        else:
            lines.append(f"（{MESSAGE_TYPES.get(kind, kind)}）")
    return "\n".join(lines)


def _message_kind(kind: str) -> str:
    return {"reply": "返信", "chat": "スタッフからのメッセージ"}.get(kind, "お知らせ")


async def _messages_table(line_user_id: str) -> ExportTable:
    messages = await OutboxMessage.filter(line_user_id=line_user_id).order_by("id")
    rows = [
        row(
            MESSAGE_COLUMNS,
            (
                m.id,
                format_jst(m.created_at),
                format_jst(m.sent_at),
                MESSAGE_STATUSES.get(OutboxStatus(m.status), str(m.status)),
                {"reply": "応答", "push": "プッシュ"}.get(m.sent_via or "", ""),
                _message_kind(m.kind),
                messages_text(m.messages),
                as_json(m.messages),
            ),
        )
        for m in messages
    ]
    return ExportTable(
        OutboxMessage,
        "送ったメッセージ",
        rows,
        columns=MESSAGE_COLUMNS,
        about="この LINE アカウントからお送りした（お送りする予定の）メッセージ",
    )


STATE_COLUMNS = ("機能", "段階", "データ（JSON）", "有効期限", "更新日時")


async def _state_table(line_user_id: str) -> ExportTable:
    states = await ConversationState.filter(line_user_id=line_user_id)
    rows = [
        row(
            STATE_COLUMNS,
            (s.flow, s.step, as_json(s.data), format_jst(s.expires_at), format_jst(s.updated_at)),
        )
        for s in states
    ]
    return ExportTable(
        ConversationState,
        "入力の途中の状態",
        rows,
        columns=STATE_COLUMNS,
        about="文字の入力を待っている手続きの途中経過",
    )


# What admin pages record as an audit entry's target (admin.audit.record): the resident, and
# the rows of theirs each area's pages act on (a target type no page uses yet finds nothing).
async def _audit_targets(resident: Resident, line_user_id: str) -> Q:
    targets: dict[str, list[Any]] = {
        "resident": [resident.id],
        "booking": await _ids(Booking.filter(resident_id=resident.id)),
        "registration": await _ids(Registration.filter(resident_id=resident.id)),
        "market_application": await _ids(MarketApplication.filter(resident_id=resident.id)),
        "market_photo": await _ids(MarketPhoto.filter(resident_id=resident.id)),
        "survey_response": await _ids(SurveyResponse.filter(resident_id=resident.id)),
        "outbox_message": await _ids(OutboxMessage.filter(line_user_id=line_user_id)),
        "data_request": await _ids(DataRequest.filter(resident_id=resident.id)),
    }
    found = Q(pk__in=[])
    for target_type, ids in targets.items():
        if ids:
            found |= Q(target_type=target_type, target_id__in=[str(i) for i in ids])
    return found


async def _ids(query: Any) -> list[Any]:
    return list(await query.values_list("id", flat=True))


AUDIT_COLUMNS = ("番号", "日時", "スタッフ", "操作", "対象", "対象の番号", "詳細（JSON）")


async def _audit_table(resident: Resident) -> ExportTable:
    entries = await AuditLog.filter(await _audit_targets(resident, resident.line_user_id)).order_by(
        "id"
    )
    rows = [
        row(
            AUDIT_COLUMNS,
            (
                a.id,
                format_jst(a.created_at),
                a.staff_email,
                a.action,
                a.target_type,
                a.target_id,
                as_json(a.detail) if a.detail else "",
            ),
        )
        for a in entries
    ]
    return ExportTable(
        AuditLog,
        "スタッフの閲覧・操作の記録",
        rows,
        columns=AUDIT_COLUMNS,
        about="スタッフがこの方のデータを見たり変えたりした記録（監査ログ）",
    )


REQUEST_COLUMNS = ("番号", "申請", "状態", "申請日時", "対応日時", "対応したスタッフ")


async def _requests_table(resident: Resident) -> ExportTable:
    requests = await DataRequest.filter(resident_id=resident.id).order_by("id")
    rows = [
        row(
            REQUEST_COLUMNS,
            (
                r.id,
                REQUEST_KINDS.get(RequestKind(r.kind), str(r.kind)),
                REQUEST_STATUSES.get(RequestStatus(r.status), str(r.status)),
                format_jst(r.requested_at),
                format_jst(r.handled_at),
                r.handled_by,
            ),
        )
        for r in requests
    ]
    return ExportTable(
        DataRequest,
        "データの申請",
        rows,
        columns=REQUEST_COLUMNS,
        about="データの確認・削除のお申し込み",
    )


async def export(resident: Resident) -> list[ExportTable]:
    line_user_id = resident.line_user_id
    return [
        _resident_table(resident),
        await _events_table(line_user_id),
        await _messages_table(line_user_id),
        await _state_table(line_user_id),
        await _audit_table(resident),
        await _requests_table(resident),
    ]


# ---------- erasure ----------


async def erase(e: Erasure) -> None:
    at = now()
    await Resident.filter(id=e.resident.id).update(
        line_user_id=e.pseudonym,
        display_name="",
        is_following=False,
        announcements_opt_out=True,
        announcements_opt_out_at=e.resident.announcements_opt_out_at or at,
        erased_at=e.resident.erased_at or at,
    )
    events = InboxEvent.filter(line_user_id=e.line_user_id)
    await events.filter(status__in=(InboxStatus.PENDING, InboxStatus.PROCESSING)).update(
        status=InboxStatus.IGNORED, lease_until=None, last_error=ERASED_EVENT_NOTE
    )
    await InboxEvent.filter(line_user_id=e.line_user_id).update(
        line_user_id=e.pseudonym, payload={}, reply_token=None
    )
    # A message a worker is sending right now was read before this: its own status update
    # (conditional on SENDING) then changes nothing, and the chat log finds nobody for it.
    await OutboxMessage.filter(line_user_id=e.line_user_id, status__in=UNSENT).update(
        status=OutboxStatus.CANCELLED, lease_until=None
    )
    await OutboxMessage.filter(line_user_id=e.line_user_id).update(
        line_user_id=e.pseudonym, messages=[], reply_token=None, last_error=None
    )
    await ConversationState.filter(line_user_id=e.line_user_id).delete()
    await scrub_audit([e.resident.display_name, e.line_user_id])


def _forms(needle: str) -> set[str]:
    """The needle as stored text may hold it: as typed, and JSON-escaped (SQLite keeps JSON
    with \\u escapes; PostgreSQL's jsonb prints characters as they are)."""
    return {needle, json.dumps(needle)[1:-1], json.dumps(needle, ensure_ascii=False)[1:-1]}


def _scrubbed(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        return ERASED_VALUE if any(n in value for n in needles) else value
    if isinstance(value, list):
        return [_scrubbed(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, needles) for k, v in value.items()}
    return value


async def scrub_audit(needles: list[str]) -> int:
    """Audit details quoting any of `needles` (a staff search by name): the value is replaced
    (who searched and when stays). Needles under two characters are left: they would match
    unrelated searches. The database finds the candidates; the exact check is here."""
    wanted = [n for n in dict.fromkeys(needles) if len(n.strip()) >= 2]
    if not wanted:
        return 0
    condition = Q(pk__in=[])
    for form in {f for n in wanted for f in _forms(n)}:
        condition |= Q(detail_text__contains=form)
    found = (
        await AuditLog.annotate(detail_text=RawSQL('CAST("detail" AS TEXT)'))
        .filter(condition)
        .values_list("id", "detail")
    )
    changed = 0
    for entry_id, detail in found:
        scrubbed = _scrubbed(detail, wanted)
        if scrubbed != detail:
            await AuditLog.filter(id=entry_id).update(detail=scrubbed)
            changed += 1
    return changed


PART = Part("platform", export, erase)
