"""アンケート in LINE: the rich menu's tile (postback `flow=survey`) or 「アンケート」/「満足度」
typed → the open round's introduction (several open: one card each to pick from; none: when
the next one opens) → 始める → one question per message with quick replies → the survey's
thanks. Also マイページ's part (`show_mine`: the open rounds with the resident's status, and
プロフィール) and the reminder push's 続きから.

The rules are shima.domain.survey_responses': this module only translates. Each answer is
saved as it is given, so 「続きから」 continues days later from the response's `current`
question. Postbacks (all `flow=survey`):

- `step=intro&o=<round>` the introduction; `start&o=` 始める / 続きから (gets or creates the
  response and asks its current question);
- on a response, each with `r=<response>&t=<attempt>`: `first` (最初から: the answers kept),
  `redo` (回答し直す: asks 「前回の回答は置き換わります」), `redo_yes` (a new attempt),
  `redo_no`;
- on a question, with `r=&t=&q=<question>` as well: `ans&v=` (scale, yes/no, year),
  `ans&c=<choice index>` (single), `tog&m=<mask>` (multi: a choice picked or unpicked; bit i =
  choice i; nothing saved), `ans&m=` (multi's 決定), `skip`, `back` (戻る).

A button of another attempt or of a question that is no longer the current one changes
nothing (`rules.Stale`): tapped within DOUBLE_TAP of the response's last change it is a double
tap and stays silent, else the resident is shown where they are. やめる is
`flow=cancel&of=survey&r=` (answered by `finished`: the answers so far are kept). Year and
text questions wait for typed text (a conversation state); the other questions remember
their quick replies (`state.ask`), so a typed label taps it and anything else asks again.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from line_app import intents, state
from line_app.flows import card_parts as parts
from line_app.flows import survey_cards as cards
from line_app.ids import parse_id as _int
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
from line_app.turn import Turn
from models.conversation import ConversationState
from models.survey import (
    QuestionKind,
    QuestionRole,
    ResponseStatus,
    SurveyQuestion,
    SurveyRound,
)
from shima.domain import survey_responses as rules
from shima.timeutil import now, to_jst

FLOW = "survey"
TYPED = "typed"  # the conversation state's step at year and text questions
# A button tapped again before the answer could arrive is a double tap: answered once.
DOUBLE_TAP = timedelta(seconds=5)
YEARS_OFFERED = 8  # the last few years as quick replies at a year question
SKIP_WORDS = frozenset(intents.normalize(w) for w in ("スキップ", "skip"))
# Typed at an optional text question, these mean nothing to say (a skip, not an answer).
NOTHING_WORDS = frozenset(
    intents.normalize(w) for w in ("なし", "特になし", "とくになし", "ありません", "特にありません")
)
PROFILE_FLOW = "profile"  # マイページ → プロフィール (line_app.flows.profile)


def _data(step: str | None = None, **params: object) -> str:
    return postback_data(FLOW, step, **params)


def _stop(response_id: int | None = None) -> Action:
    return postback("やめる", postback_data("cancel", of=FLOW, r=response_id), "やめる")


def _surveys() -> Action:
    return postback("アンケート", _data(), "アンケート")


def _profile() -> Action:
    return postback("プロフィール", postback_data(PROFILE_FLOW), "プロフィール")


def _small(value: str | None, most: int) -> int | None:
    """A small number from a button (0…most); None when not one."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 4:
        return None
    number = int(value)
    return number if number <= most else None


# -- the open rounds and their introductions ------------------------------------------------


async def _intro_bubble(turn: Turn, round_: SurveyRound) -> dict[str, Any]:
    response = await rules.existing(turn.resident, round_.id)
    questions = await rules.questions_of(round_.survey.id)
    branching = any(q.show_if_id is not None for q in questions)  # type: ignore[attr-defined]
    current = None
    if response is None:
        buttons = [postback("始める", _data("start", o=round_.id), "アンケートを始める")]
    elif response.status == ResponseStatus.COMPLETED:
        buttons = [
            postback("回答し直す", _data("redo", r=response.id, t=response.attempt), "回答し直す")
        ]
    else:
        step = await rules.step_of(response)
        current = step.number
        buttons = [
            postback(f"続きから（{current}問目）", _data("start", o=round_.id), "続きから"),
            postback("最初から", _data("first", r=response.id, t=response.attempt), "最初から"),
        ]
    return cards.intro_bubble(
        round_,
        response,
        buttons,
        total=len(questions),
        branching=branching,
        current=current,
    )


