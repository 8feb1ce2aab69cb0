"""寺子屋・交流会: the sessions carousel → 詳細 → 申し込む → 託児 (不要 / 必要: how many children,
their ages typed) → summary → 確定 → 申込完了 card; when the session is full the summary's
button reads キャンセル待ちに登録 and the answer is the place in the queue. Also the buttons of
the area's pushes and cards: waitlist offers (参加する / 辞退する), チェックイン, 満足度 and its
comment, and キャンセル from マイページ (`show_mine`) with a confirmation step.

The rules are shima.domain.course's: this module only translates. Buttons carry what the
next step needs (postback contract in the team brief); the ages and the summary wait in a
conversation state. An attempt has a key `k` made at 詳細 and carried by every button; the
registration it makes keeps it as `request_key`, so 確定 tapped twice registers once and a
button of a finished attempt is answered with what happened. A resident's action that frees
or fills seats returns an Outcome, handed to line_app.notices.course.tell in the same
transaction (the freed seat's offer is queued with the answer).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from line_app import intents, state
from line_app.flows import card_parts as parts
from line_app.flows import course_cards as cards
from line_app.ids import parse_id as _int
from line_app.messages import (
    Action,
    Message,
    confirm,
    postback,
    postback_data,
    text,
    uri_action,
)
from line_app.notices import course as notices
from line_app.turn import Turn
from models.consultation import CancelledBy
from models.conversation import ConversationState
from models.course import (
    ACTIVE_STATUSES,
    Attendance,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
)
from shima.domain import course as rules

FLOW = "course"
PAGE = 9  # sessions per carousel (the 10th bubble is 「ほかの回もあります」)
MAX_PAGE = 20
SKIP_WORDS = ("スキップ", "なし", "特になし", "skip")
# A 確定 tapped before the answer could arrive is a double tap: registered once, answered once.
DOUBLE_TAP = timedelta(seconds=5)
# The ages as typed must say an age somewhere: a digit, or 歳/才/ヶ月 (「一歳半」「生後8ヶ月」).
AGE_HINT = re.compile(r"[0-9〇一二三四五六七八九十]|歳|才|か月|ヶ月|カ月|ケ月|ヵ月")
STARS = "★★★★★"


def _data(step: str | None = None, **params: object) -> str:
    return postback_data(FLOW, step, **params)


def _back(data: str) -> Action:
    return postback("戻る", data, "戻る")


def _stop(key: str = "") -> Action:
    return postback("やめる", postback_data("cancel", of=FLOW, k=key or None), "やめる")


def _to_list() -> Action:
    return postback("一覧に戻る", _data(), "寺子屋・交流会の一覧")


def _key(value: object) -> str:
    return str(value or "")[:16]


def _children(value: str | None) -> int | None:
    """0–5 from a button; None when missing or not a small number."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 2:
        return None
    return int(value)


# -- loading ------------------------------------------------------------------------------


async def _session(session_id: int | None) -> ProgrammeSession | None:
    if session_id is None:
        return None
    return await ProgrammeSession.get_or_none(id=session_id).select_related("programme")


async def _own(turn: Turn, registration_id: int | None) -> Registration | None:
    """The resident's own registration (session and programme loaded); None for another
    resident's id — a forged postback — or one that does not exist."""
    if registration_id is None:
        return None
    return await Registration.get_or_none(
        id=registration_id, resident=turn.resident
    ).select_related("session", "session__programme")


def _closed(session: ProgrammeSession | None) -> rules.CourseError | None:
    """Why sign-up is not open (the rules' own error, for its message); None when open."""
    return rules.SessionNotOpen() if session is None else rules.signup_closed(session)


async def _my_status(turn: Turn, session_ids: list[int]) -> dict[int, RegistrationStatus]:
    rows = await Registration.filter(
        resident=turn.resident, session_id__in=session_ids, status__in=ACTIVE_STATUSES
    ).values_list("session_id", "status")
    return {int(sid): RegistrationStatus(status) for sid, status in rows}  # type: ignore[misc]


# -- the list and the details -------------------------------------------------------------


async def sessions_message(
    turn: Turn, page: int = 0, quick: list[Action] | None = None
) -> Message | None:
    """The carousel of upcoming published sessions (one page); None when there are none.
    Shared with イベント・お知らせ."""
    page = min(max(page, 0), MAX_PAGE)
    found = await rules.upcoming_sessions(limit=(page + 1) * PAGE + 1)
    shown = found[page * PAGE : (page + 1) * PAGE]
    if not shown and page > 0:
        return await sessions_message(turn, 0, quick)
    if not shown:
        return None
    mine = await _my_status(turn, [s.id for s in shown])
    bubbles = [
        cards.session_bubble(
            s,
            postback(
                "詳しく見る",
                _data("detail", s=s.id),
                f"{cards.short_when(s)}〜 {s.programme.title}の詳細",
            ),
            mine=mine.get(s.id),
            closed=_closed(s) is not None,
        )
        for s in shown
    ]
    if len(found) > (page + 1) * PAGE:
        more = postback("ほかの回を見る", _data(p=page + 1), "ほかの回を見る")
        bubbles.append(cards.more_bubble(more, (page + 1) * PAGE))
    return cards.carousel(
        f"受付中の寺子屋・交流会 {len(shown)}件（{cards.short_when(shown[0])}〜）",
        bubbles,
        quick or [],
    )


