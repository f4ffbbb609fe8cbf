"""sync: dead letters, downlink outbox, station alerts, shipments and sign-ins

Revision ID: 0002_sync
Revises: 0001_foundation
Create Date: 2026-11-23
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.types import UtcDateTime, bigint_pk, json_type

revision: str = "0002_sync"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", bigint_pk(), autoincrement=True, nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("topic", sa.String(300), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=True),
        sa.Column("msg_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(op.f("ix_dead_letters_received_at"), "dead_letters", ["received_at"])
    op.create_table(
        "downlink_outbox",
        sa.Column("seq", bigint_pk(), autoincrement=True, nullable=False),
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", json_type(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_sent_at", UtcDateTime(), nullable=True),
        sa.Column("acked_at", UtcDateTime(), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_downlink_outbox")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_downlink_outbox_msg_id")),
    )
    op.create_index(
        "ix_downlink_outbox_pending", "downlink_outbox", ["acked_at", "station_id", "seq"]
    )
    op.create_table(
        "station_alerts",
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail", json_type(), nullable=False),
        sa.Column("raised_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_station_alerts")),
    )
    op.create_index(op.f("ix_station_alerts_station_id"), "station_alerts", ["station_id"])
    op.create_table(
        "station_shipments",
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("waybill_no", sa.String(64), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("shipped_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("tracking_pushed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_station_shipments")),
    )
    op.create_index(op.f("ix_station_shipments_order_id"), "station_shipments", ["order_id"])
    op.create_table(
        "station_sign_ins",
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "event IN ('sign_in', 'sign_out')", name=op.f("ck_station_sign_ins_event")
        ),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_station_sign_ins")),
    )
    op.create_index(op.f("ix_station_sign_ins_operator_id"), "station_sign_ins", ["operator_id"])


def downgrade() -> None:
    for table in (
        "station_sign_ins", "station_shipments", "station_alerts", "downlink_outbox", "dead_letters",
    ):
        op.drop_table(table)
