"""Flex cards for the consultation flow (summary, confirmation, bookings list, notices)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from line_app.flows import card_parts as parts
from line_app.flows.card_parts import SEA
from line_app.messages import Action, Message, flex, postback, postback_data, uri_action
from models.consultation import Booking, ConsultationSlot, Method, Topic
from shima.timeutil import JST, WEEKDAYS_JA, span_ja

CENTRE = "WorkStyle Lab Inno"
MAP_URL = "https://www.google.com/maps/search/?api=1&query=" + quote("WorkStyle Lab Inno 奄美市")

HOW_TO_MEET = {
    Method.VISIT: f"{CENTRE}（奄美市名瀬）にお越しください。",
    Method.ONLINE: "オンライン会議のURLは、前日までに担当スタッフがこのトークでお送りします。",
    Method.PHONE: "予約時刻に、担当者からお電話します。",
}
NO_PHONE = "（未入力: 前日までに担当スタッフがこのトークでお伺いします）"


def phone_row(phone: str | None) -> dict[str, Any]:
    return parts.row("電話番号", phone or NO_PHONE)


def when(slot: ConsultationSlot) -> str:
    return span_ja(slot.starts_at, slot.ends_at)


def short_when(slot: ConsultationSlot) -> str:
    start = slot.starts_at.astimezone(JST)
    return f"{start.month}/{start.day}({WEEKDAYS_JA[start.weekday()]}) {start:%H:%M}"


def summary_card(
    slot: ConsultationSlot,
    topic: Topic,
    method: Method,
    note: str,
    buttons: list[Action],
    phone: str | None = None,
) -> Message:
    rows = [
        parts.row("日時", when(slot)),
        parts.row("内容", topic.label),
        parts.row("方法", method.label),
        parts.row("ご相談", note or "（なし）"),
    ]
    if method == Method.PHONE:
        rows.insert(3, phone_row(phone))
    if slot.counsellor:
        rows.insert(1, parts.row("担当", slot.counsellor))
    return flex(
        f"ご予約内容の確認: {when(slot)}",
        parts.bubble("この内容で予約しますか？", SEA, rows, buttons),
    )


def confirmation_card(booking: Booking, slot: ConsultationSlot, cancel: Action) -> Message:
    method = Method(booking.method)
    rows = [
        parts.row("日時", when(slot)),
        parts.row("担当", slot.counsellor),
        parts.row("内容", Topic(booking.topic).label),
        parts.row("方法", method.label),
        parts.row("場所" if method == Method.VISIT else "当日", HOW_TO_MEET[method]),
    ]
    if method == Method.PHONE:
        rows.append(phone_row(booking.phone))
    # The primary action first, キャンセル second.
    primary = (
        uri_action("地図を開く", MAP_URL)
        if method == Method.VISIT
        else postback("予約の確認", postback_data("mypage"), "予約の確認")
    )
    buttons: list[Action] = [primary, cancel]
    return flex(
        f"ご予約を承りました: {when(slot)}",
        parts.bubble(
            "ご予約を承りました",
            SEA,
            rows,
            buttons,
            footnote="前日の夕方にこのLINEでお知らせします。キャンセルは「マイページ」→「予約の確認」から"
            "いつでもできます。",
        ),
    )


def booking_bubble(booking: Booking, cancel: Action) -> dict[str, Any]:
    slot = booking.slot
    method = Method(booking.method)
    rows = [
        parts.row("日時", when(slot)),
        parts.row("内容", Topic(booking.topic).label),
        parts.row("方法", method.label),
    ]
    if slot.counsellor:
        rows.insert(1, parts.row("担当", slot.counsellor))  # as on the confirmation card
    if method == Method.PHONE:
        rows.append(phone_row(booking.phone))
    return parts.bubble("ご予約", SEA, rows, [cancel])


def bookings_carousel(bubbles: list[dict[str, Any]]) -> Message:
    return flex(
        f"ご予約 {len(bubbles)}件",
        {"type": "carousel", "contents": bubbles[:12]},
    )
