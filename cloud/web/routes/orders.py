"""订单: one list across shops and platforms, with filters (receivers masked)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud.db.schema import PLATFORMS
from cloud.db.schema_orders import ORDER_STATES
from cloud.web import queries, session
from cloud.web.context import read
from cloud.web.forms import BadInput, day_start, limit, text
from cloud.web.i18n import gettext
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

PAGE = 100
"""Orders per page."""


@requires(Permission.ORDERS_VIEW)
async def order_list(request: Request) -> Response:
    """The order list."""
    q = request.query_params
    state, platform = text(q, "state", 16), text(q, "platform", 16)
    error = None
    try:
        flt = queries.OrderFilter(
            state=state if state in ORDER_STATES else None,
            shop_id=text(q, "shop", 64),
            platform=platform if platform in PLATFORMS else None,
            order_no=text(q, "q", 64),
            since=day_start(q, "since"), until=day_start(q, "until", end=True))
    except BadInput as err:
        flt, error = queries.OrderFilter(), err
    page = limit(q, "page", default=1, maximum=10_000)
    rows = [] if error else await read(
        request, queries.order_rows, flt, limit=PAGE + 1, offset=(page - 1) * PAGE)
    lang = session.lang(request)
    params = {k: v for k, v in q.items() if k != "page" and v}
    return render(request, "orders.html", {
        "rows": rows[:PAGE], "has_more": len(rows) > PAGE, "page": page, "params": params,
        "f": {k: q.get(k, "") for k in ("state", "shop", "platform", "q", "since", "until")},
        "error": error,
        "state_choices": [(st, gettext(lang, f"state.{st}")) for st in ORDER_STATES],
        "platform_choices": [(p, gettext(lang, f"platform.{p}")) for p in PLATFORMS],
        "shop_choices": [(sid, name) for sid, _p, name in await read(request, queries.shop_choices)]},
        status_code=400 if error else 200)


routes: list[BaseRoute] = [Route("/orders", order_list, methods=["GET"])]
