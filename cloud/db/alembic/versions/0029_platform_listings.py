"""platform_listings: 商品匹配, every listing SKU of a shop as its platform shows it

Revision ID: 0029_platform_listings
Revises: 0028_courier_accounts
Create Date: 2026-12-04

* ``platform_listings`` — per shop: goods/item id, platform SKU id, 商家编码 (outer id),
  title, spec, the platform's quantity, on sale, fetched at. Filled by the listing
  download (``cloud.orders.listings``), matched to warehouse SKUs by 商家编码.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0029_platform_listings"
down_revision: str | None = "0028_courier_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_listings",
        sa.Column("id", cloud.db.types.bigint_pk(), primary_key=True, autoincrement=True),
        sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("sku_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("outer_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("title", sa.String(300), nullable=False, server_default=""),
        sa.Column("spec", sa.String(200), nullable=False, server_default=""),
        sa.Column("quantity", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("on_sale", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("fetched_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.UniqueConstraint("shop_id", "item_id", "sku_id", name="uq_platform_listings_sku"),
    )


def downgrade() -> None:
    op.drop_table("platform_listings")
