"""アンケート in the admin, through the ASGI app: the builder (errors in Japanese with the typed
values kept, more rows without JS, conditions typed as words, oversized fields refused),
CSRF and sign-in on every route, editing refused once frozen (also when the answer came
after the form was opened), new versions keeping the standard survey's codes, rounds
(create, overlap refused, edit, 締め切る, delete), the results page (figures, SVG charts,
small groups hidden), the CSV (Excel-safe) and the audit entries."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx2
from starlette.routing import Route

from admin.routing import MAX_FORM_BYTES
from models.audit import AuditLog
from models.survey import QuestionKind, Survey, SurveyRound
from shima.domain import survey_standard
from shima.domain import surveys as rules
from shima.timeutil import JST, now
from tests.admin.conftest import page_csrf
from tests.shima.domain.survey_fixtures import (
    SKIP,
    kinds_survey,
    open_round,
    questions,
    resident,
    respond,
)

SURVEYS = "/admin/surveys"
XSS = "<script>alert(1)</script>"


class FormFields(HTMLParser):
    """The fields a browser would send for the page's form with `action` (in order), as
    (name, value) pairs: inputs, textareas, and each select's selected (else first) option."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, []
        self._textarea: str | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or "name" not in a:
            if tag == "option" and self._select is not None:
                self._select[1].append((a.get("value", ""), "selected" in a))
            return
        if tag == "input" and a.get("type") not in ("submit", "checkbox", "radio"):
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields.append((a["name"], ""))
        elif tag == "select":
            self._select = (a["name"], [])

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [options[0][0]]
            self.fields.append((name, chosen[0]))
            self._select = None
        elif tag == "form":
            self.inside = False


def form_of(html: str, action: str) -> dict[str, list[str]]:
    parser = FormFields(action)
    parser.feed(html)
    fields: dict[str, list[str]] = {}
    for name, value in parser.fields:
        fields.setdefault(name, []).append(value)
    assert fields, f"no form posting to {action}"
    return fields


def new_survey_form(csrf: str, **changes: object) -> dict[str, object]:
    """The builder as staff fill it: a yes/no question, a single choice shown only for はい,
    a free comment, and an empty row left over."""
    data: dict[str, object] = {
        "csrf_token": csrf,
        "title": "交流会のふりかえり",
        "description": "3問だけです。",
        "thanks": "ありがとうございました！",
        "q_key": ["n1", "n2", "n3", "n4"],
        "q_kind": ["yesno", "single", "text", "scale5"],
        "q_text": ["交流会に参加しましたか？", "どの会場でしたか？", "ご意見をどうぞ", ""],
        "q_help": ["", "", "", ""],
        "q_required": ["1", "1", "0", "1"],
        "q_choices": ["", "名瀬\n笠利\n住用\n", "", ""],
        "q_if": ["", "n1", "", ""],
        "q_if_values": ["", "はい", "", ""],
        "action": "save",
    }
    data.update(changes)
    return data


def survey_id_of(response: httpx2.Response) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/admin/surveys/(\d+)", urlsplit(response.headers["location"]).path)
    assert match, response.headers["location"]
    return int(match.group(1))


# ---------- Guards ----------


def survey_routes(client: httpx2.AsyncClient, ids: dict[str, int]) -> list[tuple[str, str]]:
    app = client.app  # type: ignore[attr-defined]
    admin = next(r for r in app.routes if getattr(r, "path", "") == "/admin")
    found = []
    for r in admin.routes:
        if isinstance(r, Route) and r.path.startswith("/surveys"):
            path = "/admin" + r.url_path_for(r.name, **{k: ids[k] for k in r.param_convertors})
            found += [(method, path) for method in sorted(r.methods or ()) if method != "HEAD"]
    return found


async def test_every_survey_route_needs_a_signed_in_staff(client: httpx2.AsyncClient) -> None:
    survey, _ = await kinds_survey()
    round_ = await open_round(survey)
    routes = survey_routes(client, {"survey_id": survey.id, "round_id": round_.id})
    assert len(routes) >= 17
    for method, path in routes:
        response = await client.request(method, path, data={} if method == "POST" else None)
        if method == "GET":
            assert response.status_code == 303, path
            assert urlsplit(response.headers["location"]).path == "/admin/login"
        else:
            assert response.status_code == 403, path
    assert await AuditLog.all().count() == 0
    assert await SurveyRound.filter(id=round_.id, closes_at__gt=now()).exists()


