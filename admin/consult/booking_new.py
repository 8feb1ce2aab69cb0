"""代理予約: staff book a consultation for a resident (by phone or at the desk)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.consult.bookings import delivered, to_detail
from admin.errors import staff_message
from admin.forms import form_text, parse_int, short_text, too_long
from admin.pages import render
from admin.sessions import settings_of
from line_app.notices import consult as consult_notices
from models.consultation import BookedBy, ConsultationSlot, Method, Topic
from models.residents import Resident
from shima.domain import consultation as rules

RESIDENT_SEARCH_LIMIT = 20
BOOKABLE_DAYS = 60  # 代理予約 offers free slots this far ahead
NOTE_MAX = 500
LIMIT_HINT = "上限を超えて登録するときは「上限を超えて登録する」にチェックしてください。"


async def bookable_slots(request: Request) -> list[ConsultationSlot]:
    """代理予約's choices: slots with a free seat that have not ended (staff may book a
    walk-in a little late), none on a closed day (shima.domain.consultation.staff_choices;
    the rules decide again at the final step)."""
    return await rules.staff_choices(BOOKABLE_DAYS)


@staff_required
async def booking_new(request: Request) -> Response:
    """代理予約: find the resident, then pick a free slot, topic, method and note."""
    error = ""
    form: FormData | Mapping[str, str] = request.query_params
    if request.method == "POST":
        form = await request.form()
    q = short_text(form, "q", 100)
    resident_id = parse_int(form.get("resident"))
    resident = await Resident.get_or_none(id=resident_id) if resident_id else None
    if request.method == "POST" and resident is not None:
        slot_id = parse_int(form.get("slot"))
        topic = short_text(form, "topic", 16)
        method = short_text(form, "method", 16)
        [too_long_note] = too_long(form, {"note": ("メモ", NOTE_MAX)}) or [""]
        note = "" if too_long_note else form_text(form, "note", NOTE_MAX)
        if too_long_note:
            error = too_long_note
        elif slot_id is None or topic not in Topic._value2member_map_:
            error = "相談枠と相談内容を選んでください。"
        elif method not in Method._value2member_map_:
            error = "相談方法を選んでください。"
        else:
            try:
                async with in_transaction():
                    booking = await consult_notices.book_by_staff(
                        resident,
                        rules.BookingRequest(
                            slot_id=slot_id,
                            topic=Topic(topic),
                            method=Method(method),
                            note=note,
                            booked_by=BookedBy.STAFF,
                            beyond_limit=form.get("beyond_limit") == "yes",
                        ),
                        settings_of(request),
                    )
                    await audit.record(
                        request,
                        "consult.booking.create",
                        "booking",
                        booking.id,
                        {
                            "resident": resident.id,
                            "slot": slot_id,
                            **(
                                {"beyond_limit": "yes"} if form.get("beyond_limit") == "yes" else {}
                            ),
                        },
                    )
            except rules.TooManyBookings as exc:
                error = staff_message(exc) + LIMIT_HINT
            except rules.BookingError as exc:
                error = staff_message(exc)
            else:
                return to_detail(booking.id, delivered("created", resident))
    matches: list[Resident] = []
    if q and resident is None:
        matches = (
            await Resident.filter(display_name__icontains=q)
            .order_by("display_name", "id")
            .limit(RESIDENT_SEARCH_LIMIT)
        )
        await audit.record(request, "consult.resident.search", "resident", "", {"q": q})
    elif resident is not None:
        await audit.record(request, "resident.view", "resident", resident.id, {"for": "代理予約"})
    return render(
        request,
        "admin/consult/booking_new.html",
        {
            "q": q,
            "matches": matches,
            "resident": resident,
            "slots": await bookable_slots(request) if resident is not None else [],
            "upcoming": await rules.upcoming(resident) if resident is not None else [],
            "limit": settings_of(request).consult_max_upcoming,
            "topics": list(Topic),
            "methods": list(Method),
            "form": form,
            "error": error,
            "note_max": NOTE_MAX,
        },
        status_code=400 if error else 200,
        active="consult_new",
    )
