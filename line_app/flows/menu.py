"""The main menu: what the account can do, as quick replies (LINE for PC has no rich menu),
the answer to words we do not understand, and "coming soon" for areas not built yet. The
items come from the area registry (shima.areas) through the router."""

from __future__ import annotations

from dataclasses import dataclass

from line_app.messages import Action, Message, postback, postback_data, text
from line_app.turn import Turn
from shima.settings import Settings, desk_hours_text


@dataclass(frozen=True)
class MenuItem:
    flow: str
    label: str  # quick-reply label and the user's bubble
    title: str  # how we name it in sentences
    keywords: tuple[str, ...]  # typed words that start the flow


# マイページ is the platform's (each area adds its part), always last in the menu.
# Typed words are matched in line_app.intents (normalised: width, case, hiragana).
MYPAGE = MenuItem("mypage", "マイページ", "マイページ", ("マイページ", "mypage", "確認", "状況"))


def desk_contact(settings: Settings) -> str:
    """How to reach the desk directly, e.g. for areas that are 準備中."""
    return f"WorkStyle Lab Inno の窓口（☎ {settings.desk_phone}／{desk_hours_text(settings)}）"


class Menu:
    """The main menu built from the areas' entries (shima.areas), in registry order.
    `ready` names the flows that work today; the others answer 準備中 when typed or tapped
    on the rich menu, but are never offered as quick replies (no loop of 準備中 answers)."""

    def __init__(self, items: list[MenuItem], ready: set[str] | None = None) -> None:
        self.items = (*items, MYPAGE)
        self.by_flow = {item.flow: item for item in self.items}
        self.ready = {MYPAGE.flow, *(ready if ready is not None else self.by_flow)}

    def actions(self) -> list[Action]:
        """Every item, 準備中 ones too (menus offer only `ready_actions`)."""
        return [postback(i.label, postback_data(i.flow), i.label) for i in self.items]

    def ready_items(self) -> list[MenuItem]:
        return [i for i in self.items if i.flow in self.ready]

    def coming_items(self) -> list[MenuItem]:
        return [i for i in self.items if i.flow not in self.ready]

    def ready_actions(self) -> list[Action]:
        return [postback(i.label, postback_data(i.flow), i.label) for i in self.ready_items()]

    def message(self, lead: str = "ご用件をお選びください。") -> Message:
        words = "".join(f"「{i.keywords[0]}」" for i in self.ready_items() if i.keywords)
        return text(
            f"{lead}\n下のボタン、または画面下のメニューからどうぞ。\n"
            f"{words}と入力しても始められます。",
            self.ready_actions(),
        )

    def greeted(self, turn: Turn) -> None:
        turn.reply(self.message("こんにちは！🌺 メッセージありがとうございます。"))

    def thanked(self, turn: Turn) -> None:
        turn.reply(self.message("こちらこそ、ありがとうございます！🌺\nまたいつでもどうぞ。"))

    def show(self, turn: Turn) -> None:
        turn.reply(self.message())

    def not_understood(self, turn: Turn) -> None:
        turn.reply(
            self.message(
                "すみません、そのご用件はまだ自動でお答えできません。🙇\n"
                "こちらのメニューからお選びいただけますか。"
            )
        )

    def unsupported_message(self, turn: Turn) -> None:
        turn.reply(
            self.message(
                "メッセージありがとうございます。\n"
                "画像やスタンプには自動でお答えできないため、こちらからお選びください。"
            )
        )

    def cancelled(self, turn: Turn) -> None:
        turn.reply(self.message("操作を中止しました。"))

    def coming_soon(self, turn: Turn, flow: str) -> None:
        item = self.by_flow.get(flow)
        title = item.title if item else "この機能"
        turn.reply(
            text(
                f"「{title}」は現在準備中です。公開まで今しばらくお待ちください。\n"
                f"お急ぎのときは、{desk_contact(turn.settings)}へお電話ください。",
                self.ready_actions(),
            )
        )
