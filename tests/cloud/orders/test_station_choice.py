"""Which station packs an order: load, role, online state, and tasks moved off a station
offline too long (issue #12 item 9). Numbers are worked out by hand in each test."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db import audit_log, stations, write_transaction
from cloud.db.schema import downlink_outbox, station_alerts, station_health
from cloud.db.schema_orders import orders
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from cloud.orders.stations import OFFLINE_AFTER, move_offline_tasks, shipped_elsewhere
from cloud.orders.waybills import request_waybills
from cloud.station_registry import set_station_role
from tests.cloud.orders.support import receive
from tests.sync.harness import ShopClient, add_pdd_shop, make_cloud

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
STATIONS = ("st-01", "st-02", "st-03")


@pytest.fixture
def world(tmp_path: Path) -> tuple[Engine, ShopClient]:
    engine = make_cloud(tmp_path / "c.db", STATIONS)
    sc = add_pdd_shop(engine, {"CUP-350": "A-CUP"}, now=NOW)
    receive(engine, "WH1", "CUP-350", 100)
    return engine, sc


_seq = iter(range(1, 10_000))


def _orders(engine: Engine, n: int) -> list[str]:
    ids = []
    with write_transaction(engine) as conn:
        for _ in range(n):
            k = next(_seq)
            po = PlatformOrder(platform="pdd", order_id=f"261204-{k:015d}",
                               status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
                               updated_at=NOW - timedelta(hours=1) + timedelta(seconds=k),
                               lines=(OrderLine(sku_id="A-CUP", outer_id="", qty=1, price_fen=1),))
            ids.append(upsert_order(conn, "pdd1", po, now=NOW + timedelta(seconds=k))[1])
    return ids


def _where(engine: Engine, ids: list[str]) -> list[str | None]:
    with engine.connect() as conn:
        got = dict(conn.execute(sa.select(orders.c.id, orders.c.station_id).where(
            orders.c.id.in_(ids))).all())
    return [got[i] for i in ids]


def _seen(engine: Engine, station: str, at: datetime) -> None:
    """The station's last health report arrived at ``at``."""
    with write_transaction(engine) as conn:
        conn.execute(sa.delete(station_health).where(station_health.c.station_id == station))
        conn.execute(sa.insert(station_health).values(
            station_id=station, msg_id=f"h-{station}-{at.isoformat()}", reported_at=at,
            received_at=at, backup_lag_seconds=0, outbox_backlog=0, detail={}))


def test_tasks_go_to_the_least_loaded_packing_station(world: tuple[Engine, ShopClient]) -> None:
    engine, _sc = world
    with write_transaction(engine) as conn:
        set_station_role(conn, "st-03", "receive")  # a receiving desk: never given pack tasks
    first = _orders(engine, 2)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    # loads (st-01, st-02) = (0, 0) → st-01 (tie, by id) → (1, 0) → st-02
    assert _where(engine, first) == ["st-01", "st-02"]
    with write_transaction(engine) as conn:  # st-02 is busier: two more of its own
        conn.execute(sa.update(orders).where(orders.c.id == first[0]).values(station_id="st-02"))
    more = _orders(engine, 5)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    # loads (0, 2) → st-01 (1, 2) → st-01 (2, 2) → st-01 by id (3, 2) → st-02 (3, 3) → st-01
    assert _where(engine, more) == ["st-01", "st-01", "st-01", "st-02", "st-01"]


def test_an_offline_station_gets_no_new_task_while_another_is_online(
    world: tuple[Engine, ShopClient],
) -> None:
    engine, _sc = world
    _seen(engine, "st-01", NOW - OFFLINE_AFTER - timedelta(seconds=1))
    _seen(engine, "st-02", NOW - timedelta(minutes=1))
    # st-03 never reported: just enrolled, counts as online
    ids = _orders(engine, 4)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    assert _where(engine, ids) == ["st-02", "st-03", "st-02", "st-03"]
    # every station offline: tasks still go somewhere (they wait for it), least loaded first
    for s in STATIONS:
        _seen(engine, s, NOW - timedelta(hours=2))
    later = _orders(engine, 1)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    assert _where(engine, later) == ["st-01"]


