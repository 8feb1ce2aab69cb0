"""イベント・お知らせ: the upcoming 寺子屋・交流会 (the same carousel as the course flow, whose
「詳しく見る」 continues there) and the news items staff publish in the admin, newest first.
A news item too long for its card has 「全文を読む」 (`flow=news&step=item&i=<id>`)."""

from __future__ import annotations

from typing import Any

from line_app import state
from line_app.flows import course as course_flow
from line_app.flows import course_cards as cards
from line_app.ids import parse_id
from line_app.messages import Action, Message, postback, postback_data, text, uri_action
from line_app.turn import Turn
from models.conversation import ConversationState
from models.course import NewsItem

FLOW = "news"
MAX_ITEMS = 10
TEXT_PART = 4500


def _quick() -> list[Action]:
    return [
        postback("寺子屋・交流会", postback_data("course"), "寺子屋・交流会"),
        postback("マイページ", postback_data("mypage"), "マイページ"),
        postback("メニュー", postback_data("menu"), "メニュー"),
    ]


def _item_buttons(item: NewsItem) -> list[Action]:
    buttons: list[Action] = []
    if cards.news_is_cut(item):
        buttons.append(
            postback(
                "全文を読む", postback_data(FLOW, "item", i=item.id), f"「{item.title}」"[:300]
            )
        )
    if item.url.startswith("https://"):
        buttons.append(uri_action("詳しく見る", item.url))
    return buttons


async def published() -> list[NewsItem]:
    """The published items, newest first (an item without a publication time counts from
    its creation; ordered here, as databases put NULLs at different ends)."""
    items = await NewsItem.filter(is_published=True).order_by("-id").limit(MAX_ITEMS * 5)
    items.sort(key=lambda i: (i.published_at or i.created_at, i.id), reverse=True)
    return items[:MAX_ITEMS]


def news_message(items: list[NewsItem], quick: list[Action] | None) -> Message:
    bubbles = [cards.news_bubble(item, _item_buttons(item)) for item in items]
    return cards.carousel(f"お知らせ {len(items)}件: {items[0].title}", bubbles, quick or [])


async def show(turn: Turn) -> None:
    items = await published()
    sessions = await course_flow.sessions_message(turn, 0, None if items else _quick())
    if sessions is None and not items:
        turn.reply(
            text(
                "いまお届けできるイベントやお知らせはありません。🌺\n"
                "新しい寺子屋・交流会やお知らせが決まりしだい、ここでご案内します。"
                "またのぞいてみてください。",
                _quick(),
            )
        )
        return
    if sessions is not None:
        turn.reply(
            text("受付中の寺子屋・交流会です。気になる回の「詳しく見る」からお申し込みできます。"),
            sessions,
        )
    else:
        turn.reply(
            text("いま受付中の寺子屋・交流会はありません。新しい回が決まりしだいご案内します。")
        )
    if items:
        turn.reply(text("お知らせです（新しい順）。"), news_message(items, _quick()))


async def show_item(turn: Turn, item_id: int | None) -> None:
    item = await NewsItem.get_or_none(id=item_id, is_published=True) if item_id else None
    if item is None:
        turn.reply(text("このお知らせは、いまは公開されていません。", _quick()))
        return
    body = f"【{item.title}】\n\n{item.body.strip()}"
    if item.url.startswith("https://"):
        body += f"\n\n{item.url}"
    # A text holds 5000 characters: a longer body goes in parts, never cut.
    parts = [body[i : i + TEXT_PART] for i in range(0, len(body), TEXT_PART)][:5]
    turn.reply(*(text(part) for part in parts[:-1]), text(parts[-1], _quick()))


class NewsFlow:
    async def on_postback(
        self, turn: Turn, params: dict[str, str], picked: dict[str, Any] | None
    ) -> None:
        await state.clear(turn.user_id)
        if params.get("step") == "item":
            await show_item(turn, parse_id(params.get("i")))
            return
        await show(turn)

    async def on_text(self, turn: Turn, typed: str, waiting: ConversationState) -> None:
        await state.clear(turn.user_id)
        await show(turn)
