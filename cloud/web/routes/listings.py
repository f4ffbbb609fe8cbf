"""商品匹配: each shop's listings as the platform last showed them (商家编码, title, platform
SKU id, the platform's quantity), which warehouse SKU each is mapped to, the unmatched ones
with a form to match by hand, and a button that downloads and matches again
(:mod:`cloud.orders.listings`). Matching never pushes stock."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.db import skus
from cloud.errors import InputError, Problem
from cloud.marketplaces.errors import MarketplaceError, platform_reason
from cloud.orders import listings
from cloud.orders.mappings import shop_choices
from cloud.shops import ShopError, open_client
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.i18n import gettext
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

PLATFORM_TIMEOUT_S = 15.0
"""Longest wait for one platform call of a download."""

SKU_CHOICES_MAX = 2000
"""Most SKU codes offered in the hand-match suggestions (typing any code works)."""


def _sku_codes(conn: Connection) -> list[tuple[str, str]]:
    return [(r.sku, r.name_zh or "") for r in conn.execute(
        sa.select(skus.c.sku, skus.c.name_zh).order_by(skus.c.sku).limit(SKU_CHOICES_MAX))]


def _downloads(conn: Connection) -> dict[str, Any]:
    return {sid: listings.last_download(conn, sid) for sid, _p, _n in shop_choices(conn)}


async def _page(request: Request, *, errors: list[Problem] | None = None,
                error_listing: str = "", entered: str = "", status_code: int = 200) -> Response:
    q = request.query_params
    shop_id, show_all = text(q, "shop", 64), q.get("all") == "1"
    rows = await read(request, listings.listing_rows, shop_id=shop_id,
                      unmatched_only=not show_all)
    lang = session.lang(request)
    shops = await read(request, shop_choices)
    return render(request, "listings.html", {
        "rows": rows, "f": {"shop": shop_id or "", "all": show_all},
        "shop_choices": [(sid, f"{gettext(lang, 'platform.' + p)} · {name}")
                         for sid, p, name in shops],
        "downloads": await read(request, _downloads),
        "sku_codes": await read(request, _sku_codes),
        "errors": errors or [], "error_listing": error_listing, "entered": entered},
        status_code=status_code)


@requires(Permission.PRODUCTS_VIEW)
async def listing_list(request: Request) -> Response:
    """The unmatched listings (or all, ``?all=1``) with the platform's quantity."""
    return await _page(request)


@requires(Permission.PRODUCTS_EDIT)
async def listing_download(request: Request) -> Response:
    """下载并匹配: read the shop's listings from the platform now and match by 商家编码
    (audited; no stock is pushed)."""
    ctx, actor = web(request), request.state.user.username
    form = await request.form()
    shop_id = text(form, "shop_id", 64) or ""
    try:
        async with httpx.AsyncClient(timeout=PLATFORM_TIMEOUT_S) as http:
            sc = open_client(ctx.engine, ctx.sealer, shop_id, http=http, clock=ctx.clock)
            result = await listings.download(ctx.engine, sc, actor=actor, now=ctx.now())
    except ShopError:
        session.flash(request, "listings.flash_no_shop", shop=shop_id or "—")
        return RedirectResponse("/listings", status_code=303)
    except MarketplaceError as err:
        session.flash(request, "listings.flash_failed", shop=shop_id,
                      detail=platform_reason(err))
        return RedirectResponse(f"/listings?shop={shop_id}", status_code=303)
    session.flash(request, "listings.flash_downloaded", shop=shop_id, total=result.listings,
                  matched=len(result.matched), unmatched=len(result.unmatched))
    return RedirectResponse(f"/listings?shop={shop_id}", status_code=303)


@requires(Permission.PRODUCTS_EDIT)
async def listing_match(request: Request) -> Response:
    """Match one listing to a warehouse SKU by hand (a mapping as ``map add`` makes it, no
    push); problems are shown next to the field, nothing is written."""
    ctx, actor = web(request), request.state.user.username
    form = await request.form()
    try:
        mapping_id = await write(request, listings.match_by_hand, dict(form), actor=actor,
                                 now=ctx.now())
    except InputError as err:
        return await _page(request, errors=err.problems,
                           error_listing=text(form, "listing_id", 20) or "",
                           entered=text(form, "sku", 64) or "", status_code=400)
    session.flash(request, "listings.flash_matched", id=mapping_id)
    back = text(form, "shop", 64)
    return RedirectResponse(f"/listings?shop={back}" if back else "/listings", status_code=303)


routes: list[BaseRoute] = [
    Route("/listings", listing_list, methods=["GET"]),
    Route("/listings/download", listing_download, methods=["POST"]),
    Route("/listings/match", listing_match, methods=["POST"]),
]
