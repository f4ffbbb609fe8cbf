"""courier_accounts: e-waybill subscriptions, standard templates and the chosen sender

Revision ID: 0028_courier_accounts
Revises: 0027_courier_charges
Create Date: 2026-12-04

* ``courier_accounts`` — per shop, courier and branch: balance, counts, sender addresses
  (``pdd.waybill.search`` / ``cainiao.waybill.ii.search``).
* ``courier_templates`` — per shop and courier: standard templates (URL, type).
* ``courier_choices`` — per shop and courier: the sender address and template chosen.
* ``waybills.label`` — courier name, sender and routing for the station's label.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0028_courier_accounts"
down_revision: str | None = "0027_courier_charges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "courier_accounts",
        sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
        sa.Column("carrier_code", sa.String(32), primary_key=True),
        sa.Column("branch_code", sa.String(64), primary_key=True),
        sa.Column("branch_name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("recycled", sa.Integer(), nullable=False),
        sa.Column("addresses", cloud.db.types.json_type(), nullable=False),
        sa.Column("fetched_at", cloud.db.types.UtcDateTime(), nullable=False),
    )
    op.create_table(
        "courier_templates",
        sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
        sa.Column("carrier_code", sa.String(32), primary_key=True),
        sa.Column("template_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("waybill_type", sa.Integer(), nullable=False),
        sa.Column("fetched_at", cloud.db.types.UtcDateTime(), nullable=False),
    )
    op.create_table(
        "courier_choices",
        sa.Column("shop_id", sa.String(64), sa.ForeignKey("shops.id"), primary_key=True),
        sa.Column("carrier_code", sa.String(32), primary_key=True),
        sa.Column("branch_code", sa.String(64), nullable=False),
        sa.Column("province", sa.String(64), nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("template_url", sa.String(500), nullable=False),
        sa.Column("chosen_by", sa.String(64), nullable=False),
        sa.Column("chosen_at", cloud.db.types.UtcDateTime(), nullable=False),
    )
    op.add_column("waybills", sa.Column("label", cloud.db.types.json_type(), nullable=True))


def downgrade() -> None:
    op.drop_column("waybills", "label")
    op.drop_table("courier_choices")
    op.drop_table("courier_templates")
    op.drop_table("courier_accounts")
