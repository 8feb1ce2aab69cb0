"""Flex cards of ハンドメイドマーケット in LINE: the markets open for applications (and the next
one coming), the summary before 申し込む with thumbnails of the photos, 受付完了（審査中）, and
an application as マイページ shows it (status, booth number, fee deadline, 差し戻し's message,
a 補欠 offer's deadline).

Builders only: they take loaded rows, ready-made strings (the window's dates, thumbnail URLs)
and actions, and return LINE's JSON. line_app.flows.market decides what to show.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from line_app.flows import card_parts as parts
from line_app.flows.card_parts import CORAL, MUTED, SEA
from line_app.messages import Action, Message, flex
from models.market import ApplicationStatus, Market, MarketApplication
from shima.timeutil import JST, WEEKDAYS_JA, span_ja

GREEN = "#2E7D5B"
MAX_BUBBLES = 12  # LINE: a carousel holds at most 12 bubbles
NOTES_IN_CARD = 300  # longer notes for applicants are cut (the whole text is sent beside)
ITEMS_IN_CARD = 200  # what they sell, in the summary
THUMBS_PER_ROW = 5

STATUS_COLOURS = {
    ApplicationStatus.DRAFT: MUTED,
    ApplicationStatus.SUBMITTED: SEA,
    ApplicationStatus.RETURNED: CORAL,
    ApplicationStatus.ACCEPTED: GREEN,
    ApplicationStatus.RESERVE: CORAL,
    ApplicationStatus.OFFERED: CORAL,
}


# -- words --------------------------------------------------------------------------------


def when(market: Market) -> str:
    """「11月23日(日) 10:00〜16:00」."""
    return span_ja(market.starts_at, market.ends_at)


def short_time(at: datetime) -> str:
    """「11/2(日) 17:00」."""
    local = at.astimezone(JST)
    return f"{local.month}/{local.day}({WEEKDAYS_JA[local.weekday()]}) {local:%H:%M}"


def short_day(day: date) -> str:
    return f"{day.month}/{day.day}({WEEKDAYS_JA[day.weekday()]})"


def title(market: Market) -> str:
    """「ハンドメイドマーケット vol.9（11/23(日)）」 as said in a sentence."""
    local = market.starts_at.astimezone(JST)
    return f"{market.name}（{local.month}/{local.day}({WEEKDAYS_JA[local.weekday()]})）"


def booths_text(market: Market) -> str:
    two = "（1人2ブースまで申込可）" if market.allow_two_booths else ""
    return f"{market.booths}ブース{two}"


def fee_text(market: Market) -> str:
    if market.booth_fee <= 0:
        return "無料"
    due = f"（{short_day(market.fee_due_on)}までにお支払い）" if market.fee_due_on else ""
    return f"1ブース {market.booth_fee:,}円{due}"


def photos_rule(market: Market) -> str:
    if market.photos_min == market.photos_max:
        return f"{market.photos_max}枚"
    if market.photos_min <= 0:
        return f"{market.photos_max}枚まで"
    return f"{market.photos_min}〜{market.photos_max}枚"


def needs_text(app: MarketApplication) -> str:
    wanted = [
        label for label, on in (("机・椅子", app.needs_table), ("電源", app.needs_power)) if on
    ]
    return "・".join(wanted) + "の貸出を希望" if wanted else "不要（持参します）"


def status_label(app: MarketApplication) -> str:
    return ApplicationStatus(app.status).label


# -- pieces -------------------------------------------------------------------------------


def _heading(text: str, colour: str, size: str = "lg") -> dict[str, Any]:
    return {
        "type": "text",
        "text": text,
        "weight": "bold",
        "size": size,
        "color": colour,
        "wrap": True,
    }


def carousel(alt_text: str, bubbles: list[dict[str, Any]], quick: list[Action]) -> Message:
    return flex(alt_text, {"type": "carousel", "contents": bubbles[:MAX_BUBBLES]}, quick or None)


def _cut(text: str, most: int) -> str:
    text = text.strip()
    return text if len(text) <= most else text[:most] + "…"


def thumbnails(urls: list[str]) -> list[dict[str, Any]]:
    """The photos as rows of square thumbnails (LINE fetches them from the https URLs)."""
    shown = [u for u in urls if u.startswith("https://")]
    # Up to 3 photos (the usual maximum) fill a row of 3, large enough to tell them apart.
    per_row = 3 if len(shown) <= 3 else THUMBS_PER_ROW
    rows = []
    for start in range(0, len(shown), per_row):
        chunk = shown[start : start + per_row]
        images: list[dict[str, Any]] = [
            {
                "type": "image",
                "url": url,
                "size": "full",
                "aspectRatio": "1:1",
                "aspectMode": "cover",
                "flex": 1,
            }
            for url in chunk
        ]
        # Keep every thumbnail the same width in a short last row.
        images.extend({"type": "filler"} for _ in range(per_row - len(chunk)))
        rows.append(
            {
                "type": "box",
                "layout": "horizontal",
                "spacing": "xs",
                "margin": "md",
                "contents": images,
            }
        )
    return rows


# -- the markets --------------------------------------------------------------------------


def _market_rows(market: Market, window: str) -> list[dict[str, Any]]:
    return [
        parts.row("日時", when(market)),
        parts.row("会場", market.venue),
        parts.row("募集", booths_text(market)),
        parts.row("出店料", fee_text(market)),
        parts.row("受付期間", window),
        parts.row("作品写真", photos_rule(market)),
    ]


def market_bubble(
    market: Market,
    window: str,
    buttons: list[Action],
    *,
    mine: str = "",
) -> dict[str, Any]:
    """One market open for applications; `mine` says what the artist has there already
    (「✔ 入力中（前回の続きから）」)."""
    lead = []
    if mine:
        lead.append(
            {
                "type": "text",
                "text": f"✔ {mine}",
                "size": "sm",
                "weight": "bold",
                "color": GREEN,
                "margin": "sm",
            }
        )
    notes = market.notes.strip()
    after: list[dict[str, Any]] = []
    if notes:
        after.append(
            {
                "type": "text",
                "text": "出店者の方へ",
                "size": "xs",
                "weight": "bold",
                "color": MUTED,
                "margin": "lg",
            }
        )
        after.append(
            {
                "type": "text",
                "text": _cut(notes, NOTES_IN_CARD),
                "size": "xs",
                "wrap": True,
                "margin": "sm",
            }
        )
    return parts.bubble(
        market.name,
        CORAL,
        _market_rows(market, window),
        buttons,
        tag="ハンドメイドマーケット 出店者募集",
        lead=lead,
        after=after,
    )


def upcoming_bubble(market: Market, window: str) -> dict[str, Any]:
    """The next market, not open yet: its day and when applications open."""
    rows = [
        parts.row("日時", when(market)),
        parts.row("会場", market.venue),
        parts.row("募集", booths_text(market)),
        parts.row("出店料", fee_text(market)),
        parts.row("受付期間", window),
    ]
    return parts.bubble(
        market.name,
        SEA,
        rows,
        [],
        tag="次回のマーケット（受付前）",
        footnote="受付が始まったら、メニューの「ハンドメイドマーケット」からお申し込みいただけます。",
    )


def notes_in_full(market: Market) -> str | None:
    """The notes for applicants as a text, when the card shows only their beginning."""
    notes = market.notes.strip()
    if len(notes) <= NOTES_IN_CARD:
        return None
    return f"{market.name} 出店者の方へ\n\n{notes}"


# -- an application -----------------------------------------------------------------------


def application_rows(
    app: MarketApplication, market: Market, photo_count: int, *, brief: bool = False
) -> list[dict[str, Any]]:
    """The application's rows (labels short enough for a phone's card); `brief`: the
    market, the name, the genre and the photos only (受付完了, after the whole summary)."""
    rows = [
        parts.row("出店先", title(market)),
        parts.row("出店者名", app.artist_name),
        parts.row("ジャンル", app.category),
    ]
    if not brief:
        rows.append(parts.row("販売品", _cut(app.items, ITEMS_IN_CARD)))
    rows.append(parts.row("作品写真", f"{photo_count}枚" if photo_count else ""))
    if brief:
        return rows
    if market.allow_two_booths or app.booths_requested > 1:
        rows.append(parts.row("ブース数", f"{app.booths_requested}ブース"))
    rows.append(parts.row("机・電源", needs_text(app)))
    rows.append(parts.row("URL", app.url or "なし"))
    return rows


def summary_card(
    app: MarketApplication,
    market: Market,
    thumbs: list[str],
    photo_count: int,
    buttons: list[Action],
    *,
    heading: str = "この内容で申し込みますか？",
    footnote: str = "",
    quick: list[Action] | None = None,
) -> Message:
    """Before 申し込む (or 再提出): everything entered, with the photos' thumbnails."""
    return flex(
        f"出店申込みの内容確認: {title(market)}",
        parts.bubble(
            heading,
            SEA,
            application_rows(app, market, photo_count),
            buttons,
            after=thumbnails(thumbs),
            footnote=footnote,
        ),
        quick,
    )


