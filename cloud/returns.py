"""Returns received at the stations (退货入库), as the refund decision needs them.

A station inspects a return parcel item by item (:mod:`edge.store.returns`): good items go
back to stock and damaged ones to the damage location by RETURN moves, which reach the
ledger like every move; wrong items (not from the order) move nothing. When the parcel is
finished the station sends one ``return`` message (``ReturnWire``); :func:`record` keeps it
once by its msg_id (a redelivery changes nothing), writes an ``order_events`` row on the
order, so whoever decides the refund sees what came back, and audits it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema_orders import order_events, order_lines, orders, refunds
from cloud.db.schema_returns import station_return_lines, station_returns
from cloud.orders.return_notices import REFUND_CLOSED
from cloud.sync.reports import insert_ignore
from edge.sync.schema import ReturnWire

EVENT_ACTION = "return_received"
"""``order_events.action`` of a return inspected at a station."""
CONDITION_WORDS = {"good": ("良品", "good"), "damaged": ("残次", "damaged"),
                   "wrong": ("非本单", "not from this order")}
"""Chinese and English words of each ``RETURN_CONDITIONS`` value."""


def summary(counts: Counter[str]) -> str:
    """``良品 2, 残次 1 / good 2, damaged 1`` for units per condition (both languages, as
    order events are written)."""
    order = [c for c in CONDITION_WORDS if counts.get(c)]
    zh = ", ".join(f"{CONDITION_WORDS[c][0]} {counts[c]}" for c in order)
    en = ", ".join(f"{CONDITION_WORDS[c][1]} {counts[c]}" for c in order)
    return f"{zh} / {en}"


def record(conn: Connection, station_id: str, msg_id: str, wire: ReturnWire, *,
           now: datetime) -> bool:
    """Keep a return inspected at ``station_id`` once by ``msg_id`` (ingest, same
    transaction); returns whether it was new."""
    done = conn.execute(insert_ignore(conn, station_returns).values(
        msg_id=msg_id, return_id=wire.return_id, station_id=station_id,
        warehouse_id=wire.warehouse_id, order_id=wire.order_id, shop_id=wire.shop_id,
        refund_id=wire.refund_id, scanned=wire.scanned, exchange=wire.exchange,
        note=wire.note, operator_id=wire.operator_id, received_at=wire.at, recorded_at=now,
    ).returning(station_returns.c.msg_id)).first()
    if done is None:  # delivered before (or the same return id under another message)
        return False
    conn.execute(sa.insert(station_return_lines), [
        {"msg_id": msg_id, "line_no": n, "sku": ln.sku, "code": ln.code, "qty": ln.qty,
         "condition": ln.condition, "in_order": ln.in_order, "location": ln.location,
         "move_id": ln.move_id} for n, ln in enumerate(wire.lines, start=1)])
    counts: Counter[str] = Counter()
    for ln in wire.lines:
        counts[ln.condition] += ln.qty
    text = summary(counts)
    if wire.exchange:
        text += " · 买家要求换货 / exchange requested"
    state = conn.execute(sa.select(orders.c.state).where(orders.c.id == wire.order_id)).scalar()
    if state is not None:
        conn.execute(sa.insert(order_events).values(
            order_id=wire.order_id, at=wire.at, actor=f"{station_id}:{wire.operator_id}"[:64],
            action=EVENT_ACTION, from_state=state, to_state=state,
            reason=f"退货验收 {wire.return_id}: {text}"))
    audit.record(conn, now, wire.operator_id, "return.received", wire.return_id,
                 {"station": station_id, "order_id": wire.order_id, "refund_id": wire.refund_id,
                  "units": dict(counts), "exchange": wire.exchange})
    return True


@dataclass(frozen=True, slots=True)
class ReceivedReturn:
    """A return as the returns page lists it."""

    return_id: str
    station_id: str
    order_id: str
    platform_order_id: str
    refund_id: str | None
    refund_status: str
    """The after-sales request's platform status ('' when none is known)."""
    refund_fen: int
    scanned: str
    exchange: bool
    note: str
    operator_id: str
    received_at: datetime
    good: int
    damaged: int
    wrong: int


