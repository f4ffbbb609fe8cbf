"""采购: suppliers and purchase orders — write a draft, approve it (manager), send it to the
warehouse's stations, cancel with a reason (``cloud.purchasing``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import purchasing
from cloud.db.schema_purchasing import PO_STATUSES
from cloud.errors import InputError, Problem
from cloud.reports import replenish
from cloud.web import queries, session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

PO_FIELDS = ("supplier", "warehouse", "expected_on", "lines", "note")
"""The new purchase order form's fields."""
SUPPLIER_FIELDS = ("id", "name", "contact", "phone", "lead_days")
"""The new supplier form's fields."""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""Media type of an XLSX download."""
LINES_MAX_CHARS = 100_000
"""Longest lines text read from the form (1,000 lines of ~100 characters)."""


@requires(Permission.PURCHASING_VIEW)
async def po_list(request: Request) -> Response:
    """Purchase orders, newest first, by status."""
    status = text(request.query_params, "status", 16)
    status = status if status in PO_STATUSES else None
    rows = await read(request, purchasing.list_pos, status=status)
    return render(request, "purchasing.html", {"rows": rows, "status": status or "",
                                               "statuses": PO_STATUSES})


async def _new_page(request: Request, form: dict[str, str], errors: list[Problem],
                    status_code: int = 200) -> Response:
    return render(request, "po_new.html", {
        "form": form, "errors": errors,
        "suppliers": await read(request, purchasing.list_suppliers, active_only=True),
        "warehouses": await read(request, queries.warehouse_ids)}, status_code=status_code)


@requires(Permission.PURCHASING_EDIT)
async def po_new(request: Request) -> Response:
    """The new purchase order form."""
    return await _new_page(request, {k: "" for k in PO_FIELDS}, [])


@requires(Permission.PURCHASING_EDIT)
async def po_create(request: Request) -> Response:
    """Write a draft; every problem next to its field, nothing written."""
    ctx, actor = web(request), request.state.user.username
    raw = await request.form()
    form = {k: text(raw, k, LINES_MAX_CHARS if k == "lines" else 1000) or "" for k in PO_FIELDS}
    try:
        po_id = await write(request, purchasing.create_po, supplier_id=form["supplier"],
                            warehouse_id=form["warehouse"], lines=form["lines"],
                            expected_on=form["expected_on"], note=form["note"], actor=actor,
                            now=ctx.now())
    except InputError as err:
        return await _new_page(request, form, err.problems, 400)
    session.flash(request, "po.flash_created", id=po_id)
    return RedirectResponse(f"/purchasing/{po_id}", status_code=303)


async def _po_page(request: Request, po_id: str, errors: list[Problem] | None = None,
                   status_code: int = 200) -> Response:
    po = await read(request, purchasing.get, po_id)
    if po is None:
        return RedirectResponse("/purchasing", status_code=303)
    names = await read(request, queries.sku_names, [ln.sku for ln in po.lines])
    return render(request, "po.html", {"po": po, "names": names, "errors": errors or [],
                                       "cancellable": po.status in purchasing.CANCELLABLE},
                  status_code=status_code)


@requires(Permission.PURCHASING_VIEW)
async def po_page(request: Request) -> Response:
    """One purchase order with its lines, total and what can be done next."""
    return await _po_page(request, request.path_params["po_id"])


@requires(Permission.PURCHASING_VIEW)
async def po_export(request: Request) -> Response:
    """The purchase order as XLSX (to send to the supplier)."""
    po = await read(request, purchasing.get, request.path_params["po_id"])
    if po is None:
        return RedirectResponse("/purchasing", status_code=303)
    names = await read(request, queries.sku_names, [ln.sku for ln in po.lines])
    return Response(purchasing.po_xlsx(po, names), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{po.id}.xlsx"'})


async def _act(request: Request, step: Callable[..., object], flash: str,
               **kwargs: object) -> Response:
    ctx, actor = web(request), request.state.user.username
    po_id = request.path_params["po_id"]
    try:
        await write(request, step, po_id, actor=actor, now=ctx.now(), **kwargs)
    except InputError as err:
        return await _po_page(request, po_id, err.problems, 400)
    session.flash(request, flash, id=po_id)
    return RedirectResponse(f"/purchasing/{po_id}", status_code=303)


@requires(Permission.PURCHASING_APPROVE)
async def po_approve(request: Request) -> Response:
    """Approve a draft."""
    return await _act(request, purchasing.approve, "po.flash_approved")


@requires(Permission.PURCHASING_EDIT)
async def po_send(request: Request) -> Response:
    """Send an approved order to the warehouse's stations."""
    return await _act(request, purchasing.send, "po.flash_sent")


