"""A station restored from an older copy of its database resyncs with the cloud, once.

Over the FakeBroker (fast, deterministic); the drill in ``tests/drill`` does the same with
mosquitto, moto's S3 and real processes. The "backup" here is SQLite's online backup of the
station database taken at the backup point; ``mark_restored`` is what
``packline-edge restore`` runs on the restored file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import ledger_store
from cloud.db.schema import (
    downlink_outbox,
    station_resyncs,
    station_shipments,
    stations,
    stock_moves,
    warehouses,
)
from cloud.sync.ingest import Ingest, IngestSettings
from cloud.sync.outbound import pending_count, send_intercept, send_po, send_task
from cloud.sync.resync import apply_resync, resync_count
from edge.store import Store, open_store
from edge.store.packing import PackingWriter, ShipRefused, StoreOrderSource
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.fake_broker import FakeBrokerServer, packline_acl
from edge.sync.inbox import apply_shipped, apply_task
from edge.sync.resync import PENDING_KEY, REQUESTED_KEY, mark_restored
from edge.sync.schema import (
    PoLineWire,
    PurchaseOrderWire,
    ResyncWire,
    ShippedOrderWire,
    ShippedWire,
    TaskLineWire,
    TaskWire,
    up_topic,
)
from tests.sync.harness import (
    assert_converged,
    converged,
    make_cloud,
    make_station,
    own_move_ids,
    record_moves,
)
from tests.sync.helpers import envelope, wait_until

STATIONS = ("st-01", "st-02")


def task(order_id: str) -> TaskWire:
    return TaskWire(order_id=order_id, platform="pdd", platform_order_no=f"PDD-{order_id}",
                    waybill_no=f"YT{order_id}", carrier="YTO", ordered_at=datetime(2026, 11, 23, 7, 0, tzinfo=UTC),
                    lines=[TaskLineWire(line_no=1, sku="CUP-350", qty=1)])


class World:
    """Cloud ingest and two station daemons on one FakeBrokerServer, turned by hand."""

    def __init__(self, tmp_path: Path) -> None:
        self.server = FakeBrokerServer(acl=packline_acl(), max_queued_messages=100_000)
        self.engine = make_cloud(tmp_path / "cloud.db", STATIONS)
        self.ingest = Ingest(self.engine, self.server.client("cloud-ingest", username="cloud"),
                             IngestSettings(tick=0, resend_after=0.2))
        self.ingest.bus.start()
        self.stores = {s: make_station(tmp_path / f"{s}.db", s) for s in STATIONS}
        self.daemons = {s: self.daemon(st) for s, st in self.stores.items()}

    def ingest_now(self) -> datetime:
        """The time on the ingest's own clock (what decides which down-message is due)."""
        return self.ingest.clock()

    def daemon(self, store: Store) -> SyncDaemon:
        s = store.writer.station_id
        d = SyncDaemon(store, self.server.client(s, username=s), DaemonSettings(tick=0, health_every=None))
        d.outbox.settings = type(d.outbox.settings)(resend_after=0.2)
        d.start()
        return d

    def turn(self) -> None:
        for d in self.daemons.values():
            d.step(0)
        self.ingest.step(0)
        for d in self.daemons.values():
            d.step(0)

    def settle(self, what: str) -> None:
        stores = list(self.stores.values())

        def done() -> bool:
            with self.engine.connect() as conn:
                idle = pending_count(conn) == 0
            return idle and converged(self.engine, stores) and all(
                s.queries.outbox_stats().pending == 0 for s in stores)

        wait_until(done, 20, self.turn, what)


