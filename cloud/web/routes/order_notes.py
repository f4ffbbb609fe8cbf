"""卖家备注 from the order page: the note and flag go to the platform, then are kept here
(``cloud.orders.seller_notes``); a refusal is shown next to the field with the platform's
code and message."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.errors import InputError
from cloud.orders import seller_notes
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.routes.orders import order_page_with

PLATFORM_TIMEOUT_S = 15.0
"""Longest wait for the platform to answer the note call."""


@requires(Permission.ORDERS_REVIEW)
async def seller_note(request: Request) -> Response:
    """Write the seller note and flag to the platform, then keep them."""
    ctx, actor = web(request), request.state.user.username
    order_id = request.path_params["order_id"]
    form = await request.form()
    note, flag = text(form, "seller_note", 2000) or "", text(form, "flag", 2) or ""
    try:
        t = await read(request, seller_notes.target, order_id, note=note, flag=flag)
        async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT_S) as http:
            await seller_notes.send(ctx.engine, ctx.sealer, t, http=http)
        await write(request, seller_notes.record, t, actor=actor, now=ctx.now())
    except InputError as err:
        return await order_page_with(request, order_id, err.problems,
                                     {"seller_note": note, "flag": flag})
    session.flash(request, "order.flash_seller_note")
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/orders/{order_id}/seller-note", seller_note, methods=["POST"]),
]
