"""Reservations: every paid, unshipped order holds its units, from the moment it is known.

The rule (docs/stock-model.md): an order whose platform status is *awaiting shipment* and
whose Packline state is open (``pending``, ``exception``, ``allocated``, ``tasked``,
``intercepted``) reserves the Packline units of its mapped lines:

* in the warehouse it is allocated to (``allocated``, ``tasked``, ``intercepted``), else
  in the warehouse a person pinned it to (``orders.pinned_warehouse_id``), else
  provisionally in the shop's first serving warehouse (its default warehouse if it
  serves the shop) — held for a buyer note or risk review, refund requested, unmapped
  lines, out of stock: the units are held all the same;
* a line mapped to a kit (组合商品, :mod:`cloud.kits`) reserves the kit's components ×
  kits, never the kit itself (it has no stock of its own);
* a line without a mapping reserves nothing until a mapping exists (the SKU is unknown);
  the mapped lines of the same order do reserve;
* released when the order is cancelled or refunded (``cancelled``), shipped outside
  Packline, or stops being paid; an intercepted order keeps its units until then;
* an order merged into another's parcel (``orders.merged_into``, ``cloud.orders.parcels``)
  reserves nothing itself (released as ``merged``): its primary reserves its lines with
  its own, so the parcel's SHIP moves (made under the primary) consume them.

Shipping is the one exit that is not decided here but in the ledger: the order's SHIP
moves consume the reservation (``shipped_qty``) in the transaction that inserts them, so
on-hand and reserved drop together and no unit is counted twice
(:func:`on_ingest`, called by ingest). The rest of a shipped order's reservation is
released when its shipment and every SHIP move the shipment lists are in the cloud.

:func:`reconcile` makes an order's open reservations match the rule; every transaction
that changes an order (sync, refunds, allocation, waybill failure) calls it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import kits
from cloud.db import in_chunks, stock_moves, warehouses
from cloud.db.schema import station_shipments
from cloud.db.schema_orders import (
    MERGED,
    order_lines,
    orders,
    reservations,
    shop_config,
    shop_warehouses,
    sku_mappings,
)
from cloud.orders.parcels import member_lines
from cloud.reports import summaries
from edge.domain.models import MoveReason

RESERVING_STATES = ("pending", "exception", "allocated", "tasked", "intercepted")
"""Order states (not shipped, not cancelled) whose paid orders hold a reservation."""
PLACED_STATES = ("allocated", "tasked", "intercepted")
"""States in which the reservation sits in the order's own warehouse."""
PAID_STATUS = "awaiting_shipment"
"""``orders.platform_status`` of a paid order waiting to ship."""

Key = tuple[str, str]
"""(warehouse, SKU)."""


# ------------------------------------------------------------------ lookups


@dataclass(frozen=True)
class Mapping:
    """A platform SKU's Packline SKU."""

    sku: str
    """Packline SKU."""
    units: int
    """Packline units per platform unit."""


def find_mapping(conn: Connection, shop_id: str, sku_id: str, outer_id: str) -> Mapping | None:
    """Mapping by platform ``sku_id`` first, else by merchant ``outer_id``."""
    m = sku_mappings.c
    if sku_id:
        row = conn.execute(sa.select(m.sku, m.units).where(
            m.shop_id == shop_id, m.platform_sku_id == sku_id).limit(1)).first()
        if row:
            return Mapping(row[0], row[1])
    if outer_id:
        row = conn.execute(sa.select(m.sku, m.units).where(
            m.shop_id == shop_id, m.outer_id == outer_id).limit(1)).first()
        if row:
            return Mapping(row[0], row[1])
    return None


def serving_warehouses(conn: Connection, shop_id: str, default: str | None) -> list[str]:
    """Warehouses that serve the shop (all when none are configured), default first."""
    ids = [r[0] for r in conn.execute(sa.select(shop_warehouses.c.warehouse_id).where(
        shop_warehouses.c.shop_id == shop_id).order_by(shop_warehouses.c.warehouse_id))]
    if not ids:
        ids = [r[0] for r in conn.execute(sa.select(warehouses.c.id).order_by(warehouses.c.id))]
    if default in ids:
        ids.remove(default)
        ids.insert(0, default)
    return ids


