"""商品匹配: download every listing SKU of a shop, keep it, and match it to warehouse SKUs.

:func:`download` reads the shop's listings from the platform (PDD ``pdd.goods.list.get``;
Taobao ``taobao.items.onsale.get`` / ``taobao.items.inventory.get`` + ``taobao.item.seller.get``),
replaces the shop's rows in ``platform_listings`` and runs :func:`match_automatically`: a
listing SKU no mapping covers whose 商家编码 (outer id) is a warehouse SKU code gets a
mapping, the way ``map add`` makes one (open orders waiting for it reserve at once), but
**nothing is pushed**: the first push stays with the manager (the shop's first-push
preview). What is left is listed for matching by hand (:func:`match_by_hand`).

It runs on demand (the 商品匹配 page's button, ``packline-cloud shop listings SHOP``) and
when an order names a platform SKU the last download did not have
(:func:`refresh_for_unknown`, called by the worker after each order sync).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import audit
from cloud.db import shops, skus, write_transaction
from cloud.db.schema_orders import order_lines, orders, platform_listings, sku_mappings
from cloud.errors import InputError, Problem
from cloud.marketplaces.base import Listing
from cloud.orders import stock_push
from cloud.orders.reservations import RESERVING_STATES
from cloud.shops import ShopClient

UNKNOWN_SKU_RETRY = timedelta(minutes=10)
"""After a download, an order naming a platform SKU it did not have triggers the next one
only this long later (a SKU the platform itself does not list would otherwise re-download
every tick)."""


@dataclass
class MatchResult:
    """What a download (or a matching pass) found."""

    listings: int = 0
    """Listing SKUs the shop has on the platform."""
    matched: list[tuple[str, str, str]] = field(default_factory=list)
    """(item id, platform SKU id, warehouse SKU) mapped by 商家编码 in this pass."""
    unmatched: list[tuple[str, str, str]] = field(default_factory=list)
    """(item id, platform SKU id, 商家编码) still without a mapping."""


def store(conn: Connection, shop_id: str, listings: list[Listing], *, now: datetime) -> None:
    """Replace the shop's listing rows with ``listings`` (fetched at ``now``)."""
    conn.execute(sa.delete(platform_listings).where(platform_listings.c.shop_id == shop_id))
    seen: set[tuple[str, str]] = set()
    rows: list[dict[str, Any]] = []
    for li in listings:
        if (li.item_id, li.sku_id) in seen:
            continue
        seen.add((li.item_id, li.sku_id))
        rows.append({"shop_id": shop_id, "item_id": li.item_id, "sku_id": li.sku_id,
                     "outer_id": li.outer_id.strip()[:64], "title": li.title[:300],
                     "spec": li.spec[:200], "quantity": li.quantity, "on_sale": li.on_sale,
                     "fetched_at": now})
    if rows:
        conn.execute(sa.insert(platform_listings), rows)


def _mapped(conn: Connection, shop_id: str) -> tuple[set[str], set[tuple[str, str]]]:
    """Platform SKU ids the shop maps, and (item id, outer id) pairs of mappings without one."""
    m = sku_mappings.c
    by_sku: set[str] = set()
    by_outer: set[tuple[str, str]] = set()
    for r in conn.execute(sa.select(m.platform_item_id, m.platform_sku_id, m.outer_id)
                          .where(m.shop_id == shop_id)):
        if r.platform_sku_id:
            by_sku.add(r.platform_sku_id)
        else:
            by_outer.add((r.platform_item_id, r.outer_id))
    return by_sku, by_outer


def _is_mapped(row: Any, by_sku: set[str], by_outer: set[tuple[str, str]]) -> bool:
    if row.sku_id:
        return row.sku_id in by_sku
    return (row.item_id, row.outer_id) in by_outer


