"""Flex pieces every card shares — the consultation cards, the 寺子屋・交流会 cards and their
notices: the palette, a label–value row, a footnote and the buttons footer."""

from __future__ import annotations

from typing import Any

from line_app.messages import Action

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
