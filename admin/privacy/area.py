"""個人データ's part of the admin, as its registry entry (shima.areas) uses it: routes, the
nav entry, audit labels and the dashboard's 「個人データの申請（未対応）」 card."""

from __future__ import annotations

from starlette.routing import BaseRoute

from admin.privacy import views
from admin.registry import AdminArea, Card, NavItem
from admin.routing import route
from shima.domain import data_requests as rules

ACTION_LABELS = {
    "privacy.request.list": "個人データの申請一覧の閲覧",
    "privacy.resident.view": "利用者の個人データの画面の閲覧",
    "privacy.resident.export": "利用者の個人データの書き出し（ZIP）",
    "privacy.erasure.view": "個人データの削除（匿名化）の確認画面の閲覧",
    "privacy.resident.erase": "利用者の個人データの削除（匿名化）",
    "privacy.request.done": "個人データの申請を対応済みにする",
    "privacy.request.withdraw": "個人データの申請の取り下げ",
}
TARGET_LABELS = {"data_request": "個人データの申請"}
DETAIL_LABELS = {
    "request": "申請番号",
    "resident": "利用者番号",
    "kind": "申請の種類",
    "bytes": "ファイルの大きさ（バイト）",
    "notified": "利用者へ LINE でお知らせ",
}
DETAIL_VALUES = {"kind": {k.value: v for k, v in rules.KIND_LABELS.items()}}


async def kpis() -> list[Card]:
    """個人データの申請（未対応）: a count only; in the warning colour while any is open."""
    waiting = await rules.open_count()
    return [
        Card(
            "個人データの申請（未対応）",
            waiting,
            "件",
            views.LIST_PATH,
            "申請の一覧へ",
            alert=waiting > 0,
        )
    ]


def routes() -> list[BaseRoute]:
    return [
        route("/data-requests", views.request_list, ["GET"], "privacy_requests"),
        route(
            "/data-requests/{request_id:id}/done", views.finish, ["POST"], "privacy_request_done"
        ),
        route(
            "/data-requests/{request_id:id}/withdraw",
            views.withdraw,
            ["POST"],
            "privacy_request_withdraw",
        ),
        route("/residents/{resident_id:id}/data", views.resident_data, ["GET"], "privacy_resident"),
        route(
            "/residents/{resident_id:id}/data/export",
            views.export,
            ["POST"],
            "privacy_resident_export",
        ),
        route(
            "/residents/{resident_id:id}/data/erase",
            views.erase,
            ["GET", "POST"],
            "privacy_resident_erase",
        ),
    ]


ADMIN = AdminArea(
    routes=routes,
    nav=(NavItem("privacy", "個人データの申請", views.LIST_PATH),),
    audit_labels=ACTION_LABELS,
    target_labels=TARGET_LABELS,
    detail_labels=DETAIL_LABELS,
    detail_values=DETAIL_VALUES,
    kpis=kpis,
)
