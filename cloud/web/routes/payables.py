"""应付账款: what is owed to each supplier, its statement for a period (page and XLSX),
recording a payment and reversing one recorded by mistake (``cloud.payables``)."""

from __future__ import annotations

from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import payables
from cloud.errors import InputError, Problem
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""Media type of an XLSX download."""
PAYMENT_FIELDS = ("amount", "paid_on", "method", "reference", "note")
"""The payment form's fields."""


@requires(Permission.PAYABLES_VIEW)
async def balances_page(request: Request) -> Response:
    """Every supplier's balance: received, paid, still owed."""
    rows = await read(request, payables.balances)
    return render(request, "payables.html", {
        "rows": rows, "total": sum(r.balance_fen for r in rows)})


def _period(request: Request, problems: list[Problem]) -> tuple[date, date]:
    """The statement period from the query (default: this month so far)."""
    today = payables.local_day(web(request).now())
    start, end = today.replace(day=1), today
    if raw := text(request.query_params, "from", 10):
        start = payables.parse_day(raw, "from", problems) or start
    if raw := text(request.query_params, "to", 10):
        end = payables.parse_day(raw, "to", problems) or end
    return start, end


async def _statement_page(request: Request, form: dict[str, str] | None = None,
                          errors: list[Problem] | None = None,
                          status_code: int = 200) -> Response:
    supplier_id = request.path_params["supplier_id"]
    problems: list[Problem] = []
    start, end = _period(request, problems)
    st = None
    try:
        st = await read(request, payables.statement, supplier_id, start, end)
    except InputError as err:
        problems.extend(err.problems)
        if any(p.field == "supplier" for p in err.problems):
            return RedirectResponse("/payables", status_code=303)
    today = payables.local_day(web(request).now())
    return render(request, "payable.html", {
        "supplier_id": supplier_id, "st": st, "start": start, "end": end,
        "period_errors": problems, "errors": errors or [], "methods": payables.PAYMENT_METHODS,
        "form": form or {"paid_on": today.isoformat(), "method": "bank"},
        "last_month": ((today.replace(day=1) - timedelta(days=1)).replace(day=1),
                       today.replace(day=1) - timedelta(days=1))},
        status_code=status_code if not problems else 400)


@requires(Permission.PAYABLES_VIEW)
async def statement_page(request: Request) -> Response:
    """A supplier's statement for a period, with the payment form (for finance)."""
    return await _statement_page(request)


@requires(Permission.PAYABLES_VIEW)
async def statement_export(request: Request) -> Response:
    """The statement as XLSX (to send to the supplier)."""
    problems: list[Problem] = []
    start, end = _period(request, problems)
    supplier_id = request.path_params["supplier_id"]
    try:
        if problems:
            raise InputError(problems)
        st = await read(request, payables.statement, supplier_id, start, end)
    except InputError:
        return await _statement_page(request)
    name = f"statement-{supplier_id}-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Response(payables.statement_xlsx(st), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@requires(Permission.PAYMENTS_RECORD)
async def payment_create(request: Request) -> Response:
    """Record a payment; every problem next to its field, nothing written."""
    ctx, actor = web(request), request.state.user.username
    supplier_id = request.path_params["supplier_id"]
    raw = await request.form()
    form = {k: text(raw, k, 500) or "" for k in PAYMENT_FIELDS}
    try:
        payment_id = await write(request, payables.record_payment, supplier_id,
                                 amount=form["amount"], paid_on=form["paid_on"],
                                 method=form["method"], reference=form["reference"],
                                 note=form["note"], actor=actor, now=ctx.now())
    except InputError as err:
        if any(p.field == "supplier" for p in err.problems):
            return RedirectResponse("/payables", status_code=303)
        return await _statement_page(request, form, err.problems, 400)
    session.flash(request, "pay.flash_recorded", id=payment_id)
    return RedirectResponse(f"/payables/{supplier_id}", status_code=303)


@requires(Permission.PAYMENTS_RECORD)
async def payment_reverse(request: Request) -> Response:
    """Reverse a payment recorded by mistake (with a reason)."""
    ctx, actor = web(request), request.state.user.username
    supplier_id = request.path_params["supplier_id"]
    raw = await request.form()
    payment = text(raw, "payment", 20) or ""
    try:
        if not payment.isdigit():
            raise InputError([Problem("payment", "没有这笔付款", "no such payment")])
        reversal = await write(request, payables.reverse_payment, int(payment),
                               reason=text(raw, "reason", 500) or "", actor=actor, now=ctx.now())
    except InputError as err:
        return await _statement_page(request, None, err.problems, 400)
    session.flash(request, "pay.flash_reversed", id=payment, reversal=reversal)
    return RedirectResponse(f"/payables/{supplier_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/payables", balances_page, methods=["GET"]),
    Route("/payables/{supplier_id}", statement_page, methods=["GET"]),
    Route("/payables/{supplier_id}/statement.xlsx", statement_export, methods=["GET"]),
    Route("/payables/{supplier_id}/payments", payment_create, methods=["POST"]),
    Route("/payables/{supplier_id}/reverse", payment_reverse, methods=["POST"]),
]
