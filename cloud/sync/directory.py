"""Which stations ingest accepts, and which stations share a warehouse (whom a move is
relayed to), read from ``stations`` and cached for a few seconds: ingest asks for every
message, and enrolment or revocation may happen at any time (``packline-provision``)."""

from __future__ import annotations

import math
import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import stations
from cloud.sync.outbound import stations_of_warehouse


class StationDirectory:
    """The stations table as ingest sees it, each answer at most ``cache_seconds`` old.

    Time here is ``time.monotonic()``: it only ages a cache and stamps nothing."""

    def __init__(self, cache_seconds: float) -> None:
        self.cache_seconds = cache_seconds
        self._home: dict[str, tuple[str, str]] = {}
        self._home_loaded = -math.inf  # never: the first question loads
        self._fresh_this_batch = False
        self._warehouses: dict[str, tuple[float, list[str]]] = {}

    def new_batch(self) -> None:
        """A new batch starts: an unknown station may reload the table once more."""
        self._fresh_this_batch = False

    def refusal(self, conn: Connection, station: str, warehouse_id: str | None) -> str | None:
        """Why a message of ``station`` (about ``warehouse_id``) is refused, or None."""
        entry = self._registered(conn, station)
        if entry is None:
            return f"unknown station {station}: not enrolled (packline-provision enrol)"
        home, status = entry
        if status == "pending":  # its first message: the enrolled station is in use now
            conn.execute(sa.update(stations).where(stations.c.id == station,
                                                   stations.c.status == "pending")
                         .values(status="active"))
            self._home[station] = (home, "active")
        if status == "revoked":
            return f"station {station} is revoked"
        if warehouse_id is not None and warehouse_id != home:
            return f"station {station} belongs to {home}, not {warehouse_id}"
        return None

    def _registered(self, conn: Connection, station: str) -> tuple[str, str] | None:
        """(warehouse, status) of an enrolled station; a station not in the cache reloads
        it (once per batch): it may have just been enrolled, and a refusal is for good."""
        now = time.monotonic()
        stale = now - self._home_loaded > self.cache_seconds
        if stale or (station not in self._home and not self._fresh_this_batch):
            rows = conn.execute(sa.select(stations.c.id, stations.c.warehouse_id, stations.c.status))
            self._home = {r.id: (r.warehouse_id, r.status) for r in rows}
            self._home_loaded = now
            self._fresh_this_batch = True
        return self._home.get(station)

    def stations_of(self, conn: Connection, warehouse_id: str) -> list[str]:
        """Stations of a warehouse (relay targets)."""
        now = time.monotonic()
        hit = self._warehouses.get(warehouse_id)
        if hit is None or now - hit[0] > self.cache_seconds:
            hit = (now, stations_of_warehouse(conn, warehouse_id))
            self._warehouses[warehouse_id] = hit
        return hit[1]
