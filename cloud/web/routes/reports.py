"""报表: the sales report, the daily summary (每日概况), the stock report and the fulfilment
report (发货绩效), as pages (tables that work without
JavaScript, an ECharts chart when it is installed) and as CSV (streamed) and XLSX exports
(``cloud.reports``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from cloud.config import DISPLAY_TZ
from cloud.db.schema import shops, skus, stations, warehouses
from cloud.db.schema_purchasing import suppliers
from cloud.db.schema_reports import sales_daily
from cloud.errors import InputError, Problem
from cloud.payables import local_day, parse_day
from cloud.reports import daily, export, fulfilment, pdf, purchasing, sales, stock_value
from cloud.web import session
from cloud.web.context import read, web
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""Media type of an XLSX download."""
CSV: Final = "text/csv; charset=utf-8"
"""Media type of a CSV download."""
PDF: Final = "application/pdf"
"""Media type of a PDF download."""
DEFAULT_DAYS: Final = 30
"""The sales report covers the last 30 days (to today) unless asked otherwise."""
CSV_CHUNK: Final = 200
"""CSV lines sent per chunk of a streamed download."""
FILTER_KEYS: Final = ("from", "to", "period", "shop", "platform", "sku", "category",
                      "slow_days", "province")
"""Query parameters of the sales report (kept in the export links)."""


def _range(request: Request, problems: list[Problem]) -> tuple[date, date]:
    """``from``/``to`` of the query (China days), the last :data:`DEFAULT_DAYS` days to
    today unless given; a malformed day is a problem next to its field."""
    q, today = request.query_params, local_day(web(request).now())
    start, end = today - timedelta(days=DEFAULT_DAYS - 1), today
    if raw := text(q, "from", 10):
        start = parse_day(raw, "from", problems) or start
    if raw := text(q, "to", 10):
        end = parse_day(raw, "to", problems) or end
    return start, end


def _filters(request: Request, problems: list[Problem]) -> sales.Filters:
    q = request.query_params
    start, end = _range(request, problems)
    slow = text(q, "slow_days", 4) or str(sales.SLOW_DAYS)
    if not slow.isdigit():
        problems.append(Problem("slow_days", "天数应为整数", "a whole number of days"))
        slow = str(sales.SLOW_DAYS)
    return sales.Filters(start, end, text(q, "period", 10) or "day", text(q, "shop", 64) or "",
                         text(q, "platform", 16) or "", text(q, "sku", 64) or "",
                         text(q, "category", 64) or "", int(slow),
                         text(q, "province", 32) or "")


def _choices(conn: Connection) -> dict[str, Any]:
    return {
        "shops": conn.execute(sa.select(shops.c.id, shops.c.name, shops.c.platform)
                              .order_by(shops.c.id)).all(),
        "categories": list(conn.execute(sa.select(skus.c.category).where(
            skus.c.category.is_not(None), skus.c.category != "").distinct()
            .order_by(skus.c.category)).scalars()),
        "provinces": list(conn.execute(sa.select(sales_daily.c.province).where(
            sales_daily.c.province != "").distinct().order_by(sales_daily.c.province))
            .scalars()),
    }


def _chart(rep: sales.SalesReport) -> dict[str, Any]:
    return {"labels": [r.label for r in rep.series],
            "gmv": [r.figures.gmv_fen / export.FEN_PER_YUAN for r in rep.series],
            "orders": [r.figures.orders for r in rep.series]}


async def _checked(request: Request) -> tuple[sales.Filters, list[Problem]]:
    problems: list[Problem] = []
    f = _filters(request, problems)
    try:
        sales.check(f)
    except InputError as err:
        problems.extend(err.problems)
    return f, problems


async def _sales_page(request: Request, extra: list[Problem]) -> Response:
    f, problems = await _checked(request)
    problems += extra
    rep = None if problems else await read(request, sales.report, f)
    choices = await read(request, _choices)
    params = {k: v for k, v in request.query_params.items() if k in FILTER_KEYS}
    return render(request, "report_sales.html", {
        "f": f, "rep": rep, "errors": problems, "periods": sales.PERIODS,
        "chart": _chart(rep) if rep else {}, "params": params, "top": sales.TOP_SKUS,
        "top_cities": sales.TOP_CITIES,
        **choices}, status_code=400 if problems else 200)


