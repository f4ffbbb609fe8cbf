"""ledger, one truth: a move is reversed at most once; packer figures of shipments

Revision ID: 0007_ledger_one_truth
Revises: 0006_web_users
Create Date: 2026-12-03

- ``stock_moves.reverses_move_id`` gets a UNIQUE index (it was a plain one): two
  stations that each reverse the same move can no longer both take effect in the cloud;
  ingest refuses the second as a conflict (an alert, a dead letter) before it reaches the
  index, which only backs that up against concurrent ingest processes.
- ``station_shipments`` keeps the packer figures each shipment carries (rejected scans,
  weighings, seconds to pack) for the staff reports.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_ledger_one_truth"
down_revision: str | None = "0006_web_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_stock_moves_reverses_move_id"), table_name="stock_moves")
    op.create_index(op.f("ix_stock_moves_reverses_move_id"), "stock_moves", ["reverses_move_id"],
                    unique=True)
    op.add_column("station_shipments", sa.Column("rejected_scans", sa.Integer(), nullable=True))
    op.add_column("station_shipments", sa.Column("weighings", sa.Integer(), nullable=True))
    op.add_column("station_shipments", sa.Column("pack_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("station_shipments") as batch:
        batch.drop_column("pack_seconds")
        batch.drop_column("weighings")
        batch.drop_column("rejected_scans")
    op.drop_index(op.f("ix_stock_moves_reverses_move_id"), table_name="stock_moves")
    op.create_index(op.f("ix_stock_moves_reverses_move_id"), "stock_moves", ["reverses_move_id"])
