"""Cloud ledger insert cost: batch sizes and re-delivery, on SQLite and (optionally) PostgreSQL.

    python -m bench clouddb                 # SQLite in a temp dir
    python -m bench clouddb --postgres      # also a throwaway PostgreSQL 15 cluster
    python -m bench.clouddb --db URL        # any empty database

Prints moves/second per case and ratios measured side by side in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from cloud.db import make_engine, migrate
from cloud.ledger_store import check_balances, insert_moves
from edge.domain.models import Move, MoveReason

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _moves(n: int, offset: int) -> list[Move]:
    return [
        Move(
            move_id=str(uuid.uuid4()),
            sku=f"SKU-{i % 200}",
            location=f"L-{i % 17}",
            qty_delta=(i % 7) - 3,
            balance_after=0,
            reason=MoveReason.PICK,
            source_type="order",
            source_id=f"O-{offset + i}",
            source_line=None,
            operator_id="u-1",
            station_id=f"st-{i % 4}",
            device_id=None,
            occurred_at=T0 + timedelta(seconds=offset + i),
            recorded_at=T0 + timedelta(seconds=offset + i),
            warehouse_id=f"WH{i % 2}",
        )
        for i in range(n)
    ]


def _rate(url: str, total: int, batch: int, redeliver: bool) -> float:
    engine = make_engine(url)
    try:
        migrate(engine)
        moves = _moves(total, offset=batch * 1_000_000 + (1 if redeliver else 0))
        if redeliver:
            with engine.begin() as conn:
                insert_moves(conn, moves)
        start = time.perf_counter()
        for i in range(0, total, batch):
            with engine.begin() as conn:
                insert_moves(conn, moves[i : i + batch])
        elapsed = time.perf_counter() - start
        with engine.connect() as conn:
            assert check_balances(conn) == []
        return total / elapsed
    finally:
        engine.dispose()


def run_on(label: str, fresh_url: Callable[[], str], total: int) -> None:
    """Print the three rates for fresh databases from ``fresh_url``."""
    one = _rate(fresh_url(), total // 10, 1, False)
    hundred = _rate(fresh_url(), total, 100, False)
    again = _rate(fresh_url(), total, 100, True)
    print(f"{label}: batch 1: {one:,.0f} moves/s; batch 100: {hundred:,.0f} moves/s "
          f"({hundred / one:.1f}x); re-delivered batch 100: {again:,.0f} moves/s "
          f"({again / hundred:.2f}x of new)")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(prog="bench clouddb")
    parser.add_argument("--db", help="an empty database URL to use instead of SQLite in a temp dir")
    parser.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL")
    parser.add_argument("--moves", type=int, default=5000)
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-clouddb-")
    counter = iter(range(1_000_000))
    try:
        if args.db:
            run_on(args.db, lambda: args.db, args.moves)
        else:
            run_on("sqlite", lambda: f"sqlite:///{tmp}/c{next(counter)}.db", args.moves)
        if args.postgres:
            from tests.fixtures.postgres import start_postgres

            server = start_postgres()
            try:
                run_on("postgresql", server.create_database, args.moves)
            finally:
                server.stop()
                shutil.rmtree(server.root, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
