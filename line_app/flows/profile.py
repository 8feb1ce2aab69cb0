"""マイページ → プロフィール: the resident's profile as a card (each field, 未回答 where not
told, and why we ask), and editing it one field at a time: 編集する → the field →
職種・スキル as ✓ toggles and 決定 (その他 → the occupation typed), 子育て中 / 副業 /
フリーランスの収入 as はい / いいえ / 答えない, 年収の目安 and お住まいの地区 from their lists,
地元・移住 (移住 → the year, tapped or typed; full-width digits are fine) → the updated card.

The rules are shima.domain.profiles': this module only translates (`ProfileError`'s message
is the answer, and the question is asked again). Buttons carry everything they need — the
toggles carry the whole selection — so an old button still does what it says; one that names
no field or value of the profile (forged, or from an older version) is answered with the
question again and changes nothing. A button tapped twice within a few seconds (a double
tap) is saved and answered once. The typed steps (the year, the occupation) wait in a
conversation state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from line_app import intents, state
from line_app.flows import card_parts as parts
from line_app.messages import Action, Message, flex, postback, postback_data, text
from line_app.turn import Turn
from models.conversation import ConversationState
from models.inbox import InboxEvent
from models.profiles import ResidentProfile
from shima.domain import profiles
from shima.domain import survey_responses as answers
from shima.timeutil import now, to_jst

FLOW = "profile"
WHY = "お聞きする理由: 支援の改善と計画の成果確認のため。集計して使います。"
# The fields a resident picks to edit, with their button labels (the occupation is asked
# after 職種・スキル's その他, the year after 移住).
EDITABLE: dict[str, str] = {
    "skills": "職種・スキル",
    "raising_children": "子育て中",
    "side_job": "副業",
    "freelance_income": "フリーランスの収入",
    "income_band": "年収の目安",
    "residency": "地元・移住",
    "district": "お住まいの地区",
}
YES_NO_FIELDS = ("raising_children", "side_job", "freelance_income")
YES_NO: dict[str, bool | None] = {"yes": True, "no": False, "": None}
YES_NO_LABELS = (("はい", "yes"), ("いいえ", "no"), ("答えない", ""))
LISTS: dict[str, dict[str, str]] = {
    "income_band": profiles.INCOME_BANDS,
    "residency": profiles.RESIDENCY,
    "district": profiles.DISTRICTS,
}
QUESTIONS: dict[str, str] = {
    "raising_children": "いま、子育てをしていますか？",
    "side_job": "本業とは別に、副業としてフリーランスの仕事をしていますか？",
    "freelance_income": "この1年に、フリーランスの仕事で収入がありましたか？",
    "income_band": "フリーランスの仕事の年収は、おおよそどのくらいですか？",
    "residency": "奄美との関わりを教えてください。",
    "district": "お住まいの地区を選んでください。",
}
MIGRANT = "migrant"
OTHER_SKILL = "other"
RECENT_YEARS = 6  # the year step's buttons: this year and the five before it
YEAR_STEP, OCCUPATION_STEP = "year", "occupation"
# Typed at the year or occupation step: leave it as it is.
SKIP_WORDS = frozenset(
    intents.normalize(w) for w in ("スキップ", "答えない", "変更しない", "このまま", "なし")
)
# The same button tapped again this soon after is a double tap: answered once.
DOUBLE_TAP = timedelta(seconds=5)
STALE = "すみません、そのボタンは使えなくなりました。もう一度お選びください。"


def _data(step: str | None = None, **params: object) -> str:
    return postback_data(FLOW, step, **params)


def _back(data: str) -> Action:
    return postback("戻る", data, "戻る")


def _stop() -> Action:
    return postback("やめる", postback_data("cancel", of=FLOW), "やめる")


def _edit() -> Action:
    return postback("編集する", _data("edit"), "プロフィールを編集する")


def _lead(lead: str) -> str:
    return lead + "\n" if lead else ""


def _codes(raw: str) -> list[str]:
    """The skill codes a button carries, in the list's order (unknown ones dropped)."""
    given = set(raw.split(","))
    return [code for code in profiles.SKILLS if code in given]


