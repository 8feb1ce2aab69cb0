"""Flex cards of 寺子屋・交流会 (the sessions carousel, a session's details, the summary before
確定, the 申込完了 and キャンセル待ち cards, マイページ's registrations) and of イベント・お知らせ.

Builders only: they take loaded rows (a session with its programme, a registration with its
session and programme) and ready-made actions, and return LINE's JSON. The LINE flows
(line_app.flows.course, .news) and the notices (line_app.notices.course) share them, so a
session reads the same wherever it is shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from line_app.flows import card_parts as parts
from line_app.flows.card_parts import CORAL, MUTED, SEA
from line_app.messages import Action, Message, flex
from models.course import (
    NewsItem,
    ProgrammeKind,
    ProgrammeSession,
    Registration,
    RegistrationStatus,
)
from shima.timeutil import JST, WEEKDAYS_JA, span_ja, today_jst

GREEN = "#2E7D5B"
KIND_COLOURS = {
    ProgrammeKind.TERAKOYA: SEA,
    ProgrammeKind.MEETUP: CORAL,
    ProgrammeKind.WORKSHOP: GREEN,
}
MAX_BUBBLES = 12  # LINE: a carousel holds at most 12 bubbles
DESCRIPTION_IN_CARD = 500  # longer descriptions are sent in full as a text beside the card
NEWS_BODY_IN_CARD = 300  # longer news bodies: 「全文を読む」 sends the whole text


# -- words --------------------------------------------------------------------------------


def when(session: ProgrammeSession) -> str:
    """「5月7日(水) 10:00〜12:00」."""
    return span_ja(session.starts_at, session.ends_at)


def short_when(session: ProgrammeSession) -> str:
    """「5/7(水) 10:00」: in sentences and alt texts."""
    return short_time(session.starts_at)


def short_time(at: datetime) -> str:
    local = at.astimezone(JST)
    return f"{local.month}/{local.day}({WEEKDAYS_JA[local.weekday()]}) {local:%H:%M}"


def kind_label(session: ProgrammeSession) -> str:
    return ProgrammeKind(session.programme.kind).label


def title(session: ProgrammeSession) -> str:
    """「寺子屋「はじめてのWebサイト」」 as said in a sentence."""
    return f"{kind_label(session)}「{session.programme.title}」"


def place(session: ProgrammeSession) -> str:
    return "オンライン" if session.online else session.venue or "WorkStyle Lab Inno"


def seats_text(session: ProgrammeSession) -> str:
    """Seats left, or 「満席・キャンセル待ち n人」."""
    if session.seats_left > 0:
        extra = f"（キャンセル待ち {session.waiting}人）" if session.waiting > 0 else ""
        return f"残り{session.seats_left}席{extra}"
    if session.waiting <= 0:
        return "満席（キャンセル待ちを受け付けています）"
    return f"満席・キャンセル待ち {session.waiting}人"


def is_full(session: ProgrammeSession) -> bool:
    """No free seat shown: the sign-up button reads キャンセル待ち (the rules decide at 確定)."""
    return session.seats_left <= 0


def childcare_text(session: ProgrammeSession) -> str:
    if session.childcare_places <= 0:
        return "なし"
    left = session.childcare_left
    free = f"残り{left}人分" if left > 0 else "現在満員"
    return f"あり（{session.childcare_places}人分・{free}）"


def children_text(children: int, ages: str) -> str:
    if children <= 0:
        return "不要"
    return f"{children}人（{ages}）" if ages else f"{children}人"


def deadline_text(session: ProgrammeSession) -> str:
    return f"{short_time(session.deadline)}まで"


# -- pieces -------------------------------------------------------------------------------


def _colour(session: ProgrammeSession) -> str:
    return KIND_COLOURS.get(ProgrammeKind(session.programme.kind), SEA)


def _session_rows(session: ProgrammeSession) -> list[dict[str, Any]]:
    rows = [parts.row("日時", when(session)), parts.row("場所", place(session))]
    if session.childcare_places > 0:
        rows.append(parts.row("託児", childcare_text(session)))
    rows.append(parts.row("参加費", session.programme.fee_text))
    return rows


def carousel(alt_text: str, bubbles: list[dict[str, Any]], quick: list[Action]) -> Message:
    return flex(alt_text, {"type": "carousel", "contents": bubbles[:MAX_BUBBLES]}, quick or None)


# -- the sessions -------------------------------------------------------------------------

MINE_LABELS = {
    RegistrationStatus.REGISTERED: "お申し込み済み",
    RegistrationStatus.WAITING: "キャンセル待ち中",
    RegistrationStatus.OFFERED: "繰り上げのご案内中",
}


def session_bubble(
    session: ProgrammeSession,
    detail: Action,
    *,
    mine: RegistrationStatus | None = None,
    closed: bool = False,
) -> dict[str, Any]:
    """One session in the carousel: kind, title, date, place, seats (or 満席・キャンセル待ち),
    託児, fee; `mine` marks the resident's own sign-up, `closed` a passed deadline."""
    rows = _session_rows(session)
    rows.insert(2, parts.row("空き", "受付終了" if closed else seats_text(session)))
    lead = []
    if mine is not None:
        lead.append(
            {
                "type": "text",
                "text": f"✔ {MINE_LABELS.get(mine, mine.label)}",
                "size": "sm",
                "weight": "bold",
                "color": GREEN,
                "margin": "sm",
            }
        )
    return parts.bubble(
        session.programme.title,
        _colour(session),
        rows,
        [detail],
        tag=kind_label(session),
        lead=lead,
        image_url=session.programme.image_url,
    )


