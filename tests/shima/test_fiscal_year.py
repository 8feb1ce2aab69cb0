"""The 年度 (April–March) every area counts in: shima.timeutil.fiscal_year_of."""

from __future__ import annotations

from datetime import date

from shima.timeutil import fiscal_year_of


def test_a_fiscal_year_starts_on_april_first() -> None:
    assert fiscal_year_of(date(2026, 3, 31)) == 2025
    assert fiscal_year_of(date(2026, 4, 1)) == 2026
    assert fiscal_year_of(date(2026, 12, 31)) == 2026
    assert fiscal_year_of(date(2027, 1, 1)) == 2026