async def show_surveys(turn: Turn, lead: str = "") -> None:
    """The open rounds: one introduction, or one card each to pick from; none: a clear
    answer, with when the next one opens."""
    rounds = await rules.open_rounds()
    quick = [parts.mypage_action(), parts.menu_action()]
    if not rounds:
        upcoming = await rules.next_round()
        words = "いま回答を受け付けているアンケートはありません。"
        if upcoming is not None:
            words += (
                f"\n次のアンケート「{cards.title(upcoming)}」は、"
                f"{cards.day(upcoming.opens_at)}から回答できます。"
            )
        words += "\nアンケートが始まったら、このLINEでもお知らせします。"
        turn.reply(text((lead + "\n" if lead else "") + words, quick))
        return
    if lead:
        turn.reply(text(lead))
    if len(rounds) == 1:
        bubble = await _intro_bubble(turn, rounds[0])
        message = flex(f"アンケート: {cards.title(rounds[0])}", bubble, quick)
        buttons = [a["action"] for a in bubble["footer"]["contents"]]
        await state.ask(turn, FLOW, message, buttons)
        return
    bubbles = [await _intro_bubble(turn, r) for r in rounds[: cards.MAX_BUBBLES]]
    message = cards.carousel(f"回答を受け付けているアンケート {len(rounds)}件", bubbles, quick)
    turn.reply(
        text(
            f"回答を受け付けているアンケートが{len(rounds)}件あります。お答えいただくものを選んでください。"
        ),
        message,
    )


async def show_intro(turn: Turn, round_id: int | None) -> None:
    round_ = (
        await SurveyRound.get_or_none(id=round_id).select_related("survey") if round_id else None
    )
    if round_ is None or not rules.is_open(round_):
        await show_surveys(turn, _closed_words(round_))
        return
    bubble = await _intro_bubble(turn, round_)
    message = flex(
        f"アンケート: {cards.title(round_)}",
        bubble,
        [parts.mypage_action(), parts.menu_action()],
    )
    buttons = [a["action"] for a in bubble["footer"]["contents"]]
    await state.ask(turn, FLOW, message, buttons)


def _closed_words(round_: SurveyRound | None) -> str:
    if round_ is None:
        return "このアンケートは見つかりませんでした。"
    return rules.RoundClosed(round_).message


def closed(turn: Turn, error: rules.RoundClosed) -> None:
    turn.reply(
        text(
            error.message
            + ("\nここまでの回答は保存されています。" if now() >= error.round.closes_at else ""),
            [_surveys(), parts.mypage_action(), parts.menu_action()],
        )
    )


# -- one question ---------------------------------------------------------------------------

_POINT = re.compile(r"(\d+)（([^）]+)）")  # 「1（とても不満）」
_POINTS = re.compile(r"「([^」]+)」を(\d+)点")  # 「「とても幸せ」を10点」


def meanings(help_text: str) -> dict[int, str]:
    """What the help says the ends of a scale mean: {1: "とても不満", 5: "とても満足"}."""
    found = {int(n): m for n, m in _POINT.findall(help_text)}
    found.update({int(n): m for m, n in _POINTS.findall(help_text)})
    return found


def _mask(question: SurveyQuestion, values: list[str]) -> int:
    known = rules.choice_values(question)
    return sum(1 << i for i, v in enumerate(known) if v in values)


def _picked(question: SurveyQuestion, mask: int) -> list[str]:
    return [v for i, v in enumerate(rules.choice_values(question)) if mask >> i & 1]


def _labels(question: SurveyQuestion) -> list[str]:
    return [str(c.get("label") or c.get("value") or "") for c in question.choices or []]


