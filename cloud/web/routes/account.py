"""我的账户: the signed-in user's own second factor (TOTP)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.web import accounts, session
from cloud.web.accounts import AccountError
from cloud.web.context import web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render


def _setup_secret(request: Request) -> str:
    secret = request.session.get("totp_setup")
    if not isinstance(secret, str):
        secret = accounts.new_totp_secret()
        request.session["totp_setup"] = secret
    return secret


async def _page(request: Request, error: AccountError | None = None,
                status_code: int = 200) -> Response:
    user = request.state.user
    secret = None if user.totp_enabled else _setup_secret(request)
    return render(request, "account.html", {
        "secret": secret, "uri": accounts.totp_uri(secret, user.username) if secret else None,
        "error": error}, status_code=status_code)


@requires(Permission.ACCOUNT_SELF)
async def account_page(request: Request) -> Response:
    """Role and the second factor: set it up, or turn it off."""
    return await _page(request)


@requires(Permission.ACCOUNT_SELF)
async def totp_enable(request: Request) -> Response:
    """Turn TOTP on after the user typed the app's current code."""
    ctx, user = web(request), request.state.user
    form = await request.form()
    try:
        await write(request, accounts.enable_totp, ctx.now(), ctx.sealer, user.id,
                    _setup_secret(request), text(form, "code", 16) or "")
    except AccountError as err:
        return await _page(request, err, status_code=400)
    request.session.pop("totp_setup", None)
    session.flash(request, "account.totp_enabled")
    return RedirectResponse("/account", status_code=303)


@requires(Permission.ACCOUNT_SELF)
async def totp_disable(request: Request) -> Response:
    """Turn TOTP off (the current code is asked, so a walk-up cannot)."""
    ctx, user = web(request), request.state.user
    form = await request.form()

    try:
        await write(request, accounts.disable_own_totp, ctx.now(), ctx.sealer, user.id,
                    text(form, "code", 16) or "")
    except AccountError as err:
        return await _page(request, err, status_code=400)
    session.flash(request, "account.totp_disabled")
    return RedirectResponse("/account", status_code=303)


routes: list[BaseRoute] = [
    Route("/account", account_page, methods=["GET"]),
    Route("/account/totp", totp_enable, methods=["POST"]),
    Route("/account/totp/disable", totp_disable, methods=["POST"]),
]
