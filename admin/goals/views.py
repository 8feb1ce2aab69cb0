"""計画の目標's pages: the board (a tile per goal: definition, value, target, progress, chart
by month), the residents behind a goal (audited: residents' data), the yearly report
(printable, and as CSV — audited) and the plan's period and targets (admins only, audited
with the values before and after). The rules are shima.domain.goals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import require_role, staff_required
from admin.charts import Bar, columns
from admin.csv_export import csv_response
from admin.errors import error_page
from admin.forms import Flash, flash, parse_date, short_text, typed_text
from admin.listing import paginate, requested_page
from admin.pages import render
from models.residents import Resident
from shima.domain import goals as rules
from shima.timeutil import JST, now

GOALS_PATH = "/admin/goals"
PEOPLE_PER_PAGE = 100

OUTCOMES: dict[str, Flash] = {
    "saved": ("success", "計画の期間と目標値を保存しました。"),
    "unchanged": ("success", "変更はありませんでした。"),
}


def chart(goal: rules.Goal) -> Markup:
    """The goal's months as columns, with the target as a line."""
    items = []
    last = len(goal.series) - 1
    for n, month in enumerate(goal.series):
        if goal.number == rules.SATISFACTION:
            note = f"{month.value:g}%（{month.count}人）" if month.count else "回答なし"
        else:
            note = f"{month.value:g}人"
        items.append(Bar(month.label, month.value, note, strong=n == last))
    return columns(items, title=f"{goal.title}の月ごとの推移", target=goal.target, unit=goal.unit)


@staff_required
async def board(request: Request) -> Response:
    plan = await rules.plan()
    goals = await rules.board(plan)
    return render(
        request,
        "admin/goals/board.html",
        {
            "plan": plan,
            "goals": goals,
            "charts": {g.number: chart(g) for g in goals},
            "today": now(),
            "outcome": flash(request, OUTCOMES),
        },
        active="goals",
    )


@staff_required
async def people(request: Request) -> Response:
    number = request.path_params["goal"]
    if number not in rules.NUMBERS:
        return error_page(request, 404, title="計画の目標が見つかりません")
    plan = await rules.plan()
    kind = rules.kind_of(number)
    asked = requested_page(request.query_params.get("page"))
    offset = ((asked or 1) - 1) * PEOPLE_PER_PAGE
    found = await rules.people(plan, number, offset=offset, limit=PEOPLE_PER_PAGE)
    page = paginate(request, found.total, PEOPLE_PER_PAGE)
    if page.offset != offset:  # past the last page: the last one
        found = await rules.people(plan, number, offset=page.offset, limit=PEOPLE_PER_PAGE)
    ids = [p.resident_id for p in found.rows if p.resident_id]
    names = dict(await Resident.filter(id__in=ids).values_list("id", "display_name"))
    await audit.record(
        request, "goals.people.view", "goal", number, {"rows": found.total, "page": page.number}
    )
    return render(
        request,
        "admin/goals/people.html",
        {
            "plan": plan,
            "kind": kind,
            "definition": rules.definition(number, plan),
            "people": found.rows,
            "names": names,
            "page": page,
        },
        active="goals",
    )


@staff_required
async def report(request: Request) -> Response:
    plan = await rules.plan()
    made = await rules.yearly_report(plan)
    return render(
        request,
        "admin/goals/report.html",
        {"report": made, "upcoming": upcoming_years(made), "definitions": definitions(plan)},
        active="goals",
    )


def definitions(plan: rules.Plan) -> list[tuple[rules.GoalKind, str]]:
    return [(kind, rules.definition(kind.number, plan)) for kind in rules.GOALS]


def upcoming_years(made: rules.Report) -> set[int]:
    """The plan's 年度 that had not begun when the report was made: their cells are left
    blank (「—」), not shown as 0 as if nobody had been counted that year."""
    return {fy.year for fy in made.fiscal_years if made.plan.window(fy)[0] > made.made_at}


