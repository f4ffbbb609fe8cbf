"""The cloud schema as SQLAlchemy Core tables (the target of the Alembic migrations).

The migrations in ``cloud/db/alembic/versions`` are what create and change the real
database; this module must describe the schema they produce (a test compares the two on
SQLite and PostgreSQL). Add a column here *and* in a new named migration.

Conventions: text ids, integer money in fen (分), integer grams and millimetres, UTC
timestamps (:class:`~cloud.db.types.UtcDateTime`). ``stock_moves`` and ``audit_log`` are
append-only: triggers refuse UPDATE and DELETE on both engines.
"""

from __future__ import annotations

import sqlalchemy as sa

from cloud.db.types import UtcDateTime, bigint_pk, json_type
from edge.domain.models import NegativeStockPolicy, Role

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names, so batch migrations on SQLite can find and alter constraints."""

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
"""All cloud tables."""

PLATFORMS: tuple[str, ...] = ("pdd", "taobao", "jd")
"""Marketplace codes stored in ``shops.platform``."""

STATION_STATUSES: tuple[str, ...] = ("pending", "active", "revoked")
STATION_ROLES: tuple[str, ...] = ("pack", "receive")
"""``pack``: takes pack tasks; ``receive``: a receiving or stock desk, never given pack tasks."""
"""``stations.status``: provisioned but never connected, working, or locked out."""

APPEND_ONLY_TABLES: tuple[str, ...] = ("stock_moves", "audit_log")
"""Tables whose rows are never updated or deleted (enforced by triggers)."""


def _in(column: str, values: tuple[str, ...] | list[str]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


warehouses = sa.Table(
    "warehouses",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column(
        "negative_stock_policy",
        sa.String(32),
        nullable=False,
        server_default=NegativeStockPolicy.REFUSE.value,
    ),
    sa.CheckConstraint(
        _in("negative_stock_policy", [p.value for p in NegativeStockPolicy]),
        name="negative_stock_policy",
    ),
)
"""Warehouses; each refuses or allows (with an alert) negative stock."""

stations = sa.Table(
    "stations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "warehouse_id", sa.String(64), sa.ForeignKey("warehouses.id"), nullable=False, index=True
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Column("role", sa.String(16), nullable=False, server_default="pack"),
    sa.CheckConstraint(_in("status", STATION_STATUSES), name="status"),
    sa.CheckConstraint(_in("role", STATION_ROLES), name="role"),
)
"""Packing stations (edge devices), one warehouse each; ``role`` in ``STATION_ROLES``."""

skus = sa.Table(
    "skus",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
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
    # 0009_products: the selling side of a product
    sa.Column("price_fen", sa.BigInteger(), nullable=True),
    sa.Column("category", sa.String(64), nullable=True),
    # 0014_catalog_version: one more per write, sent to the stations with the SKU
    sa.Column("catalog_version", sa.BigInteger(), nullable=False, server_default="1"),
    sa.CheckConstraint("unit_weight_g IS NULL OR unit_weight_g >= 0", name="unit_weight_g"),
    sa.CheckConstraint(
        "(length_mm IS NULL OR length_mm >= 0) AND (width_mm IS NULL OR width_mm >= 0)"
        " AND (height_mm IS NULL OR height_mm >= 0)",
        name="dimensions",
    ),
    sa.CheckConstraint("cost_fen IS NULL OR cost_fen >= 0", name="cost_fen"),
    sa.CheckConstraint("price_fen IS NULL OR price_fen >= 0", name="price_fen"),
)
"""The catalog: one row per SKU (库存单位). Money in fen, weight in grams, sizes in mm;
``price_fen`` is the selling price and ``category`` a free-text category (0009)."""

sku_tags = sa.Table(
    "sku_tags",
    metadata,
    sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), primary_key=True),
    sa.Column("tag", sa.String(32), primary_key=True),
    sa.Index("ix_sku_tags_tag", "tag"),
)
"""Tags of a SKU (any number, each up to 32 characters) for searching and grouping (0009)."""

sku_safety_stock = sa.Table(
    "sku_safety_stock",
    metadata,
    sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), sa.ForeignKey("warehouses.id"), primary_key=True),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.CheckConstraint("qty >= 0", name="qty"),
)
"""Safety stock (安全库存) of a SKU per warehouse: the level below which it should be
replenished. No row = none set. It is not the stock-push buffer (``sku_mappings``)."""

sku_barcodes = sa.Table(
    "sku_barcodes",
    metadata,
    sa.Column("barcode", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), nullable=False, index=True),
    sa.Column("units_per_scan", sa.Integer(), nullable=False, server_default="1"),
    sa.CheckConstraint("units_per_scan > 0", name="units_per_scan"),
)
"""Barcodes of a SKU; a case barcode counts ``units_per_scan`` units."""

kit_components = sa.Table(
    "kit_components",
    metadata,
    sa.Column("kit_sku", sa.String(64), sa.ForeignKey("skus.sku"), primary_key=True),
    sa.Column("component_sku", sa.String(64), sa.ForeignKey("skus.sku"), primary_key=True),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.CheckConstraint("qty > 0", name="qty"),
    sa.CheckConstraint("kit_sku <> component_sku", name="not_itself"),
    sa.Index("ix_kit_components_component", "component_sku"),
)
"""Kits (组合商品, 0043): a SKU with rows here is a kit made of ``qty`` units of each
component SKU; it has no stock of its own, and no component is itself a kit
(:mod:`cloud.kits`)."""

shops = sa.Table(
    "shops",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("seller_id", sa.String(128), nullable=True),
    sa.Column("app_key", sa.String(128), nullable=True),
    sa.Column("access_token_enc", sa.Text(), nullable=True),
    sa.Column("refresh_token_enc", sa.Text(), nullable=True),
    sa.Column("token_expires_at", UtcDateTime(), nullable=True),
    sa.Column("refresh_expires_at", UtcDateTime(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # 0044_profit: the platform's commission in basis points (NULL: not set, counted as 0)
    sa.Column("fee_bp", sa.Integer(), nullable=True),
    sa.CheckConstraint(_in("platform", PLATFORMS), name="platform"),
    sa.UniqueConstraint("platform", "seller_id"),
)
"""Marketplace shops. Tokens are stored encrypted (``*_enc``), never in clear."""

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.Text(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # 0006_web_users: sign-in state of the web app
    sa.Column("totp_secret_enc", sa.Text(), nullable=True),
    sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
    sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("locked_until", UtcDateTime(), nullable=True),
    sa.Column("last_login_at", UtcDateTime(), nullable=True),
    sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"),
    sa.CheckConstraint(_in("role", [r.value for r in Role]), name="role"),
)
"""People who sign in (cloud web UI and stations); ``role`` is an ``edge.domain.models.Role``.

