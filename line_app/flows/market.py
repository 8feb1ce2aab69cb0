"""ハンドメイドマーケット in LINE: the markets open for applications (and the next one coming)
→ choose → 出店者名・屋号 → ジャンル → 販売するもの → 作品の写真 (line_app.flows.market_photos) →
ブース数 (where 2 are allowed) → 机・椅子と電源 → SNS・URL (optional) → the summary with
thumbnails → 申し込む → 受付完了（審査中）. Also マイページ's part (`show_mine`): each application
with its status, booth and fee deadline, and 内容を見る / 修正する / 取り下げる; fixing and
resubmitting after a 差し戻し; answering a 補欠 offer (出店する / 辞退する).

The rules are shima.domain.market's: this module only translates (`MarketError.message` is
the answer). The application is a draft in the database saved at every step
(`rules.save(..., step=<where it goes on>)`), so an artist interrupted mid-way continues
days later from the list (「続きから」). Buttons carry the application id (`a=`): one that is
not the resident's own is answered as not found and changes nothing. The summary's 申し込む
carries a nonce `k` made when the summary is shown; `rules.submit` keeps it, so a double tap
submits once (and a second tap within 5 s stays silent). `e=1` on a step's buttons means the
artist came from 修正する: after the answer they see the summary again, not the next step.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from line_app import intents, state
from line_app.flows import card_parts as parts
from line_app.flows import market_cards as cards
from line_app.flows import market_photos as photos
from line_app.ids import parse_id as _int
from line_app.messages import (
    Action,
    Message,
    confirm,
    postback,
    postback_data,
    quick_reply,
    text,
)
from line_app.notices import market as notices
from line_app.turn import Turn
from models.conversation import ConversationState
from models.market import ApplicationStatus, Market, MarketApplication
from shima.domain import market as rules
from shima.domain import market_photos as photo_rules
from shima.timeutil import format_date_ja, format_jst, now

FLOW = "market"
NAME, CATEGORY, ITEMS, PHOTOS, BOOTHS, NEEDS, URL, CONFIRM = rules.STEPS
TEXT_STEPS = (NAME, ITEMS, URL)
# Where each step's question starts its sentence in マイページ (「ジャンルまで入力済み」).
STEP_LABELS = {
    NAME: "出店者名・屋号",
    CATEGORY: "ジャンル",
    ITEMS: "販売するもの",
    PHOTOS: "作品の写真",
    BOOTHS: "ブース数",
    NEEDS: "机・椅子と電源",
    URL: "SNS・URL",
    CONFIRM: "内容の確認",
}
# 申し込む tapped again before the answer could arrive is a double tap: answered once.
DOUBLE_TAP = timedelta(seconds=5)


def _words(*words: str) -> frozenset[str]:
    return frozenset(intents.normalize(w) for w in words)


SKIP_WORDS = _words(
    "スキップ", "なし", "ない", "特になし", "ありません", "skip", "URLなしにする", "URLはありません"
)
# 「このまま次へ」/「変更しない」 typed at a question with something saved: keep it.
KEEP_WORDS = _words(
    "このまま次へ", "変更しない", "このまま", "このままで", "そのまま", "そのままで", "変更なし"
)
NEXT_WORDS = _words("次へ", "次", "完了", "以上です", "これで全部です")
NEEDS_CHOICES = (  # label, 机・椅子, 電源
    ("机・椅子と電源", True, True),
    ("机・椅子のみ", True, False),
    ("電源のみ", False, True),
    ("どちらも不要", False, False),
)
QUICK_CATEGORIES = 11  # 13 quick replies, less 戻る and やめる
PRESS_A_BUTTON = "すみません、ここでは下のボタンからお選びください。"
# How the artist comes back (the rich menu's tile; 「マーケット」 typed works too).
FROM_MENU = "メニューの「ハンドメイドマーケット」から"
# Statuses a withdrawal is offered for (the rules decide; a button is offered only where it
# can work).
WITHDRAWABLE = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.RETURNED,
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.RESERVE,
)

# -- buttons ------------------------------------------------------------------------------


def _data(step: str | None = None, **params: object) -> str:
    return postback_data(FLOW, step, **params)


def _edit_flag(edit: bool) -> int | None:
    return 1 if edit else None


def _back(data: str) -> Action:
    return postback("戻る", data, "戻る")


def _stop(app_id: int | None = None) -> Action:
    return postback("やめる", postback_data("cancel", of=FLOW, a=app_id), "やめる")


def _markets() -> Action:
    return postback("マーケット一覧", _data(), "マーケット一覧")


def _mine() -> Action:
    return postback("出店申込の確認", _data("mine"), "出店申込の確認")


def _ask_data(app: MarketApplication, step: str, edit: bool = False) -> str:
    return _data("ask", a=app.id, q=step, e=_edit_flag(edit))


def _summary_data(app: MarketApplication) -> str:
    return _data("summary", a=app.id)


def _small(value: str | None) -> int | None:
    """A small number from a button (a genre's index, a booth count); None when not one."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 2:
        return None
    return int(value)


def _lead(lead: str) -> str:
    return lead + "\n\n" if lead else ""


# -- steps in order -----------------------------------------------------------------------


def _asks_booths(market: Market, app: MarketApplication) -> bool:
    return market.allow_two_booths or app.booths_requested > 1


def _following(app: MarketApplication, step: str) -> str:
    """The step after `step` in a draft (ブース数 only where 2 booths may be asked for)."""
    at = rules.STEPS.index(step) if step in rules.STEPS else 0
    for candidate in rules.STEPS[at + 1 :]:
        if candidate == BOOTHS and not _asks_booths(app.market, app):
            continue
        return candidate
    return CONFIRM


def _preceding(app: MarketApplication, step: str) -> str | None:
    """The step before `step` in a draft; None before the first (the list of markets)."""
    at = rules.STEPS.index(step) if step in rules.STEPS else 0
    for candidate in reversed(rules.STEPS[:at]):
        if candidate == BOOTHS and not _asks_booths(app.market, app):
            continue
        return candidate
    return None


def _is_draft(app: MarketApplication) -> bool:
    return app.status == ApplicationStatus.DRAFT


def _goes_on_to(app: MarketApplication, step: str, edit: bool) -> str:
    """After answering `step`: the next question in a draft, else (修正する, or an application
    already sent) the summary."""
    return _following(app, step) if _is_draft(app) and not edit else CONFIRM


def _back_from(app: MarketApplication, step: str, edit: bool) -> str:
    """戻る at `step`: the previous question in a draft, the summary when editing, and the
    list of markets before the first question."""
    if edit or not _is_draft(app):
        return _summary_data(app)
    previous = _preceding(app, step)
    return _data() if previous is None else _ask_data(app, previous)


# -- loading and errors -------------------------------------------------------------------


async def _own(turn: Turn, app_id: int | None) -> MarketApplication | None:
    """The resident's own application (market loaded); None — answered — for another
    resident's id, a forged one or one that does not exist."""
    try:
        if app_id is None:
            raise rules.NotYours
        return await rules.get_own(turn.resident, app_id)
    except rules.NotYours as exc:
        await state.clear(turn.user_id)
        turn.reply(text(exc.message, [_mine(), _markets(), parts.menu_action()]))
        return None


async def _refused(turn: Turn, exc: rules.MarketError, app: MarketApplication | None) -> None:
    """A rule said no (window closed, not editable any more, …): its message, nothing changed."""
    await state.clear(turn.user_id)
    buttons = [_markets(), parts.menu_action()]
    if app is not None:
        buttons.insert(0, postback("申込み内容を見る", _data("view", a=app.id), "申込み内容を見る"))
    turn.reply(text(exc.message, buttons))


# -- the list -----------------------------------------------------------------------------


async def _mine_by_market(turn: Turn, market_ids: list[int]) -> dict[int, MarketApplication]:
    rows = await MarketApplication.filter(
        resident_id=turn.resident.id, market_id__in=market_ids
    ).exclude(status=ApplicationStatus.WITHDRAWN)
    return {row.market_id: row for row in rows}


def _mine_label(app: MarketApplication) -> str:
    if _is_draft(app):
        return "入力中（前回の続きから再開できます）"
    return f"お申し込み済み（{cards.status_label(app)}）"


async def show_list(turn: Turn, lead: str = "") -> None:
    await state.clear(turn.user_id)
    open_now = await rules.open_markets()
    coming = await rules.upcoming_markets()
    if not open_now:
        if coming:
            nxt = coming[0]
            words = (
                f"次回は「{nxt.name}」（{cards.when(nxt)}、{nxt.venue}）です。\n"
                f"出店申込みの受付期間は {rules.window_text(nxt)} です。受付が始まったら、"
                f"{FROM_MENU}お申し込みください。"
            )
        else:
            words = (
                "次回の日程が決まりしだい、このLINEやイベント・お知らせでご案内します。"
                "またのぞいてみてください。"
            )
        turn.reply(
            text(
                _lead(lead) + "いま出店申込みを受け付けているハンドメイドマーケットは"
                "ありません。🌺\n" + words,
                [_mine(), parts.menu_action()],
            )
        )
        return
    shown = open_now[: cards.MAX_BUBBLES - 1]
    mine = await _mine_by_market(turn, [m.id for m in shown])
    bubbles = []
    for market in shown:
        app = mine.get(market.id)
        if app is None:
            button = postback("申し込む", _data("pick", m=market.id), f"{market.name}に申し込む")
        elif _is_draft(app):
            button = postback("続きから", _data("pick", m=market.id), f"{market.name}の続きから")
        else:
            button = postback(
                "申込み内容を見る", _data("view", a=app.id), f"{market.name}の申込み内容"
            )
        bubbles.append(
            cards.market_bubble(
                market,
                rules.window_text(market),
                [button],
                mine=_mine_label(app) if app else "",
            )
        )
    if coming:
        bubbles.append(cards.upcoming_bubble(coming[0], rules.window_text(coming[0])))
    if any(_is_draft(app) for app in mine.values()):
        how = "入力の途中のお申し込みは「続きから」で再開できます。"
    elif len(mine) == len(shown):
        how = "お申し込みの内容は「申込み内容を見る」からご確認いただけます。"
    else:
        how = (
            "「申し込む」から、出店者名・ジャンル・作品の写真などをお送りください。"
            "入力はその都度保存されるので、途中でやめても続きから再開できます。"
        )
    turn.reply(
        text(_lead(lead) + "出店者を募集中のハンドメイドマーケットです。🌺\n" + how),
        cards.carousel(
            f"出店者募集中のハンドメイドマーケット {len(shown)}件",
            bubbles,
            [_mine(), _back(postback_data("menu")), _stop()],
        ),
    )


async def pick(turn: Turn, market_id: int | None) -> None:
    """申し込む / 続きから on a market: a new draft, or the one they have (one per market)."""
    if market_id is None:
        await show_list(turn)
        return
    try:
        app = await rules.start(turn.resident, market_id)
    except rules.MarketError as exc:
        await show_list(turn, exc.message)
        return
    market = app.market
    if not _is_draft(app):
        await show_summary(turn, app, "このマーケットには、すでにお申し込みいただいています。")
        return
    if not await _editable(turn, app, None, False):  # a draft left until the window closed
        return
    if app.step == NAME and not app.artist_name:
        notes = cards.notes_in_full(market)
        if notes:
            turn.reply(text(notes))
        lead = (
            f"{cards.title(market)}への出店申込みを始めます。\n"
            f"入力した内容はその都度保存されます。途中でやめても、あとで{FROM_MENU}"
            "続きを入力できます。"
        )
        await ask_step(turn, app, NAME, lead=lead)
        return
    step = app.step if app.step in rules.STEPS else NAME
    await ask_step(turn, app, step, lead=f"{cards.title(market)}の出店申込みの続きです。")


# -- the questions ------------------------------------------------------------------------


async def ask_step(
    turn: Turn, app: MarketApplication, step: str, *, edit: bool = False, lead: str = ""
) -> None:
    """Ask the question of `step` (the summary for CONFIRM)."""
    if step == BOOTHS and not _asks_booths(app.market, app):
        step = _goes_on_to(app, BOOTHS, edit)
    if step == CONFIRM:
        await show_summary(turn, app, lead)
    elif step in TEXT_STEPS:
        await _ask_text(turn, app, step, edit, lead)
    elif step == CATEGORY:
        await _ask_category(turn, app, edit, lead)
    elif step == PHOTOS:
        await photos.ask_for_photos(
            turn,
            app,
            lead=lead,
            back=_back_from(app, PHOTOS, edit),
            done=_data("photos_done", a=app.id, e=_edit_flag(edit)),
            reset=_data("photos_reset", a=app.id, e=_edit_flag(edit)),
            stop=_stop(app.id),
        )
    elif step == BOOTHS:
        await _ask_booths(turn, app, edit, lead)
    else:
        await _ask_needs(turn, app, edit, lead)


def _keep_button(app: MarketApplication, step: str, edit: bool) -> Action | None:
    """「変更しない」: move on with what is saved (when something is)."""
    saved = {NAME: app.artist_name, ITEMS: app.items, URL: app.url}.get(step, "")
    if not saved:
        return None
    label = "変更しない" if edit or not _is_draft(app) else "このまま次へ"
    return postback(label, _data("keep", a=app.id, q=step, e=_edit_flag(edit)), label)


async def _ask_text(turn: Turn, app: MarketApplication, step: str, edit: bool, lead: str) -> None:
    await state.wait_for_text(turn.user_id, FLOW, step, {"a": app.id, "e": int(edit)})
    if step == NAME:
        question = (
            "出店者名・屋号を教えてください"
            f"（{rules.ARTIST_NAME_MAX}文字まで）。\n当日の案内やブース表示に使います。"
        )
        saved = app.artist_name
    elif step == ITEMS:
        question = (
            "販売するものを教えてください"
            f"（{rules.ITEMS_MAX:,}文字まで）。\n"
            "例: 「夜光貝のピアスとネックレス。価格帯は1,500〜4,000円」"
        )
        saved = app.items
    else:
        question = (
            "作品や活動がわかるSNSやネットショップのURLがあれば送ってください。\n"
            "例: https://www.instagram.com/〇〇（Instagramは @アカウント名 でも大丈夫です）"
        )
        if not lead:  # an error's lead says it already
            question += "\nなければ「スキップ」を押してください。"
        saved = app.url
    if saved:
        shown = saved if len(saved) <= 100 else saved[:100] + "…"
        question += f"\n\nいまの内容: {shown}"
    buttons: list[Action] = []
    keep = _keep_button(app, step, edit)
    if step == URL:
        label = "URLなしにする" if app.url else "スキップ"
        buttons.append(
            postback(label, _data("nourl", a=app.id, e=_edit_flag(edit)), "URLはありません")
        )
    if keep is not None:
        buttons.append(keep)
    buttons += [_back(_back_from(app, step, edit)), _stop(app.id)]
    turn.reply(text(_lead(lead) + question, buttons))


async def _ask_category(turn: Turn, app: MarketApplication, edit: bool, lead: str) -> None:
    categories = rules.categories_of(app.market)
    choices = [
        postback(name, _data("cat", a=app.id, v=i, e=_edit_flag(edit)), name)
        for i, name in enumerate(categories)
    ]
    tail = [_back(_back_from(app, CATEGORY, edit)), _stop(app.id)]
    saved = f"\n（いまの登録: {app.category}）" if app.category else ""
    question = f"{_lead(lead)}出品する作品のジャンルを選んでください。{saved}"
    if len(choices) <= QUICK_CATEGORIES:
        await state.ask(turn, FLOW, text(question, choices + tail))
        return
    # More than quick replies hold: the choices as a card's buttons.
    turn.reply(text(question))
    await state.ask(
        turn, FLOW, cards.choices_card("ジャンルを選んでください", choices, tail), choices + tail
    )


async def _ask_booths(turn: Turn, app: MarketApplication, edit: bool, lead: str) -> None:
    market = app.market
    fee = f"\n出店料は1ブース{market.booth_fee:,}円です。" if market.booth_fee > 0 else ""
    await state.ask(
        turn,
        FLOW,
        text(
            f"{_lead(lead)}ご希望のブース数を選んでください。\n"
            f"このマーケットは、1人2ブースまでお申し込みいただけます。{fee}",
            [
                postback(
                    f"{n}ブース",
                    _data("booths", a=app.id, v=n, e=_edit_flag(edit)),
                    f"{n}ブース希望",
                )
                for n in (1, 2)
            ]
            + [_back(_back_from(app, BOOTHS, edit)), _stop(app.id)],
        ),
    )


async def _ask_needs(turn: Turn, app: MarketApplication, edit: bool, lead: str) -> None:
    choices = [
        postback(
            label,
            _data("needs", a=app.id, t=int(table), p=int(power), e=_edit_flag(edit)),
            label if table or power else "机・椅子と電源は不要です",
        )
        for label, table, power in NEEDS_CHOICES
    ]
    await state.ask(
        turn,
        FLOW,
        text(
            f"{_lead(lead)}机・椅子の貸出と電源は必要ですか？\n"
            "（貸出の数に限りがあるため、持参できるものはお持ちください）",
            [*choices, _back(_back_from(app, NEEDS, edit)), _stop(app.id)],
        ),
    )


# -- answers ------------------------------------------------------------------------------


async def _save_and_go_on(
    turn: Turn, app: MarketApplication, step: str, edit: bool, **fields: Any
) -> None:
    """Save the answer of `step` with where the draft goes on, then ask that."""
    nxt = _goes_on_to(app, step, edit)
    try:
        app = await rules.save(
            turn.resident, app.id, step=nxt if _is_draft(app) and not edit else None, **fields
        )
    except rules.BadValue as exc:
        await ask_step(turn, app, step, edit=edit, lead=exc.message)
        return
    except rules.MarketError as exc:
        await _refused(turn, exc, app)
        return
    lead = "内容を更新しました。" if edit or not _is_draft(app) else ""
    await ask_step(turn, app, nxt, edit=edit, lead=lead if nxt == CONFIRM else "")


async def _editable(turn: Turn, app: MarketApplication, step: str | None, edit: bool) -> bool:
    """Whether the application may change now (window, status): checked — and the draft's
    step saved — by the rules; a refusal is answered."""
    try:
        await rules.save(turn.resident, app.id, step=step if _is_draft(app) and not edit else None)
    except rules.MarketError as exc:
        await _refused(turn, exc, app)
        return False
    return True


async def on_step(turn: Turn, step: str, params: dict[str, str]) -> None:
    app = await _own(turn, _int(params.get("a")))
    if app is None:
        return
    edit = params.get("e") == "1"
    if step == "ask":
        wanted = params.get("q", "")
        if wanted not in rules.STEPS:
            wanted = app.step if app.step in rules.STEPS else NAME
        if await _editable(turn, app, wanted, edit):
            await ask_step(turn, app, wanted, edit=edit)
    elif step == "keep":
        wanted = params.get("q", "")
        if wanted not in TEXT_STEPS:
            await ask_step(turn, app, app.step, edit=edit)
        else:
            await _save_and_go_on(turn, app, wanted, edit)
    elif step == "cat":
        categories = rules.categories_of(app.market)
        index = _small(params.get("v"))
        if index is None or index >= len(categories):
            await ask_step(turn, app, CATEGORY, edit=edit, lead=PRESS_A_BUTTON)
            return
        await _save_and_go_on(turn, app, CATEGORY, edit, category=categories[index])
    elif step == "booths":
        count = _small(params.get("v"))
        await _save_and_go_on(turn, app, BOOTHS, edit, booths_requested=count or 0)
    elif step == "needs":
        await _save_and_go_on(
            turn,
            app,
            NEEDS,
            edit,
            needs_table=params.get("t") == "1",
            needs_power=params.get("p") == "1",
        )
    elif step == "nourl":
        await _save_and_go_on(turn, app, URL, edit, url="")
    elif step == "photos_done":
        await photos_done(turn, app, edit)
    elif step == "photos_reset":
        await ask_photos_reset(turn, app, edit)
    elif step == "photos_reset_yes":
        await photos_reset(turn, app, edit)


async def ask_photos_reset(turn: Turn, app: MarketApplication, edit: bool) -> None:
    """写真を送り直す: confirm first (the photos are deleted)."""
    if not await _editable(turn, app, None, edit):
        return
    count = await rules.photo_count(app.id)
    if count == 0:
        await ask_step(turn, app, PHOTOS, edit=edit)
        return
    turn.reply(
        confirm(
            "写真の送り直し",
            f"いま受け取っている{count}枚の写真を削除して、はじめから送り直しますか？",
            postback(
                "送り直す",
                _data("photos_reset_yes", a=app.id, e=_edit_flag(edit)),
                "写真を送り直します",
            ),
            postback("やめておく", _ask_data(app, PHOTOS, edit), "やめておく"),
        )
    )


async def photos_reset(turn: Turn, app: MarketApplication, edit: bool) -> None:
    try:
        await rules.remove_photos(turn.resident, app.id)
    except rules.MarketError as exc:
        await _refused(turn, exc, app)
        return
    await ask_step(turn, app, PHOTOS, edit=edit, lead="写真を削除しました。")


async def photos_done(turn: Turn, app: MarketApplication, edit: bool) -> None:
    """次へ after the photos: on once the market's minimum is reached."""
    count = await rules.photo_count(app.id)
    if count < app.market.photos_min:
        lead = (
            f"作品の写真を、あと{app.market.photos_min - count}枚送ってください"
            f"（{cards.photos_rule(app.market)}）。"
        )
        if await _editable(turn, app, PHOTOS, edit):
            await ask_step(turn, app, PHOTOS, edit=edit, lead=lead)
        return
    await _save_and_go_on(turn, app, PHOTOS, edit)


async def on_typed(turn: Turn, typed: str, waiting: ConversationState) -> None:
    """Text at a step waiting for it: 出店者名, 販売するもの, URL; at the photo step, where
    pictures are expected, 次へ / 戻る typed, else the photo step again."""
    app = await _own(turn, _int(str(waiting.data.get("a"))))
    if app is None:
        return
    edit = bool(waiting.data.get("e"))
    step = PHOTOS if waiting.step == photos.PHOTO_STEP else waiting.step
    words = intents.normalize(typed)
    if words in intents.BACK_WORDS:
        await state.clear(turn.user_id)
        params = dict(parse_qsl(_back_from(app, step, edit)))
        await MarketFlow().on_postback(turn, params, None)
        return
    if step == PHOTOS:
        if words in NEXT_WORDS:
            await state.clear(turn.user_id)
            await photos_done(turn, app, edit)
            return
        await ask_step(
            turn,
            app,
            PHOTOS,
            edit=edit,
            lead="すみません、ここでは作品の写真を画像で受け付けています。"
            "あとで送るときは「やめる」で中断できます（入力内容は保存されます）。",
        )
        return
    if step == URL and words in SKIP_WORDS:
        await state.clear(turn.user_id)
        await _save_and_go_on(turn, app, URL, edit, url="")
        return
    if words in KEEP_WORDS and _keep_button(app, step, edit) is not None:
        await state.clear(turn.user_id)
        await _save_and_go_on(turn, app, step, edit)
        return
    field = {NAME: "artist_name", ITEMS: "items", URL: "url"}[step]
    await state.clear(turn.user_id)
    await _save_and_go_on(turn, app, step, edit, **{field: typed})


# -- the summary, submitting --------------------------------------------------------------


async def _thumbs(turn: Turn, app: MarketApplication) -> list[str]:
    return [photo_rules.thumb_url(turn.settings, p.id) for p in await rules.photos_of(app.id)]


def _window_open(app: MarketApplication) -> bool:
    return rules.is_open(app.market)


def _closes(market: Market) -> str:
    """「12月23日(水) 17:00」: when the window closes, in a sentence."""
    closes = market.applications_close_at
    return f"{format_date_ja(closes)} {format_jst(closes, '%H:%M')}"


def _status_buttons(app: MarketApplication, *, view: bool) -> list[Action]:
    """What the artist can do with the application now (`view`: with 内容を見る)."""
    status = ApplicationStatus(app.status)
    started = app.market.starts_at <= now()
    buttons: list[Action] = []
    if status == ApplicationStatus.OFFERED:
        return [
            postback("出店する", _data("offer_yes", a=app.id), "補欠のご案内: 出店する"),
            postback("辞退する", _data("offer_no", a=app.id), "補欠のご案内: 辞退する"),
        ]
    if status == ApplicationStatus.DRAFT and _window_open(app):
        buttons.append(postback("続きから", _data("pick", m=app.market_id), "続きから入力する"))
    if status == ApplicationStatus.RETURNED:
        buttons.append(postback("修正して再提出", _data("edit", a=app.id), "修正して再提出する"))
    if view:
        buttons.append(postback("内容を見る", _data("view", a=app.id), "申込み内容を見る"))
    if status == ApplicationStatus.SUBMITTED and _window_open(app):
        buttons.append(postback("修正する", _data("edit", a=app.id), "申込み内容を修正する"))
    can_withdraw = status in WITHDRAWABLE and not started
    if status in (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED):
        can_withdraw = can_withdraw and _window_open(app)
    if can_withdraw:
        buttons.append(postback("取り下げる", _data("withdraw", a=app.id), "申込みを取り下げる"))
    return buttons


async def show_summary(turn: Turn, app: MarketApplication, lead: str = "") -> None:
    """The application as entered, with thumbnails: before 申し込む (a draft, or a 差し戻し
    being fixed) with 申し込む / 修正する / やめる; else with what can be done now."""
    await state.clear(turn.user_id)
    market = app.market
    thumbs = await _thumbs(turn, app)
    count = len(thumbs)
    status = ApplicationStatus(app.status)
    words = [lead] if lead else []
    if status == ApplicationStatus.RETURNED and app.return_message.strip():
        words.append(f"スタッフからのお願い（差し戻し）:\n{app.return_message.strip()}")
    if words:
        turn.reply(text("\n\n".join(words)))
    if status in (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED):
        if not _window_open(app) and status == ApplicationStatus.DRAFT:
            await _refused(turn, rules.WindowClosed(market), None)
            return
        lacks = rules.missing(app, market, count)
        edit = postback("修正する", _data("edit", a=app.id), "修正する")
        if lacks:
            first = _first_missing(app, count)
            buttons = [
                postback("続きを入力", _ask_data(app, first), "続きを入力する"),
                edit,
                _stop(app.id),
            ]
            heading = "まだ入力されていない項目があります"
            footnote = "未入力: " + "、".join(lacks)
        else:
            key = secrets.token_urlsafe(9)
            label = "再提出する" if status == ApplicationStatus.RETURNED else "申し込む"
            buttons = [
                postback(label, _data("submit", a=app.id, k=key), label),
                edit,
                _stop(app.id),
            ]
            heading = (
                "この内容で再提出しますか？"
                if status == ApplicationStatus.RETURNED
                else "この内容で申し込みますか？"
            )
            footnote = (
                f"受付の締切は{_closes(market)}です。申し込んだあとも、締切まではマイページ"
                "から修正・取り下げができます。"
            )
            if status == ApplicationStatus.RETURNED:
                footnote = "再提出すると、あらためて審査します。"
                if _window_open(app):
                    footnote += (
                        f"{_closes(market)}の締切までは、再提出のあともマイページから"
                        "修正・取り下げができます。"
                    )
        await state.ask(
            turn,
            FLOW,
            cards.summary_card(
                app, market, thumbs, count, buttons, heading=heading, footnote=footnote
            ),
            buttons,
        )
        return
    buttons = _status_buttons(app, view=False)
    heading = f"お申し込み内容（{cards.status_label(app)}）"
    turn.reply(
        cards.summary_card(
            app,
            market,
            thumbs,
            count,
            buttons,
            heading=heading,
            footnote=_status_note(app),
            quick=[_mine(), parts.menu_action()],
        )
    )


def _first_missing(app: MarketApplication, photo_count: int) -> str:
    if not app.artist_name:
        return NAME
    if not app.category:
        return CATEGORY
    if not app.items:
        return ITEMS
    if photo_count < app.market.photos_min:
        return PHOTOS
    return CONFIRM


def _status_note(app: MarketApplication) -> str:
    status = ApplicationStatus(app.status)
    market = app.market
    if status == ApplicationStatus.SUBMITTED:
        if _window_open(app):
            return (
                f"審査中です。{_closes(market)}の締切までは、修正・取り下げができます。"
                "結果は締切のあと、このLINEでお知らせします。"
            )
        return "審査中です。結果はこのLINEでお知らせします。"
    if status == ApplicationStatus.ACCEPTED:
        return "出店が決まりました。ブース番号と出店料のご案内はマイページでもご確認いただけます。"
    if status == ApplicationStatus.RESERVE:
        return "補欠です。ブースに空きが出たら、順番にこのLINEでご案内します。"
    if status == ApplicationStatus.OFFERED:
        return "ブースをお取りしています。期限までに「出店する」か「辞退する」をお選びください。"
    return ""


async def submit(turn: Turn, params: dict[str, str]) -> None:
    key = str(params.get("k") or "")[:64]
    app = await _own(turn, _int(params.get("a")))
    if app is None:
        return
    if not key:
        await show_summary(turn, app)
        return
    was = ApplicationStatus(app.status)
    if app.request_key == key and was == ApplicationStatus.SUBMITTED and app.submitted_at:
        if turn.event.event_time < app.submitted_at + DOUBLE_TAP:
            return  # a double tap: submitted and answered once already
    try:
        app, newly = await rules.submit(turn.resident, app.id, key)
    except rules.Incomplete as exc:
        await show_summary(turn, app, exc.message)
        return
    except rules.MarketError as exc:
        await _answer_stale(turn, app, exc)
        return
    await state.clear(turn.user_id)
    if not newly:
        await show_summary(turn, app, "このお申し込みは、すでに受け付けています（審査中）。")
        return
    resubmitted = was == ApplicationStatus.RETURNED
    window_open = _window_open(app)
    thanks = (
        "修正した内容で、お申し込みを受け付けました。ありがとうございます！🌺"
        if resubmitted
        else "出店のお申し込みを受け付けました。ありがとうございます！🌺"
    )
    when = "受付の締切のあとに" if window_open else ""
    turn.reply(
        cards.submitted_card(
            app,
            app.market,
            await rules.photo_count(app.id),
            [
                postback("内容を見る", _data("view", a=app.id), "申込み内容を見る"),
                _mine(),
            ],
            heading="再提出を受け付けました（審査中）" if resubmitted else "受付完了（審査中）",
            words=f"{thanks}\n審査の結果は、{when}このLINEでお知らせします。",
            footnote=(
                f"{_closes(app.market)}の締切までは、マイページから内容の修正や取り下げができます。"
                if window_open
                else ""
            ),
        )
    )


async def _answer_stale(turn: Turn, app: MarketApplication, exc: rules.MarketError) -> None:
    """A button of an application that has moved on (sent, decided, withdrawn): say where it
    is, or the rule's own message (the window's dates)."""
    fresh = await rules.get_own(turn.resident, app.id)
    status = ApplicationStatus(fresh.status)
    if status == ApplicationStatus.WITHDRAWN:
        await state.clear(turn.user_id)
        turn.reply(
            text(
                f"{cards.title(fresh.market)}へのお申し込みは、すでに取り下げられています。",
                [_markets(), _mine(), parts.menu_action()],
            )
        )
        return
    if status not in rules.EDITABLE:
        await show_summary(turn, fresh, exc.message)
        return
    await _refused(turn, exc, fresh)


# -- editing ------------------------------------------------------------------------------


async def ask_what_to_fix(turn: Turn, params: dict[str, str]) -> None:
    """修正する: which item (each answered item goes back to the summary)."""
    app = await _own(turn, _int(params.get("a")))
    if app is None or not await _editable(turn, app, None, True):
        return
    lead = ""
    if app.status == ApplicationStatus.RETURNED and app.return_message.strip():
        lead = f"スタッフからのお願い（差し戻し）:\n{app.return_message.strip()}\n\n"
    items = [NAME, CATEGORY, ITEMS, PHOTOS, *([BOOTHS] if _asks_booths(app.market, app) else [])]
    items += [NEEDS, URL]
    choices = [
        postback(STEP_LABELS[s], _ask_data(app, s, edit=True), f"{STEP_LABELS[s]}を修正")
        for s in items
    ]
    await state.ask(
        turn,
        FLOW,
        text(
            lead + "どの項目を修正しますか？",
            [*choices, _back(_summary_data(app)), _stop(app.id)],
        ),
    )


# -- withdrawing, offers ------------------------------------------------------------------


async def ask_withdraw(turn: Turn, params: dict[str, str]) -> None:
    app = await _own(turn, _int(params.get("a")))
    if app is None:
        return
    status = ApplicationStatus(app.status)
    if status == ApplicationStatus.WITHDRAWN:
        await _answer_stale(turn, app, rules.NotEditable())
        return
    what = f"{cards.title(app.market)}"
    if status == ApplicationStatus.ACCEPTED:
        body = (
            f"{what}の出店を取り下げますか？\n"
            "取り下げると、ブースは補欠の方にお譲りします（元には戻せません）。"
        )
    elif status == ApplicationStatus.DRAFT:
        body = f"{what}への入力中のお申し込みを取り下げますか？"
    else:
        body = f"{what}へのお申し込みを取り下げますか？"
    turn.reply(
        confirm(
            "出店申込みの取り下げ",
            body,
            postback("取り下げる", _data("withdraw_yes", a=app.id), "はい、取り下げます"),
            postback("やめておく", _data("withdraw_no", a=app.id), "やめておく"),
        )
    )


async def do_withdraw(turn: Turn, params: dict[str, str]) -> None:
    app = await _own(turn, _int(params.get("a")))
    if app is None:
        return
    try:
        outcome = await rules.withdraw(turn.resident, app.id, turn.settings)
    except rules.MarketError as exc:
        await _answer_stale(turn, app, exc)
        return
    await notices.tell(outcome, turn.settings)
    turn.reply(
        text(
            f"{cards.title(app.market)}へのお申し込みを取り下げました。ご連絡ありがとうございます。"
            "\nまたの機会に、ぜひお申し込みください。",
            [_markets(), _mine(), parts.menu_action()],
        )
    )


async def accept_offer(turn: Turn, params: dict[str, str]) -> None:
    app = await _own(turn, _int(params.get("a")))
    if app is None:
        return
    status = ApplicationStatus(app.status)
    if status == ApplicationStatus.ACCEPTED:
        if app.decided_at and turn.event.event_time < app.decided_at + DOUBLE_TAP:
            return  # a double tap: accepted and answered once already
        await show_summary(turn, app, "このマーケットへの出店は、すでに決まっています。")
        return
    if status in (ApplicationStatus.DECLINED, ApplicationStatus.WITHDRAWN):
        turn.reply(_offer_ended(app))
        return
    try:
        app = await rules.accept_offer(turn.resident, app.id)
    except rules.MarketError as exc:
        turn.reply(text(exc.message, [_markets(), _mine(), parts.menu_action()]))
        return
    await show_summary(
        turn,
        app,
        f"ありがとうございます！{cards.title(app.market)}への出店が決まりました。🌺\n"
        "ブース番号が決まりしだい、このLINEでお知らせします。",
    )


async def decline_offer(turn: Turn, params: dict[str, str]) -> None:
    app = await _own(turn, _int(params.get("a")))
    if app is None:
        return
    if ApplicationStatus(app.status) in (ApplicationStatus.DECLINED, ApplicationStatus.WITHDRAWN):
        turn.reply(_offer_ended(app))
        return
    try:
        outcome = await rules.decline_offer(turn.resident, app.id, turn.settings)
    except rules.MarketError as exc:
        turn.reply(text(exc.message, [_markets(), _mine(), parts.menu_action()]))
        return
    await notices.tell(outcome, turn.settings)
    turn.reply(
        text(
            f"{cards.title(app.market)}のブースのご案内を辞退しました。ご連絡ありがとうございます。"
            "\n次回のマーケットにも、ぜひお申し込みください。",
            [_markets(), _mine()],
        )
    )


def _offer_ended(app: MarketApplication) -> Message:
    done = (
        "辞退されています" if app.status == ApplicationStatus.DECLINED else "取り下げられています"
    )
    return text(
        f"{cards.title(app.market)}のお申し込みは、すでに{done}。",
        [_markets(), _mine(), parts.menu_action()],
    )


# -- マイページ ----------------------------------------------------------------------------


async def _mine_message(turn: Turn) -> Message | None:
    apps = await rules.mine(turn.resident)
    if not apps:
        return None
    bubbles = []
    for app in apps[: cards.MAX_BUBBLES]:
        step_label = STEP_LABELS.get(_preceding(app, app.step) or "", "")
        note = ""
        if app.status == ApplicationStatus.DRAFT:
            note = (
                "まだ申し込みは完了していません。「続きから」で入力を終えて「申し込む」を"
                "押してください。"
                if _window_open(app)
                else "受付期間が終わったため、このお申し込みは送れませんでした。"
            )
        bubbles.append(
            cards.mine_bubble(
                app,
                app.market,
                _status_buttons(app, view=True),
                step_label=step_label,
                footnote=note or _status_note(app),
            )
        )
    counts: dict[str, int] = {}
    for app in apps:
        counts[cards.status_label(app)] = counts.get(cards.status_label(app), 0) + 1
    summary = "・".join(f"{label} {n}件" for label, n in counts.items())
    return cards.carousel(f"ハンドメイドマーケットの出店申込: {summary}", bubbles, [])


async def show_mine(turn: Turn) -> None:
    """マイページ's part: the artist's applications (nothing when they have none, so
    マイページ stays short for the residents who never applied)."""
    message = await _mine_message(turn)
    if message is not None:
        message["quickReply"] = quick_reply([_markets(), parts.menu_action()])
        turn.reply(message)


async def show_mine_only(turn: Turn) -> None:
    """出店申込の確認: the same cards on their own, or a word when there are none."""
    message = await _mine_message(turn)
    if message is None:
        turn.reply(
            text(
                "ハンドメイドマーケットの出店申込みは、いまはありません。",
                [_markets(), parts.menu_action()],
            )
        )
        return
    message["quickReply"] = quick_reply([_markets(), parts.menu_action()])
    turn.reply(text("ハンドメイドマーケットの出店申込みです。"), message)


# -- the flow ----------------------------------------------------------------------------

DRAFT_STEPS = (
    "ask",
    "keep",
    "cat",
    "booths",
    "needs",
    "nourl",
    "photos_done",
    "photos_reset",
    "photos_reset_yes",
)


class MarketFlow:
    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        step = params.get("step", "")
        await state.clear(turn.user_id)
        if step in DRAFT_STEPS:
            await on_step(turn, step, params)
        elif step == "pick":
            await pick(turn, _int(params.get("m")))
        elif step == "submit":
            await submit(turn, params)
        elif step in ("summary", "view"):
            app = await _own(turn, _int(params.get("a")))
            if app is not None:
                await show_summary(turn, app)
        elif step == "edit":
            await ask_what_to_fix(turn, params)
        elif step == "withdraw":
            await ask_withdraw(turn, params)
        elif step == "withdraw_yes":
            await do_withdraw(turn, params)
        elif step == "withdraw_no":
            turn.reply(
                text(
                    "取り下げはしていません。お申し込みはそのままです。",
                    [_mine(), parts.menu_action()],
                )
            )
        elif step == notices.OFFER_YES:
            await accept_offer(turn, params)
        elif step == notices.OFFER_NO:
            await decline_offer(turn, params)
        elif step == "mine":
            await show_mine_only(turn)
        else:
            await show_list(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        if waiting.step in (*TEXT_STEPS, photos.PHOTO_STEP):
            await on_typed(turn, typed, waiting)
            return
        await state.clear(turn.user_id)
        await show_list(turn)

    async def on_image(self, turn: Turn, waiting: ConversationState) -> str | None:
        """A picture while a market step waits (the router's hook): the photo step's."""
        return await photos.on_image(turn, waiting)

    async def on_unsend(self, turn: Turn) -> None:
        await photos.on_unsend(turn)

    async def finished(self, turn: Turn, params: dict[str, str]) -> bool:
        """やめる (`flow=cancel&of=market&a=…`): the draft stays saved, and the answer says so
        (with when the window closes); an application already sent says where it is."""
        app_id = _int(params.get("a"))
        if app_id is None:
            return False
        try:
            app = await rules.get_own(turn.resident, app_id)
        except rules.NotYours:
            return False
        await state.clear(turn.user_id)
        status = ApplicationStatus(app.status)
        if status == ApplicationStatus.DRAFT and not _window_open(app):
            await _refused(turn, rules.WindowClosed(app.market), None)
        elif status == ApplicationStatus.DRAFT:
            turn.reply(
                text(
                    "入力を中断しました。ここまでの内容は保存してあります。\n"
                    f"続きは{_closes(app.market)}の締切までに、{FROM_MENU}"
                    "いつでも入力できます。",
                    [_markets(), parts.menu_action()],
                )
            )
        elif status == ApplicationStatus.RETURNED:
            turn.reply(
                text(
                    "修正を中断しました。ここまでの変更は保存してあります。\n"
                    "修正が終わったら、マイページから再提出してください。",
                    [_mine(), parts.menu_action()],
                )
            )
        elif status == ApplicationStatus.SUBMITTED:
            lacks = rules.missing(app, app.market, await rules.photo_count(app.id))
            words = "このお申し込みは受け付け済みです（審査中）。ここまでの変更も保存してあります。"
            if lacks:
                words += (
                    f"\nただし、{'、'.join(lacks)}が足りません。マイページの「修正する」から"
                    "入力してください。"
                )
            turn.reply(text(words, [_mine(), parts.menu_action()]))
        else:
            await show_summary(turn, app)
        return True
