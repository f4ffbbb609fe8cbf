"""Reads of the handovers to couriers (交接) the stations reported: the /handovers list and
the order page's handover of each parcel. Kept apart from :mod:`cloud.web.queries`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import station_handover_parcels, station_handovers

LIST_LIMIT = 200
"""Batches shown on the /handovers page (newest first)."""


@dataclass(frozen=True, slots=True)
class HandoverRow:
    """One closed batch (the /handovers list)."""

    batch_id: str
    station_id: str
    carrier: str
    operator_id: str
    closed_at: datetime
    parcels: int
    """Parcels the courier took."""
    not_handed_over: int
    """Parcels of that courier shipped at the station but not in the batch."""

    @property
    def expected(self) -> int:
        """Parcels the courier should have taken."""
        return self.parcels + self.not_handed_over


@dataclass(frozen=True, slots=True)
class ParcelHandover:
    """How one parcel of an order was handed over (the order page)."""

    waybill_no: str
    batch_id: str
    carrier: str
    station_id: str
    operator_id: str
    """Who scanned it into the batch."""
    scanned_at: datetime
    closed_at: datetime
    """When the batch was closed (the courier signed)."""


def handover_rows(conn: Connection, limit: int = LIST_LIMIT) -> list[HandoverRow]:
    """Closed batches, newest first."""
    h = station_handovers.c
    query = (sa.select(h.batch_id, h.station_id, h.carrier, h.operator_id, h.closed_at, h.parcels,
                       h.not_handed_over)
             .order_by(h.closed_at.desc(), h.batch_id.desc()).limit(limit))
    return [HandoverRow(r.batch_id, r.station_id, r.carrier, r.operator_id, r.closed_at,
                        int(r.parcels), int(r.not_handed_over)) for r in conn.execute(query)]


def order_handovers(conn: Connection, order_id: str) -> list[ParcelHandover]:
    """The handovers of the order's parcels, oldest first."""
    h, p = station_handovers.c, station_handover_parcels.c
    query = (sa.select(p.waybill_no, h.batch_id, h.carrier, h.station_id, p.operator_id,
                       p.scanned_at, h.closed_at)
             .select_from(station_handover_parcels.join(
                 station_handovers, station_handovers.c.msg_id == p.msg_id))
             .where(p.order_id == order_id).order_by(h.closed_at, p.waybill_no))
    return [ParcelHandover(*r) for r in conn.execute(query)]
