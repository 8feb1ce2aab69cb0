"""相談予約: topic → date → time → how to meet → (電話: phone number) → note → summary → 確定
→ confirmation card.

Each button carries what the next step needs, so steps are stateless; the free-text
steps (phone number, note) and the summary wait in a conversation state. The button
steps (topic, date, time, method) only leave a short note of their question and buttons
(`state.wait_for_buttons`), so text typed there gets the same buttons again (router).
Every step offers 戻る and やめる, and a stale button (a slot taken since, a closed day)
gets a clear answer with the nearest free times.

An attempt (one pass through the flow) has a key `k`, made when the flow starts and carried
by every button; the booking it makes keeps it as `request_key`. So a button from an attempt
that already booked (確定 again, やめる, 戻る) is recognised and answered with what happened,
never reopened or "stopped".
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
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
from line_app.messages import (
    MAX_LABEL,
    Action,
    Message,
    confirm,
    postback,
    postback_data,
    text,
)
from line_app.turn import Turn
from models.consultation import Booking, BookingStatus, ConsultationSlot, Method, Topic
from models.conversation import ConversationState
from shima.domain import consultation as rules
from shima.timeutil import JST, short_date

FLOW = "consult"
NOTE_LIMIT = 300
SKIP_WORDS = ("スキップ", "なし", "特になし", "skip")
PAGE = 10  # choices per quick-reply page when there are more than PAGE_ALL
PAGE_ALL = 11  # quick replies hold 13: choices + 戻る + やめる
# How each method is explained at the method step (only the slot's own methods are listed).
METHOD_LEGEND = {
    Method.VISIT: "WorkStyle Lab Inno で対面",
    Method.ONLINE: "ビデオ通話",
    Method.PHONE: "担当者からお電話",
}
# A 確定 tapped before the confirmation could arrive is a double tap: booked once, answered once.
DOUBLE_TAP = timedelta(seconds=5)


def _data(step: str, **params: object) -> str:
    return postback_data(FLOW, step, **params)


def _back(label_data: str) -> Action:
    return postback("戻る", label_data, "戻る")


def _stop(key: str = "") -> Action:
    return postback("やめる", postback_data("cancel", of=FLOW, k=key or None), "やめる")


def _topic(value: str | None) -> Topic | None:
    return Topic(value) if value and value in Topic._value2member_map_ else None


def _method(value: str | None) -> Method | None:
    return Method(value) if value and value in Method._value2member_map_ else None


def _key(value: object) -> str:
    return str(value or "")[:16]


def _page_of(value: str | None) -> int:
    page = _int(value)
    return page if page is not None and page < 100 else 0


def _paged(
    choices: list[Action], page: int, more: str, back: Action, key: str
) -> tuple[list[Action], str]:
    """One page of choices as quick replies (+ もっと見る, 戻る, やめる) and a note of where in
    the list it is; never drops a choice silently."""
    if len(choices) <= PAGE_ALL:
        return [*choices, back, _stop(key)], ""
    first = min(page * PAGE, max(len(choices) - 1, 0))
    first -= first % PAGE
    rest = choices[first:]
    if len(rest) <= PAGE_ALL:
        shown, actions = rest, [*rest, back, _stop(key)]
    else:
        shown = rest[:PAGE]
        actions = [*shown, postback("もっと見る", more, "もっと見る"), back, _stop(key)]
    where = f"（全{len(choices)}件中 {first + 1}〜{first + len(shown)}件目）"
    return actions, where


# -- steps -------------------------------------------------------------------------------


async def start(turn: Turn) -> None:
    """The flow starts: the 2-booking rule is checked now, not only at 確定."""
    try:
        await rules.check_limit(turn.resident, turn.settings)
    except rules.TooManyBookings as exc:
        bookings = await rules.upcoming(turn.resident)
        turn.reply(
            text(
                f"ご予約は同時に{exc.limit}件までお受けしています。いまのご予約は次のとおりです。\n"
                "新しくご予約するには、どれかのご予約の「キャンセルする」を押して"
                "お取り消しください。"
            ),
            _carousel(bookings),
        )
        return
    await ask_topic(turn, secrets.token_urlsafe(9))


async def ask_topic(turn: Turn, key: str) -> None:
    actions = [
        postback(topic.label, _data("topic", t=topic.value, k=key), topic.label) for topic in Topic
    ]
    await state.ask(
        turn,
        FLOW,
        text(
            "相談予約ですね。WorkStyle Lab Inno のスタッフが1対1でお話を伺います。\n"
            "まず、ご相談の内容をお選びください。",
            [*actions, _stop(key)],
        ),
    )


async def ask_date(turn: Turn, topic: Topic, key: str, lead: str = "", page: int = 0) -> None:
    days = await rules.open_dates(turn.settings)
    back = _back(_data("start", k=key))
    if not days:
        await state.ask(
            turn,
            FLOW,
            text(
                (lead + "\n" if lead else "")
                + "申し訳ありません、2週間先までの相談枠はすべて埋まっています。\n"
                "新しい枠が空きしだい、お知らせやメニューからご案内します。",
                [back, _stop(key)],
            ),
        )
        return
    choices = [
        postback(
            short_date(d),
            _data("date", t=topic.value, d=d.strftime("%Y%m%d"), k=key),
            short_date(d),
        )
        for d in days
    ]
    more = _data("topic", t=topic.value, k=key, p=page + 1)
    actions, where = _paged(choices, page, more, back, key)
    await state.ask(
        turn,
        FLOW,
        text(
            (lead + "\n" if lead else "")
            + f"「{topic.label}」ですね。ご希望の日をお選びください。\n"
            "（空きのある日だけ表示しています）" + where,
            actions,
        ),
    )


def short_name(counsellor: str) -> str:
    """The name without its role: 「田中（コミュニティマネージャー）」 → 「田中」."""
    for mark in ("（", "("):
        counsellor = counsellor.split(mark, 1)[0]
    return counsellor.strip()


def _fit(head: str, name: str) -> str | None:
    """`head` + as many whole words of `name` as fit a label; None when not even one does."""
    words = name.replace("\u3000", " ").split()
    fitted = ""
    for word in words:
        longer = f"{fitted} {word}".strip()
        if len(f"{head} {longer}") > MAX_LABEL:
            break
        fitted = longer
    return f"{head} {fitted}" if fitted else None


def _time_labels(slots: list[ConsultationSlot]) -> list[str]:
    """Quick-reply labels (≤ 20 characters, never cut mid-word): the time alone, or for slots
    sharing a start time the counsellor's short name, with the length only when the lengths
    differ; a name that does not fit gives way to a number (「その2」)."""
    by_start: dict[datetime, list[ConsultationSlot]] = {}
    for s in slots:
        by_start.setdefault(s.starts_at, []).append(s)
    labels = []
    for s in slots:
        group = by_start[s.starts_at]
        if len(group) == 1:
            labels.append(_head(s, True))
            continue
        same_length = len({_minutes(g) for g in group}) == 1
        told = [(_head(g, same_length), short_name(g.counsellor)) for g in group]
        mine = told[group.index(s)]
        fitted = _fit(*mine) if mine[1] and told.count(mine) == 1 else None
        labels.append(fitted or f"{mine[0]} その{group.index(s) + 1}")
    return labels


def _minutes(slot: ConsultationSlot) -> int:
    return int((slot.ends_at - slot.starts_at).total_seconds() // 60)


def _head(slot: ConsultationSlot, same_length: bool) -> str:
    start = f"{slot.starts_at.astimezone(JST):%H:%M}"
    return start if same_length else f"{start} {_minutes(slot)}分"


def _time_said(slot: ConsultationSlot) -> str:
    """What the resident's bubble says for a tapped time (no label limit there)."""
    start = slot.starts_at.astimezone(JST)
    who = f" {slot.counsellor}" if slot.counsellor else ""
    return f"{short_date(start.date())} {start:%H:%M} {_minutes(slot)}分{who}"