def match_automatically(conn: Connection, shop_id: str, *, actor: str,
                        now: datetime) -> MatchResult:
    """Map every stored listing SKU no mapping covers whose 商家编码 is a warehouse SKU code
    (no stock is pushed); audited ``mapping.auto`` per mapping."""
    li = platform_listings.c
    rows = conn.execute(sa.select(li.item_id, li.sku_id, li.outer_id).where(
        li.shop_id == shop_id).order_by(li.item_id, li.sku_id)).all()
    by_sku, by_outer = _mapped(conn, shop_id)
    codes = set(conn.execute(sa.select(skus.c.sku)).scalars())
    result = MatchResult(listings=len(rows))
    for row in rows:
        if _is_mapped(row, by_sku, by_outer):
            continue
        if row.outer_id and row.outer_id in codes:
            mapping_id = stock_push.add_mapping(conn, shop_id, item_id=row.item_id,
                                                sku=row.outer_id, sku_id=row.sku_id,
                                                outer_id=row.outer_id, now=now)
            audit.record(conn, now, actor, "mapping.auto", f"{shop_id}/{mapping_id}", {
                "sku": row.outer_id, "item_id": row.item_id, "sku_id": row.sku_id,
                "outer_id": row.outer_id})
            if row.sku_id:
                by_sku.add(row.sku_id)
            else:
                by_outer.add((row.item_id, row.outer_id))
            result.matched.append((row.item_id, row.sku_id, row.outer_id))
        else:
            result.unmatched.append((row.item_id, row.sku_id, row.outer_id))
    return result


async def download(engine: Engine, sc: ShopClient, *, actor: str, now: datetime,
                   progress: Callable[[int, int], None] | None = None) -> MatchResult:
    """Read every listing of the shop from the platform, store them and match automatically
    (one transaction after the platform answered; a failed download changes nothing)."""
    found = await sc.client.listings(progress=progress)
    with write_transaction(engine) as conn:
        store(conn, sc.shop.id, found, now=now)
        result = match_automatically(conn, sc.shop.id, actor=actor, now=now)
        audit.record(conn, now, actor, "listings.download", sc.shop.id, {
            "listings": result.listings, "matched": len(result.matched),
            "unmatched": len(result.unmatched)})
    return result


def unknown_platform_skus(conn: Connection, shop_id: str) -> list[str]:
    """Platform SKU ids (or 商家编码 when an order line has none) of open orders' unmapped
    lines that the shop's last download did not list."""
    ln, o, li = order_lines.c, orders.c, platform_listings.c
    lines = conn.execute(sa.select(ln.platform_sku_id, ln.outer_id).distinct().join(
        orders, o.id == ln.order_id).where(o.shop_id == shop_id,
                                           o.state.in_(RESERVING_STATES),
                                           ln.sku.is_(None))).all()
    known_skus = set(conn.execute(sa.select(li.sku_id).where(li.shop_id == shop_id)).scalars())
    known_outer = set(conn.execute(sa.select(li.outer_id).where(
        li.shop_id == shop_id, li.sku_id == "")).scalars())
    return sorted({r.platform_sku_id or r.outer_id for r in lines
                   if (r.platform_sku_id and r.platform_sku_id not in known_skus)
                   or (not r.platform_sku_id and r.outer_id not in known_outer)})


def last_download(conn: Connection, shop_id: str) -> datetime | None:
    """When the shop's listings were last fetched (None: never)."""
    return conn.execute(sa.select(sa.func.max(platform_listings.c.fetched_at)).where(
        platform_listings.c.shop_id == shop_id)).scalar()


async def refresh_for_unknown(engine: Engine, sc: ShopClient, *, now: datetime,
                              retry_after: timedelta = UNKNOWN_SKU_RETRY) -> MatchResult | None:
    """Download again when an open order names a platform SKU the last download did not
    have (at most once per ``retry_after``); None when nothing was needed."""
    with engine.connect() as conn:
        unknown = unknown_platform_skus(conn, sc.shop.id)
        last = last_download(conn, sc.shop.id)
    if not unknown or (last is not None and now - last < retry_after):
        return None
    return await download(engine, sc, actor="worker", now=now)


