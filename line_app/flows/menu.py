"""The main menu: what the account can do, as quick replies (LINE for PC has no rich menu),
the answer to words we do not understand, and "coming soon" for flows not built yet."""

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


MENU: tuple[MenuItem, ...] = (
    MenuItem("consult", "相談予約", "相談予約", ("予約", "相談")),
    MenuItem(
        "course",
        "寺子屋・交流会",
        "寺子屋・交流会の申込み",
        ("寺子屋", "交流会", "講座", "セミナー"),
    ),
    MenuItem(
        "market",
        "マーケット出店",
        "ハンドメイドマーケットの出店申込み",
        ("マーケット", "ハンドメイド", "出店"),
    ),
    MenuItem("survey", "アンケート", "満足度アンケート", ("アンケート", "満足度")),
    MenuItem("news", "お知らせ", "イベント・お知らせ", ("お知らせ", "イベント", "ニュース")),
    MenuItem("mypage", "マイページ", "マイページ", ("マイページ", "確認", "申込み状況")),
)
BY_FLOW = {item.flow: item for item in MENU}
MENU_WORDS = ("メニュー", "めにゅー", "ヘルプ", "help", "使い方", "つかいかた", "はじめに")
CANCEL_WORDS = ("やめる", "キャンセル", "中止")
BACK_WORDS = ("戻る", "もどる")


def menu_actions() -> list[Action]:
    return [postback(item.label, postback_data(item.flow), item.label) for item in MENU]


def match_keyword(typed: str) -> MenuItem | None:
    """The flow a typed message asks for (「予約したい」→ 相談予約), if any."""
    normalized = typed.strip().lower()
    # 「予約の確認」 is about my bookings, not a new booking: check マイページ words first.
    for item in sorted(MENU, key=lambda i: i.flow != "mypage"):
        if any(word in normalized for word in item.keywords):
            return item
    return None


def menu_message(lead: str = "ご用件をお選びください。") -> Message:
    return text(
        f"{lead}\n下のボタン、または画面下のメニューからどうぞ。\n"
        "「予約」「寺子屋」「マーケット」「アンケート」などと入力しても始められます。",
        menu_actions(),
    )


def show_menu(turn: Turn) -> None:
    turn.reply(menu_message())


def not_understood(turn: Turn) -> None:
    turn.reply(
        menu_message(
            "すみません、そのご用件はまだ自動でお答えできません。🙇\n"
            "こちらのメニューからお選びいただけますか。"
        )
    )


def unsupported_message(turn: Turn) -> None:
    turn.reply(
        menu_message(
            "メッセージありがとうございます。\n"
            "画像やスタンプには自動でお答えできないため、こちらからお選びください。"
        )
    )


def cancelled(turn: Turn) -> None:
    turn.reply(menu_message("操作を中止しました。"))


def coming_soon(turn: Turn, flow: str) -> None:
    item = BY_FLOW.get(flow)
    title = item.title if item else "この機能"
    turn.reply(
        text(
            f"「{title}」は現在準備中です。公開まで今しばらくお待ちください。\n"
            "お急ぎのご相談は、WorkStyle Lab Inno の窓口へ直接お問い合わせください。",
            menu_actions(),
        )
    )
