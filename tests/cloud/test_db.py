"""Schema, migrations and engine behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from cloud.config import CloudSettings
from cloud.db import (
    alembic_config,
    audit_log,
    current_revision,
    head_revision,
    in_chunks,
    make_engine,
    metadata,
    migrate,
    normalize_url,
    require_current,
    shops,
    skus,
    stock_moves,
    users,
    warehouses,
    write_transaction,
)
from cloud.db.schema_orders import ORDER_TABLES
from cloud.errors import ConfigError, MigrationError, SchemaNotCurrent
from cloud.ledger_store import insert_moves
from tests.cloud.helpers import make_move

HEAD = "0052_profit_monthly_sku"
"""The newest migration, written out (not read from Alembic)."""

EXPECTED_TABLES = {
    "transfers": {"id", "from_warehouse", "to_warehouse", "status", "note", "created_by",
                  "created_at", "sent_by", "sent_at", "closed_by", "closed_at", "close_reason",
                  "cancel_reason", "updated_at"},  # 0025
    "transfer_lines": {"transfer_id", "line_no", "sku", "qty", "qty_shipped", "qty_received",
                       "qty_missing"},  # 0025
    "transfer_discrepancies": {"msg_id", "station_id", "transfer_id", "line_no", "sku",
                               "expected", "counted", "reason", "operator_id", "recorded_at",
                               "received_at"},  # 0037_transfer_floor
    "courier_rates": {"id", "carrier", "effective_from", "province", "first_g", "first_fen",
                      "step_g", "step_fen", "created_by", "created_at"},  # 0027
    "courier_accounts": {"shop_id", "carrier_code", "branch_code", "branch_name", "quantity",
                         "allocated", "cancelled", "recycled", "addresses",
                         "fetched_at"},  # 0028
    "courier_templates": {"shop_id", "carrier_code", "template_id", "name", "url",
                          "waybill_type", "fetched_at"},  # 0028
    "courier_choices": {"shop_id", "carrier_code", "branch_code", "province", "city",
                        "district", "detail", "template_id", "template_url", "chosen_by",
                        "chosen_at", "custom_area_url"},  # 0028, 0047
    "order_tags": {"id", "name", "colour", "created_by", "created_at"},  # 0030
    "order_tag_links": {"order_id", "tag_id", "actor", "at"},  # 0030
    "station_label_prints": {"msg_id", "station_id", "order_id", "n", "operator_id",  # 0032
                             "reason", "printed_at", "received_at"},
    "desk_prints": {"id", "order_id", "waybill_no", "n", "printer", "printed_by",  # 0045
                    "printed_at", "reason"},
    "station_handovers": {"msg_id", "station_id", "batch_id", "carrier", "operator_id",  # 0035_handovers
                          "opened_at", "closed_at", "parcels", "not_handed_over", "received_at"},
    "station_handover_parcels": {"msg_id", "waybill_no", "order_id", "operator_id",  # 0035_handovers
                                 "scanned_at"},
    "station_stocktakes": {"msg_id", "station_id", "stocktake_id", "warehouse_id",  # 0036_stocktakes
                           "scope", "scope_value", "snapshot_seq", "started_by", "started_at",
                           "approved_by", "approved_at", "received_at"},
    "station_stocktake_lines": {"msg_id", "location", "sku", "round", "counted",  # 0036_stocktakes
                                "expected", "final", "move_id"},
    "supplier_payments": {"id", "supplier_id", "amount_fen", "paid_on", "method", "reference",
                          "note", "reverses", "recorded_by", "recorded_at"},  # 0022
    # 0020_promotions
    "promotions": {"id", "name", "shop_id", "kind", "threshold", "trigger_sku", "gift_sku",
                   "gift_qty", "starts_at", "ends_at", "active", "created_by", "created_at",
                   "updated_at"},
    "review_rules": {"shop_id", "hold_buyer_note", "hold_risk_review", "max_amount_fen",
                     "updated_by", "updated_at"},
    "cost_changes": {"move_id", "sku", "po_id", "qty", "unit_cost_fen", "on_hand_before",
                     "cost_before_fen", "cost_after_fen", "at"},  # 0018_receipts
    # 0017_purchasing
    "suppliers": {"id", "name", "contact", "phone", "lead_days", "note", "active", "created_at"},
    "purchase_orders": {"id", "supplier_id", "warehouse_id", "status", "expected_on", "note",
                        "created_by", "created_at", "approved_by", "approved_at", "sent_at",
                        "cancel_reason", "updated_at"},
    "purchase_order_lines": {"po_id", "line_no", "sku", "qty_ordered", "unit_cost_fen",
                             "qty_received"},
    "order_events": {"id", "order_id", "at", "actor", "action", "from_state", "to_state",
                     "reason"},  # 0016_order_review
    "station_operators": {"id", "name", "role", "badge", "pin_hash", "active", "version",
                          "created_at", "updated_at"},  # 0015_operators
    "warehouses": {"id", "name", "negative_stock_policy"},
    "stations": {"id", "warehouse_id", "name", "status", "created_at", "revoked_at",
                 "role"},  # role: 0011_station_roles
    "skus": {
        "sku", "name_zh", "name_en", "spec", "unit_weight_g", "length_mm", "width_mm",
        "height_mm", "cost_fen", "image_path", "active",
        "price_fen", "category",  # 0009_products
        "catalog_version",  # 0014_catalog_version
    },
    "sku_barcodes": {"barcode", "sku", "units_per_scan"},
    "shops": {
        "id", "platform", "name", "seller_id", "app_key", "access_token_enc",
        "refresh_token_enc", "token_expires_at", "refresh_expires_at", "created_at",
        "fee_bp",  # 0044_profit
    },
    "users": {
        "id", "username", "display_name", "role", "password_hash", "active", "created_at",
        "totp_secret_enc", "totp_last_step", "failed_logins", "locked_until", "last_login_at",
        "session_version",
    },
    "audit_log": {"id", "at", "actor", "action", "subject", "detail"},
    "stock_moves": {
        "move_id", "sku", "location", "warehouse_id", "station_id", "qty_delta",
        "balance_after", "reason", "source_type", "source_id", "source_line", "operator_id",
        "device_id", "occurred_at", "recorded_at", "received_at", "reverses_move_id", "note",
    },
    "stock_balances": {"warehouse_id", "sku", "location", "qty"},
}
EXPECTED_TABLES.update({  # 0002_sync (tables of the sync branch)
    "dead_letters": {"id", "received_at", "topic", "station_id", "msg_id", "reason", "payload"},
    "downlink_outbox": {
        "seq", "msg_id", "station_id", "kind", "payload", "created_at", "attempts",
        "next_attempt_at", "last_sent_at", "acked_at", "rejected_reason",
    },
    "station_alerts": {
        "msg_id", "station_id", "kind", "subject", "detail", "raised_at", "received_at",
        "acknowledged_at", "acknowledged_by",
    },
    "station_shipments": {
        "msg_id", "station_id", "order_id", "waybill_no", "carrier", "weight_g", "operator_id",
        "shipped_at", "received_at", "tracking_pushed_at",
        "rejected_scans", "weighings", "pack_seconds",  # 0007_ledger_one_truth
        "move_ids",  # 0008_reservations_atp
        "weight_overrides",  # 0038_packer_figures
    },
    "station_sign_ins": {"msg_id", "station_id", "operator_id", "event", "at", "received_at"},
})
EXPECTED_TABLES.update({  # 0003_station_health_resync
    "station_health": {
        "station_id", "msg_id", "reported_at", "received_at", "backup_last_success_at",
        "backup_lag_seconds", "backup_last_error", "outbox_backlog", "detail",
    },
    "station_resyncs": {
        "msg_id", "station_id", "restore_point", "restored_txid", "restored_at", "cutoff",
        "received_at", "moves_sent", "downlinks_resent",
    },
})
EXPECTED_TABLES.update({  # 0004_orders (with the columns 0005_reservations_atp adds)
    t.name: {c.name for c in t.columns} for t in ORDER_TABLES})
EXPECTED_TABLES.update({  # 0006_web_users
    "login_failures": {"id", "at", "ip", "username"},
})
EXPECTED_TABLES.update({  # 0009_products
    "sku_tags": {"sku", "tag"},
    "sku_safety_stock": {"sku", "warehouse_id", "qty"},
})
EXPECTED_TABLES.update({  # 0029_platform_listings
    "platform_listings": {"id", "shop_id", "item_id", "sku_id", "outer_id", "title", "spec",
                          "quantity", "on_sale", "fetched_at"},
})
EXPECTED_TABLES.update({  # 0030_report_summaries
    "report_order_facts": {"order_id", "facts", "updated_at"},
    "sales_daily": {"day", "shop_id", "province", "platform", "orders", "units", "gmv_fen",
                    "refunds", "refund_fen"},
    "sales_daily_sku": {"day", "shop_id", "sku", "platform", "orders", "units", "gmv_fen"},
    "sales_monthly_sku": {"month", "shop_id", "sku", "platform", "orders", "units", "gmv_fen"},
})
EXPECTED_TABLES.update({  # 0038_packer_figures
    "fulfil_daily": {"day", "station_id", "operator_id", "carrier", "parcels", "orders", "pack_ms",
                     "timed", "wrong_scans", "reweighed", "overrides", "late", "reprints"},
    "fulfil_bands": {"day", "station_id", "carrier", "band", "parcels"},
})
EXPECTED_TABLES.update({  # 0039_daily_summaries
    "daily_summaries": {"day", "data", "made_at"},
})
EXPECTED_TABLES.update({  # 0040_returns
    "station_returns": {"msg_id", "return_id", "station_id", "warehouse_id", "order_id",
                        "shop_id", "refund_id", "scanned", "exchange", "note", "operator_id",
                        "received_at", "recorded_at"},
    "station_return_lines": {"msg_id", "line_no", "sku", "code", "qty", "condition",
                             "in_order", "location", "move_id"},
})
EXPECTED_TABLES.update({  # 0041_stocktake_plans
    "stocktake_plans": {"id", "warehouse_id", "scope", "scope_value", "note", "status",
                        "created_by", "created_at", "cancelled_by", "cancelled_at",
                        "stocktake_id"},
})
EXPECTED_TABLES.update({  # 0042_waves
    "waves": {"id", "warehouse_id", "station_id", "kind", "carrier", "status", "created_by",
              "created_at", "picked_by", "picked_at", "pick_msg_id", "pick_lines",
              "cancelled_by", "cancelled_at"},
    "wave_orders": {"wave_id", "order_id", "slot", "short", "put_at"},
})
EXPECTED_TABLES.update({  # 0052_profit_monthly_sku
    "profit_monthly_sku": {"month", "sku", "orders", "lines", "units", "revenue_fen", "cogs_fen",
                           "courier_fen", "fee_fen", "refund_fen", "uncosted"},
})
EXPECTED_TABLES.update({  # 0051_shipped_daily
    "shipped_daily": {"day", "warehouse_id", "sku", "units"},
})
EXPECTED_TABLES.update({  # 0050_sales_geo
    "sales_daily_city": {"day", "shop_id", "province", "city", "platform", "orders", "units",
                         "gmv_fen"},
    "sales_monthly_geo_sku": {"month", "shop_id", "province", "sku", "platform", "orders",
                              "units", "gmv_fen"},
})
EXPECTED_TABLES.update({  # 0049_export_jobs
    "export_jobs": {"id", "kind", "fmt", "params", "requested_by", "status", "done_rows",
                    "total_rows", "file_name", "size_bytes", "error", "created_at",
                    "updated_at", "finished_at"},
})
EXPECTED_TABLES.update({  # 0043_kits
    "kit_components": {"kit_sku", "component_sku", "qty"},
})
EXPECTED_TABLES.update({  # 0044_profit
    "profit_ship_costs": {"move_id", "order_id", "sku", "warehouse_id", "units",
                          "unit_cost_fen", "occurred_at", "recorded_at"},
    "profit_orders": {"order_id", "day", "shop_id", "platform", "warehouse_id", "skus", "units",
                      "revenue_fen", "cogs_fen", "courier_fen", "fee_fen", "refund_fen",
                      "uncosted", "unbilled", "profit_fen", "facts", "updated_at"},
    "profit_daily_shop": {"day", "shop_id", "warehouse_id", "platform", "orders", "lines",
                          "units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen",
                          "refund_fen", "uncosted"},
    "profit_daily": {"day", "shop_id", "warehouse_id", "sku", "platform", "orders", "lines",
                     "units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen", "refund_fen",
                     "uncosted"},
    "profit_monthly": {"month", "shop_id", "warehouse_id", "sku", "platform", "orders",  # 0046
                       "lines", "units", "revenue_fen", "cogs_fen", "courier_fen", "fee_fen",
                       "refund_fen", "uncosted"},
})
EXPECTED_TABLES.update({  # 0012_push_safety
    "stock_push_holds": {"id", "shop_id", "mapping_id", "sku", "from_qty", "to_qty",
                         "created_at", "updated_at", "state", "decided_at", "decided_by",
                         "push_id"},
})


def test_migrations_create_every_table(cloud_db_url: str) -> None:
    engine = make_engine(cloud_db_url)
    try:
        assert migrate(engine) == HEAD == head_revision()
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names())
        assert tables == set(EXPECTED_TABLES) | {"alembic_version"}
        for table, columns in EXPECTED_TABLES.items():
            assert {c["name"] for c in inspector.get_columns(table)} == columns, table
        assert inspector.get_pk_constraint("stock_moves")["constrained_columns"] == ["move_id"]
        assert inspector.get_pk_constraint("stock_balances")["constrained_columns"] == [
            "warehouse_id", "sku", "location",
        ]
    finally:
        engine.dispose()


def test_migrate_is_idempotent_and_accepts_a_url(cloud_db_url: str) -> None:
    assert migrate(cloud_db_url) == HEAD
    assert migrate(cloud_db_url) == HEAD
    engine = make_engine(cloud_db_url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == HEAD
            require_current(conn)
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_metadata(cloud_engine: Engine) -> None:
    with cloud_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, metadata) == []


def test_unmigrated_database_is_reported(cloud_db_url: str) -> None:
    engine = make_engine(cloud_db_url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) is None
            with pytest.raises(SchemaNotCurrent, match="init-db"):
                require_current(conn)
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(cloud_engine: Engine) -> None:
    with cloud_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(sa.inspect(cloud_engine).get_table_names()) == {"alembic_version"}
    assert migrate(cloud_engine) == HEAD
    with cloud_engine.begin() as conn:
        assert insert_moves(conn, [make_move(1)]) == [make_move(1).move_id]
    # The append-only triggers came back with the tables.
    with pytest.raises(sa.exc.DBAPIError, match="stock_moves is append-only"), cloud_engine.begin() as conn:
        conn.execute(sa.delete(stock_moves))


def test_unknown_revision_is_a_migration_error(cloud_db_url: str) -> None:
    with pytest.raises(MigrationError, match="9999"):
        migrate(cloud_db_url, revision="9999_nope")


@pytest.mark.parametrize("table", ["stock_moves", "audit_log"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET {col} = {col}", "DELETE FROM {table}"])
def test_append_only_tables_refuse_update_and_delete(
    cloud_engine: Engine, table: str, statement: str
) -> None:
    with cloud_engine.begin() as conn:
        insert_moves(conn, [make_move(1)])
        conn.execute(sa.insert(audit_log).values(at=datetime.now(UTC), actor="u-1", action="test"))
    col = "note" if table == "stock_moves" else "subject"
    sql = statement.format(table=table, col=col)
    with pytest.raises(sa.exc.DBAPIError, match=f"{table} is append-only"), cloud_engine.begin() as conn:
        conn.execute(sa.text(sql))
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_a_move_cannot_be_replaced(cloud_engine: Engine) -> None:
    """SQLite: REPLACE (which deletes the old row without its DELETE trigger unless the
    connection set recursive_triggers) leaves the move as it was; PostgreSQL has no
    REPLACE, and its upsert is refused by the UPDATE trigger. Re-delivery still works."""
    move = make_move(1)
    with cloud_engine.begin() as conn:
        insert_moves(conn, [move])
        before = conn.execute(sa.select(stock_moves)).all()
    forged_qty = "UPDATE SET qty_delta = 999"
    if cloud_engine.dialect.name == "sqlite":
        with cloud_engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA recursive_triggers = off")  # as the sqlite3 shell has it
            conn.exec_driver_sql(
                "REPLACE INTO stock_moves SELECT move_id, sku, location, warehouse_id, station_id, 999, "
                "999, reason, source_type, source_id, source_line, operator_id, device_id, occurred_at, "
                "recorded_at, received_at, reverses_move_id, 'forged' FROM stock_moves")
            conn.exec_driver_sql(
                "INSERT OR REPLACE INTO stock_moves SELECT move_id, sku, location, warehouse_id, "
                "station_id, 998, 998, reason, source_type, source_id, source_line, operator_id, device_id, "
                "occurred_at, recorded_at, received_at, reverses_move_id, note FROM stock_moves")
    else:
        with pytest.raises(sa.exc.DBAPIError, match="stock_moves is append-only"), cloud_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO stock_moves SELECT * FROM stock_moves "
                f"ON CONFLICT (move_id) DO {forged_qty}")
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(stock_moves)).all() == before
        assert insert_moves(conn, [move, make_move(2)]) == [make_move(2).move_id]  # idempotent as before
        assert conn.execute(sa.select(sa.func.sum(stock_moves.c.qty_delta))).scalar() == 10


def test_the_audit_log_cannot_be_replaced(cloud_engine: Engine) -> None:
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(audit_log).values(at=datetime.now(UTC), actor="u-1", action="test"))
    if cloud_engine.dialect.name == "sqlite":
        statement = "REPLACE INTO audit_log (id, at, actor, action) SELECT id, at, 'forged', action FROM audit_log"
    else:
        statement = ("INSERT INTO audit_log SELECT * FROM audit_log "
                     "ON CONFLICT (id) DO UPDATE SET actor = 'forged'")
    with pytest.raises(sa.exc.DBAPIError, match="audit_log is append-only"), cloud_engine.begin() as conn:
        if cloud_engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA recursive_triggers = off")
        conn.exec_driver_sql(statement)
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(audit_log.c.actor)).scalars().all() == ["u-1"]


def test_append_only_refuses_truncate_on_postgresql(cloud_engine: Engine) -> None:
    if cloud_engine.dialect.name != "postgresql":
        # SQLite has no TRUNCATE; DELETE without WHERE is covered above.
        assert cloud_engine.dialect.name == "sqlite"
        return
    with pytest.raises(sa.exc.DBAPIError, match="stock_moves is append-only"), cloud_engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE stock_moves"))


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (warehouses, {"id": "W", "name": "w", "negative_stock_policy": "sometimes"}),
        (shops, {"id": "S", "platform": "amazon", "name": "s", "created_at": datetime.now(UTC)}),
        (users, {"id": "U", "username": "u", "display_name": "U", "role": "king",
                 "password_hash": "x", "created_at": datetime.now(UTC)}),
        (skus, {"sku": "K", "name_zh": "k", "cost_fen": -1}),
    ],
    ids=["policy", "platform", "role", "cost"],
)
def test_check_constraints_refuse_bad_codes(cloud_engine: Engine, table: sa.Table, values: dict[str, object]) -> None:
    with pytest.raises(sa.exc.IntegrityError), cloud_engine.begin() as conn:
        conn.execute(sa.insert(table).values(**values))


def test_defaults_and_foreign_keys(cloud_engine: Engine) -> None:
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(warehouses).values(id="W", name="主仓"))
        conn.execute(sa.insert(skus).values(sku="K", name_zh="杯子"))
        row = conn.execute(sa.select(warehouses.c.negative_stock_policy)).one()
        assert row[0] == "refuse"
        assert conn.execute(sa.select(skus.c.active)).scalar() is True
    with pytest.raises(sa.exc.IntegrityError), cloud_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO sku_barcodes (barcode, sku) VALUES ('690', 'NO-SUCH')"))


def test_timestamps_come_back_aware_utc(cloud_engine: Engine) -> None:
    beijing = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=beijing)
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(audit_log).values(at=at, actor="a", action="x", detail={"k": [1, "二"]}))
        got = conn.execute(sa.select(audit_log.c.at, audit_log.c.detail)).one()
    assert got.at == at
    assert got.at.tzinfo is UTC or got.at.utcoffset() == timedelta(0)
    assert got.at.hour == 4
    assert got.detail == {"k": [1, "二"]}
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), cloud_engine.begin() as conn:
        conn.execute(sa.insert(audit_log).values(at=datetime(2026, 1, 1), actor="a", action="x"))


def test_sqlite_engine_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'c.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert (tmp_path / "deep" / "dir" / "c.db").exists()
    finally:
        engine.dispose()


def test_sqlite_migration_is_transactional(tmp_path: Path) -> None:
    """SQLAlchemy emits BEGIN itself, so a failure rolls back DDL on SQLite too."""
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            raise RuntimeError("boom")
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_normalize_url_picks_psycopg(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported database mysql"),
        ("postgresql+psycopg2://u@h/db", "use postgresql+psycopg://"),
        ("not a url", "cannot parse database URL"),
    ],
)
def test_normalize_url_refuses_what_we_do_not_run_on(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        normalize_url(url)


def test_settings_default_to_sqlite_in_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PACKLINE_CLOUD_DATABASE_URL", raising=False)
    monkeypatch.setenv("PACKLINE_CLOUD_DATA_DIR", str(tmp_path))
    assert CloudSettings().database_url == f"sqlite:///{tmp_path}/cloud.db"
    monkeypatch.setenv("PACKLINE_CLOUD_DATABASE_URL", "postgresql+psycopg://p@db/packline")
    assert CloudSettings().database_url == "postgresql+psycopg://p@db/packline"


def test_every_settings_field_has_a_docstring() -> None:
    for name, field in CloudSettings.model_fields.items():
        assert field.description and len(field.description) > 10, name


def test_schema_comparison_would_notice_a_drift(cloud_engine: Engine) -> None:
    """Guards the test above: a column the migrations lack shows up as a difference."""
    drifted = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    sa.Table("skus", drifted, sa.Column("barcode_extra", sa.String(10)), extend_existing=True)
    with cloud_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, drifted)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "barcode_extra")]


def test_write_transaction_takes_the_sqlite_write_lock_up_front(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}", sqlite_busy_timeout_ms=50)
    try:
        migrate(engine)
        with write_transaction(engine) as conn:
            # Nothing written yet, but a second writer is already locked out.
            with pytest.raises(sa.exc.OperationalError, match="database is locked"), engine.begin() as other:
                other.execute(sa.insert(warehouses).values(id="W2", name="二号仓"))
            conn.execute(sa.insert(warehouses).values(id="W1", name="一号仓"))
        with engine.connect() as conn:
            assert conn.execute(sa.select(warehouses.c.id)).scalars().all() == ["W1"]
    finally:
        engine.dispose()


def test_write_transaction_commits_and_rolls_back(cloud_engine: Engine) -> None:
    with write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(warehouses).values(id="W1", name="一号仓"))
    with pytest.raises(RuntimeError), write_transaction(cloud_engine) as conn:
        conn.execute(sa.insert(warehouses).values(id="W2", name="二号仓"))
        raise RuntimeError("boom")
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(warehouses.c.id)).scalars().all() == ["W1"]


def test_in_chunks_cuts_lists_for_in_clauses() -> None:
    assert [list(c) for c in in_chunks(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(in_chunks([])) == []
    sizes = [len(c) for c in in_chunks(["id"] * 1001)]
    assert sizes == [500, 500, 1]  # IN_LIST_CHUNK: under SQLite's old 999 parameters


def test_a_thousand_ids_in_chunks_find_every_row(cloud_engine: Engine) -> None:
    """Looking rows up by 1,001 ids a chunk at a time finds each once (both engines)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"shop-{i:04d}" for i in range(1001)]
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(shops), [{"id": i, "platform": "pdd", "name": i, "seller_id": i,
                                         "created_at": now} for i in ids])
        found = [r for chunk in in_chunks(ids) for r in conn.execute(
            sa.select(shops.c.id).where(shops.c.id.in_(chunk))).scalars()]
    assert sorted(found) == ids


