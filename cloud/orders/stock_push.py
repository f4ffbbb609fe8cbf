"""Stock push: available-to-sell per mapped platform SKU, never above it.

For each ``sku_mappings`` row of a shop (with ``push_stock``)::

    on_hand   = Σ stock_balances.qty of the SKU in the warehouses serving the shop
    reserved  = Σ open reservations of the SKU in those warehouses
    buffer    = buffer_units + ceil(max(on_hand, 0) × buffer_percent / 100)
    available = max(0, on_hand − reserved − buffer) // units      (platform units)

computed in one transaction, and pushed as a FULL update (``update_type=1`` /
``type=1``) when it differs from the last accepted push (or ``force``). Every push,
accepted or not, is a ``stock_pushes`` row with its inputs, the value pushed and the
platform's answer; a check constraint refuses a row whose value exceeds ``available``,
so an oversell cannot even be recorded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud.db import stock_balances, write_transaction
from cloud.db.schema_orders import reservations, sku_mappings, stock_pushes
from cloud.marketplaces.base import StockUpdate
from cloud.marketplaces.errors import MarketplaceError
from cloud.orders.allocation import serving_warehouses


@dataclass(frozen=True)
class Availability:
    """The inputs and result of one available-to-sell computation."""

    mapping_id: int
    """``sku_mappings.id``."""
    sku: str
    """Packline SKU."""
    on_hand: int
    """On-hand in the serving warehouses."""
    reserved: int
    """Reserved for allocated, unshipped orders."""
    buffer: int
    """Safety buffer."""
    available: int
    """What may be offered on the platform (platform units)."""


def available_to_sell(on_hand: int, reserved: int, buffer_units: int, buffer_percent: int,
                      units: int = 1) -> tuple[int, int]:
    """(buffer, available) for the given inputs; available is clamped at 0."""
    buffer = buffer_units + -(-max(on_hand, 0) * buffer_percent // 100)
    return buffer, max(0, on_hand - reserved - buffer) // max(units, 1)


def compute(conn: Connection, shop_id: str, default_warehouse: str | None,
            mapping: Any) -> Availability:
    """Availability of one mapping, read in the caller's transaction."""
    whs = serving_warehouses(conn, shop_id, default_warehouse)
    b, r = stock_balances.c, reservations.c
    on_hand = int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(b.qty), 0)).where(
        b.sku == mapping.sku, b.warehouse_id.in_(whs))).scalar_one()) if whs else 0
    reserved = int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(r.qty), 0)).where(
        r.sku == mapping.sku, r.warehouse_id.in_(whs), r.released_at.is_(None))).scalar_one()
    ) if whs else 0
    buffer, available = available_to_sell(on_hand, reserved, mapping.buffer_units,
                                          mapping.buffer_percent, mapping.units)
    return Availability(mapping.id, mapping.sku, on_hand, reserved, buffer, available)


def last_pushed(conn: Connection, mapping_id: int) -> int | None:
    """The value of the last accepted push of a mapping."""
    row = conn.execute(sa.select(stock_pushes.c.pushed).where(
        stock_pushes.c.mapping_id == mapping_id, stock_pushes.c.ok.is_(True)
    ).order_by(stock_pushes.c.id.desc()).limit(1)).first()
    return int(row[0]) if row else None


@dataclass
class PushResult:
    """What a stock-push pass did."""

    pushed: int = 0
    """Accepted pushes."""
    failed: int = 0
    """Pushes the platform refused or that failed (recorded, retried next pass)."""
    unchanged: int = 0
    """Mappings whose available-to-sell equals the last accepted push."""


async def push_stock(engine: Engine, sc: Any, *, now: datetime, force: bool = False,
                     concurrency: int = 4) -> PushResult:
    """Push every mapped SKU of the shop whose available-to-sell changed."""
    shop = sc.shop
    with engine.connect() as conn:
        maps = conn.execute(sa.select(sku_mappings).where(
            sku_mappings.c.shop_id == shop.id, sku_mappings.c.push_stock.is_(True)
        ).order_by(sku_mappings.c.id)).all()
    result = PushResult()
    sem = asyncio.Semaphore(concurrency)

    async def one(mapping: Any) -> None:
        async with sem:
            with engine.connect() as conn, conn.begin():
                avail = compute(conn, shop.id, shop.default_warehouse_id, mapping)
                last = last_pushed(conn, mapping.id)
            if not force and last == avail.available:
                result.unchanged += 1
                return
            update = StockUpdate(item_id=mapping.platform_item_id, quantity=avail.available,
                                 sku_id=mapping.platform_sku_id, outer_id=mapping.outer_id)
            try:
                await sc.client.update_stock(update)
                ok, answer = True, "ok"
            except MarketplaceError as err:
                ok, answer = False, f"{type(err).__name__}: {err.message}"
            with write_transaction(engine) as conn:
                conn.execute(sa.insert(stock_pushes).values(
                    shop_id=shop.id, mapping_id=mapping.id, sku=mapping.sku,
                    on_hand=avail.on_hand, reserved=avail.reserved, buffer=avail.buffer,
                    available=avail.available, pushed=avail.available, ok=ok,
                    answer=answer[:1000], at=now))
            if ok:
                result.pushed += 1
            else:
                result.failed += 1

    await asyncio.gather(*(one(m) for m in maps))
    return result


def add_mapping(conn: Connection, shop_id: str, *, item_id: str, sku: str, sku_id: str = "",
                outer_id: str = "", units: int = 1, buffer_units: int = 0,
                buffer_percent: int = 0, push: bool = True) -> int:
    """Map a platform SKU to a Packline SKU with its push rule; returns the mapping id."""
    result = conn.execute(sa.insert(sku_mappings).values(
        shop_id=shop_id, platform_item_id=item_id, platform_sku_id=sku_id, outer_id=outer_id,
        sku=sku, units=units, buffer_units=buffer_units, buffer_percent=buffer_percent,
        push_stock=push).returning(sku_mappings.c.id))
    return int(result.scalar_one())