async def show_list(turn: Turn, page: int = 0, lead: str = "") -> None:
    quick = [_back(_data(p=page - 1) if page > 0 else postback_data("menu")), _stop()]
    message = await sessions_message(turn, page, quick)
    if message is None:
        turn.reply(
            text(
                (lead + "\n" if lead else "") + "いま受付中の寺子屋・交流会はありません。🌺\n"
                "新しい回が決まりしだい、「イベント・お知らせ」やこのLINEでご案内します。"
                "またのぞいてみてください。",
                [
                    postback("お知らせ", postback_data("news"), "お知らせ"),
                    parts.mypage_action(),
                    parts.menu_action(),
                ],
            )
        )
        return
    intro = (
        "受付中の寺子屋・交流会です。気になる回の「詳しく見る」を押してください。"
        if page == 0
        else "続きの回です。"
    )
    turn.reply(text((lead + "\n" if lead else "") + intro), message)


async def not_open(turn: Turn, error: rules.CourseError, key: str = "") -> None:
    """A session closed since the button was shown: the rules' message and the way back."""
    await state.clear(turn.user_id)
    turn.reply(
        text(
            error.message + "\nほかの回は一覧からどうぞ。",
            [_to_list(), parts.mypage_action(), _stop(key)],
        )
    )


async def show_detail(turn: Turn, session_id: int | None, key: str) -> None:
    session = await _session(session_id)
    closed = _closed(session)
    if session is None or (closed is not None and not isinstance(closed, rules.DeadlinePassed)):
        await not_open(turn, closed or rules.SessionNotOpen(), key)
        return
    mine = await Registration.get_or_none(
        resident=turn.resident, session_id=session.id, status__in=ACTIVE_STATUSES
    )
    description = cards.full_description(session)
    if description:
        turn.reply(text(description))
    if mine is not None:
        # Signed up already: what they have, and how to change it.
        buttons = [
            postback("マイページで確認", postback_data("mypage"), "マイページ"),
            _back(_data()),
            _stop(key),
        ]
        await state.ask(
            turn,
            FLOW,
            cards.detail_card(
                session,
                buttons,
                mine=RegistrationStatus(mine.status),
                note="お申し込みの確認やキャンセルは、マイページからどうぞ。",
            ),
            buttons,
        )
        return
    if closed is not None:
        buttons = [_to_list(), _stop(key)]
        await state.ask(
            turn, FLOW, cards.detail_card(session, buttons, note=closed.message), buttons
        )
        return
    label = "キャンセル待ちに申し込む" if cards.is_full(session) else "申し込む"
    buttons = [
        postback(label, _data("apply", s=session.id, k=key), label),
        _back(_data()),
        _stop(key),
    ]
    await state.ask(turn, FLOW, cards.detail_card(session, buttons), buttons)


# -- signing up ---------------------------------------------------------------------------


async def _open_session(turn: Turn, session_id: int | None, key: str) -> ProgrammeSession | None:
    """The session if sign-up is open; else the answer is given and None returned."""
    session = await _session(session_id)
    closed = _closed(session)
    if session is None or closed is not None:
        await not_open(turn, closed or rules.SessionNotOpen(), key)
        return None
    return session


async def ask_care(turn: Turn, session_id: int | None, key: str) -> None:
    session = await _open_session(turn, session_id, key)
    if session is None:
        return
    if session.childcare_places <= 0:
        await show_summary(turn, session.id, key, 0, "")
        return
    left = session.childcare_left
    room = (
        f"（託児の空き: 残り{left}人分）"
        if left > 0
        else "（託児は現在満員です。必要な場合は、託児の空き待ちもできます）"
    )
    await state.ask(
        turn,
        FLOW,
        text(
            f"{cards.title(session)}\n{cards.short_when(session)}〜 ですね。\n"
            f"この回は託児があります{room}。お子さまの託児は必要ですか？",
            [
                postback("不要", _data("care", s=session.id, k=key, n=0), "託児は不要です"),
                postback("必要", _data("care", s=session.id, k=key), "託児をお願いしたいです"),
                _back(_data("detail", s=session.id, k=key)),
                _stop(key),
            ],
        ),
    )


