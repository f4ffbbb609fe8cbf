"""平台商品关联: platform SKU mappings per shop, their stock-push rules, and each mapping's
last push with the numbers it was computed from (:mod:`cloud.orders.mappings`)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.errors import InputError, Problem
from cloud.orders import mappings
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import limit, text
from cloud.web.i18n import gettext
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

PAGE = 100
"""Mappings per page."""

NEW_FIELDS = ("shop_id", "item_id", "sku_id", "outer_id", "sku", "units", "buffer_units",
              "buffer_percent", "stock_share", "push_min", "push_max")
"""Text fields of the new-mapping form (besides the ``push_stock`` checkbox)."""


async def _list_page(request: Request, *, new: dict[str, Any] | None = None,
                     errors: list[Problem] | None = None, status_code: int = 200) -> Response:
    q = request.query_params
    shop_id, sku = text(q, "shop", 64), text(q, "sku", 64)
    page = limit(q, "page", default=1, maximum=100_000)
    rows = await read(request, mappings.mapping_rows, shop_id=shop_id, sku=sku,
                      limit=PAGE + 1, offset=(page - 1) * PAGE)
    lang = session.lang(request)
    shops = await read(request, mappings.shop_choices)
    params = {k: v for k, v in q.items() if k != "page" and v}
    return render(request, "mappings.html", {
        "rows": rows[:PAGE], "has_more": len(rows) > PAGE, "page": page, "params": params,
        "f": {"shop": shop_id or "", "sku": sku or ""},
        "shop_choices": [(sid, f"{gettext(lang, 'platform.' + p)} · {name}")
                         for sid, p, name in shops],
        "new": new or {"units": "1", "buffer_units": "0", "buffer_percent": "0",
                       "stock_share": "1", "push_stock": True, "shop_id": shop_id or "",
                       "sku": sku or ""},
        "errors": errors or []}, status_code=status_code)


@requires(Permission.PRODUCTS_VIEW)
async def mapping_list(request: Request) -> Response:
    """Mappings by shop and SKU with their rule and last push; the new-mapping form."""
    return await _list_page(request)


@requires(Permission.PRODUCTS_EDIT)
async def mapping_create(request: Request) -> Response:
    """Map a platform SKU; problems are shown next to their fields, nothing is written."""
    ctx, actor = web(request), request.state.user.username
    form = await request.form()
    values: dict[str, Any] = {k: text(form, k, 64) or "" for k in NEW_FIELDS}
    values["push_stock"] = form.get("push_stock") == "1"
    try:
        mapping_id = await write(request, mappings.create, dict(form), actor=actor,
                                 now=ctx.now())
    except InputError as err:
        return await _list_page(request, new=values, errors=err.problems, status_code=400)
    session.flash(request, "mappings.created", id=mapping_id)
    return RedirectResponse(f"/mappings/{mapping_id}", status_code=303)


async def _detail_page(request: Request, mapping_id: int, *, rule: dict[str, Any] | None = None,
                       errors: list[Problem] | None = None, status_code: int = 200) -> Response:
    row = await read(request, mappings.get_mapping, mapping_id)
    if row is None:
        raise HTTPException(404)
    shown = rule or {"push_stock": row.push_stock, "buffer_units": str(row.buffer_units),
                     "buffer_percent": str(row.buffer_percent),
                     "stock_share": str(row.stock_share),
                     "push_min": "" if row.push_min is None else str(row.push_min),
                     "push_max": "" if row.push_max is None else str(row.push_max)}
    return render(request, "mapping.html", {
        "m": row, "rule": shown, "errors": errors or [],
        "warehouses": await read(request, mappings.counted_warehouses, row.shop_id),
        "shop_limits_warehouses": await read(request, mappings.shop_limits_warehouses,
                                             row.shop_id),
        "now_avail": await read(request, mappings.preview, mapping_id),
        "pushes": await read(request, mappings.recent_pushes, mapping_id)},
        status_code=status_code)


@requires(Permission.PRODUCTS_VIEW)
async def mapping_page(request: Request) -> Response:
    """One mapping: its rule (a form for editors), which warehouses count, what a push would
    offer now, and its recent pushes with their inputs."""
    return await _detail_page(request, request.path_params["mapping_id"])


@requires(Permission.PRODUCTS_EDIT)
async def mapping_update(request: Request) -> Response:
    """Save a mapping's push rule (audited old → new)."""
    ctx, actor = web(request), request.state.user.username
    mapping_id: int = request.path_params["mapping_id"]
    if await read(request, mappings.get_mapping, mapping_id) is None:
        raise HTTPException(404)
    form = await request.form()
    rule: dict[str, Any] = {k: text(form, k, 16) or "" for k in mappings.RULE_FIELDS[1:]}
    rule["push_stock"] = form.get("push_stock") == "1"
    try:
        await write(request, mappings.update_rule, mapping_id, dict(form), actor=actor,
                    now=ctx.now())
    except InputError as err:
        return await _detail_page(request, mapping_id, rule=rule, errors=err.problems,
                                  status_code=400)
    session.flash(request, "mappings.saved", id=mapping_id)
    return RedirectResponse(f"/mappings/{mapping_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/mappings", mapping_list, methods=["GET"]),
    Route("/mappings", mapping_create, methods=["POST"]),
    Route("/mappings/{mapping_id:int}", mapping_page, methods=["GET"]),
    Route("/mappings/{mapping_id:int}", mapping_update, methods=["POST"]),
]
