"""Sync throughput: Packline station → mosquitto → cloud with application acks, beside raw
paho QoS 1 publish → subscribe on the same broker in the same run.

    python -m bench sync                      # defaults, via the dispatcher
    python -m bench.sync [--messages 20000] [--backlog 100000] [--broker-inflight 20]

1. raw: a paho publisher (in-flight 20, QoS 1, 200-byte payloads) and a paho subscriber
   (auto-ack) through the provisioned TLS broker; end-to-end messages/s at the subscriber.
2. packline: a station database with N moves recorded offline; then ``packline-edge sync``
   and ``packline-cloud ingest`` run as their own processes; moves applied in the cloud
   per second until every move is in the cloud and acked at the station.
3. backlog: the same with a 100,000-move backlog: time to drain.

Prints the ratio packline / raw (aim ≥ 0.5).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]


def start_broker(root: Path, stations: tuple[str, ...], inflight: int = 20):  # type: ignore[no-untyped-def]
    from provisioning.broker_files import BrokerSettings
    from provisioning.core import Provisioner
    from tests.fixtures.mosquitto import Credentials, MosquittoBroker, free_ports

    prov = Provisioner(root / "state")
    out = root / "broker"
    port, cloud_port, mtls = free_ports(3)
    prov.write_broker_config(BrokerSettings(
        out=str(out), port=port, cloud_port=cloud_port, bind="127.0.0.1", hostnames=["127.0.0.1", "localhost"],
        mtls_port=mtls, max_queued_messages=200_000, max_inflight_messages=inflight,
        run_as_user="root"))
    user, password = prov.cloud_credentials()
    accounts = {s: Credentials(s, prov.enrol(s, "WH1").password) for s in stations}
    broker = MosquittoBroker(host="127.0.0.1", port=port, cloud_port=cloud_port, mtls_port=mtls, ca_file=str(out / "ca.crt"),
                             cloud=Credentials(user, password), stations=accounts, directory=out,
                             provisioner=prov)
    broker.start()
    return broker


def raw_paho(broker, n: int) -> float:  # type: ignore[no-untyped-def]
    """End-to-end msgs/s of raw paho QoS 1 through the broker."""
    got = threading.Event()
    count = [0]
    first = [0.0]

    def on_message(c, u, m):  # type: ignore[no-untyped-def]
        if count[0] == 0:
            first[0] = time.perf_counter()
        count[0] += 1
        if count[0] >= n:
            got.set()

    def client(who: str, cid: str) -> mqtt.Client:
        creds = broker.cloud if who == "cloud" else broker.stations[who]
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
        c.username_pw_set(creds.username, creds.password)
        c.tls_set(ca_certs=broker.ca_file)
        return c

    connected = threading.Event()
    sub = client("cloud", "bench-raw-sub")
    sub.on_message = on_message
    sub.on_connect = lambda c, u, f, rc, p: (c.subscribe("packline/v1/st/+/up/raw", 1), connected.set())
    sub.on_subscribe = lambda *a: connected.set()
    sub.connect(broker.host, broker.cloud_port)
    sub.loop_start()
    connected.wait(10)
    time.sleep(0.5)
    pub = client("st-01", "bench-raw-pub")
    pub.max_inflight_messages_set(20)
    pub.max_queued_messages_set(0)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    payload = b"x" * 200
    start = time.perf_counter()
    for _ in range(n):
        pub.publish("packline/v1/st/st-01/up/raw", payload, qos=1)
    got.wait(120)
    elapsed = time.perf_counter() - start
    for c in (pub, sub):
        c.loop_stop()
        c.disconnect()
    return count[0] / elapsed


def packline(broker, root: Path, n: int, tag: str, extra: tuple[str, ...] = ()) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(steady moves/s, total seconds from process start) to drain an ``n``-move backlog
    through ``packline-edge sync`` and ``packline-cloud ingest``."""
    from cloud.db.schema import stock_moves
    from tests.sync.harness import make_cloud, make_station, record_moves

    station = "st-01"
    db = root / f"{tag}-station.db"
    store = make_station(db, station)
    t = time.perf_counter()
    record_moves(store, n, per_tx=1000)
    print(f"  [{tag}] recorded {n} moves offline in {time.perf_counter() - t:.1f}s", flush=True)
    cloud_db = root / f"{tag}-cloud.db"
    engine = make_cloud(cloud_db, (station,))
    creds = broker.stations[station]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The cloud's persistent session exists before stations publish, as in production
    # (otherwise the first messages meet "no matching subscribers" and wait for a re-send).
    from cloud.sync.ingest import UP_FILTER
    from edge.sync.broker import MqttBroker

    session = MqttBroker(broker.settings("cloud", client_id=f"ingest-{tag}"))
    session.connect()
    session.subscribe(UP_FILTER, qos=1)
    session.disconnect()
    ingest = subprocess.Popen(
        [sys.executable, "-m", "cloud", "--db", f"sqlite:///{cloud_db}", "ingest", "--host", broker.host,
         "--port", str(broker.cloud_port), "--password", str(broker.cloud.password), "--ca-file", broker.ca_file,
         "--client-id", f"ingest-{tag}", *extra],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    start = time.perf_counter()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "edge", "--db", str(db), "sync", "--host", broker.host,
         "--port", str(broker.port), "--station", station, "--password", str(creds.password),
         "--ca-file", broker.ca_file],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = start + 600
        trace: list[tuple[float, int, int]] = []
        while time.perf_counter() < deadline:
            with engine.connect() as conn:
                in_cloud = conn.execute(sa.select(sa.func.count()).select_from(stock_moves)).scalar_one()
            pending = store.queries.outbox_stats().pending
            trace.append((time.perf_counter() - start, in_cloud, pending))
            if in_cloud >= n and pending == 0:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        # steady rate: from the first move applied in the cloud (process start-up and TLS
        # connect excluded, as the raw run excludes its connects)
        t0, c0 = next(((t, c) for t, c, _ in trace if c > 0), (0.0, 0))
        steady = (in_cloud - c0) / max(elapsed - t0, 1e-9)
        if os.environ.get("BENCH_TRACE"):
            for t, c, p in trace[::5]:
                print(f"    t={t:5.1f}s cloud={c} pending={p}", file=sys.stderr)
        if os.environ.get("BENCH_TRACE"):
            for name, p in (("daemon", daemon), ("ingest", ingest)):
                fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                print(f"    {name} cpu {cpu:.1f}s of {elapsed:.1f}s", file=sys.stderr)
    finally:
        for p in (daemon, ingest):
            os.kill(p.pid, signal.SIGTERM)
            p.wait(20)
    return steady, elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench sync")
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--backlog", type=int, default=100_000)
    ap.add_argument("--broker-inflight", type=int, default=20,
                    help="mosquitto max_inflight_messages (provisioning default 20)")
    args = ap.parse_args([] if argv is None else argv)  # ``python -m bench sync``: defaults
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = start_broker(root, ("st-01",), args.broker_inflight)
        try:
            raw = raw_paho(broker, args.messages)
            print(f"raw paho QoS 1 publish→subscribe: {raw:,.0f} msg/s ({args.messages} msgs)")
            rate, secs = packline(broker, root, args.messages, "steady")
            print(f"packline station→broker→cloud, applied + acked: {rate:,.0f} moves/s steady "
                  f"({args.messages} in {secs:.1f}s including process start-up)")
            print(f"ratio packline / raw: {rate / raw:.2f} (aim ≥ 0.5)")
            early, secs = packline(broker, root, args.messages, "early", ("--puback-on-receipt",))
            print(f"packline with --puback-on-receipt: {early:,.0f} moves/s ({args.messages} in {secs:.1f}s), "
                  f"ratio {early / raw:.2f}")
            if args.backlog:
                rate, secs = packline(broker, root, args.backlog, "backlog")
                print(f"drain {args.backlog:,}-move backlog: {secs:.1f}s from daemon start "
                      f"({rate:,.0f} moves/s steady)")
        finally:
            broker.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