def test_0046_fills_the_monthly_profit_from_the_daily(cloud_db_url: str) -> None:
    """A database with profit already kept per day gets its months on upgrade: two days of
    one month summed, another month on its own."""
    engine = make_engine(cloud_db_url)
    assert migrate(engine, "0045_desk_prints") == "0045_desk_prints"
    row = {"shop_id": "s1", "warehouse_id": "WH1", "sku": "A", "platform": "pdd", "orders": 1,
           "lines": 1, "units": 2, "revenue_fen": 1000, "cogs_fen": 400, "courier_fen": 300,
           "fee_fen": 50, "refund_fen": 0, "uncosted": 0}
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO profit_daily (day, shop_id, warehouse_id, sku, platform, orders, "
            "lines, units, revenue_fen, cogs_fen, courier_fen, fee_fen, refund_fen, uncosted) "
            "VALUES (:day, :shop_id, :warehouse_id, :sku, :platform, :orders, :lines, :units, "
            ":revenue_fen, :cogs_fen, :courier_fen, :fee_fen, :refund_fen, :uncosted)"),
            [{**row, "day": date(2026, 11, 3)}, {**row, "day": date(2026, 11, 30)},
             {**row, "day": date(2026, 12, 1), "refund_fen": 700}])
    assert migrate(engine, "0046_profit_monthly") == "0046_profit_monthly"
    with engine.connect() as conn:
        got = conn.execute(sa.text(
            "SELECT month, units, revenue_fen, refund_fen FROM profit_monthly ORDER BY month"
        )).all()
    engine.dispose()
    assert [(str(m)[:10], u, r, f) for m, u, r, f in got] == [
        ("2026-11-01", 4, 2000, 0), ("2026-12-01", 2, 1000, 700)]