def _answer_buttons(step: rules.Step, mask: int | None) -> list[Action]:
    """The answers as quick replies (none for text; the last few years for a year)."""
    q = step.question
    assert q is not None
    ids = {"r": step.response.id, "t": step.response.attempt, "q": q.id}
    kind = QuestionKind(q.kind)
    if kind in (QuestionKind.SCALE5, QuestionKind.SCALE11):
        low, high = (1, 5) if kind == QuestionKind.SCALE5 else (0, 10)
        ends = meanings(q.help)
        return [
            postback(str(n), _data("ans", **ids, v=n), f"{n}（{ends[n]}）" if n in ends else str(n))
            for n in range(low, high + 1)
        ]
    if kind == QuestionKind.YESNO:
        return [
            postback("はい", _data("ans", **ids, v=rules.YES), "はい"),
            postback("いいえ", _data("ans", **ids, v=rules.NO), "いいえ"),
        ]
    if kind == QuestionKind.SINGLE:
        return [
            postback(label, _data("ans", **ids, c=i), label) for i, label in enumerate(_labels(q))
        ]
    if kind == QuestionKind.MULTI:
        picked = mask or 0
        buttons = [
            postback(
                f"✓{label}" if picked >> i & 1 else label,
                _data("tog", **ids, m=picked ^ (1 << i)),
                f"{label}を外す" if picked >> i & 1 else f"{label}を選ぶ",
            )
            for i, label in enumerate(_labels(q))
        ]
        if picked:  # first: the choices scroll sideways
            buttons.insert(0, postback("決定", _data("ans", **ids, m=picked), "決定"))
        return buttons
    if kind == QuestionKind.YEAR:
        this_year = to_jst(now()).year
        return [
            postback(f"{y}年", _data("ans", **ids, v=y), f"{y}年")
            for y in range(this_year, this_year - YEARS_OFFERED, -1)
        ]
    return []


def question_message(
    step: rules.Step, lead: str = "", mask: int | None = None, *, toggled: bool = False
) -> Message:
    """「【3/13】」, the question and its help, what to do, and its quick replies: the answers,
    戻る (not on the first), スキップ (optional only) and やめる where LINE's 13 leave room.
    `toggled`: a multi question's choice was just picked or unpicked (a shorter text)."""
    q = step.question
    assert q is not None
    kind = QuestionKind(q.kind)
    ids = {"r": step.response.id, "t": step.response.attempt, "q": q.id}
    if kind == QuestionKind.MULTI and mask is None:
        mask = _mask(q, list(step.answer.values or [])) if step.answer else 0
    lines = [lead] if lead else []
    optional = "" if q.required else "（任意）"
    lines.append(f"【{step.number}/{step.total}】{optional}{q.text}")
    if q.help and not toggled:
        lines.append(q.help)
    if kind == QuestionKind.MULTI:
        chosen = [label for i, label in enumerate(_labels(q)) if (mask or 0) >> i & 1]
        lines.append("選択中: " + ("、".join(f"✓{c}" for c in chosen) if chosen else "なし"))
        lines.append(
            "ほかにもあれば続けて選び、最後に「決定」を押してください。"
            if toggled and chosen
            else "当てはまるものをすべて選んで、「決定」を押してください。"
        )
    elif kind == QuestionKind.YEAR:
        lines.append(
            "年を入力して送ってください（和暦でも構いません）。最近の年は下のボタンからも選べます。"
        )
    elif kind == QuestionKind.TEXT:
        lines.append(f"このトークに入力して送ってください（{rules.TEXT_MAX}文字まで）。")
    given = rules.answer_text(q, step.answer)  # back, 最初から: what is saved now
    if given and kind != QuestionKind.MULTI:
        lines.append(f"（いまの回答: {given}）")
    if not q.required and not toggled:
        lines.append(
            "特になければ「スキップ」を押してください。"
            if kind == QuestionKind.TEXT
            else "答えにくいときは「スキップ」を押してください。"
        )
    buttons = _answer_buttons(step, mask)
    if step.has_previous:
        buttons.append(postback("戻る", _data("back", **ids), "戻る"))
    if not q.required:
        buttons.append(postback("スキップ", _data("skip", **ids), "スキップ"))
    if len(buttons) < MAX_QUICK_REPLY_ITEMS:
        buttons.append(_stop(step.response.id))
    return text("\n".join(lines), buttons)


def _typed_kind(question: SurveyQuestion) -> bool:
    return QuestionKind(question.kind) in (QuestionKind.YEAR, QuestionKind.TEXT)


async def ask(
    turn: Turn, step: rules.Step, lead: str = "", mask: int | None = None, *, toggled: bool = False
) -> None:
    """The step's question (or the thanks when the response is complete)."""
    if step.question is None:
        await finish(turn, step, lead)
        return
    message = question_message(step, lead, mask, toggled=toggled)
    # Asked again after something typed that is no answer: the question without the lead.
    await remember(
        turn, step, question_message(step, "", mask, toggled=toggled) if lead else message
    )
    turn.reply(message)