async def ask_time(turn: Turn, topic: Topic, day: date, key: str, page: int = 0) -> None:
    slots = await rules.free_slots_on(turn.settings, day)
    if not slots:
        await ask_date(
            turn, topic, key, f"申し訳ありません、{short_date(day)}の空き枠はなくなりました。"
        )
        return
    starts = [s.starts_at for s in slots]
    choices = [
        postback(label, _data("slot", t=topic.value, s=s.id, k=key), _time_said(s))
        for s, label in zip(slots, _time_labels(slots), strict=True)
    ]
    more = _data("date", t=topic.value, d=day.strftime("%Y%m%d"), k=key, p=page + 1)
    back_to = (
        _data("date", t=topic.value, d=day.strftime("%Y%m%d"), k=key, p=page - 1)
        if page > 0
        else _data("topic", t=topic.value, k=key)
    )
    actions, where = _paged(choices, page, more, _back(back_to), key)
    shared = len(set(starts)) < len(starts)
    await state.ask(
        turn,
        FLOW,
        text(
            f"{short_date(day)}ですね。ご希望の時間をお選びください。{where}"
            + (
                "\n同じ時刻の枠は、担当者（長さが違うときは長さも）を添えて表示しています。"
                if shared
                else ""
            ),
            actions,
        ),
    )


