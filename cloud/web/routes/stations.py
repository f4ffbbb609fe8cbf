"""工作站: every station with its last contact and backup health."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud.web import queries
from cloud.web.context import read, web
from cloud.web.permissions import Permission, requires
from cloud.web.render import render


@requires(Permission.STATIONS_VIEW)
async def station_list(request: Request) -> Response:
    """The station list."""
    rows = await read(request, queries.station_rows, web(request).now())
    return render(request, "stations.html", {"rows": rows})


routes: list[BaseRoute] = [Route("/stations", station_list, methods=["GET"])]
