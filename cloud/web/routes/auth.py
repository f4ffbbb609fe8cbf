"""Sign-in (password, then TOTP when the user has it), sign-out, the language switch."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import audit
from cloud.web import accounts, session
from cloud.web.accounts import LoginResult, LoginStatus
from cloud.web.context import client_ip, web, write
from cloud.web.forms import safe_next, text
from cloud.web.i18n import LANGS
from cloud.web.permissions import public
from cloud.web.render import fmt_time, render


def _next(request: Request) -> str:
    return safe_next(request.query_params.get("next"))


@public
async def login_page(request: Request) -> Response:
    """The sign-in form (a signed-in user goes home)."""
    if await session.current_user(request) is not None:
        return RedirectResponse(_next(request), status_code=303)
    return render(request, "login.html", {"next": _next(request), "username": ""})


def _refused(request: Request, result: LoginResult, template: str,
             extra: dict[str, object]) -> Response:
    if result.status is LoginStatus.LOCKED:
        key, status = "login.locked", 423
    elif result.status is LoginStatus.THROTTLED:
        key, status = "login.throttled", 429
    else:
        key, status = ("totp.bad" if template == "totp.html" else "login.bad"), 400
    return render(request, template, {
        "error_key": key, "error_params": {"until": fmt_time(result.until)}, **extra},
        status_code=status)


@public
async def login_submit(request: Request) -> Response:
    """Check the password; sign in, or ask for the TOTP code, or say why not."""
    ctx = web(request)
    form = await request.form()
    username = text(form, "username", 64) or ""
    password = form.get("password")
    result = await write(request, accounts.check_password, ctx.now(), ctx.policy(),
                         username=username, password=password if isinstance(password, str) else "",
                         ip=client_ip(request))
    target = safe_next(form.get("next"))
    if result.status is LoginStatus.OK and result.user is not None:
        session.start(request, result.user)
        return RedirectResponse(target, status_code=303)
    if result.status is LoginStatus.NEEDS_TOTP and result.user is not None:
        session.start_totp(request, result.user)
        return RedirectResponse(f"/login/totp?next={target}", status_code=303)
    return _refused(request, result, "login.html", {"next": target, "username": username})


@public
async def totp_page(request: Request) -> Response:
    """The TOTP code form, after a right password."""
    if session.pending_totp_user(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "totp.html", {"next": _next(request)})


@public
async def totp_submit(request: Request) -> Response:
    """Check the TOTP code and finish signing in."""
    ctx = web(request)
    uid = session.pending_totp_user(request)
    if uid is None:
        return RedirectResponse("/login", status_code=303)
    form = await request.form()
    target = safe_next(form.get("next"))
    result = await write(request, accounts.check_totp, ctx.now(), ctx.policy(), ctx.sealer,
                         user_id=uid, code=text(form, "code", 16) or "", ip=client_ip(request))
    if result.status is LoginStatus.OK and result.user is not None:
        session.start(request, result.user)
        return RedirectResponse(target, status_code=303)
    if result.status is not LoginStatus.BAD_CREDENTIALS:
        session.end(request)
        return _refused(request, result, "login.html", {"next": target, "username": ""})
    return _refused(request, result, "totp.html", {"next": target})


@public
async def logout(request: Request) -> Response:
    """Sign out (POST, with the CSRF token)."""
    user = await session.current_user(request)
    if user is not None:
        ctx = web(request)
        await write(request, audit.record, ctx.now(), user.username, "logout", user.username)
    session.end(request)
    session.flash(request, "login.signed_out")
    return RedirectResponse("/login", status_code=303)


@public
async def switch_language(request: Request) -> Response:
    """Set the session's language and go back to the page (POST, works without JavaScript)."""
    form = await request.form()
    lang = form.get("lang")
    if isinstance(lang, str) and lang in LANGS:
        request.session["lang"] = lang
    return RedirectResponse(safe_next(form.get("next")), status_code=303)


routes: list[BaseRoute] = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/login/totp", totp_page, methods=["GET"]),
    Route("/login/totp", totp_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang", switch_language, methods=["POST"]),
]
