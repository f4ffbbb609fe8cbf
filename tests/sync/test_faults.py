"""Fault tests against a real mosquitto 2.0 (TLS, ACLs, persistence), every one ending with
the same check: the cloud holds exactly the moves the stations wrote, once each, and every
station's balances equal the cloud's for the warehouse (``harness.assert_converged``)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from cloud.sync.ingest import Ingest, IngestSettings
from edge.store import Store
from edge.sync.broker import MqttBroker
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.outbox import OutboxSettings
from tests.fixtures.mosquitto import MosquittoBroker, MosquittoFactory
from tests.sync.harness import assert_converged, converged, make_cloud, make_station, record_moves
from tests.sync.helpers import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
STATIONS = ("st-01", "st-02")


@contextmanager
def running_daemon(broker: MosquittoBroker, store: Store, *, window: int = 500,
                   resend_after: float = 1.0) -> Iterator[SyncDaemon]:
    """A station's sync daemon in a thread (its own connection to the station database)."""
    client = MqttBroker(broker.settings(store.writer.station_id))
    daemon = SyncDaemon(store, client, DaemonSettings(
        outbox=OutboxSettings(window=window, resend_after=resend_after, max_resend_after=4.0)))
    thread = threading.Thread(target=daemon.run, name=f"sync-{store.writer.station_id}", daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop_event.set()
        thread.join(10)
        client.disconnect()


@contextmanager
def running_ingest(broker: MosquittoBroker, engine: Engine, *, resend_after: float = 1.0) -> Iterator[Ingest]:
    client = MqttBroker(broker.settings("cloud", client_id="cloud-ingest"))
    ingest = Ingest(engine, client, IngestSettings(resend_after=resend_after, max_resend_after=4.0))
    thread = threading.Thread(target=ingest.run, name="ingest", daemon=True)
    thread.start()
    try:
        yield ingest
    finally:
        ingest.stop_event.set()
        thread.join(10)
        client.disconnect()


def stations(tmp_path: Path, names: tuple[str, ...] = STATIONS) -> tuple[list[Store], list[Store]]:
    """(recorders, sync stores): two connections per station database, as kiosk and daemon."""
    recorders = [make_station(tmp_path / f"{s}.db", s) for s in names]
    syncers = [make_station(tmp_path / f"{s}.db", s) for s in names]
    return recorders, syncers


def kill_broker_hard(broker: MosquittoBroker) -> None:
    """SIGKILL: mosquitto loses whatever changed since its last persistence save."""
    assert broker.proc is not None
    proc, broker.proc = broker.proc, None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_broker_stopped_and_restarted_mid_stream(
    mosquitto_factory: MosquittoFactory, tmp_path: Path, how: str,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    recorders, syncers = stations(tmp_path)
    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        for round_ in range(6):
            for r in recorders:
                record_moves(r, 50, start=round_ * 50, per_tx=5)
            if round_ == 2:
                if how == "sigterm":
                    broker.stop()  # saves its persistence database
                else:
                    kill_broker_hard(broker)  # queued and in-flight messages are gone
            if round_ == 4:
                broker.start()
            time.sleep(0.2)
        wait_until(lambda: converged(engine, recorders), 60, what="convergence after broker restart")
    assert_converged(engine, recorders)
    assert sum(len(r.queries.moves(limit=100_000)) for r in recorders) == 2 * 2 * 300


def test_two_stations_of_one_warehouse_recording_concurrently(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    recorders, syncers = stations(tmp_path)
    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        threads = [threading.Thread(target=record_moves, args=(r, 600), kwargs={"per_tx": 3})
                   for r in recorders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        wait_until(lambda: converged(engine, recorders), 60, what="convergence")
    assert_converged(engine, recorders)
    # each station holds the other's moves too
    assert all(r.queries.move_count() == 1200 for r in recorders)


def test_station_process_sigkilled_at_random_points(mosquitto_factory: MosquittoFactory, tmp_path: Path) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    db = tmp_path / "st-01.db"
    make_station(db, "st-01").close()
    creds = broker.stations["st-01"]
    cmd = [sys.executable, "-m", "tests.sync.station_proc", str(db), "st-01", "2000",
           broker.host, str(broker.port), str(creds.password), broker.ca_file]
    rng = random.Random(20261123)
    kills = 0
    with running_ingest(broker, engine):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            for _ in range(5):
                time.sleep(rng.uniform(0.3, 1.2))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                kills += 1
                proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            store = make_station(db, "st-01")
            wait_until(lambda: store.queries.move_count() == 2000, 60, what="all 2000 moves recorded")
            wait_until(lambda: converged(engine, [store]), 60, what="convergence after SIGKILLs")
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
    assert kills == 5
    assert_converged(engine, [store])


@pytest.mark.parametrize("puback", [[], ["--puback-on-receipt"]], ids=["puback-after-commit", "puback-on-receipt"])
def test_cloud_consumer_killed_mid_batch_and_restarted(
    mosquitto_factory: MosquittoFactory, tmp_path: Path, puback: list[str],
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    cloud_db = tmp_path / "cloud.db"
    engine = make_cloud(cloud_db, STATIONS)
    recorders, syncers = stations(tmp_path)
    cmd = [sys.executable, "-m", "cloud", "--db", f"sqlite:///{cloud_db}", "ingest",
           "--host", broker.host, "--port", str(broker.cloud_port), "--password", str(broker.cloud.password),
           "--ca-file", broker.ca_file, "--resend-after", "1", "--max-seconds", "150", *puback]
    rng = random.Random(7)
    with running_daemon(broker, syncers[0]), running_daemon(broker, syncers[1]):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for round_ in range(4):
                for r in recorders:
                    record_moves(r, 250, start=round_ * 250, per_tx=10)
                time.sleep(rng.uniform(0.2, 0.8))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
                proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: converged(engine, recorders), 90, what="convergence after ingest kills")
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(10)
    assert_converged(engine, recorders)


def test_broker_queue_limit_drops_messages_silently(mosquitto_factory: MosquittoFactory, tmp_path: Path) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=(), max_queued_messages=10)
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    recorders, syncers = stations(tmp_path)
    for r in recorders:
        record_moves(r, 1500, per_tx=100)  # a backlog: the window floods the cloud's queue
    with running_ingest(broker, engine), \
            running_daemon(broker, syncers[0], window=1000) as d1, \
            running_daemon(broker, syncers[1], window=1000) as d2:
        wait_until(lambda: converged(engine, recorders), 90, what="convergence despite drops")
        resent = d1.outbox.counters.resent + d2.outbox.counters.resent
    broker.stop()  # mosquitto's stdout log is flushed at exit
    assert "Outgoing messages are being dropped" in broker.log_text()
    assert resent > 0  # only re-sending after the missing app ack recovered them
    assert_converged(engine, recorders)


def test_station_offline_for_10000_moves_then_reconnects(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    recorders, syncers = stations(tmp_path)
    with running_ingest(broker, engine), running_daemon(broker, syncers[1]):
        record_moves(recorders[0], 10_000, per_tx=100)  # st-01's daemon is not running: offline
        record_moves(recorders[1], 200, per_tx=10)
        assert recorders[0].queries.outbox_stats().pending == 10_000
        with running_daemon(broker, syncers[0]):
            wait_until(lambda: converged(engine, recorders), 120, what="backlog drained")
    assert_converged(engine, recorders)


def test_the_sync_command_runs_from_the_station_env_and_stops_cleanly(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=("st-01",), cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    db = tmp_path / "st-01.db"
    store = make_station(db, "st-01")
    record_moves(store, 300, per_tx=30)
    creds = broker.stations["st-01"]
    env = {**os.environ, "PACKLINE_STATION_ID": "st-01", "PACKLINE_BROKER_HOST": broker.host,
           "PACKLINE_BROKER_PORT": str(broker.port), "PACKLINE_BROKER_CA": broker.ca_file,
           "PACKLINE_BROKER_USERNAME": "st-01", "PACKLINE_BROKER_PASSWORD": str(creds.password)}
    with running_ingest(broker, engine):
        proc = subprocess.Popen([sys.executable, "-m", "edge", "--db", str(db), "sync", "--max-seconds", "60"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: converged(engine, [store]), 30, what="convergence via packline-edge sync")
            assert store.queries.sync_state()["connected"] == "1"
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    assert "sync started: station st-01" in err.decode()
    state = store.queries.sync_state()
    assert (state["daemon"], state["connected"]) == ("stopped", "0")
    assert_converged(engine, [store])
