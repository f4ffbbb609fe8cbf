"""订单: one list across shops and platforms, with filters (state, platform, shop, Beijing
days, Packline SKU, exception, courier, e-waybill taken or not, tag) and a search box (order
no., waybill no., the masked phone's last digits), receivers masked; one order's page
with its lines and 审单 by hand — approve a buyer note, hold with a reason, release, pin
the order to a warehouse (``cloud.orders.review``), each recorded with who and why."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import returns
from cloud.db.schema import PLATFORMS
from cloud.db.schema_orders import HELD, MERGED, ORDER_STATES, TAG_COLOURS
from cloud.errors import InputError, Problem
from cloud.orders import exchanges, merging, review, tags
from cloud.web import handovers, queries, session
from cloud.web.context import read, web, write
from cloud.web.forms import BadInput, day_start, limit, text
from cloud.web.i18n import MESSAGES, gettext
from cloud.web.i18n_returns import refund_status_text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

PAGE = 100
"""Orders per page."""
FILTERS = ("state", "shop", "platform", "q", "since", "until", "sku", "exception", "carrier",
           "waybill", "tag", "printed", "sort")
"""Query parameters of the order list's filter form."""
DUE_SOON = timedelta(hours=12)
"""An open order due within this is marked urgent on the list (past its deadline: late)."""
EXCEPTION_PREFIX = "exception."
"""Catalog keys of the exception codes (the filter offers every one)."""


def order_filter(request: Request, q: Mapping[str, Any]
                 ) -> tuple[queries.OrderFilter, BadInput | None]:
    """The list's filters from the form's fields (the page's query or the export's form);
    a bad one gives no filter and the reason."""
    state, platform = text(q, "state", 16), text(q, "platform", 16)
    exception_codes = [k.removeprefix(EXCEPTION_PREFIX) for k in MESSAGES
                       if k.startswith(EXCEPTION_PREFIX)]
    code, waybill = text(q, "exception", 32), text(q, "waybill", 8)
    tag = text(q, "tag", 18) or ""
    printed = text(q, "printed", 4)
    search = (text(q, "q", 64) or "").strip() or None
    try:
        return queries.OrderFilter(
            state=state if state in ORDER_STATES else None,
            shop_id=text(q, "shop", 64),
            platform=platform if platform in PLATFORMS else None,
            search=search,
            search_key=web(request).sealer.search_key(search) if search else None,
            since=day_start(q, "since"), until=day_start(q, "until", end=True),
            sku=text(q, "sku", 64),
            exception_code=code if code in exception_codes else None,
            carrier=text(q, "carrier", 32),
            waybill=waybill if waybill in (queries.WAYBILL_TAKEN, queries.WAYBILL_NONE) else None,
            tag_id=int(tag) if tag.isdigit() else None,
            printed=printed if printed in (queries.PRINTED_YES, queries.PRINTED_NO) else None,
            by_ship_by=text(q, "sort", 16) == "ship_by"), None
    except BadInput as err:
        return queries.OrderFilter(), err


@requires(Permission.ORDERS_VIEW)
async def order_list(request: Request) -> Response:
    """The order list."""
    q = request.query_params
    exception_codes = [k.removeprefix(EXCEPTION_PREFIX) for k in MESSAGES
                       if k.startswith(EXCEPTION_PREFIX)]
    flt, error = order_filter(request, q)
    page = limit(q, "page", default=1, maximum=10_000)
    rows = [] if error else await read(
        request, queries.order_rows, flt, limit=PAGE + 1, offset=(page - 1) * PAGE)
    lang = session.lang(request)
    tag_list = await read(request, tags.all_tags)
    params = {k: v for k, v in q.items() if k != "page" and v}
    return render(request, "orders.html", {
        "rows": rows[:PAGE], "has_more": len(rows) > PAGE, "page": page, "params": params,
        "f": {k: q.get(k, "") for k in FILTERS},
        "error": error,
        "state_choices": [(st, gettext(lang, f"state.{st}")) for st in ORDER_STATES],
        "platform_choices": [(p, gettext(lang, f"platform.{p}")) for p in PLATFORMS],
        "shop_choices": [(sid, name) for sid, _p, name in await read(request, queries.shop_choices)],
        "exception_choices": [(c, gettext(lang, EXCEPTION_PREFIX + c)) for c in exception_codes],
        "carrier_choices": [(c, c) for c in await read(request, queries.carrier_choices)],
        "tag_choices": [(str(t.id), t.name) for t in tag_list],
        "row_tags": await read(request, tags.order_tags_of, [r.id for r in rows[:PAGE]]),
        "now": web(request).now(), "due_soon": DUE_SOON,
        "sort_choices": [("ship_by", gettext(lang, "orders.sort_ship_by"))],
        "waybill_choices": [(queries.WAYBILL_TAKEN, gettext(lang, "orders.waybill_taken")),
                            (queries.WAYBILL_NONE, gettext(lang, "orders.waybill_none"))],
        "printed_choices": [(queries.PRINTED_YES, gettext(lang, "orders.printed_yes")),
                            (queries.PRINTED_NO, gettext(lang, "orders.printed_no"))]},
        status_code=400 if error else 200)


