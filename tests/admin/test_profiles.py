"""A resident's profile and tags in the admin, through the ASGI app: the resident's page
shows each field with when and by whom; the form edits every field (errors in Japanese with
the values kept, only the changed fields saved, as 職員); tags are added and removed; the
residents list filters by tag; every change is audited and labelled on the audit page."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

import httpx2
import pytest

from models.audit import AuditLog
from models.profiles import ResidentProfile, ResidentTag
from models.residents import Resident
from shima.domain import profiles
from tests.admin.conftest import ADMIN_EMAIL, PASSWORD, login, page_csrf

XSS = "<script>alert(1)</script>"


async def person(name: str = "奄美 花子") -> Resident:
    return await Resident.create(line_user_id="U" + uuid.uuid4().hex, display_name=name)


def form_of(html: str) -> dict[str, list[str]]:
    """The profile form's fields as a browser would submit them untouched (hidden fields,
    checked boxes, selected options, text values)."""
    form = html[html.index('<form method="post" action="/admin/residents/') :]
    form = form[: form.index("</form>")]
    fields: dict[str, list[str]] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None:
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        fields.setdefault(name.group(1), []).append(value.group(1) if value else "")
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        fields[name] = [chosen.group(1) if chosen else ""]
    return fields


def with_changes(fields: dict[str, list[str]], **changes: str | list[str]) -> list[tuple]:
    data = {**fields}
    for name, value in changes.items():
        data[name] = value if isinstance(value, list) else [value]
    return [(name, v) for name, values in data.items() for v in values]


async def open_form(client: httpx2.AsyncClient, someone: Resident) -> dict[str, list[str]]:
    page = await client.get(f"/admin/residents/{someone.id}/profile")
    assert page.status_code == 200, page.text
    return form_of(page.text)


async def post_form(
    client: httpx2.AsyncClient, someone: Resident, data: list[tuple]
) -> httpx2.Response:
    return await client.post(
        f"/admin/residents/{someone.id}/profile",
        content=urlencode(data),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


async def test_the_resident_page_shows_the_profile_with_when_and_by_whom(
    staff_client: httpx2.AsyncClient,
) -> None:
    someone = await person()
    page = await staff_client.get(f"/admin/residents/{someone.id}")
    assert page.status_code == 200
    assert 'id="profile-title" class="section-title">プロフィール</h2>' in page.text
    assert page.text.count("未回答") == len(profiles.FIELDS)
    assert f'href="/admin/residents/{someone.id}/profile"' in page.text
    assert "タグはまだありません。" in page.text
    await profiles.update(
        someone.id, {"skills": ["photo", "sns"], "residency": "migrant"}, profiles.BY_SURVEY
    )
    await profiles.update(someone.id, {"moved_year": 2020}, profiles.BY_RESIDENT)
    page = await staff_client.get(f"/admin/residents/{someone.id}")
    text = re.sub(r"\s+", " ", page.text)
    assert "カメラマン、SNS運用" in text and "アンケート" in text
    assert "2020年" in text and "本人（LINE）" in text
    assert text.count("未回答") == len(profiles.FIELDS) - 3


async def test_edit_every_field_saved_as_staff_and_audited(
    staff_client: httpx2.AsyncClient,
) -> None:
    someone = await person()
    await profiles.update(someone.id, {"district": "naze"}, profiles.BY_RESIDENT)
    fields = await open_form(staff_client, someone)
    assert fields["district"] == ["naze"] and fields["was_district"] == ["naze"]
    response = await post_form(
        staff_client,
        someone,
        with_changes(
            fields,
            skills=["writer", "other"],
            occupation="翻訳",
            raising_children="yes",
            side_job="no",
            freelance_income="yes",
            income_band="300plus",
            residency="migrant",
            moved_year="２０１８",
        ),
    )
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/admin/residents/{someone.id}?done=profile_saved#profile"
    )
    profile = await profiles.profile_of(someone.id)
    assert profile.skills == ["writer", "other"] and profile.occupation == "翻訳"
    assert (profile.raising_children, profile.side_job, profile.freelance_income) == (
        True,
        False,
        True,
    )
    assert (profile.income_band, profile.residency, profile.moved_year) == (
        "300plus",
        "migrant",
        2018,
    )
    assert profile.district == "naze"
    by = {name: mark["by"] for name, mark in profile.filled.items()}
    assert by.pop("district") == profiles.BY_RESIDENT  # not touched: still the resident's
    assert set(by.values()) == {profiles.BY_STAFF} and len(by) == 8
    shown = await staff_client.get(response.headers["location"])
    assert "プロフィールを保存しました。" in shown.text and "・スタッフ</span>" in shown.text

    entry = await AuditLog.filter(action="resident.profile.update").get()
    assert entry.target_type == "resident" and entry.target_id == str(someone.id)
    assert entry.detail == {
        "fields": [
            "skills",
            "occupation",
            "raising_children",
            "side_job",
            "freelance_income",
            "income_band",
            "residency",
            "moved_year",
        ]
    }
    assert "翻訳" not in str(entry.detail)  # names, never the values
    assert await AuditLog.filter(action="resident.profile.view").count() == 1

    # Saving again untouched changes nothing and records no change.
    again = await post_form(
        staff_client, someone, with_changes(await open_form(staff_client, someone))
    )
    assert again.headers["location"].endswith("?done=profile_unchanged#profile")
    assert await AuditLog.filter(action="resident.profile.update").count() == 1
    assert (await profiles.profile_of(someone.id)).filled["district"]["by"] == "resident"

    # Away from 移住 with the year emptied: both change.
    fields = await open_form(staff_client, someone)
    await post_form(staff_client, someone, with_changes(fields, residency="local", moved_year=""))
    profile = await profiles.profile_of(someone.id)
    assert (profile.residency, profile.moved_year) == ("local", None)
    latest = await AuditLog.filter(action="resident.profile.update").order_by("-id").first()
    assert latest is not None and latest.detail == {"fields": ["residency", "moved_year"]}


async def test_only_the_fields_staff_changed_are_saved(staff_client: httpx2.AsyncClient) -> None:
    """The form was open while a survey answer arrived: saving it keeps that answer."""
    someone = await person()
    fields = await open_form(staff_client, someone)
    await profiles.update(someone.id, {"skills": ["handmade"]}, profiles.BY_SURVEY)
    await post_form(staff_client, someone, with_changes(fields, district="sumiyo"))
    profile = await profiles.profile_of(someone.id)
    assert profile.skills == ["handmade"] and profile.district == "sumiyo"
    assert profile.filled["skills"]["by"] == profiles.BY_SURVEY


async def test_errors_in_japanese_with_the_values_kept(staff_client: httpx2.AsyncClient) -> None:
    someone = await person()
    fields = await open_form(staff_client, someone)
    response = await post_form(
        staff_client,
        someone,
        with_changes(
            fields,
            skills=["writer", "astronaut"],
            occupation=XSS,
            side_job="perhaps",
            district="tokyo",
            residency="local",
            moved_year="1800",
        ),
    )
    assert response.status_code == 400
    page = response.text
    assert "入力内容を確認してください。" in page
    assert "職種・スキルは一覧から選んでください。" in page
    assert "副業は一覧から選んでください。" in page
    assert "お住まいの地区は一覧から選んでください。" in page
    assert "移住した年は1950年から今年までの年で入力してください。" in page
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # kept, escaped
    assert 'value="1800"' in page
    assert re.search(r'<option value="local" selected>', page)
    assert re.search(r'value="writer" checked', page)
    # The year with a residency other than 移住 is named.
    response = await post_form(
        staff_client, someone, with_changes(fields, residency="local", moved_year="2019")
    )
    assert response.status_code == 400
    assert "移住した年は、地元／移住が「移住」のときだけ入力できます。" in response.text
    assert await ResidentProfile.all().count() == 0
    assert await AuditLog.filter(action="resident.profile.update").count() == 0


async def test_oversized_fields_are_refused_and_change_nothing(
    staff_client: httpx2.AsyncClient,
) -> None:
    someone = await person()
    fields = await open_form(staff_client, someone)
    response = await post_form(
        staff_client,
        someone,
        with_changes(fields, occupation="あ" * 101, moved_year="2" * 5000, district="kasari"),
    )
    assert response.status_code == 400
    assert (
        "職種（その他の内容）は100文字以内で入力してください（いま101文字です）。" in response.text
    )
    assert "移住した年は10文字以内で入力してください（いま5,000文字です）。" in response.text
    assert "あ" * 101 in response.text  # kept to be shortened
    assert await ResidentProfile.all().count() == 0

    csrf = await page_csrf(staff_client, f"/admin/residents/{someone.id}")
    too_long = await staff_client.post(
        f"/admin/residents/{someone.id}/tags", data={"csrf_token": csrf, "tag": "講" * 31}
    )
    assert too_long.status_code == 400
    assert "タグは30文字以内で入力してください。" in too_long.text
    assert 'value="' + "講" * 31 + '"' in too_long.text
    huge = await staff_client.post(
        f"/admin/residents/{someone.id}/tags", data={"csrf_token": csrf, "tag": "x" * 300_000}
    )
    assert huge.status_code == 413 and "大きすぎる" in huge.text
    assert await ResidentTag.all().count() == 0
    assert await AuditLog.filter(action__startswith="resident.tag").count() == 0


async def test_csrf_is_required(staff_client: httpx2.AsyncClient) -> None:
    someone = await person()
    fields = await open_form(staff_client, someone)
    data = [(k, v) for k, v in with_changes(fields, district="naze") if k != "csrf_token"]
    refused = await post_form(staff_client, someone, [*data, ("csrf_token", "forged")])
    assert refused.status_code == 403
    for path in ("tags", "tags/remove"):
        response = await staff_client.post(
            f"/admin/residents/{someone.id}/{path}", data={"tag": "講師"}
        )
        assert response.status_code == 403
    assert await ResidentProfile.all().count() == 0 and await ResidentTag.all().count() == 0


async def test_not_signed_in_is_sent_to_the_login(client: httpx2.AsyncClient, db: str) -> None:
    someone = await person()
    page = await client.get(f"/admin/residents/{someone.id}/profile")
    assert page.status_code == 303 and page.headers["location"].startswith("/admin/login?next=")
    posted = await client.post(f"/admin/residents/{someone.id}/tags", data={"tag": "講師"})
    assert posted.status_code == 403 and "ログインが必要です" in posted.text
    assert await ResidentTag.all().count() == 0


async def test_a_missing_resident_is_not_found(staff_client: httpx2.AsyncClient) -> None:
    csrf = await page_csrf(staff_client)
    assert (await staff_client.get("/admin/residents/999/profile")).status_code == 404
    response = await staff_client.post(
        "/admin/residents/999/tags", data={"csrf_token": csrf, "tag": "講師"}
    )
    assert response.status_code == 404 and "利用者が見つかりません" in response.text


async def test_tags_added_removed_and_audited(staff_client: httpx2.AsyncClient) -> None:
    someone = await person()
    page = await staff_client.get(f"/admin/residents/{someone.id}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    for tag in profiles.SUGGESTED_TAGS:
        assert f'name="tag" value="{tag}"' in page.text  # offered as buttons
    url = f"/admin/residents/{someone.id}/tags"
    added = await staff_client.post(url, data={"csrf_token": csrf, "tag": profiles.LEADER_TAG})
    assert added.headers["location"] == f"/admin/residents/{someone.id}?done=tag_added#tags"
    await staff_client.post(url, data={"csrf_token": csrf, "tag": " 移住の先輩 "})
    again = await staff_client.post(url, data={"csrf_token": csrf, "tag": "移住の先輩"})
    assert again.headers["location"].endswith("?done=tag_exists#tags")
    xss = await staff_client.post(url, data={"csrf_token": csrf, "tag": XSS[:30]})
    assert xss.status_code == 303
    assert await profiles.tags_of(someone.id) == [profiles.LEADER_TAG, "移住の先輩", XSS[:30]]
    tag = await ResidentTag.get(resident_id=someone.id, tag="移住の先輩")
    assert tag.created_by == "hanako@example.jp"

    page = await staff_client.get(f"/admin/residents/{someone.id}?done=tag_added")
    assert "タグを付けました。" in page.text
    assert XSS[:30] not in page.text and "&lt;script&gt;" in page.text
    assert f'name="tag" value="{profiles.LEADER_TAG}" class="button' not in page.text  # has it
    assert 'aria-label="タグ「移住の先輩」を外す"' in page.text

    removed = await staff_client.post(
        f"{url}/remove", data={"csrf_token": csrf, "tag": "移住の先輩"}
    )
    assert removed.headers["location"].endswith("?done=tag_removed#tags")
    gone = await staff_client.post(f"{url}/remove", data={"csrf_token": csrf, "tag": "移住の先輩"})
    assert gone.headers["location"].endswith("?done=tag_gone#tags")
    assert await profiles.tags_of(someone.id) == [profiles.LEADER_TAG, XSS[:30]]

    entries = await AuditLog.filter(action__startswith="resident.tag").order_by("id")
    assert [(e.action, e.detail) for e in entries] == [
        ("resident.tag.add", {"tag": profiles.LEADER_TAG}),
        ("resident.tag.add", {"tag": "移住の先輩"}),
        ("resident.tag.add", {"tag": XSS[:30]}),
        ("resident.tag.remove", {"tag": "移住の先輩"}),
    ]
    assert all(e.target_id == str(someone.id) and e.staff_email for e in entries)


async def test_the_residents_list_shows_and_filters_by_tag(
    staff_client: httpx2.AsyncClient,
) -> None:
    hanako, jiro, saburo = await person(), await person("奄美 次郎"), await person("奄美 三郎")
    await profiles.add_tag(hanako, profiles.LEADER_TAG, "x")
    await profiles.add_tag(hanako, "講師", "x")
    await profiles.add_tag(jiro, "講師", "x")
    await profiles.add_tag(saburo, "ＩＴサポート", "x")
    everyone = await staff_client.get("/admin/residents")
    assert everyone.status_code == 200
    assert "3人" in everyone.text or "3 人" in everyone.text
    assert everyone.text.count('class="tag-chip"') == 4
    assert '<option value="ITサポート">' in everyone.text  # a tag in use is offered
    leaders = await staff_client.get("/admin/residents", params={"tag": profiles.LEADER_TAG})
    assert "奄美 花子" in leaders.text and "奄美 次郎" not in leaders.text
    assert f"タグ「{profiles.LEADER_TAG}」" in leaders.text
    teachers = await staff_client.get("/admin/residents", params={"tag": "講師", "q": "次郎"})
    assert "奄美 次郎" in teachers.text and "奄美 花子" not in teachers.text
    nobody = await staff_client.get("/admin/residents", params={"tag": "x" * 500})
    assert nobody.status_code == 200 and "該当する利用者はいません。" in nobody.text
    entry = await AuditLog.filter(action="resident.list").order_by("-id").first()
    assert entry is not None and entry.detail["tag"] == "x" * profiles.TAG_MAX


@pytest.mark.parametrize("action", ["resident.profile.update", "resident.tag.add"])
async def test_the_audit_page_names_the_changes(
    client: httpx2.AsyncClient, db: str, action: str
) -> None:
    from admin.passwords import create_staff

    await create_staff(ADMIN_EMAIL, PASSWORD, role="admin", display_name="管理 太郎")
    assert (await login(client, ADMIN_EMAIL, PASSWORD)).status_code == 303
    someone = await person()
    csrf = await page_csrf(client, f"/admin/residents/{someone.id}")
    if action == "resident.tag.add":
        await client.post(
            f"/admin/residents/{someone.id}/tags", data={"csrf_token": csrf, "tag": "講師"}
        )
        words = ["タグの追加", "タグ", "講師"]
    else:
        fields = await open_form(client, someone)
        await post_form(client, someone, with_changes(fields, side_job="yes", district="naze"))
        words = ["プロフィールの変更", "変更した項目", "副業、お住まいの地区"]
    page = await client.get("/admin/audit", params={"kind": "change"})
    assert page.status_code == 200
    for word in words:
        assert word in page.text
    assert f'href="/admin/residents/{someone.id}"' in page.text