def report_rows(made: rules.Report) -> list[list[object]]:
    """The CSV's rows: the plan's KPI table (values without units; blank for a 年度 not
    begun), then the respondents of goal 4 for reference."""
    upcoming = upcoming_years(made)
    rows: list[list[object]] = []
    for row in made.rows:
        goal = row.goal
        rows.append(
            [
                goal.title,
                goal.unit,
                goal.target,
                *(
                    cell.value if cell.value is not None and fy.year not in upcoming else ""
                    for fy, cell in zip(made.fiscal_years, row.years, strict=True)
                ),
                goal.value if goal.value is not None else "",
                goal.progress_text,
            ]
        )
    satisfaction = made.rows[rules.SATISFACTION - 1]
    rows.append(
        [
            "（参考）幸せ（ワークライフ）満足度の回答者数",
            "人",
            "",
            *(
                c.respondents if c.respondents is not None and fy.year not in upcoming else ""
                for fy, c in zip(made.fiscal_years, satisfaction.years, strict=True)
            ),
            satisfaction.goal.respondents or 0,
            "",
        ]
    )
    return rows


@staff_required
async def report_csv(request: Request) -> Response:
    plan = await rules.plan()
    made = await rules.yearly_report(plan)
    header = [
        "計画目標（KPI）",
        "単位",
        "目標値",
        *(fy.label for fy in made.fiscal_years),
        "計画期間",
        "達成率",
    ]
    rows = report_rows(made)
    await audit.record(request, "goals.report.export", "plan", 1, {"rows": len(rows)})
    day = made.made_at.astimezone(JST)
    return csv_response(
        f"計画目標_年度別実績_{day:%Y%m%d}.csv",
        header,
        rows,
        fallback=f"goals_report_{day:%Y%m%d}.csv",
    )


# ---------- The plan's period and targets ----------


def plan_values(plan: rules.Plan) -> dict[str, str]:
    values = {"starts_on": plan.starts_on.isoformat(), "ends_on": plan.ends_on.isoformat()}
    for number, target in zip(rules.NUMBERS, plan.targets, strict=True):
        values[f"target_{number}"] = str(target)
    return values


def parse_plan_form(form: FormData) -> tuple[rules.Plan | None, list[str]]:
    """The plan as typed, or the Japanese problems (each field's, then the rules')."""
    problems: list[str] = []
    days: list[date] = []
    for name, label in (("starts_on", "計画期間の始まり"), ("ends_on", "計画期間の終わり")):
        text = short_text(form, name, 20)
        day = parse_date(text) if len(text) == 10 else None
        if day is None:
            shown = f"（「{text}」）" if text else ""
            problems.append(f"{label}を YYYY-MM-DD の日付で入力してください{shown}。")
        else:
            days.append(day)
    targets: list[int] = []
    for kind in rules.GOALS:
        text = short_text(form, f"target_{kind.number}", 20)
        digits = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        if not digits.isdigit() or len(digits) > 9:
            shown = f"（「{text}」）" if text else ""
            problems.append(f"{kind.title}の目標値は1以上の整数で入力してください{shown}。")
        else:
            targets.append(int(digits))
    if problems:
        return None, problems
    problems = rules.plan_problems(days[0], days[1], targets)
    if problems:
        return None, problems
    return rules.Plan(days[0], days[1], tuple(targets)), []  # type: ignore[arg-type]


def settings_form(
    request: Request, plan: rules.Plan, values: Mapping[str, str], errors: list[str]
) -> Response:
    return render(
        request,
        "admin/goals/settings.html",
        {"plan": plan, "values": values, "errors": errors, "goals": rules.GOALS},
        status_code=400 if errors else 200,
        active="goals",
    )


def changes(before: rules.Plan, after: rules.Plan) -> dict[str, str]:
    """The audit's detail: each changed value as 「before → after」."""
    found = {}
    for name in ("starts_on", "ends_on"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            found[name] = f"{old:%Y-%m-%d} → {new:%Y-%m-%d}"
    for field, old_target, new_target in zip(
        rules.TARGET_FIELDS, before.targets, after.targets, strict=True
    ):
        if old_target != new_target:
            found[field] = f"{old_target} → {new_target}"
    return found


@require_role("admin")
async def settings_page(request: Request) -> Response:
    plan = await rules.plan()
    if request.method == "GET":
        return settings_form(request, plan, plan_values(plan), [])
    form = await request.form()
    typed = {name: typed_text(form, name) for name in plan_values(plan)}
    wanted, errors = parse_plan_form(form)
    if wanted is None:
        return settings_form(request, plan, typed, errors)
    if not changes(plan, wanted):
        return RedirectResponse(f"{GOALS_PATH}?done=unchanged", status_code=303)
    async with in_transaction():
        before, after = await rules.save_plan(wanted.starts_on, wanted.ends_on, wanted.targets)
        await audit.record(request, "goals.settings.update", "plan", 1, changes(before, after))
    return RedirectResponse(f"{GOALS_PATH}?done=saved", status_code=303)
