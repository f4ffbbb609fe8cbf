"""Opening the station database: WAL, durable commits, a busy timeout, an optional SQL tracer."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: a committed stock move survives a pulled plug (NORMAL may lose the last commits).
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)
"""Applied to every connection; the benchmark applies the same ones to its raw baseline."""

Tracer = Callable[[str, Any], None]


def connect(path: str | Path, *, tracer: Tracer | None = None) -> Database:
    """Open (creating if needed) the database at ``path`` with Packline's pragmas.

    ``":memory:"`` gives a private in-memory database for tests.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=5.0)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return Database(conn, tracer=tracer, execute_plugins=False)


def open_db(path: str | Path, *, tracer: Tracer | None = None) -> Database:
    """Connect and bring the schema up to date (see ``edge.store.migrations``)."""
    from edge.store.migrations import migrate

    db = connect(path, tracer=tracer)
    migrate(db)
    return db