async def slot_taken(
    turn: Turn, topic: Topic, slot: ConsultationSlot | None, why: str, key: str
) -> None:
    """A stale button: say so, and offer the nearest free times."""
    around = slot.starts_at if slot else datetime.now(JST)
    nearest = await rules.nearest_free(turn.settings, around)
    if not nearest:
        await ask_date(turn, topic, key, why)
        return
    actions = [
        postback(short_when(s), _data("slot", t=topic.value, s=s.id, k=key), short_when(s))
        for s in nearest
    ]
    await state.ask(
        turn,
        FLOW,
        text(
            why + "\n近い日時で、次の枠が空いています。",
            [
                *actions,
                postback("ほかの日を見る", _data("topic", t=topic.value, k=key), "ほかの日を見る"),
                _stop(key),
            ],
        ),
    )


async def _free_slot(turn: Turn, slot_id: int | None) -> ConsultationSlot | None:
    if slot_id is None:
        return None
    slots = await ConsultationSlot.filter(id=slot_id)
    if not slots:
        return None
    free = await rules.free_slots(turn.settings, slots[0].starts_at, slots[0].ends_at)
    return slots[0] if any(s.id == slot_id for s in free) else None


async def ask_method(turn: Turn, topic: Topic, slot_id: int | None, key: str) -> None:
    slot = await _free_slot(turn, slot_id)
    if slot is None:
        stale = await ConsultationSlot.get_or_none(id=slot_id) if slot_id else None
        await slot_taken(turn, topic, stale, rules.SlotFull.message, key)
        return
    methods = slot.method_list
    if len(methods) == 1:
        await _after_method(turn, topic, slot, methods[0], key)
        return
    day = slot.starts_at.astimezone(JST).date()
    actions = [
        postback(m.label, _data("method", t=topic.value, s=slot.id, m=m.value, k=key), m.label)
        for m in methods
    ]
    legend = "\n".join(f"{m.label}: {METHOD_LEGEND[m]}" for m in methods)
    await state.ask(
        turn,
        FLOW,
        text(
            f"{short_when(slot)}〜ですね。ご相談の方法をお選びください。\n{legend}",
            [
                *actions,
                _back(_data("date", t=topic.value, d=day.strftime("%Y%m%d"), k=key)),
                _stop(key),
            ],
        ),
    )


async def _after_method(
    turn: Turn, topic: Topic, slot: ConsultationSlot, method: Method, key: str
) -> None:
    if method == Method.PHONE:
        await ask_phone(turn, topic, slot, key)
    else:
        await ask_note(turn, topic, slot, method, key, None)


