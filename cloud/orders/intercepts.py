"""Intercepts: stop an order at the station that holds its task, and let it go again.

* :func:`intercept` — a refund request, an address change, a closure or a task moved away
  (``cloud.orders.stations``) reaching an order at a station queues one intercept per cause
  (:func:`cloud.sync.outbound.send_intercept`).
* :func:`lift_refund_intercepts` — a refund request withdrawn or refused lifts the refund
  intercepts; when nothing else holds the order, the station gets a ``release``;
  :func:`lift_intercepts` does the same for any cause (a person's hold, ``manual:``).

Intercepts and releases of an order are numbered (``seq``, per order); the station applies
a decision only if it is newer than the last one it applied (docs/stock-model.md).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema_orders import order_intercepts
from cloud.sync.outbound import send_intercept, send_release

SHORT_PICK_PREFIX = "short_pick:"
"""Intercept cause prefix of an order a wave's pick left short (``short_pick:<wave>``,
``cloud.orders.waves``): a person releases it like a hold (``cloud.orders.review``)."""


def _next_seq(conn: Connection, order_id: str) -> int:
    """The order's next hold-decision number (intercepts and releases count alike)."""
    oi = order_intercepts.c
    top = conn.execute(sa.select(sa.func.max(oi.seq), sa.func.max(oi.lift_seq)).where(
        oi.order_id == order_id)).one()
    return max(int(top[0] or 0), int(top[1] or 0)) + 1


def intercept(conn: Connection, order_id: str, station_id: str, cause: str, reason: str, *,
              now: datetime) -> str | None:
    """Queue an intercept for ``station_id`` once per (order, cause) while it stands;
    returns the msg id (None when that cause already stands)."""
    oi = order_intercepts.c
    cause = cause[:128]
    row = conn.execute(sa.select(oi.lifted_at).where(
        oi.order_id == order_id, oi.cause == cause)).first()
    if row is not None and row.lifted_at is None:
        return None
    seq = _next_seq(conn, order_id)
    msg_id = send_intercept(conn, station_id, order_id, reason, seq=seq, now=now)
    values = {"reason": reason[:200], "station_id": station_id, "msg_id": msg_id,
              "created_at": now, "seq": seq, "lifted_at": None, "lift_seq": None,
              "lift_msg_id": None}
    if row is None:
        conn.execute(sa.insert(order_intercepts).values(order_id=order_id, cause=cause, **values))
    else:  # the same cause again after it was lifted (a new refund request)
        conn.execute(sa.update(order_intercepts).where(
            oi.order_id == order_id, oi.cause == cause).values(**values))
    return msg_id


def lift_refund_intercepts(conn: Connection, order_id: str, reason: str, *,
                           now: datetime) -> bool:
    """A refund request was withdrawn or refused: lift the order's standing refund
    intercepts. When nothing else holds it (no address change, no closure), the station
    is told to pack it again (``release``, numbered after every intercept it lifts) and
    True is returned; the caller puts the order back to ``tasked``."""
    return lift_intercepts(conn, order_id, "refund:", reason, now=now)


def lift_intercepts(conn: Connection, order_id: str, prefix: str, reason: str, *,
                    now: datetime) -> bool:
    """Lift the order's standing intercepts whose cause starts with ``prefix`` (``refund:``,
    ``manual:``). When nothing else holds the order, the station gets a ``release``
    (numbered after every intercept it lifts) and True is returned; the caller puts the
    order back to ``tasked``. False when no such intercept stood."""
    oi = order_intercepts.c
    standing = conn.execute(sa.select(oi.cause, oi.station_id).where(
        oi.order_id == order_id, oi.lifted_at.is_(None))).all()
    mine = [r for r in standing if r.cause.startswith(prefix)]
    if not mine:
        return False
    others = [r for r in standing if not r.cause.startswith(prefix)]
    seq = _next_seq(conn, order_id)
    msg_id = None
    station = mine[-1].station_id
    if not others and station:
        msg_id = send_release(conn, station, order_id, reason, seq=seq, now=now)
    conn.execute(sa.update(order_intercepts).where(
        oi.order_id == order_id, oi.lifted_at.is_(None), oi.cause.startswith(prefix)
    ).values(lifted_at=now, lift_seq=seq, lift_msg_id=msg_id))
    return msg_id is not None
