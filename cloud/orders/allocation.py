"""Automatic review and allocation of pending orders to a warehouse and station.

An order passes review when the platform says it awaits shipment, no refund was requested,
the shop's review rules (``cloud.orders.review_rules``: by default, not under risk review
and no unapproved buyer note; optionally an amount limit) do not hold it, and every line
(gifts too) maps to a Packline SKU. Passing review adds the gift lines of the promotions it
qualifies for (``cloud.orders.promotions``, once per order and promotion); they are
allocated and reserved with the rest. It is then allocated to the shop's default warehouse
if that has the stock for every line, else to the first serving warehouse (by id) that has it
— or, when a person pinned the order to a warehouse (``orders.pinned_warehouse_id``,
``cloud.orders.review.pin_warehouse``), to that warehouse only: without the stock there it
waits there as ``out_of_stock`` even if another warehouse has it — and to
that warehouse's least loaded online packing station (``cloud.orders.stations``); its
reservation moves to that warehouse in the same transaction
(``cloud.orders.reservations``: every paid order reserves from the moment it is known,
allocated or not). A line mapped to a kit (组合商品, :mod:`cloud.kits`) needs its components
stock, never the kits. Orders failing any rule go to the exception list with the
reason; stock and mapping failures are retried on later passes, the others wait for a
person.

Stock here is warehouse stock, all locations: on-hand (``stock_balances``) minus the
reservations of orders that are allocated or held for a person. Orders still in the
queue (pending, or waiting for stock, a mapping or a station) are served oldest first,
so their own provisional reservations do not stop each other: an order that cannot be
filled does not hold back a later one that can. All allocations run under one lock
(``BEGIN IMMEDIATE`` on SQLite, a transaction-level advisory lock on PostgreSQL), so two
workers never reserve the same unit twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import kits
from cloud.db import in_chunks, stock_balances, write_transaction
from cloud.db.schema_orders import order_lines, orders, reservations
from cloud.orders import promotions, review_rules
from cloud.orders.order_sync import REFUND_REQUESTED
from cloud.orders.parcels import member_lines
from cloud.orders.reservations import find_mapping, reconcile, serving_warehouses
from cloud.orders.stations import StationPicker
from cloud.reports import summaries

RETRYABLE = ("unmapped", "out_of_stock", "no_station", "no_warehouse")
"""Exception codes re-reviewed on every pass (the cause can go away by itself)."""

EXCEPTION_TEXT = {
    "not_payable": "订单状态不可发货 / not awaiting shipment",
    "risk_review": "平台风控审核中 / under platform risk review",
    "refund": "买家申请退款 / refund requested",
    "buyer_note": "买家留言需人工审核 / buyer note needs review",
    "unmapped": "商品未关联 SKU / unmapped platform SKU",
    "out_of_stock": "库存不足 / out of stock",
    "no_station": "仓库没有可用工作站 / no working station in the warehouse",
    "no_warehouse": "店铺没有发货仓库 / the shop has no warehouse",
    "held": "人工挂起 / held by hand",
    review_rules.AMOUNT_OVER: "订单金额超过限额 / amount over the shop's limit",
}
"""Exception codes with their bilingual reasons."""

ALLOCATION_LOCK_KEY = 0x5041434B
"""PostgreSQL advisory lock key taken by every allocation transaction."""
ALLOCATE_PER_PASS = 1000
"""Orders reviewed per allocation pass, oldest first. A pass is one transaction holding
:data:`ALLOCATION_LOCK_KEY`, which every other shop's allocation waits for: the bound
keeps that wait to one pass; the rest are reviewed next tick."""


@dataclass
class AllocationResult:
    """What an allocation pass did."""

    allocated: list[str] = field(default_factory=list)
    """Order ids allocated (stock reserved)."""
    exceptions: dict[str, str] = field(default_factory=dict)
    """Order id → exception code."""


def free_stock(conn: Connection, warehouse_ids: list[str], skus: set[str]
               ) -> dict[tuple[str, str], int]:
    """(warehouse, sku) → on-hand − units reserved for orders out of the queue
    (allocated, at a station, shipped awaiting their moves, or held for a person)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    if not warehouse_ids or not skus:
        return out
    b = stock_balances.c
    for wh, sku, qty in conn.execute(sa.select(b.warehouse_id, b.sku, sa.func.sum(b.qty)).where(
            b.warehouse_id.in_(warehouse_ids), b.sku.in_(skus)).group_by(b.warehouse_id, b.sku)):
        out[(wh, sku)] += int(qty)
    r, o = reservations.c, orders.c
    queued = sa.or_(o.state == "pending",
                    sa.and_(o.state == "exception", o.exception_code.in_(RETRYABLE)))
    for wh, sku, qty in conn.execute(
            sa.select(r.warehouse_id, r.sku, sa.func.sum(r.qty - r.shipped_qty))
            .join(orders, o.id == r.order_id).where(
                r.warehouse_id.in_(warehouse_ids), r.sku.in_(skus), r.released_at.is_(None),
                ~queued).group_by(r.warehouse_id, r.sku)):
        out[(wh, sku)] -= int(qty)
    return out


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ALLOCATION_LOCK_KEY})


