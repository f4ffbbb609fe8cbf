"""Parcels: which platform orders ship in one box.

An order normally is its own parcel. Orders merged by a person (合并订单,
:mod:`cloud.orders.merging`) ship in the parcel of their *primary*: each member has
``orders.merged_into`` = the primary's id and waits as ``exception`` / ``merged``. The
steps below the merge read a parcel through these helpers:

* reservations — the primary reserves the units of every member's lines, a member none
  (:func:`cloud.orders.reservations.reconcile`);
* allocation and the pack task — the primary's lines followed by its members' lines
  (:func:`lines_of`);
* the e-waybill — one waybill for the parcel, listing every member's platform order;
* write-back — the parcel's tracking number goes to the primary and to every member
  (:func:`cloud.orders.writeback.collect_shipments`).

This module is the bottom of ``cloud.orders`` (it imports no other step).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db import in_chunks
from cloud.db.schema_orders import MERGED, order_lines, orders


def _waiting(primaries: Any, shipped: bool = False) -> Any:
    """Members still waiting in their primary's parcel (not cancelled, not shipped); with
    ``shipped``, also those that shipped in it."""
    o = orders.c
    states = ("exception", "shipped") if shipped else ("exception",)
    return sa.and_(o.merged_into.in_(primaries), o.state.in_(states),
                   o.exception_code == MERGED)


def members_of(conn: Connection, primary_ids: Iterable[str], *, shipped: bool = False
               ) -> dict[str, list[str]]:
    """Primary id → its waiting members' ids (oldest first); primaries without are absent.
    A member that left (cancelled, refunded) is not counted, nor (unless ``shipped``: a
    later, modified tracking number goes to them too) one that shipped with the parcel."""
    out: dict[str, list[str]] = defaultdict(list)
    o = orders.c
    for chunk in in_chunks(sorted(set(primary_ids))):
        for mid, primary in conn.execute(sa.select(o.id, o.merged_into).where(
                _waiting(chunk, shipped)).order_by(o.first_seen_at, o.id)):
            out[primary].append(mid)
    return dict(out)


def member_lines(conn: Connection, columns: Sequence[Any], primary_ids: Iterable[str]
                 ) -> list[tuple[str, Any]]:
    """(primary id, line) for every line of the members of ``primary_ids``: ``columns`` of
    ``order_lines`` (include ``order_id`` to know the member), members oldest first."""
    o = orders.c
    out: list[tuple[str, Any]] = []
    for chunk in in_chunks(sorted(set(primary_ids))):
        for row in conn.execute(
                sa.select(o.merged_into.label("parcel_of"), *columns)
                .select_from(order_lines.join(orders, o.id == order_lines.c.order_id))
                .where(_waiting(chunk))
                .order_by(o.first_seen_at, o.id, order_lines.c.line_no)):
            out.append((row.parcel_of, row))
    return out


def lines_of(conn: Connection, order_id: str) -> list[tuple[str, int, str, str | None,
                                                            int | None, int]]:
    """The lines of the parcel ``order_id`` ships: its own, then its members' —
    (order id, line no, title, SKU, SKU units, platform qty) each."""
    ln = order_lines.c
    cols = (ln.order_id, ln.line_no, ln.title, ln.sku, ln.sku_qty, ln.qty)
    own = [tuple(r) for r in conn.execute(sa.select(*cols).where(ln.order_id == order_id)
                                          .order_by(ln.line_no))]
    more = [tuple(r[1:]) for _p, r in member_lines(conn, cols, [order_id])]
    return [(str(a), int(b), str(c or ""), d, e, int(f)) for a, b, c, d, e, f in own + more]


# ------------------------------------------------------------------ split parcels
#
# 拆单 (:mod:`cloud.orders.splitting`): chosen lines / quantities of an order move to a second
# parcel, an ``orders`` row ``<order>#2`` with ``split_from`` = the order. It has its own
# lines, reservation, waybill and task; the order keeps the rest. The platform order is the
# original's: the second parcel's waybill names it, and only the original's shipment writes
# a tracking number back (a platform order takes one: docs/specs/marketplaces.md §1.7.7).


def split_children(conn: Connection, order_id: str) -> list[str]:
    """The second parcels split off ``order_id`` that are not cancelled."""
    o = orders.c
    return list(conn.execute(sa.select(o.id).where(
        o.split_from == order_id, o.state != "cancelled").order_by(o.id)).scalars())


def apply_splits(conn: Connection, order_id: str) -> None:
    """After the order's lines were written again from the platform: take off what its
    second parcels carry (a line all moved away is removed)."""
    children = split_children(conn, order_id)
    if not children:
        return
    ln = order_lines.c
    moved: dict[int, int] = defaultdict(int)
    for line_no, qty in conn.execute(sa.select(ln.line_no, ln.qty).where(
            ln.order_id.in_(children))):
        moved[int(line_no)] += int(qty)
    for row in conn.execute(sa.select(ln.line_no, ln.qty, ln.sku_qty).where(
            ln.order_id == order_id, ln.line_no.in_(list(moved)))).all():
        left = int(row.qty) - moved[int(row.line_no)]
        where = (ln.order_id == order_id, ln.line_no == row.line_no)
        if left <= 0:
            conn.execute(sa.delete(order_lines).where(*where))
        else:
            units = int(row.sku_qty) // int(row.qty) if row.sku_qty is not None else None
            conn.execute(sa.update(order_lines).where(*where).values(
                qty=left, sku_qty=left * units if units is not None else None))


def platform_order_ids(conn: Connection, row: Any) -> list[str]:
    """The platform orders a parcel ships for (its e-waybill's ``trade_order_list``): its
    own (a second parcel or an exchange: the original's), then its merged members'."""
    o = orders.c
    parent_id = row.split_from or getattr(row, "exchange_of", None)
    if parent_id:
        parent = conn.execute(sa.select(o.platform_order_id).where(
            o.id == parent_id)).scalar()
        return [str(parent or row.platform_order_id)]
    members = members_of(conn, [row.id]).get(row.id, [])
    if not members:
        return [row.platform_order_id]
    return [row.platform_order_id, *conn.execute(
        sa.select(o.platform_order_id).where(o.id.in_(members))
        .order_by(o.first_seen_at, o.id)).scalars()]
