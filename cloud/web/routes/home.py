"""首页: counts at a glance."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud.web import queries, session
from cloud.web.context import read, web
from cloud.web.i18n import gettext
from cloud.web.permissions import Permission, requires
from cloud.web.render import render


@requires(Permission.DASHBOARD_VIEW)
async def dashboard(request: Request) -> Response:
    """The home page."""
    counts = await read(request, queries.dashboard)
    stations = await read(request, queries.station_rows, web(request).now())
    attention = [s for s in stations if s.health != "ok" and s.status == "active"]
    lang = session.lang(request)
    chart = {"labels": [gettext(lang, f"state.{s}") for s in counts.orders_by_state],
             "values": list(counts.orders_by_state.values())}
    return render(request, "home.html", {"d": counts, "attention": attention, "chart": chart})


routes: list[BaseRoute] = [Route("/", dashboard, methods=["GET"])]