def more_bubble(more: Action, shown: int) -> dict[str, Any]:
    """The carousel's last bubble when there are more sessions than fit."""
    return {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "text",
                    "text": "ほかの回もあります",
                    "weight": "bold",
                    "size": "lg",
                    "color": SEA,
                    "wrap": True,
                },
                parts.note(f"ここまでで{shown}件です。続きは下のボタンからどうぞ。"),
            ],
        },
        "footer": parts.footer([more], SEA),
    }


def detail_card(
    session: ProgrammeSession,
    buttons: list[Action],
    *,
    note: str = "",
    mine: RegistrationStatus | None = None,
) -> Message:
    """詳細: description, instructor, who it is for, fee, deadline, seats and 託児."""
    programme = session.programme
    description = programme.description.strip()
    if len(description) > DESCRIPTION_IN_CARD:
        description = description[:DESCRIPTION_IN_CARD] + "…（続きは上のメッセージをご覧ください）"
    lead = []
    if description:
        lead.append(
            {"type": "text", "text": description, "size": "sm", "wrap": True, "margin": "md"}
        )
    if mine is not None:
        lead.append(
            {
                "type": "text",
                "text": f"✔ {MINE_LABELS.get(mine, mine.label)}",
                "size": "sm",
                "weight": "bold",
                "color": GREEN,
                "margin": "md",
            }
        )
    rows = _session_rows(session)
    if programme.instructor:
        rows.insert(0, parts.row("講師", programme.instructor))
    if programme.audience:
        rows.append(parts.row("対象", programme.audience))
    rows.append(parts.row("申込締切", deadline_text(session)))
    rows.append(parts.row("空き", seats_text(session)))
    return flex(
        f"{title(session)} {short_when(session)}〜 のご案内",
        parts.bubble(
            programme.title,
            _colour(session),
            rows,
            buttons,
            tag=kind_label(session),
            lead=lead,
            footnote=note,
            image_url=programme.image_url,
        ),
    )


def full_description(session: ProgrammeSession) -> str | None:
    """The whole description as a text, when the card shows only its beginning."""
    description = session.programme.description.strip()
    if len(description) <= DESCRIPTION_IN_CARD:
        return None
    return f"{title(session)}のご紹介\n\n{description}"


def summary_card(
    session: ProgrammeSession, children: int, ages: str, buttons: list[Action]
) -> Message:
    """Before 確定 (or キャンセル待ちに登録): what the resident is signing up for."""
    rows = [
        parts.row("内容", title(session)),
        parts.row("日時", when(session)),
        parts.row("場所", place(session)),
        parts.row("参加費", session.programme.fee_text),
    ]
    if session.childcare_places > 0:
        rows.append(parts.row("託児", children_text(children, ages)))
    rows.append(parts.row("空き", seats_text(session)))
    full = is_full(session)
    if full:
        heading = "キャンセル待ちに登録しますか？"
        footnote = (
            "いまは満席です。登録すると順番にお待ちいただき、席が空いたらこのLINEでお知らせします"
            "（期限までに「参加する」を押すとお申し込み完了です）。"
        )
    else:
        heading = "この内容で申し込みますか？"
        footnote = "参加費は当日お支払いください。" if session.programme.fee > 0 else ""
    if children > 0 and session.childcare_left < children and not full:
        footnote = (
            f"託児の空きは現在{session.childcare_left}人分です。確定の際に、託児なしでの"
            "お申し込みか、託児の空き待ちかをお選びいただけます。\n" + footnote
        ).strip()
    return flex(
        f"お申し込み内容の確認: {title(session)} {short_when(session)}〜",
        parts.bubble(heading, SEA, rows, buttons, footnote=footnote),
    )


# -- a resident's registrations -----------------------------------------------------------


def _registration_rows(registration: Registration) -> list[dict[str, Any]]:
    session = registration.session
    rows = [
        parts.row("内容", title(session)),
        parts.row("日時", when(session)),
        parts.row("場所", place(session)),
        parts.row("参加費", session.programme.fee_text),
    ]
    if registration.children > 0:
        rows.append(
            parts.row("託児", children_text(registration.children, registration.children_ages))
        )
    return rows


