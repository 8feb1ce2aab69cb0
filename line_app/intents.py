"""What a typed message asks for — the one place for the words residents type.

Typed text is normalised first (NFKC: full-width letters and digits, half-width kana; case;
spaces and trailing punctuation; katakana folded to hiragana; common hiragana readings such
as よやく → 予約), so 「ﾏｲﾍﾟｰｼﾞ」「まいぺーじ」「マイページ」 and 「よやくしたい」「予約したい」 match
alike. The areas' own keywords (shima.areas) are normalised the same way.

Two kinds of matching:
- `in_flow`: while a step waits for free text (a note, a phone number), only whole-message
  phrases leave the flow, so a note that merely mentions 「キャンセル」 stays a note.
- `pick_label` / `leaves_buttons`: at a button step, a typed label (「電話」「電話でお願いします」)
  taps that button; stop, cancel, the menu and keywords leave; anything else is asked again.
- `classify`: outside a flow, in this order: stop, cancel a booking, menu/back, an area's or
  マイページ's keyword, thanks, greeting. Keywords win over greetings
  (「こんにちは、予約したいです」 starts 相談予約).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from line_app.flows.menu import MenuItem


class Intent(StrEnum):
    STOP = "stop"  # stop what I am doing (やめる, 中止)
    CANCEL_BOOKING = "cancel_booking"  # cancel a booking I made (キャンセル, 予約を取り消したい)
    MENU = "menu"
    BACK = "back"
    FLOW = "flow"  # an area's (or マイページ's) keyword: `Match.item` says which
    THANKS = "thanks"
    GREETING = "greeting"


@dataclass(frozen=True)
class Match:
    intent: Intent
    item: MenuItem | None = None


# Hiragana readings residents type instead of the kanji our keywords use.
READINGS = {
    "よやく": "予約",
    "そうだん": "相談",
    "かくにん": "確認",
    "ちゅうし": "中止",
    "とりけし": "取り消し",
    "とりけす": "取り消す",
    "てらこや": "寺子屋",
    "こうりゅうかい": "交流会",
    "おしらせ": "お知らせ",
    "もどる": "戻る",
}

_TRAILING = re.compile(r"[。．.、,！!？?…〜~♪☆★]+$")
_SPACES = re.compile(r"\s+")


def _hiragana(text: str) -> str:
    # ァ (U+30A1) … ヶ (U+30F6) → ぁ … ゖ; ー and other marks are kept.
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in text)


def normalize(typed: str) -> str:
    text = unicodedata.normalize("NFKC", typed).lower()
    text = _SPACES.sub("", text)
    text = _TRAILING.sub("", text)
    text = _hiragana(text)
    for reading, kanji in READINGS.items():
        text = text.replace(reading, kanji)
    return text


def _words(*words: str) -> frozenset[str]:
    return frozenset(normalize(w) for w in words)


STOP_WORDS = _words("やめる", "やめます", "やめたい", "中止", "中止する", "中止します", "ストップ")
# Whole messages that mean "cancel my booking" (also recognised in the middle of a flow).
CANCEL_BOOKING_PHRASES = _words(
    "キャンセル",
    "キャンセルする",
    "キャンセルします",
    "キャンセルしたい",
    "キャンセルしたいです",
    "キャンセルお願いします",
    "キャンセルをお願いします",
    "予約キャンセル",
    "予約のキャンセル",
    "予約をキャンセル",
    "予約をキャンセルする",
    "予約をキャンセルしたい",
    "予約をキャンセルしたいです",
    "予約を取り消したい",
    "予約の取り消し",
    "取り消し",
    "取り消したい",
    "取消",
)
# Outside a flow, a message containing one of these is about cancelling a booking.
CANCEL_BOOKING_PARTS = _words("キャンセル", "取り消", "取消")
MENU_WORDS = _words("メニュー", "ヘルプ", "help", "使い方", "つかいかた", "はじめに", "menu")
BACK_WORDS = _words("戻る")
THANKS_PARTS = _words(
    "ありがとう", "ありがと", "有難う", "感謝", "サンキュー", "thank", "助かりました"
)
GREETING_STARTS = _words(
    "こんにちは",
    "こんにちわ",
    "こんばんは",
    "こんばんわ",
    "おはよう",
    "はじめまして",
    "初めまして",
    "よろしく",
    "宜しく",
    "お世話になります",
    "お世話になっております",
    "どうも",
    "hello",
    "はいさい",  # 島の「こんにちは」
    "ハロー",
)
SMALL_TALK_MAX = 30  # a longer message is a question for the desk, not a greeting


def in_flow(typed: str) -> Intent | None:
    """Whole-message phrases that leave a step waiting for free text."""
    text = normalize(typed)
    if text in STOP_WORDS:
        return Intent.STOP
    if text in CANCEL_BOOKING_PHRASES:
        return Intent.CANCEL_BOOKING
    return None


# What residents add after a button's label when they type it (「電話でお願いします」).
LABEL_SUFFIXES = _words(
    "で",
    "です",
    "でお願いします",
    "でおねがいします",
    "でお願い",
    "をお願いします",
    "がいいです",
    "がいい",
    "にします",
    "でいいです",
    "を希望します",
    "希望",
    "希望です",
)


def pick_label(typed: str, labels: Sequence[str]) -> int | None:
    """The index of the one button label `typed` names: the label itself, or the label and a
    polite ending (LABEL_SUFFIXES); None when none or more than one fits."""
    text = normalize(typed)
    if not text:
        return None
    found = [
        i
        for i, label in enumerate(labels)
        if (name := normalize(label))
        and (text == name or (text.startswith(name) and text[len(name) :] in LABEL_SUFFIXES))
    ]
    return found[0] if len(found) == 1 else None


def leaves_buttons(match: Match) -> bool:
    """Typed at a button step, these leave it (stop, cancel a booking, the menu, an area's or
    マイページ's keyword); greetings, thanks and anything else get the buttons again."""
    return match.intent in (
        Intent.STOP,
        Intent.CANCEL_BOOKING,
        Intent.MENU,
        Intent.FLOW,
    )


def keyword_item(text: str, items: Sequence[MenuItem], first: str) -> MenuItem | None:
    """The item whose keyword the normalised `text` contains; `first` (マイページ) is tried
    before the others, as 「予約の確認」 is about my bookings, not a new booking."""
    for item in sorted(items, key=lambda i: i.flow != first):
        if any(normalize(word) in text for word in item.keywords):
            return item
    return None


def classify(typed: str, items: Sequence[MenuItem], first: str = "mypage") -> Match | None:
    """What a message typed outside a flow asks for; None: nothing we can answer."""
    text = normalize(typed)
    if not text:
        return None
    if text in STOP_WORDS:
        return Match(Intent.STOP)
    if any(part in text for part in CANCEL_BOOKING_PARTS):
        return Match(Intent.CANCEL_BOOKING)
    if text in MENU_WORDS:
        return Match(Intent.MENU)
    if text in BACK_WORDS:
        return Match(Intent.BACK)
    item = keyword_item(text, items, first)
    if item is not None:
        return Match(Intent.FLOW, item)
    if len(text) <= SMALL_TALK_MAX:
        if any(part in text for part in THANKS_PARTS):
            return Match(Intent.THANKS)
        if text in ("hi", "hey") or any(text.startswith(w) for w in GREETING_STARTS):
            return Match(Intent.GREETING)
    return None
