"""The audit log: who viewed, exported or changed what, and when.

Every staff view of a resident's data, every change and every login attempt is recorded.
Never put passwords or tokens in `detail`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from models.audit import AuditLog
from models.staff import StaffUser
from shima.domain import profiles

# Labels shown on the audit page; unknown actions are shown as they are.
ACTION_LABELS: dict[str, str] = {
    "login.success": "ログイン成功",
    "login.failure": "ログイン失敗",
    "logout": "ログアウト",
    "resident.list": "利用者一覧の閲覧",
    "resident.view": "利用者詳細の閲覧",
    "resident.profile.view": "プロフィール編集画面の閲覧",
    "resident.profile.update": "プロフィールの変更",
    "resident.tag.add": "タグの追加",
    "resident.tag.remove": "タグの削除",
    "dashboard.today": "今日の相談（ダッシュボード）の閲覧",
    "outbox.dead.list": "未配信メッセージの閲覧",
    "outbox.requeue": "未配信メッセージの再送",
    "outbox.discard": "未配信メッセージの破棄",
}
TARGET_LABELS: dict[str, str] = {
    "resident": "利用者",
    "staff": "スタッフ",
    "outbox_message": "メッセージ",
}
TARGET_URLS: dict[str, str] = {"resident": "/admin/residents/{id}"}

# What kind of entry an action is (the audit page's 変更 / 閲覧 / ログイン tabs): the login
# actions, then by the action's last part — `<area>.<thing>.<verb>`, a verb of VIEW_VERBS
# is a view (an export too: data leaves the screen), anything else is a change.
LOGIN_ACTIONS = frozenset({"login.success", "login.failure", "logout"})
VIEW_VERBS = frozenset({"list", "view", "search", "week", "export", "today"})
KINDS: dict[str, str] = {"change": "変更", "view": "閲覧", "login": "ログイン"}
# Detail keys kept for the code (a form's nonce, which makes a double submit act once) and
# meaningless to staff: the audit page does not show them.
HIDDEN_DETAILS = frozenset({"nonce"})


def action_kind(action: str) -> str:
    if action in LOGIN_ACTIONS:
        return "login"
    return "view" if action.rsplit(".", 1)[-1] in VIEW_VERBS else "change"


DETAIL_LABELS: dict[str, str] = {
    "q": "検索語",
    "page": "ページ",
    "email": "メールアドレス",
    "known_account": "登録済みアカウント",
    "changed": "変更あり",
    "fields": "変更した項目",
    "tag": "タグ",
}
# Stored detail values and their labels: a profile change names its fields.
DETAIL_VALUES: dict[str, dict[str, str]] = {"fields": dict(profiles.FIELDS)}


def client_ip(request: Request | None) -> str:
    if request is None or request.client is None:
        return ""
    return request.client.host[:64]


async def record(
    request_or_none: Request | None,
    action: str,
    target_type: str = "",
    target_id: str | int = "",
    detail: dict[str, Any] | None = None,
    staff: StaffUser | None = None,
) -> AuditLog:
    """Append one audit entry. `staff` defaults to the signed-in staff of the request."""
    if staff is None and request_or_none is not None:
        staff = getattr(request_or_none.state, "staff", None)
    return await AuditLog.create(
        staff=staff,
        staff_email=staff.email if staff is not None else "",
        action=action[:64],
        target_type=target_type[:64],
        target_id=str(target_id)[:64],
        detail=detail or {},
        ip=client_ip(request_or_none),
    )
