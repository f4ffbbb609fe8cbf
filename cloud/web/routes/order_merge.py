"""合并订单 and 拆单 on the web: tick orders on the order list and merge them into one parcel;
on an order's page, see the parcel and take it apart (取消合并) or take one order out of it,
split the order's lines into a second parcel (拆单) and undo it (取消拆单)
(``cloud.orders.merging``). Plain form POSTs with CSRF, so it works without JavaScript;
a refused merge shows the selected orders again with the reason next to them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.db.schema import shops
from cloud.db.schema_orders import orders
from cloud.errors import InputError, Problem
from cloud.orders import merging
from cloud.web import queries, session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from cloud.web.routes import orders as order_routes

ID_MAX = 64
"""Longest order id read from the form (``orders.id``)."""


def selected_rows(conn: Connection, order_ids: list[str]) -> list[queries.OrderRow]:
    """The ticked orders, as on the order list (receivers masked), oldest first."""
    o = orders
    if not order_ids:
        return []
    query = (sa.select(o.c.id, o.c.platform, o.c.platform_order_id, shops.c.name, o.c.state,
                       o.c.exception_code, o.c.receiver_masked, o.c.pay_fen, o.c.ordered_at,
                       o.c.buyer_note, o.c.platform_tracking)
             .select_from(o.join(shops, shops.c.id == o.c.shop_id))
             .where(o.c.id.in_(order_ids)).order_by(o.c.ordered_at, o.c.id))
    return [queries.OrderRow(r.id, r.platform, r.platform_order_id, r.name, r.state,
                             r.exception_code, queries.receiver_text(r.receiver_masked),
                             int(r.pay_fen), r.ordered_at, r.buyer_note, r.platform_tracking)
            for r in conn.execute(query)]


@requires(Permission.ORDERS_REVIEW)
async def merge(request: Request) -> Response:
    """Merge the ticked orders (``order_id``, repeated) into one parcel."""
    ctx, actor = web(request), request.state.user.username
    form = await request.form()
    ids = list(dict.fromkeys(
        v.strip()[:ID_MAX] for v in form.getlist("order_id") if isinstance(v, str) and v.strip()))
    reason = text(form, "reason", merging.REASON_MAX) or ""
    try:
        primary = await write(request, merging.merge, ids, actor=actor, reason=reason,
                              now=ctx.now())
    except InputError as err:
        rows = await read(request, selected_rows, ids)
        return render(request, "order_merge.html", {
            "rows": rows, "errors": err.problems, "reason": reason}, status_code=400)
    session.flash(request, "merge.done", n=len(ids))
    return RedirectResponse(_order_url(primary), status_code=303)


@requires(Permission.ORDERS_REVIEW)
async def unmerge(request: Request) -> Response:
    """Take the order's parcel apart (the primary) or take the order out of it (a member)."""
    ctx, actor = web(request), request.state.user.username
    order_id = request.path_params["order_id"]
    form = await request.form()
    reason = text(form, "reason", merging.REASON_MAX) or ""
    try:
        await write(request, merging.unmerge, order_id, actor=actor, reason=reason,
                    now=ctx.now())
    except InputError as err:
        return await order_routes._detail_page(request, order_id, err.problems, reason, 400)
    session.flash(request, "merge.unmerge_done")
    return RedirectResponse(_order_url(order_id), status_code=303)


def _moves(form: Any) -> tuple[dict[int, int], list[Problem]]:
    """``qty_<line no>`` fields → units to move per line, and the fields that are no number."""
    moves: dict[int, int] = {}
    problems: list[Problem] = []
    for key, value in form.multi_items():
        if not key.startswith("qty_") or not isinstance(value, str):
            continue
        try:
            line_no = int(key[len("qty_"):])
        except ValueError:
            continue
        raw = value.strip() or "0"
        try:
            moves[line_no] = int(raw)
        except ValueError:
            problems.append(Problem(key, f"数量应为整数: {raw[:20]}",
                                    f"the quantity must be a whole number: {raw[:20]}"))
    return moves, problems


def _order_url(order_id: str) -> str:
    """The order page's path (a second parcel's id has a ``#``)."""
    return "/orders/" + quote(order_id, safe="")


@requires(Permission.ORDERS_REVIEW)
async def split(request: Request) -> Response:
    """Move the entered quantities (``qty_<line no>``) into a second parcel."""
    ctx, actor = web(request), request.state.user.username
    order_id = request.path_params["order_id"]
    form = await request.form()
    reason = text(form, "reason", merging.REASON_MAX) or ""
    moves, problems = _moves(form)
    try:
        if problems:
            raise InputError(problems)
        child = await write(request, merging.split, order_id, moves, actor=actor, reason=reason,
                            now=ctx.now())
    except InputError as err:
        return await order_routes._detail_page(request, order_id, err.problems, "", 400)
    session.flash(request, "split.done", no=child.rsplit("-", 1)[-1])
    return RedirectResponse(_order_url(order_id), status_code=303)


@requires(Permission.ORDERS_REVIEW)
async def unsplit(request: Request) -> Response:
    """Put the second parcel back into the order."""
    ctx, actor = web(request), request.state.user.username
    order_id = request.path_params["order_id"]
    form = await request.form()
    reason = text(form, "reason", merging.REASON_MAX) or ""
    try:
        parent = await write(request, merging.unsplit, order_id, actor=actor, reason=reason,
                             now=ctx.now())
    except InputError as err:
        return await order_routes._detail_page(request, order_id, err.problems, "", 400)
    session.flash(request, "split.undone")
    return RedirectResponse(_order_url(parent), status_code=303)


routes: list[BaseRoute] = [
    Route("/orders/merge", merge, methods=["POST"]),
    Route("/orders/{order_id}/unmerge", unmerge, methods=["POST"]),
    Route("/orders/{order_id}/split", split, methods=["POST"]),
    Route("/orders/{order_id}/unsplit", unsplit, methods=["POST"]),
]
"""Registered before ``cloud.web.routes.orders`` (its ``/orders/{order_id}/{action}``)."""
