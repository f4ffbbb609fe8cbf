"""盘点差异: stocktakes approved at stations and their variances (warehouse leads and up).

The figures are what the station sent with the approval (``cloud.stocktakes``); the
adjustments themselves are COUNT_ADJUST moves in the ledger (the stock moves page)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import stocktakes
from cloud.web.context import read
from cloud.web.permissions import Permission, requires
from cloud.web.render import render


@requires(Permission.STOCKTAKES_VIEW)
async def stocktake_list(request: Request) -> Response:
    """Approved stocktakes, newest first, with their variance totals."""
    rows = await read(request, stocktakes.summaries)
    return render(request, "stocktakes.html", {"rows": rows})


@requires(Permission.STOCKTAKES_VIEW)
async def stocktake_page(request: Request) -> Response:
    """One stocktake's lines: books at count time, counted, variance, recounts."""
    found = await read(request, stocktakes.detail, request.path_params["stocktake_id"])
    if found is None:
        return RedirectResponse("/stocktakes", status_code=303)
    summary, lines = found
    return render(request, "stocktake.html", {"s": summary, "lines": lines})


routes: list[BaseRoute] = [
    Route("/stocktakes", stocktake_list, methods=["GET"]),
    Route("/stocktakes/{stocktake_id}", stocktake_page, methods=["GET"]),
]
