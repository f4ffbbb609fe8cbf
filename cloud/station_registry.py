"""Stations exist in the cloud only by enrolment (``packline-provision enrol``).

Ingest accepts messages only from a registered, not revoked station, and moves only for
that station's warehouse (``cloud.sync.ingest``); the cloud relays a warehouse's moves to its
stations (``cloud.sync.outbound.stations_of_warehouse``). Provisioning calls these functions
in the cloud database's transaction, beside writing the station's broker account, so a
station the broker knows is a station the cloud knows.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import operators
from cloud.db.schema import STATION_ROLES, stations, warehouses
from cloud.errors import ConfigError


def register_station(
    conn: Connection, station_id: str, warehouse_id: str, *, now: datetime, name: str | None = None,
    role: str = "pack",
) -> None:
    """Register an enrolled station (status ``pending`` until it first connects) with its
    ``role`` (``pack``: takes pack tasks; ``receive``: never given any), and queue every
    kiosk operator for it.

    Raises :class:`ConfigError` for a warehouse the cloud does not know, an unknown role or
    a station id already registered (a revoked id is never reused)."""
    if role not in STATION_ROLES:
        raise ConfigError(f"未知站点角色 {role} / unknown station role {role} "
                          f"({', '.join(STATION_ROLES)})")
    if conn.execute(sa.select(warehouses.c.id).where(warehouses.c.id == warehouse_id)).first() is None:
        raise ConfigError(f"云端没有仓库 {warehouse_id} / the cloud has no warehouse {warehouse_id}")
    row = conn.execute(sa.select(stations.c.status).where(stations.c.id == station_id)).first()
    if row is not None:
        raise ConfigError(f"云端已有站点 {station_id} ({row[0]}) / station {station_id} is already "
                          f"registered in the cloud ({row[0]})")
    conn.execute(sa.insert(stations).values(id=station_id, warehouse_id=warehouse_id,
                                            name=name or station_id, status="pending", created_at=now,
                                            role=role))
    operators.send_all(conn, station_id, now=now)  # whoever works here can sign in on day one


def set_station_role(conn: Connection, station_id: str, role: str) -> bool:
    """Change a station's role; False if no such (unrevoked) station."""
    if role not in STATION_ROLES:
        raise ConfigError(f"未知站点角色 {role} / unknown station role {role} "
                          f"({', '.join(STATION_ROLES)})")
    result = conn.execute(sa.update(stations).where(
        stations.c.id == station_id, stations.c.status != "revoked").values(role=role))
    return bool(result.rowcount)


def revoke_station(conn: Connection, station_id: str, *, now: datetime) -> bool:
    """Mark a station revoked (ingest refuses it from then on); False if not registered."""
    result = conn.execute(sa.update(stations).where(stations.c.id == station_id, stations.c.status != "revoked")
                          .values(status="revoked", revoked_at=now))
    return bool(result.rowcount)