async def remember(turn: Turn, step: rules.Step, message: Message | None = None) -> None:
    """Where typed text goes at the step's question: a year or text is the answer; at the
    others a typed label taps its button (anything else gets the question again)."""
    question = step.question
    if question is None:
        await state.clear(turn.user_id)
        return
    message = message or question_message(step)
    if _typed_kind(question):
        await state.wait_for_text(
            turn.user_id,
            FLOW,
            TYPED,
            {"r": step.response.id, "t": step.response.attempt, "q": question.id},
        )
        return
    actions = [item["action"] for item in message.get("quickReply", {}).get("items", [])]
    if QuestionKind(question.kind) == QuestionKind.MULTI:
        # 「ライター」 typed taps 「✓ライター」 too (unpicks it), as in the profile.
        actions = [{**a, "label": str(a["label"]).removeprefix("✓")} for a in actions]
    await state.wait_for_buttons(turn.user_id, FLOW, str(message.get("text", "")), actions)


async def finish(turn: Turn, step: rules.Step, lead: str = "") -> None:
    """The end: the survey's thanks and the way on."""
    await state.clear(turn.user_id)
    thanks = step.survey.thanks.strip() or "ご回答ありがとうございました。"
    fills = any(QuestionRole(q.role) in rules.PROFILE_FIELDS for q in step.questions)
    lines = [lead] if lead else []
    lines.append(f"アンケートは以上です。{thanks}🌺")
    quick = [parts.mypage_action(), parts.menu_action()]
    if fills:
        lines.append(
            "お仕事や暮らしについてのご回答は、プロフィールにも反映しました"
            "（下の「プロフィール」か、マイページから確認・変更できます）。"
        )
        quick.insert(0, _profile())
    turn.reply(text("\n".join(lines), quick))


# -- the steps ------------------------------------------------------------------------------


def _double_tap(turn: Turn, step: rules.Step) -> bool:
    return turn.event.event_time < step.response.answered_at + DOUBLE_TAP


async def stale(turn: Turn, error: rules.Stale) -> None:
    """A button of another attempt or question: silent when it is a double tap (the state
    of the question shown is kept), else where the response is now."""
    step = error.step
    if _double_tap(turn, step):
        await remember(turn, step)
        return
    if step.completed:
        await state.clear(turn.user_id)
        if rules.is_open(step.round, step.survey):
            await show_intro(turn, step.round.id)
        else:
            turn.reply(
                text(error.message, [_surveys(), parts.mypage_action(), parts.menu_action()])
            )
        return
    if not rules.is_open(step.round, step.survey):
        closed(turn, rules.RoundClosed(step.round))
        return
    await ask(turn, step, "そのボタンは前の質問のものです。いまの質問はこちらです。")


async def refused(turn: Turn, error: rules.ResponseError) -> None:
    """What a step the rules refused answers: a stale button where the response is now; a
    closed round, or a response that is not there, with the waiting step left."""
    if isinstance(error, rules.Stale):
        await stale(turn, error)
        return
    await state.clear(turn.user_id)
    if isinstance(error, rules.RoundClosed):
        closed(turn, error)
    else:
        await show_surveys(turn, error.message)


async def start(turn: Turn, round_id: int | None) -> None:
    """始める / 続きから: the response's current question (a new response at the first)."""
    if round_id is None:
        await show_surveys(turn)
        return
    try:
        step, created = await rules.start(turn.resident, round_id)
    except (rules.RoundClosed, rules.NotFound) as exc:
        await refused(turn, exc)
        return
    untouched = step.number == 1 and step.answer is None and not step.completed
    if not created and untouched and turn.event.event_time < step.response.started_at + DOUBLE_TAP:
        await remember(turn, step)  # 始める tapped twice: started and answered once
        return
    if step.completed:
        await show_intro(turn, round_id)
        return
    if not rules.is_open(step.round, step.survey):
        closed(turn, rules.RoundClosed(step.round))
        return
    if created:
        lead = "ありがとうございます。では、始めます。"
    else:
        lead = "前回の続きからです。"
    await ask(turn, step, lead)


