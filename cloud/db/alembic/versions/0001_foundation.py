"""foundation: warehouses, stations, catalog, shops, users, audit log, stock ledger

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.db.ddl import append_only_ddl, drop_append_only_ddl, drop_shared_functions_ddl
from cloud.db.types import UtcDateTime, bigint_pk, json_type

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("stock_moves", "audit_log")


def upgrade() -> None:
    op.create_table(
        "warehouses",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("negative_stock_policy", sa.String(32), nullable=False, server_default="refuse"),
        sa.CheckConstraint(
            "negative_stock_policy IN ('refuse', 'allow_with_alert')",
            name=op.f("ck_warehouses_negative_stock_policy"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouses")),
    )
    op.create_table(
        "stations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'revoked')", name=op.f("ck_stations_status")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_stations_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
    )
    op.create_index(op.f("ix_stations_warehouse_id"), "stations", ["warehouse_id"])
    op.create_table(
        "skus",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=True),
        sa.Column("spec", sa.String(200), nullable=True),
        sa.Column("unit_weight_g", sa.Integer(), nullable=True),
        sa.Column("length_mm", sa.Integer(), nullable=True),
        sa.Column("width_mm", sa.Integer(), nullable=True),
        sa.Column("height_mm", sa.Integer(), nullable=True),
        sa.Column("cost_fen", sa.BigInteger(), nullable=True),
        sa.Column("image_path", sa.String(500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.CheckConstraint(
            "unit_weight_g IS NULL OR unit_weight_g >= 0", name=op.f("ck_skus_unit_weight_g")
        ),
        sa.CheckConstraint(
            "(length_mm IS NULL OR length_mm >= 0) AND (width_mm IS NULL OR width_mm >= 0)"
            " AND (height_mm IS NULL OR height_mm >= 0)",
            name=op.f("ck_skus_dimensions"),
        ),
        sa.CheckConstraint("cost_fen IS NULL OR cost_fen >= 0", name=op.f("ck_skus_cost_fen")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_skus")),
    )
    op.create_table(
        "sku_barcodes",
        sa.Column("barcode", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("units_per_scan", sa.Integer(), nullable=False, server_default="1"),
        sa.CheckConstraint("units_per_scan > 0", name=op.f("ck_sku_barcodes_units_per_scan")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_sku_barcodes_sku_skus")),
        sa.PrimaryKeyConstraint("barcode", name=op.f("pk_sku_barcodes")),
    )
    op.create_index(op.f("ix_sku_barcodes_sku"), "sku_barcodes", ["sku"])
    op.create_table(
        "shops",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("seller_id", sa.String(128), nullable=True),
        sa.Column("app_key", sa.String(128), nullable=True),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("token_expires_at", UtcDateTime(), nullable=True),
        sa.Column("refresh_expires_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("platform IN ('pdd', 'taobao', 'jd')", name=op.f("ck_shops_platform")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
        sa.UniqueConstraint("platform", "seller_id", name=op.f("uq_shops_platform_seller_id")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('packer', 'warehouse_lead', 'purchaser', 'finance', 'manager', 'admin')",
            name=op.f("ck_users_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", bigint_pk(), autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("detail", json_type(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_table(
        "stock_moves",
        sa.Column("move_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("qty_delta", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("source_line", sa.String(64), nullable=True),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("reverses_move_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("move_id", name=op.f("pk_stock_moves")),
    )
    op.create_index(
        "ix_stock_moves_wh_sku_loc_occurred",
        "stock_moves",
        ["warehouse_id", "sku", "location", "occurred_at"],
    )
    op.create_index("ix_stock_moves_sku_occurred", "stock_moves", ["sku", "occurred_at"])
    op.create_index("ix_stock_moves_station_occurred", "stock_moves", ["station_id", "occurred_at"])
    op.create_index(op.f("ix_stock_moves_reverses_move_id"), "stock_moves", ["reverses_move_id"])
    op.create_table(
        "stock_balances",
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("warehouse_id", "sku", "location", name=op.f("pk_stock_balances")),
    )
    op.create_index("ix_stock_balances_sku", "stock_balances", ["sku"])

    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in append_only_ddl(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in drop_append_only_ddl(dialect, table):
            op.execute(statement)
    for statement in drop_shared_functions_ddl(dialect):
        op.execute(statement)
    for table in (
        "stock_balances",
        "stock_moves",
        "audit_log",
        "users",
        "shops",
        "sku_barcodes",
        "skus",
        "stations",
        "warehouses",
    ):
        op.drop_table(table)
