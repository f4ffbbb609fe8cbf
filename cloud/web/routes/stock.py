"""库存: balances per warehouse, SKU and location; the move history with filters; manual
adjustments with a reason (调整); alerts (预警): station alerts to mark done, SKUs below
safety stock, slow movers."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import ledger_store, stock
from cloud.errors import CloudError, InputError, Problem
from cloud.web import queries, session
from cloud.web.context import read, web, write
from cloud.web.forms import BadInput, day_start, limit, text
from cloud.web.i18n import MESSAGES
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
    if q.get("view") == "sku":
        sku_rows = await read(request, lambda conn: stock.levels(
            conn, warehouse_id=flt["warehouse_id"], sku=flt["sku"], limit=MAX_BALANCE_ROWS + 1))
        names = await read(request, queries.sku_names, [x.sku for x in sku_rows])
        return render(request, "stock_levels.html", {
            "rows": sku_rows[:MAX_BALANCE_ROWS], "more": len(sku_rows) > MAX_BALANCE_ROWS,
            "names": names, "f": flt, "max_rows": MAX_BALANCE_ROWS,
            "warehouse_choices": await _warehouse_choices(request)})
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


ADJUST_FIELDS = ("warehouse", "sku", "location", "qty", "note")
"""The adjustment form's fields."""
MAX_SLOW_DAYS = 3650
"""Longest "no sale in N days" the alert page takes."""


async def _adjust_page(request: Request, form: dict[str, str], errors: list[Problem],
                       status_code: int = 200) -> Response:
    return render(request, "stock_adjust.html", {
        "form": form, "errors": errors, "warehouse_choices": await _warehouse_choices(request)},
        status_code=status_code)


@requires(Permission.STOCK_ADJUST)
async def adjust_form(request: Request) -> Response:
    """The adjustment form, filled from the query (a link from a balance row)."""
    q = request.query_params
    return await _adjust_page(request, {k: text(q, k, 200) or "" for k in ADJUST_FIELDS}, [])


@requires(Permission.STOCK_ADJUST)
async def adjust_post(request: Request) -> Response:
    """Record the adjustment; every problem is shown next to its field, nothing written."""
    ctx, actor = web(request), request.state.user.username
    raw = await request.form()
    form = {k: text(raw, k, 200) or "" for k in ADJUST_FIELDS}
    qty_text = form["qty"].replace(" ", "").replace(",", "")
    qty = int(qty_text) if re.fullmatch(r"[+-]?[0-9]{1,12}", qty_text) else None
    try:
        move = await write(request, stock.adjust, warehouse_id=form["warehouse"], sku=form["sku"],
                           location=form["location"], qty_delta=qty, note=form["note"],
                           actor=actor, now=ctx.now())
    except InputError as err:
        return await _adjust_page(request, form, err.problems, 400)
    except CloudError as err:  # the warehouse refuses negative stock
        zh, _sep, en = str(err).partition(" / ")
        return await _adjust_page(request, form, [Problem("qty", zh, en or zh)], 400)
    session.flash(request, "adjust.done", sku=move.sku, location=move.location,
                  qty=f"{move.qty_delta:+d}", balance=move.balance_after)
    return RedirectResponse(f"/stock/moves?warehouse={move.warehouse_id}&sku={move.sku}",
                            status_code=303)


@requires(Permission.STOCK_VIEW)
async def alerts(request: Request) -> Response:
    """Open station alerts, SKUs below safety stock, slow movers; recently closed alerts."""
    q = request.query_params
    days_text = text(q, "days", 6)
    days = (max(1, min(int(days_text), MAX_SLOW_DAYS)) if days_text and days_text.isdigit()
            else stock.SLOW_MOVER_DAYS)
    now = web(request).now()
    open_alerts = await read(request, stock.station_alerts_list)
    closed = await read(request, stock.station_alerts_list, done=True, limit=20)
    low = await read(request, stock.below_safety)
    slow = await read(request, stock.slow_movers, days=days, now=now)
    names = await read(request, queries.sku_names,
                       [x.sku for x in low] + [x.sku for x in slow])
    return render(request, "alerts.html", {
        "open_alerts": open_alerts, "closed": closed, "low": low, "slow": slow, "days": days,
        "names": names, "now": now,
        "known_kinds": {k for k in MESSAGES if k.startswith("alert_kind.")}})


@requires(Permission.ALERTS_CLOSE)
async def alert_done(request: Request) -> Response:
    """Mark a station alert done (with an optional note); audited."""
    ctx, actor = web(request), request.state.user.username
    form = await request.form()
    done = await write(request, stock.close_alert, request.path_params["msg_id"], actor=actor,
                       note=text(form, "note", stock.NOTE_MAX) or "", now=ctx.now())
    session.flash(request, "alerts.closed" if done else "alerts.not_open")
    return RedirectResponse("/alerts", status_code=303)


routes: list[BaseRoute] = [
    Route("/stock", balances, methods=["GET"]),
    Route("/stock/moves", moves, methods=["GET"]),
    Route("/stock/adjust", adjust_form, methods=["GET"]),
    Route("/stock/adjust", adjust_post, methods=["POST"]),
    Route("/alerts", alerts, methods=["GET"]),
    Route("/alerts/{msg_id}/done", alert_done, methods=["POST"]),
]
