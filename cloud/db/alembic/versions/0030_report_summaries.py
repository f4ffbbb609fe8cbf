"""report summaries: sales per day × shop × province and per day × shop × SKU

Revision ID: 0030_report_summaries
Revises: 0029_platform_listings
Create Date: 2026-12-04

* ``report_order_facts`` — what each platform order last added to the summaries.
* ``sales_daily`` — orders, units, GMV and refunds per day × shop × buyer province.
* ``sales_daily_sku`` — orders, units and GMV per day × shop × SKU.
* ``sales_monthly_sku`` — the same per month (long ranges by SKU).

Filled as orders and refunds arrive (``cloud.reports.summaries``); an existing database
fills them with ``packline-cloud reports rebuild``.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0030_report_summaries"
down_revision: str | None = "0029_platform_listings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _measures(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(n, sa.BigInteger(), nullable=False, server_default="0") for n in names]


def upgrade() -> None:
    op.create_table(
        "report_order_facts",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("facts", cloud.db.types.json_type(), nullable=False),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
    )
    op.create_table(
        "sales_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("province", sa.String(32), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *_measures("orders", "units", "gmv_fen", "refunds", "refund_fen"),
    )
    op.create_table(
        "sales_daily_sku",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *_measures("orders", "units", "gmv_fen"),
    )
    op.create_index("ix_sales_daily_sku_sku", "sales_daily_sku", ["sku", "day"])
    op.create_table(
        "sales_monthly_sku",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *_measures("orders", "units", "gmv_fen"),
    )
    op.create_index("ix_sales_monthly_sku_sku", "sales_monthly_sku", ["sku", "month"])


def downgrade() -> None:
    op.drop_index("ix_sales_monthly_sku_sku", table_name="sales_monthly_sku")
    op.drop_table("sales_monthly_sku")
    op.drop_index("ix_sales_daily_sku_sku", table_name="sales_daily_sku")
    op.drop_table("sales_daily_sku")
    op.drop_table("sales_daily")
    op.drop_table("report_order_facts")
