"""A resident's profile and tags, edited by staff: the profile form (every field; saved as
職員's, latest wins) and adding / removing tags on the resident's page. Every change is
audited with the changed field names (never their values) or the tag; the audit page's
words for these actions are the platform's (admin.audit).

The form carries the values it showed (`was_*`): only the fields staff changed are saved,
so a survey answer or a LINE edit that arrived while the form was open is not overwritten
by the form's older value of another field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute
from tortoise.transactions import in_transaction

from admin import audit, residents
from admin.auth import current_staff, staff_required
from admin.errors import error_page
from admin.forms import short_text, too_long, typed_text
from admin.pages import render
from admin.routing import route
from models.profiles import ResidentProfile
from models.residents import Resident
from shima.domain import profiles

YES_NO_FIELDS = ("raising_children", "side_job", "freelance_income")
LISTS: dict[str, dict[str, str]] = {
    "income_band": profiles.INCOME_BANDS,
    "residency": profiles.RESIDENCY,
    "district": profiles.DISTRICTS,
}
YES_NO = {"yes": True, "no": False, "": None}
YEAR_MAX = 10  # characters of the year as typed (「２０１９年」 fits)
TEXT_LIMITS = {
    "occupation": (profiles.FIELDS["occupation"], profiles.OCCUPATION_MAX),
    "moved_year": (profiles.FIELDS["moved_year"], YEAR_MAX),
}
WAS = "was_"  # the prefix of the values the form showed
YEAR_NOT_MIGRANT = (
    "移住した年は、地元／移住が「移住」のときだけ入力できます。"
    "「移住」を選ぶか、移住した年を空欄にしてください。"
)


def _resident_url(resident: Resident, done: str, anchor: str) -> str:
    return f"/admin/residents/{resident.id}?done={done}#{anchor}"


async def _resident_or_404(request: Request) -> Resident | Response:
    resident = await Resident.get_or_none(id=request.path_params["resident_id"])
    if resident is None:
        return error_page(request, 404, title="利用者が見つかりません")
    return resident


# -- the form's values ----------------------------------------------------------------------


def shown_values(profile: ResidentProfile) -> dict[str, Any]:
    """The profile as the form shows it: skills a list of codes, the rest strings."""
    values: dict[str, Any] = {"skills": list(profile.skills or [])}
    values["occupation"] = profile.occupation
    for name in YES_NO_FIELDS:
        values[name] = {True: "yes", False: "no", None: ""}[getattr(profile, name)]
    for name in LISTS:
        values[name] = getattr(profile, name)
    values["moved_year"] = str(profile.moved_year or "")
    return values


def typed_values(form: FormData, prefix: str = "") -> dict[str, Any]:
    """The form's fields as submitted (for showing the form again)."""
    values: dict[str, Any] = {
        "skills": [
            v[:32]
            for v in form.getlist(prefix + "skills")[: len(profiles.SKILLS)]
            if isinstance(v, str)
        ],
        "occupation": typed_text(form, prefix + "occupation"),
        "moved_year": typed_text(form, prefix + "moved_year"),
    }
    for name in (*YES_NO_FIELDS, *LISTS):
        values[name] = short_text(form, prefix + name, 32)
    return values


