"""products: selling price, category, tags and safety stock per warehouse

Revision ID: 0009_products
Revises: 0008_reservations_atp
Create Date: 2026-12-04

* ``skus.price_fen`` (selling price in fen, ≥ 0) and ``skus.category``;
* ``sku_tags`` — a SKU's tags, one row per tag;
* ``sku_safety_stock`` — safety stock per SKU and warehouse.

``skus`` is referenced by other tables, so on SQLite it is not rebuilt (a batch copy would
drop it, which ``foreign_keys=ON`` refuses once barcodes or mappings exist): the columns
are added in place, the price check as a named column constraint.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_products"
down_revision: str | None = "0008_reservations_atp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE skus ADD COLUMN price_fen BIGINT CONSTRAINT ck_skus_price_fen"
                   " CHECK (price_fen IS NULL OR price_fen >= 0)")
    else:
        op.add_column("skus", sa.Column("price_fen", sa.BigInteger(), nullable=True))
        op.create_check_constraint(op.f("ck_skus_price_fen"), "skus",
                                   "price_fen IS NULL OR price_fen >= 0")
    op.add_column("skus", sa.Column("category", sa.String(64), nullable=True))
    op.create_table(
        "sku_tags",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("tag", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_sku_tags_sku_skus")),
        sa.PrimaryKeyConstraint("sku", "tag", name=op.f("pk_sku_tags")),
    )
    op.create_index("ix_sku_tags_tag", "sku_tags", ["tag"])
    op.create_table(
        "sku_safety_stock",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty >= 0", name=op.f("ck_sku_safety_stock_qty")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_sku_safety_stock_sku_skus")),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"],
                                name=op.f("fk_sku_safety_stock_warehouse_id_warehouses")),
        sa.PrimaryKeyConstraint("sku", "warehouse_id", name=op.f("pk_sku_safety_stock")),
    )


def downgrade() -> None:
    op.drop_table("sku_safety_stock")
    op.drop_index("ix_sku_tags_tag", table_name="sku_tags")
    op.drop_table("sku_tags")
    op.drop_column("skus", "category")
    if op.get_bind().dialect.name != "sqlite":  # on SQLite the check goes with its column
        op.drop_constraint(op.f("ck_skus_price_fen"), "skus", type_="check")
    op.drop_column("skus", "price_fen")
