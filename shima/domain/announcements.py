"""お知らせ配信 rules — the one place for them: what a message may hold, its quota cost, the
steps from draft to sent, and the recipients and batches fixed when it starts. The admin
(admin/announce) and the worker's delivery loop (line_app.announcements) both call these.

Steps: DRAFT (editable) → `request_send` → AWAITING_APPROVAL (more recipients than
`settings.announce_approval_over`: an admin must `approve`) or SCHEDULED → `start` (at
`send_at`) → SENDING → SENT (`refresh`, once no batch is pending or sending). `cancel` stops an
awaiting or scheduled one; once it is SENDING the recipients are fixed and batches go out, so
it can no longer be cancelled. `start` REFUSES it when the month's quota left, less what the
other announcements will still use, does not cover it.

Every step is a compare-and-set on the status (an UPDATE … WHERE status = the expected one):
a double submit, a stale form or two workers at once change nothing the second time, and the
refusal is an AnnouncementError with a Japanese message for staff."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models.announcements import (
    Announcement,
    AnnouncementBatch,
    AnnouncementRecipient,
    AnnouncementStatus,
    BatchStatus,
    RecipientStatus,
)
from shima.domain import segments
from shima.settings import Settings
from shima.timeutil import JST, format_jst, now

PLACEHOLDER = "{名前}"
BATCH_SIZE = 500  # LINE's multicast limit

TITLE_MAX = 100
# LINE's text message takes 5,000 characters; room is left for the name put in {名前}'s place.
BODY_MAX = 4_900
CARD_TITLE_MAX = 40
CARD_TEXT_MAX = 160
CARD_LABEL_MAX = 20
CARD_URL_MAX = 1_000
# A send_at this far in the past is a mistake (a form left open), not "now".
PAST_GRACE = timedelta(minutes=1)
SCHEDULE_MAX = timedelta(days=180)

# What each status is called on the admin's pages.
STATUS_LABELS: dict[AnnouncementStatus, str] = {
    AnnouncementStatus.DRAFT: "下書き",
    AnnouncementStatus.AWAITING_APPROVAL: "承認待ち",
    AnnouncementStatus.SCHEDULED: "配信予約",
    AnnouncementStatus.SENDING: "配信中",
    AnnouncementStatus.SENT: "配信済み",
    AnnouncementStatus.CANCELLED: "取り消し",
    AnnouncementStatus.REFUSED: "中止（通数の上限）",
}
# Statuses whose messages are still to go out (their quota is reserved).
WAITING = (AnnouncementStatus.AWAITING_APPROVAL, AnnouncementStatus.SCHEDULED)
CANCELLABLE = WAITING
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "body",
        "image",
        "image_preview",
        "image_token",
        "card_title",
        "card_text",
        "card_label",
        "card_url",
        "audience",
    }
)


class AnnouncementError(Exception):
    """A step refused; `message` is Japanese, for staff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------- What a message may hold ----------


def problems(
    *,
    title: str,
    body: str,
    card_title: str,
    card_text: str,
    card_label: str,
    card_url: str,
    has_image: bool,
) -> dict[str, str]:
    """What is wrong with a message, per form field (Japanese; {} when it can be sent). The
    text, the image and the card are each optional, but one of them must be there; a card
    needs its title, button label and https URL (its text is optional)."""
    found: dict[str, str] = {}
    if not title.strip():
        found["title"] = "管理用のタイトルを入力してください。"
    elif len(title) > TITLE_MAX:
        found["title"] = f"タイトルは{TITLE_MAX}文字以内で入力してください。"
    if len(body) > BODY_MAX:
        found["body"] = f"本文は{BODY_MAX:,}文字以内で入力してください（いま{len(body):,}文字）。"
    card = [card_title, card_text, card_label, card_url]
    has_card = any(part.strip() for part in card)
    if has_card:
        found |= _card_problems(card_title, card_text, card_label, card_url)
    if not (body.strip() or has_image or has_card):
        found.setdefault("body", "本文・画像・カードのいずれかを入れてください。")
    return found


