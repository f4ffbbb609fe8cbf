"""Every label print of an order, wherever it was made: a station's label print
(``station_label_prints``, reported with the station's events) or the office 打单台's
(``desk_prints``). The desk's print status and reprint check and the 已打印未发货 list read
them through :func:`every_print`."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from cloud.db.schema import station_label_prints
from cloud.db.schema_couriers import desk_prints

DESK: Final = "desk"
"""The ``station`` of a print made at the office's 打单台."""


def every_print() -> sa.Subquery:
    """(order_id, printed_at, n, by, station) of every print: a station's with its
    operator and station id, the desk's with who printed and :data:`DESK`."""
    s, d = station_label_prints.c, desk_prints.c
    return sa.union_all(
        sa.select(s.order_id, s.printed_at, s.n, s.operator_id.label("by"),
                  s.station_id.label("station")),
        sa.select(d.order_id, d.printed_at, d.n, d.printed_by, sa.literal(DESK)),
    ).subquery("every_print")
