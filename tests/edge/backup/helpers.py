"""Helpers for backup tests: servers, litestream, a move-like station table."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

VENV_BIN = Path(sys.executable).parent
LITESTREAM = str(VENV_BIN / "litestream")
MOTO_SERVER = str(VENV_BIN / "moto_server")
ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def stop_pid(proc: subprocess.Popen[Any], *, group: bool = False) -> None:
    if proc.poll() is None:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait(5)


@dataclass
class Moto:
    port: int
    endpoint: str

    def client(self, endpoint: str | None = None) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=10,
                retries={"max_attempts": 1, "mode": "standard"},
            ),
        )


def s3_url(moto: Moto, bucket: str, prefix: str = "station-01/app.db", endpoint: str | None = None) -> str:
    return f"s3://{bucket}/{prefix}?endpoint={endpoint or moto.endpoint}&region=us-east-1"


def litestream_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    return env


def litestream_restore(url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The real ``litestream restore`` (AWS_CA_BUNDLE removed, or it refuses to start)."""
    if url.startswith("s3://"):
        url += "&forcePathStyle=true"
    return subprocess.run(
        [LITESTREAM, "restore", "-integrity-check", "full", *extra, "-o", str(out), url],
        env=litestream_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


MOVES_SCHEMA = """
CREATE TABLE stock_moves (
  move_id TEXT PRIMARY KEY,
  sku TEXT NOT NULL,
  location TEXT NOT NULL,
  qty_delta INTEGER NOT NULL,
  balance_after INTEGER NOT NULL,
  reason INTEGER NOT NULL,
  occurred_at TEXT NOT NULL,
  note TEXT
);
CREATE INDEX stock_moves_sku ON stock_moves (sku, occurred_at);
"""


def open_station_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript("CREATE TABLE IF NOT EXISTS _probe(x);DROP TABLE _probe;")
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='stock_moves'").fetchone():
        conn.executescript(MOVES_SCHEMA)
    return conn


def write_moves(conn: sqlite3.Connection, n: int, start: int = 0) -> None:
    """``n`` moves, each in its own transaction, with Chinese text."""
    for i in range(start, start + n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO stock_moves VALUES (?,?,?,?,?,?,?,?)",
            (
                f"m-{i:06d}", f"SKU-{i % 37:03d}", f"A-{i % 11:02d}", -1 - i % 3, 1000 - i, 30 + i % 2,
                f"2026-11-23T08:{i // 60 % 60:02d}:{i % 60:02d}Z", f"拣货出库 第{i}单",
            ),
        )
        conn.execute("COMMIT")


def rows(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM stock_moves ORDER BY move_id").fetchall()
    finally:
        conn.close()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
