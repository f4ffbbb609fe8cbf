"""Returns received at stations (退货入库, migration ``0040_returns``): the parcel, the order
and after-sales request it was matched to, and what each item turned out to be. The stock
itself moves by ordinary RETURN moves in ``stock_moves``; see :mod:`cloud.returns`."""

from __future__ import annotations

import sqlalchemy as sa

from cloud.db.schema import metadata
from cloud.db.types import UtcDateTime

RETURN_CONDITIONS: tuple[str, ...] = ("good", "damaged", "wrong")
"""``return_lines.condition``: good (restocked), damaged (to the damage location), wrong
(not an item of this order: kept aside, no stock move)."""

station_returns = sa.Table(
    "station_returns",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("return_id", sa.String(64), nullable=False, unique=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("warehouse_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("shop_id", sa.String(64), nullable=False),
    sa.Column("refund_id", sa.String(64), nullable=True),
    sa.Column("scanned", sa.String(64), nullable=False),
    sa.Column("exchange", sa.Boolean(), nullable=False),
    sa.Column("note", sa.String(200), nullable=False, server_default=""),
    sa.Column("operator_id", sa.String(64), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Index("ix_station_returns_order", "order_id"),
    sa.Index("ix_station_returns_received", "received_at"),
)
"""One row per return parcel inspected at a station (``return`` message, once by its
msg_id): the order, the after-sales request it answers (None: none known when it was
received), what was scanned to find it (the return waybill, the order's waybill or number),
whether the buyer wants an exchange, who inspected it and when (station clock,
``received_at``; ``recorded_at`` is when the cloud stored it)."""

station_return_lines = sa.Table(
    "station_return_lines",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("line_no", sa.Integer(), primary_key=True),
    sa.Column("sku", sa.String(64), nullable=True),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.Column("condition", sa.String(16), nullable=False),
    sa.Column("in_order", sa.Boolean(), nullable=False),
    sa.Column("location", sa.String(64), nullable=True),
    sa.Column("move_id", sa.String(64), nullable=True),
    sa.Index("ix_station_return_lines_sku", "sku"),
)
"""What each scanned item of a return turned out to be: the SKU (None for a code the
station does not know), the scanned code, units, condition (``RETURN_CONDITIONS``), whether
the order contained it, where it went and the RETURN move that put it there (None for a
wrong item: no stock moved)."""