async def ask_children(turn: Turn, session_id: int | None, key: str, lead: str = "") -> None:
    session = await _open_session(turn, session_id, key)
    if session is None:
        return
    # No more than the session's whole 託児 capacity: more could never be placed.
    most = max(min(rules.MAX_CHILDREN, session.childcare_places), 1)
    counts = [
        postback(f"{n}人", _data("care", s=session.id, k=key, n=n), f"{n}人です")
        for n in range(1, most + 1)
    ]
    await state.ask(
        turn,
        FLOW,
        text(
            (lead + "\n" if lead else "")
            + "お預かりするお子さまは何人ですか？"
            + f"（この回の託児は1回のお申し込みにつき{most}人まで）",
            [*counts, _back(_data("apply", s=session.id, k=key)), _stop(key)],
        ),
    )


async def ask_ages(
    turn: Turn, session_id: int | None, key: str, children: int, lead: str = ""
) -> None:
    session = await _open_session(turn, session_id, key)
    if session is None:
        return
    await state.wait_for_text(
        turn.user_id, FLOW, "ages", {"s": session.id, "k": key, "n": children}
    )
    example = "3歳" if children == 1 else "、".join(["3歳", "5歳", "1歳", "6歳", "8歳"][:children])
    turn.reply(
        text(
            (lead + "\n" if lead else f"{children}人ですね。")
            + "託児スタッフの手配のため、お子さまの年齢を教えてください"
            f"（{rules.AGES_MAX}文字まで）。\n例: 「{example}」「1歳半」",
            [_back(_data("care", s=session.id, k=key)), _stop(key)],
        )
    )


async def show_summary(
    turn: Turn, session_id: int, key: str, children: int, ages: str, lead: str = ""
) -> None:
    session = await _open_session(turn, session_id, key)
    if session is None:
        return
    if session.childcare_places <= 0:
        children, ages = 0, ""
    await state.wait_for_text(
        turn.user_id, FLOW, "summary", {"s": session.id, "k": key, "n": children, "ages": ages}
    )
    if cards.is_full(session):
        primary = postback(
            "キャンセル待ちに登録",
            _data("wait", s=session.id, k=key, n=children),
            "キャンセル待ちに登録",
        )
    else:
        primary = postback(
            "申込みを確定する",
            _data("confirm", s=session.id, k=key, n=children),
            "申込みを確定する",
        )
    if children > 0:
        back = _data("care", s=session.id, k=key, n=children)  # the ages, the count kept
    elif session.childcare_places > 0:
        back = _data("apply", s=session.id, k=key)  # 託児 不要 / 必要
    else:
        back = _data("detail", s=session.id, k=key)
    buttons = [primary, _back(back), _stop(key)]
    if lead:
        turn.reply(text(lead))
    turn.reply(cards.summary_card(session, children, ages, buttons))


async def _ages_for(turn: Turn, key: str, children: int) -> str | None:
    """The ages typed in this attempt (kept with the summary); None when the state is gone."""
    waiting = await state.current(turn.user_id)
    if waiting is None or waiting.flow != FLOW or waiting.data.get("k") != key:
        return None
    if waiting.data.get("n") != children:
        return None
    return str(waiting.data.get("ages") or "")


async def register(turn: Turn, params: dict[str, str], step: str) -> None:
    """確定 / キャンセル待ちに登録 / 託児なしで申し込む / 託児の空きを待つ."""
    session_id, key = _int(params.get("s")), _key(params.get("k"))
    children = 0 if step == "nocare" else _children(params.get("n"))
    if session_id is None or not key:
        await show_list(turn)
        return
    if children is None or children > rules.MAX_CHILDREN:
        await ask_children(turn, session_id, key, rules.TooManyChildren.message)
        return
    ages = ""
    if children > 0:
        typed = await _ages_for(turn, key, children)
        if not typed:
            await ask_ages(
                turn,
                session_id,
                key,
                children,
                "お手数ですが、お子さまの年齢をもう一度入力してください"
                "（時間がたったため、入力内容が消えてしまいました）。",
            )
            return
        ages = typed
    signup = rules.SignUp(
        session_id,
        children=children,
        children_ages=ages,
        request_key=key,
        wait_for_childcare=step == "wait" and params.get("cw") == "1",
    )
    try:
        outcome = await rules.register(turn.resident, signup, turn.settings)
    except rules.ChildcareFull as exc:
        await childcare_full(turn, session_id, key, children, ages, exc)
        return
    except rules.AlreadyRegistered as exc:
        await state.clear(turn.user_id)
        registration = await _own(turn, exc.registration.id)
        if registration is None:
            await show_list(turn, lead=exc.message)
        else:
            await answer_registration(turn, registration, exc.message)
        return
    except rules.TooManyChildren as exc:
        await ask_children(turn, session_id, key, exc.message)
        return
    except rules.CourseError as exc:
        await not_open(turn, exc, key)
        return
    await state.clear(turn.user_id)
    await notices.tell(outcome, turn.settings)
    registration = outcome.registration
    if registration is None:  # the rules always say what they made; never guess
        await show_list(turn)
        return
    # rules.register returns it with its session and programme loaded.
    await answer_registration(turn, registration, "", fresh=True)