@dataclass(frozen=True)
class ListingRow:
    """One listing SKU on the 商品匹配 page."""

    id: int
    """Row id (the hand-match form names it)."""
    shop_id: str
    """Shop."""
    shop_name: str
    """Shop's display name."""
    platform: str
    """``pdd`` or ``taobao``."""
    item_id: str
    """Platform goods/item id."""
    sku_id: str
    """Platform SKU id."""
    outer_id: str
    """商家编码."""
    title: str
    """Listing title."""
    spec: str
    """Specification."""
    quantity: int
    """The platform's quantity at the download."""
    on_sale: bool
    """On sale on the platform."""
    fetched_at: datetime
    """When it was downloaded."""
    mapped_sku: str | None
    """The warehouse SKU it is mapped to (None: unmatched)."""


def listing_rows(conn: Connection, *, shop_id: str | None = None,
                 unmatched_only: bool = False) -> list[ListingRow]:
    """Stored listings with the warehouse SKU each is mapped to, by shop, item and SKU."""
    li, m = platform_listings.c, sku_mappings.c
    query = (sa.select(platform_listings, shops.c.name, shops.c.platform)
             .join(shops, shops.c.id == li.shop_id).order_by(li.shop_id, li.item_id, li.sku_id))
    if shop_id:
        query = query.where(li.shop_id == shop_id)
    mapped: dict[tuple[str, str, str], str] = {}
    for r in conn.execute(sa.select(m.shop_id, m.platform_item_id, m.platform_sku_id,
                                    m.outer_id, m.sku)):
        key = (r.shop_id, "", r.platform_sku_id) if r.platform_sku_id else (
            r.shop_id, r.platform_item_id, "#" + r.outer_id)
        mapped[key] = r.sku
    out = []
    for row in conn.execute(query).mappings():
        key = (row["shop_id"], "", row["sku_id"]) if row["sku_id"] else (
            row["shop_id"], row["item_id"], "#" + row["outer_id"])
        sku = mapped.get(key)
        if unmatched_only and sku is not None:
            continue
        out.append(ListingRow(
            id=row["id"], shop_id=row["shop_id"], shop_name=row["name"], platform=row["platform"],
            item_id=row["item_id"], sku_id=row["sku_id"], outer_id=row["outer_id"], title=row["title"],
            spec=row["spec"], quantity=row["quantity"], on_sale=row["on_sale"],
            fetched_at=row["fetched_at"], mapped_sku=sku))
    return out


def match_by_hand(conn: Connection, form: Mapping[str, Any], *, actor: str,
                  now: datetime) -> int:
    """Map one unmatched listing (``listing_id``) to a warehouse SKU (``sku``) by hand,
    like ``map add`` (no push); returns the mapping id. Raises :class:`InputError` (nothing
    written) for an unknown listing or SKU, or a listing already mapped."""
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip()[:64] if isinstance(value, str) else ""

    problems: list[Problem] = []
    raw_id, sku = text("listing_id"), text("sku")
    row = None
    if raw_id.isdigit():
        row = conn.execute(sa.select(platform_listings).where(
            platform_listings.c.id == int(raw_id))).first()
    if row is None:
        problems.append(Problem("listing_id", "没有这条平台商品, 请重新下载",
                                "no such listing: download again"))
    if not sku:
        problems.append(Problem("sku", "请选择商品编码", "choose a SKU"))
    elif not conn.execute(sa.select(skus.c.sku).where(skus.c.sku == sku)).first():
        problems.append(Problem("sku", f"商品 {sku} 不存在, 请先在商品资料中添加",
                                f"there is no product {sku}: add it to the products first"))
    if row is not None:
        by_sku, by_outer = _mapped(conn, row.shop_id)
        if _is_mapped(row, by_sku, by_outer):
            problems.append(Problem("listing_id", "此平台商品已关联", "this listing is mapped already"))
    if problems:
        raise InputError(problems)
    assert row is not None
    mapping_id = stock_push.add_mapping(conn, row.shop_id, item_id=row.item_id, sku=sku,
                                        sku_id=row.sku_id, outer_id=row.outer_id, now=now)
    audit.record(conn, now, actor, "mapping.create", f"{row.shop_id}/{mapping_id}", {
        "sku": sku, "item_id": row.item_id, "sku_id": row.sku_id, "outer_id": row.outer_id,
        "by": "listing"})
    return mapping_id