# -- the card -----------------------------------------------------------------------------


def _item(label: str, value: str) -> dict[str, Any]:
    """A field: its label above its value (labels are too long to sit beside it)."""
    unanswered = value == "未回答"
    return {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {"type": "text", "text": label, "size": "xs", "color": parts.MUTED},
            {
                "type": "text",
                "text": value,
                "size": "sm",
                "wrap": True,
                **({"color": parts.MUTED} if unanswered else {"weight": "bold"}),
            },
        ],
    }


def _rows(profile: ResidentProfile) -> list[dict[str, Any]]:
    """describe()'s fields, with the occupation shown inside その他 and the year beside 移住."""
    rows = []
    for field in profiles.describe(profile):
        value = field.text
        if field.field in ("occupation", "moved_year"):
            continue
        if field.field == "skills" and OTHER_SKILL in profile.skills and profile.occupation:
            other = profiles.SKILLS[OTHER_SKILL]
            value = value.replace(other, f"{other}（{profile.occupation}）")
        if field.field == "residency" and profile.residency == MIGRANT and profile.moved_year:
            value = f"{value}（{profile.moved_year}年）"
        rows.append(_item(field.label, value))
    return rows


def card(profile: ResidentProfile, lead: str = "") -> Message:
    bubble = parts.bubble(
        "プロフィール",
        parts.SEA,
        _rows(profile),
        [_edit()],
        lead=[parts.paragraph(lead)] if lead else None,
        footnote=WHY,
    )
    return flex(
        "プロフィール" + (f"（{lead}）" if lead else ""),
        bubble,
        [parts.mypage_action(), parts.menu_action()],
    )


async def show_card(turn: Turn, lead: str = "") -> None:
    await state.clear(turn.user_id)
    turn.reply(card(await profiles.profile_of(turn.resident.id), lead))


# -- the questions ------------------------------------------------------------------------


async def ask_which(turn: Turn, lead: str = "") -> None:
    buttons = [
        postback(label, _data("field", f=name), f"{label}を編集")
        for name, label in EDITABLE.items()
    ]
    await state.ask(
        turn,
        FLOW,
        text(_lead(lead) + "どの項目を編集しますか？", [*buttons, _back(_data()), _stop()]),
    )


async def ask_field(turn: Turn, field: str, lead: str = "") -> None:
    """The question of `field` with its choices (and what is saved now, if anything)."""
    if field == "skills":
        await ask_skills(turn, (await profiles.profile_of(turn.resident.id)).skills, lead)
        return
    profile = await profiles.profile_of(turn.resident.id)
    saved = profiles.value_text(field, getattr(profile, field))
    if field == "residency" and profile.residency == MIGRANT and profile.moved_year:
        saved += f"（{profile.moved_year}年）"
    if field in YES_NO_FIELDS:
        choices = [
            postback(label, _data("set", f=field, v=value), label) for label, value in YES_NO_LABELS
        ]
    else:
        choices = [
            postback(
                label, _data("year") if code == MIGRANT else _data("set", f=field, v=code), label
            )
            for code, label in LISTS[field].items()
        ]
        choices.append(postback("答えない", _data("set", f=field, v=""), "答えない"))
    now_saved = f"\n（いまの登録: {saved}）" if saved != "未回答" else ""
    await state.ask(
        turn,
        FLOW,
        text(
            _lead(lead) + QUESTIONS[field] + now_saved,
            [*choices, _back(_data("edit")), _stop()],
        ),
    )


async def ask_skills(turn: Turn, chosen: list[str], lead: str = "") -> None:
    """The skills as toggles: each button carries the selection it makes; 決定 saves it."""
    toggles, typed = [], []
    for code, label in profiles.SKILLS.items():
        picked = code in chosen
        after = [c for c in profiles.SKILLS if (c in chosen) != (c == code)]
        data = _data("skills", v=",".join(after))
        shown = f"{label}を外す" if picked else label
        toggles.append(postback(("✓ " if picked else "") + label, data, shown))
        typed.append(postback(label, data, shown))  # typed 「ライター」 toggles it too
    # 決定 first: the eight choices scroll sideways past a phone's width.
    done = postback("決定", _data("skills_ok", v=",".join(chosen)), "決定")
    tail = [_back(_data("edit")), _stop()]
    names = "、".join(profiles.SKILLS[c] for c in chosen) or "なし"
    await state.ask(
        turn,
        FLOW,
        text(
            _lead(lead) + "お仕事の職種・スキルを選んでください（いくつでも）。\n"
            "押すたびに ✓ が付いたり外れたりします。選び終わったら「決定」を押してください。\n"
            f"\nいま選んでいるもの: {names}",
            [done, *toggles, *tail],
        ),
        [done, *typed, *tail],
    )