async def childcare_full(
    turn: Turn,
    session_id: int,
    key: str,
    children: int,
    ages: str,
    exc: rules.ChildcareFull,
    lead: str = "",
) -> None:
    """A seat is free but the children cannot be placed: without 託児, or wait for a place."""
    # The ages stay with the attempt (a text state, not a button step: 託児の空きを待つ needs them).
    await state.wait_for_text(
        turn.user_id, FLOW, CARE_FULL, {"s": session_id, "k": key, "n": children, "ages": ages}
    )
    turn.reply(
        text(
            (lead + "\n" if lead else "")
            + exc.message
            + "\n席には空きがあります。次のどちらかをお選びください。\n"
            "・託児なしで申し込む: お子さまの託児なしで、お席を確保します。\n"
            "・託児の空きを待つ: 託児の空きが出たら、順番にこのLINEでお知らせします"
            "（それまではキャンセル待ちです）。",
            [
                postback(
                    "託児なしで申し込む", _data("nocare", s=session_id, k=key), "託児なしで申し込む"
                ),
                postback(
                    "託児の空きを待つ",
                    _data("wait", s=session_id, k=key, n=children, cw=1),
                    "託児の空きを待ちます",
                ),
                _back(_data("apply", s=session_id, k=key)),
                _stop(key),
            ],
        ),
    )


def _registered_buttons(registration: Registration) -> list[Action]:
    buttons = [
        postback("当日チェックイン", _data("checkin", r=registration.id), "チェックイン"),
        postback("キャンセルする", _data("cancel", r=registration.id), "申込みをキャンセルする"),
    ]
    session = registration.session
    if session.online and session.online_url.startswith("https://"):
        buttons.insert(1, uri_action("オンラインで参加", session.online_url))
    return buttons


def _offer_buttons(registration: Registration) -> list[Action]:
    return [
        postback("参加する", _data("offer_yes", r=registration.id), "参加します"),
        postback("辞退する", _data("offer_no", r=registration.id), "辞退します"),
    ]


def _leave_button(registration: Registration) -> Action:
    return postback(
        "キャンセル待ちをやめる", _data("cancel", r=registration.id), "キャンセル待ちをやめる"
    )


async def answer_registration(
    turn: Turn, registration: Registration, lead: str, *, fresh: bool = False
) -> None:
    """The card for what the resident has now: 申込完了, キャンセル待ち n番目, or an offer."""
    status = RegistrationStatus(registration.status)
    if lead:
        turn.reply(text(lead))
    if status == RegistrationStatus.REGISTERED:
        turn.reply(
            cards.registered_card(
                registration,
                _registered_buttons(registration),
                heading="お申し込みを受け付けました" if fresh else "お申し込み済みです",
                checkin_minutes=turn.settings.course_checkin_minutes,
            )
        )
    elif status == RegistrationStatus.WAITING:
        position = await rules.waitlist_position(registration)
        buttons = [_leave_button(registration), parts.mypage_action()]
        if registration.open_offer_at:
            buttons.insert(0, _offer_buttons(registration)[0])
        heading = "キャンセル待ちに登録しました" if fresh else "キャンセル待ちに登録済みです"
        turn.reply(cards.waiting_card(registration, position, buttons, heading=heading))
    elif status == RegistrationStatus.OFFERED:
        turn.reply(
            cards.carousel(
                f"繰り上げのご案内: {cards.title(registration.session)}",
                [cards.registration_bubble(registration, _offer_buttons(registration))],
                [],
            )
        )
    else:
        turn.reply(_ended(registration))


def _ended(registration: Registration) -> Message:
    session = registration.session
    what = f"{cards.title(session)}（{cards.short_when(session)}〜）"
    status = RegistrationStatus(registration.status)
    if status == RegistrationStatus.CANCELLED:
        if registration.cancelled_by == CancelledBy.STAFF:
            reason = f"\n理由: {registration.cancel_reason}" if registration.cancel_reason else ""
            done = f"スタッフによりキャンセルとなっています。{reason}"
        else:
            done = "キャンセルされています。"
    elif status == RegistrationStatus.DECLINED:
        done = "辞退されています。"
    else:
        done = "ご案内の期限が過ぎています。"
    return text(
        f"{what}のお申し込みは、すでに{done}\nあらためてお申し込みいただく場合は、一覧からどうぞ。",
        [_to_list(), parts.mypage_action(), parts.menu_action()],
    )


async def finished_attempt(turn: Turn, key: str) -> Registration | None:
    """The registration an attempt made, if it made one (then its buttons are stale)."""
    if not key:
        return None
    return await Registration.get_or_none(request_key=key, resident=turn.resident).select_related(
        "session", "session__programme"
    )


# -- マイページ and cancelling --------------------------------------------------------------