async def ask_phone(
    turn: Turn, topic: Topic, slot: ConsultationSlot, key: str, lead: str = ""
) -> None:
    data = {"t": topic.value, "s": slot.id, "m": Method.PHONE.value, "k": key}
    await state.wait_for_text(turn.user_id, FLOW, "phone", data)
    turn.reply(
        text(
            (lead + "\n" if lead else "お電話でのご相談ですね。")
            + "当日おかけする電話番号を入力してください（任意）。\n"
            "例: 090-1234-5678 ／ 0997-52-1111\n"
            "入力しない場合は「スキップ」を押してください。番号は前日までに、"
            "担当スタッフがこのトークでお伺いします。",
            [
                postback(
                    "スキップ",
                    _data("phone_skip", t=topic.value, s=slot.id, k=key),
                    "スキップ",
                ),
                _back(_data("slot", t=topic.value, s=slot.id, k=key)),
                _stop(key),
            ],
        )
    )


async def ask_note(
    turn: Turn,
    topic: Topic,
    slot: ConsultationSlot,
    method: Method,
    key: str,
    phone: str | None,
) -> None:
    data = {"t": topic.value, "s": slot.id, "m": method.value, "k": key, "p": phone}
    await state.wait_for_text(turn.user_id, FLOW, "note", data)
    back = (
        _data("method", t=topic.value, s=slot.id, m=method.value, k=key)
        if method == Method.PHONE
        else _data("slot", t=topic.value, s=slot.id, k=key)
    )
    turn.reply(
        text(
            "ご相談の内容を、ひとことお聞かせください（任意・300文字まで）。\n"
            "例: 「独立して1年目。単価の決め方を相談したい」\n"
            "特になければ「スキップ」を押してください。",
            [postback("スキップ", _data("skip", k=key), "スキップ"), _back(back), _stop(key)],
        )
    )


async def show_summary(
    turn: Turn,
    topic: Topic,
    slot_id: int,
    method: Method,
    note: str,
    key: str,
    phone: str | None,
) -> None:
    slot = await _free_slot(turn, slot_id)
    if slot is None:
        stale = await ConsultationSlot.get_or_none(id=slot_id)
        await slot_taken(turn, topic, stale, rules.SlotFull.message, key)
        return
    await state.wait_for_text(
        turn.user_id,
        FLOW,
        "summary",
        {"t": topic.value, "s": slot.id, "m": method.value, "note": note, "k": key, "p": phone},
    )
    confirm_data = _data("confirm", t=topic.value, s=slot.id, m=method.value, k=key)
    turn.reply(
        summary_card(
            slot,
            topic,
            method,
            note,
            [
                postback("予約を確定する", confirm_data, "予約を確定する"),
                _back(_data("method", t=topic.value, s=slot.id, m=method.value, k=key)),
                _stop(key),
            ],
            phone=phone,
        )
    )


async def confirm_booking(turn: Turn, params: dict[str, str]) -> None:
    topic, method = _topic(params.get("t")), _method(params.get("m"))
    slot_id, nonce = _int(params.get("s")), _key(params.get("k"))
    if topic is None or method is None or slot_id is None or not nonce:
        await start(turn)
        return
    waiting = await state.current(turn.user_id)
    note, phone = "", None
    if waiting and waiting.flow == FLOW and waiting.data.get("k") == nonce:
        note = str(waiting.data.get("note", ""))
        phone = rules.parse_phone(str(waiting.data.get("p") or ""))
    request = rules.BookingRequest(slot_id, topic, method, note, request_key=nonce, phone=phone)
    try:
        booking = await rules.book(turn.resident, request, turn.settings)
    except (rules.SlotFull, rules.SlotClosed) as exc:
        stale = await ConsultationSlot.get_or_none(id=slot_id)
        await slot_taken(turn, topic, stale, exc.message, nonce)
        return
    except rules.BookingError as exc:
        turn.reply(
            text(exc.message, [postback("予約の確認", postback_data("mypage"), "予約の確認")])
        )
        return
    await state.clear(turn.user_id)
    cancel = postback("キャンセルする", _data("cancel", b=booking.id), "予約をキャンセルする")
    turn.reply(confirmation_card(booking, booking.slot, cancel))


