"""Engines for SQLite (default, zero setup) and PostgreSQL (psycopg 3).

``make_engine(url)`` is the one way the cloud opens its database:

* ``sqlite:///path/cloud.db`` — the parent directory is created; every connection gets
  WAL, ``foreign_keys=ON``, ``synchronous=NORMAL`` and a busy timeout, and SQLAlchemy
  emits ``BEGIN`` itself so DDL and reads are transactional too (the ``sqlite3`` driver's
  legacy mode would autocommit them).
  :func:`write_transaction` starts with ``BEGIN IMMEDIATE`` for read-then-write work.
* ``postgresql+psycopg://user:pw@host/db`` — a pooled engine with ``pool_pre_ping``.
  ``postgresql://`` and ``postgres://`` are accepted and mean psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from cloud.errors import ConfigError

SUPPORTED_DIALECTS: tuple[str, ...] = ("sqlite", "postgresql")
"""Database engines the cloud runs on."""

IN_LIST_CHUNK = 500
"""Most values the cloud puts in one ``IN (...)`` list (ids looked up or updated in bulk).
Each value is a bound parameter: 500 stays under the 999 of SQLite builds before 3.32
(``SQLITE_MAX_VARIABLE_NUMBER``) with room for the statement's other parameters, and far
under PostgreSQL's 65,535 per statement."""

_T = TypeVar("_T")


def in_chunks(values: Sequence[_T], size: int = IN_LIST_CHUNK) -> Iterator[Sequence[_T]]:
    """``values`` in consecutive slices of at most ``size``, for one ``IN`` list each."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


_IMMEDIATE_OPTION = "packline_sqlite_begin_immediate"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pick psycopg 3 for PostgreSQL; raise :class:`ConfigError` if unusable."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except sa.exc.ArgumentError as err:
        raise ConfigError(f"无法解析数据库地址 / cannot parse database URL: {url!s}") from err
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise ConfigError(
            f"不支持的数据库 {backend} (只支持 sqlite, postgresql) / "
            f"unsupported database {backend} (sqlite or postgresql only)"
        )
    if backend == "sqlite" and parsed.get_driver_name() != "pysqlite":
        raise ConfigError(f"SQLite 只支持 sqlite:/// 地址 / use a plain sqlite:/// URL, not {parsed.drivername}")
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ConfigError(
            f"PostgreSQL 请用 postgresql+psycopg:// / use postgresql+psycopg://, not {parsed.drivername}"
        )
    return parsed


def make_engine(
    url: str | URL,
    *,
    echo: bool = False,
    sqlite_busy_timeout_ms: int = 5000,
    pool_size: int = 5,
) -> Engine:
    """Create the engine for ``url`` with the cloud's per-engine settings (see module doc)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo, busy_timeout_ms=sqlite_busy_timeout_ms)
    return sa.create_engine(
        parsed, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
    )


def _sqlite_engine(url: URL, *, echo: bool, busy_timeout_ms: int) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, echo=echo)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver; SQLAlchemy emits it in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction meant to write, committed on success.

    On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken up front (waiting
    up to the busy timeout), so a transaction that reads before it writes cannot fail
    half-way with "database is locked" when another writer got in between. On PostgreSQL
    it is ``engine.begin()``.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(**{_IMMEDIATE_OPTION: True})
        with conn.begin():
            yield conn