def snapshot_db(src: Path, dst: Path) -> None:
    """SQLite's online backup: the station database as of now (the "backup point")."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def station_state(store: Store) -> dict[str, Any]:
    db = store.writer.db
    return {
        "moves": sorted(r[0] for r in db.execute("SELECT move_id FROM stock_moves")),
        "balances": store.queries.cached_balances(),
        "orders": db.execute("SELECT order_id, status, intercept_reason FROM orders ORDER BY 1").fetchall(),
        "pos": db.execute("SELECT po_id, status FROM purchase_orders ORDER BY 1").fetchall(),
        "alerts": db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0],
    }


def crash_and_restore(w: World, tmp_path: Path, copy: Path) -> Store:
    """st-01's card dies; its copy is restored (marked) and a new daemon starts on it."""
    old = w.daemons.pop("st-01")
    old.broker.disconnect()
    w.stores.pop("st-01").close()
    restored = tmp_path / "new-machine" / "st-01.db"
    restored.parent.mkdir()
    restored.write_bytes(copy.read_bytes())
    assert mark_restored(str(restored), txid=7, restore_point=None)
    store = open_store(restored, station_id="st-01")  # PACKLINE_STATION_ID from station.env
    w.stores["st-01"] = store
    w.daemons["st-01"] = w.daemon(store)
    return store


def test_restored_station_gets_back_everything_the_copy_lacks(tmp_path: Path) -> None:
    w = World(tmp_path)
    a, b = w.stores["st-01"], w.stores["st-02"]
    record_moves(a, 20)
    record_moves(b, 10)
    with w.engine.begin() as conn:
        send_task(conn, "st-01", task("O-1"), now=w.ingest_now())
    w.settle("before the backup")
    unacked_in_copy = set(record_moves(a, 5, start=20))  # recorded, not yet sent
    snapshot_db(tmp_path / "st-01.db", tmp_path / "backup.db")  # the last backup upload
    # after the backup point: own moves, relayed moves, a task, an intercept, a PO — all acked
    lost_own = set(record_moves(a, 10, start=25))
    record_moves(b, 12, start=10)
    with w.engine.begin() as conn:
        send_task(conn, "st-01", task("O-2"), now=w.ingest_now())
        send_intercept(conn, "st-01", "O-1", "买家申请退款", now=w.ingest_now())
        send_po(conn, ["st-01"], PurchaseOrderWire(po_id="PO-9", supplier="义乌供应商", warehouse_id="WH1",
                                                   lines=[PoLineWire(line_no=1, sku="CUP-350", qty_ordered=50)]),
                now=w.ingest_now())
    w.settle("after the backup point")
    before_crash = station_state(a)
    written = own_move_ids(a)

    store = crash_and_restore(w, tmp_path, tmp_path / "backup.db")
    assert store.queries.setting(PENDING_KEY) is None  # taken by the daemon's start
    msg_id = w.daemons["st-01"].resync_msg_id
    assert msg_id and store.queries.setting(REQUESTED_KEY) == msg_id
    assert not lost_own & own_move_ids(store)  # the copy really is behind
    pending_ids = {r[0] for r in store.writer.db.execute(
        "SELECT msg_id FROM outbox WHERE acked_at IS NULL AND kind = 'move'")}
    assert pending_ids == unacked_in_copy  # acked by the cloud since: re-sent, changes nothing
    w.settle("convergence after the restore")

    assert own_move_ids(store) == written  # own moves came back, applied through apply_remote_moves
    assert station_state(store) == before_crash
    assert store.writer.db.execute(
        "SELECT status, intercept_reason FROM orders WHERE order_id = 'O-1'").fetchone() == (
        "intercepted", "买家申请退款")
    assert_converged(w.engine, [store, b])
    with w.engine.connect() as conn:
        assert resync_count(conn, "st-01") == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(stock_moves)).scalar_one() == 35 + 22
    assert w.ingest.counters.resyncs == 1
    assert store.writer.db.execute(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'resync' AND acked_at IS NOT NULL").fetchone() == (1,)


def test_resync_is_sent_once_and_repeating_it_changes_nothing(tmp_path: Path) -> None:
    w = World(tmp_path)
    a = w.stores["st-01"]
    record_moves(a, 10)
    record_moves(w.stores["st-02"], 5)
    snapshot_db(tmp_path / "st-01.db", tmp_path / "backup.db")
    record_moves(a, 5, start=10)
    with w.engine.begin() as conn:
        send_task(conn, "st-01", task("O-5"), now=w.ingest_now())
    w.settle("before the crash")
    store = crash_and_restore(w, tmp_path, tmp_path / "backup.db")
    w.settle("after the restore")
    state = station_state(store)
    with w.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(downlink_outbox)).scalar_one()
        first = conn.execute(sa.select(station_resyncs)).one()
    assert first.moves_sent == 15 and first.downlinks_resent >= 2  # relayed moves + the task

    # the daemon restarts: no second request
    w.daemons["st-01"].broker.disconnect()
    w.daemons["st-01"] = w.daemon(store)
    assert w.daemons["st-01"].resync_msg_id is None
    # the same request again (an outbox re-send after a lost ack): acked, nothing re-sent
    raw = store.writer.db.execute("SELECT payload FROM outbox WHERE kind = 'resync'").fetchone()[0]
    dup = w.server.client("st-01-dup", username="st-01")
    dup.connect()
    dup.publish(up_topic("st-01", "resync"), envelope(
        "resync", "st-01", ResyncWire.model_validate_json(raw).model_dump(mode="json"), first.msg_id))
    w.settle("duplicate request")
    with w.engine.connect() as conn:
        assert resync_count(conn, "st-01") == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(downlink_outbox)).scalar_one() == rows
    # a new request (restored a second time from the same copy state): re-sent, changes nothing
    assert mark_restored(w.stores["st-01"].path, txid=8, restore_point=None)
    w.daemons["st-01"].broker.disconnect()
    w.daemons["st-01"] = w.daemon(store)
    assert w.daemons["st-01"].resync_msg_id not in (None, first.msg_id)
    w.settle("second resync")
    with w.engine.connect() as conn:
        assert resync_count(conn, "st-01") == 2
    assert station_state(store) == state
    assert_converged(w.engine, [store, w.stores["st-02"]])


