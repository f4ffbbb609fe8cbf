"""打单台: the office's batch printing desk (``cloud.desk``).

The list and its filters, and the 发货单, are plain pages (they work with JavaScript off).
Printing goes from the browser to the platform's print component on the office PC, as web
打单 tools do (``static/desk.js``): the page asks ``POST /desk/print-data`` for the
selected orders' documents — refused, with the reason asked for, when one was printed
before — hands them to the component, and posts what the component reports printed to
``POST /desk/printed``, which keeps each once.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cloud import desk
from cloud.db.schema import shops
from cloud.errors import InputError, Problem
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import china_time, text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

FILTER_FIELDS = ("shop", "carrier", "sku", "province", "paid_before", "ship_by_before",
                 "order_by")
"""The filter form's text fields (``single`` is a checkbox)."""
DEFAULT_COMPONENT = "ws://127.0.0.1:13528"
"""Where the Cainiao print component listens on the office PC unless the browser was told
otherwise (kept in the browser's local storage)."""
MAX_IDS = desk.ROW_LIMIT
"""Most orders one print or packing list takes."""
PLATFORM_TIMEOUT_S = 15.0
"""Longest wait for the platform to answer each e-waybill request of a 取号."""


def _filters(params: Any) -> tuple[dict[str, str], desk.Filters, list[Problem]]:
    form = {k: text(params, k, 64) or "" for k in FILTER_FIELDS}
    form["single"] = "1" if params.get("single") else ""
    problems: list[Problem] = []
    order_by = form["order_by"] if form["order_by"] in desk.ORDERINGS else "ship_by"
    form["order_by"] = order_by
    f = desk.Filters(shop_id=form["shop"], carrier=form["carrier"],
                     single_only=bool(form["single"]), sku=form["sku"],
                     province=form["province"],
                     paid_before=china_time(form["paid_before"], "paid_before", problems),
                     ship_by_before=china_time(form["ship_by_before"], "ship_by_before", problems),
                     order_by=order_by)
    return form, f, problems


def _shops(conn: Any) -> list[tuple[str, str]]:
    return [(str(i), str(n)) for i, n in conn.execute(
        shops.select().with_only_columns(shops.c.id, shops.c.name).order_by(shops.c.id))]


async def _desk(request: Request, params: Any, numbers: desk.NumbersResult | None = None
                ) -> Response:
    form, f, problems = _filters(params)
    found = [] if problems else await read(request, desk.rows, f)
    return render(request, "desk.html", {
        "rows": found, "form": form, "errors": problems, "now": web(request).now(),
        "shops": await read(request, _shops), "carriers": await read(request, desk.carriers),
        "orderings": desk.ORDERINGS, "limit": desk.ROW_LIMIT, "numbers": numbers,
        "component": DEFAULT_COMPONENT}, status_code=400 if problems else 200)


@requires(Permission.DESK)
async def desk_page(request: Request) -> Response:
    """The orders waiting to ship under the filter, with their waybills and print status."""
    return await _desk(request, request.query_params)


@requires(Permission.DESK)
async def take_numbers(request: Request) -> Response:
    """取号: e-waybill numbers now for the ticked orders still waiting for one; the desk
    again (same filter) with what happened — numbered, to retry, refused and why."""
    ctx = web(request)
    form = await request.form()
    ids = _ids([str(v) for v in form.getlist("ids")])
    async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT_S) as http:
        got = await desk.take_numbers(ctx.engine, ctx.sealer, ids, http=http, now=ctx.now(),
                                      actor=request.state.user.username)
    return await _desk(request, form, got)


def _ids(values: list[str]) -> list[str]:
    return [v[:64] for v in values if v][:MAX_IDS]


def _refusal(err: InputError, lang: str) -> JSONResponse:
    return JSONResponse({"error": "; ".join(
        p.zh if lang == "zh" else p.en for p in err.problems)}, status_code=400)


def _lang(request: Request) -> str:
    return session.lang(request)


@requires(Permission.DESK)
async def print_data(request: Request) -> Response:
    """The selected orders' documents for the print component, in the chosen order."""
    form = await request.form()
    ids = _ids([str(v) for v in form.getlist("ids")])
    order_by = text(form, "order_by", 16) or "ship_by"
    if not ids:
        return JSONResponse({"error": "请先勾选订单" if _lang(request) == "zh"
                             else "select orders first"}, status_code=400)
    try:
        docs = await read(request, desk.documents, ids,
                          order_by=order_by if order_by in desk.ORDERINGS else "ship_by",
                          reason=text(form, "reason", desk.REASON_MAX) or "",
                          now=web(request).now())
    except InputError as err:
        return _refusal(err, _lang(request))
    return JSONResponse({"documents": docs})


@requires(Permission.DESK)
async def printed(request: Request) -> Response:
    """What the component reported printed: kept once per task and document."""
    try:
        body = await request.json()
        task_id = str(body["taskId"])[:40]
        printer = str(body.get("printer") or "")[:200]
        reason = str(body.get("reason") or "")
        done = [(str(d["orderId"])[:64], str(d["documentID"])[:64])
                for d in body["printed"]][:MAX_IDS]
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "请求格式错误 / malformed request"}, status_code=400)
    try:
        new = await write(request, desk.record_prints, task_id, printer, done,
                          actor=request.state.user.username, reason=reason,
                          now=web(request).now())
    except InputError as err:
        return _refusal(err, _lang(request))
    return JSONResponse({"recorded": new})


@requires(Permission.DESK)
async def packing_list(request: Request) -> Response:
    """发货单 of the selected orders (the list's form posts them; a link may name them in
    the query), in the chosen order, for printing on A4."""
    params: Any = await request.form() if request.method == "POST" else request.query_params
    ids = _ids([str(v) for v in params.getlist("ids")])
    order_by = text(params, "order_by", 16) or "ship_by"
    found = await read(request, desk.packing_list, ids,
                       order_by if order_by in desk.ORDERINGS else "ship_by")
    return render(request, "desk_packing.html", {"rows": found, "now": web(request).now()})


routes: list[BaseRoute] = [
    Route("/desk", desk_page, methods=["GET"]),
    Route("/desk/numbers", take_numbers, methods=["POST"]),
    Route("/desk/print-data", print_data, methods=["POST"]),
    Route("/desk/printed", printed, methods=["POST"]),
    Route("/desk/packing-list", packing_list, methods=["GET", "POST"]),
]
