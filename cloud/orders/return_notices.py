"""Tell the stations about returns on their way (退货通知).

When the buyer of a shipped order sends goods back (退货退款 or 换货), the stations of the
warehouse that shipped it get the after-sales request (``RefundWire``, kind ``refund``): the
return parcel's own tracking number, once the buyer has shipped it, is then enough to find
the order at the kiosk, offline. Sent again whenever the request changes (a tracking number
added, refunded, withdrawn); the station keeps the newest copy.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import station_shipments
from cloud.db.schema_orders import order_lines, orders
from cloud.marketplaces.base import RefundEvent
from cloud.sync.outbound import enqueue_down, stations_of_warehouse
from edge.sync.schema import RefundWire


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
                  now: datetime) -> list[str]:
    """Queue the after-sales request for the stations of the warehouse that shipped
    ``order_id`` when goods come back; the down-message ids (none for a refund without
    goods, or an order Packline did not ship). Shipped means ``shipped``, or a station's
    shipment already stored (the write-back pass marks the order shipped later)."""
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
    return [enqueue_down(conn, station, "refund", wire, now=now)
            for station in stations_of_warehouse(conn, row.warehouse_id)]
