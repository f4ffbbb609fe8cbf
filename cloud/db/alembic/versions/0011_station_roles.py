"""station_roles: which stations take pack tasks

Revision ID: 0011_station_roles
Revises: 0010_intercept_release
Create Date: 2026-12-04

* ``stations.role`` — ``pack`` (takes pack tasks; the default) or ``receive`` (a receiving
  or stock desk: never given pack tasks).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_station_roles"
down_revision: str | None = "0010_intercept_release"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stations") as b:
        b.add_column(sa.Column("role", sa.String(16), server_default="pack", nullable=False))
        b.create_check_constraint(op.f("ck_stations_role"), "role IN ('pack', 'receive')")


def downgrade() -> None:
    with op.batch_alter_table("stations") as b:
        b.drop_constraint(op.f("ck_stations_role"), type_="check")
        b.drop_column("role")
