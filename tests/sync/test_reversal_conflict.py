"""Regression, through a real mosquitto: two stations each reverse the same move (issue #11).

Before: the cloud accepted both reversals (its balance went 10 below the truth) and the
first station's inbox rejected the whole relayed batch on its unique index, so the moves
beside the second reversal never arrived there. Now the cloud applies one reversal, the
other is a visible conflict (dead letter, rejection, ``reversal_conflict`` alert), every
balance equals the truth and every other move arrives everywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import ledger_store
from cloud.db import write_transaction
from cloud.db.schema import dead_letters, skus, station_alerts, stock_moves
from cloud.stock import record_cloud_move
from edge.domain.models import MoveReason, MoveRequest
from edge.store import Store
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import cloud_balances, make_cloud, station_balances, unacked_moves
from tests.sync.helpers import wait_until
from tests.sync.test_faults import STATIONS, running_daemon, running_ingest, stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]


def _receive(store: Store, sku: str, location: str, qty: int, doc: str) -> str:
    return store.writer.record_move(MoveRequest(
        sku=sku, location=location, qty_delta=qty, reason=MoveReason.RECEIVE, source_type="po",
        source_id=doc, operator_id="op1")).move_id


def _ids(store: Store) -> set[str]:
    return {r[0] for r in store.writer.db.execute("SELECT move_id FROM stock_moves")}


def _cloud_ids(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(stock_moves.c.move_id)).scalars())


def test_two_stations_reversing_one_move_through_the_real_broker(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    with engine.begin() as conn:
        conn.execute(sa.insert(skus), [{"sku": "CUP-350", "name_zh": "保温杯"},
                                       {"sku": "TOWEL-W", "name_zh": "毛巾"}])
    (one, two), syncers = stations(tmp_path)
    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        original = _receive(one, "CUP-350", "A-01-01", 10, "PO-1")
        wait_until(lambda: original in _ids(two), 30, what="the original move at the second station")
    # both stations offline: each reverses the move, and records more beside it
    mine = one.writer.reverse_move(original, operator_id="op1", note="录错").move_id
    theirs = two.writer.reverse_move(original, operator_id="op2", note="录错了").move_id
    beside = [_receive(two, "TOWEL-W", "A-01-02", 4, "PO-2"), _receive(two, "TOWEL-W", "A-01-02", 5, "PO-3")]
    after = _receive(one, "CUP-350", "A-01-01", 2, "PO-4")
    with running_ingest(broker, engine) as ingest:
        with running_daemon(broker, syncers[1]):  # the second station reaches the cloud first
            wait_until(lambda: {theirs, *beside} <= _cloud_ids(engine), 30, what="the second station's moves")
            with running_daemon(broker, syncers[0]):
                # a cloud-side correction travels down as well; BEGIN IMMEDIATE, as every cloud
                # writer beside a running ingest (a read-then-write upgrade can hit SQLITE_BUSY)
                with write_transaction(engine) as conn:
                    adjust, _ = record_cloud_move(
                        conn, warehouse_id="WH1", sku="TOWEL-W", location="A-01-02", qty_delta=-1,
                        reason=MoveReason.MANUAL_ADJUST, operator_id="M01", note="破损",
                        source_type="manual", source_id="ADJ-1", now=ingest.clock())
                everything = {original, theirs, *beside, after, adjust.move_id}
                wait_until(lambda: everything <= _ids(two) and (everything - {theirs}) <= _ids(one)
                           and after in _cloud_ids(engine)
                           and unacked_moves(one) == unacked_moves(two) == 0,
                           60, what="convergence after the conflict")
    truth = {("CUP-350", "A-01-01"): 10 - 10 + 2, ("TOWEL-W", "A-01-02"): 4 + 5 - 1}
    assert cloud_balances(engine) == truth
    assert station_balances(one) == truth and station_balances(two) == truth
    for s in (one, two):
        assert s.queries.fold_moves() == s.queries.cached_balances()
    # the cloud kept the second station's reversal; the first one's is a conflict
    assert _cloud_ids(engine) == everything
    assert _ids(two) == everything
    assert _ids(one) == everything - {theirs} | {mine}  # its own reversal stands in for the other
    with engine.connect() as conn:
        assert ledger_store.check_balances(conn) == []
        alerts = conn.execute(sa.select(station_alerts).where(
            station_alerts.c.kind == "reversal_conflict")).mappings().all()
        dead = conn.execute(sa.select(dead_letters.c.reason).where(dead_letters.c.msg_id == mine)).scalars().all()
    # one alert raised by the cloud (it refused the first station's reversal), one sent up by
    # the first station (it skipped the relayed one), both about the same move
    assert {(a["station_id"], a["subject"], a["detail"].get("winner_move_id"),
             a["detail"].get("kept_move_id")) for a in alerts} == {
        ("st-01", original, theirs, None), ("st-01", original, None, mine)}
    assert len(alerts) == 2
    assert dead and all(f"already reversed by {theirs}" in r for r in dead)
    # the first station: its reversal was refused (with the reason), the other's skipped, both loudly
    kinds = [k for (k,) in one.writer.db.execute("SELECT kind FROM alerts ORDER BY alert_id")]
    assert "reversal_conflict" in kinds and "sync_rejected" in kinds
    refused = one.writer.db.execute("SELECT acked_at FROM outbox WHERE msg_id = ?", [mine]).fetchone()
    assert refused[0] is not None  # answered (rejected), not re-sent forever