@requires(Permission.REPORTS_VIEW)
async def sales_page(request: Request) -> Response:
    """The sales report with its filters, chart and tables."""
    return await _sales_page(request, [])


def _filename(kind: str, f: sales.Filters, ext: str) -> str:
    return f"sales-{kind}-{f.start.isoformat()}-{f.end.isoformat()}.{ext}"


@requires(Permission.REPORTS_VIEW)
async def sales_xlsx(request: Request) -> Response:
    """The sales report as one XLSX workbook (a sheet per table)."""
    f, problems = await _checked(request)
    if problems:
        return await _sales_page(request, [])
    rep = await read(request, sales.report, f)
    body = await run_in_threadpool(export.xlsx, list(export.sales_sheets(rep).values()))
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{_filename("report", f, "xlsx")}"'})


async def _stream(lines: list[str]) -> AsyncIterator[bytes]:
    for n in range(0, len(lines), CSV_CHUNK):
        yield "".join(lines[n:n + CSV_CHUNK]).encode()


async def _pdf(request: Request, title: tuple[str, str], subtitle: str,
               sheets: list[export.Sheet], filename: str) -> Response:
    """A report's sheets as a PDF download (rendered off the event loop)."""
    lang = session.lang(request)
    when = web(request).now().astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M")
    line = f"{subtitle} · {'生成于' if lang == 'zh' else 'made'} {when}"
    body = await run_in_threadpool(pdf.pdf, title[0] if lang == "zh" else title[1], line,
                                   sheets, lang)
    return Response(body, media_type=PDF,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@requires(Permission.REPORTS_VIEW)
async def sales_pdf(request: Request) -> Response:
    """The sales report as PDF (every table)."""
    f, problems = await _checked(request)
    if problems:
        return await _sales_page(request, [])
    rep = await read(request, sales.report, f)
    return await _pdf(request, ("销售报表", "Sales report"), f"{f.start} – {f.end}",
                      list(export.sales_sheets(rep).values()), _filename("report", f, "pdf"))


@requires(Permission.REPORTS_VIEW)
async def sales_csv(request: Request) -> Response:
    """One table of the sales report as CSV (``?section=series|shop|platform|sku|province|
    city|where|there|slow``), streamed."""
    f, problems = await _checked(request)
    section = text(request.query_params, "section", 16) or "series"
    if section not in export.SECTIONS:
        return await _sales_page(request, [Problem("section", "没有这个表", "no such table")])
    if problems:
        return await _sales_page(request, [])
    rep = await read(request, sales.report, f)
    sheet = export.sales_sheets(rep).get(section)
    if sheet is None:  # e.g. the cities with a SKU filter
        return await _sales_page(request, [Problem("section", "当前筛选下没有这个表",
                                                   "no such table with these filters")])
    lines = list(export.csv_lines(sheet))
    return StreamingResponse(_stream(lines), media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="{_filename(section, f, "csv")}"'})


def _day(request: Request, problems: list[Problem]) -> date:
    yesterday = local_day(web(request).now()) - timedelta(days=1)
    if raw := text(request.query_params, "day", 10):
        return parse_day(raw, "day", problems) or yesterday
    return yesterday


async def _daily_page(request: Request) -> Response:
    problems: list[Problem] = []
    day = _day(request, problems)
    d = await read(request, daily.kept_or_now, day)
    return render(request, "report_daily.html", {
        "d": d, "errors": problems, "prev": day - timedelta(days=1),
        "next": day + timedelta(days=1)}, status_code=400 if problems else 200)


@requires(Permission.REPORTS_VIEW)
async def daily_page(request: Request) -> Response:
    """每日概况 of a day (yesterday unless ``?day=``)."""
    return await _daily_page(request)


@requires(Permission.REPORTS_VIEW)
async def daily_xlsx(request: Request) -> Response:
    """The daily summary as XLSX."""
    problems: list[Problem] = []
    day = _day(request, problems)
    if problems:
        return await _daily_page(request)
    d = await read(request, daily.kept_or_now, day)
    body = await run_in_threadpool(export.xlsx, export.daily_sheets(d))
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="daily-{day.isoformat()}.xlsx"'})


@requires(Permission.REPORTS_VIEW)
async def daily_pdf(request: Request) -> Response:
    """The daily summary as PDF."""
    problems: list[Problem] = []
    day = _day(request, problems)
    if problems:
        return await _daily_page(request)
    d = await read(request, daily.kept_or_now, day)
    return await _pdf(request, ("每日概况", "Daily summary"), day.isoformat(),
                      export.daily_sheets(d), f"daily-{day.isoformat()}.pdf")


@requires(Permission.REPORTS_VIEW)
async def daily_csv(request: Request) -> Response:
    """The daily summary's figures as CSV."""
    problems: list[Problem] = []
    day = _day(request, problems)
    if problems:
        return await _daily_page(request)
    d = await read(request, daily.kept_or_now, day)
    lines: list[str] = []
    for n, sheet in enumerate(export.daily_sheets(d)):
        sheet_lines = list(export.csv_lines(sheet))
        lines += sheet_lines if n == 0 else ["\r\n", *(ln.lstrip("\ufeff")
                                                        for ln in sheet_lines)]
    return StreamingResponse(_stream(lines), media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="daily-{day.isoformat()}.csv"'})


STOCK_KEYS: Final = ("days", "warehouse", "sku", "category", "below")
"""Query parameters of the stock report (kept in the export links)."""


def _stock_args(request: Request, problems: list[Problem]) -> dict[str, Any]:
    q = request.query_params
    raw = text(q, "days", 4) or str(stock_value.DEFAULT_DAYS)
    days = int(raw) if raw.isdigit() else 0
    if not 1 <= days <= stock_value.MAX_DAYS:
        problems.append(Problem("days", f"天数须为 1–{stock_value.MAX_DAYS}",
                                f"days must be 1–{stock_value.MAX_DAYS}"))
        days = stock_value.DEFAULT_DAYS
    return {"days": days, "warehouse_id": text(q, "warehouse", 64) or None,
            "sku": text(q, "sku", 64) or "", "category": text(q, "category", 64) or "",
            "below_only": text(q, "below", 2) == "1"}


@requires(Permission.REPORTS_VIEW)
async def stock_page(request: Request) -> Response:
    """库存报表: value on hand, shipped in the window, days of cover, turnover, ageing."""
    problems: list[Problem] = []
    args = _stock_args(request, problems)
    rows = await read(request, stock_value.report, now=web(request).now(), **args)
    whs = await read(request, lambda conn: [w for (w,) in conn.execute(
        sa.select(warehouses.c.id).order_by(warehouses.c.id))])
    choices = await read(request, _choices)
    params = {k: v for k, v in request.query_params.items() if k in STOCK_KEYS}
    return render(request, "report_stock.html", {
        "rows": rows, "days": args["days"], "warehouse": args["warehouse_id"] or "",
        "sku": args["sku"], "category": args["category"], "below": args["below_only"],
        "categories": choices["categories"], "params": params, "warehouses": whs,
        "total_fen": sum(r.value_fen for r in rows), "errors": problems},
        status_code=400 if problems else 200)


async def _stock_sheet(request: Request) -> tuple[export.Sheet, int] | None:
    problems: list[Problem] = []
    args = _stock_args(request, problems)
    if problems:
        return None
    rows = await read(request, stock_value.report, now=web(request).now(), **args)
    return export.stock_sheet(rows, args["days"], session.lang(request) == "zh"), args["days"]


@requires(Permission.REPORTS_VIEW)
async def stock_xlsx(request: Request) -> Response:
    """The stock report as XLSX."""
    got = await _stock_sheet(request)
    if got is None:
        return await stock_page(request)
    body = await run_in_threadpool(export.xlsx, [got[0]])
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="stock-{got[1]}d.xlsx"'})


@requires(Permission.REPORTS_VIEW)
async def stock_pdf(request: Request) -> Response:
    """The stock report as PDF."""
    got = await _stock_sheet(request)
    if got is None:
        return await stock_page(request)
    return await _pdf(request, ("库存报表", "Stock report"),
                      f"{got[1]} 天 / days", [got[0]], f"stock-{got[1]}d.pdf")


@requires(Permission.REPORTS_VIEW)
async def stock_csv(request: Request) -> Response:
    """The stock report as CSV, streamed."""
    got = await _stock_sheet(request)
    if got is None:
        return await stock_page(request)
    return StreamingResponse(_stream(list(export.csv_lines(got[0]))), media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="stock-{got[1]}d.csv"'})


FULFIL_KEYS: Final = ("from", "to", "period", "station", "carrier")
"""Query parameters of the fulfilment report (kept in the export links)."""
FULFIL_SECTIONS: Final = ("packers", "stations", "bands", "series")
"""Tables of the fulfilment report a CSV download may ask for."""


def _fulfil_filters(request: Request) -> tuple[fulfilment.Filters, list[Problem]]:
    q, problems = request.query_params, list[Problem]()
    start, end = _range(request, problems)
    f = fulfilment.Filters(start, end, text(q, "station", 64) or "", text(q, "carrier", 64) or "",
                           text(q, "period", 10) or "day")
    try:
        fulfilment.check(f)
    except InputError as err:
        problems.extend(err.problems)
    return f, problems


async def _fulfil_page(request: Request, extra: list[Problem]) -> Response:
    f, problems = _fulfil_filters(request)
    problems += extra
    rep = None if problems else await read(request, fulfilment.report, f)
    station_ids = await read(request, lambda conn: [s for (s,) in conn.execute(
        sa.select(stations.c.id).order_by(stations.c.id))])
    params = {k: v for k, v in request.query_params.items() if k in FULFIL_KEYS}
    return render(request, "report_fulfilment.html", {
        "f": f, "rep": rep, "errors": problems, "periods": sales.PERIODS,
        "stations": station_ids, "params": params,
        "chart": {"labels": [r.label for r in rep.series],
                  "parcels": [r.parcels for r in rep.series]} if rep else {}},
        status_code=400 if problems else 200)


@requires(Permission.REPORTS_VIEW)
async def fulfilment_page(request: Request) -> Response:
    """发货绩效: parcels per packer and station, per hour, scans, weights, reprints, late."""
    return await _fulfil_page(request, [])


def _fulfil_name(kind: str, f: fulfilment.Filters, ext: str) -> str:
    return f"fulfilment-{kind}-{f.start.isoformat()}-{f.end.isoformat()}.{ext}"


@requires(Permission.REPORTS_VIEW)
async def fulfilment_xlsx(request: Request) -> Response:
    """The fulfilment report as one XLSX workbook (a sheet per table)."""
    f, problems = _fulfil_filters(request)
    if problems:
        return await _fulfil_page(request, [])
    rep = await read(request, fulfilment.report, f)
    sheets = export.fulfilment_sheets(rep, session.lang(request) == "zh")
    body = await run_in_threadpool(export.xlsx, sheets)
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{_fulfil_name("report", f, "xlsx")}"'})


@requires(Permission.REPORTS_VIEW)
async def fulfilment_pdf(request: Request) -> Response:
    """The fulfilment report as PDF (every table)."""
    f, problems = _fulfil_filters(request)
    if problems:
        return await _fulfil_page(request, [])
    rep = await read(request, fulfilment.report, f)
    return await _pdf(request, ("发货绩效", "Fulfilment and packers"), f"{f.start} – {f.end}",
                      export.fulfilment_sheets(rep, session.lang(request) == "zh"),
                      _fulfil_name("report", f, "pdf"))


@requires(Permission.REPORTS_VIEW)
async def fulfilment_csv(request: Request) -> Response:
    """One table of the fulfilment report as CSV (``?section=packers|stations|bands|series``)."""
    f, problems = _fulfil_filters(request)
    section = text(request.query_params, "section", 16) or "packers"
    if section not in FULFIL_SECTIONS:
        return await _fulfil_page(request, [Problem("section", "没有这个表", "no such table")])
    if problems:
        return await _fulfil_page(request, [])
    rep = await read(request, fulfilment.report, f)
    sheet = export.fulfilment_sheets(rep, session.lang(request) == "zh")[
        FULFIL_SECTIONS.index(section)]
    return StreamingResponse(_stream(list(export.csv_lines(sheet))), media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="{_fulfil_name(section, f, "csv")}"'})


def _po_filters(request: Request) -> tuple[purchasing.Filters, list[Problem]]:
    q, problems = request.query_params, list[Problem]()
    start, end = _range(request, problems)
    f = purchasing.Filters(start, end, text(q, "supplier", 32) or "")
    try:
        purchasing.check(f)
    except InputError as err:
        problems.extend(err.problems)
    return f, problems


@requires(Permission.REPORTS_VIEW)
async def purchasing_page(request: Request) -> Response:
    """采购报表: ordered, received, on order, lead time, on-time and fill rate per supplier."""
    f, problems = _po_filters(request)
    rep = None if problems else await read(request, purchasing.report, f)
    choices = await read(request, lambda conn: conn.execute(
        sa.select(suppliers.c.id, suppliers.c.name).order_by(suppliers.c.name)).all())
    params = {k: v for k, v in request.query_params.items() if k in ("from", "to", "supplier")}
    return render(request, "report_purchasing.html", {
        "f": f, "rep": rep, "total": rep.total() if rep else None, "errors": problems,
        "suppliers": choices, "params": params}, status_code=400 if problems else 200)


async def _po_sheet(request: Request) -> tuple[export.Sheet, purchasing.Filters] | None:
    f, problems = _po_filters(request)
    if problems:
        return None
    rep = await read(request, purchasing.report, f)
    return export.purchasing_sheet(rep, session.lang(request) == "zh"), f


@requires(Permission.REPORTS_VIEW)
async def purchasing_xlsx(request: Request) -> Response:
    """The purchasing report as XLSX."""
    got = await _po_sheet(request)
    if got is None:
        return await purchasing_page(request)
    body = await run_in_threadpool(export.xlsx, [got[0]])
    name = f"purchasing-{got[1].start.isoformat()}-{got[1].end.isoformat()}.xlsx"
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@requires(Permission.REPORTS_VIEW)
async def purchasing_pdf(request: Request) -> Response:
    """The purchasing report as PDF."""
    got = await _po_sheet(request)
    if got is None:
        return await purchasing_page(request)
    f = got[1]
    return await _pdf(request, ("采购报表", "Purchasing report"), f"{f.start} – {f.end}", [got[0]],
                      f"purchasing-{f.start.isoformat()}-{f.end.isoformat()}.pdf")


@requires(Permission.REPORTS_VIEW)
async def purchasing_csv(request: Request) -> Response:
    """The purchasing report as CSV, streamed."""
    got = await _po_sheet(request)
    if got is None:
        return await purchasing_page(request)
    name = f"purchasing-{got[1].start.isoformat()}-{got[1].end.isoformat()}.csv"
    return StreamingResponse(_stream(list(export.csv_lines(got[0]))), media_type=CSV,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


routes: list[BaseRoute] = [
    Route("/reports/purchasing", purchasing_page, methods=["GET"]),
    Route("/reports/purchasing.xlsx", purchasing_xlsx, methods=["GET"]),
    Route("/reports/purchasing.csv", purchasing_csv, methods=["GET"]),
    Route("/reports/purchasing.pdf", purchasing_pdf, methods=["GET"]),
    Route("/reports/fulfilment.pdf", fulfilment_pdf, methods=["GET"]),
    Route("/reports/stock.pdf", stock_pdf, methods=["GET"]),
    Route("/reports/sales.pdf", sales_pdf, methods=["GET"]),
    Route("/reports/daily.pdf", daily_pdf, methods=["GET"]),
    Route("/reports/fulfilment", fulfilment_page, methods=["GET"]),
    Route("/reports/fulfilment.xlsx", fulfilment_xlsx, methods=["GET"]),
    Route("/reports/fulfilment.csv", fulfilment_csv, methods=["GET"]),
    Route("/reports/stock", stock_page, methods=["GET"]),
    Route("/reports/stock.xlsx", stock_xlsx, methods=["GET"]),
    Route("/reports/stock.csv", stock_csv, methods=["GET"]),
    Route("/reports/sales", sales_page, methods=["GET"]),
    Route("/reports/sales.xlsx", sales_xlsx, methods=["GET"]),
    Route("/reports/sales.csv", sales_csv, methods=["GET"]),
    Route("/reports/daily", daily_page, methods=["GET"]),
    Route("/reports/daily.xlsx", daily_xlsx, methods=["GET"]),
    Route("/reports/daily.csv", daily_csv, methods=["GET"]),
]