def home_warehouse(conn: Connection, shop_id: str) -> str | None:
    """Where a shop's not-yet-allocated orders reserve: its first serving warehouse."""
    default = conn.execute(sa.select(shop_config.c.default_warehouse_id).where(
        shop_config.c.shop_id == shop_id)).scalar()
    whs = serving_warehouses(conn, shop_id, default)
    return whs[0] if whs else None


def open_reserved(conn: Connection, warehouse_ids: Sequence[str], skus: Iterable[str]
                  ) -> dict[Key, int]:
    """(warehouse, SKU) → units held by open reservations (``qty − shipped_qty``)."""
    r = reservations.c
    out: dict[Key, int] = defaultdict(int)
    skus = list(skus)
    if not warehouse_ids or not skus:
        return out
    for wh, sku, qty in conn.execute(sa.select(
            r.warehouse_id, r.sku, sa.func.sum(r.qty - r.shipped_qty)).where(
            r.warehouse_id.in_(warehouse_ids), r.sku.in_(skus), r.released_at.is_(None)
    ).group_by(r.warehouse_id, r.sku)):
        out[(wh, sku)] += int(qty)
    return out


def shipped_units(conn: Connection, order_ids: Sequence[str]) -> dict[tuple[str, str, str], int]:
    """(order, warehouse, SKU) → units the order's SHIP moves took off on-hand, net of
    reversals of those moves, as far as they have reached the cloud."""
    m = stock_moves.c
    rev = stock_moves.alias("rev")
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for ids in in_chunks(order_ids):
        ship = sa.and_(m.reason == int(MoveReason.SHIP), m.source_type == "order",
                       m.source_id.in_(ids))
        for oid, wh, sku, qty in conn.execute(sa.select(
                m.source_id, m.warehouse_id, m.sku, sa.func.sum(-m.qty_delta)).where(ship)
                .group_by(m.source_id, m.warehouse_id, m.sku)):
            out[(oid, wh, sku)] += int(qty)
        for oid, wh, sku, qty in conn.execute(sa.select(
                m.source_id, rev.c.warehouse_id, rev.c.sku, sa.func.sum(-rev.c.qty_delta))
                .join(rev, rev.c.reverses_move_id == m.move_id).where(ship)
                .group_by(m.source_id, rev.c.warehouse_id, rev.c.sku)):
            out[(oid, wh, sku)] += int(qty)
    return out


# --------------------------------------------------------------- reconcile


def reconcile(conn: Connection, order_ids: Iterable[str], *, now: datetime
              ) -> None:
    """Make the open reservations of ``order_ids`` match the rule (module doc).

    An order with a station shipment is left to :func:`on_ingest` (its SHIP moves decide).
    Unmapped lines are mapped on the way when a mapping exists now.
    """
    ids = sorted(set(order_ids))
    homes: dict[str, str | None] = {}
    for chunk in in_chunks(ids):
        rows = conn.execute(sa.select(
            orders.c.id, orders.c.shop_id, orders.c.state, orders.c.platform_status,
            orders.c.warehouse_id, orders.c.merged_into, orders.c.exception_code,
            orders.c.pinned_warehouse_id).where(orders.c.id.in_(chunk))).all()
        at_station = set(conn.execute(sa.select(station_shipments.c.order_id).where(
            station_shipments.c.order_id.in_(chunk))).scalars())
        lines: dict[str, list[Any]] = defaultdict(list)
        for ln in conn.execute(sa.select(*_LINE_COLUMNS).where(
                order_lines.c.order_id.in_(chunk))):
            lines[ln.order_id].append(ln)
        for primary, ln in member_lines(conn, _LINE_COLUMNS, chunk):  # merged parcels
            lines[primary].append(ln)
        held: dict[str, list[Any]] = defaultdict(list)
        for r in conn.execute(sa.select(reservations).where(reservations.c.order_id.in_(chunk))):
            held[r.order_id].append(r)
        wanted: dict[str, dict[Key, int]] = {}
        reasons: dict[str, str] = {}
        for row in rows:
            if row.id in at_station:
                continue
            if row.merged_into is not None and row.state == "exception" \
                    and row.exception_code == MERGED:  # reserved under its primary
                wanted[row.id] = {}
                reasons[row.id] = "merged"
            elif row.state in RESERVING_STATES and row.platform_status == PAID_STATUS:
                if row.state in PLACED_STATES and row.warehouse_id:
                    wh: str | None = row.warehouse_id
                elif row.pinned_warehouse_id:  # a person chose the warehouse: it waits there
                    wh = row.pinned_warehouse_id
                else:
                    if row.shop_id not in homes:
                        homes[row.shop_id] = home_warehouse(conn, row.shop_id)
                    wh = homes[row.shop_id]
                wanted[row.id] = _units(conn, row.shop_id, wh, lines[row.id], now)
            else:
                wanted[row.id] = {}
                reasons[row.id] = {"cancelled": "cancelled", "shipped": "shipped_elsewhere"
                                   }.get(row.state, "not_paid")
        need_shipped = [oid for oid, want in wanted.items()
                        if any(_reopens(held[oid], key) for key in want)]
        shipped = shipped_units(conn, need_shipped) if need_shipped else {}
        writes = _Writes()
        for oid, want in wanted.items():
            _apply(writes, oid, want, held[oid], reasons.get(oid, "changed"), shipped, now)
        writes.flush(conn, now)


