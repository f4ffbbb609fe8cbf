"""profit: the profit report's (利润报表) summaries and the shops' platform fee rates

Revision ID: 0044_profit
Revises: 0043_kits
Create Date: 2026-12-04

* ``shops.fee_bp`` — the platform's commission on the shop's sales, in basis points
  (1/100 of a percent); NULL: not set (counted as 0, the report says so).
* ``profit_ship_costs`` — per SHIP move (and per reversal of one) the SKU's moving-average
  unit cost when the move reached the cloud: the cost of goods at ship time, kept because
  ``skus.cost_fen`` only holds the cost now.
* ``profit_orders`` — per platform order that shipped: what it adds to the profit report
  (revenue, cost of goods, courier, platform fee, refunds) and its per-SKU split (JSON).
* ``profit_daily`` — per China Standard Time day × shop × warehouse × SKU, the sums the
  report reads (refunds on the refund's day); ``profit_daily_shop`` the same without the
  SKU (a year's totals, series and shops read thousands of rows, not millions).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime, json_type

revision: str = "0044_profit"
down_revision: str | None = "0043_kits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = ("orders", "lines", "units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen",
            "refund_fen", "uncosted")
"""Counters of a ``profit_daily`` row."""


def upgrade() -> None:
    op.add_column("shops", sa.Column("fee_bp", sa.Integer(), nullable=True))
    op.create_table(
        "profit_ship_costs",
        sa.Column("move_id", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False, index=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("unit_cost_fen", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "profit_orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False, index=True),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("skus", sa.Text(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("cogs_fen", sa.BigInteger(), nullable=False),
        sa.Column("courier_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("refund_fen", sa.BigInteger(), nullable=False),
        sa.Column("uncosted", sa.BigInteger(), nullable=False),
        sa.Column("unbilled", sa.BigInteger(), nullable=False),
        sa.Column("profit_fen", sa.BigInteger(), nullable=False),
        sa.Column("facts", json_type(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_profit_orders_profit", "profit_orders", ["profit_fen", "order_id"])
    op.create_table(
        "profit_daily_shop",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("warehouse_id", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *(sa.Column(m, sa.BigInteger(), nullable=False, server_default="0") for m in MEASURES),
    )
    op.create_table(
        "profit_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("warehouse_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *(sa.Column(m, sa.BigInteger(), nullable=False, server_default="0") for m in MEASURES),
    )


def downgrade() -> None:
    op.drop_table("profit_daily")
    op.drop_table("profit_daily_shop")
    op.drop_index("ix_profit_orders_profit", table_name="profit_orders")
    op.drop_table("profit_orders")
    op.drop_index(op.f("ix_profit_ship_costs_order_id"), table_name="profit_ship_costs")
    op.drop_table("profit_ship_costs")
    op.drop_column("shops", "fee_bp")
