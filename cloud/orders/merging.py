"""合并订单 and 拆单 by hand: orders of one shop going to one receiver ship in one parcel,
under one tracking number; an order's lines ship in two parcels. Both can be undone until a
parcel has its waybill.

* **merge** — two or more orders of the same shop with the same receiver
  (:func:`receiver_identity`: PDD's 合单ID, else ``orders.receiver_digest`` — the
  receiver's ciphertext and OAID with the masked region, one buyer's one address) that no station has yet and that have
  no e-waybill (``pending``, ``allocated``, or ``exception`` for a cause that clears by
  itself: :data:`MERGEABLE_CODES`). Each must be ready to ship on its own (paid, no risk
  review, no refund requested, its buyer note empty or approved), so merging never skips
  a review. The earliest order (or the one already carrying a merged parcel) becomes the
  parcel's *primary*; the others wait as ``exception`` / ``merged`` with
  ``orders.merged_into`` set (``cloud.orders.parcels``): the primary reserves their units
  with its own, goes back to ``pending`` (its next allocation reviews the whole parcel),
  then takes one waybill listing every platform order and one pack task with every line;
  when the station ships it the tracking number is written back to every member.
* **unmerge** (取消合并) — while the primary has no waybill (not yet ``tasked``), the whole
  parcel or one member: the member is its own order again (``pending``), reserving its own
  units; the primary keeps its own.

* **split** (拆单) — chosen lines / quantities of an order (in the same states, not merged,
  not split yet) move to a second parcel, an order row ``<order>#2`` with ``split_from``
  (``cloud.orders.parcels``): its own reservation, allocation, waybill (naming the
  original platform order) and task. The platform order takes one tracking number
  (PDD ``logistics.online.send``, docs/specs/marketplaces.md §1.7.7): the original
  parcel's is written back; the second parcel's stays in Packline (Taobao's split
  shipment, ``is_split`` + ``sub_tid`` per sub-order, §2.6.4, is not used yet).
  **unsplit** (取消拆单) puts the lines back while neither parcel has a waybill.

A platform change to a member (closure, refund, new address or note) takes it out of the
parcel by itself (``cloud.orders.order_sync.leave_merge``). Every change here writes an
``order_events`` row per order (who, when, from → to, why) and an audit entry, in the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema_orders import (
    MERGED,
    job_leases,
    order_events,
    order_lines,
    orders,
    reservations,
    waybills,
)
from cloud.errors import InputError, Problem
from cloud.orders.order_sync import REFUND_REQUESTED
from cloud.orders.reservations import PAID_STATUS, reconcile

MERGEABLE_STATES = ("pending", "exception", "allocated")
"""States an order may be merged (or unmerged) in: no station has it, no waybill yet."""
MERGEABLE_CODES = ("unmapped", "out_of_stock", "no_station", "no_warehouse")
"""Exception codes that do not stop a merge: causes that clear by themselves (the same as
``cloud.orders.allocation.RETRYABLE``); any other waits for a person first."""
MERGE_MAX = 20
"""Orders in one parcel at most (one waybill lists at most 100 platform orders; twenty
orders to one address is already far past what a desk merges by hand)."""
REASON_MAX = 500
"""Longest reason kept."""


@dataclass(frozen=True, slots=True)
class ParcelMember:
    """One order of a merged parcel, for the order page."""

    order_id: str
    platform_order_id: str
    state: str
    primary: bool


@dataclass(frozen=True, slots=True)
class Parcel:
    """The merged parcel an order belongs to (primary first)."""

    primary_id: str
    members: list[ParcelMember]
    unmergeable: bool
    """Whether it can still be taken apart (the primary has no waybill)."""


def receiver_identity(row: Any) -> str:
    """Who and where an order goes, for merging: PDD's 合单ID (``open_address_id_2``, kept
    as ``merge_key`` beside the ciphertext — PDD encrypts each order's receiver
    differently), else the receiver digest (Taobao's ``oaid`` is per buyer and address).
    An order synced before the 合单ID was read has only the digest."""
    key = (row.receiver_cipher or {}).get("merge_key", "")
    return f"pdd:{key}" if key else str(row.receiver_digest or "")


def _rows(conn: Connection, order_ids: Sequence[str]) -> dict[str, Any]:
    """The orders by id, locked for the transaction on PostgreSQL (SQLite's write lock
    already serialises writers)."""
    o = orders.c
    query = sa.select(orders).where(o.id.in_(list(order_ids)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {r.id: r for r in conn.execute(query)}


def _has_waybill(conn: Connection, order_id: str) -> bool:
    """Whether the order (a parcel) has its e-waybill."""
    return conn.execute(sa.select(waybills.c.order_id).where(
        waybills.c.order_id == order_id)).first() is not None


def _claimed(conn: Connection, order_id: str, now: datetime) -> bool:
    """A worker is asking the platform for the order's waybill right now."""
    j = job_leases.c
    return conn.execute(sa.select(j.job).where(
        j.job == f"waybill:{order_id}", j.owner.is_not(None), j.lease_until > now)).first() is not None


def _members(conn: Connection, primary: str) -> list[str]:
    """The members still waiting in ``primary``'s parcel, oldest first."""
    o = orders.c
    return list(conn.execute(sa.select(o.id).where(
        o.merged_into == primary, o.state == "exception", o.exception_code == MERGED)
        .order_by(o.first_seen_at, o.id)).scalars())


def _not_ready(row: Any) -> tuple[str, str] | None:
    """Why the order cannot go into a parcel (zh, en), or None."""
    if row.merged_into is not None and row.exception_code == MERGED:
        return "已合并到另一个订单", "already merged into another order"
    if row.state not in MERGEABLE_STATES or (
            row.state == "exception" and row.exception_code not in MERGEABLE_CODES):
        return "已发货、已到工作站、已关闭或待人工处理的订单不能合并", \
            "shipped, at a station, closed or waiting for a person: cannot merge"
    if row.platform_status != PAID_STATUS:
        return "订单状态不可发货", "not awaiting shipment"
    if row.risk_review:
        return "平台风控审核中", "under platform risk review"
    if row.refund_status in REFUND_REQUESTED.get(row.platform, frozenset()):
        return "买家申请退款", "refund requested"
    if row.buyer_note.strip() and row.buyer_note != row.note_approved:
        return "买家留言未审核, 先审核再合并", "buyer note not approved yet: approve it first"
    return None


def _record(conn: Connection, order_id: str, *, actor: str, action: str, from_state: str,
            to_state: str, reason: str, detail: dict[str, Any], now: datetime) -> None:
    """An ``order_events`` row (who, when, from → to, why) and its audit entry."""
    conn.execute(sa.insert(order_events).values(
        order_id=order_id, at=now, actor=actor[:64], action=action, from_state=from_state,
        to_state=to_state, reason=reason))
    audit.record(conn, now, actor, f"order.{action}", order_id,
                 {"from": from_state, "to": to_state, "reason": reason, **detail})


def merge(conn: Connection, order_ids: Sequence[str], *, actor: str, reason: str = "",
          now: datetime) -> str:
    """Merge the orders into one parcel (module doc); returns the primary's id. Refused
    with every problem found (``InputError``, field ``orders``), nothing written."""
    ids = list(dict.fromkeys(i for i in order_ids if i))
    reason = reason.strip()[:REASON_MAX]
    if len(ids) < 2:
        raise InputError([Problem("orders", "至少选择两个订单才能合并",
                                  "select at least two orders to merge")])
    if len(ids) > MERGE_MAX:
        raise InputError([Problem("orders", f"一次最多合并 {MERGE_MAX} 个订单",
                                  f"at most {MERGE_MAX} orders in one parcel")])
    rows = _rows(conn, ids)
    problems: list[Problem] = []
    for oid in ids:
        if oid not in rows:
            problems.append(Problem("orders", f"没有订单 {oid}", f"no order {oid}"))
    if problems:
        raise InputError(problems)
    primaries = [oid for oid in ids if _members(conn, oid)]
    for oid in ids:
        row = rows[oid]
        why = _not_ready(row)
        if why is None and (_has_waybill(conn, oid) or _claimed(conn, oid, now)):
            why = "已取面单或正在取面单, 不能合并", "has (or is getting) an e-waybill: cannot merge"
        if why is not None:
            problems.append(Problem("orders", f"{row.platform_order_id}: {why[0]}",
                                    f"{row.platform_order_id}: {why[1]}"))
    first = rows[ids[0]]
    if any(rows[oid].shop_id != first.shop_id for oid in ids):
        problems.append(Problem("orders", "不同店铺的订单不能合并",
                                "orders of different shops cannot be merged"))
    elif any(not receiver_identity(rows[oid]) for oid in ids):
        problems.append(Problem("orders", "收件地址未知的订单不能合并",
                                "an order without a known receiver cannot be merged"))
    elif len({receiver_identity(rows[oid]) for oid in ids}) > 1:
        problems.append(Problem("orders", "不同收件地址的订单不能合并",
                                "orders to different receivers or addresses cannot be merged"))
    if len(primaries) > 1:
        problems.append(Problem("orders", "选中的订单里有两个合并包裹, 先取消其中一个的合并",
                                "two of the selected orders already carry a merged parcel: "
                                "unmerge one first"))
    if problems:
        raise InputError(problems)
    if primaries:
        primary = primaries[0]
    else:
        primary = min(ids, key=lambda i: (rows[i].ordered_at or rows[i].first_seen_at,
                                          rows[i].first_seen_at, i))
    if len(_members(conn, primary)) + len(ids) > MERGE_MAX:
        raise InputError([Problem("orders", f"一个包裹最多 {MERGE_MAX} 个订单",
                                  f"at most {MERGE_MAX} orders in one parcel")])
    p = rows[primary]
    members = [oid for oid in ids if oid != primary]
    detail = f"已合并到 {p.platform_order_id} / merged into {p.platform_order_id}"
    for oid in members:
        row = rows[oid]
        conn.execute(sa.update(orders).where(orders.c.id == oid).values(
            merged_into=primary, state="exception", exception_code=MERGED,
            exception_detail=detail[:500], warehouse_id=None, station_id=None, updated_at=now))
        _record(conn, oid, actor=actor, action="merge", from_state=row.state,
                to_state="exception", reason=reason or detail,
                detail={"primary": primary}, now=now)
    # The parcel grew: the next allocation pass reviews it whole (stock for every line).
    to_state = "pending" if p.state == "allocated" else p.state
    conn.execute(sa.update(orders).where(orders.c.id == primary).values(
        state=to_state, warehouse_id=None if to_state == "pending" else p.warehouse_id,
        station_id=None if to_state == "pending" else p.station_id, updated_at=now))
    _record(conn, primary, actor=actor, action="merge", from_state=p.state, to_state=to_state,
            reason=reason or ("合并: " + ", ".join(rows[m].platform_order_id for m in members)),
            detail={"members": members}, now=now)
    reconcile(conn, [primary, *members], now=now)
    return primary


def unmerge(conn: Connection, order_id: str, *, actor: str, reason: str = "",
            now: datetime) -> list[str]:
    """Take a parcel apart (``order_id`` its primary: every member leaves) or take one
    member out of it (``order_id`` a member); returns the orders that left. Refused once
    the primary has a waybill."""
    reason = reason.strip()[:REASON_MAX]
    row = _rows(conn, [order_id]).get(order_id)
    if row is None:
        raise InputError([Problem("", f"没有订单 {order_id}", f"no order {order_id}")])
    is_member = row.merged_into is not None and row.state == "exception" \
        and row.exception_code == MERGED
    primary = row.merged_into if is_member else order_id
    leaving = [order_id] if is_member else _members(conn, order_id)
    if not leaving:
        raise InputError([Problem("", "该订单没有合并", "the order is not merged")])
    p = _rows(conn, [primary])[primary]
    if p.state not in MERGEABLE_STATES or _has_waybill(conn, primary) \
            or _claimed(conn, primary, now):
        raise InputError([Problem("", "包裹已取面单或已到工作站, 不能取消合并",
                                  "the parcel has its e-waybill or is at a station: "
                                  "cannot unmerge")])
    for oid in leaving:
        conn.execute(sa.update(orders).where(orders.c.id == oid).values(
            merged_into=None, state="pending", exception_code=None, exception_detail=None,
            updated_at=now))
        _record(conn, oid, actor=actor, action="unmerge", from_state="exception",
                to_state="pending", reason=reason, detail={"primary": primary}, now=now)
    _record(conn, primary, actor=actor, action="unmerge", from_state=p.state,
            to_state=p.state, reason=reason, detail={"members": leaving}, now=now)
    reconcile(conn, [primary, *leaving], now=now)
    return leaving


def parcel_of(conn: Connection, order_id: str) -> Parcel | None:
    """The merged parcel the order is in or carries (also after shipping), or None."""
    o = orders.c
    row = conn.execute(sa.select(o.id, o.merged_into).where(o.id == order_id)).first()
    if row is None:
        return None
    is_member = conn.execute(sa.select(o.id).where(
        o.id == order_id, o.exception_code == MERGED,
        o.state.in_(("exception", "shipped")))).first() is not None
    primary = row.merged_into if row.merged_into and is_member else row.id
    in_parcel = sa.and_(o.merged_into == primary, o.exception_code == MERGED,
                        o.state.in_(("exception", "shipped")))
    rows = conn.execute(sa.select(o.id, o.platform_order_id, o.state, o.merged_into)
                        .where(sa.or_(o.id == primary, in_parcel))
                        .order_by(o.first_seen_at, o.id)).all()
    if len(rows) < 2:
        return None
    prow = next((r for r in rows if r.id == primary), None)
    if prow is None:
        return None
    members = [ParcelMember(r.id, r.platform_order_id, r.state, r.id == primary)
               for r in sorted(rows, key=lambda r: r.id != primary)]
    unmergeable = prow.state in MERGEABLE_STATES and not _has_waybill(conn, primary) \
        and bool(_members(conn, primary))
    return Parcel(primary, members, unmergeable)


# ---------------------------------------------------------------------------- 拆单

SPLIT_SUFFIX = "#2"
"""Appended to an order's id and platform order number to name its second parcel."""


@dataclass(frozen=True, slots=True)
class Split:
    """An order split into two parcels, for the order page."""

    parent_id: str
    parent_no: str
    child_id: str
    child_no: str
    undoable: bool
    """Whether it can still be undone (neither parcel has a waybill)."""


def _parcel_free(conn: Connection, row: Any, now: datetime) -> bool:
    """No station has the parcel and it has (and is getting) no waybill."""
    return row.state in MERGEABLE_STATES and not _has_waybill(conn, row.id) \
        and not _claimed(conn, row.id, now)


def split(conn: Connection, order_id: str, moves: dict[int, int], *, actor: str,
          reason: str = "", now: datetime) -> str:
    """Move ``moves`` (line no → platform units) of the order into a second parcel
    ``<order>#2`` (module doc of ``cloud.orders.parcels``); returns its id. Refused with
    every problem found (per line: field ``qty_<line no>``, else ``split``), nothing
    written."""
    reason = reason.strip()[:REASON_MAX]
    row = _rows(conn, [order_id]).get(order_id)
    if row is None:
        raise InputError([Problem("", f"没有订单 {order_id}", f"no order {order_id}")])
    problems: list[Problem] = []
    why = _not_ready(row)
    if why is None and not _parcel_free(conn, row, now):
        why = "已取面单或正在取面单", "has (or is getting) an e-waybill"
    if why is None and (row.split_from or _members(conn, order_id)
                        or conn.execute(sa.select(orders.c.id).where(
                            orders.c.split_from == order_id)).first() is not None):
        why = "已拆过或已合并的订单不能再拆, 先取消", "already split or merged: undo that first"
    if why is not None:
        raise InputError([Problem("split", f"不能拆单: {why[0]}", f"cannot split: {why[1]}")])
    ln = order_lines.c
    lines = {int(r.line_no): r for r in conn.execute(sa.select(order_lines).where(
        ln.order_id == order_id))}
    for line_no, qty in sorted(moves.items()):
        if line_no not in lines:
            problems.append(Problem(f"qty_{line_no}", f"没有第 {line_no} 行", f"no line {line_no}"))
        elif qty < 0 or qty > lines[line_no].qty:
            problems.append(Problem(f"qty_{line_no}",
                                    f"拆出数量应在 0 到 {lines[line_no].qty} 之间",
                                    f"move between 0 and {lines[line_no].qty}"))
    moving = {n: q for n, q in moves.items() if n in lines and 0 < q <= lines[n].qty}
    if not problems:
        if not moving:
            problems.append(Problem("split", "请填写要拆到第二个包裹的数量",
                                    "say how many units go into the second parcel"))
        elif all(moving.get(n, 0) == r.qty for n, r in lines.items()):
            problems.append(Problem("split", "第一个包裹不能是空的",
                                    "the first parcel cannot be empty"))
    if problems:
        raise InputError(problems)
    child = f"{order_id}{SPLIT_SUFFIX}"
    keep = {k: v for k, v in row._mapping.items()
            if k not in ("id", "platform_order_id", "state", "exception_code", "exception_detail",
                         "warehouse_id", "station_id", "merged_into", "split_from", "revision",
                         "pay_fen", "updated_at")}
    conn.execute(sa.insert(orders).values(
        **keep, id=child, platform_order_id=f"{row.platform_order_id}{SPLIT_SUFFIX}",
        state="pending", split_from=order_id, revision=1, pay_fen=0, updated_at=now))
    for line_no, qty in sorted(moving.items()):
        r = lines[line_no]
        units = int(r.sku_qty) // int(r.qty) if r.sku_qty is not None else None
        conn.execute(sa.insert(order_lines).values(
            {**dict(r._mapping), "order_id": child, "qty": qty,
             "sku_qty": qty * units if units is not None else None}))
        where = (ln.order_id == order_id, ln.line_no == line_no)
        if qty == r.qty:
            conn.execute(sa.delete(order_lines).where(*where))
        else:
            conn.execute(sa.update(order_lines).where(*where).values(
                qty=r.qty - qty, sku_qty=(r.qty - qty) * units if units is not None else None))
    to_state = "pending" if row.state == "allocated" else row.state
    if to_state != row.state:
        conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
            state=to_state, warehouse_id=None, station_id=None, updated_at=now))
    moved_text = ", ".join(f"#{n}×{q}" for n, q in sorted(moving.items()))
    _record(conn, order_id, actor=actor, action="split", from_state=row.state,
            to_state=to_state, reason=reason or f"拆出 {moved_text}",
            detail={"parcel": child, "moved": {str(n): q for n, q in moving.items()}}, now=now)
    reconcile(conn, [order_id, child], now=now)
    return child


