"""Generic error pages: Japanese HTML for /admin, JSON elsewhere; never a stack trace.

Starlette's exception handlers are app-wide: the app factory passes `exception_handlers`
to `Starlette(...)`.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from admin.pages import render
from admin.sessions import COOKIE_NAME, load_session
from shima.domain import consultation as booking_rules
from shima.middleware import security_headers

log = logging.getLogger("shima.admin")

CSRF_MESSAGE = (
    "セッションの有効期限が切れたか、不正なリクエストです。ページを再読み込みしてください。"
)

_PAGES: dict[int, tuple[str, str]] = {
    400: ("リクエストが正しくありません", "入力内容を確認して、もう一度お試しください。"),
    403: ("このページを表示する権限がありません", "必要な場合は管理者にお問い合わせください。"),
    404: (
        "ページが見つかりません",
        "URL が間違っているか、ページが削除された可能性があります。",
    ),
    405: ("この操作はできません", "画面のボタンやリンクから操作してください。"),
    413: ("送信されたデータが大きすぎます", "内容を減らして、もう一度お試しください。"),
    429: ("アクセスが多すぎます", "しばらくしてからお試しください。"),
    500: (
        "システムエラーが発生しました",
        "しばらくしてからもう一度お試しください。解決しない場合は管理者にお問い合わせください。",
    ),
}


# The booking rules' refusals as staff read them: the rules' own `message` is written for the
# resident on LINE (「申し訳ありません、この枠は埋まりました。」); staff are told what happened
# and what to do. A refusal not listed here shows its `staff_message`, else its message.
_STAFF_BOOKING_MESSAGES: dict[type[booking_rules.BookingError], str] = {
    booking_rules.SlotFull: "この枠は満席です。別の枠を選んでください。",
    booking_rules.SlotClosed: (
        "この枠は受付を終了しました（開始時刻を過ぎたか、休館日か、削除された枠です）。"
        "別の枠を選んでください。"
    ),
    booking_rules.AlreadyBooked: "この利用者はこの枠をすでに予約しています。",
    booking_rules.MethodNotOffered: "この枠では、選んだ相談方法を受け付けていません。",
    booking_rules.NotYours: "この予約は見つかりません。",
    booking_rules.NotCancellable: "この予約はすでにキャンセルされているか、終了しています。",
}


def staff_message(exc: booking_rules.BookingError) -> str:
    """What a staff member is told when a booking rule refuses their action."""
    if isinstance(exc, booking_rules.TooManyBookings):
        limit = exc.args[0] if exc.args else ""
        return f"この利用者はすでに{limit}件の予約があります（同時に{limit}件まで）。"
    if "message" in vars(exc):
        return str(exc.message)  # built for this refusal (e.g. which closed day): already plain
    for kind in type(exc).__mro__:
        if kind is not type(exc) and "message" in vars(type(exc)):
            # A refusal more precise than the mapped family (SlotInPast is a SlotClosed):
            # its own wording names the reason, which is what staff need.
            return str(type(exc).message)
        if kind in _STAFF_BOOKING_MESSAGES:
            return _STAFF_BOOKING_MESSAGES[kind]
        if kind is booking_rules.BookingError:
            break
    staff_text = getattr(exc, "staff_message", "")
    if isinstance(staff_text, str) and staff_text:
        return staff_text
    return exc.message if type(exc) is not booking_rules.BookingError else "予約できませんでした。"


def is_admin_path(request: Request) -> bool:
    path = request.url.path
    return path == "/admin" or path.startswith("/admin/")


def error_page(
    request: Request,
    status_code: int,
    *,
    title: str | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
    back_href: str = "",
) -> Response:
    default_title, default_message = _PAGES.get(
        status_code, ("エラーが発生しました", "しばらくしてからもう一度お試しください。")
    )
    return render(
        request,
        "admin/error.html",
        {
            "status_code": status_code,
            "title": title or default_title,
            "message": message or default_message,
            "back_href": back_href,
        },
        status_code=status_code,
        headers=headers,
    )


def csrf_failure(request: Request) -> Response:
    return error_page(request, 403, title="リクエストを処理できませんでした", message=CSRF_MESSAGE)


async def with_staff(request: Request) -> None:
    """Before an error page no guard ran for (no such page, a refused form): the signed-in
    staff member, if any, so the page shows in the admin's frame with its way back to the
    dashboard, not the signed-out page pointing to the login."""
    if getattr(request.state, "staff", None) is not None or not request.cookies.get(COOKIE_NAME):
        return
    try:
        active = await load_session(request)
    except Exception:  # the error page must not fail because the database does
        log.warning("error page without the staff frame: session lookup failed")
        return
    if active is not None:
        request.state.staff = active.staff
        request.state.staff_session = active.session


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=headers)
    if is_admin_path(request):
        await with_staff(request)
        return error_page(request, exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def server_error(request: Request, exc: Exception) -> Response:
    # Runs in ServerErrorMiddleware, outside SecurityHeadersMiddleware: add the headers here.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_admin_path(request):
        try:
            response = error_page(request, 500)
        except Exception:  # the template itself may be what failed
            response = Response(
                "システムエラーが発生しました。", status_code=500, media_type="text/plain"
            )
    else:
        response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    settings = getattr(request.app.state, "settings", None)
    hsts = bool(settings and settings.secure_cookies)
    for name, value in security_headers(request.url.path, hsts=hsts):
        response.headers[name] = value
    return response


exception_handlers: dict[int | type[Exception], ExceptionHandler] = {
    HTTPException: http_exception,
    Exception: server_error,
}
