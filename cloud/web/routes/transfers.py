"""调拨: transfers between warehouses — write a draft, send it to the stations of both
warehouses, cancel it while nothing has shipped, close it short recording what is missing
(``cloud.transfers``). What is in transit shows on each transfer and beside the stock."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import transfers
from cloud.db.schema_transfers import TRANSFER_STATUSES
from cloud.errors import InputError, Problem
from cloud.web import queries, session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

FIELDS = ("from_warehouse", "to_warehouse", "lines", "note")
"""The new transfer form's fields."""
LINES_MAX_CHARS = 100_000
"""Longest lines text read from the form (1,000 lines of ~100 characters)."""


@requires(Permission.TRANSFERS_VIEW)
async def transfer_list(request: Request) -> Response:
    """Transfers, newest first, by status, with what each has in transit."""
    status = text(request.query_params, "status", 16)
    status = status if status in TRANSFER_STATUSES else None
    rows = await read(request, transfers.list_transfers, status=status)
    return render(request, "transfers.html", {"rows": rows, "status": status or "",
                                              "statuses": TRANSFER_STATUSES})


async def _new_page(request: Request, form: dict[str, str], errors: list[Problem],
                    status_code: int = 200) -> Response:
    return render(request, "transfer_new.html", {
        "form": form, "errors": errors,
        "warehouses": await read(request, queries.warehouse_ids)}, status_code=status_code)


@requires(Permission.TRANSFERS_EDIT)
async def transfer_new(request: Request) -> Response:
    """The new transfer form."""
    return await _new_page(request, {k: "" for k in FIELDS}, [])


@requires(Permission.TRANSFERS_EDIT)
async def transfer_create(request: Request) -> Response:
    """Write a draft; every problem next to its field, nothing written."""
    ctx, actor = web(request), request.state.user.username
    raw = await request.form()
    form = {k: text(raw, k, LINES_MAX_CHARS if k == "lines" else 1000) or "" for k in FIELDS}
    try:
        transfer_id = await write(request, transfers.create,
                                  from_warehouse=form["from_warehouse"],
                                  to_warehouse=form["to_warehouse"], lines=form["lines"],
                                  note=form["note"], actor=actor, now=ctx.now())
    except InputError as err:
        return await _new_page(request, form, err.problems, 400)
    session.flash(request, "tr.flash_created", id=transfer_id)
    return RedirectResponse(f"/transfers/{transfer_id}", status_code=303)


async def _page(request: Request, transfer_id: str, errors: list[Problem] | None = None,
                status_code: int = 200) -> Response:
    t = await read(request, transfers.get, transfer_id)
    if t is None:
        return RedirectResponse("/transfers", status_code=303)
    names = await read(request, queries.sku_names, [ln.sku for ln in t.lines])
    diffs = await read(request, transfers.discrepancies, transfer_id)
    return render(request, "transfer.html", {
        "t": t, "names": names, "errors": errors or [], "diffs": diffs,
        "cancellable": t.status in transfers.CANCELLABLE,
        "closable": t.status in transfers.CLOSABLE}, status_code=status_code)


@requires(Permission.TRANSFERS_VIEW)
async def transfer_page(request: Request) -> Response:
    """One transfer with its lines: shipped, received, in transit, missing."""
    return await _page(request, request.path_params["transfer_id"])


async def _act(request: Request, step: Callable[..., object], flash: str,
               **kwargs: object) -> Response:
    ctx, actor = web(request), request.state.user.username
    transfer_id = request.path_params["transfer_id"]
    try:
        await write(request, step, transfer_id, actor=actor, now=ctx.now(), **kwargs)
    except InputError as err:
        return await _page(request, transfer_id, err.problems, 400)
    session.flash(request, flash, id=transfer_id)
    return RedirectResponse(f"/transfers/{transfer_id}", status_code=303)


@requires(Permission.TRANSFERS_EDIT)
async def transfer_send(request: Request) -> Response:
    """Send a draft to the stations of both warehouses."""
    return await _act(request, transfers.send, "tr.flash_sent")


@requires(Permission.TRANSFERS_EDIT)
async def transfer_cancel(request: Request) -> Response:
    """Cancel with a reason (nothing shipped yet)."""
    form = await request.form()
    return await _act(request, transfers.cancel, "tr.flash_cancelled",
                      reason=text(form, "reason", transfers.REASON_MAX) or "")


@requires(Permission.TRANSFERS_EDIT)
async def transfer_close(request: Request) -> Response:
    """Close short with a reason: what shipped and has not arrived is recorded missing."""
    form = await request.form()
    return await _act(request, transfers.close, "tr.flash_closed",
                      reason=text(form, "reason", transfers.REASON_MAX) or "")


routes: list[BaseRoute] = [
    Route("/transfers", transfer_list, methods=["GET"]),
    Route("/transfers/new", transfer_new, methods=["GET"]),
    Route("/transfers/new", transfer_create, methods=["POST"]),
    Route("/transfers/{transfer_id}", transfer_page, methods=["GET"]),
    Route("/transfers/{transfer_id}/send", transfer_send, methods=["POST"]),
    Route("/transfers/{transfer_id}/cancel", transfer_cancel, methods=["POST"]),
    Route("/transfers/{transfer_id}/close", transfer_close, methods=["POST"]),
]
