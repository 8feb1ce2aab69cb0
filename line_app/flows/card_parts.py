"""Flex pieces every card shares — the consultation, 寺子屋・交流会 and ハンドメイドマーケット
cards and their notices: the palette, a label–value row, a footnote, the buttons footer, the
bubble that holds them, and the マイページ and メニュー buttons."""

from __future__ import annotations

from typing import Any

from line_app.messages import Action, postback, postback_data

SEA = "#0B5E7E"
CORAL = "#E8735A"
MUTED = "#6B7280"


def row(label: str, value: str) -> dict[str, Any]:
    """「日時  12月5日(金) 14:00〜16:00」: a muted label and its value (「—」 when empty)."""
    return {
        "type": "box",
        "layout": "baseline",
        "spacing": "sm",
        "contents": [
            {"type": "text", "text": label, "size": "sm", "color": MUTED, "flex": 2},
            {"type": "text", "text": value or "—", "size": "sm", "wrap": True, "flex": 5},
        ],
    }


def note(text: str) -> dict[str, Any]:
    """A small muted footnote below a card's rows."""
    return {
        "type": "text",
        "text": text,
        "size": "xs",
        "color": MUTED,
        "wrap": True,
        "margin": "md",
    }


def paragraph(text: str) -> dict[str, Any]:
    """A paragraph of small text: a card's message above (or below) its rows."""
    return {"type": "text", "text": text, "size": "sm", "wrap": True, "margin": "md"}


def footer(buttons: list[Action], colour: str, *, primary: bool = True) -> dict[str, Any]:
    """The buttons, the first one filled in `colour` unless `primary` is False (a card whose
    first button leaves or cancels: nothing there should invite a tap)."""
    contents = []
    for i, action in enumerate(buttons):
        filled = primary and i == 0
        button: dict[str, Any] = {
            "type": "button",
            "style": "primary" if filled else "secondary",
            "height": "sm",
            "action": action,
        }
        if filled:
            button["color"] = colour
        contents.append(button)
    return {"type": "box", "layout": "vertical", "spacing": "sm", "contents": contents}


def bubble(
    heading: str,
    colour: str,
    rows: list[dict[str, Any]],
    buttons: list[Action],
    *,
    button_colour: str = "",
    tag: str = "",
    lead: list[dict[str, Any]] | None = None,
    after: list[dict[str, Any]] | None = None,
    footnote: str = "",
    image_url: str = "",
    primary: bool = True,
) -> dict[str, Any]:
    """A Flex bubble: an optional small `tag` above the heading (both in `colour`), the `lead`
    blocks, the rows, the `after` blocks, a footnote, an optional hero image (https only) and
    the buttons (the first filled in `button_colour`, else `colour`, unless not `primary`)."""
    body: list[dict[str, Any]] = []
    if tag:
        body.append({"type": "text", "text": tag, "size": "xs", "weight": "bold", "color": colour})
    body.append(
        {
            "type": "text",
            "text": heading,
            "weight": "bold",
            "size": "lg",
            "color": colour,
            "wrap": True,
        }
    )
    body.extend(lead or [])
    body.append({"type": "separator", "margin": "md"})
    body.append(
        {"type": "box", "layout": "vertical", "spacing": "sm", "margin": "md", "contents": rows}
    )
    body.extend(after or [])
    if footnote:
        body.append(note(footnote))
    card: dict[str, Any] = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": body},
    }
    if image_url.startswith("https://"):
        card["hero"] = {
            "type": "image",
            "url": image_url,
            "size": "full",
            "aspectRatio": "20:13",
            "aspectMode": "cover",
        }
    if buttons:
        card["footer"] = footer(buttons, button_colour or colour, primary=primary)
    return card


def mypage_action() -> Action:
    return postback("マイページ", postback_data("mypage"), "マイページ")


def menu_action() -> Action:
    return postback("メニュー", postback_data("menu"), "メニュー")
