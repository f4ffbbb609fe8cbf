"""A merged parcel through the real broker (#13 item 4, 合并订单): two PDD orders to one
receiver are merged in the cloud, the parcel's one task (every line of both orders) goes
down to the station, the packer ships it once, and the shipment coming back up makes a
tracking write-back for BOTH platform orders; the SHIP moves consume the parcel's whole
reservation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud.db import write_transaction
from cloud.db.schema_orders import orders, reservations, tracking_writebacks
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder, Receiver
from cloud.orders import merging
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from cloud.orders.waybills import request_waybills
from cloud.orders.writeback import collect_shipments
from edge.domain.models import MoveReason, MoveRequest
from edge.store import Store
from edge.store.packing import PackingWriter, StoreOrderSource
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import add_pdd_shop, make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import running_daemon, running_ingest, stations

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
FIRST, SECOND = "pdd-261204-000000000000011", "pdd-261204-000000000000012"
RECEIVER = Receiver(name_cipher="~n~", phone_cipher="~p~", address_cipher="~a~",
                    name_mask="赵*", phone_mask="136****1111", address_mask="西湖区***",
                    province="浙江省", city="杭州市", district="西湖区")


def _order(oid: str, sku_id: str, qty: int, minute: int) -> PlatformOrder:
    return PlatformOrder(
        platform="pdd", order_id=oid.removeprefix("pdd-"), status=OrderStatus.AWAITING_SHIPMENT,
        raw_status="1", updated_at=NOW + timedelta(minutes=minute),
        created_at=NOW + timedelta(minutes=minute), receiver=RECEIVER,
        lines=(OrderLine(sku_id=sku_id, outer_id="", qty=qty, price_fen=990),))


def _status(store: Store, oid: str) -> str | None:
    row = store.writer.db.execute("SELECT status FROM orders WHERE order_id = ?", [oid]).fetchone()
    return row[0] if row else None


def _on_hand(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty_delta), 0) FROM stock_moves")).scalar_one())


def _open_reserved(engine: sa.Engine) -> int:
    r = reservations.c
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(r.qty - r.shipped_qty), 0))
                                .where(r.released_at.is_(None))).scalar_one())


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_merged_parcel_ships_once_and_both_orders_get_the_tracking_number(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    sc = add_pdd_shop(engine, {"CUP-350": "A-CUP", "TOWEL-W": "A-TOWEL"}, now=NOW)
    (kiosk,), (syncer,) = stations(tmp_path, ("st-01",))
    with running_ingest(broker, engine) as ingest, running_daemon(broker, syncer):
        for sku in ("CUP-350", "TOWEL-W"):
            kiosk.writer.record_move(MoveRequest(
                sku=sku, location="A-01-01", qty_delta=5, reason=MoveReason.RECEIVE,
                source_type="po", source_id="PO-1", operator_id="op1"))
        wait_until(lambda: _on_hand(engine) == 10, 30, what="the receipts in the cloud")
        with write_transaction(engine) as conn:
            upsert_order(conn, "pdd1", _order(FIRST, "A-CUP", 2, 0), now=ingest.clock())
            upsert_order(conn, "pdd1", _order(SECOND, "A-TOWEL", 1, 1), now=ingest.clock())
            assert merging.merge(conn, [FIRST, SECOND], actor="lead", now=ingest.clock()) == FIRST
        assert allocate_pending(engine, "pdd1", "WH1", now=ingest.clock()).allocated == [FIRST]
        asyncio.run(request_waybills(engine, sc, now=ingest.clock()))
        wait_until(lambda: _status(kiosk, FIRST) == "waiting", 30, what="the parcel's task")
        assert _status(kiosk, SECOND) is None  # no task of its own
        scanned = StoreOrderSource(kiosk.queries).order(FIRST)
        assert scanned is not None
        assert sorted((ln.sku, ln.qty) for ln in scanned.lines) == [("CUP-350", 2), ("TOWEL-W", 1)]
        PackingWriter(kiosk.writer).ship(scanned, operator_id="P01", weight_g=700)
        wait_until(lambda: _open_reserved(engine) == 0 and _on_hand(engine) == 7, 30,
                   what="the shipment and its moves in the cloud")
    with write_transaction(engine) as conn:
        assert collect_shipments(conn, "pdd1", now=NOW) == 2
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tracking_writebacks.c.order_id,
                                      tracking_writebacks.c.waybill_no)
                            .order_by(tracking_writebacks.c.order_id)).all()
        states = set(conn.execute(sa.select(orders.c.state).where(
            orders.c.id.in_([FIRST, SECOND]))).scalars())
    assert [tuple(r) for r in rows] == [(FIRST, "YT00000001"), (SECOND, "YT00000001")]
    assert states == {"shipped"}
