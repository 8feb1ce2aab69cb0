"""計画の目標 in the admin, through the ASGI app: the board (the five values, targets,
progress bars and charts as SVG), the residents behind a goal (audited), the yearly report
(printable page and CSV, audited), the plan's period and targets (admins only: validation
with the values kept, CSRF, audited with the values before and after), the dashboard's part,
and sign-in on every page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx2
import pytest

from models.audit import AuditLog
from models.profiles import PlanSettings
from shima.domain import goals
from tests.admin.conftest import ADMIN_EMAIL, PASSWORD, login, page_csrf
from tests.shima.domain.goal_fixtures import (
    AFTER_THE_PERIOD,
    earning_data,
    leader_data,
    migrant_data,
    satisfaction_data,
    skillup_data,
)

PAGES = ("/admin/goals", "/admin/goals/1/people", "/admin/goals/report", "/admin/goals/settings")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(goals, "now", lambda: AFTER_THE_PERIOD)


@pytest.fixture
async def data(db: str, clock: None) -> dict[str, object]:
    people = await skillup_data()
    await migrant_data()
    await earning_data()
    await satisfaction_data()
    await leader_data()
    return people


def no_inline_code(html: str) -> None:
    """The CSP allows no inline style or script."""
    assert " style=" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None


async def test_every_goals_page_asks_to_sign_in(client: httpx2.AsyncClient) -> None:
    for path in (*PAGES, "/admin/goals/report.csv"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next="), path
    refused = await client.post("/admin/goals/settings", data={"starts_on": "2025-04-01"})
    assert refused.status_code == 403
    assert await AuditLog.all().count() == 0


async def test_the_board_shows_the_five_goals_with_their_charts(
    staff_client: httpx2.AsyncClient, data: dict[str, object]
) -> None:
    response = await staff_client.get("/admin/goals")
    assert response.status_code == 200
    html = response.text
    no_inline_code(html)
    for title in (
        "スキルアップ支援者数",
        "新たなフリーランス移住者",
        "有収益の子育て・副業フリーランス",
        "幸せ（ワークライフ）満足度",
        "コミュニティリーダー",
    ):
        assert title in html
    values = re.findall(r'<span class="goal-value">([^<]*)<span class="goal-unit">([^<]*)', html)
    assert values == [("4", "人"), ("3", "人"), ("3", "人"), ("50", "%"), ("3", "人")]
    for target in ("目標 90人", "目標 15人", "目標 30人", "目標 80%", "目標 3人"):
        assert target in html
    assert "回答者 4人（2026年度）" in html
    # A rate says how far it is from its target in points, not a second percentage.
    assert "<strong>目標まであと30ポイント</strong>" in html
    assert "達成率 <strong>62%</strong>" not in html
    assert "達成率 <strong>4%</strong>（目標まであと86人）" in html  # counts keep their rate
    assert html.count('<svg class="chart chart-columns"') == 5
    assert html.count('<svg class="goal-progress') == 5
    assert 'width="100" height="8" rx="4"/></svg>' in html  # the leaders' bar, full
    assert html.count("対象の利用者を見る") == 5
    assert 'href="/admin/goals/1/people"' in html
    assert "2025/04/01〜2028/03/31" in html
    assert "/admin/goals/settings" not in html  # staff do not set the plan
    assert await AuditLog.filter(action__startswith="goals.").count() == 0  # counts only


async def test_the_people_behind_a_goal_are_listed_and_the_view_audited(
    staff_client: httpx2.AsyncClient, data: dict[str, object]
) -> None:
    alice = data["alice"]
    response = await staff_client.get("/admin/goals/1/people")
    assert response.status_code == 200
    html = response.text
    no_inline_code(html)
    assert f'href="/admin/residents/{alice.id}">Alice</a>' in html  # type: ignore[attr-defined]
    assert "山田 太郎" in html and "佐藤 花子" in html and "当日参加" in html
    assert "初回 2025/06/01・最近 2026/01/10（3回出席）" in html
    assert "Bob" not in html and "鈴木" not in html
    assert "4人中 1〜4人を表示" in html
    entry = await AuditLog.get(action="goals.people.view")
    assert (entry.target_type, entry.target_id, entry.staff_email) == (
        "goal",
        "1",
        "hanako@example.jp",
    )
    assert entry.detail == {"rows": 4, "page": 1}

    # Goal 4: who answered, never what they answered.
    answered = await staff_client.get("/admin/goals/4/people")
    assert answered.status_code == 200
    assert answered.text.count("2026年度に回答") == 4
    assert "個人の回答の値は表示しません" in answered.text
    assert await AuditLog.filter(action="goals.people.view").count() == 2

    past_the_end = await staff_client.get("/admin/goals/1/people?page=99")
    assert "4人中 1〜4人を表示" in past_the_end.text and "Alice" in past_the_end.text
    assert await AuditLog.filter(action="goals.people.view").count() == 3

    missing = await staff_client.get("/admin/goals/6/people")
    assert missing.status_code == 404
    assert await AuditLog.filter(action="goals.people.view").count() == 3


async def test_the_yearly_report_page_and_its_csv(
    staff_client: httpx2.AsyncClient, data: dict[str, object]
) -> None:
    page = await staff_client.get("/admin/goals/report")
    assert page.status_code == 200
    html = page.text
    no_inline_code(html)
    for column in ("計画目標（KPI）", "目標値", "R7", "R8", "R9", "計画期間", "達成率"):
        assert f">{column}<" in html
    assert "data-print" in html and '<script src="/static/admin/print.js" defer></script>' in html
    assert "window.print()" in (await staff_client.get("/static/admin/print.js")).text
    assert "67%<small>回答 3人</small>" in html

    csv = await staff_client.get("/admin/goals/report.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").split("\r\n")
    assert lines[0] == "計画目標（KPI）,単位,目標値,R7,R8,R9,計画期間,達成率"
    assert lines[1:7] == [
        "スキルアップ支援者数,人,90,2,2,1,4,4%",
        "新たなフリーランス移住者,人,15,1,1,1,3,20%",
        "有収益の子育て・副業フリーランス,人,30,2,0,0,3,10%",
        "幸せ（ワークライフ）満足度,%,80,67,50,,50,62%",
        "コミュニティリーダー,人,3,1,0,1,3,100%",
        "（参考）幸せ（ワークライフ）満足度の回答者数,人,,3,4,,4,",
    ]
    entry = await AuditLog.get(action="goals.report.export")
    assert entry.detail == {"rows": 6}


async def test_the_report_leaves_a_year_not_begun_blank_not_zero(
    staff_client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2027/03/31 23:59 JST: the last minute of R8 (the default plan: R7, R8, R9).
    monkeypatch.setattr(goals, "now", lambda: datetime(2027, 3, 31, 14, 59, tzinfo=UTC))
    html = (await staff_client.get("/admin/goals/report")).text
    assert html.count("—<small>これから</small>") == 5  # R9, one per goal
    assert html.count(">0人</td>") == 12  # R7, R8 and the period of goals 1, 2, 3 and 5
    text = (await staff_client.get("/admin/goals/report.csv")).content.decode("utf-8")
    lines = text.lstrip("\ufeff").split("\r\n")
    assert lines[1] == "スキルアップ支援者数,人,90,0,0,,0,0%"
    assert lines[5] == "コミュニティリーダー,人,3,0,0,,0,0%"
    # A minute later R9 has begun: its cells are counted (0 so far).
    monkeypatch.setattr(goals, "now", lambda: datetime(2027, 3, 31, 15, 0, tzinfo=UTC))
    html = (await staff_client.get("/admin/goals/report")).text
    assert "これから" not in html.replace("まだ始まっていない", "")
    text = (await staff_client.get("/admin/goals/report.csv")).content.decode("utf-8")
    assert text.lstrip("\ufeff").split("\r\n")[1] == "スキルアップ支援者数,人,90,0,0,0,0,0%"


@pytest.fixture
async def second_client(client: httpx2.AsyncClient) -> AsyncIterator[httpx2.AsyncClient]:
    """Another browser on the same app (an admin beside the staff member)."""
    transport = httpx2.ASGITransport(app=client.app)  # type: ignore[attr-defined]
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as other:
        yield other


async def test_only_admins_set_the_period_and_targets(
    staff_client: httpx2.AsyncClient, second_client: httpx2.AsyncClient, db: str
) -> None:
    from admin.passwords import create_staff

    staff_csrf = await page_csrf(staff_client, "/admin/goals")
    assert (await staff_client.get("/admin/goals/settings")).status_code == 403
    refused = await staff_client.post(
        "/admin/goals/settings",
        data={"csrf_token": staff_csrf, "starts_on": "2025-04-01", "ends_on": "2029-03-31"},
    )
    assert refused.status_code == 403
    assert (await goals.plan()).ends_on == date(2028, 3, 31)

    await create_staff(ADMIN_EMAIL, PASSWORD, role="admin", display_name="管理 太郎")
    assert (await login(second_client, ADMIN_EMAIL, PASSWORD)).status_code == 303
    board = await second_client.get("/admin/goals")
    assert 'href="/admin/goals/settings"' in board.text
    page = await second_client.get("/admin/goals/settings")
    assert page.status_code == 200
    no_inline_code(page.text)
    assert 'value="2025-04-01"' in page.text and 'value="90"' in page.text
    assert await AuditLog.filter(action="goals.settings.update").count() == 0


def plan_form(csrf: str, **changes: str) -> dict[str, str]:
    values = {
        "csrf_token": csrf,
        "starts_on": "2025-04-01",
        "ends_on": "2028-03-31",
        "target_1": "90",
        "target_2": "15",
        "target_3": "30",
        "target_4": "80",
        "target_5": "3",
    }
    values.update(changes)
    return values


async def test_the_settings_form_refuses_bad_values_and_keeps_them(
    admin_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(admin_client, "/admin/goals/settings")
    bad = await admin_client.post(
        "/admin/goals/settings",
        data=plan_form(
            csrf, ends_on="2025-03-31", target_1="たくさん", target_4="0", target_5="-2"
        ),
    )
    assert bad.status_code == 400
    html = bad.text
    assert "スキルアップ支援者数の目標値は1以上の整数で入力してください（「たくさん」）。" in html
    assert "コミュニティリーダーの目標値は1以上の整数で入力してください（「-2」）。" in html
    assert 'value="たくさん"' in html and 'value="2025-03-31"' in html and 'value="-2"' in html
    order = await admin_client.post(
        "/admin/goals/settings", data=plan_form(csrf, ends_on="2025-03-31")
    )
    assert order.status_code == 400
    assert (
        "計画期間の終わり（2025/03/31）は、始まり（2025/04/01）より後の日付にしてください。"
        in order.text
    )
    percent = await admin_client.post("/admin/goals/settings", data=plan_form(csrf, target_4="120"))
    assert percent.status_code == 400 and "1〜100（%）" in percent.text
    not_a_day = await admin_client.post(
        "/admin/goals/settings", data=plan_form(csrf, starts_on="2025-02-30")
    )
    assert not_a_day.status_code == 400
    assert (
        "計画期間の始まりを YYYY-MM-DD の日付で入力してください（「2025-02-30」）。"
        in not_a_day.text
    )
    no_token = await admin_client.post(
        "/admin/goals/settings",
        data={k: v for k, v in plan_form("", target_1="120").items() if k != "csrf_token"},
    )
    assert no_token.status_code == 403
    wrong_token = await admin_client.post(
        "/admin/goals/settings", data=plan_form("x" * 40, target_1="120")
    )
    assert wrong_token.status_code == 403
    assert (await goals.plan()).targets == (90, 15, 30, 80, 3)
    assert await AuditLog.filter(action="goals.settings.update").count() == 0


async def test_saving_the_settings_is_audited_with_before_and_after(
    admin_client: httpx2.AsyncClient, clock: None
) -> None:
    csrf = await page_csrf(admin_client, "/admin/goals/settings")
    same = await admin_client.post("/admin/goals/settings", data=plan_form(csrf))
    assert same.status_code == 303 and same.headers["location"] == "/admin/goals?done=unchanged"
    assert await AuditLog.filter(action="goals.settings.update").count() == 0

    saved = await admin_client.post(
        "/admin/goals/settings",
        data=plan_form(csrf, ends_on="2029-03-31", target_1="１２０", target_5="5"),
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/goals?done=saved"
    row = await PlanSettings.get(id=1)
    assert (row.ends_on, row.target_skillup, row.target_leaders) == (date(2029, 3, 31), 120, 5)
    entry = await AuditLog.get(action="goals.settings.update")
    assert (entry.target_type, entry.target_id, entry.staff_email) == ("plan", "1", ADMIN_EMAIL)
    assert entry.detail == {
        "ends_on": "2028-03-31 → 2029-03-31",
        "target_skillup": "90 → 120",
        "target_leaders": "3 → 5",
    }
    board = await admin_client.get("/admin/goals?done=saved")
    assert "計画の期間と目標値を保存しました。" in board.text
    assert "2025/04/01〜2029/03/31" in board.text and "目標 120人" in board.text
    audit = await admin_client.get("/admin/audit")
    assert "計画の期間・目標値の変更" in audit.text
    assert "計画期間の終わり" in audit.text and "2028-03-31 → 2029-03-31" in audit.text


async def test_the_dashboard_shows_the_five_goals_against_their_targets(
    staff_client: httpx2.AsyncClient, data: dict[str, object]
) -> None:
    response = await staff_client.get("/admin/")
    assert response.status_code == 200
    html = response.text
    no_inline_code(html)
    part = html[html.index('aria-labelledby="goals-dashboard-title"') :]
    values = re.findall(r'<span class="goal-value">([^<]*)<span class="goal-unit">([^<]*)', part)
    assert values == [("4", "人"), ("3", "人"), ("3", "人"), ("50", "%"), ("3", "人")]
    assert part.count('href="/admin/goals#goal-') == 5
    assert "目標 90人" in part and "回答 4人" in part
    nav = html[html.index('id="admin-nav"') :]
    assert 'href="/admin/goals">計画の目標</a>' in nav


async def test_a_goal_page_at_the_period_start(
    staff_client: httpx2.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the period starts: no months yet, every value 0, goal 4 with no round."""
    monkeypatch.setattr(goals, "now", lambda: datetime(2025, 3, 1, 3, 0, tzinfo=UTC))
    html = (await staff_client.get("/admin/goals")).text
    assert html.count("計画期間が始まると、月ごとの推移を表示します。") == 5
    assert "期間中の満足度調査に、まだ回答がありません。" in html