``totp_secret_enc`` is the TOTP second factor sealed with the cloud key (NULL = none),
``totp_last_step`` the time step of the last code accepted (a code is never accepted twice);
``failed_logins`` counts failures since the last success or lock-out, ``locked_until``
refuses sign-in until then; a session is valid only while it carries the user's current
``session_version`` (bumped by a password reset, a role change or deactivation)."""

station_operators = sa.Table(
    "station_operators",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("badge", sa.String(64), nullable=True, unique=True),
    sa.Column("pin_hash", sa.Text(), nullable=True),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("version", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('packer', 'lead')", name="role"),
    sa.CheckConstraint("version >= 1", name="version"),
)
"""Kiosk operators (工作人员: packers and leads), managed in the web app and sent to every
station (``operators`` down-message, ``cloud.operators``); ``version`` goes up on every
change so a station keeps the newest copy. The PIN is only kept as its Argon2id hash."""

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Index("ix_login_failures_ip_at", "ip", "at"),
)
"""Failed web sign-ins per client address, for throttling by address (rows older than the
throttling window are pruned); the audit log keeps the permanent record."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(200), nullable=True),
    sa.Column("detail", json_type(), nullable=True),
)
"""Who did what to which thing, append-only."""

stock_moves = sa.Table(
    "stock_moves",
    metadata,
    sa.Column("move_id", sa.String(64), primary_key=True),
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
    sa.Column("reverses_move_id", sa.String(64), nullable=True, index=True, unique=True),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Index("ix_stock_moves_wh_sku_loc_occurred", "warehouse_id", "sku", "location", "occurred_at"),
    sa.Index("ix_stock_moves_sku_occurred", "sku", "occurred_at"),
    sa.Index("ix_stock_moves_station_occurred", "station_id", "occurred_at"),
    sa.Index("ix_stock_moves_reason_occurred", "reason", "occurred_at"),  # 0048
    sa.Index("ix_stock_moves_sku_reason_occurred", "sku", "reason", "occurred_at"),  # 0048
)
"""The cloud copy of every station's ledger: append-only facts, one row per ``move_id``.
A move is reversed at most once: ``reverses_move_id`` is unique (0005).

No foreign keys on purpose: a fact recorded at a station is kept even when the catalog
or station registry has not caught up; ``balance_after`` is what the station reported.
"""

