"""export_jobs: exports run in the background with progress; orders by their time

Revision ID: 0049_export_jobs
Revises: 0048_moves_by_reason
Create Date: 2026-12-05

* ``export_jobs`` — one row per export asked for (the order list of a year as XLSX or CSV):
  who, what (the filters as JSON), how far (rows written of the rows counted), the file's
  download name and size when done, the reason when it failed; ``updated_at`` moves with the
  progress, so a job whose process died shows as interrupted.
* ``ix_orders_ordered_at`` — the order list, newest first, and its export by day range,
  without sorting every order.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cloud.db.types

revision: str = "0049_export_jobs"
down_revision: str | None = "0048_moves_by_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("fmt", sa.String(8), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done_rows", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("total_rows", sa.BigInteger(), nullable=True),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(400), nullable=True),
        sa.Column("created_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", cloud.db.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", cloud.db.types.UtcDateTime(), nullable=True),
        sa.Index("ix_export_jobs_requested_by", "requested_by", "created_at"),
    )
    op.create_index("ix_orders_ordered_at", "orders", ["ordered_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_ordered_at", table_name="orders")
    op.drop_table("export_jobs")
