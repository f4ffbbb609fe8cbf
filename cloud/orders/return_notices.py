"""Tell the stations about returns on their way (退货通知).

When the buyer of a shipped order sends goods back (退货退款 or 换货), the stations of the
warehouse that shipped it get the after-sales request (``RefundWire``, kind ``refund``): the
return parcel's own tracking number, once the buyer has shipped it, is then enough to find
the order at the kiosk, offline. Sent again whenever the request changes (a tracking number
added, refunded, withdrawn); the station keeps the newest copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import downlink_outbox, station_shipments
from cloud.db.schema_orders import order_lines, orders, refunds
from cloud.marketplaces.base import RefundEvent
from cloud.sync.outbound import enqueue_down, stations_of_warehouse
from edge.sync.schema import RefundWire

REFUND_CLOSED = frozenset({"9", "11", "12", "13", "CLOSED", "SELLER_REFUSE_BUYER"})
"""After-sales statuses that end a refund request without a refund (docs/specs/marketplaces.md
§1.7.2, §2.6.7):
PDD ``after_sales_status`` 9 platform refused, 11 withdrawn by the buyer, 12 and 13 lapsed;
TOP refund ``CLOSED`` and ``SELLER_REFUSE_BUYER``. The order is still paid."""
NOTICE_NS = uuid.UUID("5b0f6f52-3c1e-4d55-9a56-6f0d1c7e2a41")
"""Namespace of the ids of notices sent when a shipment arrives (one per refund version and
station: a shipment message delivered twice sends nothing new)."""


def returned_sku(conn: Connection, order_id: str, event: RefundEvent) -> tuple[str, int]:
    """The Packline SKU and units a refund asks back: the order line with the refund's
    platform SKU id (or merchant code), its units per piece times the pieces returned.
    ``("", 0)`` when no mapped line matches."""
    keys = [k for k in (event.sku_id, event.outer_id) if k]
    if not keys:
        return "", 0
    ln = order_lines.c
    row = conn.execute(
        sa.select(ln.sku, ln.sku_qty, ln.qty)
        .where(ln.order_id == order_id, ln.sku.is_not(None), ln.promotion_id.is_(None),
               sa.or_(ln.platform_sku_id.in_(keys), ln.outer_id.in_(keys)))
        .order_by(ln.line_no).limit(1)).first()
    if row is None:
        return "", 0
    sku, sku_qty, qty = row
    per_piece = max(1, int(sku_qty or qty) // max(1, int(qty)))
    return str(sku), per_piece * max(0, event.qty)


def notify_return(conn: Connection, order_id: str, event: RefundEvent, *, closed: bool,
                  now: datetime, once: bool = False) -> list[str]:
    """Queue the after-sales request for the stations of the warehouse that shipped
    ``order_id`` when goods come back; the down-message ids (none for a refund without
    goods, or an order Packline did not ship). Shipped means ``shipped``, or a station's
    shipment already stored (the write-back pass marks the order shipped later). ``once``:
    the message id is derived from the refund's version and the station, and a message
    already queued under it is not queued again."""
    if not event.returns_goods:
        return []
    row = conn.execute(sa.select(orders.c.state, orders.c.warehouse_id,
                                 orders.c.platform_order_id)
                       .where(orders.c.id == order_id)).first()
    if row is None or not row.warehouse_id:
        return []
    if row.state != "shipped" and conn.execute(sa.select(station_shipments.c.msg_id).where(
            station_shipments.c.order_id == order_id).limit(1)).first() is None:
        return []  # not shipped (a station shipment counts before write-back marks it)
    sku, qty = returned_sku(conn, order_id, event)
    status = "success" if event.succeeded else "closed" if closed else "pending"
    wire = RefundWire(
        refund_id=event.refund_id, order_id=order_id, platform_order_no=row.platform_order_id,
        status=status, exchange=event.exchange, return_waybill=event.return_waybill[:64],
        return_carrier=event.return_carrier[:64], sku=sku, qty=qty,
        amount_fen=max(0, event.amount_fen), updated_at=event.updated_at)
    sent: list[str] = []
    for station in stations_of_warehouse(conn, row.warehouse_id):
        msg_id = None
        if once:
            msg_id = str(uuid.uuid5(NOTICE_NS, "/".join(
                (station, order_id, event.refund_id, event.updated_at.isoformat()))))
            if conn.execute(sa.select(downlink_outbox.c.seq).where(
                    downlink_outbox.c.msg_id == msg_id)).first() is not None:
                continue
        sent.append(enqueue_down(conn, station, "refund", wire, now=now, msg_id=msg_id))
    return sent


def on_shipments(conn: Connection, order_ids: Iterable[str], *, now: datetime) -> list[str]:
    """Send the stations the open (not closed) return requests of orders whose station shipment has just
    arrived: a request stored before the shipment reached the cloud found the order not yet
    shipped and was not sent then. Returns the down-message ids queued."""
    o, rf = orders.c, refunds.c
    sent: list[str] = []
    for order_id in sorted(set(order_ids)):
        rows = conn.execute(
            sa.select(rf.refund_id, rf.status, rf.succeeded, rf.amount_fen,
                      rf.platform_updated_at, rf.returns_goods, rf.exchange, rf.return_waybill,
                      rf.return_carrier, rf.platform_sku_id, rf.outer_id, rf.qty, rf.reason,
                      o.platform_order_id)
            .join(orders, sa.and_(o.shop_id == rf.shop_id,
                                  o.platform_order_id == rf.platform_order_id))
            .where(o.id == order_id, rf.returns_goods.is_(True),
                   rf.status.not_in(sorted(REFUND_CLOSED)))
            .order_by(rf.platform_updated_at)).all()
        for r in rows:
            event = RefundEvent(
                platform="", refund_id=r.refund_id, order_id=r.platform_order_id,
                status=r.status, amount_fen=r.amount_fen, updated_at=r.platform_updated_at,
                sku_id=r.platform_sku_id, outer_id=r.outer_id, qty=r.qty,
                succeeded=r.succeeded, returns_goods=True, exchange=r.exchange,
                return_waybill=r.return_waybill, reason=r.reason,
                return_carrier=r.return_carrier)
            sent += notify_return(conn, order_id, event, closed=r.status in REFUND_CLOSED,
                                  now=now, once=True)
    return sent