def registered_card(
    registration: Registration,
    buttons: list[Action],
    *,
    heading: str = "お申し込みを受け付けました",
    checkin_minutes: int = 30,
) -> Message:
    """申込完了: with チェックイン (on the day) and キャンセル."""
    session = registration.session
    online = (
        "参加用のURLは、このカードの「オンラインで参加」からどうぞ。"
        if session.online and session.online_url.startswith("https://")
        else "参加用のURLは、前日までにこのLINEでお送りします。"
        if session.online
        else ""
    )
    # The day-before reminder is promised only when it is surely still to come (the evening
    # before a session tomorrow it may already have gone out).
    day = session.starts_at.astimezone(JST).date()
    reminder = (
        "前日の夕方にもこのLINEでお知らせします。" if day > today_jst() + timedelta(days=1) else ""
    )
    footnote = (
        f"当日は開始{checkin_minutes}分前から「当日チェックイン」で受付できます。"
        + reminder
        + online
        + "\n"
        "ご都合が悪くなったときは「キャンセルする」か、マイページからお取り消しください。"
    )
    return flex(
        f"{heading}: {title(session)} {short_when(session)}〜",
        parts.bubble(heading, SEA, _registration_rows(registration), buttons, footnote=footnote),
    )


def waiting_card(
    registration: Registration, position: int, buttons: list[Action], *, heading: str
) -> Message:
    """キャンセル待ち: the place in the queue, and how offers work."""
    place_line = {
        "type": "text",
        "text": f"キャンセル待ち {position}番目",
        "size": "xl",
        "weight": "bold",
        "color": CORAL,
        "margin": "md",
    }
    session = registration.session
    for_childcare = waits_for_childcare(registration)
    freed = "託児の空きが出たら" if for_childcare else "席が空いたら"
    footnote = (
        f"{freed}、順番にこのLINEでお知らせします。お知らせの「参加する」を期限までに"
        "押すとお申し込み完了です（21時〜8時はお知らせしません）。"
    )
    if not for_childcare and session.childcare_left < registration.children:
        footnote = "託児の空きが出たときも、順番にお知らせします。\n" + footnote
    return flex(
        f"{heading}: {title(registration.session)} キャンセル待ち {position}番目",
        parts.bubble(
            heading,
            CORAL,
            _registration_rows(registration),
            buttons,
            lead=[place_line],
            footnote=footnote,
            primary=registration.open_offer_at is not None,  # 参加する first; else leaving
        ),
    )


def waits_for_childcare(registration: Registration) -> bool:
    """On the waitlist only for a 託児 place: a seat is free, the children cannot be placed."""
    session = registration.session
    return (
        registration.children > 0
        and session.seats_left > 0
        and session.childcare_left < registration.children
    )


def offer_rows(registration: Registration) -> list[dict[str, Any]]:
    rows = _registration_rows(registration)
    if registration.status == RegistrationStatus.OFFERED and registration.offer_expires_at:
        rows.append(parts.row("お返事", f"{short_time(registration.offer_expires_at)}まで"))
    return rows


def registration_bubble(
    registration: Registration, buttons: list[Action], *, position: int | None = None
) -> dict[str, Any]:
    """マイページ: one registration, waitlist place or open offer."""
    status = RegistrationStatus(registration.status)
    if status == RegistrationStatus.OFFERED:
        return parts.bubble(
            "繰り上げのご案内",
            CORAL,
            offer_rows(registration),
            buttons,
            footnote="席をお取りしています。期限までに「参加する」か「辞退する」をお選びください。",
        )
    if status == RegistrationStatus.WAITING:
        rows = _registration_rows(registration)
        rows.insert(0, parts.row("順番", f"{position}番目" if position else "キャンセル待ち"))
        freed = "託児の空きが出たら" if waits_for_childcare(registration) else "席が空いたら"
        footnote = (
            "空きが出ています。先着順ですので、参加される場合はお早めに「参加する」を"
            "押してください。"
            if registration.open_offer_at
            else f"{freed}、このLINEでお知らせします。"
        )
        return parts.bubble(
            "キャンセル待ち",
            CORAL,
            rows,
            buttons,
            footnote=footnote,
            primary=registration.open_offer_at is not None,  # 参加する first; else leaving
        )
    return parts.bubble("お申し込み済み", SEA, _registration_rows(registration), buttons)


# -- イベント・お知らせ ------------------------------------------------------------------


def news_bubble(item: NewsItem, buttons: list[Action]) -> dict[str, Any]:
    body = item.body.strip()
    if len(body) > NEWS_BODY_IN_CARD:
        body = body[:NEWS_BODY_IN_CARD] + "…"
    lead = []
    if item.published_at:
        lead.append(
            {
                "type": "text",
                "text": f"{item.published_at.astimezone(JST):%Y/%m/%d}",
                "size": "xs",
                "color": MUTED,
            }
        )
    rows = [{"type": "text", "text": body, "size": "sm", "wrap": True}] if body else []
    if not rows:
        rows = [{"type": "text", "text": "（本文はありません）", "size": "sm", "color": MUTED}]
    return parts.bubble(item.title, SEA, rows, buttons, tag="お知らせ", lead=lead)


def news_is_cut(item: NewsItem) -> bool:
    return len(item.body.strip()) > NEWS_BODY_IN_CARD