def unsplit(conn: Connection, order_id: str, *, actor: str, reason: str = "",
            now: datetime) -> str:
    """Put an order's second parcel back into it (``order_id`` either of the two) while
    neither has a waybill; the second parcel is removed. Returns the order's id."""
    reason = reason.strip()[:REASON_MAX]
    row = _rows(conn, [order_id]).get(order_id)
    if row is None:
        raise InputError([Problem("", f"没有订单 {order_id}", f"no order {order_id}")])
    parent_id = row.split_from or order_id
    child_id = f"{parent_id}{SPLIT_SUFFIX}"
    both = _rows(conn, [parent_id, child_id])
    if child_id not in both or both[child_id].split_from != parent_id or parent_id not in both:
        raise InputError([Problem("", "该订单没有拆单", "the order is not split")])
    parent, child = both[parent_id], both[child_id]
    if not (_parcel_free(conn, parent, now) and _parcel_free(conn, child, now)):
        raise InputError([Problem("", "包裹已取面单或已到工作站, 不能取消拆单",
                                  "a parcel has its e-waybill or is at a station: cannot undo")])
    ln = order_lines.c
    own = {int(r.line_no): r for r in conn.execute(sa.select(order_lines).where(
        ln.order_id == parent_id))}
    for r in conn.execute(sa.select(order_lines).where(ln.order_id == child_id)).all():
        mine = own.get(int(r.line_no))
        if mine is None:
            conn.execute(sa.insert(order_lines).values({**dict(r._mapping), "order_id": parent_id}))
        else:
            conn.execute(sa.update(order_lines).where(
                ln.order_id == parent_id, ln.line_no == r.line_no).values(
                qty=mine.qty + r.qty,
                sku_qty=(mine.sku_qty + r.sku_qty
                         if mine.sku_qty is not None and r.sku_qty is not None else None)))
    conn.execute(sa.delete(order_lines).where(ln.order_id == child_id))
    conn.execute(sa.delete(reservations).where(reservations.c.order_id == child_id))
    conn.execute(sa.delete(order_events).where(order_events.c.order_id == child_id))
    conn.execute(sa.delete(orders).where(orders.c.id == child_id))
    _record(conn, parent_id, actor=actor, action="unsplit", from_state=parent.state,
            to_state=parent.state, reason=reason, detail={"parcel": child_id}, now=now)
    reconcile(conn, [parent_id], now=now)
    return parent_id


