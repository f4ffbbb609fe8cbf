"""kit_components: kits (组合商品) and what one kit is made of

Revision ID: 0043_kits
Revises: 0042_waves
Create Date: 2026-12-04

* ``kit_components`` — one row per component of a kit: the kit's SKU (a product of its own,
  with no stock of its own), a component SKU and how many units of it one kit takes. A SKU
  with rows here is a kit; a kit never contains a kit or itself (``cloud.kits``).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043_kits"
down_revision: str | None = "0042_waves"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kit_components",
        sa.Column("kit_sku", sa.String(64), sa.ForeignKey("skus.sku"), primary_key=True),
        sa.Column("component_sku", sa.String(64), sa.ForeignKey("skus.sku"),
                  primary_key=True),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty > 0", name="qty"),
        sa.CheckConstraint("kit_sku <> component_sku", name="not_itself"),
    )
    op.create_index("ix_kit_components_component", "kit_components", ["component_sku"])


def downgrade() -> None:
    op.drop_index("ix_kit_components_component", table_name="kit_components")
    op.drop_table("kit_components")
