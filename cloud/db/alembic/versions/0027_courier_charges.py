"""courier_rates: 运费模板, courier charges per weight band and destination province

Revision ID: 0027_courier_charges
Revises: 0026_ship_by
Create Date: 2026-12-04

* ``courier_rates`` — a carrier's rate card effective from a day: per destination province
  (or ``*``) first weight and price, additional step and price. Parcel charges are derived
  from ``station_shipments`` and these rows; see ``cloud.courier_charges``.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0027_courier_charges"
down_revision: str | None = "0026_ship_by"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "courier_rates",
        sa.Column("id", cloud.db.types.bigint_pk(), primary_key=True, autoincrement=True),
        sa.Column("carrier", sa.String(16), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("province", sa.String(16), nullable=False),
        sa.Column("first_g", sa.Integer(), nullable=False),
        sa.Column("first_fen", sa.Integer(), nullable=False),
        sa.Column("step_g", sa.Integer(), nullable=False),
        sa.Column("step_fen", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.UniqueConstraint("carrier", "effective_from", "province", name="uq_courier_rates_row"),
    )


def downgrade() -> None:
    op.drop_table("courier_rates")