def test_resync_re_sends_only_what_is_newer_than_the_restore_point(cloud_engine: Engine, tmp_path: Path) -> None:
    engine = cloud_engine
    with engine.begin() as conn:
        conn.execute(sa.insert(warehouses).values(id="WH1", name="杭州主仓"))
        conn.execute(sa.insert(stations), [
            {"id": s, "warehouse_id": "WH1", "name": s, "status": "active",
             "created_at": datetime(2026, 11, 1, tzinfo=UTC)} for s in STATIONS])
    station = make_station(tmp_path / "st.db", "st-01")
    ids = record_moves(station, 5)
    moves = {m.move_id: m for m in station.queries.moves(limit=100)}
    t0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    minutes = [0, 10, 20, 30, 40]
    with engine.begin() as conn:
        for mid, m in zip(ids, minutes, strict=True):
            when = t0 + timedelta(minutes=m)
            ledger_store.insert_moves(conn, [replace(moves[mid], recorded_at=when)], received_at=when)
        tasks = [send_task(conn, "st-01", task(f"O-{i}"), now=t0) for i in range(3)]
        other = send_task(conn, "st-02", task("O-9"), now=t0)
        acked = {tasks[0]: 0, tasks[1]: 20, tasks[2]: 30, other: 30}
        for mid, m in acked.items():
            conn.execute(sa.update(downlink_outbox).where(downlink_outbox.c.msg_id == mid)
                         .values(acked_at=t0 + timedelta(minutes=m)))
        conn.execute(sa.update(downlink_outbox).where(downlink_outbox.c.msg_id == tasks[2])
                     .values(rejected_reason="PackError: already shipped"))
        # shipments: before the point, after it (twice for O-1: the first counts), another station's
        shipped = [("s-a", "st-01", "O-0", 10, 10, "P01"), ("s-b", "st-01", "O-1", 20, 21, "P01"),
                   ("s-c", "st-01", "O-1", 25, 26, "P02"), ("s-d", "st-01", "O-2", 14, 41, "P03"),
                   ("s-e", "st-02", "O-9", 30, 30, "P09")]
        conn.execute(sa.insert(station_shipments), [
            {"msg_id": mid, "station_id": st, "order_id": oid, "waybill_no": f"YT{oid}", "carrier": "YTO",
             "operator_id": op, "shipped_at": t0 + timedelta(minutes=at),
             "received_at": t0 + timedelta(minutes=rcv)} for mid, st, oid, at, rcv, op in shipped])
        point = t0 + timedelta(minutes=15)
        wire = ResyncWire(restore_point=point, restored_txid=3, restored_at=t0 + timedelta(hours=2))
        now = t0 + timedelta(hours=2)
        assert apply_resync(conn, "st-01", "resync-0001", wire, now, margin=timedelta(0)) == (3, 1, 2)
        assert apply_resync(conn, "st-01", "resync-0001", wire, now, margin=timedelta(0)) is None
        # the default margin (an hour of clock skew) reaches back to everything here
        assert apply_resync(conn, "st-02", "resync-0002", wire, now) == (0, 1, 1)
    with engine.connect() as conn:
        row = conn.execute(sa.select(station_resyncs).where(station_resyncs.c.msg_id == "resync-0001")).one()
        due = conn.execute(sa.select(downlink_outbox.c.msg_id, downlink_outbox.c.station_id,
                                     downlink_outbox.c.kind, downlink_outbox.c.payload,
                                     downlink_outbox.c.attempts)
                           .where(downlink_outbox.c.acked_at.is_(None))
                           .order_by(downlink_outbox.c.seq)).all()
    assert (row.moves_sent, row.downlinks_resent, row.cutoff, row.restored_txid) == (3, 1, point, 3)
    # the task acked after the point comes first (its original seq), then the own moves
    assert [(d.msg_id, d.station_id, d.kind, d.attempts) for d in due[:2]] == [
        (tasks[1], "st-01", "task", 0), (other, "st-02", "task", 0)]
    assert [(d.kind, d.station_id) for d in due[2:]] == [
        ("moves", "st-01"), ("shipped", "st-01"), ("shipped", "st-02")]
    assert [m["move_id"] for m in due[2].payload["moves"]] == ids[2:]
    # O-2 was shipped before the point but reached the cloud after it: sent too, in shipping order
    assert ShippedWire.model_validate(due[3].payload).orders == [
        ShippedOrderWire(order_id="O-2", shipped_at=datetime(2026, 11, 23, 8, 14, tzinfo=UTC),
                         shipped_by="P03", waybill_no="YTO-2"),
        ShippedOrderWire(order_id="O-1", shipped_at=datetime(2026, 11, 23, 8, 20, tzinfo=UTC),
                         shipped_by="P01", waybill_no="YTO-1")]
    assert [o.order_id for o in ShippedWire.model_validate(due[4].payload).orders] == ["O-9"]


