"""A station process for the SIGKILL test: records moves *and* runs the sync daemon.

    python -m tests.sync.station_proc DB STATION TOTAL HOST PORT PASSWORD CA

Records moves (10 per transaction) until the station has written TOTAL of its own, then
keeps syncing until killed. After a restart it continues from what the database holds,
so the set of moves written is whatever committed before each SIGKILL.
"""

from __future__ import annotations

import sys
import threading
import time

from edge.sync.broker import MqttBroker, MqttSettings
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.outbox import OutboxSettings
from tests.sync.harness import make_station, own_move_ids, record_moves


def main(argv: list[str]) -> None:
    db, station, total, host, port, password, ca = argv
    recorder = make_station(db, station)
    sync_store = make_station(db, station)
    broker = MqttBroker(MqttSettings(host=host, port=int(port), client_id=station, username=station,
                                     password=password, ca_file=ca, min_backoff=0.1, max_backoff=1.0))
    daemon = SyncDaemon(sync_store, broker, DaemonSettings(outbox=OutboxSettings(resend_after=1.0)))
    threading.Thread(target=daemon.run, daemon=True).start()
    done = len(own_move_ids(recorder))
    print(f"started with {done}", flush=True)
    while done < int(total):
        n = min(10, int(total) - done)
        record_moves(recorder, n, start=done, per_tx=10)
        done += n
        time.sleep(0.002)
    print("recorded all", flush=True)
    time.sleep(150)  # bounded: the test kills it long before


if __name__ == "__main__":
    main(sys.argv[1:])
