"""Which station packs an order: tasks spread by load and role, and the unstarted tasks of
a station offline too long moved to one that works.

* **Candidates** are a warehouse's stations that are not revoked and whose role is
  ``pack`` (a ``receive`` desk never gets pack tasks).
* **Online** means the station's last health report (its sync daemon sends one every
  minute, ``edge.sync.health.HEALTH_EVERY``) arrived within ``OFFLINE_AFTER``; a station
  that never reported yet counts as online (it was just enrolled). New tasks go to online
  stations while there is one; only when every candidate is offline do they queue at one
  (the task waits in the downlink outbox until it reconnects).
* **Load** is the number of orders a station holds and has not shipped (``allocated``,
  ``tasked``, ``intercepted``); each task goes to the least loaded station, ties by id.

:func:`move_offline_tasks` moves a ``tasked`` order whose station has been offline past
``OFFLINE_AFTER`` and has not reported its shipment to the least loaded online station:
the old station gets an intercept (``moved:`` cause — it may have packed the order while
offline: then its own intercept-after-ship alert and its shipment say so), the new one the
same task with the same waybill, and the move is audited. A shipment that arrives from the
old station afterwards intercepts the order at the new one (:func:`shipped_elsewhere`),
so a moved order is never packed twice unnoticed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud.db import audit_log, stations, write_transaction
from cloud.db.schema import station_health, station_shipments
from cloud.db.schema_orders import orders, waybills

OFFLINE_AFTER = timedelta(minutes=15)
"""Silence after which a station is offline: fifteen missed health reports (one a minute),
long enough that a router restart or a short outage moves nothing."""
MOVES_PER_PASS = 500
"""Tasks moved off offline stations per pass (one transaction); the rest next tick."""
LOAD_STATES = ("allocated", "tasked", "intercepted")
"""Order states that count towards a station's load (held there, not shipped)."""


@dataclass
class _Station:
    id: str
    online: bool
    load: int


@dataclass
class StationPicker:
    """Chooses stations for one transaction's worth of tasks, counting what it assigns."""

    conn: Connection
    now: datetime
    offline_after: timedelta = OFFLINE_AFTER
    _by_wh: dict[str, list[_Station]] = field(default_factory=dict)

    def _load(self, warehouse_id: str) -> list[_Station]:
        if warehouse_id not in self._by_wh:
            s, h = stations.c, station_health.c
            rows = self.conn.execute(
                sa.select(s.id, h.received_at).select_from(
                    stations.outerjoin(station_health, h.station_id == s.id))
                .where(s.warehouse_id == warehouse_id, s.status != "revoked", s.role == "pack")
                .order_by(s.id)).all()
            ids = [r.id for r in rows]
            load: dict[str, int] = defaultdict(int)
            if ids:
                for sid, n in self.conn.execute(
                        sa.select(orders.c.station_id, sa.func.count()).where(
                            orders.c.station_id.in_(ids), orders.c.state.in_(LOAD_STATES))
                        .group_by(orders.c.station_id)):
                    load[sid] = int(n)
            cutoff = self.now - self.offline_after
            self._by_wh[warehouse_id] = [
                _Station(r.id, r.received_at is None or r.received_at >= cutoff, load[r.id])
                for r in rows]
        return self._by_wh[warehouse_id]

    def online(self, warehouse_id: str, station_id: str) -> bool:
        """Whether ``station_id`` (a candidate of the warehouse) is online."""
        return any(c.id == station_id and c.online for c in self._load(warehouse_id))

    def pick(self, warehouse_id: str, *, online_only: bool = False,
             exclude: str | None = None) -> str | None:
        """The least loaded candidate (online ones first), counted as one task busier."""
        found = [c for c in self._load(warehouse_id) if c.id != exclude]
        live = [c for c in found if c.online]
        pool = live or ([] if online_only else found)
        if not pool:
            return None
        best = min(pool, key=lambda c: (c.load, c.id))
        best.load += 1
        return best.id

    def release(self, warehouse_id: str, station_id: str) -> None:
        """One task less at ``station_id`` (it moved away)."""
        for c in self._load(warehouse_id):
            if c.id == station_id:
                c.load -= 1