def allocate_pending(engine: Engine, shop_id: str, default_warehouse: str | None, *,
                     limit: int = ALLOCATE_PER_PASS, now: datetime) -> AllocationResult:
    """Review and allocate the shop's pending (and retryable exception) orders."""
    result = AllocationResult()
    with write_transaction(engine) as conn:
        _lock(conn)
        rows = conn.execute(sa.select(orders).where(
            orders.c.shop_id == shop_id,
            sa.or_(orders.c.state == "pending",
                   sa.and_(orders.c.state == "exception", orders.c.exception_code.in_(RETRYABLE))),
        ).order_by(orders.c.first_seen_at, orders.c.id).limit(limit)).all()
        if not rows:
            return result
        whs = serving_warehouses(conn, shop_id, default_warehouse)
        pinned = sorted({r.pinned_warehouse_id for r in rows if r.pinned_warehouse_id} - set(whs))
        lines_by_order: dict[str, list[Any]]
        lines_by_order = defaultdict(list)
        ids = [r.id for r in rows]
        cols = (order_lines.c.order_id, order_lines.c.line_no, order_lines.c.platform_sku_id,
                order_lines.c.outer_id, order_lines.c.sku, order_lines.c.sku_qty,
                order_lines.c.qty)
        for chunk in in_chunks(ids):
            for ln in conn.execute(sa.select(*cols).where(order_lines.c.order_id.in_(chunk))
                                   .order_by(order_lines.c.order_id, order_lines.c.line_no)):
                lines_by_order[ln.order_id].append(ln)
        for primary, ln in member_lines(conn, cols, ids):  # a merged parcel ships them too
            lines_by_order[primary].append(ln)
        all_skus: set[str] = set()
        for lst in lines_by_order.values():
            all_skus.update(ln.sku for ln in lst if ln.sku)
        all_skus = set(kits.explode(conn, dict.fromkeys(all_skus, 1)))
        stock = free_stock(conn, whs + pinned, all_skus)
        picker = StationPicker(conn, now)
        rules = review_rules.rules_for(conn, shop_id)
        promos = promotions.active_for_shop(conn, shop_id)
        unmapped = {ln.order_id for lst in lines_by_order.values() for ln in lst if ln.sku is None}
        for row in rows:
            code, detail, need = _review(conn, shop_id, row, lines_by_order[row.id], rules)
            if code is None and promos:  # passed review: its gifts join the lines
                for sku, qty in promotions.apply_gifts(conn, row.id, now=now,
                                                       candidates=promos):
                    need[sku] = need.get(sku, 0) + qty
            need = kits.explode(conn, need)  # a kit is allocated as its components
            candidates = [row.pinned_warehouse_id] if row.pinned_warehouse_id else whs
            if code is None and not candidates:
                code = "no_warehouse"
            chosen: str | None = None
            if code is None:
                missing_stock = True
                for wh in candidates:
                    if all(stock[(wh, sku)] >= qty for sku, qty in need.items()):
                        chosen, missing_stock = wh, False
                        break
                if missing_stock:
                    # New mappings may have brought SKUs we have not loaded yet.
                    extra = set(need) - all_skus
                    if extra:
                        stock.update(free_stock(conn, whs + pinned, extra))
                        all_skus |= extra
                        for wh in candidates:
                            if all(stock[(wh, sku)] >= qty for sku, qty in need.items()):
                                chosen = wh
                                break
                if chosen is None:
                    code = "out_of_stock"
            station: str | None = None
            if code is None and chosen is not None:
                station = picker.pick(chosen)
                if station is None:
                    code = "no_station"
            if code is not None:
                if code not in RETRYABLE:  # held for a person: its units stay held
                    for wh, sku, qty in conn.execute(sa.select(
                            reservations.c.warehouse_id, reservations.c.sku,
                            reservations.c.qty - reservations.c.shipped_qty).where(
                            reservations.c.order_id == row.id,
                            reservations.c.released_at.is_(None))):
                        stock[(wh, sku)] -= int(qty)
                detail = detail or EXCEPTION_TEXT[code]
                if (row.state != "exception" or row.exception_code != code
                        or row.exception_detail != detail):
                    conn.execute(sa.update(orders).where(orders.c.id == row.id).values(
                        state="exception", exception_code=code, exception_detail=detail,
                        updated_at=now))
                result.exceptions[row.id] = code
                continue
            assert chosen is not None
            for sku, qty in need.items():
                stock[(chosen, sku)] -= qty
            conn.execute(sa.update(orders).where(orders.c.id == row.id).values(
                state="allocated", warehouse_id=chosen, station_id=station,
                exception_code=None, exception_detail=None, updated_at=now))
            result.allocated.append(row.id)
        # Allocated orders' reservations move to their warehouse; held ones keep theirs.
        reconcile(conn, [r.id for r in rows], now=now)
        if unmapped:  # lines mapped on the way are sold under their SKU now
            summaries.touch(conn, unmapped, now=now)
    return result


