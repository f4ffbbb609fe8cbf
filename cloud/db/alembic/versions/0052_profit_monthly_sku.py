"""profit_monthly_sku: the profit summary per month × SKU alone

Revision ID: 0052_profit_monthly_sku
Revises: 0051_shipped_daily
Create Date: 2026-12-05

``profit_monthly`` summed over shops and warehouses: a year's SKU table without a shop,
platform or warehouse filter reads 12 × SKUs rows here instead of every shop × warehouse ×
SKU month (467,000 rows at 1,000,000 orders). Filled here from ``profit_monthly``; kept by
the same deltas from then on.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0052_profit_monthly_sku"
down_revision: str | None = "0051_shipped_daily"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("orders", "lines", "units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen",
            "refund_fen", "uncosted")
"""``schema_reports.PROFIT_COUNTERS`` as of this revision."""


def upgrade() -> None:
    op.create_table(
        "profit_monthly_sku",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        *(sa.Column(m, sa.BigInteger(), nullable=False, server_default="0") for m in COUNTERS),
    )
    cols = ", ".join(COUNTERS)
    sums = ", ".join(f"SUM({m})" for m in COUNTERS)
    op.execute(f"INSERT INTO profit_monthly_sku (month, sku, {cols}) "
               f"SELECT month, sku, {sums} FROM profit_monthly GROUP BY month, sku")


def downgrade() -> None:
    op.drop_table("profit_monthly_sku")
