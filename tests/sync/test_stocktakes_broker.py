"""A stocktake approved at a station reaches the cloud through the real broker: its
COUNT_ADJUST moves land in the cloud ledger once and its summary shows in the variance
report, and replaying the station's whole outbox (every message sent again) changes
nothing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import stocktakes
from cloud.db.schema import skus, station_stocktakes, stock_moves
from edge.domain.models import MoveReason, MoveRequest
from edge.domain.stocktake import Scope
from edge.store.stocktake import StocktakeWriter
from edge.sync.broker import MqttBroker
from edge.sync.schema import Envelope, encode, up_topic
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import running_daemon, running_ingest
from tests.sync.test_faults import stations as make_stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]


def test_adjustments_reach_the_cloud_ledger_once_even_when_replayed(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    (store,), syncers = make_stations(tmp_path, ("st-01",))
    w = store.writer

    def move(qty: int, reason: MoveReason) -> None:
        w.record_move(MoveRequest(sku="CUP-350", location="A-01-01", qty_delta=qty,
                                  reason=reason, source_type="test", source_id="T-1",
                                  operator_id="P01"))

    move(10, MoveReason.RECEIVE)
    st = StocktakeWriter(w)
    sid = st.start(warehouse_id="WH1", scope=Scope.SKU, scope_value="CUP-350", operator_id="L01")
    move(-2, MoveReason.PICK)  # during the open count: 8 on the shelf
    st.record_count(sid, "A-01-01", {"CUP-350": 7}, operator_id="P01")
    (adjust,) = st.approve(sid, operator_id="L01")  # 7 − 8 = −1

    def adjustments() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(
                stock_moves.c.move_id, stock_moves.c.qty_delta, stock_moves.c.operator_id,
                stock_moves.c.source_type, stock_moves.c.source_id).where(
                stock_moves.c.reason == int(MoveReason.COUNT_ADJUST))).all()]

    def cloud_cup() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(stock_moves.c.qty_delta), 0))
                                    .where(stock_moves.c.sku == "CUP-350",
                                           stock_moves.c.location == "A-01-01")).scalar_one())

    def summaries() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(station_stocktakes))
                       .scalar_one())

    def all_acked() -> bool:
        return not store.queries.outbox_pending(100)

    with running_ingest(broker, engine) as ingest, running_daemon(broker, syncers[0]):
        wait_until(lambda: summaries() == 1 and len(adjustments()) == 1, 30,
                   what="the stocktake and its adjustment in the cloud")
        wait_until(all_acked, 30, what="the station's messages acked")
        # replay: every message the station ever queued is published again, same msg_ids
        rows = w.db.execute("SELECT msg_id, kind, payload, created_at FROM outbox "
                            "ORDER BY seq").fetchall()
        seen = ingest.counters.messages
        replay = MqttBroker(broker.settings("st-01", client_id="st-01-replay"))
        replay.start()
        replay.connect()
        try:
            for msg_id, kind, payload, created_at in rows:
                env = Envelope(msg_id=msg_id, kind=kind, station_id="st-01",
                               created_at=datetime.fromisoformat(created_at),
                               payload=json.loads(payload))
                replay.publish(up_topic("st-01", kind), encode(env), qos=1)
            wait_until(lambda: ingest.counters.messages >= seen + len(rows), 30,
                       what="the replayed messages ingested")
            assert ingest.counters.moves_duplicate >= 3  # receive, pick, adjustment: seen before
        finally:
            replay.disconnect()
    assert adjustments() == [(adjust.move_id, -1, "L01", "stocktake", sid)]
    assert cloud_cup() == 7  # 10 received − 2 picked − 1 adjusted, each once
    assert summaries() == 1
    with engine.connect() as conn:
        found = stocktakes.detail(conn, sid)
    assert found is not None
    summary, lines = found
    assert (summary.station_id, summary.units_short, summary.approved_by) == ("st-01", 1, "L01")
    assert [(ln.location, ln.sku, ln.counted, ln.expected, ln.move_id) for ln in lines] == [
        ("A-01-01", "CUP-350", 7, 8, adjust.move_id)]


def test_a_count_planned_in_the_cloud_is_started_counted_and_done_through_the_broker(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    """A lead plans a one-SKU count on the web; the plan reaches st-01, where it is started
    (its scope from the plan), counted and approved; the cloud marks the plan done with the
    station's stocktake, and its adjustment lands once."""
    from cloud.db import write_transaction
    from edge.store.stocktake import open_plans

    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    (store,), syncers = make_stations(tmp_path, ("st-01",))
    w = store.writer
    w.record_move(MoveRequest(sku="CUP-350", location="A-01-01", qty_delta=10,
                              reason=MoveReason.RECEIVE, source_type="test", source_id="T-1",
                              operator_id="P01"))
    with running_ingest(broker, engine) as ingest, running_daemon(broker, syncers[0]):
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(skus).values(sku="CUP-350", name_zh="保温杯 350ml"))
            plan_id = stocktakes.plan(conn, warehouse_id="WH1", scope="sku",
                                      scope_value="CUP-350", note="月底抽盘", actor="u-lead",
                                      now=ingest.clock())
        wait_until(lambda: bool(open_plans(w.db, "WH1")), 30, what="the plan at the station")
        st = StocktakeWriter(w)
        sid = st.start(warehouse_id="WH1", scope=Scope.FULL, operator_id="L01", plan_id=plan_id)
        assert store.writer.db.execute("SELECT scope, scope_value, plan_id FROM stocktakes "
                                       "WHERE stocktake_id = ?", [sid]).fetchone() == (
            "sku", "CUP-350", plan_id)
        st.record_count(sid, "A-01-01", {"CUP-350": 9}, operator_id="P01")
        (adjust,) = st.approve(sid, operator_id="L01")

        def plan_state() -> tuple[str, str | None]:
            with engine.connect() as conn:
                p = next(x for x in stocktakes.plans(conn) if x.id == plan_id)
            return p.status, p.stocktake_id

        wait_until(lambda: plan_state() == ("done", sid), 30, what="the plan done in the cloud")
        wait_until(lambda: not store.queries.outbox_pending(100), 30, what="all acked")
    with engine.connect() as conn:
        got = conn.execute(sa.select(stock_moves.c.move_id, stock_moves.c.qty_delta).where(
            stock_moves.c.reason == int(MoveReason.COUNT_ADJUST))).all()
    assert [tuple(r) for r in got] == [(adjust.move_id, -1)]
