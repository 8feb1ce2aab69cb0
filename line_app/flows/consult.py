"""相談予約: topic → date → time → how to meet → note → summary → 確定 → confirmation card.

Each button carries what the next step needs, so steps are stateless; only the free-text note
waits in a conversation state. Every step offers 戻る and やめる, and a stale button (a slot
taken since, a closed day) gets a clear answer with the nearest free times.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from line_app import state
from line_app.flows.consult_cards import (
    booking_bubble,
    bookings_carousel,
    confirmation_card,
    short_when,
    summary_card,
)
from line_app.ids import parse_id as _int
from line_app.messages import Action, confirm, postback, postback_data, text
from line_app.turn import Turn
from models.consultation import Booking, ConsultationSlot, Method, Topic
from models.conversation import ConversationState
from shima.domain import consultation as rules
from shima.timeutil import JST, short_date

FLOW = "consult"
NOTE_LIMIT = 300
SKIP_WORDS = ("スキップ", "なし", "特になし", "skip")


def _data(step: str, **params: object) -> str:
    return postback_data(FLOW, step, **params)


def _back(label_data: str) -> Action:
    return postback("戻る", label_data, "戻る")


def _stop() -> Action:
    return postback("やめる", postback_data("cancel"), "やめる")


def _topic(value: str | None) -> Topic | None:
    return Topic(value) if value and value in Topic._value2member_map_ else None


def _method(value: str | None) -> Method | None:
    return Method(value) if value and value in Method._value2member_map_ else None


# -- steps -------------------------------------------------------------------------------


def ask_topic(turn: Turn) -> None:
    actions = [postback(topic.label, _data("topic", t=topic.value), topic.label) for topic in Topic]
    turn.reply(
        text(
            "相談予約ですね。WorkStyle Lab Inno のスタッフが1対1でお話を伺います。\n"
            "まず、ご相談の内容をお選びください。",
            [*actions, _stop()],
        )
    )


async def ask_date(turn: Turn, topic: Topic, lead: str = "") -> None:
    days = await rules.open_dates(turn.settings)
    if not days:
        turn.reply(
            text(
                (lead + "\n" if lead else "")
                + "申し訳ありません、2週間先までの相談枠はすべて埋まっています。\n"
                "新しい枠が空きしだい、お知らせやメニューからご案内します。",
                [_back(postback_data(FLOW)), _stop()],
            )
        )
        return
    actions = [
        postback(short_date(d), _data("date", t=topic.value, d=d.strftime("%Y%m%d")), short_date(d))
        for d in days[:11]  # quick replies hold 13: dates + 戻る + やめる
    ]
    turn.reply(
        text(
            (lead + "\n" if lead else "")
            + f"「{topic.label}」ですね。ご希望の日をお選びください。\n"
            "（空きのある日だけ表示しています）",
            [*actions, _back(postback_data(FLOW)), _stop()],
        )
    )


async def ask_time(turn: Turn, topic: Topic, day: date) -> None:
    slots = await rules.free_slots_on(turn.settings, day)
    if not slots:
        await ask_date(
            turn, topic, f"申し訳ありません、{short_date(day)}の空き枠はなくなりました。"
        )
        return
    actions = [
        postback(
            f"{s.starts_at.astimezone(JST):%H:%M}",
            _data("slot", t=topic.value, s=s.id),
            f"{short_date(day)} {s.starts_at.astimezone(JST):%H:%M}",
        )
        for s in slots[:11]
    ]
    turn.reply(
        text(
            f"{short_date(day)}ですね。ご希望の時間をお選びください。",
            [*actions, _back(_data("topic", t=topic.value)), _stop()],
        )
    )


async def slot_taken(turn: Turn, topic: Topic, slot: ConsultationSlot | None, why: str) -> None:
    """A stale button: say so, and offer the nearest free times."""
    around = slot.starts_at if slot else datetime.now(JST)
    nearest = await rules.nearest_free(turn.settings, around)
    if not nearest:
        await ask_date(turn, topic, why)
        return
    actions = [
        postback(short_when(s), _data("slot", t=topic.value, s=s.id), short_when(s))
        for s in nearest
    ]
    turn.reply(
        text(
            why + "\n近い日時で、次の枠が空いています。",
            [
                *actions,
                postback("ほかの日を見る", _data("topic", t=topic.value), "ほかの日を見る"),
                _stop(),
            ],
        )
    )


async def _free_slot(turn: Turn, slot_id: int | None) -> ConsultationSlot | None:
    if slot_id is None:
        return None
    slots = await ConsultationSlot.filter(id=slot_id)
    if not slots:
        return None
    free = await rules.free_slots(turn.settings, slots[0].starts_at, slots[0].ends_at)
    return slots[0] if any(s.id == slot_id for s in free) else None


async def ask_method(turn: Turn, topic: Topic, slot_id: int | None) -> None:
    slot = await _free_slot(turn, slot_id)
    if slot is None:
        stale = await ConsultationSlot.get_or_none(id=slot_id) if slot_id else None
        await slot_taken(turn, topic, stale, rules.SlotFull.message)
        return
    methods = slot.method_list
    if len(methods) == 1:
        await ask_note(turn, topic, slot, methods[0])
        return
    day = slot.starts_at.astimezone(JST).date()
    actions = [
        postback(m.label, _data("method", t=topic.value, s=slot.id, m=m.value), m.label)
        for m in methods
    ]
    turn.reply(
        text(
            f"{short_when(slot)}〜ですね。ご相談の方法をお選びください。\n"
            "来所: WorkStyle Lab Inno で対面\nオンライン: ビデオ通話\n電話: 担当者からお電話",
            [*actions, _back(_data("date", t=topic.value, d=day.strftime("%Y%m%d"))), _stop()],
        )
    )


async def ask_note(turn: Turn, topic: Topic, slot: ConsultationSlot, method: Method) -> None:
    data = {"t": topic.value, "s": slot.id, "m": method.value}
    await state.wait_for_text(turn.user_id, FLOW, "note", data)
    turn.reply(
        text(
            "ご相談の内容を、ひとことお聞かせください（任意・300文字まで）。\n"
            "例: 「独立して1年目。単価の決め方を相談したい」\n"
            "特になければ「スキップ」を押してください。",
            [
                postback("スキップ", _data("skip"), "スキップ"),
                _back(_data("slot", t=topic.value, s=slot.id)),
                _stop(),
            ],
        )
    )


async def show_summary(turn: Turn, topic: Topic, slot_id: int, method: Method, note: str) -> None:
    slot = await _free_slot(turn, slot_id)
    if slot is None:
        stale = await ConsultationSlot.get_or_none(id=slot_id)
        await slot_taken(turn, topic, stale, rules.SlotFull.message)
        return
    nonce = secrets.token_urlsafe(9)
    await state.wait_for_text(
        turn.user_id,
        FLOW,
        "summary",
        {"t": topic.value, "s": slot.id, "m": method.value, "note": note, "k": nonce},
    )
    confirm_data = _data("confirm", t=topic.value, s=slot.id, m=method.value, k=nonce)
    turn.reply(
        summary_card(
            slot,
            topic,
            method,
            note,
            [
                postback("予約を確定する", confirm_data, "予約を確定する"),
                postback("戻る", _data("method", t=topic.value, s=slot.id, m=method.value), "戻る"),
                postback("やめる", postback_data("cancel"), "やめる"),
            ],
        )
    )


async def confirm_booking(turn: Turn, params: dict[str, str]) -> None:
    topic, method = _topic(params.get("t")), _method(params.get("m"))
    slot_id, nonce = _int(params.get("s")), params.get("k", "")[:64]
    if topic is None or method is None or slot_id is None or not nonce:
        ask_topic(turn)
        return
    if await Booking.exists(request_key=nonce):
        return  # a double tap or a redelivered tap: booked and confirmed once already
    waiting = await state.current(turn.user_id)
    note = ""
    if waiting and waiting.flow == FLOW and waiting.data.get("k") == nonce:
        note = str(waiting.data.get("note", ""))
    request = rules.BookingRequest(slot_id, topic, method, note, request_key=nonce)
    try:
        booking = await rules.book(turn.resident, request, turn.settings)
    except (rules.SlotFull, rules.SlotClosed) as exc:
        stale = await ConsultationSlot.get_or_none(id=slot_id)
        await slot_taken(turn, topic, stale, exc.message)
        return
    except rules.BookingError as exc:
        turn.reply(
            text(exc.message, [postback("予約の確認", postback_data("mypage"), "予約の確認")])
        )
        return
    await state.clear(turn.user_id)
    cancel = postback("キャンセルする", _data("cancel", b=booking.id), "予約をキャンセルする")
    turn.reply(confirmation_card(booking, booking.slot, cancel))


# -- my bookings and cancelling ----------------------------------------------------------


async def show_bookings(turn: Turn) -> None:
    bookings = await rules.upcoming(turn.resident)
    if not bookings:
        turn.reply(
            text(
                "現在、ご予約はありません。",
                [
                    postback("相談予約", postback_data(FLOW), "相談予約"),
                    postback("メニュー", postback_data("menu"), "メニュー"),
                ],
            )
        )
        return
    bubbles = [
        booking_bubble(
            b, postback("キャンセルする", _data("cancel", b=b.id), "予約をキャンセルする")
        )
        for b in bookings
    ]
    turn.reply(bookings_carousel(bubbles))


async def ask_cancel(turn: Turn, booking_id: int | None) -> None:
    booking = None
    if booking_id is not None:
        booking = await Booking.get_or_none(id=booking_id, resident=turn.resident).select_related(
            "slot"
        )
    if booking is None or booking.status != "booked":
        turn.reply(text(rules.NotCancellable.message if booking else rules.NotYours.message))
        await show_bookings(turn)
        return
    turn.reply(
        confirm(
            "ご予約のキャンセル",
            f"{short_when(booking.slot)}〜のご予約をキャンセルしますか？",
            postback("キャンセルする", _data("cancel_yes", b=booking.id), "はい、キャンセルします"),
            postback("やめておく", postback_data("mypage"), "やめておく"),
        )
    )


async def do_cancel(turn: Turn, booking_id: int | None) -> None:
    try:
        booking = await rules.cancel_by_resident(turn.resident, booking_id or 0)
    except rules.BookingError as exc:
        turn.reply(text(exc.message))
        return
    await booking.fetch_related("slot")
    turn.reply(
        text(
            f"{short_when(booking.slot)}〜のご予約をキャンセルしました。\n"
            "またいつでもご相談ください。",
            [
                postback("相談予約", postback_data(FLOW), "相談予約"),
                postback("予約の確認", postback_data("mypage"), "予約の確認"),
            ],
        )
    )


# -- the flow ----------------------------------------------------------------------------


class ConsultFlow:
    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        step = params.get("step", "")
        topic = _topic(params.get("t"))
        if step in ("cancel", "cancel_yes"):
            booking_id = _int(params.get("b"))
            await (
                ask_cancel(turn, booking_id) if step == "cancel" else do_cancel(turn, booking_id)
            )
            return
        if step == "confirm":
            await confirm_booking(turn, params)
            return
        if step == "skip":
            await self._after_note(turn, "")
            return
        await state.clear(turn.user_id)
        if not step or topic is None:
            ask_topic(turn)
        elif step == "topic":
            await ask_date(turn, topic)
        elif step == "date":
            try:
                day = datetime.strptime(params.get("d", ""), "%Y%m%d").date()
            except ValueError:
                await ask_date(turn, topic)
                return
            await ask_time(turn, topic, day)
        elif step == "slot":
            await ask_method(turn, topic, _int(params.get("s")))
        elif step == "method":
            method = _method(params.get("m"))
            slot = await _free_slot(turn, _int(params.get("s")))
            if method is None or slot is None or method not in slot.method_list:
                await ask_method(turn, topic, _int(params.get("s")))
                return
            await ask_note(turn, topic, slot, method)
        else:
            ask_topic(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        data = waiting.data
        if waiting.step == "summary":
            # Waiting for 確定: typing re-shows the summary rather than guessing.
            await self._after_note(turn, str(data.get("note", "")), keep=data)
            return
        if typed in ("戻る", "もどる"):
            await state.clear(turn.user_id)
            topic = _topic(data.get("t")) or Topic.OTHER
            await ask_method(turn, topic, _int(str(data.get("s"))))
            return
        note = "" if typed.lower() in SKIP_WORDS else typed
        if len(note) > NOTE_LIMIT:
            turn.reply(
                text(
                    f"{NOTE_LIMIT}文字以内でお願いします（いま{len(note)}文字です）。"
                    "詳しくは当日伺いますので、要点だけお書きください。",
                    [postback("スキップ", _data("skip"), "スキップ"), _stop()],
                )
            )
            return
        await self._after_note(turn, note)

    async def _after_note(self, turn: Turn, note: str, keep: dict[str, Any] | None = None) -> None:
        waiting = await state.current(turn.user_id)
        data = keep or (waiting.data if waiting and waiting.flow == FLOW else None)
        topic = _topic(str(data.get("t"))) if data else None
        method = _method(str(data.get("m"))) if data else None
        slot_id = _int(str(data.get("s"))) if data else None
        if topic is None or method is None or slot_id is None:
            ask_topic(turn)  # the state expired: start again, politely
            return
        await show_summary(turn, topic, slot_id, method, note)