async def _mine_bubble(registration: Registration) -> dict[str, Any]:
    status = RegistrationStatus(registration.status)
    if status == RegistrationStatus.OFFERED:
        return cards.registration_bubble(registration, _offer_buttons(registration))
    if status == RegistrationStatus.WAITING:
        position = await rules.waitlist_position(registration)
        buttons = [_leave_button(registration)]
        if registration.open_offer_at:
            buttons.insert(0, _offer_buttons(registration)[0])
        return cards.registration_bubble(registration, buttons, position=position)
    return cards.registration_bubble(registration, _registered_buttons(registration))


async def show_mine(turn: Turn, lead: str = "寺子屋・交流会のお申し込みです。") -> None:
    """マイページ: the resident's registrations, waitlist places and open offers, under a
    line saying whose part of マイページ this is (相談予約's part comes first)."""
    registrations = await rules.mine(turn.resident)
    if not registrations:
        turn.reply(
            text(
                "寺子屋・交流会のお申し込みは、いまはありません。",
                [postback("寺子屋・交流会", _data(), "寺子屋・交流会"), parts.menu_action()],
            )
        )
        return
    shown = registrations[: cards.MAX_BUBBLES]
    bubbles = [await _mine_bubble(r) for r in shown]
    counts = {
        label: sum(1 for r in registrations if r.status in statuses)
        for label, statuses in (
            ("お申し込み", (RegistrationStatus.REGISTERED,)),
            ("キャンセル待ち", (RegistrationStatus.WAITING, RegistrationStatus.OFFERED)),
        )
    }
    summary = "・".join(f"{label} {n}件" for label, n in counts.items() if n)
    if lead:
        turn.reply(text(lead))
    turn.reply(
        cards.carousel(
            f"寺子屋・交流会: {summary}",
            bubbles,
            [postback("寺子屋・交流会", _data(), "寺子屋・交流会"), parts.menu_action()],
        )
    )


async def cancel_registrations(turn: Turn, *, stopped: bool) -> None:
    """A typed 「キャンセル」: the resident's registrations and waitlist places with their
    cancel buttons (a `CancelBookingSection` for shima.areas). Nothing when there are none:
    相談予約's section already says that there is nothing to cancel."""
    if await rules.mine(turn.resident):
        await show_mine(turn, "寺子屋・交流会のお申し込みは次のとおりです。")


async def ask_cancel(turn: Turn, registration_id: int | None) -> None:
    registration = await _own(turn, registration_id)
    if registration is None:
        turn.reply(text(rules.NotYours.message, [parts.mypage_action(), parts.menu_action()]))
        return
    status = RegistrationStatus(registration.status)
    if status not in ACTIVE_STATUSES:
        turn.reply(text(rules.NotCancellable.message, [parts.mypage_action(), _to_list()]))
        return
    what = f"{cards.title(registration.session)}\n{cards.short_when(registration.session)}〜"
    # Two answers that cannot be mistaken for each other (not 「やめる」 beside 「やめておく」).
    question, yes, no = {
        RegistrationStatus.REGISTERED: (
            "のお申し込みをキャンセルしますか？",
            "キャンセルする",
            "やめておく",
        ),
        RegistrationStatus.WAITING: (
            "のキャンセル待ちをやめますか？",
            "待つのをやめる",
            "このまま待つ",
        ),
        RegistrationStatus.OFFERED: (
            "の繰り上げのご案内を辞退しますか？",
            "辞退する",
            "やめておく",
        ),
    }[status]
    turn.reply(
        confirm(
            "お申し込みのキャンセル",
            what + question,
            postback(yes, _data("cancel_yes", r=registration.id), f"はい、{yes}"),
            postback(no, postback_data("mypage"), no),
        )
    )


async def do_cancel(turn: Turn, registration_id: int | None) -> None:
    before = await _own(turn, registration_id)
    try:
        outcome = await rules.cancel_by_resident(turn.resident, registration_id or 0, turn.settings)
    except rules.CourseError as exc:
        turn.reply(text(exc.message, [parts.mypage_action(), parts.menu_action()]))
        return
    await notices.tell(outcome, turn.settings)
    before = before or outcome.registration
    if before is None:
        await show_mine(turn)
        return
    what = f"{cards.title(before.session)}（{cards.short_when(before.session)}〜）"
    done = {
        RegistrationStatus.WAITING: "のキャンセル待ちを取り消しました。",
        RegistrationStatus.OFFERED: "の繰り上げのご案内を辞退しました。",
    }.get(RegistrationStatus(before.status), "のお申し込みをキャンセルしました。")
    turn.reply(
        text(
            what + done + "\nご連絡ありがとうございます。またのご参加をお待ちしています。",
            [postback("寺子屋・交流会", _data(), "寺子屋・交流会"), parts.mypage_action()],
        )
    )


# -- offers, check-in, 満足度 ---------------------------------------------------------------


