"""Paged lists (admin/listing.py): a bad `?page=` lands on the first or the last page,
never a 500 — checked through the ASGI app on each list that pages."""

from __future__ import annotations

import re
import uuid

import httpx2
import pytest
from starlette.requests import Request

from admin.listing import PER_PAGE, paginate, requested_page
from models.audit import AuditLog
from models.outbox import OutboxMessage, OutboxStatus
from models.residents import Resident
from shima.timeutil import now

ROWS = PER_PAGE + 10  # two pages
HUGE = "99999999999999999999"


def request(query: str, path: str = "/admin/residents") -> Request:
    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    return Request({**scope, "query_string": query.encode()})


def test_requested_page() -> None:
    assert requested_page(None) == 1
    assert requested_page("3") == 3 and requested_page("007") == 7
    for bad in ("", "0", "-1", "abc", "2.5", "1e3", "２", " 2", "0x10"):
        assert requested_page(bad) == 1, bad
    assert requested_page(HUGE) is None  # past any last page
    assert requested_page("9" * 5000) is None  # never parsed


def test_paginate_stays_within_the_pages_and_keeps_the_filters() -> None:
    page = paginate(request("q=%E5%B3%B6&page=2"), ROWS)
    assert (page.number, page.pages, page.offset) == (2, 2, PER_PAGE)
    assert page.first_item == PER_PAGE + 1 and page.last_item == ROWS
    assert page.prev_url == "/admin/residents?q=%E5%B3%B6"  # page 1 has no page=
    assert page.has_prev and not page.has_next
    assert paginate(request(f"page={HUGE}"), ROWS).number == 2
    assert paginate(request("page=3"), ROWS).number == 2
    assert paginate(request("page=0"), ROWS).number == 1
    empty = paginate(request(f"page={HUGE}"), 0)
    assert (empty.number, empty.pages, empty.offset, empty.first_item) == (1, 1, 0, 0)
    first = paginate(request("page=abc&q=x"), ROWS)
    assert first.number == 1 and first.next_url == "/admin/residents?q=x&page=2"


async def _residents() -> None:
    await Resident.bulk_create(
        [Resident(line_user_id=f"U{i:032d}", display_name=f"利用者{i:03d}") for i in range(ROWS)]
    )


async def _dead_letters() -> None:
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                line_user_id=f"U{i:032d}",
                messages=[{"type": "text", "text": f"お知らせ{i}"}],
                retry_key=str(uuid.uuid4()),
                status=OutboxStatus.DEAD,
                attempts=4,
                next_attempt_at=now(),
                kind="push",
            )
            for i in range(ROWS)
        ]
    )


async def _audit_entries() -> None:
    await AuditLog.bulk_create(
        [AuditLog(action="resident.view", target_type="resident") for _ in range(ROWS)]
    )


PAGES = [
    ("/admin/residents", _residents),
    ("/admin/undelivered", _dead_letters),
    ("/admin/audit", _audit_entries),
]


def shown_page(html: str) -> str:
    found = re.search(r'page-status">(\d+) / (\d+) ページ', html)
    assert found, "no page navigation"
    return found.group(1)


@pytest.mark.parametrize(("path", "fill"), PAGES, ids=[p for p, _ in PAGES])
async def test_a_bad_page_parameter_shows_the_first_or_last_page(
    admin_client: httpx2.AsyncClient, path: str, fill
) -> None:
    await fill()
    expected = {"0": "1", "-1": "1", "abc": "1", "": "1", "1.5": "1", HUGE: "2", "3": "2"}
    for raw, number in expected.items():
        response = await admin_client.get(path, params={"page": raw})
        assert response.status_code == 200, (raw, response.status_code)
        assert shown_page(response.text) == number, raw
    # Repeated and very long values too.
    repeated = await admin_client.get(f"{path}?page=2&page=x")
    assert repeated.status_code == 200
    long = await admin_client.get(path, params={"page": "9" * 5000})
    assert long.status_code == 200 and shown_page(long.text) == "2"
    second = await admin_client.get(path, params={"page": "2"})
    assert f'href="{path}"' in second.text  # 前へ goes back to page 1 without page=
