"""店铺授权: every shop with how its authorisation stands (authorised until …, expiring
within N days, expired, revoked by the platform) and the platform's consent flow from the
browser: 授权/重新授权 stores a one-use ``state`` in the session and sends the manager to
the platform's consent page; the platform redirects to ``/shops/callback`` with ``code``
and ``state``; the state is checked against the session (a callback the manager did not
start, or a replayed one, is refused) and the code exchanged (:mod:`cloud.shops`), with an
audit entry. 检查授权 asks the platform now by refreshing the token."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.marketplaces.errors import MarketplaceError, platform_reason
from cloud.shops import (
    ShopError,
    authorize_url,
    check_authorisation,
    exchange_code,
    load_shop,
    shop_auth_rows,
)
from cloud.web import session
from cloud.web.context import read, web
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

PLATFORM_TIMEOUT_S = 15.0
"""Longest wait for the platform's token API."""

STATE_TTL_S = 600
"""A consent started more than this long ago is not completed (the manager starts again)."""

SESSION_KEY = "shop_oauth"
"""Session entry holding the pending consent: state, shop id and when it started."""

CALLBACK_PATH = "/shops/callback"
"""Where the platform sends the manager back (the app's ``redirect_uri``)."""


def _redirect_uri(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CALLBACK_PATH


async def _page(request: Request, *, error: str = "", status_code: int = 200) -> Response:
    ctx = web(request)
    rows = await read(request, shop_auth_rows, ctx.now())
    return render(request, "shops.html", {"rows": rows, "error": error},
                  status_code=status_code)


@requires(Permission.SHOPS_VIEW)
async def shop_list(request: Request) -> Response:
    """Every shop with its authorisation state and the 授权/重新授权 link."""
    return await _page(request)


@requires(Permission.SHOPS_AUTHORIZE)
async def shop_authorize(request: Request) -> Response:
    """Start the platform's consent flow: a fresh ``state`` in the session, then off to the
    platform's authorise page (nothing is written before the manager comes back)."""
    ctx, shop_id = web(request), request.path_params["shop_id"]

    def load(conn: Any) -> Any:
        return load_shop(conn, ctx.sealer, shop_id)

    try:
        shop = await read(request, load)
    except ShopError:
        session.flash(request, "shops.flash_not_configured", shop=shop_id)
        return RedirectResponse("/shops", status_code=303)
    state = secrets.token_urlsafe(24)
    request.session[SESSION_KEY] = {"state": state, "shop": shop.id, "at": ctx.clock()}
    return RedirectResponse(authorize_url(shop, _redirect_uri(request), state), status_code=303)


@requires(Permission.SHOPS_AUTHORIZE)
async def shop_callback(request: Request) -> Response:
    """The platform's redirect: check ``state`` against the session (one use), exchange the
    code for tokens (stored encrypted, audited), back to the shops page."""
    ctx, actor = web(request), request.state.user.username
    q = request.query_params
    pending = request.session.pop(SESSION_KEY, None)
    state, code = text(q, "state", 200) or "", text(q, "code", 500) or ""
    if (not isinstance(pending, dict) or not isinstance(pending.get("state"), str)
            or not secrets.compare_digest(pending["state"].encode(), state.encode())):
        return await _page(request, error=_msg(request, "shops.err_state"), status_code=400)
    if ctx.clock() - float(pending.get("at", 0)) > STATE_TTL_S:
        return await _page(request, error=_msg(request, "shops.err_stale"), status_code=400)
    if not code:  # the merchant declined, or the platform sent its error instead
        return await _page(request, error=_msg(
            request, "shops.err_declined", detail=text(q, "error_description", 200)
            or text(q, "error", 64) or "—"), status_code=400)
    shop_id = str(pending["shop"])
    try:
        async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT_S) as http:
            await exchange_code(ctx.engine, ctx.sealer, shop_id, code,
                                redirect_uri=_redirect_uri(request), http=http,
                                clock=ctx.clock, actor=actor)
    except ShopError as err:
        return await _page(request, error=_msg(request, "shops.err_exchange", shop=shop_id,
                                                detail=str(err)), status_code=400)
    session.flash(request, "shops.flash_authorized", shop=shop_id)
    return RedirectResponse("/shops", status_code=303)


@requires(Permission.SHOPS_AUTHORIZE)
async def shop_check(request: Request) -> Response:
    """检查授权: refresh the shop's token now; a platform refusal marks it revoked (audited)."""
    ctx, actor = web(request), request.state.user.username
    shop_id = request.path_params["shop_id"]
    try:
        async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT_S) as http:
            result = await check_authorisation(ctx.engine, ctx.sealer, shop_id, http=http,
                                               actor=actor, now=ctx.now(), clock=ctx.clock)
    except ShopError:
        session.flash(request, "shops.flash_not_authorised", shop=shop_id)
        return RedirectResponse("/shops", status_code=303)
    except MarketplaceError as err:
        session.flash(request, "shops.flash_check_failed", shop=shop_id,
                      detail=platform_reason(err))
        return RedirectResponse("/shops", status_code=303)
    if result == "ok":
        session.flash(request, "shops.flash_check_ok", shop=shop_id)
    else:
        session.flash(request, "shops.flash_revoked", shop=shop_id, detail=result)
    return RedirectResponse("/shops", status_code=303)


def _msg(request: Request, key: str, **params: Any) -> str:
    from cloud.web.i18n import gettext

    return gettext(session.lang(request), key, **params)


routes: list[BaseRoute] = [
    Route("/shops", shop_list, methods=["GET"]),
    Route(CALLBACK_PATH, shop_callback, methods=["GET"]),
    Route("/shops/{shop_id}/authorize", shop_authorize, methods=["GET"]),
    Route("/shops/{shop_id}/check", shop_check, methods=["POST"]),
]
