"""Stock push: each mapped platform SKU offers its share of available-to-sell, never more.

For a push-enabled ``sku_mappings`` row *m* of SKU *s* (docs/stock-model.md)::

    for each warehouse w serving m's shop:
        free(w)   = on_hand(w, s) − reserved(w, s)          (all locations of w)
        share(w)  = stock_share(m) / Σ stock_share of the push-enabled mappings of s
                    whose shop w serves                      (0 when that sum is 0)
    allotted  = floor(Σ_w share(w) × free(w))               (Packline units)
    buffer    = buffer_units + ceil(max(Σ_w share(w) × on_hand(w), 0) × buffer_percent / 100)
    available = max(0, allotted − buffer) // units          (platform units)

so the mappings drawing on one warehouse's stock — several shops, or several listings of
one shop — together never offer more than it holds free. ``reserved`` is every open
reservation (``cloud.orders.reservations``: every paid, unshipped order).

A push is a FULL update (``update_type=1`` / ``type=1``), made when the value differs from
the last accepted push (or ``force``). Before the platform is called, the push is recorded
(``stock_pushes``) with its inputs and an oversell guard, :func:`guard_units`, computed in
the same transaction by a separate query — the fold of the ledger's moves (not the
balance cache) minus open reservations, split by the same shares, without the buffer. A
check constraint refuses ``pushed × units > guard_units``: such a push is never sent, it
is written to the audit log instead and counted as ``refused``. The row then gets the
platform's answer. :func:`audit_pushes` re-derives every recorded push from its inputs.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud.db import audit_log, stock_balances, write_transaction
from cloud.db.schema_orders import order_lines, orders, shop_warehouses, sku_mappings, stock_pushes
from cloud.marketplaces.base import StockUpdate
from cloud.marketplaces.errors import MarketplaceError
from cloud.orders.reservations import RESERVING_STATES, open_reserved, reconcile, serving_warehouses

log = logging.getLogger("packline.stock_push")


@dataclass(frozen=True)
class Availability:
    """The inputs and result of one available-to-sell computation."""

    mapping_id: int
    """``sku_mappings.id``."""
    sku: str
    """Packline SKU."""
    on_hand: int
    """On-hand in the serving warehouses (all of it, before shares)."""
    reserved: int
    """Open reservations in those warehouses."""
    allotted: int
    """This mapping's share of on-hand − reserved (Packline units, may be negative)."""
    buffer: int
    """Safety buffer (Packline units)."""
    available: int
    """What may be offered on the platform (platform units)."""
    units: int = 1
    """Packline units per platform unit."""
    detail: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per warehouse: on-hand, reserved and the share (``"weight/total"``)."""


def claimant_weights(conn: Connection, sku: str, warehouse_ids: list[str]) -> dict[str, int]:
    """Warehouse → Σ ``stock_share`` of the push-enabled mappings of ``sku`` it serves."""
    m = sku_mappings.c
    maps = conn.execute(sa.select(m.shop_id, m.stock_share).where(
        m.sku == sku, m.push_stock.is_(True))).all()
    shops = sorted({r.shop_id for r in maps})
    served: dict[str, set[str]] = defaultdict(set)
    if shops:
        for shop_id, wh in conn.execute(sa.select(
                shop_warehouses.c.shop_id, shop_warehouses.c.warehouse_id).where(
                shop_warehouses.c.shop_id.in_(shops))):
            served[shop_id].add(wh)
    out = dict.fromkeys(warehouse_ids, 0)
    for shop_id, weight in maps:
        for wh in warehouse_ids:
            if not served[shop_id] or wh in served[shop_id]:
                out[wh] += int(weight)
    return out


def compute(conn: Connection, shop_id: str, default_warehouse: str | None,
            mapping: Any) -> Availability:
    """Availability of one mapping, read in the caller's transaction."""
    whs = serving_warehouses(conn, shop_id, default_warehouse)
    b = stock_balances.c
    on = dict.fromkeys(whs, 0)
    if whs:
        for wh, qty in conn.execute(sa.select(b.warehouse_id, sa.func.sum(b.qty)).where(
                b.sku == mapping.sku, b.warehouse_id.in_(whs)).group_by(b.warehouse_id)):
            on[wh] = int(qty)
    held = open_reserved(conn, whs, [mapping.sku])
    totals = claimant_weights(conn, mapping.sku, whs)
    mine = int(getattr(mapping, "stock_share", 1)) if mapping.push_stock else 0
    allotted = Fraction(0)
    on_share = Fraction(0)
    detail: dict[str, dict[str, Any]] = {}
    for wh in whs:
        share = Fraction(mine, totals[wh]) if totals[wh] else Fraction(0)
        allotted += share * (on[wh] - held[(wh, mapping.sku)])
        on_share += share * on[wh]
        detail[wh] = {"on_hand": on[wh], "reserved": held[(wh, mapping.sku)],
                      "share": f"{mine}/{totals[wh]}"}
    buffer = mapping.buffer_units + math.ceil(max(on_share, 0) * mapping.buffer_percent / 100)
    units = max(int(mapping.units), 1)
    available = max(0, math.floor(allotted) - buffer) // units
    return Availability(mapping.id, mapping.sku, sum(on.values()),
                        sum(held[(wh, mapping.sku)] for wh in whs), math.floor(allotted),
                        buffer, available, units, detail)