async def finished_attempt(turn: Turn, key: str) -> Booking | None:
    """The booking an attempt made, if it made one (then its buttons are stale)."""
    if not key:
        return None
    return await Booking.get_or_none(request_key=key, resident=turn.resident).select_related("slot")


def already_done(turn: Turn, booking: Booking) -> None:
    """A button from an attempt that already booked: say what happened."""
    when = f"{short_when(booking.slot)}〜（{Method(booking.method).label}）"
    if booking.status == BookingStatus.BOOKED:
        turn.reply(
            text(
                f"このご予約はすでに確定しています。\n{when}\n"
                "取り消す場合は「キャンセルする」を押してください。",
                [
                    postback(
                        "キャンセルする", _data("cancel", b=booking.id), "予約をキャンセルする"
                    ),
                    postback("予約の確認", postback_data("mypage"), "予約の確認"),
                    postback("メニュー", postback_data("menu"), "メニュー"),
                ],
            )
        )
        return
    done = (
        "キャンセルされています" if booking.status == BookingStatus.CANCELLED else "終了しています"
    )
    turn.reply(
        text(
            f"このご予約（{when}）はすでに{done}。\n新しくご予約する場合は「相談予約」からどうぞ。",
            [
                postback("相談予約", postback_data(FLOW), "相談予約"),
                postback("メニュー", postback_data("menu"), "メニュー"),
            ],
        )
    )


# -- my bookings and cancelling ----------------------------------------------------------


def _carousel(bookings: list[Booking]) -> Message:
    bubbles = [
        booking_bubble(
            b, postback("キャンセルする", _data("cancel", b=b.id), "予約をキャンセルする")
        )
        for b in bookings
    ]
    return bookings_carousel(bubbles)


def _no_bookings(lead: str = "") -> Message:
    return text(
        lead + "相談のご予約は、現在ありません。",
        [
            postback("相談予約", postback_data(FLOW), "相談予約"),
            postback("メニュー", postback_data("menu"), "メニュー"),
        ],
    )


async def show_bookings(turn: Turn) -> None:
    bookings = await rules.upcoming(turn.resident)
    turn.reply(_carousel(bookings) if bookings else _no_bookings())