def parse(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The profile's values from the form's (cleaned by the rules), and what was wrong."""
    errors = too_long(values, TEXT_LIMITS)
    if errors:
        return {}, errors
    parsed: dict[str, Any] = {}
    raw: dict[str, Any] = {
        "skills": values.get("skills") or [],
        "occupation": values.get("occupation", ""),
        "moved_year": values.get("moved_year", ""),
    }
    for name in YES_NO_FIELDS:
        answer = values.get(name, "")
        if answer not in YES_NO:
            errors.append(f"{profiles.FIELDS[name]}は一覧から選んでください。")
            continue
        raw[name] = YES_NO[answer]
    for name in LISTS:
        raw[name] = values.get(name, "")
    for name in profiles.FIELDS:
        if name not in raw:
            continue
        try:
            parsed[name] = profiles.clean(name, raw[name])
        except profiles.ProfileError as exc:
            errors.append(str(exc))
    if parsed.get("moved_year") is not None and parsed.get("residency") != "migrant":
        errors.append(YEAR_NOT_MIGRANT)
    return (parsed, []) if not errors else ({}, errors)


def form_page(
    request: Request,
    resident: Resident,
    profile: ResidentProfile,
    values: Mapping[str, Any],
    was: Mapping[str, Any],
    errors: list[str],
) -> Response:
    return render(
        request,
        "admin/profiles/profile_form.html",
        {
            "resident": resident,
            "fields": {f.field: f for f in profiles.describe(profile)},
            "labels": profiles.FIELDS,
            "values": values,
            "was": was,
            "errors": errors,
            "skills": profiles.SKILLS,
            "lists": LISTS,
            "yes_no_fields": YES_NO_FIELDS,
            "occupation_max": profiles.OCCUPATION_MAX,
            "year_max": YEAR_MAX,
            "earliest_year": profiles.EARLIEST_MOVED_YEAR,
        },
        status_code=400 if errors else 200,
        active="residents",
    )


# -- the pages ------------------------------------------------------------------------------


@staff_required
async def profile_edit(request: Request) -> Response:
    resident = await _resident_or_404(request)
    if isinstance(resident, Response):
        return resident
    profile = await profiles.profile_of(resident.id)
    if request.method == "GET":
        await audit.record(request, "resident.profile.view", "resident", resident.id)
        shown = shown_values(profile)
        return form_page(request, resident, profile, shown, shown, [])
    form = await request.form()
    values = typed_values(form)
    # What the form showed (kept as it was through a refused attempt); without it, the
    # saved profile.
    was = typed_values(form, WAS) if form.get(WAS + "form") == "1" else shown_values(profile)
    new, errors = parse(values)
    if errors:
        return form_page(request, resident, profile, values, was, errors)
    old, _ = parse(was)
    if not old:
        old, _ = parse(shown_values(profile))
    changes = {name: value for name, value in new.items() if value != old.get(name)}
    try:
        async with in_transaction():
            changed = await profiles.update(resident.id, changes, by=profiles.BY_STAFF)
            if changed:
                await audit.record(
                    request, "resident.profile.update", "resident", resident.id, {"fields": changed}
                )
    except profiles.ProfileError as exc:
        return form_page(request, resident, profile, values, was, [str(exc)])
    done = "profile_saved" if changed else "profile_unchanged"
    return RedirectResponse(_resident_url(resident, done, "profile"), status_code=303)


@staff_required
async def tag_add(request: Request) -> Response:
    resident = await _resident_or_404(request)
    if isinstance(resident, Response):
        return resident
    form = await request.form()
    typed = typed_text(form, "tag")
    try:
        tag = profiles.clean_tag(typed)
    except profiles.ProfileError as exc:
        return await residents.detail_page(
            request, resident, tag_errors=[str(exc)], tag_value=typed
        )
    async with in_transaction():
        added = await profiles.add_tag(resident, tag, current_staff(request).email)
        if added:
            await audit.record(request, "resident.tag.add", "resident", resident.id, {"tag": tag})
    return RedirectResponse(
        _resident_url(resident, "tag_added" if added else "tag_exists", "tags"), status_code=303
    )


@staff_required
async def tag_remove(request: Request) -> Response:
    resident = await _resident_or_404(request)
    if isinstance(resident, Response):
        return resident
    form = await request.form()
    try:
        tag = profiles.clean_tag(short_text(form, "tag", profiles.TAG_MAX * 2))
    except profiles.ProfileError:
        return RedirectResponse(_resident_url(resident, "tag_gone", "tags"), status_code=303)
    async with in_transaction():
        removed = await profiles.remove_tag(resident, tag)
        if removed:
            await audit.record(
                request, "resident.tag.remove", "resident", resident.id, {"tag": tag}
            )
    return RedirectResponse(
        _resident_url(resident, "tag_removed" if removed else "tag_gone", "tags"), status_code=303
    )


def routes() -> list[BaseRoute]:
    """Under /admin (admin.routes): the profile form and the tag buttons of a resident."""
    return [
        route(
            "/residents/{resident_id:id}/profile",
            profile_edit,
            ["GET", "POST"],
            "resident_profile",
        ),
        route("/residents/{resident_id:id}/tags", tag_add, ["POST"], "resident_tag_add"),
        route(
            "/residents/{resident_id:id}/tags/remove",
            tag_remove,
            ["POST"],
            "resident_tag_remove",
        ),
    ]
