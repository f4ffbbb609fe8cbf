"""审单 by hand: approve an order held for its buyer note, hold an order with a reason,
release a hold. Each writes an ``order_events`` row (who, when, from → to, why) and an
audit entry in the caller's transaction; the next allocation pass does the rest.

* **approve** — an order in ``exception`` for its buyer note: the note is recorded as
  approved (``orders.note_approved``) and the order goes back to ``pending``; a later,
  different note from the buyer stops it again. An order over its shop's amount limit
  (``amount_over``) is approved the same way (``orders.amount_approved_fen``). Approving
  adds the order's promotion gifts (``cloud.orders.promotions``; the person is the actor).
* **hold** — an order not yet at a station (``pending``, ``exception``, ``allocated``)
  becomes ``exception`` with code ``held`` and the reason; it keeps its reservation (it is
  still paid), no allocation pass touches it, and a platform update does not lift it.
  An order at a station (``tasked``) is stopped there: an intercept (cause ``manual:hold``)
  goes down and the order is ``intercepted``.
* **release** — a held order goes back to ``pending``; an order a person intercepted is
  released at its station (``tasked`` again) unless a refund or an address change still
  holds it there.
* **pin a warehouse** (手工指定仓库, action ``allocate``) — an order not yet at a station
  (``pending``, ``allocated``, or waiting for stock, a mapping, a station or a warehouse)
  is pinned to one of its shop's serving warehouses (``orders.pinned_warehouse_id``): its
  reservation moves there at once, and allocation reserves and waits there only. An order
  allocated elsewhere goes back to ``pending`` (its old reservation released) for the
  next pass. Unpinning returns the order to automatic choice (an allocated order stays
  where it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema_orders import HELD, MERGED, order_events, order_intercepts, orders
from cloud.errors import InputError, Problem
from cloud.orders.intercepts import SHORT_PICK_PREFIX, intercept, lift_intercepts
from cloud.orders.promotions import apply_gifts
from cloud.orders.reservations import reconcile, serving_warehouses
from cloud.orders.review_rules import AMOUNT_OVER

HOLDABLE_STATES = ("pending", "exception", "allocated", "tasked")
"""States a hold applies to (a tasked order is intercepted at its station)."""
MANUAL_CAUSE = "manual:hold"
"""The intercept cause of a person's hold on an order at a station."""
REASON_MAX = 500
"""Longest reason kept."""
APPROVABLE = ("buyer_note", AMOUNT_OVER)
"""Exception codes a person approves (the note, or the amount, is then accepted)."""
PINNABLE_STATES = ("pending", "allocated")
"""States in which an order can be pinned to a warehouse (besides the exceptions below)."""
PINNABLE_EXCEPTIONS = ("out_of_stock", "unmapped", "no_station", "no_warehouse")
"""Exception codes of orders waiting for allocation that can be pinned to a warehouse."""
PIN_ACTION = "allocate"
"""``order_events.action`` of pinning (or unpinning) an order's warehouse."""


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One state change made by a person."""

    at: datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    reason: str


def _current(conn: Connection, order_id: str) -> sa.Row:  # type: ignore[type-arg]
    row = conn.execute(sa.select(orders.c.state, orders.c.exception_code, orders.c.buyer_note,
                                 orders.c.station_id, orders.c.pay_fen)
                       .where(orders.c.id == order_id).with_for_update()).first()
    if row is None:
        raise InputError([Problem("", f"没有订单 {order_id}", f"no order {order_id}")])
    return row


def _record(conn: Connection, order_id: str, *, actor: str, action: str, from_state: str,
            to_state: str, reason: str, now: datetime) -> None:
    conn.execute(sa.insert(order_events).values(
        order_id=order_id, at=now, actor=actor[:64], action=action, from_state=from_state,
        to_state=to_state, reason=reason))
    audit.record(conn, now, actor, f"order.{action}", order_id,
                 {"from": from_state, "to": to_state, "reason": reason})


def approve(conn: Connection, order_id: str, *, actor: str, note: str, now: datetime) -> None:
    """Approve the buyer note (or the amount) of an order held for it (back to ``pending``),
    and add the gifts of the promotions it qualifies for."""
    row = _current(conn, order_id)
    if row.state != "exception" or row.exception_code not in APPROVABLE:
        raise InputError([Problem(
            "", "只有因买家留言或金额超限待审的订单可以审核通过",
            "only an order held for its buyer note or amount can be approved")])
    approved = ({"note_approved": row.buyer_note} if row.exception_code == "buyer_note"
                else {"amount_approved_fen": row.pay_fen})
    conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
        state="pending", exception_code=None, exception_detail=None, updated_at=now, **approved))
    _record(conn, order_id, actor=actor, action="approve", from_state=row.state,
            to_state="pending", reason=note.strip()[:REASON_MAX], now=now)
    apply_gifts(conn, order_id, actor=actor, now=now)


def hold(conn: Connection, order_id: str, *, actor: str, reason: str, now: datetime) -> None:
    """Hold an order with a reason (required): held before a station has it, intercepted
    at its station once it does."""
    reason = reason.strip()
    problems = []
    if not reason:
        problems.append(Problem("reason", "请写明挂起原因", "say why the order is held"))
    row = _current(conn, order_id)
    if row.state not in HOLDABLE_STATES or row.exception_code in (HELD, MERGED):
        problems.append(Problem("", "该订单已发货、已关闭或已挂起, 不能挂起",
                                "the order is shipped, closed or already held"))
    if problems:
        raise InputError(problems)
    if row.state == "tasked":
        intercept(conn, order_id, row.station_id, MANUAL_CAUSE, reason[:REASON_MAX], now=now)
        conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
            state="intercepted", updated_at=now))
        _record(conn, order_id, actor=actor, action="hold", from_state=row.state,
                to_state="intercepted", reason=reason[:REASON_MAX], now=now)
        return
    conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
        state="exception", exception_code=HELD, exception_detail=reason[:REASON_MAX],
        warehouse_id=None, station_id=None, updated_at=now))
    reconcile(conn, [order_id], now=now)  # still paid: its units stay held
    _record(conn, order_id, actor=actor, action="hold", from_state=row.state,
            to_state="exception", reason=reason[:REASON_MAX], now=now)


def held_at_station(conn: Connection, order_id: str) -> bool:
    """Does a person's intercept, or a short pick's (拣货缺货), stand on the order?"""
    oi = order_intercepts.c
    return conn.execute(sa.select(oi.order_id).where(
        oi.order_id == order_id, oi.lifted_at.is_(None),
        (oi.cause == MANUAL_CAUSE) | oi.cause.startswith(SHORT_PICK_PREFIX))).first() is not None


def release(conn: Connection, order_id: str, *, actor: str, now: datetime) -> None:
    """Lift a person's hold: a held order goes back to ``pending`` (the next pass reviews
    it); an order a person intercepted, or a wave's pick left short (the goods found
    since), is released at its station, and is ``tasked`` again
    unless a refund or an address change still holds it there."""
    row = _current(conn, order_id)
    if row.state == "intercepted" and held_at_station(conn, order_id):
        released = lift_intercepts(conn, order_id, "manual:", "人工取消挂起 / released by hand",
                                   now=now)
        released = lift_intercepts(conn, order_id, SHORT_PICK_PREFIX,
                                   "人工取消挂起 / released by hand", now=now) or released
        to_state = "tasked" if released else "intercepted"
        if released:
            conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
                state="tasked", updated_at=now))
        _record(conn, order_id, actor=actor, action="release", from_state=row.state,
                to_state=to_state, reason="", now=now)
        return
    if row.state != "exception" or row.exception_code != HELD:
        raise InputError([Problem("", "该订单没有被挂起", "the order is not held")])
    conn.execute(sa.update(orders).where(orders.c.id == order_id).values(
        state="pending", exception_code=None, exception_detail=None, updated_at=now))
    _record(conn, order_id, actor=actor, action="release", from_state=row.state,
            to_state="pending", reason="", now=now)


def events(conn: Connection, order_id: str) -> list[OrderEvent]:
    """The order's hand-made state changes, oldest first."""
    e = order_events.c
    return [OrderEvent(r.at, r.actor, r.action, r.from_state, r.to_state, r.reason)
            for r in conn.execute(sa.select(order_events).where(e.order_id == order_id)
                                  .order_by(e.id))]