_LINE_COLUMNS = (order_lines.c.order_id, order_lines.c.line_no, order_lines.c.platform_sku_id,
                 order_lines.c.outer_id, order_lines.c.qty, order_lines.c.sku,
                 order_lines.c.sku_qty)


def _units(conn: Connection, shop_id: str, warehouse_id: str | None, lines: list[Any],
           now: datetime) -> dict[Key, int]:
    if warehouse_id is None:
        return {}
    need: dict[Key, int] = defaultdict(int)
    for ln in lines:
        sku, qty = ln.sku, ln.sku_qty
        if sku is None:
            mapping = find_mapping(conn, shop_id, ln.platform_sku_id, ln.outer_id)
            if mapping is None:
                continue
            sku, qty = mapping.sku, ln.qty * mapping.units
            conn.execute(sa.update(order_lines).where(
                order_lines.c.order_id == ln.order_id, order_lines.c.line_no == ln.line_no
            ).values(sku=sku, sku_qty=qty))
            summaries.touch(conn, [ln.order_id], now=now)  # sold under its SKU now
        if qty and qty > 0:
            need[(warehouse_id, sku)] += int(qty)
    if not need:
        return {}
    # a kit (组合商品) holds its components, never itself
    return {(warehouse_id, sku): qty for sku, qty in kits.explode(
        conn, {sku: qty for (_wh, sku), qty in need.items()}).items()}


def _reopens(rows: list[Any], key: Key) -> bool:
    for r in rows:
        if (r.warehouse_id, r.sku) == key:
            return r.released_at is not None and r.release_reason != "shipped"
    return True


class _Writes:
    """The reservation rows :func:`reconcile` changes, written together at the end: one
    ``executemany`` per kind of change instead of a statement per row (same rows, same
    values; each row belongs to one order and one change, so their order does not matter)."""

    def __init__(self) -> None:
        self.insert: list[dict[str, Any]] = []
        """New rows."""
        self.release: list[dict[str, Any]] = []
        """Open rows no longer wanted: (order, warehouse, SKU, reason)."""
        self.resize: list[dict[str, Any]] = []
        """Open rows whose quantity changed."""
        self.reopen: list[dict[str, Any]] = []
        """Released (not shipped) rows wanted again."""

    def flush(self, conn: Connection, now: datetime) -> None:
        r = reservations.c
        row = (r.order_id == sa.bindparam("k_order"), r.warehouse_id == sa.bindparam("k_wh"),
               r.sku == sa.bindparam("k_sku"))
        if self.release:
            conn.execute(sa.update(reservations).where(*row).values(
                released_at=now, release_reason=sa.bindparam("v_reason")), self.release)
        if self.insert:
            conn.execute(sa.insert(reservations), self.insert)
        if self.resize:
            conn.execute(sa.update(reservations).where(*row).values(
                qty=sa.bindparam("v_qty"), shipped_qty=sa.bindparam("v_shipped")), self.resize)
        if self.reopen:
            conn.execute(sa.update(reservations).where(*row).values(
                qty=sa.bindparam("v_qty"), shipped_qty=sa.bindparam("v_shipped"),
                created_at=now, released_at=None, release_reason=None), self.reopen)


