"""订单标签 from the order page: define a tag (name, colour from the palette), put a tag on
an order or take it off (``cloud.orders.tags``); plain forms, so they work without
JavaScript. A refused input is shown next to its field on the order page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.errors import InputError
from cloud.orders import tags
from cloud.web import session
from cloud.web.context import web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.routes.orders import order_page_with

ID_MAX = 18
"""Longest tag id accepted from a form (digits of a 64-bit key)."""


@requires(Permission.ORDERS_REVIEW)
async def define_tag(request: Request) -> Response:
    """A new tag, defined from an order's page (and put on that order)."""
    ctx, actor = web(request), request.state.user.username
    order_id = request.path_params["order_id"]
    form = await request.form()
    name, colour = text(form, "tag_name", 200) or "", text(form, "tag_colour", 16) or ""
    try:
        await write(request, tags.define_on, order_id, name=name, colour=colour, actor=actor,
                    now=ctx.now())
    except InputError as err:
        return await order_page_with(request, order_id, err.problems, None)
    session.flash(request, "tags.flash_defined")
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


@requires(Permission.ORDERS_REVIEW)
async def change_tag(request: Request) -> Response:
    """Put a tag on the order (``add``) or take it off (``remove``)."""
    ctx, actor = web(request), request.state.user.username
    order_id, action = request.path_params["order_id"], request.path_params["action"]
    if action not in ("add", "remove"):
        return RedirectResponse(f"/orders/{order_id}", status_code=303)
    form = await request.form()
    tag_id = text(form, "tag_id", ID_MAX) or ""
    step = tags.put_on if action == "add" else tags.take_off
    try:
        await write(request, step, order_id, tag_id, actor=actor, now=ctx.now())
    except InputError as err:
        return await order_page_with(request, order_id, err.problems, None)
    session.flash(request, f"tags.flash_{'added' if action == 'add' else 'removed'}")
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/orders/{order_id}/tags/new", define_tag, methods=["POST"]),
    Route("/orders/{order_id}/tags/{action}", change_tag, methods=["POST"]),
]