async def ask_occupation(turn: Turn, lead: str = "") -> None:
    profile = await profiles.profile_of(turn.resident.id)
    await state.wait_for_text(turn.user_id, FLOW, OCCUPATION_STEP, {})
    saved = profile.occupation
    keep = "変更しない" if saved else "スキップ"
    body = (
        _lead(lead) + "「その他」のお仕事の内容を教えてください"
        f"（{profiles.OCCUPATION_MAX}文字まで）。\n例: 「翻訳」「大島紬の染め」"
    )
    if saved:
        body += f"\n\nいまの内容: {saved}"
    turn.reply(
        text(
            body,
            [
                postback(keep, _data("occupation_keep"), keep),
                _back(_data("skills", v=",".join(profile.skills))),
                _stop(),
            ],
        )
    )


async def ask_year(turn: Turn, lead: str = "") -> None:
    profile = await profiles.profile_of(turn.resident.id)
    await state.wait_for_text(turn.user_id, FLOW, YEAR_STEP, {})
    this_year = to_jst(now()).year
    years = [
        postback(f"{y}年", _data("set_year", y=y), f"{y}年")
        for y in range(this_year, this_year - RECENT_YEARS, -1)
    ]
    body = (
        _lead(lead) + "奄美に移住したのは何年ですか？\n"
        "下から選ぶか、入力して送ってください（例: 2019、令和元年）。"
    )
    if profile.residency == MIGRANT and profile.moved_year:
        body += f"\n（いまの登録: {profile.moved_year}年）"
    turn.reply(
        text(
            body,
            [
                *years,
                postback("答えない", _data("set_year", y=""), "移住した年は答えない"),
                _back(_data("field", f="residency")),
                _stop(),
            ],
        )
    )


# -- saving -------------------------------------------------------------------------------


def _tapped(event: InboxEvent) -> str | None:
    postback = event.payload.get("postback") if event.event_type == "postback" else None
    return str(postback.get("data", "")) if isinstance(postback, dict) else None


async def _double_tap(turn: Turn, changes: dict[str, Any]) -> bool:
    """The button the resident tapped just before, tapped again at once (a card's buttons
    stay), with its values saved already: the first tap was answered."""
    data = _tapped(turn.event)
    if data is None:
        return False  # typed: every message gets its answer
    previous = (
        await InboxEvent.filter(line_user_id=turn.user_id, id__lt=turn.event.id)
        .order_by("-id")
        .first()
    )
    if previous is None or _tapped(previous) != data:
        return False
    if turn.event.event_time - previous.event_time >= DOUBLE_TAP:
        return False
    profile = await profiles.profile_of(turn.resident.id)
    try:
        return all(getattr(profile, n) == profiles.clean(n, v) for n, v in changes.items())
    except profiles.ProfileError:
        return False


async def _save(turn: Turn, changes: dict[str, Any], field: str) -> bool:
    """Save `changes` as the resident's; a refusal asks `field` again with its message.
    True when saved (the caller answers), False when answered already."""
    if await _double_tap(turn, changes):
        return False
    try:
        await profiles.update(turn.resident.id, changes, by=profiles.BY_RESIDENT)
    except profiles.ProfileError as exc:
        if field == YEAR_STEP:
            await ask_year(turn, str(exc))
        elif field == OCCUPATION_STEP:
            await ask_occupation(turn, str(exc))
        else:
            await ask_field(turn, field, str(exc))
        return False
    return True


def _saved(field: str) -> str:
    return f"「{EDITABLE[field]}」を保存しました。"