async def on_question(turn: Turn, step_name: str, params: dict[str, str]) -> None:
    """ans / tog / skip / back on a question."""
    response_id, question_id = _int(params.get("r")), _int(params.get("q"))
    attempt = _small(params.get("t"), 10_000)
    try:
        if step_name == "tog":
            await toggle(turn, response_id, attempt, question_id, params.get("m"))
            return
        if step_name == "skip":
            step = await rules.skip(turn.resident, response_id, attempt, question_id)
        elif step_name == "back":
            step = await rules.back(turn.resident, response_id, attempt, question_id)
        else:
            value = await _value(turn, response_id, question_id, params)
            step = await rules.answer(turn.resident, response_id, attempt, question_id, value)
    except (rules.BadAnswer, rules.NotSkippable) as exc:
        await ask_again(turn, response_id, exc.message)
        return
    except (rules.Stale, rules.RoundClosed, rules.NotFound) as exc:
        await refused(turn, exc)
        return
    await ask(turn, step)


async def _value(
    turn: Turn, response_id: int | None, question_id: int | None, params: dict[str, str]
) -> str | list[str]:
    """The answer a button carries: `v` as it is, `c` a choice's value, `m` the picked
    choices' values (BadAnswer when it names no choice)."""
    question = await SurveyQuestion.get_or_none(id=question_id) if question_id else None
    if question is None:
        return str(params.get("v", ""))
    if "c" in params:
        index = _small(params.get("c"), 100)
        values = rules.choice_values(question)
        if index is None or index >= len(values):
            raise rules.BadAnswer("選択肢の中から選んでください。")
        return values[index]
    if "m" in params:
        mask = _small(params.get("m"), (1 << len(question.choices or [])) - 1)
        if mask is None:
            raise rules.BadAnswer("選択肢の中から選んでください。")
        return _picked(question, mask)
    return str(params.get("v", ""))


async def toggle(
    turn: Turn,
    response_id: int | None,
    attempt: int | None,
    question_id: int | None,
    mask_param: str | None,
) -> None:
    """A choice of a multi question picked or unpicked: the question again with ✓ (nothing
    is saved until 決定)."""
    response = await rules.response_for(turn.resident, response_id)
    step = await rules.step_of(response)
    if not rules.is_open(step.round, step.survey):
        raise rules.RoundClosed(step.round)
    question = step.question
    if (
        question is None
        or attempt != response.attempt
        or question.id != question_id
        or QuestionKind(question.kind) != QuestionKind.MULTI
    ):
        raise rules.Stale(step)
    mask = _small(mask_param, (1 << len(question.choices or [])) - 1)
    await ask(turn, step, mask=mask or 0, toggled=True)


async def ask_again(turn: Turn, response_id: int | None, problem: str) -> None:
    """The current question again after an answer it does not take."""
    try:
        response = await rules.response_for(turn.resident, response_id)
    except rules.NotFound as exc:
        await show_surveys(turn, exc.message)
        return
    await ask(turn, await rules.step_of(response), problem)


async def rewind(turn: Turn, params: dict[str, str]) -> None:
    """最初から: the first question, the answers kept (each shown as 前回の回答)."""
    try:
        step = await rules.rewind(
            turn.resident, _int(params.get("r")), _small(params.get("t"), 10_000)
        )
    except (rules.Stale, rules.RoundClosed, rules.NotFound) as exc:
        await refused(turn, exc)
        return
    await ask(
        turn, step, "最初の質問に戻りました。これまでの回答は、答え直すまでそのまま残ります。"
    )


async def ask_redo(turn: Turn, params: dict[str, str]) -> None:
    """回答し直す: first the confirmation."""
    response_id, attempt = _int(params.get("r")), _small(params.get("t"), 10_000)
    try:
        response = await rules.response_for(turn.resident, response_id)
    except rules.NotFound as exc:
        await show_surveys(turn, exc.message)
        return
    step = await rules.step_of(response)
    if not rules.is_open(step.round, step.survey):
        closed(turn, rules.RoundClosed(step.round))
        return
    if attempt != response.attempt or not step.completed:
        await stale(turn, rules.Stale(step))
        return
    yes = postback(
        "はい", _data("redo_yes", r=response.id, t=response.attempt), "はい、回答し直します"
    )
    no = postback("いいえ", _data("redo_no", r=response.id), "いいえ")
    done = f"（{cards.day(response.completed_at)}に回答）" if response.completed_at else ""
    await state.ask(
        turn,
        FLOW,
        confirm(
            "アンケートを回答し直しますか？",
            f"前回の回答{done}は置き換わります。最初から回答し直しますか？",
            yes,
            no,
        ),
        [yes, no],
    )


