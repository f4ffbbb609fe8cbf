"""库存: balances per warehouse, SKU and location; the move history with filters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cloud import ledger_store
from cloud.web import queries
from cloud.web.context import read
from cloud.web.forms import BadInput, day_start, limit, text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

MAX_BALANCE_ROWS = 1000
"""Balance rows shown at most (the count says when there are more)."""


async def _warehouse_choices(request: Request) -> list[tuple[str, str]]:
    return [(w, w) for w in await read(request, queries.warehouse_ids)]


@requires(Permission.STOCK_VIEW)
async def balances(request: Request) -> Response:
    """On hand per warehouse, SKU and location."""
    q = request.query_params
    flt = {"warehouse_id": text(q, "warehouse", 64), "sku": text(q, "sku", 64),
           "location": text(q, "location", 64)}
    include_zero = q.get("zero") == "1"
    rows = await read(request, lambda conn: ledger_store.balances(
        conn, include_zero=include_zero, **flt))
    shown = rows[:MAX_BALANCE_ROWS]
    names = await read(request, queries.sku_names, [b.sku for b in shown])
    return render(request, "stock.html", {
        "rows": shown, "total_rows": len(rows), "units": sum(b.qty for b in rows),
        "names": names, "f": {**flt, "zero": include_zero}, "max_rows": MAX_BALANCE_ROWS,
        "warehouse_choices": await _warehouse_choices(request)})


@requires(Permission.STOCK_VIEW)
async def moves(request: Request) -> Response:
    """Stock moves, newest first, with filters."""
    q = request.query_params
    flt: dict[str, Any] = {"warehouse_id": text(q, "warehouse", 64), "sku": text(q, "sku", 64),
                           "location": text(q, "location", 64), "station_id": text(q, "station", 64)}
    n = limit(q, default=100, maximum=1000)
    error = None
    try:
        since = day_start(q, "since")
    except BadInput as err:
        since, error = None, err
    rows = [] if error else await read(request, lambda conn: ledger_store.move_history(
        conn, since=since, limit=n, **flt))
    names = await read(request, queries.sku_names, [m.move.sku for m in rows])
    return render(request, "moves.html", {
        "rows": rows, "names": names, "f": {**flt, "since": q.get("since", ""), "limit": n},
        "error": error, "warehouse_choices": await _warehouse_choices(request)},
        status_code=400 if error else 200)


routes: list[BaseRoute] = [
    Route("/stock", balances, methods=["GET"]),
    Route("/stock/moves", moves, methods=["GET"]),
]