async def save_choice(turn: Turn, field: str, value: str | None) -> None:
    """はい / いいえ / 答えない, or a code from a list (移住 asks the year first)."""
    if field in YES_NO_FIELDS and value in YES_NO:
        changes: dict[str, Any] = {field: YES_NO[value or ""]}
    elif field == "residency" and value == MIGRANT:
        await ask_year(turn)  # 移住 comes with its year
        return
    elif field in LISTS and value is not None:
        changes = {field: value}
    elif field in EDITABLE:
        await ask_field(turn, field, STALE)
        return
    else:
        await ask_which(turn, STALE)
        return
    if await _save(turn, changes, field):
        await show_card(turn, _saved(field))


async def save_year(turn: Turn, typed: str) -> None:
    """移住 with the year (tapped or typed, 和暦 too; "" — 答えない — saves 移住 without
    one)."""
    year = answers.read_year(typed) if typed else None
    if year is None and typed and not typed.strip().isdigit():
        await ask_year(
            turn, "移住した年は、西暦（例: 2019）か和暦（例: 令和元年）で入力してください。"
        )
        return
    given = year if year is not None else typed  # other numbers: the rule says which years
    if await _save(turn, {"residency": MIGRANT, "moved_year": given}, YEAR_STEP):
        await show_card(turn, _saved("residency"))


async def save_skills(turn: Turn, codes: list[str]) -> None:
    """決定: the selection is saved; with その他 the occupation is asked next."""
    if not await _save(turn, {"skills": codes}, "skills"):
        return
    if OTHER_SKILL in codes:
        await ask_occupation(turn, _saved("skills"))
    else:
        await show_card(turn, _saved("skills"))


async def save_occupation(turn: Turn, typed: str) -> None:
    if await _save(turn, {"occupation": typed}, OCCUPATION_STEP):
        await show_card(turn, _saved("skills"))


# -- the flow ----------------------------------------------------------------------------


class ProfileFlow:
    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        step = params.get("step", "")
        await state.clear(turn.user_id)  # a tap leaves a step waiting for text
        if step == "edit":
            await ask_which(turn)
        elif step == "field":
            field = params.get("f", "")
            if field in EDITABLE:
                await ask_field(turn, field)
            else:
                await ask_which(turn, STALE)
        elif step == "set":
            await save_choice(turn, params.get("f", ""), params.get("v"))
        elif step == "year":
            await ask_year(turn)
        elif step == "set_year":
            await save_year(turn, params.get("y", ""))
        elif step == "skills":
            await ask_skills(turn, _codes(params.get("v", "")))
        elif step == "skills_ok" and "v" in params:
            await save_skills(turn, _codes(params["v"]))
        elif step == "skills_ok":
            await ask_field(turn, "skills", STALE)
        elif step == "occupation_keep":
            await show_card(turn, _saved("skills"))
        else:
            await show_card(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        """Typed at the year or the occupation step (the other steps are buttons)."""
        words = intents.normalize(typed)
        if waiting.step == YEAR_STEP:
            if words in intents.BACK_WORDS:
                await state.clear(turn.user_id)
                await ask_field(turn, "residency")
            elif words in SKIP_WORDS:
                await state.clear(turn.user_id)
                await save_year(turn, "")
            else:
                await save_year(turn, typed)
            return
        if waiting.step == OCCUPATION_STEP:
            if words in intents.BACK_WORDS:
                await state.clear(turn.user_id)
                await ask_skills(turn, (await profiles.profile_of(turn.resident.id)).skills)
            elif words in SKIP_WORDS:
                await show_card(turn, _saved("skills"))
            else:
                await save_occupation(turn, typed)
            return
        await show_card(turn)

    async def finished(self, turn: Turn, params: dict[str, str]) -> bool:
        """やめる (`flow=cancel&of=profile`): what was saved stays, and the answer says so."""
        await state.clear(turn.user_id)
        turn.reply(
            text(
                "プロフィールの編集をやめました。保存した内容はそのままです。",
                [postback("プロフィール", _data(), "プロフィール"), parts.menu_action()],
            )
        )
        return True
