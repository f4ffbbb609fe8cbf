"""退货: return parcels on their way (the platforms' requests) and those the stations
inspected, with what came back — what the refund decision needs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud import returns
from cloud.web import session
from cloud.web.context import read
from cloud.web.i18n_returns import refund_status_text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render


@requires(Permission.ORDERS_VIEW)
async def returns_page(request: Request) -> Response:
    """Returns on their way, then the newest inspected ones."""
    lang = session.lang(request)
    return render(request, "returns.html", {
        "expected": await read(request, returns.expected),
        "received": await read(request, returns.received),
        "refund_words": lambda status: refund_status_text(status, lang),
    })


routes: list[BaseRoute] = [Route("/returns", returns_page, methods=["GET"])]