async def test_posts_without_csrf_token_change_nothing(staff_client: httpx2.AsyncClient) -> None:
    survey, _ = await kinds_survey()
    round_ = await open_round(survey)
    for path, data in (
        (f"{SURVEYS}/new", new_survey_form("")),
        (f"{SURVEYS}/{survey.id}/edit", new_survey_form("")),
        (f"{SURVEYS}/{survey.id}/version", {}),
        (f"{SURVEYS}/{survey.id}/rounds/new", {"title": "x"}),
        (f"{SURVEYS}/rounds/{round_.id}/close", {}),
        (f"{SURVEYS}/rounds/{round_.id}/delete", {}),
    ):
        data.pop("csrf_token", None)
        response = await staff_client.post(path, data=data)  # type: ignore[arg-type]
        assert response.status_code == 403, path
        assert "不正なリクエスト" in response.text
    assert await Survey.all().count() == 1
    assert (await Survey.get(id=survey.id)).title == "島の暮らしアンケート"
    assert await SurveyRound.filter(id=round_.id, closes_at__gt=now()).exists()
    assert await AuditLog.filter(action__startswith="survey.").count() == 0


# ---------- The builder ----------


async def test_the_builder_makes_a_survey_with_a_condition_typed_as_words(
    staff_client: httpx2.AsyncClient,
) -> None:
    page = await staff_client.get(f"{SURVEYS}/new")
    assert page.status_code == 200 and 'name="q_text"' in page.text
    assert "/static/admin/surveys.js" in page.text and "<style" not in page.text
    csrf = await page_csrf(staff_client, f"{SURVEYS}/new")
    survey_id = survey_id_of(await staff_client.post(f"{SURVEYS}/new", data=new_survey_form(csrf)))
    survey = await Survey.get(id=survey_id)
    assert (survey.title, survey.version, survey.is_standard) == ("交流会のふりかえり", 1, False)
    made = await questions(survey)
    assert [q.kind for q in made] == [QuestionKind.YESNO, QuestionKind.SINGLE, QuestionKind.TEXT]
    assert made[1].choices == [
        {"value": "名瀬", "label": "名瀬"},
        {"value": "笠利", "label": "笠利"},
        {"value": "住用", "label": "住用"},
    ]
    assert made[1].show_if_id == made[0].id and made[1].show_if_values == ["yes"]  # type: ignore[attr-defined]
    assert not made[2].required
    page = await staff_client.get(f"{SURVEYS}/{survey_id}?done=created")
    assert "アンケートを作成しました" in page.text
    assert "質問1が「はい」のときだけ表示" in page.text
    entry = await AuditLog.get(action="survey.survey.create")
    assert entry.target_type == "survey" and entry.target_id == str(survey_id)
    assert entry.detail == {"survey_title": "交流会のふりかえり", "version": 1, "questions": 3}


