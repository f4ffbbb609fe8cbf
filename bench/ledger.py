"""Stock moves per second through the edge store vs raw sqlite3 inserts, side by side.

Both commit one row per transaction to a file database with the same pragmas
(``edge.store.db.PRAGMAS``: WAL, synchronous=FULL). The store's move also reads the balance,
updates the balance cache and writes the outbox row in that transaction; the raw baseline is
a single 17-column ``INSERT`` (the width of a ``stock_moves`` row). Rounds alternate so disk
and CPU noise hit both alike. Run: ``python -m bench ledger [--seconds S] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from edge.domain.models import MoveReason, MoveRequest
from edge.store import open_store
from edge.store.db import PRAGMAS

RAW_TABLE = """CREATE TABLE moves (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, move_id TEXT NOT NULL UNIQUE,
    warehouse_id TEXT NOT NULL, sku TEXT NOT NULL, location TEXT NOT NULL,
    qty_delta INTEGER NOT NULL, balance_after INTEGER NOT NULL, reason INTEGER NOT NULL,
    source_type TEXT NOT NULL, source_id TEXT NOT NULL, source_line TEXT,
    operator_id TEXT NOT NULL, station_id TEXT NOT NULL, device_id TEXT,
    occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, reverses_move_id TEXT, note TEXT)"""
RAW_INSERT = "INSERT INTO moves VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"


def _store_round(store_path: Path, seconds: float) -> tuple[int, float]:
    store = open_store(store_path, station_id="BENCH")
    w = store.writer
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    try:
        while time.perf_counter() < deadline:
            w.record_move(MoveRequest(
                sku="SKU-1", location="A-01-01", qty_delta=1, reason=MoveReason.RECEIVE,
                source_type="po", source_id="PO-BENCH", operator_id="bench", source_line=str(n),
            ))
            n += 1
    finally:
        elapsed = time.perf_counter() - start
        store.close()
    return n, elapsed


def _raw_round(raw_path: Path, seconds: float) -> tuple[int, float]:
    conn = sqlite3.connect(str(raw_path), isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    balance = 0
    try:
        while time.perf_counter() < deadline:
            now = datetime.now(UTC).isoformat()
            balance += 1
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(RAW_INSERT, (
                str(uuid.uuid4()), "WH1", "SKU-1", "A-01-01", 1, balance, 10, "po", "PO-BENCH",
                str(n), "bench", "BENCH", None, now, now, None, None,
            ))
            conn.execute("COMMIT")
            n += 1
    finally:
        elapsed = time.perf_counter() - start
        conn.close()
    return n, elapsed


def main(argv: list[str] | None = None) -> None:
    """Print store and raw rates per round, their medians and the ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench ledger")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each round")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of each kind, interleaved")
    if argv is None:
        argv = sys.argv[2:] if sys.argv[1:2] == ["ledger"] else []
    args, _ = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        store_path, raw_path = Path(tmp) / "edge.db", Path(tmp) / "raw.db"
        store = open_store(store_path, station_id="BENCH")
        store.writer.upsert_warehouse("WH1", "bench")
        store.writer.upsert_locations([{"code": "A-01-01", "warehouse_id": "WH1", "zone": "A",
                                        "bin": "01-01", "name": ""}])
        store.writer.upsert_skus([{"sku": "SKU-1", "name_zh": "测试商品"}])
        store.close()
        conn = sqlite3.connect(str(raw_path))
        conn.execute(RAW_TABLE)
        conn.commit()
        conn.close()
        store_rates: list[float] = []
        raw_rates: list[float] = []
        for i in range(args.rounds):
            order = (_store_round, _raw_round) if i % 2 == 0 else (_raw_round, _store_round)
            for fn in order:
                path = store_path if fn is _store_round else raw_path
                n, elapsed = fn(path, args.seconds)
                (store_rates if fn is _store_round else raw_rates).append(n / elapsed)
            print(f"round {i + 1}: store {store_rates[-1]:8.0f} moves/s   "
                  f"raw sqlite3 {raw_rates[-1]:8.0f} inserts/s", flush=True)
        s, r = statistics.median(store_rates), statistics.median(raw_rates)
        paired = statistics.median(a / b for a, b in zip(store_rates, raw_rates, strict=True))
        print(f"median: edge store {s:.0f} moves/s (record_move, 1 per transaction), "
              f"raw sqlite3 {r:.0f} inserts/s (1 per transaction)")
        print(f"ratio store/raw = {s / r:.2f} of medians, {paired:.2f} median of paired rounds "
              f"(target >= 0.5; pragmas: "
              f"{', '.join(p.removeprefix('PRAGMA ') for p in PRAGMAS)})")