def test_0052_sums_the_monthly_profit_over_shops_and_warehouses(cloud_db_url: str) -> None:
    """S1 sold by two shops from two warehouses in November becomes one November row."""
    engine = make_engine(cloud_db_url)
    assert migrate(engine, "0051_shipped_daily") == "0051_shipped_daily"
    row = {"month": date(2026, 11, 1), "sku": "S1", "platform": "pdd", "orders": 1, "lines": 1,
           "units": 2, "revenue_fen": 1000, "cogs_fen": 400, "courier_fen": 300, "fee_fen": 50,
           "refund_fen": 0, "uncosted": 0}
    cols = ", ".join(row)
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO profit_monthly (shop_id, warehouse_id, {cols}) VALUES "
            f"(:shop_id, :warehouse_id, {', '.join(':' + k for k in row)})"),
            [{**row, "shop_id": "s1", "warehouse_id": "WH1"},
             {**row, "shop_id": "s2", "warehouse_id": "WH2", "refund_fen": 700},
             {**row, "shop_id": "s1", "warehouse_id": "WH1", "sku": "S2"}])
    assert migrate(engine, "0052_profit_monthly_sku") == "0052_profit_monthly_sku"
    with engine.connect() as conn:
        got = conn.execute(sa.text(
            "SELECT sku, units, revenue_fen, refund_fen FROM profit_monthly_sku ORDER BY sku"
        )).all()
    engine.dispose()
    assert [tuple(r) for r in got] == [("S1", 4, 2000, 700), ("S2", 2, 1000, 0)]