def test_unstarted_tasks_move_off_a_station_offline_too_long(
    world: tuple[Engine, ShopClient],
) -> None:
    engine, sc = world
    with write_transaction(engine) as conn:
        set_station_role(conn, "st-03", "receive")
    ids = _orders(engine, 4)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    asyncio.run(request_waybills(engine, sc, now=NOW))
    assert _where(engine, ids) == ["st-01", "st-02", "st-01", "st-02"]
    _seen(engine, "st-02", NOW)
    _seen(engine, "st-01", NOW)
    # st-01 goes dark; 14 minutes later nothing moves, 16 minutes later its two tasks do
    assert move_offline_tasks(engine, "pdd1", now=NOW + timedelta(minutes=14)).moved == {}
    later = NOW + timedelta(minutes=16)
    _seen(engine, "st-02", later)
    moved = move_offline_tasks(engine, "pdd1", now=later).moved
    assert moved == {ids[0]: ("st-01", "st-02"), ids[2]: ("st-01", "st-02")}
    assert _where(engine, ids) == ["st-02"] * 4
    with engine.connect() as conn:
        down = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.kind,
                                      downlink_outbox.c.payload)
                            .where(downlink_outbox.c.created_at == later)).all()
        audits = conn.execute(sa.select(audit_log.c.subject, audit_log.c.detail).where(
            audit_log.c.action == "order.task_moved")).all()
    # the old station is told to stop, the new one gets the same task and waybill
    assert sorted((s, k) for s, k, _ in down) == [("st-01", "intercept"), ("st-01", "intercept"),
                                                  ("st-02", "task"), ("st-02", "task")]
    tasks = {p["order_id"]: p["waybill_no"] for s, k, p in down if k == "task"}
    with engine.connect() as conn:
        from cloud.db.schema_orders import waybills

        issued = dict(conn.execute(sa.select(waybills.c.order_id, waybills.c.waybill_no)).all())
    assert tasks == {ids[0]: issued[ids[0]], ids[2]: issued[ids[2]]}
    assert {a.subject: (a.detail["from"], a.detail["to"]) for a in audits} == moved
    # again: nothing more to move
    assert move_offline_tasks(engine, "pdd1", now=later).moved == {}


def test_no_online_station_means_nothing_moves(world: tuple[Engine, ShopClient]) -> None:
    engine, sc = world
    ids = _orders(engine, 1)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    asyncio.run(request_waybills(engine, sc, now=NOW))
    for s in STATIONS:
        _seen(engine, s, NOW)
    assert move_offline_tasks(engine, "pdd1", now=NOW + timedelta(hours=1)).moved == {}
    assert _where(engine, ids) == ["st-01"]


def test_a_shipment_from_the_old_station_stops_the_order_at_the_new_one(
    world: tuple[Engine, ShopClient],
) -> None:
    engine, _sc = world
    ids = _orders(engine, 1)
    allocate_pending(engine, "pdd1", "WH1", now=NOW)
    with write_transaction(engine) as conn:
        conn.execute(sa.update(orders).where(orders.c.id == ids[0]).values(
            state="tasked", station_id="st-02"))
        shipped_elsewhere(conn, [("st-01", ids[0])], now=NOW)
        shipped_elsewhere(conn, [("st-01", ids[0])], now=NOW)  # the same report again
        shipped_elsewhere(conn, [("st-02", ids[0])], now=NOW)  # the holder's own: nothing
    with engine.connect() as conn:
        down = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.payload)
                            .where(downlink_outbox.c.kind == "intercept")).all()
        alerts = conn.execute(sa.select(station_alerts.c.station_id, station_alerts.c.kind,
                                        station_alerts.c.subject)).all()
    assert [(s, p["order_id"]) for s, p in down] == [("st-02", ids[0])]
    assert "st-01" in down[0].payload["reason"]
    assert [tuple(a) for a in alerts] == [("st-01", "shipped_after_move", ids[0])]


def test_roles_are_checked(world: tuple[Engine, ShopClient]) -> None:
    from cloud.errors import ConfigError

    engine, _sc = world
    with write_transaction(engine) as conn, pytest.raises(ConfigError, match="unknown station role"):
        set_station_role(conn, "st-01", "boss")
    with engine.connect() as conn:
        assert conn.execute(sa.select(stations.c.role).where(stations.c.id == "st-01")
                            ).scalar_one() == "pack"