@requires(Permission.PURCHASING_EDIT)
async def po_cancel(request: Request) -> Response:
    """Cancel with a reason."""
    form = await request.form()
    return await _act(request, purchasing.cancel, "po.flash_cancelled",
                      reason=text(form, "reason", 1000) or "")


async def _suppliers_page(request: Request, form: dict[str, str] | None = None,
                          errors: list[Problem] | None = None,
                          status_code: int = 200) -> Response:
    rows = await read(request, purchasing.list_suppliers)
    return render(request, "suppliers.html", {"rows": rows, "form": form or {},
                                              "errors": errors or []}, status_code=status_code)


@requires(Permission.PURCHASING_VIEW)
async def supplier_list(request: Request) -> Response:
    """Suppliers; the form to add one (for those who may)."""
    return await _suppliers_page(request)


@requires(Permission.PURCHASING_EDIT)
async def supplier_create(request: Request) -> Response:
    """Add a supplier."""
    ctx, actor = web(request), request.state.user.username
    raw = await request.form()
    form = {k: text(raw, k, 200) or "" for k in SUPPLIER_FIELDS}
    try:
        await write(request, purchasing.create_supplier, supplier_id=form["id"],
                    name=form["name"], contact=form["contact"], phone=form["phone"],
                    lead_days=form["lead_days"], actor=actor, now=ctx.now())
    except InputError as err:
        return await _suppliers_page(request, form, err.problems, 400)
    session.flash(request, "supplier.created", name=form["name"])
    return RedirectResponse("/suppliers", status_code=303)


PICK_MAX: Final = 1000
"""Rows one replenishment form may draft at once."""


async def _replenish_page(request: Request, errors: list[Problem], status_code: int = 200,
                          picked: dict[str, str] | None = None) -> Response:
    warehouse = text(request.query_params, "warehouse", 64) or None
    rows = await read(request, replenish.suggestions, now=web(request).now(),
                      warehouse_id=warehouse)
    return render(request, "replenish.html", {
        "rows": rows, "errors": errors, "warehouse": warehouse or "",
        "warehouses": await read(request, queries.warehouse_ids), "picked": picked or {},
        "window": replenish.WINDOW_DAYS, "recent": replenish.RECENT_DAYS,
        "review": replenish.REVIEW_DAYS, "default_lead": replenish.DEFAULT_LEAD_DAYS},
        status_code=status_code)


@requires(Permission.PURCHASING_VIEW)
async def replenish_page(request: Request) -> Response:
    """补货建议: what to buy per warehouse and SKU, and why."""
    return await _replenish_page(request, [])


@requires(Permission.PURCHASING_EDIT)
async def replenish_draft(request: Request) -> Response:
    """Draft purchase orders (one per supplier and warehouse) from the picked rows."""
    raw = await request.form()
    picks: dict[tuple[str, str], int] = {}
    errors: list[Problem] = []
    values = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    for key in raw.getlist("pick")[:PICK_MAX]:
        wh, _, sku = str(key).partition("|")
        qty = (values.get(f"qty:{key}") or "").strip()
        if not qty.isdigit():
            errors.append(Problem("picks", f"{sku}: 数量应为整数", f"{sku}: a whole number"))
            continue
        picks[(wh, sku)] = int(qty)
    try:
        if errors:
            raise InputError(errors)
        ids = await write(request, replenish.draft_orders, picks, now=web(request).now(),
                          actor=request.state.user.username)
    except InputError as err:
        return await _replenish_page(request, err.problems, 400, values)
    session.flash(request, "rp.flash_drafted", n=len(ids), ids=", ".join(ids))
    return RedirectResponse("/purchasing?status=draft", status_code=303)


routes: list[BaseRoute] = [
    Route("/purchasing", po_list, methods=["GET"]),
    Route("/purchasing/replenish", replenish_page, methods=["GET"]),
    Route("/purchasing/replenish", replenish_draft, methods=["POST"]),
    Route("/purchasing/new", po_new, methods=["GET"]),
    Route("/purchasing/new", po_create, methods=["POST"]),
    Route("/purchasing/{po_id}", po_page, methods=["GET"]),
    Route("/purchasing/{po_id}/export.xlsx", po_export, methods=["GET"]),
    Route("/purchasing/{po_id}/approve", po_approve, methods=["POST"]),
    Route("/purchasing/{po_id}/send", po_send, methods=["POST"]),
    Route("/purchasing/{po_id}/cancel", po_cancel, methods=["POST"]),
    Route("/suppliers", supplier_list, methods=["GET"]),
    Route("/suppliers", supplier_create, methods=["POST"]),
]
