"""The main menu: what the account can do, as quick replies (LINE for PC has no rich menu),
the answer to words we do not understand, and "coming soon" for areas not built yet. The
items come from the area registry (shima.areas) through the router."""

from __future__ import annotations

from dataclasses import dataclass

from line_app.messages import Action, Message, postback, postback_data, text
from line_app.turn import Turn


@dataclass(frozen=True)
class MenuItem:
    flow: str
    label: str  # quick-reply label and the user's bubble
    title: str  # how we name it in sentences
    keywords: tuple[str, ...]  # typed words that start the flow


# マイページ is the platform's (each area adds its part), always last in the menu.
MYPAGE = MenuItem("mypage", "マイページ", "マイページ", ("マイページ", "確認", "申込み状況"))
MENU_WORDS = ("メニュー", "めにゅー", "ヘルプ", "help", "使い方", "つかいかた", "はじめに")
CANCEL_WORDS = ("やめる", "キャンセル", "中止")
BACK_WORDS = ("戻る", "もどる")


class Menu:
    """The main menu built from the areas' entries (shima.areas), in registry order."""

    def __init__(self, items: list[MenuItem]) -> None:
        self.items = (*items, MYPAGE)
        self.by_flow = {item.flow: item for item in self.items}

    def actions(self) -> list[Action]:
        return [postback(i.label, postback_data(i.flow), i.label) for i in self.items]

    def match_keyword(self, typed: str) -> MenuItem | None:
        """The flow a typed message asks for (「予約したい」→ 相談予約), if any."""
        normalized = typed.strip().lower()
        # 「予約の確認」 is about my bookings, not a new booking: check マイページ words first.
        for item in sorted(self.items, key=lambda i: i.flow != MYPAGE.flow):
            if any(word in normalized for word in item.keywords):
                return item
        return None

    def message(self, lead: str = "ご用件をお選びください。") -> Message:
        return text(
            f"{lead}\n下のボタン、または画面下のメニューからどうぞ。\n"
            "「予約」「寺子屋」「マーケット」「アンケート」などと入力しても始められます。",
            self.actions(),
        )

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
                "お急ぎのご相談は、WorkStyle Lab Inno の窓口へ直接お問い合わせください。",
                self.actions(),
            )
        )