async def accept_offer(turn: Turn, registration_id: int | None) -> None:
    registration = await _own(turn, registration_id)
    if registration is None:
        turn.reply(text(rules.NotYours.message, [parts.mypage_action(), parts.menu_action()]))
        return
    if registration.status == RegistrationStatus.REGISTERED:
        got = registration.registered_at or registration.created_at
        if turn.event.event_time < got + DOUBLE_TAP:
            return  # a double tap: accepted and answered once already
        await answer_registration(turn, registration, "この回のお席は、すでに確保されています。")
        return
    if registration.status in (RegistrationStatus.DECLINED, RegistrationStatus.CANCELLED):
        turn.reply(_ended(registration))  # they declined or left: say so, not 「埋まりました」
        return
    try:
        outcome = await rules.accept_offer(turn.resident, registration.id, turn.settings)
    except rules.OfferGone as exc:
        turn.reply(
            text(
                exc.message + "\nほかの回は一覧からどうぞ。",
                [_to_list(), parts.mypage_action(), parts.menu_action()],
            )
        )
        return
    except rules.CourseError as exc:
        turn.reply(text(exc.message, [parts.mypage_action(), parts.menu_action()]))
        return
    await notices.tell(outcome, turn.settings)
    accepted = await _own(turn, registration.id) or registration
    await answer_registration(turn, accepted, "", fresh=True)


async def decline_offer(turn: Turn, registration_id: int | None) -> None:
    registration = await _own(turn, registration_id)
    if registration is None:
        turn.reply(text(rules.NotYours.message, [parts.mypage_action(), parts.menu_action()]))
        return
    try:
        outcome = await rules.decline_offer(turn.resident, registration.id, turn.settings)
    except rules.CourseError as exc:
        if registration.status in (RegistrationStatus.DECLINED, RegistrationStatus.CANCELLED):
            turn.reply(_ended(registration))  # 辞退する again: say what happened
            return
        turn.reply(text(exc.message, [parts.mypage_action(), parts.menu_action()]))
        return
    await notices.tell(outcome, turn.settings)
    turn.reply(
        text(
            f"{cards.title(registration.session)}（{cards.short_when(registration.session)}〜）の"
            "ご案内を辞退しました。ご連絡ありがとうございます。\n"
            "またの機会に、ぜひご参加ください。",
            [postback("寺子屋・交流会", _data(), "寺子屋・交流会"), parts.mypage_action()],
        )
    )


async def check_in(turn: Turn, registration_id: int | None) -> None:
    registration = await _own(turn, registration_id)
    if registration is None:
        turn.reply(text(rules.NotYours.message, [parts.mypage_action(), parts.menu_action()]))
        return
    was_present = registration.attendance == Attendance.PRESENT
    try:
        await rules.check_in(turn.resident, registration.id, turn.settings)
    except rules.CourseError as exc:
        turn.reply(text(exc.message, [parts.mypage_action(), parts.menu_action()]))
        return
    session = registration.session
    if was_present:
        turn.reply(
            text(f"{cards.title(session)}は、すでにチェックイン済みです。どうぞごゆっくり。")
        )
        return
    turn.reply(
        text(
            f"チェックインしました。ようこそ！🌺\n{cards.title(session)}\n"
            f"{cards.when(session)}／{cards.place(session)}\n"
            "楽しい時間になりますように。"
        )
    )


async def rate(turn: Turn, registration_id: int | None, value: str | None) -> None:
    score = _children(value)  # a small number from the button
    if score is None or not 1 <= score <= 5:
        registration = await _own(turn, registration_id)
        if registration is None:
            turn.reply(text(rules.NotYours.message, [parts.menu_action()]))
            return
        turn.reply(
            text(
                f"{cards.title(registration.session)}の満足度を、5段階でお選びください。",
                [  # the same buttons as the follow-up push
                    postback(
                        f"{v} {label}",
                        _data("rate", r=registration.id, v=v),
                        f"満足度: {v}（{label}）",
                    )
                    for v, label in notices.RATINGS.items()
                ],
            )
        )
        return
    try:
        registration = await rules.rate(turn.resident, registration_id or 0, score)
    except rules.CourseError as exc:
        turn.reply(text(exc.message, [parts.menu_action()]))
        return
    turn.reply(
        text(
            f"ご回答ありがとうございます！（満足度 {STARS[:score]}{'☆' * (5 - score)}）\n"
            "よろしければ、ご感想やこれから受けてみたい講座などを、ひとことお聞かせください。",
            [
                postback(
                    "ひとことコメントを送る",
                    _data("comment", r=registration.id),
                    "ひとことコメントを送る",
                ),
                postback("スキップ", _data("comment_skip", r=registration.id), "スキップ"),
            ],
        )
    )


