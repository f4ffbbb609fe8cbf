"""快递交接: the handover batches the stations closed, with their counts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud.web import handovers
from cloud.web.context import read
from cloud.web.permissions import Permission, requires
from cloud.web.render import render


@requires(Permission.HANDOVERS_VIEW)
async def handover_list(request: Request) -> Response:
    """The newest closed batches: station, courier, who, when, due / handed / missing."""
    rows = await read(request, handovers.handover_rows)
    return render(request, "handovers.html", {"rows": rows})


routes: list[BaseRoute] = [Route("/handovers", handover_list, methods=["GET"])]
