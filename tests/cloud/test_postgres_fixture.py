"""The throwaway PostgreSQL fixture itself: loopback only, isolated schemas, clean stop."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from cloud.db import make_engine
from tests.fixtures.postgres import PostgresServer, start_postgres

pytestmark = pytest.mark.postgres


def test_server_is_postgresql_15_on_loopback(postgres_server: PostgresServer, postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW server_version_num")).scalar_one().startswith("15")
            assert conn.execute(sa.text("SHOW listen_addresses")).scalar_one() == "127.0.0.1"
            assert str(conn.execute(sa.text("SELECT inet_server_addr()")).scalar_one()) == "127.0.0.1"
            assert conn.execute(sa.text("SELECT inet_server_port()")).scalar_one() == postgres_server.port
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == "packline_test"
    finally:
        engine.dispose()


def test_schemas_and_databases_are_isolated(postgres_server: PostgresServer, postgres_url: str) -> None:
    dbname = postgres_url.rsplit("/", 1)[1]
    first, second = postgres_server.create_schema(dbname), postgres_server.create_schema(dbname)
    other_db = postgres_server.create_database()
    assert len({first, second, other_db}) == 3
    engines = [make_engine(u) for u in (first, second, other_db)]
    try:
        with engines[0].begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_here (x int)"))
        assert sa.inspect(engines[0]).get_table_names() == ["only_here"]
        assert sa.inspect(engines[1]).get_table_names() == []
        assert sa.inspect(engines[2]).get_table_names() == []
    finally:
        for engine in engines:
            engine.dispose()


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return True
    return "State:\tZ" in status.read_text()  # stopped, waiting for its parent to reap it


def test_stop_ends_the_server() -> None:
    server = start_postgres()
    try:
        pid = int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])
        with psycopg.connect(server.dsn(), connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
    assert _gone(pid)
    assert not server.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn(), connect_timeout=2)


def test_a_taken_port_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fixtures import postgres

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy])
        real_free_port = postgres.free_port
        monkeypatch.setattr(postgres, "free_port", lambda: next(ports, None) or real_free_port())
        server = start_postgres()
        try:
            assert server.port != busy
            with psycopg.connect(server.dsn(), connect_timeout=5) as conn:
                assert conn.execute("SELECT inet_server_port()").fetchone() == (server.port,)
        finally:
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)
