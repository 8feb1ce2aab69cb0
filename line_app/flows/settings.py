"""マイページ's 設定: お知らせの受け取り (opting out of segment messages) and
データの確認・削除の申請 (a request about their data, handled by staff).

`show_settings` is マイページ's last card: お知らせ 受け取る／受け取らない and any open request,
with a button for each setting. When マイページ has filled a reply already (five messages),
the card would go out as a push of its own and cost a message of the monthly quota, so the
last message gets a 「設定」 quick reply instead (`flow=privacy&step=settings` shows the card).

NotifyFlow (`flow=notify`): the current state and a button for each choice; each button
carries the state it sets (`step=set&v=on|off`), so an old button still does what it says and
tapping it when already so changes nothing (a double tap stays silent).

DataRequestFlow (`flow=privacy`): what 確認 and 削除 mean → `step=pick&k=export|erasure` → a
confirm whose 申請する (`step=ok&k=&t=<ms shown>`) makes the request. The rules are
shima.domain.data_requests': one open request per kind (asked again: 「○月○日に申請済みです」),
and a confirm used already — a double tap, or tapped again after staff handled the request —
makes nothing (`Stale`); so does a confirm shown before the resident's row existed (shown to
the resident erased since). Redelivered events never reach here twice (the inbox dedupes them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from line_app import state
from line_app.flows import card_parts as parts
from line_app.messages import (
    MAX_QUICK_REPLY_ITEMS,
    Action,
    Message,
    confirm,
    flex,
    postback,
    postback_data,
    text,
)
from line_app.notices.privacy import DESK  # where a copy is handed over
from line_app.outbox import MAX_MESSAGES_PER_REQUEST
from line_app.turn import Turn
from models.conversation import ConversationState
from models.inbox import InboxEvent
from models.privacy import DataRequest, RequestKind, RequestStatus
from models.residents import Resident
from shima.domain import data_requests as rules
from shima.timeutil import format_date_ja, now

NOTIFY, PRIVACY = "notify", "privacy"
# What residents type to reach these without マイページ (whole messages; intents.normalize
# folds width, kana and case). 「お知らせ」 alone stays the news list's keyword.
NOTIFY_PHRASES = (
    "配信停止",
    "配信を停止",
    "お知らせ停止",
    "お知らせを停止",
    "お知らせ不要",
    "お知らせはいらない",
    "通知オフ",
    "通知停止",
    "お知らせの受け取り",
    "お知らせ設定",
    "配信再開",
    "お知らせ再開",
)
SETTINGS_PHRASES = ("設定", "せってい", "個人情報", "データの削除", "データ削除")
ON, OFF = "on", "off"
# The same button tapped again this soon after is a double tap: answered once.
DOUBLE_TAP = timedelta(seconds=5)
STALE = "すみません、そのボタンは使えなくなりました。もう一度お選びください。"
MAX_STAMP_DIGITS = 13  # a confirm's `t` (milliseconds since 1970): up to the year 2286
CLOCK_SKEW = timedelta(minutes=1)  # between the processes that showed and that read it
RECEIVING = {False: "受け取る", True: "受け取らない"}  # by Resident.announcements_opt_out
WHAT_ANNOUNCEMENTS_ARE = (
    "窓口から、寺子屋・交流会やマーケットの募集、イベントなどのお知らせをお送りしています。"
)
# 「前日のお知らせ」 would read as one of the お知らせ just turned off: it is the リマインダー.
STILL_ARRIVE = (
    "受け取らない設定でも、ご自身のご予約・お申し込みへのお返事や前日のリマインダー、"
    "窓口からの個別のご連絡は、これまでどおり届きます。"
)
PROMISE = f"窓口の担当者が確認し、{rules.RESPONSE_DAYS}日以内に対応して、このLINEでお知らせします。"
KINDS_SHOWN = {RequestKind.EXPORT: "データの確認", RequestKind.ERASURE: "データの削除"}


def _notify(step: str | None = None, **params: object) -> str:
    return postback_data(NOTIFY, step, **params)


def _privacy(step: str | None = None, **params: object) -> str:
    return postback_data(PRIVACY, step, **params)


def _day(at: datetime) -> str:
    return format_date_ja(at)


def _closing() -> list[Action]:
    return [parts.mypage_action(), parts.menu_action()]


# -- マイページ's card -------------------------------------------------------------------------


def settings_card(resident: Resident, pending: list[DataRequest]) -> Message:
    rows = [parts.row("お知らせ", RECEIVING[resident.announcements_opt_out])]
    for request in pending:
        # Two lines: 「データの確認（12月4日(金)）」 broke inside its brackets on a phone.
        rows.append(
            parts.row("申請中", f"{KINDS_SHOWN[request.kind]}\n{_day(request.requested_at)}に申請")
        )
    buttons = [
        postback("お知らせの受け取り", _notify(), "お知らせの受け取り"),
        postback("データの確認・削除の申請", _privacy(), "データの確認・削除の申請"),
    ]
    bubble = parts.bubble(
        "設定",
        parts.SEA,
        rows,
        buttons,
        footnote="お知らせの受け取りは、いつでも変えられます。お預かりしている情報の写しの"
        "お渡しや削除も申請できます。",
        primary=False,  # neither setting should invite a tap
    )
    return flex("設定（お知らせの受け取り・データの確認と削除）", bubble, [parts.menu_action()])


async def show_settings(turn: Turn) -> None:
    """マイページ's last card: the two settings (or, when the reply is full, a 「設定」
    quick reply on its last message: a sixth message would be a push)."""
    filled = len(turn.replies)
    if filled and filled % MAX_MESSAGES_PER_REQUEST == 0:
        last = turn.replies[-1]
        items = last.setdefault("quickReply", {"items": []})["items"]
        if len(items) < MAX_QUICK_REPLY_ITEMS:
            items.append({"type": "action", "action": _settings_action()})
            return
    pending = await rules.open_requests(turn.resident.id)
    turn.reply(settings_card(turn.resident, pending))


def _settings_action() -> Action:
    return postback("設定", _privacy("settings"), "設定")


async def _show_card_alone(turn: Turn) -> None:
    pending = await rules.open_requests(turn.resident.id)
    turn.reply(settings_card(turn.resident, pending))


# -- double taps ---------------------------------------------------------------------------


def _tapped(event: InboxEvent) -> str | None:
    postback = event.payload.get("postback") if event.event_type == "postback" else None
    return str(postback.get("data", "")) if isinstance(postback, dict) else None


async def _double_tap(turn: Turn) -> bool:
    """This button was tapped just before (a card's buttons stay on screen): the first tap
    was answered."""
    data = _tapped(turn.event)
    if data is None:
        return False
    previous = (
        await InboxEvent.filter(line_user_id=turn.user_id, id__lt=turn.event.id)
        .order_by("-id")
        .first()
    )
    return (
        previous is not None
        and _tapped(previous) == data
        and turn.event.event_time - previous.event_time < DOUBLE_TAP
    )


# -- お知らせの受け取り ------------------------------------------------------------------------


async def show_notify(turn: Turn, lead: str = "") -> None:
    opted_out = turn.resident.announcements_opt_out
    choices = [
        postback(
            ("✓ " if opted_out == (value == OFF) else "") + RECEIVING[value == OFF],
            _notify("set", v=value),
            f"お知らせを{RECEIVING[value == OFF]}",
        )
        for value in (ON, OFF)
    ]
    body = (
        (lead + "\n\n" if lead else "")
        + f"お知らせの受け取り\n現在の設定：{RECEIVING[opted_out]}\n\n"
        + WHAT_ANNOUNCEMENTS_ARE
        + "\n"
        + STILL_ARRIVE
    )
    await state.ask(turn, NOTIFY, text(body, [*choices, *_closing()]))


async def set_notify(turn: Turn, value: str) -> None:
    if value not in (ON, OFF):
        await show_notify(turn, STALE)
        return
    opt_out = value == OFF
    resident = turn.resident
    stamp = now() if opt_out else None
    # Compare-and-set: two taps (or two devices) change it once.
    changed = await Resident.filter(id=resident.id, announcements_opt_out=not opt_out).update(
        announcements_opt_out=opt_out, announcements_opt_out_at=stamp
    )
    if not changed:
        # Set meanwhile (another tap, another device): the object catches up with the row.
        await resident.refresh_from_db(fields=["announcements_opt_out", "announcements_opt_out_at"])
        if await _double_tap(turn):
            return
        turn.reply(
            text(
                f"お知らせは、すでに「{RECEIVING[opt_out]}」になっています（変更はありません）。",
                [_switch_back(opt_out), *_closing()],
            )
        )
        return
    # The batch's resident object too: a later save of it (an unfollow) must not undo this.
    resident.announcements_opt_out, resident.announcements_opt_out_at = opt_out, stamp
    if opt_out:
        words = (
            "お知らせの受け取りを停止しました。\n"
            "ご自身のご予約・お申し込みへのお返事や前日のリマインダー、"
            "窓口からの個別のご連絡は、これまでどおり届きます。\n"
            "寺子屋・交流会の予定などは、メニューの「イベント・お知らせ」でいつでもご覧いただけます。"
            "また受け取るときは、マイページの「設定」からどうぞ。"
        )
    else:
        words = (
            "お知らせの受け取りを再開しました。\n"
            "窓口からのイベントや募集などのお知らせを、またお送りします。"
        )
    turn.reply(text(words, [_switch_back(opt_out), *_closing()]))


SWITCH_BACK = {True: "受け取りを再開", False: "受け取りを停止"}  # by the opt-out just set


def _switch_back(opt_out: bool) -> Action:
    """The way back to the other choice (it says what it sets, so an old one stays right)."""
    value = ON if opt_out else OFF
    return postback(
        SWITCH_BACK[opt_out], _notify("set", v=value), f"お知らせを{RECEIVING[not opt_out]}"
    )


class NotifyFlow:
    """`flow=notify`: お知らせの受け取り."""

    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        await state.clear(turn.user_id)
        if params.get("step") == "set":
            await set_notify(turn, params.get("v", ""))
        else:
            await show_notify(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        await state.clear(turn.user_id)
        await show_notify(turn)


# -- データの確認・削除の申請 ------------------------------------------------------------------

EXPLAINED = (
    "お預かりしているあなたの情報について、次の申請ができます。\n"
    "\n"
    "■ データの確認\n"
    "お預かりしている情報（プロフィール、ご予約・お申し込みと出欠、アンケートの回答、"
    f"このトークのやりとりなど）の写しをお作りし、{DESK}でお渡しします。\n"
    "\n"
    "■ データの削除\n"
    "お名前やLINEのID、ご入力いただいた内容、写真などを消して、あなたと分からない形にします"
    "（匿名化）。参加人数などの統計の数字は残ります。"
    "これからのご予約・お申し込みがあるときは、先にキャンセルが必要です。"
    "削除のあとも、このLINEはこれまでどおりお使いいただけます。\n"
    "\n" + PROMISE
)
CONFIRM_WORDS = {
    RequestKind.EXPORT: "「データの確認」を申請しますか？\n"
    "お預かりしている情報の写しをお作りし、窓口でお渡しします。",
    RequestKind.ERASURE: "「データの削除」を申請しますか？\n"
    "お名前や入力内容などを消して、あなたと分からない形にします。元には戻せません。",
}
# After 「受け付けました」 and the promise (which says the LINE notice already).
ACCEPTED = {
    RequestKind.EXPORT: f"写しは、{DESK}でお渡しします。お受け取りの際は、ご本人と確認できるもの"
    "（運転免許証、マイナンバーカードなど）をお持ちください。",
    RequestKind.ERASURE: "これからのご予約・お申し込みがあるときは、キャンセルについて"
    "窓口からご連絡することがあります。",
}


def _named(kind: RequestKind) -> str:
    return f"「{KINDS_SHOWN[kind]}」"


def _promise_by(request: DataRequest) -> str:
    """PROMISE with the day it falls due: 「14日以内」 alone leaves 「いつから？」."""
    return (
        f"窓口の担当者が確認し、{rules.RESPONSE_DAYS}日以内（{_day(rules.due_by(request))}まで）"
        "に対応して、このLINEでお知らせします。"
    )


async def show_requests(turn: Turn, lead: str = "") -> None:
    """What 確認 and 削除 mean, any open request, and a button for each."""
    pending = await rules.open_requests(turn.resident.id)
    body = (lead + "\n\n" if lead else "") + "データの確認・削除の申請\n\n" + EXPLAINED
    if pending:
        body += "\n\n申請中: " + "、".join(
            f"{KINDS_SHOWN[r.kind]}（{_day(r.requested_at)}に申請）" for r in pending
        )
    choices = [
        postback(KINDS_SHOWN[kind], _privacy("pick", k=kind.value), f"{KINDS_SHOWN[kind]}を申請")
        for kind in (RequestKind.EXPORT, RequestKind.ERASURE)
    ]
    await state.ask(turn, PRIVACY, text(body, [*choices, *_closing()]))


def _already(request: DataRequest) -> Message:
    if rules.overdue(request):  # the promised day has passed: no date in the past
        wait = "お待たせしていて申し訳ありません。対応が済みしだい、このLINEでお知らせします。"
    else:
        wait = (
            f"{_day(rules.due_by(request))}までに対応して、このLINEでお知らせします。"
            "もうしばらくお待ちください。"
        )
    return text(
        f"{_named(request.kind)}は、{_day(request.requested_at)}に申請済みです。\n{wait}",
        _closing(),
    )


def _stamp(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _shown_at(raw: str | None) -> datetime | None:
    """When the confirm was shown, from its button; None when not a time we could have set."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > MAX_STAMP_DIGITS:
        return None
    shown = datetime.fromtimestamp(int(raw) / 1000, UTC)
    return shown if shown <= now() + CLOCK_SKEW else None


async def ask_confirm(turn: Turn, kind: RequestKind | None) -> None:
    if kind is None:
        await show_requests(turn, STALE)
        return
    pending = [r for r in await rules.open_requests(turn.resident.id) if r.kind == kind]
    if pending:
        turn.reply(_already(pending[0]))
        return
    stamp = _stamp(now())
    turn.reply(
        confirm(
            f"{KINDS_SHOWN[kind]}の申請",
            CONFIRM_WORDS[kind],
            postback("申請する", _privacy("ok", k=kind.value, t=stamp), "申請する"),
            postback(
                "やめる", postback_data("cancel", of=PRIVACY, k=kind.value, t=stamp), "やめる"
            ),
        )
    )


def _before_joining(resident: Resident, shown_at: datetime) -> bool:
    """A confirm shown before this resident's row existed was shown to the resident erased
    before (the same LINE user, whose old row now holds a pseudonym): it asks nothing of the
    newcomer."""
    return shown_at < resident.created_at - CLOCK_SKEW


async def make_request(turn: Turn, kind: RequestKind | None, shown_at: datetime | None) -> None:
    if kind is None or shown_at is None or _before_joining(turn.resident, shown_at):
        await show_requests(turn, STALE)
        return
    try:
        request = await rules.make(turn.resident, kind, shown_at=shown_at)
    except rules.Stale as exc:
        await _used(turn, exc.request)
        return
    except rules.AlreadyOpen as exc:
        turn.reply(_already(exc.request))
        return
    turn.reply(
        text(
            f"{_named(kind)}の申請を受け付けました（{_day(request.requested_at)}）。\n"
            + _promise_by(request)
            + "\n"
            + ACCEPTED[kind],
            _closing(),
        )
    )


async def _used(turn: Turn, request: DataRequest) -> None:
    """A confirm whose request was made already: a double tap stays silent; later, the
    request's state is the answer."""
    if turn.event.event_time - request.requested_at < DOUBLE_TAP:
        return
    turn.reply(_already(request) if request.status == RequestStatus.OPEN else _closed(request))


class DataRequestFlow:
    """`flow=privacy`: データの確認・削除の申請."""

    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        await state.clear(turn.user_id)
        step = params.get("step", "")
        kind = rules.parse_kind(params.get("k"))
        if step == "pick":
            await ask_confirm(turn, kind)
        elif step == "ok":
            await make_request(turn, kind, _shown_at(params.get("t")))
        elif step == "settings":
            await _show_card_alone(turn)
        else:
            await show_requests(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        await state.clear(turn.user_id)
        await show_requests(turn)

    async def finished(self, turn: Turn, params: dict[str, str]) -> bool:
        """やめる on the confirm: nothing asked — unless its 申請する was tapped already,
        which the answer then says."""
        await state.clear(turn.user_id)
        kind, shown_at = rules.parse_kind(params.get("k")), _shown_at(params.get("t"))
        made = None
        if kind is not None and shown_at is not None:
            made = (
                await DataRequest.filter(
                    resident_id=turn.resident.id, kind=kind, requested_at__gte=shown_at
                )
                .order_by("-id")
                .first()
            )
        if made is not None:
            turn.reply(_already(made) if made.status == RequestStatus.OPEN else _closed(made))
            return True
        turn.reply(text("申請はしませんでした。", _closing()))
        return True


def _closed(request: DataRequest) -> Message:
    """The answer to a button of a request that is closed since."""
    how = "対応が済んでいます" if request.status == RequestStatus.DONE else "取り下げになっています"
    return text(
        f"{_day(request.requested_at)}にいただいた{_named(request.kind)}の申請は、{how}。\n"
        "あらためて申請するときは、マイページの「設定」から"
        "「データの確認・削除の申請」を選んでください。",
        _closing(),
    )