def ship(store: Store, order_id: str) -> None:
    order = StoreOrderSource(store.queries).order(order_id)
    assert order is not None
    PackingWriter(store.writer).ship(order, operator_id="P07", weight_g=400)


def shipped_rows(store: Store) -> list[tuple[Any, ...]]:
    return store.writer.db.execute(
        "SELECT order_id, status, shipped_at, shipped_by FROM orders ORDER BY 1").fetchall()


def counts(store: Store) -> tuple[int, int, int]:
    """(stock moves, shipment outbox rows, balances total): what marking an order shipped must not touch."""
    db = store.writer.db
    return (db.execute("SELECT COUNT(*) FROM stock_moves").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'shipment'").fetchone()[0],
            db.execute("SELECT COALESCE(SUM(qty), 0) FROM balances").fetchone()[0])


def test_orders_shipped_after_the_backup_point_come_back_shipped(tmp_path: Path) -> None:
    w = World(tmp_path)
    a = w.stores["st-01"]
    record_moves(a, 20)  # CUP-350 in stock at its default location
    with w.engine.begin() as conn:
        for oid in ("O-1", "O-2", "O-3"):
            send_task(conn, "st-01", task(oid), now=w.ingest_now())
    w.settle("tasks at the station")
    ship(a, "O-1")
    w.settle("O-1 shipped before the backup point")
    snapshot_db(tmp_path / "st-01.db", tmp_path / "backup.db")
    # after the backup point: O-2 shipped, O-4 arrives and is shipped, O-3 still waiting
    ship(a, "O-2")
    with w.engine.begin() as conn:
        send_task(conn, "st-01", task("O-4"), now=w.ingest_now())
    wait_until(lambda: a.writer.db.execute(
        "SELECT 1 FROM orders WHERE order_id = 'O-4'").fetchone() is not None, 20, w.turn, "O-4 here")
    ship(a, "O-4")
    w.settle("after the backup point")
    before, at_crash = shipped_rows(a), counts(a)
    assert [(r[0], r[1]) for r in before] == [
        ("O-1", "shipped"), ("O-2", "shipped"), ("O-3", "waiting"), ("O-4", "shipped")]
    with w.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(station_shipments)).scalar_one() == 3

    store = crash_and_restore(w, tmp_path, tmp_path / "backup.db")
    assert [(r[0], r[1]) for r in shipped_rows(store)] == [
        ("O-1", "shipped"), ("O-2", "waiting"), ("O-3", "waiting")]  # the copy is behind
    shipments_in_copy = counts(store)[1]
    w.settle("after the restore")
    wait_until(lambda: shipped_rows(store) == before, 20, w.turn, "shipped orders back")

    assert shipped_rows(store) == before  # same time and packer as the real shipment
    moves, shipments, total = counts(store)
    assert shipments == shipments_in_copy == 1 and at_crash[1] == 3  # no new shipment message for O-2 or O-4
    assert (moves, total) == (at_crash[0], at_crash[2])  # no move beyond the re-sent SHIP moves
    assert_converged(w.engine, [store, w.stores["st-02"]])
    with w.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(station_shipments)).scalar_one() == 3
    for oid in ("O-2", "O-4"):
        order = StoreOrderSource(store.queries).order(oid)
        assert order is not None
        with pytest.raises(ShipRefused):
            PackingWriter(store.writer).ship(order, operator_id="P07", weight_g=400)
    audits = store.writer.db.execute(
        "SELECT subject FROM audit_log WHERE action = 'order.shipped_restored' ORDER BY 1").fetchall()
    assert audits == [("O-2",), ("O-4",)]

    # a second restore of the same state: the shipped orders are re-sent, nothing changes
    assert mark_restored(store.path, txid=8, restore_point=None)
    w.daemons["st-01"].broker.disconnect()
    w.daemons["st-01"] = w.daemon(store)
    w.settle("second resync")
    with w.engine.connect() as conn:
        assert resync_count(conn, "st-01") == 2
    assert shipped_rows(store) == before
    assert counts(store) == (moves, shipments, total)
    assert store.writer.db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'order.shipped_restored'").fetchone() == (2,)


