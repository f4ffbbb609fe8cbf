"""sales by city and by province × SKU: where buyers are and which styles sell where

Revision ID: 0050_sales_geo
Revises: 0049_export_jobs
Create Date: 2026-12-05

* ``sales_daily_city`` — orders, units and GMV per China day × shop × buyer province × city;
* ``sales_monthly_geo_sku`` — the same per month × shop × buyer province × Packline SKU.

Both are kept by ``cloud.reports.summaries.touch`` for orders whose contribution records a
city (every order stored or touched from this version on); run ``packline-cloud reports
rebuild`` once after upgrading to fill them for the orders already there.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0050_sales_geo"
down_revision: str | None = "0049_export_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _measures() -> list[sa.Column[int]]:
    return [sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            for name in ("orders", "units", "gmv_fen")]


def upgrade() -> None:
    op.create_table(
        "sales_daily_city",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("province", sa.String(32), primary_key=True),
        sa.Column("city", sa.String(32), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *_measures(),
    )
    op.create_table(
        "sales_monthly_geo_sku",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("shop_id", sa.String(64), primary_key=True),
        sa.Column("province", sa.String(32), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        *_measures(),
        sa.Index("ix_sales_monthly_geo_sku_sku", "sku", "month"),
        sa.Index("ix_sales_monthly_geo_sku_province", "province", "month"),
    )


def downgrade() -> None:
    op.drop_table("sales_monthly_geo_sku")
    op.drop_table("sales_daily_city")
