"""已打印未发货: printed labels whose parcels have not shipped, with their age."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud.web import unshipped
from cloud.web.context import read, web
from cloud.web.permissions import Permission, requires
from cloud.web.render import render


@requires(Permission.ORDERS_VIEW)
async def unshipped_list(request: Request) -> Response:
    """Oldest first print first; a day or older marked."""
    rows = await read(request, unshipped.unshipped_rows, web(request).now())
    return render(request, "unshipped.html", {"rows": rows,
                                              "stale_hours": unshipped.STALE_HOURS})


routes: list[BaseRoute] = [Route("/labels/unshipped", unshipped_list, methods=["GET"])]
