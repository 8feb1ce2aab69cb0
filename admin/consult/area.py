"""相談予約's part of the admin, as its registry entry (shima.areas) uses it: routes, the nav
entry, audit labels and the dashboard's 今日の相談."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.routing import BaseRoute

from admin import audit
from admin.consult import booking_new, bookings, bulk, closures, export, slots, week
from admin.registry import AdminArea, Card, DashboardPart, NavItem
from admin.routing import route
from models.consultation import Booking, BookingStatus, Topic
from shima.domain import slots as slot_rules
from shima.timeutil import jst_datetime, now, today_jst

ACTION_LABELS = {
    "consult.booking.list": "相談予約一覧の閲覧",
    "consult.booking.view": "相談予約詳細の閲覧",
    "consult.booking.export": "相談予約の CSV 出力",
    "consult.booking.cancel": "相談予約のキャンセル",
    "consult.booking.mark": "相談予約の来所記録",
    "consult.booking.unmark": "相談予約の来所記録の取り消し",
    "consult.booking.create": "相談の代理予約",
    "consult.booking.move": "相談予約の日時変更",
    "consult.resident.search": "代理予約の利用者検索",
    "consult.slot.week": "相談枠（週）の閲覧",
    "consult.slot.create": "相談枠の作成",
    "consult.slot.bulk_create": "相談枠の一括作成",
    "consult.slot.update": "相談枠の編集",
    "consult.slot.delete": "相談枠の削除",
    "consult.closure.create": "休館日の登録",
    "consult.closure.delete": "休館日の削除",
}


TARGET_LABELS = {"booking": "相談予約", "slot": "相談枠", "closure": "休館日"}
TARGET_URLS = {
    "booking": "/admin/consult/bookings/{id}",
    "slot": "/admin/consult/slots/{id}/edit",
}
DETAIL_LABELS = {
    "slot": "相談枠",
    "beyond_limit": "予約数の上限",
    "reason": "理由",
    "status": "状態",
    "topic": "相談内容",
    "counsellor": "担当",
    "from_booking": "変更前の予約",
    "from_slot": "変更前の枠",
    "to_slot": "変更後の枠",
    "resident": "利用者",
    "for": "目的",
    "moved": "日時の変更",
    "bookings": "予約数",
    "action": "予約への対応",
    "from": "期間（から）",
    "to": "期間（まで）",
    "created": "作成した枠",
    "skipped_days": "作成しなかった日",
    "duplicates": "重複のため作成しなかった枠",
    "date": "日付",
    "count": "件数",
    "week": "週",
}
DETAIL_VALUES = {
    "beyond_limit": {"yes": "上限を超えて登録"},
    "status": {s.value: s.label for s in BookingStatus},
    "topic": {t.value: t.label for t in Topic},
    "action": {
        slot_rules.NOTIFY: "予約を残して利用者にお知らせ",
        slot_rules.CANCEL: "予約をキャンセル",
        slot_rules.MOVE: "予約を別の枠へ移動",
    },
}


async def todays_consultations() -> list[Booking]:
    """Today's (JST) consultations that were not cancelled, by start time."""
    start = jst_datetime(today_jst())
    return (
        await Booking.filter(
            slot__starts_at__gte=start,
            slot__starts_at__lt=start + timedelta(days=1),
            status__in=[BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW],
        )
        .select_related("slot", "resident")
        .order_by("slot__starts_at", "id")
    )


async def dashboard_part(request: Request) -> DashboardPart:
    todays = await todays_consultations()
    if todays:  # residents' names are on the page
        await audit.record(request, "dashboard.today", "booking", "", {"count": len(todays)})
    return DashboardPart("admin/consult/_today.html", {"todays": todays})


async def kpis() -> list[Card]:
    """事業の指標 of 相談予約: counts only."""
    today = today_jst()
    month = jst_datetime(today.replace(day=1))
    this_month = {"slot__starts_at__gte": month, "slot__starts_at__lt": now()}
    upcoming = await Booking.filter(status=BookingStatus.BOOKED, slot__starts_at__gte=now()).count()
    attended = await Booking.filter(status=BookingStatus.ATTENDED, **this_month).count()
    no_show = await Booking.filter(status=BookingStatus.NO_SHOW, **this_month).count()
    since = today.replace(day=1).isoformat()
    return [
        Card(
            "今後の相談予約",
            upcoming,
            "件",
            f"/admin/consult/bookings?from={today}&status=booked",
            "予約一覧へ",
        ),
        Card(
            "今月の来所済み",
            attended,
            "件",
            f"/admin/consult/bookings?from={since}&to={today}&status=attended",
            "一覧へ",
        ),
        Card(
            "今月の無断キャンセル",
            no_show,
            "件",
            f"/admin/consult/bookings?from={since}&to={today}&status=no_show",
            "一覧へ",
        ),
    ]


def routes() -> list[BaseRoute]:
    return [
        route("/consult/bookings", bookings.booking_list, ["GET"], "consult_bookings"),
        route("/consult/bookings.csv", export.booking_export, ["GET"], "consult_bookings_csv"),
        route(
            "/consult/bookings/new", booking_new.booking_new, ["GET", "POST"], "consult_booking_new"
        ),
        route(
            "/consult/bookings/{booking_id:id}",
            bookings.booking_detail,
            ["GET"],
            "consult_booking",
        ),
        route(
            "/consult/bookings/{booking_id:id}/cancel",
            bookings.booking_cancel,
            ["POST"],
            "consult_booking_cancel",
        ),
        route(
            "/consult/bookings/{booking_id:id}/move",
            bookings.booking_move,
            ["POST"],
            "consult_booking_move",
        ),
        route(
            "/consult/bookings/{booking_id:id}/mark",
            bookings.booking_mark,
            ["POST"],
            "consult_booking_mark",
        ),
        route("/consult/slots", week.slot_week, ["GET"], "consult_slots"),
        route("/consult/slots/new", slots.slot_new, ["GET", "POST"], "consult_slot_new"),
        route("/consult/slots/bulk", bulk.slot_bulk, ["GET", "POST"], "consult_slot_bulk"),
        route(
            "/consult/slots/{slot_id:id}/edit",
            slots.slot_edit,
            ["GET", "POST"],
            "consult_slot_edit",
        ),
        route(
            "/consult/slots/{slot_id:id}/delete",
            slots.slot_delete,
            ["GET", "POST"],
            "consult_slot_delete",
        ),
        route("/consult/closures", closures.closure_list, ["GET", "POST"], "consult_closures"),
        route(
            "/consult/closures/{closure_id:id}/delete",
            closures.closure_delete,
            ["POST"],
            "consult_closure_delete",
        ),
    ]


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("consult", "相談予約", "/admin/consult/bookings"),),
    audit_labels=ACTION_LABELS,
    target_labels=TARGET_LABELS,
    target_urls=TARGET_URLS,
    detail_labels=DETAIL_LABELS,
    detail_values=DETAIL_VALUES,
    dashboard=dashboard_part,
    kpis=kpis,
)
