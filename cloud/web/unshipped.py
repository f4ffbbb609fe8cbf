"""已打印未发货: orders whose label a station or the office's 打单台 printed that have not
shipped, oldest print first, with how long ago — the parcels lying on a packing table or
lost between the printer and the courier. Kept apart from :mod:`cloud.web.queries`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud.db.schema import shops, station_shipments
from cloud.db.schema_orders import orders, waybills
from cloud.label_prints import every_print

LIST_LIMIT = 500
"""Orders shown on the page (oldest first print first)."""
STALE_HOURS = 24
"""A label printed this many hours ago and still not shipped is marked (a day is the
platforms' usual ship-by window's half)."""
SECONDS_PER_HOUR = 3600
"""Seconds in an hour (for the age column)."""


@dataclass(frozen=True, slots=True)
class UnshippedRow:
    """One printed order that has not shipped."""

    order_id: str
    platform: str
    platform_order_id: str
    shop_name: str
    state: str
    waybill_no: str
    station_id: str
    """The station that printed the last label (``cloud.label_prints.DESK``: the office's 打单台)."""
    first_printed_at: datetime
    last_printed_at: datetime
    prints: int
    """Labels printed (1 + reprints)."""
    age_hours: int
    """Whole hours since the first print, at the page's ``now``."""

    @property
    def stale(self) -> bool:
        """Printed :data:`STALE_HOURS` or more ago."""
        return self.age_hours >= STALE_HOURS


def unshipped_rows(conn: Connection, now: datetime,
                   limit: int = LIST_LIMIT) -> list[UnshippedRow]:
    """Orders with a label print reported (by a station or the 打单台) and no shipment,
    not shipped or cancelled."""
    o, a = orders.c, every_print().c
    prints = (sa.select(a.order_id, sa.func.min(a.printed_at).label("first"),
                        sa.func.max(a.printed_at).label("last"),
                        sa.func.count().label("n"))
              .group_by(a.order_id).subquery())
    last_station = (sa.select(a.station).where(a.order_id == o.id)
                    .order_by(a.printed_at.desc(), a.n.desc()).limit(1).scalar_subquery())
    query = (sa.select(o.id, o.platform, o.platform_order_id, shops.c.name, o.state,
                       waybills.c.waybill_no, last_station.label("station"),
                       prints.c.first, prints.c.last, prints.c.n)
             .select_from(orders.join(prints, prints.c.order_id == o.id)
                          .join(shops, shops.c.id == o.shop_id)
                          .outerjoin(waybills, waybills.c.order_id == o.id))
             .where(o.state.not_in(("shipped", "cancelled")),
                    ~sa.exists().where(station_shipments.c.order_id == o.id))
             .order_by(prints.c.first, o.id).limit(limit))
    return [UnshippedRow(r.id, r.platform, r.platform_order_id, r.name, r.state,
                         r.waybill_no or "", r.station or "", r.first, r.last, int(r.n),
                         int((now - r.first).total_seconds() // SECONDS_PER_HOUR))
            for r in conn.execute(query)]
