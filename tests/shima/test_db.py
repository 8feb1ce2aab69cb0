"""shima.db's raw row reading: the tortoise internals it relies on (QuerySet.sql() building
`query.query` and choosing `query._db`, get_parameterized_sql()) still do what it needs — the
same rows as awaiting the query, its parameters bound, read on the caller's transaction —
and the raw values convert to what the ORM would give. Fails if tortoise changes them."""

from __future__ import annotations

import pytest
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models.profiles import ResidentProfile
from models.residents import Resident
from shima.db import built_sql, fetch_rows, raw_bool, raw_datetime, raw_json

pytestmark = pytest.mark.usefixtures("db")


async def _residents(*names: str) -> list[Resident]:
    return [
        await Resident.create(line_user_id=f"U{n:032d}", display_name=name)
        for n, name in enumerate(names)
    ]


async def test_fetch_rows_reads_what_awaiting_the_query_reads() -> None:
    a, _, c = await _residents("一", "二", "三")
    await ResidentProfile.create(resident=a, skills=["writer", "web"], raising_children=True)
    await ResidentProfile.create(resident=c, side_job=False)
    query = ResidentProfile.filter(resident_id__in=[a.id, c.id]).order_by("resident_id")
    columns = ("resident_id", "skills", "raising_children", "side_job", "updated_at")

    raw = await fetch_rows(query.values(*columns))
    assert [sorted(row) for row in raw] == [sorted(columns)] * 2
    converted = [
        {
            "resident_id": row["resident_id"],
            "skills": raw_json(row["skills"]),
            "raising_children": raw_bool(row["raising_children"]),
            "side_job": raw_bool(row["side_job"]),
            "updated_at": raw_datetime(row["updated_at"]),
        }
        for row in raw
    ]
    assert converted == await query.values(*columns)
    assert converted[0]["skills"] == ["writer", "web"] and converted[1]["side_job"] is False
    assert converted[1]["raising_children"] is None


async def test_fetch_rows_binds_the_parameters_and_reads_annotations() -> None:
    await _residents("一", "二", "二")
    rows = await fetch_rows(
        Resident.filter(display_name__in=["二", "三"])
        .group_by("display_name")
        .annotate(n=Count("id"))
        .values("display_name", "n")
    )
    assert [(r["display_name"], int(r["n"])) for r in rows] == [("二", 2)]


async def test_built_sql_runs_inside_sql_of_ones_own() -> None:
    await _residents("一", "二", "三")
    sql, params, db = built_sql(Resident.filter(display_name__not="二").values("id"))
    assert params == ["二"]
    _, rows = await db.execute_query(f"SELECT COUNT(*) FROM ({sql}) t", params)
    assert int(rows[0][0]) == 2


async def test_rows_are_read_on_the_callers_transaction() -> None:
    async with in_transaction():
        await _residents("まだ確定していない")
        rows = await fetch_rows(Resident.filter(display_name="まだ確定していない").values("id"))
        assert len(rows) == 1
        # The connection the rows were read on is the transaction's.
        _, _, db = built_sql(Resident.all().values("id"))
        assert db is Resident._meta.db
