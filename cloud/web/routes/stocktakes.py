"""盘点: stocktakes planned here and sent to a warehouse's stations, and the stocktakes the
stations approved with their variances (warehouse leads and up).

The figures are what the station sent with the approval (``cloud.stocktakes``); the
adjustments themselves are COUNT_ADJUST moves in the ledger (the stock moves page). A
stocktake's lines download as CSV or XLSX (the variance report)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import stocktakes
from cloud.errors import InputError, Problem
from cloud.reports import export
from cloud.web import queries, session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from cloud.web.routes.reports import CSV, XLSX

PLAN_FIELDS = ("warehouse", "scope", "scope_value", "note")
"""The plan form's fields."""


async def _list_page(request: Request, form: dict[str, str] | None = None,
                     errors: list[Problem] | None = None, status_code: int = 200) -> Response:
    return render(request, "stocktakes.html", {
        "rows": await read(request, stocktakes.summaries),
        "plans": await read(request, stocktakes.plans),
        "warehouses": await read(request, queries.warehouse_ids),
        "scopes": stocktakes.SCOPES,
        "form": form or {"warehouse": "", "scope": "full", "scope_value": "", "note": ""},
        "errors": errors or []}, status_code=status_code)


@requires(Permission.STOCKTAKES_VIEW)
async def stocktake_list(request: Request) -> Response:
    """Planned stocktakes (the form to plan one), then approved ones with their variances."""
    return await _list_page(request)


@requires(Permission.STOCK_ADJUST)
async def plan_create(request: Request) -> Response:
    """Plan a stocktake for a warehouse's stations; problems next to their fields."""
    raw = await request.form()
    form = {k: text(raw, k, 200) or "" for k in PLAN_FIELDS}
    try:
        plan_id = await write(request, stocktakes.plan, warehouse_id=form["warehouse"],
                              scope=form["scope"], scope_value=form["scope_value"],
                              note=form["note"], actor=request.state.user.username,
                              now=web(request).now())
    except InputError as err:
        return await _list_page(request, form, err.problems, 400)
    session.flash(request, "st.planned", id=plan_id)
    return RedirectResponse("/stocktakes", status_code=303)


@requires(Permission.STOCK_ADJUST)
async def plan_cancel(request: Request) -> Response:
    """Cancel an open plan (the stations are told)."""
    try:
        await write(request, stocktakes.cancel_plan, request.path_params["plan_id"],
                    actor=request.state.user.username, now=web(request).now())
    except InputError as err:
        return await _list_page(request, None, err.problems, 400)
    session.flash(request, "st.plan_cancelled", id=request.path_params["plan_id"])
    return RedirectResponse("/stocktakes", status_code=303)


@requires(Permission.STOCKTAKES_VIEW)
async def stocktake_page(request: Request) -> Response:
    """One stocktake's lines: books at count time, counted, variance, recounts."""
    found = await read(request, stocktakes.detail, request.path_params["stocktake_id"])
    if found is None:
        return RedirectResponse("/stocktakes", status_code=303)
    summary, lines = found
    return render(request, "stocktake.html", {"s": summary, "lines": lines})


def variance_sheet(summary: stocktakes.Summary, lines: list[stocktakes.Line],
                   zh: bool) -> export.Sheet:
    """A stocktake's lines as one export table, the final lines' variance totalled."""
    sheet = export.Sheet(summary.stocktake_id[:31], [
        ("库位" if zh else "Location", "text"), ("SKU", "text"),
        ("轮次" if zh else "Round", "int"), ("账面" if zh else "Book", "int"),
        ("实盘" if zh else "Counted", "int"), ("差异" if zh else "Variance", "int"),
        ("有效" if zh else "Stands", "text"), ("调整单" if zh else "Move", "text")])
    for ln in lines:
        sheet.rows.append([ln.location, ln.sku, ln.round, ln.expected, ln.counted, ln.variance,
                           ("是" if zh else "yes") if ln.final else ("否" if zh else "no"),
                           ln.move_id or ""])
    final = [ln for ln in lines if ln.final]
    sheet.totals = ["合计" if zh else "Total", "", None, sum(ln.expected for ln in final),
                    sum(ln.counted for ln in final), sum(ln.variance for ln in final), "", ""]
    return sheet


async def _sheet(request: Request) -> export.Sheet | None:
    found = await read(request, stocktakes.detail, request.path_params["stocktake_id"])
    if found is None:
        return None
    return variance_sheet(*found, session.lang(request) == "zh")


@requires(Permission.STOCKTAKES_VIEW)
async def stocktake_xlsx(request: Request) -> Response:
    """A stocktake's variance lines as XLSX."""
    sheet = await _sheet(request)
    if sheet is None:
        return RedirectResponse("/stocktakes", status_code=303)
    body = await run_in_threadpool(export.xlsx, [sheet])
    name = f"stocktake-{request.path_params['stocktake_id']}.xlsx"
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@requires(Permission.STOCKTAKES_VIEW)
async def stocktake_csv(request: Request) -> Response:
    """A stocktake's variance lines as CSV."""
    sheet = await _sheet(request)
    if sheet is None:
        return RedirectResponse("/stocktakes", status_code=303)
    name = f"stocktake-{request.path_params['stocktake_id']}.csv"
    return Response("".join(export.csv_lines(sheet)).encode(), media_type=CSV,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


routes: list[BaseRoute] = [
    Route("/stocktakes", stocktake_list, methods=["GET"]),
    Route("/stocktakes/plans", plan_create, methods=["POST"]),
    Route("/stocktakes/plans/{plan_id}/cancel", plan_cancel, methods=["POST"]),
    Route("/stocktakes/{stocktake_id}.xlsx", stocktake_xlsx, methods=["GET"]),
    Route("/stocktakes/{stocktake_id}.csv", stocktake_csv, methods=["GET"]),
    Route("/stocktakes/{stocktake_id}", stocktake_page, methods=["GET"]),
]
