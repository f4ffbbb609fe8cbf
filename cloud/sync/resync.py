"""The cloud's answer to a station restored from its backup (``up/resync``).

A station whose SD card died is restored from S3 onto a new machine
(``packline-edge restore``). The copy is behind the moment of the crash, and three things
may be missing from it that the cloud thinks the station has:

1. the station's **own moves** recorded after the backup point that reached the cloud
   (their outbox rows are gone with the old card, so nothing will ever re-send them);
2. **down-messages acked after the backup point**: pack tasks, intercepts, purchase
   orders, catalog changes and moves relayed from the other stations of the warehouse —
   the cloud marked them delivered, the restored inbox has never seen them;
3. the **status of orders it shipped** after the backup point: the SHIP moves are among
   its own moves, but the copy shows the order as not shipped, and a packer could ship it
   again;
4. (harmless) outbox rows the cloud acked after the backup point are unacked again in the
   copy: the station re-sends them, the cloud finds their ids and only acks them again.

On its first start after the restore the station's sync daemon sends one ``resync``
message through its outbox (``edge.sync.resync``): its ``msg_id`` is the idempotency key
and ``restore_point`` is the backup's time. :func:`apply_resync`, run by ingest in the
batch's transaction, then

- computes ``cutoff = min(restore_point, now) - margin``: the margin (1 hour by default)
  covers clock skew between station and cloud, and everything sent twice is harmless
  because the station applies each id once;
- queues the station's own moves recorded or received since ``cutoff`` as ``moves``
  down-messages (``Writer.apply_remote_moves`` skips ids the copy has and never refuses);
- queues the orders the station shipped since ``cutoff`` (its ``station_shipments``, the
  first per order) as ``shipped`` down-messages: the station marks each order shipped with
  the shipment's time and packer, recording no move and queuing no shipment
  (``Writer.mark_shipped``; an order already shipped there is left alone, one not there yet
  is marked when its re-sent task arrives);
- marks every down-message of that station acked since ``cutoff`` (and not refused) as
  unacked again, due now: the ordinary downlink loop re-sends each with its original
  ``msg_id`` until the station acks it, the restored inbox applies the ones it lacks once
  and acks the others as duplicates;
- records the request in ``station_resyncs``. The same ``msg_id`` again changes nothing;
  a new request (a second restore) re-sends again, which also changes nothing at the
  station beyond what it lacks.

Moves the station recorded that reached neither the cloud nor the backup are lost with the
card: that window is the smaller of the sync lag and the backup lag (seconds when both run).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cloud import ledger_store
from cloud.db.schema import downlink_outbox, station_resyncs, station_shipments, stock_moves
from cloud.sync.outbound import MOVES_PER_MESSAGE, send_moves, send_shipped
from edge.sync.schema import MovesWire, MoveWire, ResyncWire, ShippedOrderWire, ShippedWire

RESYNC_MARGIN = timedelta(hours=1)
"""How far before the restore point the cloud looks: more than any clock skew we expect
between a station (NTP) and the cloud."""
SHIPPED_PER_MESSAGE = 500
"""Most orders in one ``shipped`` message (the wire takes 5,000, ``ShippedWire.orders``): a
tenth, as for moves, so one message stays a small transaction on the station."""


def apply_resync(
    conn: Connection, station_id: str, msg_id: str, wire: ResyncWire, now: datetime,
    *, margin: timedelta = RESYNC_MARGIN,
) -> tuple[int, int, int] | None:
    """Answer one resync request inside the caller's transaction.

    Returns ``(moves queued, down-messages re-queued, shipped orders queued)``, or None
    when this ``msg_id`` was answered before (nothing is done again).
    """
    cutoff = min(wire.restore_point, now) - margin
    inserted = conn.execute(_insert_ignore(conn).values(
        msg_id=msg_id, station_id=station_id, restore_point=wire.restore_point,
        restored_txid=wire.restored_txid, restored_at=wire.restored_at, cutoff=cutoff,
        received_at=now, moves_sent=0, downlinks_resent=0,
    ).returning(station_resyncs.c.msg_id)).first()
    if inserted is None:  # answered before (rowcount is not reliable here on every driver)
        return None
    # Re-queue first: the re-sent rows keep their original (older) seq and go out first.
    o = downlink_outbox.c
    requeued = conn.execute(
        sa.update(downlink_outbox)
        .where(o.station_id == station_id, o.acked_at.is_not(None), o.acked_at >= cutoff,
               o.rejected_reason.is_(None))
        .values(acked_at=None, attempts=0, next_attempt_at=now)
    ).rowcount
    m = stock_moves.c
    ids = [r[0] for r in conn.execute(
        sa.select(m.move_id)
        .where(m.station_id == station_id, sa.or_(m.received_at >= cutoff, m.recorded_at >= cutoff))
        .order_by(m.recorded_at, m.move_id)
    )]
    stored = ledger_store.get_moves(conn, ids)
    wires = [MoveWire.from_move(stored[i].move) for i in ids if i in stored]
    for start in range(0, len(wires), MOVES_PER_MESSAGE):
        send_moves(conn, station_id, MovesWire(moves=wires[start : start + MOVES_PER_MESSAGE]),
                   now=now)
    shipped = shipped_since(conn, station_id, cutoff)
    for start in range(0, len(shipped), SHIPPED_PER_MESSAGE):
        send_shipped(conn, station_id,
                     ShippedWire(orders=shipped[start : start + SHIPPED_PER_MESSAGE]), now=now)
    conn.execute(
        sa.update(station_resyncs).where(station_resyncs.c.msg_id == msg_id)
        .values(moves_sent=len(wires), downlinks_resent=requeued)
    )
    return len(wires), requeued, len(shipped)


def shipped_since(conn: Connection, station_id: str, cutoff: datetime) -> list[ShippedOrderWire]:
    """The orders ``station_id`` shipped (shipment sent or received) since ``cutoff``, each
    once as its first shipment, in shipping order."""
    s = station_shipments.c
    rows = conn.execute(
        sa.select(s.order_id, s.shipped_at, s.operator_id, s.waybill_no)
        .where(s.station_id == station_id, sa.or_(s.received_at >= cutoff, s.shipped_at >= cutoff))
        .order_by(s.shipped_at, s.msg_id)
    ).all()
    first: dict[str, ShippedOrderWire] = {}
    for r in rows:
        first.setdefault(r.order_id, ShippedOrderWire(
            order_id=r.order_id, shipped_at=r.shipped_at, shipped_by=r.operator_id,
            waybill_no=r.waybill_no))
    return list(first.values())


def resync_count(conn: Connection, station_id: str) -> int:
    """How many distinct resync requests the station has sent."""
    return int(conn.execute(
        sa.select(sa.func.count()).select_from(station_resyncs)
        .where(station_resyncs.c.station_id == station_id)
    ).scalar_one())


def _insert_ignore(conn: Connection) -> sa.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(station_resyncs).on_conflict_do_nothing()
    return sqlite.insert(station_resyncs).on_conflict_do_nothing()