stock_balances = sa.Table(
    "stock_balances",
    metadata,
    sa.Column("warehouse_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("location", sa.String(64), primary_key=True),
    sa.Column("qty", sa.BigInteger(), nullable=False),
    sa.Index("ix_stock_balances_sku", "sku"),
)
"""On-hand per warehouse, SKU and location: a cache of ``SUM(stock_moves.qty_delta)``."""

shipped_daily = sa.Table(
    "shipped_daily",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("units", sa.BigInteger(), nullable=False),
)
"""Units shipped per UTC day × warehouse × SKU (``0051_shipped_daily``): a cache of the SHIP
moves (their day) less the reversals of SHIP moves (the original's day), kept by
``cloud.ledger_store.insert_moves``; the stock report and replenishment read whole days
here."""

# ---------------------------------------------------------------------------- sync (0002)
dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("received_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("topic", sa.String(300), nullable=False),
    sa.Column("station_id", sa.String(64), nullable=True),
    sa.Column("msg_id", sa.String(64), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
)
"""Messages from stations that could not be applied (malformed, unknown kind, invalid
move), kept with the reason. They were acknowledged so they never block the queue."""

downlink_outbox = sa.Table(
    "downlink_outbox",
    metadata,
    sa.Column("seq", bigint_pk(), primary_key=True, autoincrement=True),
    sa.Column("msg_id", sa.String(64), nullable=False, unique=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", json_type(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("last_sent_at", UtcDateTime(), nullable=True),
    sa.Column("acked_at", UtcDateTime(), nullable=True),
    sa.Column("rejected_reason", sa.Text(), nullable=True),
    sa.Index("ix_downlink_outbox_pending", "acked_at", "station_id", "seq"),
)
"""Messages for stations (tasks, intercepts, catalog, purchase orders, relayed moves),
written in the transaction of the change they carry and re-sent until the station's
application ack arrives on ``up/ack``."""

station_alerts = sa.Table(
    "station_alerts",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("detail", json_type(), nullable=False),
    sa.Column("raised_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
    sa.Column("acknowledged_by", sa.String(64), nullable=True),
)
"""Alerts raised at stations (negative stock, intercept after shipping, refused sync);
``acknowledged_at/by`` when and by whom it was marked done (``cloud.stock.close_alert``)."""

station_shipments = sa.Table(
    "station_shipments",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False, index=True),
    sa.Column("waybill_no", sa.String(64), nullable=False),
    sa.Column("carrier", sa.String(64), nullable=False),
    sa.Column("weight_g", sa.Integer(), nullable=True),
    sa.Column("operator_id", sa.String(64), nullable=False),
    sa.Column("shipped_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("tracking_pushed_at", UtcDateTime(), nullable=True),
    sa.Column("rejected_scans", sa.Integer(), nullable=True),
    sa.Column("weighings", sa.Integer(), nullable=True),
    sa.Column("pack_seconds", sa.Float(), nullable=True),
    sa.Column("move_ids", json_type(), nullable=True),
    # 0038_packer_figures: 1 when a lead overrode an out-of-tolerance weight
    sa.Column("weight_overrides", sa.Integer(), nullable=True),
    sa.Index("ix_station_shipments_shipped_at", "shipped_at"),
)
"""Orders shipped at stations; marketplace sync pushes the tracking numbers. The packer
figures (wrong or extra items scanned, weighings, seconds from first scan to ship, a lead's
weight override) come
from the shipment's ``kpis`` (0007; NULL when the station did not send them). ``move_ids``
lists the shipment's SHIP moves: once all are in the ledger the order's reservation is
released (``cloud.orders.reservations.on_ingest``)."""

station_sign_ins = sa.Table(
    "station_sign_ins",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("operator_id", sa.String(64), nullable=False, index=True),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("event IN ('sign_in', 'sign_out')", name="event"),
)
"""Operators signing in and out at stations (staff reports)."""

# ---------------------------------------------------------------------------- label prints (0032)
station_label_prints = sa.Table(
    "station_label_prints",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("n", sa.Integer(), nullable=False),
    sa.Column("operator_id", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(200), nullable=True),
    sa.Column("printed_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index("ix_station_label_prints_order", "order_id", "printed_at"),
)
"""Shipping labels printed at stations (first prints and reprints), once per message."""

# ---------------------------------------------------------------------------- handovers (0035)
station_handovers = sa.Table(
    "station_handovers",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("carrier", sa.String(32), nullable=False),
    sa.Column("operator_id", sa.String(64), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("closed_at", UtcDateTime(), nullable=False),
    sa.Column("parcels", sa.Integer(), nullable=False),
    sa.Column("not_handed_over", sa.Integer(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index("ix_station_handovers_closed", "closed_at"),
)
"""Handover batches closed at stations (交接): one courier's pickup, once per message."""

station_handover_parcels = sa.Table(
    "station_handover_parcels",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("waybill_no", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("operator_id", sa.String(64), nullable=False),
    sa.Column("scanned_at", UtcDateTime(), nullable=False),
    sa.Index("ix_station_handover_parcels_order", "order_id"),
)
"""The parcels of each handover batch (``msg_id`` of ``station_handovers``)."""
# ---------------------------------------------------------------------------- stocktakes (0036)
station_stocktakes = sa.Table(
    "station_stocktakes",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False),
    sa.Column("stocktake_id", sa.String(64), nullable=False),
    sa.Column("warehouse_id", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(8), nullable=False),
    sa.Column("scope_value", sa.String(64), nullable=False),
    sa.Column("snapshot_seq", sa.BigInteger(), nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("approved_by", sa.String(64), nullable=False),
    sa.Column("approved_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index("ix_station_stocktakes_approved", "approved_at"),
)
"""Stocktakes approved at stations (one row per ``stocktake`` message): the variance
report's list. The adjustments are ordinary COUNT_ADJUST moves in ``stock_moves``."""

station_stocktake_lines = sa.Table(
    "station_stocktake_lines",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("location", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("round", sa.Integer(), primary_key=True),
    sa.Column("counted", sa.Integer(), nullable=False),
    sa.Column("expected", sa.Integer(), nullable=False),
    sa.Column("final", sa.Boolean(), nullable=False),
    sa.Column("move_id", sa.String(64), nullable=True),
)
"""Each count line of an approved stocktake: counted, the book figure at count time, the
round (2 = recount), whether it stands (``final``) and the adjustment move it made."""

stocktake_plans = sa.Table(
    "stocktake_plans",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("warehouse_id", sa.String(64), sa.ForeignKey("warehouses.id"), nullable=False),
    sa.Column("scope", sa.String(8), nullable=False),
    sa.Column("scope_value", sa.String(64), nullable=False, server_default=""),
    sa.Column("note", sa.String(200), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("cancelled_by", sa.String(64), nullable=True),
    sa.Column("cancelled_at", UtcDateTime(), nullable=True),
    sa.Column("stocktake_id", sa.String(64), nullable=True),
    sa.Index("ix_stocktake_plans_status", "status", "created_at"),
)
"""Stocktakes planned in the cloud (``0041_stocktake_plans``): sent to the stations of the
warehouse (``count_plan``); ``open`` until a station's approved stocktake names it
(``done``, with its ``stocktake_id``) or someone cancels it (``cancelled``)."""

# ---------------------------------------------------------------------------- health, resync (0003)
station_health = sa.Table(
    "station_health",
    metadata,
    sa.Column("station_id", sa.String(64), primary_key=True),
    sa.Column("msg_id", sa.String(64), nullable=False),
    sa.Column("reported_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("backup_last_success_at", UtcDateTime(), nullable=True),
    sa.Column("backup_lag_seconds", sa.Float(), nullable=False),
    sa.Column("backup_last_error", sa.Text(), nullable=True),
    sa.Column("outbox_backlog", sa.Integer(), nullable=False),
    sa.Column("detail", json_type(), nullable=False),
)
"""The latest health report of each station (backup state, outbox backlog); an older
report arriving late never replaces a newer one. ``detail`` is the whole ``HealthWire``."""

station_resyncs = sa.Table(
    "station_resyncs",
    metadata,
    sa.Column("msg_id", sa.String(64), primary_key=True),
    sa.Column("station_id", sa.String(64), nullable=False, index=True),
    sa.Column("restore_point", UtcDateTime(), nullable=False),
    sa.Column("restored_txid", sa.BigInteger(), nullable=False),
    sa.Column("restored_at", UtcDateTime(), nullable=False),
    sa.Column("cutoff", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("moves_sent", sa.Integer(), nullable=False),
    sa.Column("downlinks_resent", sa.Integer(), nullable=False),
)
"""Resyncs of stations restored from backup, once per request ``msg_id`` (a repeated
request is acked and changes nothing); what the cloud re-sent for each."""