def pin_choices(conn: Connection, order_id: str) -> list[str]:
    """Warehouses the order can be pinned to: its shop's serving warehouses (every
    warehouse when the shop names none)."""
    shop_id = conn.execute(sa.select(orders.c.shop_id).where(orders.c.id == order_id)).scalar()
    return [] if shop_id is None else serving_warehouses(conn, shop_id, None)


def pinnable(state: str, exception_code: str | None) -> bool:
    """Can an order in this state be pinned to a warehouse (not yet at a station)?"""
    return state in PINNABLE_STATES or (state == "exception"
                                         and exception_code in PINNABLE_EXCEPTIONS)


def pin_warehouse(conn: Connection, order_id: str, warehouse_id: str | None, *, actor: str,
                  reason: str, now: datetime) -> None:
    """Pin the order to ``warehouse_id`` (``None``: unpin, back to automatic choice)."""
    row = conn.execute(sa.select(orders.c.state, orders.c.exception_code, orders.c.shop_id,
                                 orders.c.warehouse_id, orders.c.pinned_warehouse_id)
                       .where(orders.c.id == order_id).with_for_update()).first()
    if row is None:
        raise InputError([Problem("", f"没有订单 {order_id}", f"no order {order_id}")])
    problems = []
    if not pinnable(row.state, row.exception_code):
        problems.append(Problem("", "只有未到工作站的订单 (待审核、已分配、缺货等待) 可以指定仓库",
                                "only an order not yet at a station can be pinned to a warehouse"))
    if warehouse_id is not None and warehouse_id not in serving_warehouses(conn, row.shop_id, None):
        problems.append(Problem("warehouse", "请选择为该店铺发货的仓库",
                                "choose a warehouse that serves the shop"))
    if warehouse_id is None and row.pinned_warehouse_id is None and not problems:
        problems.append(Problem("", "该订单没有指定仓库", "the order is not pinned"))
    if problems:
        raise InputError(problems)
    values: dict[str, object] = {"pinned_warehouse_id": warehouse_id, "updated_at": now}
    to_state = row.state
    if row.state == "allocated" and warehouse_id is not None and row.warehouse_id != warehouse_id:
        values.update(state="pending", warehouse_id=None, station_id=None)
        to_state = "pending"
    conn.execute(sa.update(orders).where(orders.c.id == order_id).values(**values))
    reconcile(conn, [order_id], now=now)  # its units move to the pinned (or home) warehouse
    where = warehouse_id or "自动 / automatic"
    why = reason.strip()[:REASON_MAX]
    _record(conn, order_id, actor=actor, action=PIN_ACTION, from_state=row.state,
            to_state=to_state, reason=f"{where}: {why}" if why else where, now=now)