async def test_builder_errors_are_japanese_and_keep_what_was_typed(
    staff_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(staff_client, f"{SURVEYS}/new")
    bad = new_survey_form(
        csrf,
        title="",
        q_text=["", "どの会場でしたか？", XSS, ""],
        q_choices=["", "名瀬", "", ""],
        q_if_values=["", "はい", "", ""],
        q_key=["n1", "n2", "n3", "n4"],
        q_kind=["yesno", "single", "text", "scale5"],
    )
    response = await staff_client.post(f"{SURVEYS}/new", data=bad)
    assert response.status_code == 400
    # The empty first row is left out: the rows are numbered as shown again.
    assert "アンケートのタイトルを入力してください。" in response.text
    assert "質問1の選択肢を2つ以上入力してください。" in response.text
    assert "質問1の表示条件には、それより前の質問を選んでください。" not in response.text
    assert 'value="どの会場でしたか？"' in response.text
    assert ">名瀬</textarea>" in response.text
    assert (
        'value="3問だけです。"' not in response.text
        and ">3問だけです。</textarea>" in response.text
    )
    assert XSS not in response.text and "&lt;script&gt;" in response.text
    assert await Survey.all().count() == 0
    # A title over its limit is refused with its length; the typed title comes back.
    long_title = "島" * (rules.TITLE_MAX + 1)
    response = await staff_client.post(
        f"{SURVEYS}/new", data=new_survey_form(csrf, title=long_title)
    )
    assert response.status_code == 400
    assert (
        f"タイトルは{rules.TITLE_MAX}文字以内で入力してください（いま101文字です）。"
        in response.text
    )
    assert long_title in response.text
    # A choice too long for LINE's buttons.
    response = await staff_client.post(
        f"{SURVEYS}/new",
        data=new_survey_form(csrf, q_choices=["", "名瀬\n" + "笠" * 21, "", ""]),
    )
    assert response.status_code == 400 and "20文字以内" in response.text
    assert (
        await Survey.all().count() == 0
        and await AuditLog.filter(action__startswith="survey.").count() == 0
    )


async def test_more_rows_without_javascript_keep_the_form(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client, f"{SURVEYS}/new")
    response = await staff_client.post(f"{SURVEYS}/new", data=new_survey_form(csrf, action="add"))
    assert response.status_code == 200
    assert response.text.count('name="q_text"') == 3 + 5  # the three typed, five empty
    assert 'value="交流会に参加しましたか？"' in response.text
    fields = form_of(response.text, f"{SURVEYS}/new")
    assert fields["q_if"][1] == "n1"  # the condition still names its row
    assert await Survey.all().count() == 0


async def test_a_body_over_the_limit_gets_the_builder_back_in_japanese(
    staff_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(staff_client, f"{SURVEYS}/new")
    huge = new_survey_form(csrf, description="島" * (MAX_FORM_BYTES // 2))
    response = await staff_client.post(f"{SURVEYS}/new", data=huge)
    assert response.status_code == 413
    assert "送信された内容が大きすぎる" in response.text and 'name="q_text"' in response.text
    assert await Survey.all().count() == 0


# ---------- Editing, freezing, versions ----------


async def test_edit_until_answered_then_refused_in_japanese(
    staff_client: httpx2.AsyncClient,
) -> None:
    survey, qs = await kinds_survey()
    edit = f"{SURVEYS}/{survey.id}/edit"
    page = await staff_client.get(edit)
    assert page.status_code == 200
    fields = form_of(page.text, edit)
    assert fields["q_key"][:8] == [f"q{q.id}" for q in qs]
    fields["title"] = ["島の暮らしアンケート 2026"]
    fields["q_text"][0] = "いま、どのくらい幸せですか？"
    saved = await staff_client.post(edit, data={**fields, "action": "save"})
    assert survey_id_of(saved) == survey.id
    assert (await questions(survey))[0].text == "いま、どのくらい幸せですか？"
    assert (await questions(survey))[0].id == qs[0].id
    assert (await AuditLog.get(action="survey.survey.update")).detail["questions"] == 8

    # The form is opened, then a resident answers, then staff save: refused at save time.
    page = await staff_client.get(edit)
    fields = form_of(page.text, edit)
    await respond(await open_round(survey), await resident(), {qs[0]: 4}, completed=False)
    fields["title"] = ["変えたいタイトル"]
    refused = await staff_client.post(edit, data={**fields, "action": "save"})
    assert refused.status_code == 409
    assert "このアンケートにはすでに回答があるため、質問や文面は変更できません。" in refused.text
    assert 'value="変えたいタイトル"' in refused.text  # what was typed is kept
    assert (await Survey.get(id=survey.id)).title == "島の暮らしアンケート 2026"
    # The edit page now sends staff to the survey, which offers a new version instead.
    again = await staff_client.get(edit)
    assert again.status_code == 303 and "done=frozen" in again.headers["location"]
    survey_page = await staff_client.get(f"{SURVEYS}/{survey.id}")
    assert "新しい版を作る" in survey_page.text and "質問・文面を編集" not in survey_page.text
    assert survey_page.text.count("すでに回答があるため") == 1  # why, in a note
    # Sent there from 「編集」, the reason is said once (the warning), not twice.
    sent_back = await staff_client.get(again.headers["location"])
    assert "alert-warning" in sent_back.text
    assert sent_back.text.count("すでに回答があるため") == 1
    assert await AuditLog.filter(action="survey.survey.update").count() == 1


async def test_a_new_version_of_the_standard_survey_keeps_its_codes(
    staff_client: httpx2.AsyncClient,
) -> None:
    standard = await survey_standard.standard_survey()
    old = await questions(standard)
    await respond(await open_round(standard), await resident(), {old[0]: 5}, completed=False)
    csrf = await page_csrf(staff_client, f"{SURVEYS}/{standard.id}")
    made = await staff_client.post(f"{SURVEYS}/{standard.id}/version", data={"csrf_token": csrf})
    copy_id = survey_id_of(made)
    assert "done=versioned" in made.headers["location"]
    twice = await staff_client.post(f"{SURVEYS}/{standard.id}/version", data={"csrf_token": csrf})
    assert survey_id_of(twice) == copy_id and "done=version_exists" in twice.headers["location"]
    assert await Survey.filter(based_on_id=standard.id).count() == 1
    # Edit the copy as a browser would: reorder nothing, add a question at the end.
    edit = f"{SURVEYS}/{copy_id}/edit"
    fields = form_of((await staff_client.get(edit)).text, edit)
    n = 13  # the first empty row
    fields["q_text"][n] = "来年もこのアンケートに答えますか？"
    fields["q_kind"][n] = "yesno"
    fields["q_choices"][9] = "移住\n地元\n移住検討中"  # reordered labels keep their codes
    assert survey_id_of(await staff_client.post(edit, data={**fields, "action": "save"})) == copy_id
    new = await questions(await Survey.get(id=copy_id))
    assert len(new) == 14 and new[13].text == "来年もこのアンケートに答えますか？"
    assert [c["value"] for c in new[9].choices] == ["migrant", "local", "considering"]
    assert [c["value"] for c in new[11].choices] == [c["value"] for c in old[11].choices]
    assert [q.role for q in new[:13]] == [q.role for q in old]
    assert new[10].show_if_id == new[9].id and new[10].show_if_values == ["migrant"]  # type: ignore[attr-defined]
    # A renamed choice of a profile question is refused, in Japanese.
    fields["q_choices"][9] = "島んちゅ\n移住\n移住検討中"
    refused = await staff_client.post(edit, data={**fields, "action": "save"})
    assert (
        refused.status_code == 400
        and "地元・移住・移住検討中 の中から選んでください" in refused.text
    )
    actions = list(await AuditLog.filter(target_type="survey").values_list("action", flat=True))
    assert actions.count("survey.survey.new_version") == 1


# ---------- Rounds ----------


def local(at: object) -> str:
    return f"{at.astimezone(JST):%Y-%m-%dT%H:%M}"  # type: ignore[attr-defined]


async def test_rounds_create_refuse_overlap_edit_close_and_delete(
    staff_client: httpx2.AsyncClient,
) -> None:
    survey, _ = await kinds_survey()
    new = f"{SURVEYS}/{survey.id}/rounds/new"
    page = await staff_client.get(new)
    assert page.status_code == 200 and "回を作る" in page.text
    fields = form_of(page.text, new)
    assert fields["title"][0].endswith("年度") and fields["opens_at"][0]
    created = await staff_client.post(new, data=fields)
    assert (
        survey_id_of(created) == survey.id and "done=round_created" in created.headers["location"]
    )
    first = await SurveyRound.get(survey_id=survey.id)
    entry = await AuditLog.get(action="survey.round.create")
    assert entry.target_type == "survey_round" and entry.detail["round_title"] == first.title

    # 「もう一度実施」: overlapping the open round is refused; the typed values come back.
    page = await staff_client.get(new)
    assert "もう一度実施" in page.text
    clash = {
        "csrf_token": fields["csrf_token"][0],
        "title": "重なる回",
        "opens_at": local(now() + timedelta(days=2)),
        "closes_at": local(now() + timedelta(days=40)),
    }
    refused = await staff_client.post(new, data=clash)
    assert refused.status_code == 400 and "期間が重なっています" in refused.text
    assert 'value="重なる回"' in refused.text
    bad = await staff_client.post(new, data={**clash, "opens_at": "いつか", "title": ""})
    assert bad.status_code == 400 and "開始の日時を入力してください。" in bad.text

    # Edit: the open round's close moves; its opening cannot.
    edit = f"{SURVEYS}/rounds/{first.id}/edit"
    fields = form_of((await staff_client.get(edit)).text, edit)
    fields["closes_at"] = [local(now() + timedelta(days=60))]
    assert survey_id_of(await staff_client.post(edit, data=fields)) == survey.id
    moved = await SurveyRound.get(id=first.id)
    assert moved.closes_at > first.closes_at
    assert (await AuditLog.get(action="survey.round.update")).detail["round_fields"] == [
        "closes_at"
    ]
    fields["opens_at"] = [local(now() + timedelta(days=1))]
    refused = await staff_client.post(edit, data=fields)
    assert refused.status_code == 400 and "受付中の回の開始日時は変更できません。" in refused.text

    # 締め切る, twice (a double tap is answered, not an error).
    csrf = fields["csrf_token"][0]
    close = f"{SURVEYS}/rounds/{first.id}/close"
    closed = await staff_client.post(close, data={"csrf_token": csrf})
    assert "done=round_closed" in closed.headers["location"]
    again = await staff_client.post(close, data={"csrf_token": csrf})
    assert "done=round_already_closed" in again.headers["location"]
    assert await AuditLog.filter(action="survey.round.close").count() == 1
    page = await staff_client.get(f"{SURVEYS}/{survey.id}")
    assert "終了" in page.text

    # A round nobody answered can be deleted (twice: said once more).
    spare = await rules.create_round(
        survey.id,
        rules.RoundSpec("予定の回", now() + timedelta(days=100), now() + timedelta(days=120)),
    )
    delete = f"{SURVEYS}/rounds/{spare.id}/delete"
    assert (
        "done=round_deleted"
        in (await staff_client.post(delete, data={"csrf_token": csrf})).headers["location"]
    )
    assert (
        "done=round_deleted"
        in (await staff_client.post(delete, data={"csrf_token": csrf})).headers["location"]
    )
    assert not await SurveyRound.filter(id=spare.id).exists()
    assert await AuditLog.filter(action="survey.round.delete").count() == 1


async def test_a_round_not_open_yet_cannot_be_closed_and_says_why(
    staff_client: httpx2.AsyncClient,
) -> None:
    survey, _ = await kinds_survey()
    later = await rules.create_round(
        survey.id, rules.RoundSpec("来年度", now() + timedelta(days=10), now() + timedelta(days=20))
    )
    csrf = await page_csrf(staff_client, f"{SURVEYS}/{survey.id}")
    response = await staff_client.post(
        f"{SURVEYS}/rounds/{later.id}/close", data={"csrf_token": csrf}
    )
    assert response.status_code == 409 and "まだ受付が始まっていません" in response.text


# ---------- Results and CSV ----------


async def answered_round() -> tuple[Survey, SurveyRound]:
    """Six respondents raising children (a group of 6 shown), one not (hidden)."""
    survey, q = await kinds_survey()
    round_ = await open_round(survey)
    for n, (happiness, comment) in enumerate(
        [(5, "=SUM(1)"), (4, "海が近い"), (5, SKIP), (3, "交流会が楽しい"), (2, SKIP), (5, SKIP)]
    ):
        who = await resident(f"回答者{n}", raising_children=True)
        await respond(
            round_,
            who,
            {
                q[0]: happiness,
                q[1]: 7,
                q[2]: 6,
                q[3]: True,
                q[4]: "Inno",
                q[5]: ["SNS", "経理"],
                q[6]: 2021,
                q[7]: comment,
            },
        )
    who = await resident("途中の人", raising_children=False)
    await respond(round_, who, {q[0]: 4}, completed=False)
    return survey, round_


async def test_the_results_page_shows_figures_charts_and_hides_small_groups(
    staff_client: httpx2.AsyncClient,
) -> None:
    survey, round_ = await answered_round()
    page = await staff_client.get(f"{SURVEYS}/rounds/{round_.id}")
    assert page.status_code == 200
    text = page.text
    assert "回答数" in text and ">7<" in text and "85.7%" in text  # 6 of 7 completed
    assert "満足度（4–5の割合）" in text and "71.4%" in text  # 5 of 7 answered 4–5
    assert "回答者 7人のうち 4・5 が 5人" in text
    assert "<dt>幸福度</dt><dd>7.0</dd>" in text  # Well-Being, one decimal
    assert "<dt>生活満足度</dt><dd>6.0</dd>" in text
    assert text.count("<svg") == 7  # every question but the free comment
    assert 'class="chart-bar chart-bar-strong"' in text
    assert "/static/admin/charts.css" in text and "/static/admin/surveys.css" in text
    assert "=SUM(1)" in text and "交流会が楽しい" in text
    assert "回答者0" not in text and "途中の人" not in text  # no names on the page
    assert "子育て中" in text and "5人未満のため非表示" in text
    assert "<style" not in text and "style=" not in text
    entry = await AuditLog.get(action="survey.results.view")
    assert entry.target_type == "survey_round" and entry.target_id == str(round_.id)
    assert entry.detail == {"survey": survey.id, "responses": 7}


async def test_the_csv_has_one_excel_safe_row_per_response(
    staff_client: httpx2.AsyncClient,
) -> None:
    survey, round_ = await answered_round()
    response = await staff_client.get(f"{SURVEYS}/rounds/{round_.id}/responses.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    body = response.content.decode("utf-8")
    assert body.startswith(
        "\ufeff回答ID,利用者（LINEの表示名）,状態,回答開始,最後の回答,回答完了,Q1 "
    )
    lines = body[1:].split("\r\n")
    assert len([line for line in lines if line]) == 1 + 7
    first = lines[1].split(",")
    assert first[1:3] == ["回答者0", "回答済み"]
    assert first[6:] == ["5", "7", "6", "はい", "Inno", "SNS、経理", "2021", "'=SUM(1)"]
    assert lines[3].endswith(",（スキップ）")
    assert lines[7].split(",")[1:3] == ["途中の人", "回答途中"] and lines[7].endswith(",4,,,,,,,")
    entry = await AuditLog.get(action="survey.response.export")
    assert entry.detail == {"survey": survey.id, "rows": 7}


async def test_the_list_and_the_dashboard_show_open_rounds_with_counts(
    staff_client: httpx2.AsyncClient,
) -> None:
    survey, round_ = await answered_round()
    listing = await staff_client.get(SURVEYS)
    assert listing.status_code == 200
    assert "島の暮らしアンケート" in listing.text and "受付中" in listing.text
    assert "7件" in listing.text and "6件" in listing.text
    dashboard = await staff_client.get("/admin/")
    assert "受付中のアンケート" in dashboard.text
    assert f"/admin/surveys/rounds/{round_.id}" in dashboard.text
    assert await AuditLog.filter(action="survey.results.view").count() == 0  # counts only


async def test_a_staff_built_survey_without_the_figures_has_results_and_no_breakdowns(
    staff_client: httpx2.AsyncClient,
) -> None:
    csrf = await page_csrf(staff_client, f"{SURVEYS}/new")
    survey_id = survey_id_of(await staff_client.post(f"{SURVEYS}/new", data=new_survey_form(csrf)))
    survey = await Survey.get(id=survey_id)
    q = await questions(survey)
    round_ = await open_round(survey)
    await respond(round_, await resident(), {q[0]: True, q[1]: "笠利", q[2]: "楽しかった"})
    await respond(round_, await resident(), {q[0]: False, q[2]: SKIP})
    page = await staff_client.get(f"{SURVEYS}/rounds/{round_.id}")
    assert page.status_code == 200
    assert "満足度（4–5の割合）" not in page.text and "Well-Being の平均" not in page.text
    assert "属性別の集計はありません" in page.text
    assert page.text.count("<svg") == 2 and "楽しかった" in page.text
    assert "はい</th><td>1人</td><td>50%" in page.text


async def test_a_round_without_answers_says_so_under_each_question(
    staff_client: httpx2.AsyncClient,
) -> None:
    survey, qs = await kinds_survey()
    round_ = await open_round(survey)
    page = await staff_client.get(f"{SURVEYS}/rounds/{round_.id}")
    assert page.status_code == 200
    assert "<svg" not in page.text  # no bars of nothing
    # Every question but the free comment (「まだ記入がありません」) says there is no answer yet.
    no_text = sum(1 for q in qs if q.kind != QuestionKind.TEXT)
    assert page.text.count("まだ回答がありません。") == no_text
    # The first answer brings its question's chart.
    await respond(round_, await resident(), {qs[0]: 4}, completed=False)
    page = await staff_client.get(f"{SURVEYS}/rounds/{round_.id}")
    assert page.text.count("<svg") == 1
    assert page.text.count("まだ回答がありません。") == no_text - 1
