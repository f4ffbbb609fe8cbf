"""profit_monthly: the profit summary per month, for long ranges by SKU

Revision ID: 0046_profit_monthly
Revises: 0045_desk_prints
Create Date: 2026-12-05

* ``profit_monthly`` — ``profit_daily`` summed per month (``month`` = its first day) ×
  shop × warehouse × SKU, filled here from ``profit_daily`` and kept by the same deltas
  from now on (``cloud.reports.profit``): a year's table by SKU reads twelve months here
  instead of every day's rows.
* ``ix_profit_daily_sku`` — one SKU's days without walking every day's rows.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0046_profit_monthly"
down_revision: str | None = "0045_desk_prints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = ("orders", "lines", "units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen",
            "refund_fen", "uncosted")
"""Counters of a ``profit_daily`` row."""
MONTH_OF = {"postgresql": "CAST(date_trunc('month', day) AS DATE)",
            "sqlite": "date(day, 'start of month')"}
"""A day's month (its first day) in each engine's SQL."""


def upgrade() -> None:
    op.create_table(
        "profit_monthly",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("warehouse_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *(sa.Column(m, sa.BigInteger(), nullable=False, server_default="0") for m in MEASURES),
    )
    op.create_index("ix_profit_monthly_sku", "profit_monthly", ["sku", "month"])
    op.create_index("ix_profit_daily_sku", "profit_daily", ["sku", "day"])
    month = MONTH_OF[op.get_bind().dialect.name]
    sums = ", ".join(f"SUM({m})" for m in MEASURES)
    op.execute(
        f"INSERT INTO profit_monthly (month, shop_id, warehouse_id, sku, platform, "
        f"{', '.join(MEASURES)}) SELECT {month}, shop_id, warehouse_id, sku, MAX(platform), "
        f"{sums} FROM profit_daily GROUP BY {month}, shop_id, warehouse_id, sku")


def downgrade() -> None:
    op.drop_index("ix_profit_daily_sku", table_name="profit_daily")
    op.drop_index("ix_profit_monthly_sku", table_name="profit_monthly")
    op.drop_table("profit_monthly")
