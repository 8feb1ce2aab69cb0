"""アンケート notices — pushes no event of the resident caused — and the area's job: the one
reminder to a resident who started a survey and stopped half way (「続きから」). Queued in
the caller's transaction via line_app.outbox.enqueue with a dedupe key, so it goes out once."""

from __future__ import annotations

from line_app import outbox
from line_app.flows import card_parts as parts
from line_app.flows import survey_cards as cards
from line_app.messages import Message, postback, postback_data
from models.survey import SurveyResponse
from shima.domain import survey_responses as rules
from shima.settings import Settings

FLOW = "survey"


async def reminder_message(response: SurveyResponse) -> Message:
    """「アンケートの回答が途中です。続きから回答できます」 with 続きから (round loaded)."""
    step = await rules.step_of(response)
    return cards.reminder_card(
        step.round,
        step.number if step.question is not None else None,
        step.total,
        [
            postback("続きから", postback_data(FLOW, "start", o=step.round.id), "続きから"),
            parts.mypage_action(),
        ],
    )


async def queue_due_reminders(settings: Settings) -> int:
    """One push per response claimed by rules.claim_due_reminders (each reminded once ever);
    returns how many were queued."""
    queued = 0
    for response in await rules.claim_due_reminders(settings):
        rows = await outbox.enqueue(
            response.resident.line_user_id,
            [await reminder_message(response)],
            kind="survey_reminder",
            dedupe_key=f"survey_reminder:{response.id}",
        )
        queued += 1 if rows else 0
    return queued