async def ask_comment(turn: Turn, registration_id: int | None) -> None:
    registration = await _own(turn, registration_id)
    if registration is None or registration.attendance != Attendance.PRESENT:
        turn.reply(text(rules.NotYours.message, [parts.menu_action()]))
        return
    await state.wait_for_text(turn.user_id, FLOW, "comment", {"r": registration.id})
    turn.reply(
        text(
            f"{cards.title(registration.session)}のご感想を、ひとことお聞かせください"
            f"（{rules.COMMENT_MAX}文字まで）。講座へのご要望も大歓迎です。",
            [
                postback("スキップ", _data("comment_skip", r=registration.id), "スキップ"),
                _stop(),
            ],
        )
    )


def thanked(turn: Turn) -> None:
    turn.reply(
        text(
            "ありがとうございました！またのご参加をお待ちしています。🌺",
            [postback("寺子屋・交流会", _data(), "寺子屋・交流会"), parts.menu_action()],
        )
    )


async def save_comment(turn: Turn, typed: str, waiting: ConversationState) -> None:
    registration_id = _int(str(waiting.data.get("r")))
    if typed.strip().lower() in SKIP_WORDS or intents.normalize(typed) in intents.BACK_WORDS:
        await state.clear(turn.user_id)
        thanked(turn)
        return
    body = typed.strip()
    if len(body) > rules.COMMENT_MAX:
        turn.reply(
            text(
                f"{rules.COMMENT_MAX}文字以内でお願いします（いま{len(body)}文字です）。"
                "お手数ですが、短くまとめてもう一度お送りください。",
                [
                    postback("スキップ", _data("comment_skip", r=registration_id), "スキップ"),
                    _stop(),
                ],
            )
        )
        return  # the state stays: the next message is the comment
    try:
        await rules.comment(turn.resident, registration_id or 0, body)
    except rules.CourseError as exc:
        await state.clear(turn.user_id)
        turn.reply(text(exc.message, [parts.menu_action()]))
        return
    await state.clear(turn.user_id)
    turn.reply(
        text(
            "ご感想をお寄せいただき、ありがとうございます！スタッフ一同で拝見し、"
            "これからの講座づくりに活かします。🌺",
            [postback("寺子屋・交流会", _data(), "寺子屋・交流会"), parts.menu_action()],
        )
    )


# -- the flow ----------------------------------------------------------------------------

# Steps about an existing registration (`r=`): their own rules, no attempt key.
REGISTRATION_STEPS = (
    "cancel",
    "cancel_yes",
    "offer_yes",
    "offer_no",
    "checkin",
    "rate",
    "comment",
    "comment_skip",
)
SIGNUP_STEPS = ("confirm", "wait", "nocare")
CARE_FULL = "care_full"  # the text state of the 託児なしで / 託児の空きを待つ choice
PRESS_A_BUTTON = "すみません、ここでは下のボタンからお選びください。"


def _ages_problem(typed: str) -> str | None:
    ages = typed.strip()
    if len(ages) > rules.AGES_MAX:
        return (
            f"{rules.AGES_MAX}文字以内でお願いします（いま{len(ages)}文字です）。"
            "年齢だけを「3歳、5歳」のようにお書きください。"
        )
    if not AGE_HINT.search(unicodedata.normalize("NFKC", ages)):
        return "お子さまの年齢を「3歳、5歳」のように、数字で入力してください。"
    return None