def _review(conn: Connection, shop_id: str, row: sa.Row[tuple[object, ...]],
            lines: list[Any], rules: review_rules.ReviewRules = review_rules.DEFAULT_RULES
            ) -> tuple[str | None, str | None, dict[str, int]]:
    """(exception code or None, detail, Packline units needed per SKU)."""
    if row.platform_status != "awaiting_shipment":
        return "not_payable", None, {}
    if row.risk_review and rules.hold_risk_review:
        return "risk_review", None, {}
    if row.refund_status in REFUND_REQUESTED.get(row.platform, frozenset()):
        return "refund", None, {}
    held = review_rules.hold_reason(rules, review_rules.OrderFacts(
        row.buyer_note, row.note_approved, bool(row.risk_review), int(row.pay_fen),
        row.amount_approved_fen))
    if held is not None:
        return held[0], held[1][:500], {}
    need: dict[str, int] = defaultdict(int)
    unmapped: list[str] = []
    for ln in lines:
        sku, sku_qty = ln.sku, ln.sku_qty
        if sku is None:
            mapping = find_mapping(conn, shop_id, ln.platform_sku_id, ln.outer_id)
            if mapping is None:
                unmapped.append(ln.outer_id or ln.platform_sku_id)
                continue
            sku, sku_qty = mapping.sku, ln.qty * mapping.units
            conn.execute(sa.update(order_lines).where(
                order_lines.c.order_id == ln.order_id, order_lines.c.line_no == ln.line_no
            ).values(sku=sku, sku_qty=sku_qty))
        need[sku] += int(sku_qty or 0)
    if unmapped or not lines:
        return "unmapped", f"{EXCEPTION_TEXT['unmapped']}: {', '.join(unmapped)}"[:500], {}
    return None, None, dict(need)
