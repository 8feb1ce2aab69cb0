"""Flex cards of アンケート in LINE: a round's introduction (title, description, number of
questions, the close date and where the resident is: 未回答 / 回答途中 / 回答済み), マイページ's
part (the open rounds with the resident's status, and プロフィール), and the reminder push.

Builders only: they take loaded rows (a round with its survey, the resident's response or
None) and ready-made actions, and return LINE's JSON. line_app.flows.survey decides what to
show; line_app.notices.survey sends the reminder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from line_app.flows import card_parts as parts
from line_app.flows.card_parts import CORAL, SEA
from line_app.messages import Action, Message, flex
from models.survey import ResponseStatus, SurveyResponse, SurveyRound
from shima.timeutil import JST, WEEKDAYS_JA

GREEN = "#2E7D5B"
MAX_BUBBLES = 10
DESCRIPTION_IN_CARD = 400


def day(at: datetime) -> str:
    """「2026年5月1日(金)」."""
    local = at.astimezone(JST)
    return f"{local.year}年{local.month}月{local.day}日({WEEKDAYS_JA[local.weekday()]})"


def short_day(at: datetime) -> str:
    """「5/1(金)」."""
    local = at.astimezone(JST)
    return f"{local.month}/{local.day}({WEEKDAYS_JA[local.weekday()]})"


def title(round_: SurveyRound) -> str:
    """The survey's title, with the round's own (「2026年度」) when it has one."""
    survey = round_.survey
    return f"{survey.title}（{round_.title}）" if round_.title else survey.title


def status_text(response: SurveyResponse | None, current: int | None = None) -> str:
    """未回答 / 回答途中（n問目から） / 回答済み（date）."""
    if response is None:
        return "未回答"
    if response.status == ResponseStatus.COMPLETED and response.completed_at is not None:
        return f"回答済み（{short_day(response.completed_at)}）"
    if current:
        return f"回答途中（{current}問目から）"
    return "回答途中"


def _status_colour(response: SurveyResponse | None) -> str:
    if response is None:
        return CORAL
    return GREEN if response.status == ResponseStatus.COMPLETED else SEA


def _status_line(label: str, colour: str) -> dict[str, Any]:
    return {
        "type": "text",
        "text": label,
        "size": "sm",
        "weight": "bold",
        "color": colour,
        "margin": "md",
        "wrap": True,
    }


def questions_text(total: int, branching: bool) -> str:
    minutes = max(1, round(total * 15 / 60))  # about 15 seconds a question
    count = f"最大{total}問" if branching else f"{total}問"
    return f"{count}（約{minutes}分）"


def intro_bubble(
    round_: SurveyRound,
    response: SurveyResponse | None,
    buttons: list[Action],
    *,
    total: int,
    branching: bool,
    current: int | None = None,
) -> dict[str, Any]:
    """A round's introduction: description, number of questions, the close, the status."""
    survey = round_.survey
    description = survey.description.strip()
    if len(description) > DESCRIPTION_IN_CARD:
        description = description[:DESCRIPTION_IN_CARD] + "…"
    lead: list[dict[str, Any]] = []
    if description:
        lead.append(parts.paragraph(description))
    if response is not None and response.status == ResponseStatus.COMPLETED:
        done = response.completed_at
        lead.append(
            _status_line(f"✔ 回答済みです（{day(done)}）" if done else "✔ 回答済みです", GREEN)
        )
    elif response is not None:
        lead.append(_status_line(f"回答の途中です（{current or 1}問目から）", SEA))
    rows = [
        parts.row("質問数", questions_text(total, branching)),
        parts.row("回答期限", f"{day(round_.closes_at)}まで"),
    ]
    note = "回答は1問ごとに保存されます。"
    if "続きから" not in description:
        note += "途中でやめても、あとで続きから回答できます。"
    if response is not None and response.status == ResponseStatus.COMPLETED:
        note = "「回答し直す」を押すと、前回の回答は新しい回答に置き換わります。"
    return parts.bubble(
        survey.title,
        SEA,
        rows,
        buttons,
        button_colour=CORAL,
        tag=f"アンケート・{round_.title}" if round_.title else "アンケート",
        lead=lead,
        footnote=note,
    )


def carousel(alt: str, bubbles: list[dict[str, Any]], quick: list[Action]) -> Message:
    return flex(alt, {"type": "carousel", "contents": bubbles[:MAX_BUBBLES]}, quick)


def mine_bubble(
    entries: list[tuple[SurveyRound, SurveyResponse | None, int | None]],
    buttons: list[Action],
) -> dict[str, Any]:
    """マイページ: each open round with the resident's status and its close, then the buttons
    (回答する / 続きから, プロフィール)."""
    rows: list[dict[str, Any]] = []
    for round_, response, current in entries:
        rows.append(
            {
                "type": "text",
                "text": title(round_),
                "size": "sm",
                "wrap": True,
                "margin": "md" if rows else "none",
            }
        )
        rows.append(
            {
                "type": "text",
                "text": status_text(response, current),
                "size": "sm",
                "weight": "bold",
                "color": _status_colour(response),
                "wrap": True,
            }
        )
        if response is None or response.status != ResponseStatus.COMPLETED:
            rows.append(parts.row("回答期限", f"{short_day(round_.closes_at)}まで"))
    if not entries:
        rows.append(
            {
                "type": "text",
                "text": "いま回答を受け付けているアンケートはありません。",
                "size": "sm",
                "wrap": True,
            }
        )
    return parts.bubble(
        "アンケート・プロフィール",
        SEA,
        rows,
        buttons,
        button_colour=CORAL,
        footnote="プロフィール（お仕事・スキル、子育て・副業、移住など）は、"
        "下の「プロフィール」から確認・変更できます。",
        primary=any(r is None or r.status != ResponseStatus.COMPLETED for _, r, _ in entries),
    )


def reminder_card(
    round_: SurveyRound, current: int | None, total: int, buttons: list[Action]
) -> Message:
    """The one push to a resident who stopped half way: 続きから."""
    rows = [parts.row("回答期限", f"{day(round_.closes_at)}まで")]
    if current:
        rows.insert(0, parts.row("続き", f"{current}問目から（全{total}問）"))
    return flex(
        "アンケートの回答が途中です。続きから回答できます",
        parts.bubble(
            "回答の続きのご案内",  # short: one line at a phone's width
            SEA,
            rows,
            buttons,
            button_colour=CORAL,
            tag="アンケート",
            lead=[
                parts.paragraph(
                    f"「{title(round_)}」へのご回答が途中になっています。"
                    "これまでの回答は保存されていますので、お時間のあるときに続きからお答えください。"
                )
            ],
            footnote="このお知らせは1回だけお送りしています。",
        ),
    )