def _card_problems(title: str, text: str, label: str, url: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value, what, most in (
        ("card_title", title, "カードの見出し", CARD_TITLE_MAX),
        ("card_label", label, "ボタンの文字", CARD_LABEL_MAX),
        ("card_url", url, "リンク先の URL ", CARD_URL_MAX),
    ):
        if not value.strip():
            found[name] = f"カードを付けるときは、{what}を入力してください。"
        elif len(value) > most:
            found[name] = f"{what}は{most:,}文字以内で入力してください。"
    if len(text) > CARD_TEXT_MAX:
        found["card_text"] = f"カードの説明は{CARD_TEXT_MAX}文字以内で入力してください。"
    if "card_url" not in found and not _is_https_url(url.strip()):
        found["card_url"] = "リンク先は https:// で始まる URL を入力してください。"
    return found


def _is_https_url(url: str) -> bool:
    rest = url.removeprefix("https://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return (
        url.startswith("https://")
        and "." in host
        and not any(c.isspace() or c in "<>\"'`" for c in url)
        and url.isascii()
    )


def has_image(a: Announcement) -> bool:
    """The image is there once it has its public token (set with the bytes: LINE fetches it
    by that URL)."""
    return bool(a.image_token)


def has_card(a: Announcement) -> bool:
    return bool(a.card_url)


def message_count(a: Announcement) -> int:
    """Message objects per recipient — text, image, card — each counting against the quota."""
    return int(bool(a.body.strip())) + int(has_image(a)) + int(has_card(a))


def personalised(a: Announcement) -> bool:
    """The text names each resident: it goes by push (one request each), not multicast."""
    return PLACEHOLDER in a.body


def editable(a: Announcement) -> bool:
    """Only a draft's content and audience may change."""
    return a.status == AnnouncementStatus.DRAFT


def segment_of(a: Announcement) -> segments.Segment:
    return segments.Segment.from_json(a.audience)


# ---------- Drafts ----------


async def update_draft(a_id: int, **changes: Any) -> Announcement:
    """Saves `changes` (fields of EDITABLE_FIELDS; the caller has checked them with
    `problems`) while the announcement is still a draft; AnnouncementError otherwise."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if "audience" in changes:
        changes["audience"] = segments.Segment.from_json(changes["audience"]).to_json()
    changed = await Announcement.filter(id=a_id, status=AnnouncementStatus.DRAFT).update(
        **changes, updated_at=now()
    )
    if not changed:
        raise await _refusal(a_id, "変更")
    return await Announcement.get(id=a_id)


async def delete_draft(a_id: int) -> bool:
    """Deletes a draft (False when it is no longer one, or is gone)."""
    return await Announcement.filter(id=a_id, status=AnnouncementStatus.DRAFT).delete() > 0


async def copy_as_draft(a_id: int, *, by: str) -> Announcement:
    """A new draft with the same content and audience (to send a cancelled or refused one
    again, or a sent one to others)."""
    a = await Announcement.get(id=a_id)
    return await Announcement.create(
        title=a.title[: TITLE_MAX - 5] + "（コピー）",
        **{name: getattr(a, name) for name in EDITABLE_FIELDS - {"title", "image_token"}},
        image_token=uuid.uuid4().hex if a.image_token else None,
        created_by=by,
    )


# ---------- Steps ----------


async def _refusal(a_id: int, action: str) -> AnnouncementError:
    """Why `action` cannot be done on the announcement as it is now."""
    status = await Announcement.filter(id=a_id).first().values_list("status", flat=True)
    if status is None:
        return AnnouncementError(
            "このお知らせは見つかりませんでした（削除された可能性があります）。"
        )
    label = STATUS_LABELS[AnnouncementStatus(str(status))]
    if status == AnnouncementStatus.SENDING:
        return AnnouncementError(
            f"このお知らせは配信が始まっているため{action}できません"
            "（送った分を取り消すことはできません）。"
        )
    return AnnouncementError(
        f"このお知らせはいま「{label}」のため{action}できません。画面を更新してご確認ください。"
    )


def send_at_problem(send_at: datetime, at: datetime) -> str:
    """Why `send_at` cannot be used ("" when it can): past (beyond PAST_GRACE) or more than
    SCHEDULE_MAX ahead. The admin asks before its confirmation; request_send enforces it."""
    if send_at < at - PAST_GRACE:
        return (
            f"配信日時（{format_jst(send_at)}）が過ぎています。これから先の日時を選ぶか、"
            "「今すぐ配信」を選んでください。"
        )
    if send_at > at + SCHEDULE_MAX:
        return f"配信の予約は{SCHEDULE_MAX.days}日先までです。日時を選び直してください。"
    return ""


def _check_send_at(send_at: datetime | None, at: datetime) -> datetime:
    if send_at is None:
        return at
    if send_at.tzinfo is None:
        raise ValueError("naive send_at")
    problem = send_at_problem(send_at, at)
    if problem:
        raise AnnouncementError(problem)
    return max(send_at, at)


async def request_send(
    a_id: int, *, by: str, send_at: datetime | None, settings: Settings
) -> Announcement:
    """Asks to send a draft at `send_at` (None = now): SCHEDULED, or AWAITING_APPROVAL when
    it would reach more than `settings.announce_approval_over` residents. Refused (nothing
    changes) unless it is a draft whose content can be sent, the time is not past and not
    beyond SCHEDULE_MAX, and its audience reaches someone."""
    a = await Announcement.get_or_none(id=a_id)
    if a is None or not editable(a):
        raise await _refusal(a_id, "配信の手続きを")
    at = now()
    when = _check_send_at(send_at, at)
    found = problems(
        title=a.title,
        body=a.body,
        card_title=a.card_title,
        card_text=a.card_text,
        card_label=a.card_label,
        card_url=a.card_url,
        has_image=has_image(a),
    )
    if found:
        raise AnnouncementError("内容に不足があります: " + " ".join(found.values()))
    n = await segments.count(segment_of(a))
    if n == 0:
        raise AnnouncementError(
            "この条件に当てはまる方（お知らせを受け取れる友だち）がいません。配信先を見直してください。"
        )
    status = (
        AnnouncementStatus.AWAITING_APPROVAL
        if n > settings.announce_approval_over
        else AnnouncementStatus.SCHEDULED
    )
    changed = await Announcement.filter(id=a_id, status=AnnouncementStatus.DRAFT).update(
        status=status, send_at=when, requested_by=by, updated_at=at
    )
    if not changed:
        raise await _refusal(a_id, "配信の手続きを")
    return await Announcement.get(id=a_id)


async def approve(a_id: int, *, by: str, by_role_admin: bool) -> Announcement:
    """An admin approves a large send: SCHEDULED at its time, or now if that has passed."""
    if not by_role_admin:
        raise AnnouncementError("配信の承認は、管理者の権限をもつスタッフだけができます。")
    a = await Announcement.get_or_none(id=a_id)
    if a is None or a.status != AnnouncementStatus.AWAITING_APPROVAL:
        raise await _refusal(a_id, "承認")
    at = now()
    changed = await Announcement.filter(
        id=a_id, status=AnnouncementStatus.AWAITING_APPROVAL
    ).update(
        status=AnnouncementStatus.SCHEDULED,
        send_at=max(a.send_at or at, at),
        approved_by=by,
        approved_at=at,
        updated_at=at,
    )
    if not changed:
        raise await _refusal(a_id, "承認")
    return await Announcement.get(id=a_id)


async def cancel(a_id: int, *, by: str) -> Announcement:
    """Cancels an announcement awaiting approval or scheduled. Once SENDING it cannot be:
    its batches are going out."""
    at = now()
    changed = await Announcement.filter(id=a_id, status__in=list(CANCELLABLE)).update(
        status=AnnouncementStatus.CANCELLED, cancelled_by=by, finished_at=at, updated_at=at
    )
    if not changed:
        raise await _refusal(a_id, "取り消し")
    return await Announcement.get(id=a_id)


# ---------- The quota ----------


def _next_month_jst(at: datetime) -> datetime:
    local = at.astimezone(JST)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


async def reserved_messages(exclude_id: int | None = None) -> int:
    """Messages other announcements will still send this month: those awaiting approval or
    scheduled before the next month (JST; LINE's quota is monthly), estimated as today's
    recipient count × their messages each, and those SENDING, their pending recipients ×
    their messages each (delivered ones LINE already counts as used)."""
    waiting = Announcement.filter(
        status__in=list(WAITING), send_at__lt=_next_month_jst(now())
    ).exclude(id=exclude_id or 0)
    total = 0
    for a in await waiting.only("id", "audience", "body", "image_token", "card_url"):
        total += await segments.count(segment_of(a)) * message_count(a)
    pending = (
        AnnouncementRecipient.filter(
            announcement__status=AnnouncementStatus.SENDING, status=RecipientStatus.PENDING
        )
        .exclude(announcement_id=exclude_id or 0)
        .group_by("announcement__messages_per_recipient")
        .annotate(n=Count("id"))
        .values_list("announcement__messages_per_recipient", "n")
    )
    for per, n in await pending:
        total += int(per) * int(n)
    return total


def _quota_note(cost: int, remaining: int, reserved: int) -> str:
    left = max(remaining - reserved, 0)
    held = f"（ほかの配信の予定分 {reserved:,}通を除くと {left:,}通）" if reserved else ""
    return (
        f"今月の残りの通数 {remaining:,}通{held}では、この配信の {cost:,}通が送れないため、"
        "配信を中止しました。"
    )


# ---------- Starting and finishing (the worker) ----------


async def due_ids() -> list[int]:
    """Scheduled announcements whose time has come, oldest first."""
    found: list[Any] = (
        await Announcement.filter(status=AnnouncementStatus.SCHEDULED, send_at__lte=now())
        .order_by("send_at", "id")
        .values_list("id", flat=True)
    )
    return [int(i) for i in found]


# What `start` and `refresh` write (never the whole row: the image is large).
_STARTED = ["status", "recipients", "messages_per_recipient", "finished_at", "updated_at"]
_FIGURES = ["delivered", "failed", "skipped"]


@dataclass(frozen=True)
class _Plan:
    recipient_ids: list[int]
    per: int

    @property
    def cost(self) -> int:
        return len(self.recipient_ids) * self.per


async def start(a_id: int, *, remaining: int | None) -> Announcement | None:
    """Starts a due announcement, in one transaction: SCHEDULED → SENDING by compare-and-set
    (None when another worker won, or it was cancelled or is not due), then its recipients —
    the segment's residents as they are now, by id — and their batches (BATCH_SIZE, or 1 each
    when personalised), each with its own retry key. REFUSED instead, with `quota_note`,
    when `remaining` (the month's quota left, fetched by the caller; None = no limit) less
    what other announcements will still use does not cover recipients × messages each."""
    async with in_transaction():
        at = now()
        won = await Announcement.filter(
            id=a_id, status=AnnouncementStatus.SCHEDULED, send_at__lte=at
        ).update(status=AnnouncementStatus.SENDING, started_at=at, updated_at=at)
        if not won:
            return None
        a = await Announcement.get(id=a_id)
        ids: list[Any] = await segments.residents(segment_of(a)).values_list("id", flat=True)
        plan = _Plan([int(i) for i in ids], message_count(a))
        a.recipients, a.messages_per_recipient = len(plan.recipient_ids), plan.per
        if remaining is not None:
            reserved = await reserved_messages(exclude_id=a_id)
            if plan.cost > remaining - reserved:
                a.status = AnnouncementStatus.REFUSED
                a.quota_note = _quota_note(plan.cost, remaining, reserved)
                a.finished_at = at
                await a.save(update_fields=[*_STARTED, "quota_note"])
                return a
        await _make_batches(a, plan, at)
        if not plan.recipient_ids:  # everyone unfollowed or opted out since it was asked
            a.status, a.finished_at = AnnouncementStatus.SENT, at
        await a.save(update_fields=_STARTED)
        return a


async def _make_batches(a: Announcement, plan: _Plan, at: datetime) -> None:
    size = 1 if personalised(a) else BATCH_SIZE
    chunks = [plan.recipient_ids[i : i + size] for i in range(0, len(plan.recipient_ids), size)]
    await AnnouncementBatch.bulk_create(
        [
            AnnouncementBatch(
                announcement_id=a.id,
                seq=seq,
                retry_key=str(uuid.uuid4()),
                size=len(chunk),
                next_attempt_at=at,
            )
            for seq, chunk in enumerate(chunks, start=1)
        ],
        batch_size=1_000,
    )
    batch_ids = await (
        AnnouncementBatch.filter(announcement_id=a.id).order_by("seq").values_list("id", flat=True)
    )
    await AnnouncementRecipient.bulk_create(
        [
            AnnouncementRecipient(announcement_id=a.id, batch_id=batch_id, resident_id=rid)
            for batch_id, chunk in zip(batch_ids, chunks, strict=True)
            for rid in chunk
        ],
        batch_size=1_000,
    )


async def refresh(a_id: int) -> Announcement:
    """Figures from the recipient rows (one grouped query), and SENDING → SENT (finished_at)
    once no batch is pending or sending. The announcement's row is locked first, so two
    workers refreshing at once write in turn, the later with the later counts."""
    async with in_transaction():
        a = await Announcement.filter(id=a_id).select_for_update().get()
        rows = await (
            AnnouncementRecipient.filter(announcement_id=a_id)
            .group_by("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        counts = {str(status): int(n) for status, n in rows}
        a.delivered = counts.get(RecipientStatus.DELIVERED.value, 0)
        a.failed = counts.get(RecipientStatus.FAILED.value, 0)
        a.skipped = counts.get(RecipientStatus.SKIPPED.value, 0)
        if a.status == AnnouncementStatus.SENDING and not await AnnouncementBatch.exists(
            announcement_id=a_id, status__in=[BatchStatus.PENDING, BatchStatus.SENDING]
        ):
            a.status, a.finished_at = AnnouncementStatus.SENT, now()
        await a.save(update_fields=[*_FIGURES, "status", "finished_at", "updated_at"])
        return a
