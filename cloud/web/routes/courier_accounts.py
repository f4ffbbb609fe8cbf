"""快递账号 / courier accounts of a shop: the e-waybill subscriptions (branch, balance,
sender addresses) and standard templates as the platform last gave them, fetched again on
request, and the manager's choice per courier of the sender address and template that
waybill requests use (``cloud.couriers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import audit, couriers
from cloud.errors import InputError, Problem
from cloud.label_preview import preview_png, sample
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

PLATFORM_TIMEOUT_S = 15.0
"""Longest wait for the platform to answer each subscription / template call."""


def _view(conn: Connection, shop_id: str) -> dict[str, Any] | None:
    """Everything the page shows for the shop, grouped by courier; None for no such shop."""
    shop = next((s for s in couriers.shop_list(conn) if s.id == shop_id), None)
    if shop is None:
        return None
    accounts = couriers.accounts_of(conn, shop_id)
    templates = couriers.templates_of(conn, shop_id)
    codes = sorted({a.carrier_code for a in accounts})
    groups = [{
        "code": code, "name": couriers.carrier_name(code),
        "branches": [a for a in accounts if a.carrier_code == code],
        "templates": [t for t in templates if t.carrier_code == code],
        "choice": couriers.choice_of(conn, shop_id, code),
    } for code in codes]
    fetched = max((a.fetched_at for a in accounts), default=None)
    return {"shop": shop, "groups": groups, "fetched_at": fetched}


async def _page(request: Request, shop_id: str, *, errors: list[Problem] | None = None,
                form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    view = await read(request, _view, shop_id)
    if view is None:
        raise HTTPException(404)
    return render(request, "courier_accounts.html", {
        **view, "errors": errors or [], "form": form or {}},
        status_code=400 if errors else status_code)


@requires(Permission.COURIER_ACCOUNTS)
async def shops_page(request: Request) -> Response:
    """Every shop with a link to its courier accounts."""
    rows = await read(request, couriers.shop_list)
    return render(request, "courier_shops.html", {"shops": rows})


@requires(Permission.COURIER_ACCOUNTS)
async def accounts_page(request: Request) -> Response:
    """The shop's subscriptions, balances, sender addresses, templates and choices."""
    return await _page(request, request.path_params["shop_id"])


@requires(Permission.COURIER_ACCOUNTS)
async def refresh(request: Request) -> Response:
    """Fetch the shop's subscriptions and templates from the platform again (audited)."""
    ctx, actor = web(request), request.state.user.username
    shop_id = request.path_params["shop_id"]
    if await read(request, _view, shop_id) is None:
        raise HTTPException(404)
    try:
        async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT_S) as http:
            n_acc, n_tpl = await couriers.refresh_shop(ctx.engine, ctx.sealer, shop_id,
                                                       http=http, now=ctx.now())
    except InputError as err:
        return await _page(request, shop_id, errors=err.problems)
    await write(request, _audit_refresh, shop_id, actor, n_acc, n_tpl, ctx.now())
    session.flash(request, "ca.flash_refreshed", accounts=n_acc, templates=n_tpl)
    return RedirectResponse(f"/shops/{shop_id}/couriers", status_code=303)


def _audit_refresh(conn: Connection, shop_id: str, actor: str, n_acc: int, n_tpl: int,
                   now: datetime) -> None:
    """The audit entry of a refresh: who fetched how many accounts and templates."""
    audit.record(conn, now, actor, "courier.refresh", shop_id,
                 {"accounts": n_acc, "templates": n_tpl})


@requires(Permission.COURIER_ACCOUNTS)
async def choose(request: Request) -> Response:
    """Save the sender address and template for one courier of the shop."""
    ctx, actor = web(request), request.state.user.username
    shop_id = request.path_params["shop_id"]
    raw = await request.form()
    form = {k: text(raw, k, 200) or "" for k in ("carrier", "address", "template")}
    form["custom_area_url"] = (text(raw, "custom_area_url", 600) or "").strip()
    branch, _sep, index = form["address"].rpartition("|")
    try:
        if not form["carrier"]:
            raise InputError([Problem("carrier", "请选择快递公司", "choose a courier")])
        await write(request, couriers.choose, shop_id, form["carrier"], branch_code=branch,
                    address_index=int(index) if index.isdigit() else -1,
                    template_id=form["template"], actor=actor, now=ctx.now(),
                    custom_area_url=form["custom_area_url"])
    except InputError as err:
        return await _page(request, shop_id, errors=err.problems, form=form)
    session.flash(request, "ca.flash_chosen", carrier=couriers.carrier_name(form["carrier"]))
    return RedirectResponse(f"/shops/{shop_id}/couriers", status_code=303)


@requires(Permission.COURIER_ACCOUNTS)
async def preview(request: Request) -> Response:
    """PNG of the station's label with the chosen sender on the chosen template's size
    (sample receiver, items and routing); 400 when the courier has no choice yet."""
    ctx, shop_id = web(request), request.path_params["shop_id"]
    carrier = text(request.query_params, "carrier", 32) or ""
    got = await read(request, sample, ctx.sealer, shop_id, carrier, ctx.now())
    if got is None:
        return Response("未选择发件地址和模板 / nothing chosen", status_code=400,
                        media_type="text/plain; charset=utf-8")
    png = await run_in_threadpool(preview_png, *got)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [
    Route("/shops/couriers", shops_page, methods=["GET"]),
    Route("/shops/{shop_id}/couriers", accounts_page, methods=["GET"]),
    Route("/shops/{shop_id}/couriers/refresh", refresh, methods=["POST"]),
    Route("/shops/{shop_id}/couriers/choose", choose, methods=["POST"]),
    Route("/shops/{shop_id}/couriers/preview.png", preview, methods=["GET"]),
]
