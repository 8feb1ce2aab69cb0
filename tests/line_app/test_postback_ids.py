"""Ids in postback data that cannot name a row (oversized, non-numeric, full-width) are a
stale button: answered in Japanese at once, never an error that blocks the resident."""

from __future__ import annotations

import pytest

from line_app.ids import MAX_ID, parse_id
from models.inbox import InboxEvent, InboxStatus
from tests.line_app.test_consult_flow import Resident_, make_slots
from tests.line_app.test_consult_flow import resident as resident  # noqa: F401  (fixture)

BAD_IDS = ["9" * 30, str(MAX_ID + 1), "abc", "１２", " 1", "1_0", "-1", "0", ""]


@pytest.mark.parametrize("value", BAD_IDS)
def test_parse_id_rejects_what_cannot_name_a_row(value: str) -> None:
    assert parse_id(value) is None


def test_parse_id_takes_plain_ids() -> None:
    assert parse_id("42") == 42
    assert parse_id(str(MAX_ID)) == MAX_ID


@pytest.mark.parametrize("value", ["9" * 30, "abc"])
@pytest.mark.parametrize(
    ("data", "answer"),
    [
        ("flow=consult&step=slot&t=start&s={}", "この枠は埋まりました"),
        ("flow=consult&step=method&t=start&m=visit&s={}", "この枠は埋まりました"),
        ("flow=consult&step=cancel_yes&b={}", "ご予約"),
        ("flow=consult&step=cancel&b={}", "ご予約"),
    ],
)
async def test_bad_ids_in_a_signed_postback_are_a_stale_button(
    resident: Resident_,  # noqa: F811
    data: str,
    answer: str,
    value: str,
) -> None:
    await make_slots(1)
    await resident.tap(data.format(value))
    event = await InboxEvent.get()
    assert event.status == InboxStatus.DONE and event.attempts == 1
    assert event.last_error is None
    assert answer in resident.text()
