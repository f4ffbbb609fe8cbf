"""reservations_atp: consumed reservations, shared-stock weights, the push guard

Revision ID: 0008_reservations_atp
Revises: 0007_ledger_one_truth
Create Date: 2026-12-03

* ``reservations.shipped_qty`` — units of the reservation already taken off on-hand by
  the order's SHIP moves (consumed in the same transaction).
* ``sku_mappings.stock_share`` — the mapping's weight when several mappings (shops, or
  listings of one shop) draw on the same warehouse stock.
* ``stock_pushes.units / allotted / guard_units / detail`` — the push's share and its
  independently computed guard; the old check ``pushed <= available`` (which restated the
  assignment) is replaced by ``pushed * units <= guard_units``. Rows written before this
  revision had no guard: they get ``guard_units = pushed`` (what was offered then).
* ``station_shipments.move_ids`` — the SHIP moves a shipment lists.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0008_reservations_atp"
down_revision: str | None = "0007_ledger_one_truth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reservations") as b:
        b.add_column(sa.Column("shipped_qty", sa.Integer(), server_default="0", nullable=False))
        b.create_check_constraint(op.f("ck_reservations_shipped_qty"),
                                  "shipped_qty >= 0 AND shipped_qty <= qty")
    with op.batch_alter_table("sku_mappings") as b:
        b.add_column(sa.Column("stock_share", sa.Integer(), server_default="1", nullable=False))
        b.create_check_constraint(op.f("ck_sku_mappings_stock_share"), "stock_share >= 0")
    with op.batch_alter_table("stock_pushes") as b:
        b.add_column(sa.Column("units", sa.Integer(), server_default="1", nullable=False))
        b.add_column(sa.Column("allotted", sa.BigInteger(), server_default="0", nullable=False))
        b.add_column(sa.Column("guard_units", sa.BigInteger(), server_default="0",
                               nullable=False))
        b.add_column(sa.Column("detail", cloud.db.types.json_type(), nullable=True))
        b.drop_constraint(op.f("ck_stock_pushes_never_above"), type_="check")
    op.execute("UPDATE stock_pushes SET guard_units = pushed, allotted = available + buffer")
    with op.batch_alter_table("stock_pushes") as b:
        b.create_check_constraint(op.f("ck_stock_pushes_guard"),
                                  "pushed >= 0 AND pushed * units <= guard_units")
    with op.batch_alter_table("station_shipments") as b:
        b.add_column(sa.Column("move_ids", cloud.db.types.json_type(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("station_shipments") as b:
        b.drop_column("move_ids")
    with op.batch_alter_table("stock_pushes") as b:
        b.drop_constraint(op.f("ck_stock_pushes_guard"), type_="check")
    op.execute("UPDATE stock_pushes SET available = pushed WHERE pushed > available")
    with op.batch_alter_table("stock_pushes") as b:
        b.drop_column("detail")
        b.drop_column("guard_units")
        b.drop_column("allotted")
        b.drop_column("units")
        b.create_check_constraint(op.f("ck_stock_pushes_never_above"),
                                  "pushed >= 0 AND pushed <= available")
    with op.batch_alter_table("sku_mappings") as b:
        b.drop_constraint(op.f("ck_sku_mappings_stock_share"), type_="check")
        b.drop_column("stock_share")
    with op.batch_alter_table("reservations") as b:
        b.drop_constraint(op.f("ck_reservations_shipped_qty"), type_="check")
        b.drop_column("shipped_qty")