def _apply(writes: _Writes, order_id: str, want: dict[Key, int], rows: list[Any],
           reason: str, shipped: dict[tuple[str, str, str], int], now: datetime) -> None:
    by_key = {(x.warehouse_id, x.sku): x for x in rows}
    for key, x in by_key.items():
        if key not in want and x.released_at is None:
            writes.release.append({"k_order": order_id, "k_wh": key[0], "k_sku": key[1],
                                   "v_reason": reason[:32]})
    for (wh, sku), qty in want.items():
        x = by_key.get((wh, sku))
        done = min(qty, max(0, shipped.get((order_id, wh, sku), 0)))
        if x is None:
            writes.insert.append({"order_id": order_id, "sku": sku, "warehouse_id": wh,
                                  "qty": qty, "shipped_qty": done, "created_at": now})
        elif x.released_at is None:
            if x.qty != qty:
                writes.resize.append({"k_order": order_id, "k_wh": wh, "k_sku": sku,
                                      "v_qty": qty, "v_shipped": min(x.shipped_qty, qty)})
        elif x.release_reason != "shipped":
            writes.reopen.append({"k_order": order_id, "k_wh": wh, "k_sku": sku,
                                  "v_qty": qty, "v_shipped": done})


# ------------------------------------------------------------------- ingest


def on_ingest(conn: Connection, move_ids: Iterable[str], shipment_order_ids: Iterable[str],
              *, now: datetime) -> None:
    """Ingest's hook, in the transaction that inserted ``move_ids`` (new moves) and the
    shipments of ``shipment_order_ids``: SHIP moves (and reversals of them) consume their
    orders' reservations; an order whose shipment and every SHIP move it lists are in the
    cloud has the rest released."""
    m = stock_moves.c
    new = sorted(set(move_ids))
    touched = set(shipment_order_ids)
    for chunk in in_chunks(new):
        touched.update(conn.execute(sa.select(m.source_id).where(
            m.move_id.in_(chunk), m.reason == int(MoveReason.SHIP),
            m.source_type == "order")).scalars())
        orig = stock_moves.alias("orig")
        touched.update(conn.execute(sa.select(orig.c.source_id).join(
            stock_moves, m.reverses_move_id == orig.c.move_id).where(
            m.move_id.in_(chunk), orig.c.reason == int(MoveReason.SHIP),
            orig.c.source_type == "order")).scalars())
    ids = sorted(touched)
    if not ids:
        return
    shipped = shipped_units(conn, ids)
    complete = _complete_shipments(conn, ids)
    r = reservations.c
    for chunk in in_chunks(ids):
        for x in conn.execute(sa.select(reservations).where(
                r.order_id.in_(chunk), r.released_at.is_(None))).all():
            done = min(x.qty, max(0, shipped.get((x.order_id, x.warehouse_id, x.sku), 0)))
            values: dict[str, Any] = {}
            if done != x.shipped_qty:
                values["shipped_qty"] = done
            if done == x.qty or x.order_id in complete:
                values.update(released_at=now, release_reason="shipped")
            if values:
                conn.execute(sa.update(reservations).where(
                    r.order_id == x.order_id, r.warehouse_id == x.warehouse_id,
                    r.sku == x.sku).values(**values))


def _complete_shipments(conn: Connection, order_ids: list[str]) -> set[str]:
    """Orders with a station shipment whose listed SHIP moves are all in the cloud."""
    s = station_shipments.c
    listed: dict[str, set[str]] = {}
    for chunk in in_chunks(order_ids):
        for oid, ids in conn.execute(sa.select(s.order_id, s.move_ids).where(
                s.order_id.in_(chunk))):
            if ids is not None:  # a shipment that did not list its moves: wait for them
                listed.setdefault(oid, set()).update(ids)
    wanted = sorted({mid for ids in listed.values() for mid in ids})
    present: set[str] = set()
    for chunk in in_chunks(wanted):
        present.update(conn.execute(sa.select(stock_moves.c.move_id).where(
            stock_moves.c.move_id.in_(chunk))).scalars())
    return {oid for oid, ids in listed.items() if ids <= present}
