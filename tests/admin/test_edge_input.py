"""Admin edge input: ids beyond the database's range and dates far outside the plan's years
get a 404 or a clear Japanese notice, never a 500 (a probe found both)."""

from __future__ import annotations

import httpx2
import pytest

HUGE_IDS = ["2147483648", "99999999999999999999999", "0000000000000000000001"]

ID_PATHS = [
    "/admin/residents/{id}",
    "/admin/consult/bookings/{id}",
    "/admin/consult/slots/{id}/edit",
]


@pytest.mark.parametrize("path", ID_PATHS)
@pytest.mark.parametrize("ident", HUGE_IDS)
async def test_ids_beyond_the_database_range_are_not_found(
    staff_client: httpx2.AsyncClient, path: str, ident: str
) -> None:
    response = await staff_client.get(path.format(id=ident))
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text


@pytest.mark.parametrize("path", ID_PATHS)
async def test_the_largest_id_is_a_plain_missing_row(
    staff_client: httpx2.AsyncClient, path: str
) -> None:
    # 2147483647 is a valid id: it reaches the database and is simply not there.
    response = await staff_client.get(path.format(id="2147483647"))
    assert response.status_code == 404


async def test_posts_to_huge_ids_are_not_found(staff_client: httpx2.AsyncClient) -> None:
    for path in [
        "/admin/consult/bookings/99999999999999999999/cancel",
        "/admin/consult/slots/99999999999999999999/delete",
        "/admin/consult/closures/99999999999999999999/delete",
        "/admin/undelivered/99999999999999999999/requeue",
    ]:
        response = await staff_client.post(path, data={})
        assert response.status_code in (403, 404), path  # CSRF or no such route, never 500


@pytest.mark.parametrize("week", ["0001-01-01", "9999-12-31", "1999-12-31", "2026-13-45", "x"])
async def test_a_week_outside_the_plan_years_shows_this_week_with_a_notice(
    staff_client: httpx2.AsyncClient, week: str
) -> None:
    response = await staff_client.get("/admin/consult/slots", params={"week": week})
    assert response.status_code == 200
    assert "指定された週の日付が正しくないため、今週を表示しています。" in response.text


async def test_a_normal_week_has_no_notice(staff_client: httpx2.AsyncClient) -> None:
    response = await staff_client.get("/admin/consult/slots", params={"week": "2026-12-07"})
    assert response.status_code == 200
    assert "正しくない" not in response.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_far_dates_in_filters_and_forms_are_not_a_500(
    staff_client: httpx2.AsyncClient, day: str
) -> None:
    for path, params in [
        ("/admin/consult/bookings", {"from": day, "to": day}),
        ("/admin/consult/slots/new", {"date": day}),
        ("/admin/consult/closures", {"booked_on": day}),
        ("/admin/consult/bookings.csv", {"from": day}),
    ]:
        response = await staff_client.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code)