async def cancel_booking(turn: Turn, *, stopped: bool) -> None:
    """A typed 「キャンセル」 / 「予約をキャンセルしたい」: the bookings with their cancel buttons.
    Typed in the middle of a booking, the router has stopped that booking first (said here)."""
    lead = "入力中の手続きは中止しました。\n" if stopped else ""
    bookings = await rules.upcoming(turn.resident)
    if not bookings:
        turn.reply(_no_bookings(lead))
        return
    turn.reply(
        text(lead + "キャンセルするご予約の「キャンセルする」を押してください。"),
        _carousel(bookings),
    )


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
        key = _key(params.get("k"))
        if step in ("cancel", "cancel_yes"):
            booking_id = _int(params.get("b"))
            await (
                ask_cancel(turn, booking_id) if step == "cancel" else do_cancel(turn, booking_id)
            )
            return
        booking = await finished_attempt(turn, key)
        if booking is not None:
            if step == "confirm" and turn.event.event_time < booking.created_at + DOUBLE_TAP:
                return  # a double tap: booked and confirmed once already
            already_done(turn, booking)
            return
        if step == "confirm":
            await confirm_booking(turn, params)
            return
        if step == "skip":
            await self._after_note(turn, "")
            return
        await state.clear(turn.user_id)
        key = key or secrets.token_urlsafe(9)  # a button from before attempts had keys
        if not step or (topic is None and step != "start"):
            await start(turn)
        elif step == "start":
            await ask_topic(turn, key)  # 戻る to the topics, within the same attempt
        elif step == "topic" and topic is not None:
            await ask_date(turn, topic, key, page=_page_of(params.get("p")))
        elif step == "date" and topic is not None:
            try:
                day = datetime.strptime(params.get("d", ""), "%Y%m%d").date()
            except ValueError:
                await ask_date(turn, topic, key)
                return
            await ask_time(turn, topic, day, key, page=_page_of(params.get("p")))
        elif step == "slot" and topic is not None:
            await ask_method(turn, topic, _int(params.get("s")), key)
        elif step in ("method", "phone_skip") and topic is not None:
            method = Method.PHONE if step == "phone_skip" else _method(params.get("m"))
            slot = await _free_slot(turn, _int(params.get("s")))
            if method is None or slot is None or method not in slot.method_list:
                await ask_method(turn, topic, _int(params.get("s")), key)
            elif step == "phone_skip":
                await ask_note(turn, topic, slot, method, key, None)
            else:
                await _after_method(turn, topic, slot, method, key)
        else:
            await start(turn)

    async def finished(self, turn: Turn, params: dict[str, str]) -> bool:
        """A やめる button (`flow=cancel&of=consult&k=…`): True when its attempt already booked
        and the answer says so; False lets the router stop the flow as usual."""
        booking = await finished_attempt(turn, _key(params.get("k")))
        if booking is None:
            return False
        await state.clear(turn.user_id)
        already_done(turn, booking)
        return True

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        data = waiting.data
        key = _key(data.get("k"))
        topic = _topic(data.get("t")) or Topic.OTHER
        if waiting.step == "summary":
            # Waiting for 確定: typing re-shows the summary rather than guessing.
            await self._after_note(turn, str(data.get("note", "")), keep=data)
            return
        if typed in ("戻る", "もどる"):
            await state.clear(turn.user_id)
            if waiting.step == "note" and data.get("m") == Method.PHONE.value:
                slot = await _free_slot(turn, _int(str(data.get("s"))))
                if slot is not None:
                    await ask_phone(turn, topic, slot, key)
                    return
            await ask_method(turn, topic, _int(str(data.get("s"))), key)
            return
        if waiting.step == "phone":
            await self._phone_typed(turn, typed, data, topic, key)
            return
        note = "" if typed.lower() in SKIP_WORDS else typed
        if len(note) > NOTE_LIMIT:
            turn.reply(
                text(
                    f"{NOTE_LIMIT}文字以内でお願いします（いま{len(note)}文字です）。"
                    "詳しくは当日伺いますので、要点だけお書きください。",
                    [postback("スキップ", _data("skip", k=key), "スキップ"), _stop(key)],
                )
            )
            return
        await self._after_note(turn, note)

    async def _phone_typed(
        self, turn: Turn, typed: str, data: dict[str, Any], topic: Topic, key: str
    ) -> None:
        slot = await _free_slot(turn, _int(str(data.get("s"))))
        if slot is None:
            await state.clear(turn.user_id)
            await ask_method(turn, topic, _int(str(data.get("s"))), key)
            return
        if typed.strip().lower() in SKIP_WORDS:
            await ask_note(turn, topic, slot, Method.PHONE, key, None)
            return
        phone = rules.parse_phone(typed)
        if phone is None:
            await ask_phone(
                turn,
                topic,
                slot,
                key,
                "お電話番号の形式を確認できませんでした。数字とハイフンで入力してください"
                "（全角でも大丈夫です）。",
            )
            return
        await ask_note(turn, topic, slot, Method.PHONE, key, phone)

    async def _after_note(self, turn: Turn, note: str, keep: dict[str, Any] | None = None) -> None:
        waiting = await state.current(turn.user_id)
        data = keep or (waiting.data if waiting and waiting.flow == FLOW else None)
        topic = _topic(str(data.get("t"))) if data else None
        method = _method(str(data.get("m"))) if data else None
        slot_id = _int(str(data.get("s"))) if data else None
        key = _key(data.get("k")) if data else ""
        if topic is None or method is None or slot_id is None or not key:
            await start(turn)  # the state expired: start again, politely
            return
        phone = rules.parse_phone(str(data.get("p") or "")) if data else None
        await show_summary(turn, topic, slot_id, method, note, key, phone)