def received(conn: Connection, *, start: datetime | None = None, end: datetime | None = None,
             order_id: str | None = None, limit: int = 200) -> list[ReceivedReturn]:
    """Returns received (newest first), in ``[start, end)`` by the station's time and/or of
    one order, with units per condition and the request's status."""
    r, ln, o, rf = station_returns.c, station_return_lines.c, orders.c, refunds.c
    units = {c: sa.func.coalesce(sa.func.sum(sa.case((ln.condition == c, ln.qty), else_=0)), 0)
             for c in ("good", "damaged", "wrong")}
    query = (sa.select(r.msg_id, r.return_id, r.station_id, r.order_id, o.platform_order_id,
                       r.refund_id, rf.status, rf.amount_fen, r.scanned, r.exchange, r.note,
                       r.operator_id, r.received_at, units["good"], units["damaged"],
                       units["wrong"])
             .select_from(station_returns.outerjoin(orders, o.id == r.order_id)
                          .outerjoin(refunds, sa.and_(rf.shop_id == r.shop_id,
                                                      rf.refund_id == r.refund_id))
                          .outerjoin(station_return_lines, ln.msg_id == r.msg_id))
             .group_by(r.msg_id, r.return_id, r.station_id, r.order_id, o.platform_order_id,
                       r.refund_id, rf.status, rf.amount_fen, r.scanned, r.exchange, r.note,
                       r.operator_id, r.received_at)
             .order_by(r.received_at.desc(), r.return_id.desc()).limit(limit))
    if start is not None:
        query = query.where(r.received_at >= start)
    if end is not None:
        query = query.where(r.received_at < end)
    if order_id is not None:
        query = query.where(r.order_id == order_id)
    return [ReceivedReturn(
        return_id=row.return_id, station_id=row.station_id, order_id=row.order_id,
        platform_order_id=row.platform_order_id or "", refund_id=row.refund_id,
        refund_status=row.status or "", refund_fen=int(row.amount_fen or 0),
        scanned=row.scanned, exchange=bool(row.exchange), note=row.note,
        operator_id=row.operator_id, received_at=row.received_at, good=int(row[13]),
        damaged=int(row[14]), wrong=int(row[15])) for row in conn.execute(query)]


def lines_of(conn: Connection, return_id: str) -> list[dict[str, Any]]:
    """The inspected items of one return, in scan order."""
    ln, r = station_return_lines.c, station_returns.c
    return [dict(row._mapping) for row in conn.execute(
        sa.select(ln.line_no, ln.sku, ln.code, ln.qty, ln.condition, ln.in_order, ln.location,
                  ln.move_id)
        .select_from(station_return_lines.join(station_returns, r.msg_id == ln.msg_id))
        .where(r.return_id == return_id).order_by(ln.line_no))]


@dataclass(frozen=True, slots=True)
class ExpectedReturn:
    """An after-sales request that sends goods back, not inspected at a station yet."""

    shop_id: str
    refund_id: str
    order_id: str
    platform_order_id: str
    status: str
    exchange: bool
    return_waybill: str
    return_carrier: str
    sku: str | None
    """The Packline SKU of the order line it names (None when unknown)."""
    qty: int
    amount_fen: int
    updated_at: datetime


def expected(conn: Connection, *, limit: int = 200) -> list[ExpectedReturn]:
    """Requests whose goods are on their way back (not withdrawn or refused), of orders no
    station has inspected a return of yet; oldest change first."""
    rf, o, r, ln = refunds.c, orders.c, station_returns.c, order_lines.c
    sku = (sa.select(ln.sku).where(ln.order_id == o.id, ln.sku.is_not(None),
                                   sa.or_(sa.and_(rf.platform_sku_id != "",
                                                  ln.platform_sku_id == rf.platform_sku_id),
                                          sa.and_(rf.outer_id != "", ln.outer_id == rf.outer_id)))
           .order_by(ln.line_no).limit(1).scalar_subquery())
    query = (sa.select(rf.shop_id, rf.refund_id, o.id, o.platform_order_id, rf.status,
                       rf.exchange, rf.return_waybill, rf.return_carrier, sku.label("sku"),
                       rf.qty, rf.amount_fen, rf.platform_updated_at)
             .select_from(refunds.join(orders, sa.and_(o.shop_id == rf.shop_id,
                                                       o.platform_order_id == rf.platform_order_id)))
             .where(rf.returns_goods.is_(True), rf.status.not_in(sorted(REFUND_CLOSED)),
                    ~sa.exists().where(r.order_id == o.id))
             .order_by(rf.platform_updated_at, rf.refund_id).limit(limit))
    return [ExpectedReturn(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
                           bool(row[5]), str(row[6]), str(row[7]), row[8], int(row[9]),
                           int(row[10]), row[11]) for row in conn.execute(query)]