async def redo(turn: Turn, params: dict[str, str]) -> None:
    try:
        step = await rules.restart(
            turn.resident, _int(params.get("r")), _small(params.get("t"), 10_000)
        )
    except (rules.Stale, rules.RoundClosed, rules.NotFound) as exc:
        await refused(turn, exc)
        return
    await ask(turn, step, "前回の回答を消して、最初から回答します。")


# -- マイページ ------------------------------------------------------------------------------


async def show_mine(turn: Turn) -> None:
    """マイページ's part: the open rounds with the resident's status (未回答 → 回答する,
    回答途中 → 続きから, 回答済み → its date) and プロフィール."""
    rounds = (await rules.open_rounds())[:3]
    responses = await rules.responses_of(turn.resident, [r.id for r in rounds])
    entries = []
    buttons: list[Action] = []
    for round_ in rounds:
        response = responses.get(round_.id)
        current = None
        many = f"（{round_.title or round_.survey.title}）" if len(rounds) > 1 else ""
        if response is None:
            buttons.append(postback(f"回答する{many}", _data("intro", o=round_.id), "回答する"))
        elif response.status != ResponseStatus.COMPLETED:
            current = (await rules.step_of(response)).number
            buttons.append(postback(f"続きから{many}", _data("start", o=round_.id), "続きから"))
        entries.append((round_, response, current))
    buttons.append(_profile())
    turn.reply(
        flex(
            "アンケート・プロフィール",
            cards.mine_bubble(entries, buttons),
            [_surveys(), parts.menu_action()],
        )
    )


# -- the flow -------------------------------------------------------------------------------

QUESTION_STEPS = ("ans", "tog", "skip", "back")


class SurveyFlow:
    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        step = params.get("step", "")
        if step in QUESTION_STEPS:
            await on_question(turn, step, params)  # sets or keeps the state itself
            return
        if step == "start":
            await start(turn, _int(params.get("o")))
            return
        await state.clear(turn.user_id)
        if step == "intro":
            await show_intro(turn, _int(params.get("o")))
        elif step == "first":
            await rewind(turn, params)
        elif step == "redo":
            await ask_redo(turn, params)
        elif step == "redo_yes":
            await redo(turn, params)
        elif step == "redo_no":
            turn.reply(
                text(
                    "回答し直すのをやめました。前回の回答はそのままです。",
                    [parts.mypage_action(), parts.menu_action()],
                )
            )
        else:
            await show_surveys(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        """Typed at a year or text question: the answer (戻る and スキップ typed work too)."""
        data = waiting.data
        response_id = _int(str(data.get("r")))
        attempt = data.get("t") if isinstance(data.get("t"), int) else None
        question_id = _int(str(data.get("q")))
        word = intents.normalize(typed)
        ids = {"r": str(response_id), "t": str(attempt), "q": str(question_id)}
        question = await SurveyQuestion.get_or_none(id=question_id) if question_id else None
        optional = question is not None and not question.required
        if word in intents.BACK_WORDS:
            await on_question(turn, "back", ids)
        elif word in SKIP_WORDS or (optional and word in NOTHING_WORDS):
            await on_question(turn, "skip", ids)
        else:
            await on_question(turn, "ans", {**ids, "v": typed})

    async def finished(self, turn: Turn, params: dict[str, str]) -> bool:
        """やめる (`flow=cancel&of=survey&r=`): the answers so far are kept, and said so."""
        response_id = _int(params.get("r"))
        if response_id is None:
            return False
        try:
            response = await rules.response_for(turn.resident, response_id)
        except rules.NotFound:
            return False
        await state.clear(turn.user_id)
        step = await rules.step_of(response)
        if step.completed:
            turn.reply(
                text(
                    "このアンケートは回答済みです。ご協力ありがとうございました。",
                    [parts.mypage_action(), parts.menu_action()],
                )
            )
            return True
        turn.reply(
            text(
                "回答を中断しました。ここまでの回答は保存してあります。\n"
                f"{cards.day(step.round.closes_at)}までに、メニューの「アンケート」または"
                "マイページから、続きを回答できます。",
                [_surveys(), parts.mypage_action(), parts.menu_action()],
            )
        )
        return True
