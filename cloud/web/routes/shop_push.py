"""首次推送预览 (first-push preview) in the web app: for each listing of a shop whose stock
Packline pushes, the platform's quantity when listings were last downloaded, what Packline
last pushed and what it would push now, with why (on hand − held → the shop's share −
safety buffer, ÷ units per listing); the listings that would be set to 0 (taken off sale)
are marked. Nothing is pushed for a new shop until a manager confirms here (audited); the
same form sets whether later big cuts wait for approval (``cloud.orders.stock_push``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cloud.db import shops
from cloud.db.schema_orders import DEFAULT_PUSH_CUT_PERCENT, platform_listings, shop_config
from cloud.errors import Problem
from cloud.orders.stock_push import PreviewRow, confirm_pushes, push_preview
from cloud.web import session
from cloud.web.context import read, web, write
from cloud.web.forms import text
from cloud.web.permissions import Permission, requires
from cloud.web.render import render

MAX_CUT_PERCENT: Final = 100
"""A cut by more than this share of the listing's stock waits (100: only cuts to 0)."""


@dataclass(frozen=True, slots=True)
class Preview:
    """The shop, its push policy and a row per pushed listing."""

    shop_id: str
    name: str
    platform: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    trust: bool
    cut_percent: int
    rows: list[tuple[PreviewRow, int | None, str]]
    """(the preview row, the platform's quantity at the last download or None, its title)."""

    @property
    def zeros(self) -> int:
        """Listings the push would set to 0 (off sale on most platforms)."""
        return sum(1 for r, _q, _t in self.rows if r.avail.available == 0)


def load(conn: Connection, shop_id: str) -> Preview | None:
    """The preview of a shop, or None when no such shop is configured."""
    c = shop_config.c
    shop = conn.execute(sa.select(shops.c.id, shops.c.name, shops.c.platform,
                                  c.default_warehouse_id, c.push_confirmed_at,
                                  c.push_confirmed_by, c.push_trust, c.push_cut_percent)
                        .join(shop_config, c.shop_id == shops.c.id)
                        .where(shops.c.id == shop_id)).first()
    if shop is None:
        return None
    pl = platform_listings.c
    listed = {(r.item_id, r.sku_id): (int(r.quantity), r.title) for r in conn.execute(
        sa.select(pl.item_id, pl.sku_id, pl.quantity, pl.title).where(pl.shop_id == shop_id))}
    rows = []
    for r in push_preview(conn, shop_id, shop.default_warehouse_id):
        qty, title = listed.get((r.item_id, r.sku_id), (None, ""))
        rows.append((r, qty, title))
    return Preview(shop.id, shop.name, shop.platform, shop.push_confirmed_at,
                   shop.push_confirmed_by, bool(shop.push_trust), int(shop.push_cut_percent),
                   rows)


async def _page(request: Request, shop_id: str, errors: list[Problem],
                status_code: int = 200) -> Response:
    pv = await read(request, load, shop_id)
    if pv is None:
        return RedirectResponse("/shops", status_code=303)
    return render(request, "shop_push.html", {"pv": pv, "errors": errors},
                  status_code=status_code)


@requires(Permission.SHOPS_VIEW)
async def push_page(request: Request) -> Response:
    """The first-push preview of a shop, with the confirm form."""
    return await _page(request, request.path_params["shop_id"], [])


@requires(Permission.SHOPS_AUTHORIZE)
async def push_confirm(request: Request) -> Response:
    """Confirm the preview: the shop's pushes may go out from the next pass (audited)."""
    shop_id = request.path_params["shop_id"]
    form = await request.form()
    raw = text(form, "cut_percent", 4) or str(DEFAULT_PUSH_CUT_PERCENT)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CUT_PERCENT:
        return await _page(request, shop_id, [Problem(
            "cut_percent", f"应为 1–{MAX_CUT_PERCENT} 的整数",
            f"a whole number 1–{MAX_CUT_PERCENT}")], 400)
    trust = text(form, "trust", 4) == "1"

    def confirm(conn: Any) -> bool:
        try:
            confirm_pushes(conn, shop_id, actor=request.state.user.username,
                           now=web(request).now(), trust=trust, cut_percent=int(raw))
        except LookupError:
            return False
        return True

    if not await write(request, confirm):
        return RedirectResponse("/shops", status_code=303)
    session.flash(request, "push.flash_confirmed", shop=shop_id)
    return RedirectResponse(f"/shops/{shop_id}/push", status_code=303)


routes: list[BaseRoute] = [
    Route("/shops/{shop_id}/push", push_page, methods=["GET"]),
    Route("/shops/{shop_id}/push/confirm", push_confirm, methods=["POST"]),
]