def guard_units(conn: Connection, mapping_id: int) -> int:
    """The oversell guard: Packline units mapping ``mapping_id`` may offer at most, now.

    Deliberately not :func:`compute`: plain SQL over the ledger itself (Σ ``qty_delta``
    of ``stock_moves``, not ``stock_balances``) and the open reservations, split by the
    shares of the push-enabled mappings of the SKU; no buffer.
    """
    row = conn.execute(sa.text(
        "SELECT shop_id, sku, stock_share FROM sku_mappings WHERE id = :id"),
        {"id": mapping_id}).one()
    whs = list(conn.execute(sa.text(
        "SELECT warehouse_id FROM shop_warehouses WHERE shop_id = :shop"),
        {"shop": row.shop_id}).scalars()) or list(conn.execute(sa.text(
            "SELECT id FROM warehouses")).scalars())
    total = Fraction(0)
    for wh in whs:
        args = {"wh": wh, "sku": row.sku}
        on_hand = conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty_delta), 0) FROM stock_moves"
            " WHERE warehouse_id = :wh AND sku = :sku"), args).scalar_one()
        held = conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty - shipped_qty), 0) FROM reservations"
            " WHERE warehouse_id = :wh AND sku = :sku AND released_at IS NULL"),
            args).scalar_one()
        weights = conn.execute(sa.text(
            "SELECT COALESCE(SUM(m.stock_share), 0) FROM sku_mappings m"
            " WHERE m.sku = :sku AND m.push_stock AND ("
            "  EXISTS (SELECT 1 FROM shop_warehouses w"
            "          WHERE w.shop_id = m.shop_id AND w.warehouse_id = :wh)"
            "  OR NOT EXISTS (SELECT 1 FROM shop_warehouses w WHERE w.shop_id = m.shop_id))"),
            args).scalar_one()
        if weights:
            total += Fraction(int(row.stock_share), int(weights)) * (int(on_hand) - int(held))
    return max(0, math.floor(total))


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
    refused: int = 0
    """Pushes the oversell guard stopped (never sent; in the audit log)."""


