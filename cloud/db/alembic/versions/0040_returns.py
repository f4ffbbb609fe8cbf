"""returns: return parcels matched and inspected at the kiosk (退货入库)

Revision ID: 0040_returns
Revises: 0039_daily_summaries
Create Date: 2026-12-04

* ``refunds`` gains what a return needs: whether goods come back (``returns_goods``),
  whether it is an exchange, the return parcel's waybill and courier, the platform line
  (``platform_sku_id``, ``outer_id``, ``qty``), the buyer's reason, and an index on the
  return waybill.
* ``orders.exchange_of`` — set on the outbound order of an exchange (换货), id
  ``<order>~X<n>``: it ships for the original's platform order and writes no tracking back.
* ``station_returns`` / ``station_return_lines`` — each return inspected at a station, once
  per ``return`` message, and what each item turned out to be.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime

revision: str = "0040_returns"
down_revision: str | None = "0039_daily_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUND_COLUMNS = ("returns_goods", "exchange", "return_waybill", "return_carrier",
                  "platform_sku_id", "outer_id", "qty", "reason")
"""The ``refunds`` columns this revision adds."""


def upgrade() -> None:
    op.add_column("refunds", sa.Column("returns_goods", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("refunds", sa.Column("exchange", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    for name in ("return_waybill", "return_carrier", "platform_sku_id", "outer_id"):
        op.add_column("refunds", sa.Column(name, sa.String(64), nullable=False,
                                           server_default=""))
    op.add_column("refunds", sa.Column("qty", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("refunds", sa.Column("reason", sa.String(200), nullable=False,
                                       server_default=""))
    op.create_index("ix_refunds_return_waybill", "refunds", ["return_waybill"])
    op.add_column("orders", sa.Column("exchange_of", sa.String(64), nullable=True))
    op.create_index("ix_orders_exchange_of", "orders", ["exchange_of"])
    op.create_table(
        "station_returns",
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
    )
    op.create_index("ix_station_returns_order", "station_returns", ["order_id"])
    op.create_index("ix_station_returns_received", "station_returns", ["received_at"])
    op.create_table(
        "station_return_lines",
        sa.Column("msg_id", sa.String(64), primary_key=True),
        sa.Column("line_no", sa.Integer(), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("in_order", sa.Boolean(), nullable=False),
        sa.Column("location", sa.String(64), nullable=True),
        sa.Column("move_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_station_return_lines_sku", "station_return_lines", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_station_return_lines_sku", "station_return_lines")
    op.drop_table("station_return_lines")
    op.drop_index("ix_station_returns_received", "station_returns")
    op.drop_index("ix_station_returns_order", "station_returns")
    op.drop_table("station_returns")
    op.drop_index("ix_orders_exchange_of", "orders")
    op.drop_column("orders", "exchange_of")
    op.drop_index("ix_refunds_return_waybill", "refunds")
    for name in REFUND_COLUMNS:
        op.drop_column("refunds", name)
