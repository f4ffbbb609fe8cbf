"""快递费 / 快递对账: a carrier's statement for a period (page and XLSX) with each parcel's
charge, entering its rate card, and checking the courier's bill against the statement
(``cloud.courier_charges``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy.engine import Connection
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import courier_charges as cc
from cloud import payables
from cloud.errors import InputError, Problem
from cloud.reports import profit
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render
from cloud.web.routes.payables import XLSX

MAX_BILL_BYTES = 20 * 1024 * 1024
"""Largest courier bill read (20 MB of CSV)."""
ROWS_MAX_CHARS = 20_000
"""Longest rate-card textarea kept."""


def _query(request: Request, problems: list[Problem]) -> tuple[str, date, date]:
    """Carrier and period from the query (default: ZTO, this month so far)."""
    q = request.query_params
    carrier = text(q, "carrier", 16) or cc.CARRIERS[0]
    if carrier not in cc.CARRIERS:
        problems.append(Problem("carrier", "请选择快递公司", "choose a carrier"))
        carrier = cc.CARRIERS[0]
    today = payables.local_day(web(request).now())
    start, end = today.replace(day=1), today
    if raw := text(q, "from", 10):
        start = payables.parse_day(raw, "from", problems) or start
    if raw := text(q, "to", 10):
        end = payables.parse_day(raw, "to", problems) or end
    return carrier, start, end


async def _page(request: Request, *, form: dict[str, str] | None = None,
                errors: list[Problem] | None = None, result: cc.Comparison | None = None,
                bill_errors: list[Problem] | None = None, status_code: int = 200) -> Response:
    problems: list[Problem] = []
    carrier, start, end = _query(request, problems)
    st = None
    try:
        st = await read(request, cc.statement, carrier, start, end)
    except InputError as err:
        problems.extend(err.problems)
    cards = await read(request, cc.cards, carrier)
    today = payables.local_day(web(request).now())
    return render(request, "courier.html", {
        "carrier": carrier, "carriers": cc.CARRIERS, "start": start, "end": end, "st": st,
        "cards": cards, "period_errors": problems, "errors": errors or [],
        "form": form or {"effective_from": today.isoformat()}, "result": result,
        "bill_errors": bill_errors or []},
        status_code=400 if problems else status_code)


@requires(Permission.COURIER_VIEW)
async def statement_page(request: Request) -> Response:
    """The carrier's parcels of the period with their charges, totals and province
    subtotals; its rate cards; the bill check and (for finance) the rate form."""
    return await _page(request)


@requires(Permission.COURIER_VIEW)
async def statement_export(request: Request) -> Response:
    """The statement as XLSX."""
    problems: list[Problem] = []
    carrier, start, end = _query(request, problems)
    try:
        if problems:
            raise InputError(problems)
        st = await read(request, cc.statement, carrier, start, end)
    except InputError:
        return await _page(request)
    name = f"courier-{carrier}-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Response(cc.statement_xlsx(st), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


def _save_card(conn: Connection, carrier: str, effective_from: str, rows: str, actor: str,
               now: datetime) -> int:
    """Save the card, then reprice the orders it covers in the profit report (one
    transaction)."""
    n = cc.save_card(conn, carrier, effective_from=effective_from, rows=rows, actor=actor,
                     now=now)
    profit.on_rate_card(conn, carrier, date.fromisoformat(effective_from.strip()), now=now)
    return n


@requires(Permission.COURIER_RATES_EDIT)
async def rates_save(request: Request) -> Response:
    """Save a rate card; every bad row reported next to the rows, nothing written."""
    ctx, actor = web(request), request.state.user.username
    raw = await request.form()
    form = {"carrier": text(raw, "carrier", 16) or "",
            "effective_from": text(raw, "effective_from", 10) or "",
            "rows": text(raw, "rows", ROWS_MAX_CHARS) or ""}
    try:
        n = await write(request, _save_card, form["carrier"], form["effective_from"],
                        form["rows"], actor, ctx.now())
    except InputError as err:
        return await _page(request, form=form, errors=err.problems, status_code=400)
    session.flash(request, "cour.flash_saved", carrier=form["carrier"], rows=n)
    return RedirectResponse(f"/courier?carrier={form['carrier']}", status_code=303)


@requires(Permission.COURIER_VIEW)
async def bill_check(request: Request) -> Response:
    """Compare an uploaded courier bill (CSV) with the statement of the carrier and period
    in the query; the bill is not stored, the check is audited."""
    ctx, actor = web(request), request.state.user.username
    raw = await request.form()
    upload = raw.get("bill")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, bill_errors=[Problem(
            "bill", "请选择账单文件 (.csv)", "choose the bill file (.csv)")], status_code=400)
    data = await upload.read(MAX_BILL_BYTES + 1)
    if len(data) > MAX_BILL_BYTES:
        return await _page(request, bill_errors=[Problem(
            "bill", "账单文件太大", "the bill file is too large")], status_code=400)
    problems: list[Problem] = []
    carrier, start, end = _query(request, problems)
    try:
        if problems:
            raise InputError(problems)
        lines = cc.parse_bill(data)

        def check(conn: Connection) -> cc.Comparison:
            st = cc.statement(conn, carrier, start, end)
            result = cc.compare(st, lines)
            cc.record_check(conn, st, result,
                            filename=Path(upload.filename or "").name, actor=actor,
                            now=ctx.now())
            return result

        result = await write(request, check)
    except InputError as err:
        return await _page(request, bill_errors=err.problems, status_code=400)
    return await _page(request, result=result)


routes: list[BaseRoute] = [
    Route("/courier", statement_page, methods=["GET"]),
    Route("/courier/statement.xlsx", statement_export, methods=["GET"]),
    Route("/courier/rates", rates_save, methods=["POST"]),
    Route("/courier/bill", bill_check, methods=["POST"]),
]
