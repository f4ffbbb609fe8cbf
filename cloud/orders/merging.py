"""合并订单 by hand: orders of one shop going to one receiver ship in one parcel, under one
tracking number, and can be taken apart again until the parcel has a waybill.

* **merge** — two or more orders of the same shop with the same receiver
  (``orders.receiver_digest``: the platform's receiver name, phone and address ciphertext
  with the masked region — one buyer's one address) that no station has yet and that have
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
from cloud.db.schema_orders import MERGED, job_leases, order_events, orders, waybills
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


def _rows(conn: Connection, order_ids: Sequence[str]) -> dict[str, Any]:
    o = orders.c
    query = sa.select(orders).where(o.id.in_(list(order_ids)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {r.id: r for r in conn.execute(query)}


def _has_waybill(conn: Connection, order_id: str) -> bool:
    return conn.execute(sa.select(waybills.c.order_id).where(
        waybills.c.order_id == order_id)).first() is not None


def _claimed(conn: Connection, order_id: str, now: datetime) -> bool:
    """A worker is asking the platform for the order's waybill right now."""
    j = job_leases.c
    return conn.execute(sa.select(j.job).where(
        j.job == f"waybill:{order_id}", j.owner.is_not(None), j.lease_until > now)).first() is not None


def _members(conn: Connection, primary: str) -> list[str]:
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
    elif any(not rows[oid].receiver_digest for oid in ids):
        problems.append(Problem("orders", "收件地址未知的订单不能合并",
                                "an order without a known receiver cannot be merged"))
    elif any(rows[oid].receiver_digest != first.receiver_digest for oid in ids):
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
    primary = row.merged_into or row.id
    rows = conn.execute(sa.select(o.id, o.platform_order_id, o.state, o.merged_into)
                        .where(sa.or_(o.id == primary, o.merged_into == primary))
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
