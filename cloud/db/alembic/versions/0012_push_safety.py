"""push_safety: a first push only after a preview is confirmed, big cuts wait for a person

Revision ID: 0012_push_safety
Revises: 0011_station_roles
Create Date: 2026-12-04

* ``shop_config.push_confirmed_at / push_confirmed_by`` — when and by whom the first-push
  preview was confirmed; until then the shop's stock is never pushed. Shops that already
  pushed before this revision count as confirmed (by ``migration``).
* ``shop_config.push_trust`` — push cuts without asking; ``push_cut_percent`` — a push that
  lowers a listing by more than this share of what the platform was last told (or to 0)
  waits for a person.
* ``stock_push_holds`` — those waiting cuts, one open per mapping, and their approvals.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0012_push_safety"
down_revision: str | None = "0011_station_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shop_config") as b:
        b.add_column(sa.Column("push_confirmed_at", cloud.db.types.UtcDateTime(), nullable=True))
        b.add_column(sa.Column("push_confirmed_by", sa.String(64), nullable=True))
        b.add_column(sa.Column("push_trust", sa.Boolean(), server_default=sa.false(),
                               nullable=False))
        b.add_column(sa.Column("push_cut_percent", sa.Integer(), server_default="50",
                               nullable=False))
        b.create_check_constraint(op.f("ck_shop_config_push_cut_percent"),
                                  "push_cut_percent BETWEEN 1 AND 100")
    op.execute(
        "UPDATE shop_config SET push_confirmed_at = CURRENT_TIMESTAMP, "
        "push_confirmed_by = 'migration' WHERE shop_id IN (SELECT shop_id FROM stock_pushes)")
    op.create_table(
        "stock_push_holds",
        sa.Column("id", cloud.db.types.bigint_pk(), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("mapping_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("from_qty", sa.BigInteger(), nullable=False),
        sa.Column("to_qty", sa.BigInteger(), nullable=False),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="open"),
        sa.Column("decided_at", cloud.db.types.UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("push_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'approved', 'used', 'lapsed')",
                           name=op.f("ck_stock_push_holds_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_push_holds")),
    )
    op.create_index("ix_stock_push_holds_mapping", "stock_push_holds", ["mapping_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_stock_push_holds_mapping", table_name="stock_push_holds")
    op.drop_table("stock_push_holds")
    with op.batch_alter_table("shop_config") as b:
        b.drop_constraint(op.f("ck_shop_config_push_cut_percent"), type_="check")
        b.drop_column("push_cut_percent")
        b.drop_column("push_trust")
        b.drop_column("push_confirmed_by")
        b.drop_column("push_confirmed_at")
