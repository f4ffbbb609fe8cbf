"""An intercepted order goes back to packing when the buyer withdraws the refund (issue #11).

Before: a refund request reaching an order at a station intercepted it there for good —
the withdrawal (PDD order ``refund_status`` back to 1, or an after-sales record closed)
changed nothing at the station, the order could never ship and its units stayed reserved.
Now the cloud lifts its refund intercepts and sends a numbered ``release``; the station
applies a hold decision only if it is newer than the last one it applied, so a re-sent
intercept that arrives after its release changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cloud.db import write_transaction
from cloud.db.schema import downlink_outbox, station_shipments
from cloud.db.schema_orders import order_intercepts, orders, reservations
from cloud.marketplaces.base import (
    OrderLine,
    OrderStatus,
    PlatformOrder,
    RefundEvent,
)
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order, upsert_refund
from cloud.orders.waybills import request_waybills
from edge.domain.models import MoveReason, MoveRequest
from edge.store import Store, open_store
from edge.store.packing import PackingWriter, ShipRefused, StoreOrderSource
from tests.fixtures.edge_store import seed_small_catalog
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import add_pdd_shop, make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import running_daemon, running_ingest, stations

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ORDER = "pdd-261204-000000000000001"


def _version(minute: int, refund: str) -> PlatformOrder:
    return PlatformOrder(
        platform="pdd", order_id=ORDER.removeprefix("pdd-"), status=OrderStatus.AWAITING_SHIPMENT,
        raw_status="1", refund_status=refund, updated_at=NOW + timedelta(minutes=minute),
        created_at=NOW, lines=(OrderLine(sku_id="A-CUP", outer_id="", qty=2, price_fen=990),))


def _status(store: Store) -> str | None:
    row = store.writer.db.execute("SELECT status FROM orders WHERE order_id = ?", [ORDER]).fetchone()
    return row[0] if row else None


def _cloud_state(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(orders.c.state).where(orders.c.id == ORDER)).scalar_one())


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_withdrawn_refund_releases_the_order_at_the_station_through_the_real_broker(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    sc = add_pdd_shop(engine, {"CUP-350": "A-CUP"}, now=NOW)
    (kiosk,), (syncer,) = stations(tmp_path, ("st-01",))
    with running_ingest(broker, engine) as ingest, running_daemon(broker, syncer):
        kiosk.writer.record_move(MoveRequest(
            sku="CUP-350", location="A-01-01", qty_delta=5, reason=MoveReason.RECEIVE,
            source_type="po", source_id="PO-1", operator_id="op1"))
        wait_until(lambda: _on_hand(engine) == 5, 30, what="the receipt in the cloud")
        with write_transaction(engine) as conn:
            upsert_order(conn, "pdd1", _version(0, "1"), now=ingest.clock())
        allocate_pending(engine, "pdd1", "WH1", now=ingest.clock())
        asyncio.run(request_waybills(engine, sc, now=ingest.clock()))
        wait_until(lambda: _status(kiosk) == "waiting", 30, what="the pack task at the station")
        scanned = StoreOrderSource(kiosk.queries).order(ORDER)
        assert scanned is not None

        # the buyer asks for a refund: the order stops at the station, still reserved
        with write_transaction(engine) as conn:
            upsert_order(conn, "pdd1", _version(1, "2"), now=ingest.clock())
        wait_until(lambda: _status(kiosk) == "intercepted", 30, what="the intercept")
        with pytest.raises(ShipRefused, match="拦截"):
            PackingWriter(kiosk.writer).ship(scanned, operator_id="P01", weight_g=700)
        assert _cloud_state(engine) == "intercepted" and _reserved(engine) == 2

        # ... and withdraws it: the station may pack it again
        with write_transaction(engine) as conn:
            upsert_order(conn, "pdd1", _version(2, "1"), now=ingest.clock())
        assert _cloud_state(engine) == "tasked"
        wait_until(lambda: _status(kiosk) == "waiting", 30, what="the release")
        again = StoreOrderSource(kiosk.queries).order(ORDER)
        assert again is not None
        shipment = PackingWriter(kiosk.writer).ship(again, operator_id="P01", weight_g=700)
        wait_until(lambda: _shipped(engine, shipment.msg_id) and _reserved(engine) == 0, 30,
                   what="the shipment and its moves in the cloud")
        assert _on_hand(engine) == 3
    with engine.connect() as conn:
        rows = conn.execute(sa.select(order_intercepts.c.cause, order_intercepts.c.seq,
                                      order_intercepts.c.lift_seq)
                            .where(order_intercepts.c.order_id == ORDER)).all()
    assert [tuple(r) for r in rows] == [("refund:2", 1, 2)]
    audit = kiosk.writer.db.execute(
        "SELECT actor, action, subject FROM audit_log WHERE action = 'order.release'").fetchall()
    assert audit == [("cloud", "order.release", ORDER)]


def _on_hand(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT COALESCE(SUM(qty_delta), 0) FROM stock_moves WHERE sku = 'CUP-350'")).scalar_one())


def _reserved(engine: sa.Engine) -> int:
    r = reservations.c
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(r.qty - r.shipped_qty), 0))
                                .where(r.order_id == ORDER, r.released_at.is_(None))).scalar_one())


def _shipped(engine: sa.Engine, msg_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(station_shipments.c.msg_id).where(
            station_shipments.c.msg_id == msg_id)).first() is not None


# ---------------------------------------------------------------- the station's rules


@pytest.fixture
def station() -> Any:
    store = open_store(":memory:", station_id="st-01")
    seed_small_catalog(store)
    yield store
    store.close()


def _task(store: Store) -> None:
    store.writer.upsert_order(
        {"order_id": ORDER, "platform": "pdd", "platform_order_no": "261204-1",
         "waybill_no": "YT1", "carrier": "YTO", "print_data": {}, "receiver_masked": {},
         "ordered_at": "2026-12-04T09:00:00Z"},
        [{"line_no": 1, "sku": "CUP-350", "qty": 1}])
    store.writer.apply_pending_intercept(ORDER)


def test_a_release_that_overtakes_its_intercept_wins(station: Store) -> None:
    _task(station)
    w = station.writer
    assert w.release_order(ORDER, "撤销", seq=2) == "waiting"  # nothing to lift yet
    assert w.intercept_order(ORDER, "退款", seq=1) == "stale"  # the older decision, late
    assert _status(station) == "waiting"
    assert w.intercept_order(ORDER, "再次退款", seq=3) == "intercepted"  # a newer request
    assert w.release_order(ORDER, "撤销", seq=3) == "stale"  # redelivered under the same number
    assert _status(station) == "intercepted"
    assert w.release_order(ORDER, "撤销", seq=4) == "released"
    assert _status(station) == "waiting"


def test_a_release_ahead_of_the_task_clears_the_intercept_that_waited_for_it(
    station: Store,
) -> None:
    w = station.writer
    assert w.intercept_order(ORDER, "退款", seq=1) == "pending"
    assert w.release_order(ORDER, "撤销", seq=2) == "pending"
    _task(station)
    assert _status(station) == "waiting"


def test_a_release_after_shipping_changes_nothing(station: Store) -> None:
    _task(station)
    w = station.writer
    w.db.execute("UPDATE orders SET status = 'shipped' WHERE order_id = ?", [ORDER])
    assert w.release_order(ORDER, "撤销", seq=1) == "shipped"
    assert _status(station) == "shipped"
    assert w.db.execute("SELECT COUNT(*) FROM alerts").fetchone() == (0,)


def test_a_refund_record_withdrawn_releases_but_an_address_change_still_holds(
    tmp_path: Path,
) -> None:
    """After-sales records (``upsert_refund``) lift refund intercepts too; an order also
    stopped for a changed address stays stopped (its waybill is wrong) and no release is
    sent."""
    engine = make_cloud(tmp_path / "c.db", ("st-01",))
    add_pdd_shop(engine, {"CUP-350": "A-CUP"}, now=NOW)
    with write_transaction(engine) as conn:
        upsert_order(conn, "pdd1", _version(0, "1"), now=NOW)
        conn.execute(sa.update(orders).where(orders.c.id == ORDER).values(
            state="tasked", warehouse_id="WH1", station_id="st-01"))

    def refund(status: str, minute: int) -> None:
        with write_transaction(engine) as conn:
            upsert_refund(conn, "pdd1", RefundEvent(
                platform="pdd", refund_id="R1", order_id=ORDER.removeprefix("pdd-"),
                status=status, succeeded=False, amount_fen=990,
                updated_at=NOW + timedelta(minutes=minute)), now=NOW)

    def releases() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return [json.loads(p) if isinstance(p, str) else p for p in conn.execute(
                sa.select(downlink_outbox.c.payload).where(downlink_outbox.c.kind == "release")
            ).scalars()]

    refund("2", 1)  # 售后处理中: intercepted
    assert _cloud_state(engine) == "intercepted"
    refund("11", 2)  # withdrawn by the buyer
    assert _cloud_state(engine) == "tasked"
    assert [(r["order_id"], r["seq"]) for r in releases()] == [(ORDER, 2)]
    # a new request, then an address change beside it, then the request withdrawn again
    refund("2", 3)
    assert _cloud_state(engine) == "intercepted"
    with write_transaction(engine) as conn:
        conn.execute(sa.update(orders).where(orders.c.id == ORDER).values(receiver_digest="old"))
        from cloud.orders.intercepts import intercept

        intercept(conn, ORDER, "st-01", "address:abc", "收货地址已修改 / address changed", now=NOW)
    refund("12", 4)
    assert _cloud_state(engine) == "intercepted"
    assert len(releases()) == 1  # nothing released: the address change still stands


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_hold_by_hand_stops_the_order_at_the_station_and_a_release_frees_it(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    """审单 on an order the station already has: the hold goes down as an intercept, the
    release as a release; a refund requested meanwhile still holds it after the release."""
    from cloud.orders import review

    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    sc = add_pdd_shop(engine, {"CUP-350": "A-CUP"}, now=NOW)
    (kiosk,), (syncer,) = stations(tmp_path, ("st-01",))
    with running_ingest(broker, engine) as ingest, running_daemon(broker, syncer):
        kiosk.writer.record_move(MoveRequest(
            sku="CUP-350", location="A-01-01", qty_delta=5, reason=MoveReason.RECEIVE,
            source_type="po", source_id="PO-1", operator_id="op1"))
        wait_until(lambda: _on_hand(engine) == 5, 30, what="the receipt in the cloud")
        with write_transaction(engine) as conn:
            upsert_order(conn, "pdd1", _version(0, "0"), now=ingest.clock())
        allocate_pending(engine, "pdd1", "WH1", now=ingest.clock())
        asyncio.run(request_waybills(engine, sc, now=ingest.clock()))
        wait_until(lambda: _status(kiosk) == "waiting", 30, what="the pack task at the station")
        scanned = StoreOrderSource(kiosk.queries).order(ORDER)
        assert scanned is not None
        with write_transaction(engine) as conn:
            review.hold(conn, ORDER, actor="lead", reason="买家要求改颜色", now=ingest.clock())
        assert _cloud_state(engine) == "intercepted"
        wait_until(lambda: _status(kiosk) == "intercepted", 30, what="the hold at the station")
        with pytest.raises(ShipRefused, match="拦截"):
            PackingWriter(kiosk.writer).ship(scanned, operator_id="P01", weight_g=700)
        with write_transaction(engine) as conn:
            review.release(conn, ORDER, actor="lead", now=ingest.clock())
        assert _cloud_state(engine) == "tasked"
        wait_until(lambda: _status(kiosk) == "waiting", 30, what="the release at the station")
        # held again, then the buyer asks for a refund: releasing the hold is not enough
        with write_transaction(engine) as conn:
            review.hold(conn, ORDER, actor="lead", reason="再确认", now=ingest.clock())
            upsert_order(conn, "pdd1", _version(1, "2"), now=ingest.clock())
            review.release(conn, ORDER, actor="lead", now=ingest.clock())
        assert _cloud_state(engine) == "intercepted"
        wait_until(lambda: _status(kiosk) == "intercepted", 30, what="the refund's intercept")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(order_intercepts.c.cause, order_intercepts.c.lifted_at.is_(None))
                            .where(order_intercepts.c.order_id == ORDER)
                            .order_by(order_intercepts.c.cause)).all()
    assert [tuple(r) for r in rows] == [("manual:hold", False), ("refund:2", True)]