@dataclass
class MoveResult:
    """What a pass of :func:`move_offline_tasks` did."""

    moved: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Order id → (from station, to station)."""


def move_offline_tasks(engine: Engine, shop_id: str, *, now: datetime,
                       offline_after: timedelta = OFFLINE_AFTER,
                       limit: int = MOVES_PER_PASS) -> MoveResult:
    """Move the shop's unstarted tasks away from stations offline past ``offline_after``
    (module doc). Tasks stay where they are when no station of the warehouse is online."""
    from cloud.orders.intercepts import intercept
    from cloud.orders.waybills import build_task
    from cloud.sync.outbound import send_task

    result = MoveResult()
    cutoff = now - offline_after
    with write_transaction(engine) as conn:
        o, h = orders.c, station_health.c
        rows = conn.execute(
            sa.select(orders).join(station_health, h.station_id == o.station_id).where(
                o.shop_id == shop_id, o.state == "tasked", h.received_at < cutoff,
                ~sa.exists().where(station_shipments.c.order_id == o.id))
            .order_by(o.first_seen_at, o.id).limit(limit)).all()
        if not rows:
            return result
        picker = StationPicker(conn, now, offline_after)
        for row in rows:
            assert row.warehouse_id is not None and row.station_id is not None
            target = picker.pick(row.warehouse_id, online_only=True, exclude=row.station_id)
            if target is None:
                continue
            picker.release(row.warehouse_id, row.station_id)
            wb = conn.execute(sa.select(waybills).where(waybills.c.order_id == row.id)).first()
            if wb is None:
                continue  # tasked without a waybill cannot happen; leave it be
            intercept(conn, row.id, row.station_id, f"moved:{now.isoformat()}:{target}",
                      f"任务已转到 {target} / task moved to {target}", now=now)
            send_task(conn, target, build_task(conn, row, wb.waybill_no, wb.carrier_code,
                                               wb.print_data, wb.label), now=now)
            conn.execute(sa.update(orders).where(o.id == row.id).values(
                station_id=target, updated_at=now))
            conn.execute(sa.insert(audit_log).values(
                at=now, actor="system", action="order.task_moved", subject=row.id,
                detail={"from": row.station_id, "to": target,
                        "reason": f"offline since before {cutoff.isoformat()}"}))
            result.moved[row.id] = (row.station_id, target)
    return result


def shipped_elsewhere(conn: Connection, shipments: list[tuple[str, Any]], *,
                      now: datetime) -> None:
    """Ingest's hook for new shipments ((station, order id) pairs): an order shipped by a
    station other than the one that now holds its task (it moved while the first was
    offline) is intercepted at the holder, and an alert is raised for a person."""
    from cloud.db.schema import station_alerts
    from cloud.orders.intercepts import intercept

    for station, order_id in shipments:
        row = conn.execute(sa.select(orders.c.station_id, orders.c.state).where(
            orders.c.id == order_id)).first()
        if row is None or row.station_id in (None, station):
            continue
        if row.state in LOAD_STATES:
            intercept(conn, order_id, row.station_id, f"shipped_by:{station}",
                      f"已由 {station} 发货 / already shipped by {station}", now=now)
        alert_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"shipped_after_move/{order_id}/{station}"))
        if conn.execute(sa.select(station_alerts.c.msg_id).where(
                station_alerts.c.msg_id == alert_id)).first() is None:
            conn.execute(sa.insert(station_alerts).values(
                msg_id=alert_id, station_id=station, kind="shipped_after_move", subject=order_id,
                detail={"holder": row.station_id, "state": row.state}, raised_at=now,
                received_at=now))
