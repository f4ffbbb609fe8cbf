"""换货 from the order page: the new parcel of an exchange (``cloud.orders.exchanges``), made
by a person who chooses what it sends; refused input is shown next to its field."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.errors import InputError, Problem
from cloud.orders import exchanges
from cloud.web import session
from cloud.web.context import web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.routes.orders import order_page_with


@requires(Permission.ORDERS_REVIEW)
async def exchange(request: Request) -> Response:
    """Make the exchange order of a shipped order, then show it."""
    order_id = request.path_params["order_id"]
    raw = await request.form()
    form = {"sku": text(raw, "sku", 64) or "", "qty": text(raw, "qty", 8) or "",
            "reason": text(raw, "reason", 200) or ""}
    if not form["qty"].isdigit():
        return await order_page_with(request, order_id, [
            Problem("qty", "数量应为正整数", "a whole number of units")], None, form)
    try:
        new_id = await write(request, exchanges.create, order_id, {form["sku"]: int(form["qty"])},
                             actor=request.state.user.username, reason=form["reason"],
                             now=web(request).now())
    except InputError as err:
        return await order_page_with(request, order_id, err.problems, None, form)
    session.flash(request, "order.flash_exchange", id=new_id)
    return RedirectResponse(f"/orders/{new_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/orders/{order_id}/exchange", exchange, methods=["POST"]),
]