def submitted_card(
    app: MarketApplication,
    market: Market,
    photo_count: int,
    buttons: list[Action],
    *,
    heading: str = "受付完了（審査中）",
    words: str = "",
    footnote: str = "",
) -> Message:
    """受付完了: what was sent, and what happens next (`words`)."""
    lead = [
        parts.paragraph(
            words
            or "出店のお申し込みを受け付けました。ありがとうございます！🌺\n"
            "審査の結果は、受付の締切のあとにこのLINEでお知らせします。"
        )
    ]
    return flex(
        f"{heading}: {title(market)}",
        parts.bubble(
            heading,
            SEA,
            application_rows(app, market, photo_count, brief=True),
            buttons,
            lead=lead,
            footnote=footnote,
        ),
    )


def _status_line(text: str, colour: str) -> dict[str, Any]:
    return {
        "type": "text",
        "text": text,
        "size": "md",
        "weight": "bold",
        "color": colour,
        "margin": "sm",
        "wrap": True,
    }


def mine_bubble(
    app: MarketApplication,
    market: Market,
    buttons: list[Action],
    *,
    step_label: str = "",
    footnote: str = "",
) -> dict[str, Any]:
    """マイページ: one application with its status, booth number and fee deadline once known,
    the staff's message after a 差し戻し, a 補欠 offer's deadline."""
    status = ApplicationStatus(app.status)
    colour = STATUS_COLOURS.get(status, MUTED)
    label = status.label
    if status == ApplicationStatus.DRAFT and step_label:
        label = f"入力中（{step_label}まで入力済み）"
    lead: list[dict[str, Any]] = [_status_line(label, colour)]
    rows = [
        parts.row("日時", when(market)),
        parts.row("会場", market.venue),
        parts.row("出店者名", app.artist_name),
    ]
    if status == ApplicationStatus.ACCEPTED:
        rows.append(parts.row("ブース", app.booth_number or "決まりしだいお知らせします"))
        if market.booth_fee > 0:
            fee = f"{market.booth_fee * app.booths_requested:,}円"
            if app.fee_paid:
                fee += "（お支払い済み）"
            elif market.fee_due_on:
                fee += f"（{short_day(market.fee_due_on)}までにお支払いください）"
            rows.append(parts.row("出店料", fee))
    if status == ApplicationStatus.OFFERED and app.offer_expires_at:
        rows.append(parts.row("お返事", f"{short_time(app.offer_expires_at)}まで"))
    after: list[dict[str, Any]] = []
    if status == ApplicationStatus.RETURNED and app.return_message.strip():
        after.append(
            {
                "type": "text",
                "text": "スタッフからのお願い",
                "size": "xs",
                "weight": "bold",
                "color": CORAL,
                "margin": "lg",
            }
        )
        after.append(
            {
                "type": "text",
                "text": _cut(app.return_message, 400),
                "size": "sm",
                "wrap": True,
                "margin": "sm",
            }
        )
    return parts.bubble(
        market.name,
        colour if colour != MUTED else SEA,
        rows,
        buttons,
        tag="ハンドメイドマーケット 出店申込",
        lead=lead,
        after=after,
        footnote=footnote,
    )


def choices_card(heading: str, choices: list[Action], quick: list[Action]) -> Message:
    """Choices as a card's buttons, for more than quick replies hold (a market's genres)."""
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                _heading(heading, CORAL, "md"),
                *(
                    {"type": "button", "style": "secondary", "height": "sm", "action": a}
                    for a in choices
                ),
            ],
        },
    }
    return flex(heading, bubble, quick)
