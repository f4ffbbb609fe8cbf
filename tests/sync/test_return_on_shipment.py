"""A return request stored before the station's shipment reached the cloud is sent to the
warehouse's stations when the shipment arrives (the request then found the order not yet
shipped and went nowhere); a shipment delivered again sends nothing new; a withdrawn
request is not sent. Through the real ingest, on both cloud engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox
from cloud.db.schema_orders import orders
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, RefundEvent
from cloud.orders.order_sync import upsert_order, upsert_refund
from cloud.shops import add_shop
from cloud.sync.ingest import Ingest, IngestSettings
from edge.sync.schema import RefundWire, ShipmentWire, up_topic
from tests.sync.helpers import envelope
from tests.sync.test_ingest import Msg, RecordingBus
from tests.sync.test_ingest_engines import seed

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
"""The cloud's clock."""
ORDERS = ("261205-000000000000001", "261205-000000000000002")
"""Platform orders: the first has a return request, the second one withdrawn."""


def _setup(engine: Engine) -> None:
    seed(engine)  # WH1: st-01 (pending), st-02 (active), st-03 (revoked)
    with write_transaction(engine) as conn:
        add_shop(conn, Sealer(Fernet.generate_key()), platform="pdd", name="s", app_key="k",
                 app_secret="x", shop_id="pdd1", default_warehouse_id="WH1")
        for pid in ORDERS:
            upsert_order(conn, "pdd1", PlatformOrder(
                platform="pdd", order_id=pid, status=OrderStatus.AWAITING_SHIPMENT,
                raw_status="1", updated_at=NOW - timedelta(hours=2),
                lines=(OrderLine(sku_id="A0", outer_id="", qty=1, price_fen=990),)),
                now=NOW - timedelta(hours=2))
            conn.execute(sa.update(orders).where(orders.c.id == f"pdd-{pid}").values(
                state="tasked", warehouse_id="WH1", station_id="st-01"))


def _refund(engine: Engine, pid: str, refund_id: str, status: str) -> None:
    with write_transaction(engine) as conn:
        upsert_refund(conn, "pdd1", RefundEvent(
            platform="pdd", refund_id=refund_id, order_id=pid, status=status, amount_fen=990,
            updated_at=NOW - timedelta(minutes=30), sku_id="A0", qty=1, kind="2",
            returns_goods=True, return_waybill="YT9001", return_carrier="圆通速递",
            reason="不喜欢"), now=NOW - timedelta(minutes=30))


def _ship(pid: str, n: int) -> Msg:
    wire = ShipmentWire(order_id=f"pdd-{pid}", waybill_no=f"ZT{n}", carrier="ZTO",
                        operator_id="op1", shipped_at=NOW - timedelta(hours=1), weight_g=300)
    return Msg(up_topic("st-01", "shipment"),
               envelope("shipment", "st-01", wire.model_dump(mode="json"), f"ship-{n:05d}"))


def _notices(engine: Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.payload)
                            .where(downlink_outbox.c.kind == "refund")
                            .order_by(downlink_outbox.c.seq)).all()
    wires = [(station, RefundWire.model_validate(p)) for station, p in rows]
    return [(s, w.order_id, w.return_waybill, w.status) for s, w in wires]


def test_a_request_before_the_shipment_reaches_the_floor_with_it(cloud_engine: Engine) -> None:
    _setup(cloud_engine)
    _refund(cloud_engine, ORDERS[0], "R1", "3")   # waiting for the return parcel
    _refund(cloud_engine, ORDERS[1], "R2", "11")  # withdrawn by the buyer
    assert _notices(cloud_engine) == []  # not shipped yet, as far as the cloud knows
    ingest = Ingest(cloud_engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    batch = [_ship(ORDERS[0], 1), _ship(ORDERS[1], 2)]
    ingest.handle_batch(batch)
    expected = [("st-01", f"pdd-{ORDERS[0]}", "YT9001", "pending"),
                ("st-02", f"pdd-{ORDERS[0]}", "YT9001", "pending")]
    assert _notices(cloud_engine) == expected
    ingest.handle_batch(batch)  # the shipments delivered again: nothing new
    assert _notices(cloud_engine) == expected