def test_a_shipped_fact_ahead_of_its_task_waits_for_it(tmp_path: Path) -> None:
    store = make_station(tmp_path / "st.db", "st-01")
    record_moves(store, 4)
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    fact = ShippedWire(orders=[
        ShippedOrderWire(order_id="O-7", shipped_at=at, shipped_by="P02", waybill_no="YTO-7"),
        ShippedOrderWire(order_id="O-8", shipped_at=at, shipped_by="P03", waybill_no="YTO-8")])
    apply_task(store.writer, task("O-8"))
    store.writer.intercept_order("O-8", "买家申请退款")  # stopped in the copy, shipped before the crash
    before = counts(store)
    store.writer.apply_once("fact-1", "shipped", lambda wr: apply_shipped(wr, fact))
    assert store.writer.db.execute("SELECT order_id FROM pending_shipped").fetchall() == [("O-7",)]
    apply_task(store.writer, task("O-7"))  # the re-sent task overtaken by the fact
    assert shipped_rows(store) == [("O-7", "shipped", "2026-11-23T09:30:00+00:00", "P02"),
                                   ("O-8", "shipped", "2026-11-23T09:30:00+00:00", "P03")]
    assert store.writer.db.execute("SELECT COUNT(*) FROM pending_shipped").fetchone() == (0,)
    # the same fact again under another id (a second resync): nothing changes
    store.writer.apply_once("fact-2", "shipped", lambda wr: apply_shipped(wr, fact))
    assert shipped_rows(store)[0] == ("O-7", "shipped", "2026-11-23T09:30:00+00:00", "P02")
    assert counts(store) == before
    assert store.writer.db.execute("SELECT COUNT(*) FROM pending_shipped").fetchone() == (0,)
