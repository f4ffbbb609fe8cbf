"""Picking waves in the cloud (issue #14 item 1): grouping hand-computed, on SQLite and
PostgreSQL; a short pick intercepts its order once.

The station st-1 of WH1 holds these tasks (ship-by is hours after T0; stock from the ledger):

====  ==================  =======  =======  ====================
order lines (SKU×units)    ship-by  courier  note
====  ==================  =======  =======  ====================
o1    A×1                 +5 h     ZTO      single
o2    A×1                 +2 h     YTO      single
o3    B×2                 +1 h     ZTO      multi (two units)
o4    A×1, C×1            +3 h     ZTO      multi
o5    C×1                 none     ZTO      single
o6    A×1                 +1 h     ZTO      shipped: never waved
o7    A×1                 +1 h     ZTO      at st-2: never waved
o8    A×1                 +1 h     ZTO      intercepted: never waved
o9    B×1, C×1            +4 h     ZTO      multi
====  ==================  =======  =======  ====================

Stock: A at A-01-01 (10), B at B-02-01 (5), C at A-02-03 (4) and at B-01-01 (0).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, downlink_outbox, warehouses
from cloud.db.schema_orders import order_events, order_intercepts, orders, wave_orders, waves
from cloud.errors import InputError
from cloud.orders import review
from cloud.orders import waves as w
from edge.sync.schema import WavePickLineWire, WavePickWire, WavePutWire, wave_pick_msg_id
from tests.cloud.orders.wave_support import T0, seed


def build(engine: Engine, **kw: object) -> list[str]:
    args: dict[str, object] = {"kind": "multi", "carrier": None, "ship_by_before": None,
                               "zone": None, "max_orders": 30, "now": T0, "actor": "lead"}
    args.update(kw)
    with engine.begin() as conn:
        return w.build_waves(conn, "WH1", "st-1", **args)  # type: ignore[arg-type]


def members(engine: Engine, wave_id: str) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            sa.select(wave_orders.c.order_id, wave_orders.c.slot)
            .where(wave_orders.c.wave_id == wave_id).order_by(wave_orders.c.order_id))]


def test_single_waves_earliest_ship_by_first_with_a_size_cap(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    # singles: o2 (+2 h), o1 (+5 h), o5 (no deadline); two a wave
    assert build(cloud_engine, kind="single", max_orders=2) == ["WV20261201-001",
                                                                 "WV20261201-002"]
    assert members(cloud_engine, "WV20261201-001") == [("o1", 0), ("o2", 0)]
    assert members(cloud_engine, "WV20261201-002") == [("o5", 0)]
    with cloud_engine.connect() as conn:
        sent = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.payload)
                            .where(downlink_outbox.c.kind == "wave")
                            .order_by(downlink_outbox.c.created_at)).all()
        assert sorted(p["wave_id"] for _s, p in sent) == ["WV20261201-001", "WV20261201-002"]
        assert {s for s, _p in sent} == {"st-1"}
        first = next(p for _s, p in sent if p["wave_id"] == "WV20261201-001")
        assert first["kind"] == "single" and first["status"] == "open"
        assert sorted((o["order_id"], o["slot"]) for o in first["orders"]) == [("o1", 0), ("o2", 0)]
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == "wave.create")).scalar_one() == 2
    # every single is in a wave now: nothing more
    assert build(cloud_engine, kind="single") == []


def test_filters_courier_deadline_and_zone(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    # singles due before +3 h: o2 only (o1 is +5 h, o5 has no deadline)
    [due] = build(cloud_engine, kind="single", ship_by_before=T0 + timedelta(hours=3))
    assert members(cloud_engine, due) == [("o2", 0)]
    # singles of YTO: o2 is taken already
    assert build(cloud_engine, kind="single", carrier="YTO") == []
    # multi of ZTO in zone A: o4 (A at A-01-01, C at A-02-03); o3 needs B (B-02-01 only),
    # o9 needs B too
    [zoned] = build(cloud_engine, carrier="ZTO", zone="A")
    assert members(cloud_engine, zoned) == [("o4", 1)]
    # the rest of the multis: o3 (+1 h) slot 1, o9 (+4 h) slot 2
    [rest] = build(cloud_engine)
    assert members(cloud_engine, rest) == [("o3", 1), ("o9", 2)]
    # a cancelled wave lets its orders go into another
    with cloud_engine.begin() as conn:
        w.cancel(conn, zoned, actor="lead", reason="重排", now=T0)
    [again] = build(cloud_engine, max_orders=5)
    assert members(cloud_engine, again) == [("o4", 1)]
    with cloud_engine.connect() as conn:
        last = conn.execute(sa.select(downlink_outbox.c.payload).where(
            downlink_outbox.c.kind == "wave")).scalars().all()
        assert [p["status"] for p in last if p["wave_id"] == zoned] == ["open", "cancelled"]


def test_bad_input_writes_nothing(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn:
        conn.execute(warehouses.insert().values(id="WH2", name="上海仓"))
    with pytest.raises(InputError) as err, cloud_engine.begin() as conn:
        w.build_waves(conn, "WH2", "st-1", kind="both", carrier=None, ship_by_before=None,
                      zone=None, max_orders=0, now=T0)
    assert {p.field for p in err.value.problems} == {"station", "kind", "max_orders"}
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(waves)).scalar_one() == 0


def test_a_short_pick_intercepts_its_order_once(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    [wave_id] = build(cloud_engine)  # o3 slot 1, o4 slot 2, o9 slot 3
    assert members(cloud_engine, wave_id) == [("o3", 1), ("o4", 2), ("o9", 3)]
    pick = WavePickWire(wave_id=wave_id, operator_id="P01", at=T0 + timedelta(minutes=20),
                        lines=[WavePickLineWire(location="A-01-01", sku="A", wanted=1, picked=1),
                               WavePickLineWire(location="A-02-03", sku="C", wanted=2, picked=1),
                               WavePickLineWire(location="B-02-01", sku="B", wanted=3, picked=3)],
                        short_orders=["o9"])
    msg_id = wave_pick_msg_id(wave_id)
    later = T0 + timedelta(minutes=21)
    for attempt in range(2):  # the second is a redelivery: nothing changes
        with cloud_engine.begin() as conn:
            assert w.on_pick(conn, "st-1", msg_id, pick, now=later) is (attempt == 0)
            assert w.on_put(conn, "st-1", WavePutWire(
                wave_id=wave_id, order_id="o3", slot=1, at=later, operator_id="P01")) is (
                attempt == 0)
    with cloud_engine.connect() as conn:
        states = dict(conn.execute(sa.select(orders.c.id, orders.c.state).where(
            orders.c.id.in_(["o3", "o4", "o9"]))).all())
        assert states == {"o3": "tasked", "o4": "tasked", "o9": "intercepted"}
        events = conn.execute(sa.select(order_events.c.order_id, order_events.c.actor,
                                        order_events.c.action, order_events.c.to_state,
                                        order_events.c.reason)).all()
        assert [tuple(e) for e in events] == [
            ("o9", "P01", "short_pick", "intercepted", f"拣货缺货 (波次 {wave_id})")]
        assert conn.execute(sa.select(order_intercepts.c.cause).where(
            order_intercepts.c.order_id == "o9")).scalars().all() == [f"short_pick:{wave_id}"]
        intercepts = conn.execute(sa.select(downlink_outbox.c.payload).where(
            downlink_outbox.c.kind == "intercept")).scalars().all()
        assert [p["order_id"] for p in intercepts] == ["o9"]
    with cloud_engine.connect() as conn:
        got = w.get(conn, wave_id)
    assert got is not None and got.status == "picked" and got.picked_by == "P01"
    assert [(o.order_id, o.short, o.put_at is not None) for o in got.orders] == [
        ("o3", False, True), ("o4", False, False), ("o9", True, False)]
    assert [(ln["sku"], ln["wanted"], ln["picked"]) for ln in got.short_lines] == [("C", 2, 1)]
    # o3 2 units, o4 2, o9 2
    assert [o.units for o in got.orders] == [2, 2, 2]
    # the goods were found: a person releases o9 like a hold; the station is told
    with cloud_engine.begin() as conn:
        review.release(conn, "o9", actor="lead", now=later)
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(orders.c.state).where(
            orders.c.id == "o9")).scalar_one() == "tasked"
        released = conn.execute(sa.select(downlink_outbox.c.payload).where(
            downlink_outbox.c.kind == "release")).scalars().all()
        assert [p["order_id"] for p in released] == ["o9"]
        assert [tuple(e) for e in conn.execute(sa.select(
            order_events.c.action, order_events.c.to_state).order_by(order_events.c.id))] == [
            ("short_pick", "intercepted"), ("release", "tasked")]


def test_a_pick_from_another_station_is_ignored(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    [wave_id] = build(cloud_engine)
    pick = WavePickWire(wave_id=wave_id, operator_id="P02", at=T0, lines=[],
                        short_orders=["o3"])
    with cloud_engine.begin() as conn:
        assert w.on_pick(conn, "st-2", wave_pick_msg_id(wave_id), pick, now=T0) is False
        assert conn.execute(sa.select(orders.c.state).where(
            orders.c.id == "o3")).scalar_one() == "tasked"
