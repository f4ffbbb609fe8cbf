"""The station database: ``open_store`` gives the single writer and a reader over it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.store.db import Tracer, connect, open_db
from edge.store.queries import Queries
from edge.store.writer import Clock, Writer, new_id, utcnow


@dataclass
class Store:
    """One station database: the single writer and a reader on the same connection.

    Threads other than the writer's open their own reader with ``store.reader()``.
    """

    path: str
    """Database file (or ``:memory:``)."""
    writer: Writer
    """The only thing that writes."""
    queries: Queries
    """Reads on the writer's connection (for the writer's own thread)."""

    def reader(self) -> Queries:
        """A reader on a fresh connection, for another thread."""
        if self.path == ":memory:":
            return self.queries
        return Queries(connect(self.path))

    def close(self) -> None:
        self.writer.db.close()


def open_store(
    path: str | Path,
    *,
    station_id: str | None = None,
    clock: Clock = utcnow,
    tracer: Tracer | None = None,
) -> Store:
    """Open the database at ``path``, migrate it, and bind the writer to the station.

    The station id comes from the argument, else from the ``station_id`` setting, else
    ``"local"`` (a station that has not been enrolled yet).
    """
    db = open_db(path, tracer=tracer)
    queries = Queries(db)
    station = station_id or queries.setting("station_id") or "local"
    writer = Writer(db, station_id=station, clock=clock)
    return Store(path=str(path), writer=writer, queries=queries)


__all__ = ["Queries", "Store", "Writer", "new_id", "open_store", "utcnow"]
