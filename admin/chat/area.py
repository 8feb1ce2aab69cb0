"""チャット's part of the admin, as its registry entry (shima.areas) uses it."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from admin.chat import replies, views
from admin.registry import AdminArea, NavItem
from admin.routing import route

ACTION_LABELS = {
    "chat.list": "チャット一覧の閲覧",
    "chat.view": "チャットの閲覧",
    "chat.poll": "チャットの新着メッセージの閲覧",
    "chat.send": "チャットでのメッセージ送信",
    "chat.handling": "「スタッフ対応中」の切り替え",
    "chat.reply.create": "定型文の追加",
    "chat.reply.update": "定型文の編集",
    "chat.reply.delete": "定型文の削除",
}
TARGET_LABELS = {"saved_reply": "定型文"}
IMAGE_UPLOAD_BYTES = 9 * 1024 * 1024  # the picture (≤ 8 MB) and the form around it


def routes() -> list[BaseRoute]:
    return [
        route("/chat", views.chat_list, ["GET"], "chat"),
        route("/chat/replies", replies.reply_list, ["GET", "POST"], "chat_replies"),
        route("/chat/replies/{reply_id:id}", replies.reply_edit, ["GET", "POST"], "chat_reply"),
        route(
            "/chat/replies/{reply_id:id}/delete",
            replies.reply_delete,
            ["POST"],
            "chat_reply_delete",
        ),
        route("/chat/media/in/{name}", views.media_in, ["GET"], "chat_media_in"),
        # LINE fetches the pictures staff send without a session (admin.routing.PUBLIC).
        route("/chat/public/{name}", views.media_public, ["GET"], "chat_media_public"),
        route("/chat/{resident_id:id}", views.conversation, ["GET"], "chat_conversation"),
        route("/chat/{resident_id:id}/messages", views.poll, ["GET"], "chat_poll"),
        route("/chat/{resident_id:id}/send", views.send_text, ["POST"], "chat_send"),
        # A picture is larger than admin forms are allowed to be; still guarded.
        Route(
            "/chat/{resident_id:id}/image",
            views.send_image,
            methods=["POST"],
            name="chat_send_image",
            max_body_size=IMAGE_UPLOAD_BYTES,
        ),
        route("/chat/{resident_id:id}/handling", views.set_handling, ["POST"], "chat_handling"),
    ]


ADMIN = AdminArea(
    routes=routes,
    nav=(
        NavItem("chat", "チャット", "/admin/chat"),
        NavItem("saved_replies", "定型文", "/admin/chat/replies"),
    ),
    audit_labels=ACTION_LABELS,
    target_labels=TARGET_LABELS,
)
