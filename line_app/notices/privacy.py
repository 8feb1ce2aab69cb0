"""個人データ pushes: telling a resident their request is done (the copy of their data is
ready; their data is erased), and the area's job that scrubs the erasure notice once it has
gone out.

The admin calls `request_done` in the transaction that closes the request. Each notice has
the dedupe key `privacy.request:{id}`, so it goes out once whatever is submitted twice.

An erasure notice is queued after the erasure (shima.domain.personal_data anonymises every
outbox row of the old LINE id and cancels the pending ones), to the real LINE id the caller
kept: it is the one row left that holds that id. `scrub_notices` replaces the id with the
resident's pseudonym and empties the messages once the row is finished (sent, or given up),
so afterwards no table holds the real id. Its kind (ERASED_KIND) also keeps the chat log
(line_app.chat.record_delivered) from logging the delivery against anyone."""

from __future__ import annotations

from line_app import outbox
from line_app.flows import card_parts as parts
from line_app.flows.consult_cards import CENTRE
from line_app.messages import Message, text
from models.outbox import OutboxMessage, OutboxStatus
from models.privacy import DataRequest, RequestKind
from models.residents import PSEUDONYM_PREFIX, Resident
from shima.settings import Settings
from shima.timeutil import format_date_ja

KIND = "privacy"  # the copy is ready: an ordinary notice, logged in the chat
ERASED_KIND = "privacy_erased"  # sent to a LINE id no resident holds any more
DEDUPE_PREFIX = "privacy.request:"
# Rows done with: delivered, given up or discarded (pending and sending ones are left alone).
FINISHED = (OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.UNKNOWN, OutboxStatus.CANCELLED)
# A scrubbed row can never be resent (its address is gone): it leaves the undelivered list.
UNSENDABLE = (OutboxStatus.DEAD, OutboxStatus.UNKNOWN)
SCRUB_BATCH = 200
DESK = f"{CENTRE} の窓口"  # where a copy is handed over


def dedupe_key(request: DataRequest) -> str:
    return f"{DEDUPE_PREFIX}{request.id}"


def _asked_on(request: DataRequest) -> str:
    return f"{format_date_ja(request.requested_at)}にお申し込みの"


def export_message(request: DataRequest) -> Message:
    # Staff may close the request when the copy is ready or once it is handed over: the
    # last line answers the resident who has it already.
    return text(
        f"{_asked_on(request)}「データの確認」について、お預かりしている情報の写しの"
        "準備ができました。\n"
        f"{DESK}でお渡ししますので、ご本人と確認できるもの"
        "（運転免許証、マイナンバーカードなど）をお持ちのうえ、お越しください。\n"
        "すでにお受け取りの場合は、お越しいただく必要はありません。",
        [parts.mypage_action(), parts.menu_action()],
    )


def erased_message(request: DataRequest, *, asked: bool) -> Message:
    lead = f"{_asked_on(request)}" if asked else "ご依頼いただいた"
    # The account goes on, but as a newcomer: マイページ no longer shows their bookings.
    return text(
        f"{lead}データの削除が完了しました。\n"
        "お名前やLINEのID、ご入力いただいた内容などを消して、あなたと分からない形にしました"
        "（参加人数などの統計の数字だけが残ります）。\n"
        "このLINEは、これからもお使いいただけます。これまでのご予約やプロフィールは"
        "表示されなくなりますので、必要なときはあらためてお申し込み・ご登録ください。"
    )


async def request_done(
    request: DataRequest, resident: Resident, *, line_user_id: str | None = None
) -> bool:
    """Queue the 「済みました」 push of a handled request (in the caller's transaction); False
    when not queued (the resident blocks the account, or it was queued before). For an
    erasure, pass the real LINE id the resident had (`line_user_id`): by now the resident
    row holds the pseudonym."""
    if not resident.is_following:
        return False  # a blocked account is not pushed to
    if request.kind == RequestKind.ERASURE:
        to = line_user_id or resident.line_user_id
        # A request recorded by staff at the erasure itself was not asked in LINE that day.
        asked = request.handled_at is None or request.requested_at < request.handled_at
        message, kind = erased_message(request, asked=asked), ERASED_KIND
    else:
        to, message, kind = resident.line_user_id, export_message(request), KIND
    rows = await outbox.enqueue(to, [message], kind=kind, dedupe_key=dedupe_key(request))
    return bool(rows)


def _request_id(key: str | None) -> int | None:
    tail = (key or "").removeprefix(DEDUPE_PREFIX)
    return int(tail) if tail.isdigit() and len(tail) <= 10 else None


async def scrub_notices(settings: Settings) -> int:
    """The worker's job: erasure notices that are finished get the resident's pseudonym for
    the real LINE id and lose their messages (undelivered ones are discarded: they cannot be
    resent). Returns 0: it queues nothing."""
    rows = (
        await OutboxMessage.filter(kind=ERASED_KIND, status__in=FINISHED)
        .exclude(line_user_id__startswith=PSEUDONYM_PREFIX)  # scrubbed already
        .order_by("id")
        .limit(SCRUB_BATCH)
        .values("id", "dedupe_key")
    )
    wanted = {row["id"]: _request_id(row["dedupe_key"]) for row in rows}
    requests = dict(
        await DataRequest.filter(id__in=[i for i in wanted.values() if i]).values_list(
            "id", "resident_id"
        )
    )
    pseudonyms = dict(
        await Resident.filter(id__in=list(requests.values())).values_list("id", "line_user_id")
    )
    for row_id, request_id in wanted.items():
        resident_id = requests.get(request_id) if request_id else None
        pseudonym = str(pseudonyms.get(resident_id) or "") if resident_id else ""
        if not pseudonym.startswith(PSEUDONYM_PREFIX):
            # No erased resident behind it (never expected): the address goes all the same.
            pseudonym = f"{PSEUDONYM_PREFIX}outbox-{row_id}"
        await _scrub(row_id, pseudonym)
    return 0


async def _scrub(row_id: int, pseudonym: str) -> None:
    await OutboxMessage.filter(id=row_id, status__in=UNSENDABLE).update(
        status=OutboxStatus.CANCELLED, lease_until=None
    )
    await OutboxMessage.filter(id=row_id, status__in=FINISHED).update(
        line_user_id=pseudonym, messages=[]
    )