def split_of(conn: Connection, order_id: str) -> Split | None:
    """The split the order is part of (either parcel), or None."""
    o = orders.c
    row = conn.execute(sa.select(o.id, o.split_from).where(o.id == order_id)).first()
    if row is None:
        return None
    parent_id = row.split_from or order_id
    rows = {r.id: r for r in conn.execute(sa.select(orders).where(
        sa.or_(o.id == parent_id, o.split_from == parent_id)))}
    child = next((r for r in rows.values() if r.split_from == parent_id), None)
    parent = rows.get(parent_id)
    if child is None or parent is None:
        return None
    undoable = all(r.state in MERGEABLE_STATES and not _has_waybill(conn, r.id)
                   for r in (parent, child))
    return Split(parent.id, parent.platform_order_id, child.id, child.platform_order_id, undoable)


@dataclass(frozen=True, slots=True)
class OrderParcels:
    """What the order page shows about parcels."""

    merged: Parcel | None
    """The merged parcel the order is in or carries."""
    split: Split | None
    """The split the order is part of."""
    splittable: bool
    """Whether the order may be split now (a person with ``orders.review``)."""


def order_parcels(conn: Connection, order_id: str, *, now: datetime) -> OrderParcels:
    """The order's merged parcel, its split, and whether it may be split."""
    merged, split_ = parcel_of(conn, order_id), split_of(conn, order_id)
    row = conn.execute(sa.select(orders).where(orders.c.id == order_id)).first()
    splittable = (row is not None and merged is None and split_ is None
                  and _not_ready(row) is None and _parcel_free(conn, row, now)
                  and sum(int(q) for q in conn.execute(sa.select(order_lines.c.qty).where(
                      order_lines.c.order_id == order_id)).scalars()) > 1)
    return OrderParcels(merged, split_, splittable)
