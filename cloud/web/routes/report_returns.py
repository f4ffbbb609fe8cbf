"""退货报表: returns by SKU and by the buyers' reasons (``cloud.reports.returns``), as a page
and as CSV (one table), XLSX (both) and PDF (both)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from cloud.errors import InputError, Problem
from cloud.reports import export
from cloud.reports import returns as returns_report
from cloud.web import session
from cloud.web.context import read
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from cloud.web.routes.reports import CSV, XLSX, _pdf, _range, _stream

SECTIONS = ("skus", "reasons")
"""The CSV tables, in sheet order."""


def _filters(request: Request) -> tuple[returns_report.Filters, list[Problem]]:
    problems: list[Problem] = []
    start, end = _range(request, problems)
    f = returns_report.Filters(start, end, text(request.query_params, "sku", 64) or "")
    try:
        returns_report.check(f)
    except InputError as err:
        problems.extend(err.problems)
    return f, problems


def _name(f: returns_report.Filters, ext: str, part: str = "") -> str:
    return f"returns{part}-{f.start.isoformat()}-{f.end.isoformat()}.{ext}"


@requires(Permission.REPORTS_VIEW)
async def returns_page(request: Request) -> Response:
    """退货报表: sold, returned (restocked, damaged), not ours and the rate per SKU; by reason."""
    f, problems = _filters(request)
    rep = None if problems else await read(request, returns_report.report, f)
    params = {k: v for k, v in request.query_params.items() if k in ("from", "to", "sku")}
    return render(request, "report_returns.html", {
        "f": f, "rep": rep, "total": rep.total() if rep else None, "errors": problems,
        "params": params}, status_code=400 if problems else 200)


async def _sheets(request: Request) -> tuple[list[export.Sheet], returns_report.Filters] | None:
    f, problems = _filters(request)
    if problems:
        return None
    rep = await read(request, returns_report.report, f)
    return returns_report.sheets(rep, session.lang(request) == "zh"), f


@requires(Permission.REPORTS_VIEW)
async def returns_xlsx(request: Request) -> Response:
    """The returns report as XLSX (both tables)."""
    got = await _sheets(request)
    if got is None:
        return await returns_page(request)
    body = await run_in_threadpool(export.xlsx, got[0])
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{_name(got[1], "xlsx")}"'})


@requires(Permission.REPORTS_VIEW)
async def returns_csv(request: Request) -> Response:
    """One table of the returns report as CSV (``?section=skus|reasons``), streamed."""
    section = text(request.query_params, "section", 16) or "skus"
    got = await _sheets(request)
    if got is None or section not in SECTIONS:
        return await returns_page(request)
    sheet = got[0][SECTIONS.index(section)]
    name = _name(got[1], "csv", f"-{section}")
    return StreamingResponse(_stream(list(export.csv_lines(sheet))), media_type=CSV,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@requires(Permission.REPORTS_VIEW)
async def returns_pdf(request: Request) -> Response:
    """The returns report as PDF (both tables)."""
    got = await _sheets(request)
    if got is None:
        return await returns_page(request)
    f = got[1]
    return await _pdf(request, ("退货报表", "Returns report"), f"{f.start} – {f.end}", got[0],
                      _name(f, "pdf"))


routes: list[BaseRoute] = [
    Route("/reports/returns", returns_page, methods=["GET"]),
    Route("/reports/returns.xlsx", returns_xlsx, methods=["GET"]),
    Route("/reports/returns.csv", returns_csv, methods=["GET"]),
    Route("/reports/returns.pdf", returns_pdf, methods=["GET"]),
]
