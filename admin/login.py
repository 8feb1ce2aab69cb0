"""Signing in and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin import audit, csrf, device_cookies, throttle
from admin.auth import LOGIN_PATH, safe_next, staff_required
from admin.errors import csrf_failure
from admin.pages import render
from admin.passwords import normalise_email, verify_password_async
from admin.sessions import (
    clear_session_cookie,
    end_session,
    load_session,
    set_session_cookie,
    start_session,
)
from models.staff import StaffUser
from shima.timeutil import now

BAD_CREDENTIALS = "メールアドレスまたはパスワードが正しくありません。"
THROTTLED = "ログイン試行が多すぎます。しばらくしてからお試しください。"
# Shown to untrusted browsers only: the one they are refused from is not the staff's own.
TRUSTED_BROWSER_HINT = (
    "このアカウントで以前にログインしたブラウザからは、引き続きログインできます。"
)
NOTICES = {
    "expired": "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。",
    "logged_out": "ログアウトしました。",
}
MAX_PASSWORD_CHARS = 1024  # argon2 hashes any length; this bounds the work per request


def _login_form(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    token = csrf.login_token_for(request)
    notice = next((text for key, text in NOTICES.items() if request.query_params.get(key)), "")
    response = render(
        request,
        "admin/login.html",
        {
            "login_csrf_token": token,
            "next": next_path,
            "email": email,
            "error": error,
            "notice": "" if error else notice,
        },
        status_code=status_code,
    )
    csrf.set_login_cookie(request, response, token)
    return response


async def login_page(request: Request) -> Response:
    if request.method == "POST":
        return await _login_submit(request)
    next_path = safe_next(request.query_params.get("next"))
    if await load_session(request) is not None:
        return RedirectResponse(next_path, status_code=303)
    return _login_form(request, next_path=next_path)


async def _login_submit(request: Request) -> Response:
    if not await csrf.login_token_valid(request):
        return csrf_failure(request)
    form = await request.form()
    raw_email, raw_password, raw_next = form.get("email"), form.get("password"), form.get("next")
    email = normalise_email(raw_email if isinstance(raw_email, str) else "")[:254]
    password = raw_password if isinstance(raw_password, str) else ""
    next_path = safe_next(raw_next if isinstance(raw_next, str) else None)
    ip = audit.client_ip(request)

    attempt = await throttle.begin(email, ip, device_cookies.device_of(request, email))
    if attempt.wait:
        # Identical for known and unknown accounts; checks no password.
        message = THROTTLED if attempt.trusted else f"{THROTTLED}{TRUSTED_BROWSER_HINT}"
        return render(
            request,
            "admin/message.html",
            {"title": "ログインできません", "message": message, "back_href": LOGIN_PATH},
            status_code=429,
            headers={"Retry-After": str(attempt.wait)},
        )

    staff = await StaffUser.get_or_none(email=email) if email else None
    usable = staff is not None and staff.is_active and len(password) <= MAX_PASSWORD_CHARS
    # For unknown accounts a dummy verification runs, so both failures take as long.
    check = await verify_password_async(
        staff.password_hash if usable and staff is not None else None,
        password[:MAX_PASSWORD_CHARS],
    )
    if not check.ok or staff is None:
        # The attempt already stands as a failure (throttle.begin).
        await audit.record(
            request,
            "login.failure",
            "staff",
            staff.id if staff is not None else "",
            {"email": email, "known_account": staff is not None},
        )
        return _login_form(
            request, next_path=next_path, email=email, error=BAD_CREDENTIALS, status_code=400
        )

    if check.new_hash:
        await StaffUser.filter(id=staff.id).update(password_hash=check.new_hash)
    await throttle.succeeded(attempt)
    token, _session = await start_session(request, staff)
    await StaffUser.filter(id=staff.id).update(last_login_at=now())
    await audit.record(request, "login.success", "staff", staff.id, staff=staff)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, token)
    device_cookies.set_device_cookie(request, response, email)
    return response


@staff_required
async def logout(request: Request) -> Response:
    await audit.record(request, "logout", "staff", request.state.staff.id)
    await end_session(request)
    response = RedirectResponse(f"{LOGIN_PATH}?logged_out=1", status_code=303)
    clear_session_cookie(request, response)
    return response