class CourseFlow:
    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        step = params.get("step", "")
        if step in REGISTRATION_STEPS:
            await self._registration_step(turn, step, params)
            return
        key = _key(params.get("k"))
        # Most taps find nothing here: the joins are fetched only for a finished attempt.
        made = await Registration.filter(request_key=key).first() if key else None
        if made is not None:
            await made.fetch_related("session", "session__programme")
        if made is not None and made.resident_id != turn.resident.id:
            await state.clear(turn.user_id)  # a key that is not theirs: start afresh
            await show_list(turn)
            return
        if made is not None:
            if step in SIGNUP_STEPS and turn.event.event_time < made.created_at + DOUBLE_TAP:
                return  # a double tap: registered and answered once already
            await state.clear(turn.user_id)
            await answer_registration(turn, made, _already(made))
            return
        if step in SIGNUP_STEPS:
            await register(turn, params, step)
            return
        await state.clear(turn.user_id)
        key = key or secrets.token_urlsafe(9)
        session_id = _int(params.get("s"))
        if step == "detail":
            await show_detail(turn, session_id, key)
        elif step == "apply":
            await ask_care(turn, session_id, key)
        elif step == "care":
            await self._care(turn, session_id, key, params.get("n"))
        else:
            page = _int(params.get("p")) or 0
            await show_list(turn, page)

    async def _care(self, turn: Turn, session_id: int | None, key: str, n: str | None) -> None:
        session = await _session(session_id)
        if session is not None and session.childcare_places <= 0 and _closed(session) is None:
            await show_summary(turn, session.id, key, 0, "")
            return
        if n is None:
            await ask_children(turn, session_id, key)
            return
        children = _children(n)
        if children is None or children > rules.MAX_CHILDREN:
            await state.clear(turn.user_id)
            await ask_children(turn, session_id, key, rules.TooManyChildren.message)
        elif children == 0:
            if session_id is not None:
                await show_summary(turn, session_id, key, 0, "")
            else:
                await show_list(turn)
        else:
            await ask_ages(turn, session_id, key, children)

    async def _registration_step(self, turn: Turn, step: str, params: dict[str, str]) -> None:
        registration_id = _int(params.get("r"))
        await state.clear(turn.user_id)
        if step == "cancel":
            await ask_cancel(turn, registration_id)
        elif step == "cancel_yes":
            await do_cancel(turn, registration_id)
        elif step == "offer_yes":
            await accept_offer(turn, registration_id)
        elif step == "offer_no":
            await decline_offer(turn, registration_id)
        elif step == "checkin":
            await check_in(turn, registration_id)
        elif step == "rate":
            await rate(turn, registration_id, params.get("v"))
        elif step == "comment":
            await ask_comment(turn, registration_id)
        else:
            thanked(turn)

    async def finished(self, turn: Turn, params: dict[str, str]) -> bool:
        """A やめる button (`flow=cancel&of=course&k=…`): True when its attempt already
        registered and the answer says so; False lets the router stop the flow as usual."""
        registration = await finished_attempt(turn, _key(params.get("k")))
        if registration is None:
            return False
        await state.clear(turn.user_id)
        await answer_registration(turn, registration, _already(registration))
        return True

    async def _typed_at_choice(
        self, turn: Turn, typed: str, step: str, session_id: int, key: str, children: int
    ) -> None:
        """Text typed at the summary or at the 託児 choice: a button's label (「申込みを確定する」,
        「戻る」) taps it, as at other button steps; anything else gets the same buttons again
        with a word on why (「はい」 is not taken for 確定: the rules decide only on a tap)."""
        session = await _session(session_id)
        care_full = step == CARE_FULL
        if care_full:
            choices = {
                "託児なしで申し込む": _data("nocare", s=session_id, k=key),
                "託児の空きを待つ": _data("wait", s=session_id, k=key, n=children, cw=1),
            }
        elif session is not None and cards.is_full(session):
            choices = {"キャンセル待ちに登録": _data("wait", s=session_id, k=key, n=children)}
        else:
            choices = {"申込みを確定する": _data("confirm", s=session_id, k=key, n=children)}
        choices["戻る"] = (
            _data("care", s=session_id, k=key, n=children)
            if children > 0 and not care_full
            else _data("apply", s=session_id, k=key)
        )
        labels = list(choices)
        index = intents.pick_label(typed, labels)
        if index is not None:
            await self._dispatch_typed(turn, choices[labels[index]])
            return
        if care_full and session is not None and _closed(session) is None:
            full = rules.ChildcareFull(max(session.childcare_left, 0))
            waiting = await state.current(turn.user_id)
            ages = str((waiting.data if waiting else {}).get("ages") or "")
            await childcare_full(turn, session_id, key, children, ages, full, PRESS_A_BUTTON)
            return
        waiting = await state.current(turn.user_id)
        ages = str((waiting.data if waiting else {}).get("ages") or "")
        await show_summary(turn, session_id, key, children, ages, PRESS_A_BUTTON)

    async def _dispatch_typed(self, turn: Turn, data: str) -> None:
        params = dict(parse_qsl(data))
        if params.get("step") in SIGNUP_STEPS:
            await register(turn, params, params["step"])  # the ages are in the state still
            return
        await self.on_postback(turn, params, None)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        data = waiting.data
        if waiting.step == "comment":
            await save_comment(turn, typed, waiting)
            return
        session_id, key = _int(str(data.get("s"))), _key(data.get("k"))
        children = data.get("n") if isinstance(data.get("n"), int) else 0
        if session_id is None or not key:
            await state.clear(turn.user_id)
            await show_list(turn)
            return
        if waiting.step in ("summary", CARE_FULL):
            await self._typed_at_choice(turn, typed, waiting.step, session_id, key, children)
            return
        if intents.normalize(typed) in intents.BACK_WORDS:
            await state.clear(turn.user_id)
            await ask_children(turn, session_id, key)
            return
        problem = _ages_problem(typed)
        if problem is not None:
            await ask_ages(turn, session_id, key, children, problem)
            return
        await show_summary(turn, session_id, key, children, typed.strip())


def _already(registration: Registration) -> str:
    status = RegistrationStatus(registration.status)
    if status == RegistrationStatus.REGISTERED:
        return "この回は、すでにお申し込みいただいています。"
    if status == RegistrationStatus.WAITING:
        return "この回は、すでにキャンセル待ちに登録されています。"
    if status == RegistrationStatus.OFFERED:
        return "この回は、繰り上げのご案内中です。期限までにお返事ください。"
    return ""
