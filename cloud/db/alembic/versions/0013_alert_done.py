"""alert_done: who marked a station alert done

Revision ID: 0013_alert_done
Revises: 0012_push_safety
Create Date: 2026-12-04

* ``station_alerts.acknowledged_by`` — the user who marked the alert done in the web app
  (``acknowledged_at`` says when; the audit log keeps the note, action ``alert.done``).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_alert_done"
down_revision: str | None = "0012_push_safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("station_alerts", sa.Column("acknowledged_by", sa.String(64), nullable=True))


def downgrade() -> None:
    # plain ALTER (SQLite ≥ 3.35 drops a column): a batch copy of the table would turn the
    # column-level CHECKs of earlier revisions into table-level ones their downgrades cannot drop
    op.drop_column("station_alerts", "acknowledged_by")