def _record(conn: Connection, shop_id: str, avail: Availability, guard: int,
            now: datetime) -> int | None:
    """Record a push about to be sent; None when the guard (the check) refuses it."""
    try:
        with conn.begin_nested():
            return int(conn.execute(sa.insert(stock_pushes).values(
                shop_id=shop_id, mapping_id=avail.mapping_id, sku=avail.sku,
                on_hand=avail.on_hand, reserved=avail.reserved, buffer=avail.buffer,
                available=avail.available, pushed=avail.available, units=avail.units,
                allotted=avail.allotted, guard_units=guard, detail=avail.detail, ok=False,
                answer="sending", at=now).returning(stock_pushes.c.id)).scalar_one())
    except sa.exc.IntegrityError:
        conn.execute(sa.insert(audit_log).values(
            at=now, actor="stock_push", action="stock_push.guard",
            subject=f"{shop_id}/{avail.mapping_id}",
            detail={"sku": avail.sku, "would_push": avail.available, "units": avail.units,
                    "guard_units": guard, "on_hand": avail.on_hand,
                    "reserved": avail.reserved, "allotted": avail.allotted,
                    "buffer": avail.buffer}))
        log.error("超售保护拦截推送 / oversell guard refused a push: shop %s mapping %s "
                  "%s × %s units > guard %s", shop_id, avail.mapping_id, avail.available,
                  avail.units, guard)
        return None


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
            with write_transaction(engine) as conn:
                avail = compute(conn, shop.id, shop.default_warehouse_id, mapping)
                if not force and last_pushed(conn, mapping.id) == avail.available:
                    result.unchanged += 1
                    return
                push_id = _record(conn, shop.id, avail, guard_units(conn, mapping.id),
                                  now)
            if push_id is None:
                result.refused += 1
                return
            update = StockUpdate(item_id=mapping.platform_item_id, quantity=avail.available,
                                 sku_id=mapping.platform_sku_id, outer_id=mapping.outer_id)
            try:
                await sc.client.update_stock(update)
                ok, answer = True, "ok"
            except MarketplaceError as err:
                ok, answer = False, f"{type(err).__name__}: {err.message}"
            with write_transaction(engine) as conn:
                conn.execute(sa.update(stock_pushes).where(stock_pushes.c.id == push_id).values(
                    ok=ok, answer=answer[:1000], at=now))
            if ok:
                result.pushed += 1
            else:
                result.failed += 1

    await asyncio.gather(*(one(m) for m in maps))
    return result


def audit_pushes(conn: Connection, shop_id: str | None = None) -> list[int]:
    """Ids of recorded pushes whose numbers do not hold together: the value is not what
    the recorded inputs give (``max(0, allotted − buffer) // units``) or exceeds the guard."""
    q = sa.select(stock_pushes).order_by(stock_pushes.c.id)
    if shop_id:
        q = q.where(stock_pushes.c.shop_id == shop_id)
    bad = []
    for p in conn.execute(q):
        units = max(int(p.units), 1)
        if (p.available != max(0, p.allotted - p.buffer) // units or p.pushed != p.available
                or p.pushed * units > p.guard_units):
            bad.append(int(p.id))
    return bad


def add_mapping(conn: Connection, shop_id: str, *, item_id: str, sku: str, sku_id: str = "",
                outer_id: str = "", units: int = 1, buffer_units: int = 0,
                buffer_percent: int = 0, push: bool = True, stock_share: int = 1,
                now: datetime) -> int:
    """Map a platform SKU to a Packline SKU with its push rule; returns the mapping id.

    Open orders of the shop with lines this mapping now maps reserve them at once."""
    result = conn.execute(sa.insert(sku_mappings).values(
        shop_id=shop_id, platform_item_id=item_id, platform_sku_id=sku_id, outer_id=outer_id,
        sku=sku, units=units, buffer_units=buffer_units, buffer_percent=buffer_percent,
        push_stock=push, stock_share=stock_share).returning(sku_mappings.c.id))
    mapping_id = int(result.scalar_one())
    ln, o = order_lines.c, orders.c
    keys = [k for k in (ln.platform_sku_id == sku_id if sku_id else None,
                        ln.outer_id == outer_id if outer_id else None) if k is not None]
    if keys:
        waiting = conn.execute(sa.select(ln.order_id).distinct().join(
            orders, o.id == ln.order_id).where(
            o.shop_id == shop_id, o.state.in_(RESERVING_STATES), ln.sku.is_(None),
            sa.or_(*keys))).scalars().all()
        reconcile(conn, waiting, now=now)
    return mapping_id