def order_returns(conn: Connection, order_id: str) -> list[tuple[returns.ReceivedReturn,
                                                                  list[dict[str, Any]]]]:
    """The order's inspected returns, each with its items."""
    return [(r, returns.lines_of(conn, r.return_id))
            for r in returns.received(conn, order_id=order_id)]


def exchange_defaults(conn: Connection, order_id: str) -> dict[str, str]:
    """The exchange form filled from the newest return marked as an exchange: its first good
    or damaged SKU and the units that came back of it (else empty)."""
    for r in returns.received(conn, order_id=order_id):
        if r.exchange:
            back = [ln for ln in returns.lines_of(conn, r.return_id)
                    if ln["sku"] and ln["condition"] != "wrong"]
            if back:
                sku = str(back[0]["sku"])
                qty = sum(int(ln["qty"]) for ln in back if ln["sku"] == sku)
                return {"sku": sku, "qty": str(qty), "reason": f"退货 {r.return_id}"}
    return {"sku": "", "qty": "1", "reason": ""}


async def _detail_page(request: Request, order_id: str, errors: list[Problem] | None = None,
                       reason: str = "", status_code: int = 200,
                       note_form: dict[str, str] | None = None,
                       exchange_form: dict[str, str] | None = None) -> Response:
    detail = await read(request, queries.order_detail, order_id)
    if detail is None:
        return RedirectResponse("/orders", status_code=303)
    events = await read(request, review.events, order_id)
    held_there = await read(request, review.held_at_station, order_id)
    names = await read(request, queries.sku_names, [ln.sku for ln in detail.lines if ln.sku])
    return render(request, "order.html", {
        "d": detail, "o": detail.row, "events": events, "names": names, "errors": errors or [],
        "reason": reason, "held_there": held_there, "note_form": note_form,
        "tags": (await read(request, tags.order_tags_of, [order_id])).get(order_id, []),
        "tag_list": await read(request, tags.all_tags), "tag_colours": TAG_COLOURS,
        "parcels": await read(request, merging.order_parcels, order_id, now=web(request).now()),
        "pin_choices": await read(request, review.pin_choices, order_id),
        "prints": await read(request, queries.label_prints, order_id),
        "handovers": await read(request, handovers.order_handovers, order_id),
        "returns": await read(request, order_returns, order_id),
        "exchanges": await read(request, exchanges.exchanges_of, order_id),
        "exchange_form": exchange_form or await read(request, exchange_defaults, order_id),
        "refund_words": lambda status: refund_status_text(status, session.lang(request)),
        "pinned": detail.pinned_warehouse_id,
        "pinnable": review.pinnable(detail.row.state, detail.row.exception_code),
        "holdable": (detail.row.state in review.HOLDABLE_STATES
                     and detail.row.exception_code not in (HELD, MERGED))},
        status_code=status_code)


async def order_page_with(request: Request, order_id: str, errors: list[Problem],
                          note_form: dict[str, str] | None,
                          exchange_form: dict[str, str] | None = None) -> Response:
    """The order page again with a refused seller-note or exchange form
    (``routes.order_notes``, ``routes.order_exchange``)."""
    return await _detail_page(request, order_id, errors, status_code=400, note_form=note_form,
                              exchange_form=exchange_form)


@requires(Permission.ORDERS_VIEW)
async def order_page(request: Request) -> Response:
    """One order: lines, masked receiver, notes, why it waits, who changed it by hand."""
    return await _detail_page(request, request.path_params["order_id"])


@requires(Permission.ORDERS_REVIEW)
async def order_action(request: Request) -> Response:
    """Approve, hold or release the order, pin it to a warehouse or unpin it (a form per
    action)."""
    ctx, actor = web(request), request.state.user.username
    order_id, action = request.path_params["order_id"], request.path_params["action"]
    form = await request.form()
    reason = text(form, "reason", review.REASON_MAX) or ""
    try:
        if action == "approve":
            await write(request, review.approve, order_id, actor=actor, note=reason, now=ctx.now())
        elif action == "hold":
            await write(request, review.hold, order_id, actor=actor, reason=reason, now=ctx.now())
        elif action == "release":
            await write(request, review.release, order_id, actor=actor, now=ctx.now())
        elif action == "pin":
            warehouse = text(form, "warehouse", 64)
            if warehouse is None:
                raise InputError([Problem("warehouse", "请选择仓库", "choose a warehouse")])
            await write(request, review.pin_warehouse, order_id, warehouse, actor=actor,
                        reason=reason, now=ctx.now())
        elif action == "unpin":
            await write(request, review.pin_warehouse, order_id, None, actor=actor,
                        reason=reason, now=ctx.now())
        else:
            return RedirectResponse(f"/orders/{order_id}", status_code=303)
    except InputError as err:
        return await _detail_page(request, order_id, err.problems, reason, 400)
    session.flash(request, f"review.{action}_done")
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/orders", order_list, methods=["GET"]),
    Route("/orders/{order_id}", order_page, methods=["GET"]),
    Route("/orders/{order_id}/{action}", order_action, methods=["POST"]),
]
