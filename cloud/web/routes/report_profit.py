"""利润报表 (the profit report) as a page (tables that work without JavaScript) and as CSV
(streamed, one table), XLSX and PDF exports (``cloud.reports.profit_report``); and the
shop's platform fee rate (平台费率), set on the shops page (CSRF, audited)."""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from cloud.db.schema import warehouses
from cloud.errors import InputError, Problem
from cloud.reports import export, profit, profit_report
from cloud.reports.sales import PERIODS
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from cloud.web.routes.reports import CSV, XLSX, _choices, _pdf, _range, _stream

PROFIT_KEYS: Final = ("from", "to", "period", "shop", "platform", "warehouse", "sku",
                      "category")
"""Query parameters of the profit report (kept in the export links)."""
FEE_CHARS: Final = 8
"""Longest fee rate typed (``12.50%``)."""


def _filters(request: Request) -> tuple[profit_report.Filters, list[Problem]]:
    q, problems = request.query_params, list[Problem]()
    start, end = _range(request, problems)
    f = profit_report.Filters(start, end, text(q, "period", 10) or "day",
                              text(q, "shop", 64) or "", text(q, "platform", 16) or "",
                              text(q, "warehouse", 64) or "", text(q, "sku", 64) or "",
                              text(q, "category", 64) or "")
    try:
        profit_report.check(f)
    except InputError as err:
        problems.extend(err.problems)
    return f, problems


def _page_choices(conn: Connection) -> dict[str, Any]:
    return {**_choices(conn), "warehouses": list(conn.execute(
        sa.select(warehouses.c.id).order_by(warehouses.c.id)).scalars())}


async def _page(request: Request, extra: list[Problem]) -> Response:
    f, problems = _filters(request)
    problems += extra
    rep = None if problems else await read(request, profit_report.report, f)
    choices = await read(request, _page_choices)
    params = {k: v for k, v in request.query_params.items() if k in PROFIT_KEYS}
    zh = session.lang(request) == "zh"
    chart = {"labels": [r.label for r in rep.series],
             "revenue": [r.figures.revenue_fen / export.FEN_PER_YUAN for r in rep.series],
             "profit": [r.figures.profit_fen / export.FEN_PER_YUAN for r in rep.series],
             "names": ["收入", "利润"] if zh else ["Revenue", "Profit"]} if rep else {}
    return render(request, "report_profit.html", {
        "f": f, "rep": rep, "errors": problems, "periods": PERIODS, "params": params,
        "order_limit": profit_report.ORDER_LIMIT, "chart": chart, **choices},
        status_code=400 if problems else 200)


@requires(Permission.REPORTS_VIEW)
async def profit_page(request: Request) -> Response:
    """利润报表: totals, by period, shop, SKU and order, with margins."""
    return await _page(request, [])


def _name(kind: str, f: profit_report.Filters, ext: str) -> str:
    return f"profit-{kind}-{f.start.isoformat()}-{f.end.isoformat()}.{ext}"


@requires(Permission.REPORTS_VIEW)
async def profit_xlsx(request: Request) -> Response:
    """The profit report as one XLSX workbook (a sheet per table)."""
    f, problems = _filters(request)
    if problems:
        return await _page(request, [])
    rep = await read(request, profit_report.report, f)
    body = await run_in_threadpool(export.xlsx,
                                   export.profit_sheets(rep, session.lang(request) == "zh"))
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{_name("report", f, "xlsx")}"'})


@requires(Permission.REPORTS_VIEW)
async def profit_pdf(request: Request) -> Response:
    """The profit report as PDF (every table)."""
    f, problems = _filters(request)
    if problems:
        return await _page(request, [])
    rep = await read(request, profit_report.report, f)
    return await _pdf(request, ("利润报表", "Profit report"), f"{f.start} – {f.end}",
                      export.profit_sheets(rep, session.lang(request) == "zh"),
                      _name("report", f, "pdf"))


@requires(Permission.REPORTS_VIEW)
async def profit_csv(request: Request) -> Response:
    """One table of the profit report as CSV (``?section=series|shop|sku|order``)."""
    f, problems = _filters(request)
    section = text(request.query_params, "section", 16) or "series"
    if section not in export.PROFIT_SECTIONS:
        return await _page(request, [Problem("section", "没有这个表", "no such table")])
    if problems:
        return await _page(request, [])
    rep = await read(request, profit_report.report, f)
    sheet = export.profit_sheets(rep, session.lang(request) == "zh")[
        export.PROFIT_SECTIONS.index(section)]
    return StreamingResponse(_stream(list(export.csv_lines(sheet))), media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="{_name(section, f, "csv")}"'})


@requires(Permission.SHOPS_AUTHORIZE)
async def shop_fee(request: Request) -> Response:
    """Set a shop's platform fee rate (a percentage; empty: not set), audited; the shop's
    orders in the profit report are repriced. A bad rate is shown next to the shop."""
    from cloud.web.routes.shops import _page as shops_page

    shop_id = request.path_params["shop_id"]
    form = await request.form()
    raw = text(form, "fee", FEE_CHARS) or ""
    try:
        await write(request, profit.set_fee, shop_id, raw, actor=request.state.user.username,
                    now=web(request).now())
    except InputError as err:
        lang = session.lang(request)
        return await shops_page(request, error=f"{shop_id}: " + "; ".join(
            p.zh if lang == "zh" else p.en for p in err.problems), status_code=400)
    session.flash(request, "shops.flash_fee", shop=shop_id)
    return RedirectResponse("/shops", status_code=303)


routes: list[BaseRoute] = [
    Route("/reports/profit", profit_page, methods=["GET"]),
    Route("/reports/profit.xlsx", profit_xlsx, methods=["GET"]),
    Route("/reports/profit.csv", profit_csv, methods=["GET"]),
    Route("/reports/profit.pdf", profit_pdf, methods=["GET"]),
    Route("/shops/{shop_id}/fee", shop_fee, methods=["POST"]),
]
