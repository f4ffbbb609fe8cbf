"""daily_summaries: the daily summary (每日概况) kept for each day

Revision ID: 0039_daily_summaries
Revises: 0038_packer_figures
Create Date: 2026-12-04

* ``daily_summaries`` — one row per China Standard Time day: the summary as the worker
  computed it at its first pass after the day ended (JSON), and when. The page shows the
  kept one, so a day's open exceptions and low stock stay as they were that night.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime, json_type

revision: str = "0039_daily_summaries"
down_revision: str | None = "0038_packer_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "daily_summaries",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("data", json_type(), nullable=False),
        sa.Column("made_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daily_summaries")
