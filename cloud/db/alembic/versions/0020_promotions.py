"""promotions: promotion gifts (赠品) and per-shop automatic review rules

Revision ID: 0020_promotions
Revises: 0019_push_limits
Create Date: 2026-12-04

* ``promotions`` — 满就送 / 满件送: a gift SKU and quantity for orders of a shop (or every
  shop) ordered within dates that reach an amount or a number of units.
* ``order_lines.promotion_id`` — the promotion that added a gift line; unique per order.
* ``review_rules`` — per shop: hold on a buyer note, on platform risk review, over an amount.
* ``orders.amount_approved_fen`` — the pay amount a person approved over the limit.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0020_promotions"
down_revision: str | None = "0019_push_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("id", cloud.db.types.bigint_pk(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("shop_id", sa.String(64), sa.ForeignKey(
            "shops.id", name=op.f("fk_promotions_shop_id_shops")), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("trigger_sku", sa.String(64), nullable=True),
        sa.Column("gift_sku", sa.String(64), sa.ForeignKey(
            "skus.sku", name=op.f("fk_promotions_gift_sku_skus")), nullable=False),
        sa.Column("gift_qty", sa.Integer(), nullable=False),
        sa.Column("starts_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("ends_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('amount', 'qty')", name=op.f("ck_promotions_kind")),
        sa.CheckConstraint("threshold > 0 AND gift_qty > 0", name=op.f("ck_promotions_positive")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_promotions_dates")),
    )
    op.create_table(
        "review_rules",
        sa.Column("shop_id", sa.String(64), sa.ForeignKey(
            "shops.id", name=op.f("fk_review_rules_shop_id_shops")), primary_key=True),
        sa.Column("hold_buyer_note", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("hold_risk_review", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("max_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("max_amount_fen IS NULL OR max_amount_fen > 0",
                           name=op.f("ck_review_rules_max_amount")),
    )
    op.add_column("order_lines", sa.Column("promotion_id", sa.BigInteger(), nullable=True))
    op.create_index("ux_order_lines_promotion", "order_lines", ["order_id", "promotion_id"],
                    unique=True)
    op.add_column("orders", sa.Column("amount_approved_fen", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # plain ALTER (see 0013): a batch copy would break earlier downgrades on SQLite
    op.drop_column("orders", "amount_approved_fen")
    op.drop_index("ux_order_lines_promotion", table_name="order_lines")
    op.drop_column("order_lines", "promotion_id")
    op.drop_table("review_rules")
    op.drop_table("promotions")
