"""The cloud database: SQLAlchemy Core schema, engines and packaged Alembic migrations.

    engine = make_engine("sqlite:///var/cloud/cloud.db")   # or postgresql+psycopg://...
    migrate(engine)                                        # idempotent, safe at every start
    with engine.begin() as conn:                           # one transaction
        ...
    with write_transaction(engine) as conn:                # BEGIN IMMEDIATE on SQLite
        ...
"""

from __future__ import annotations

from cloud.db import (
    schema_couriers,  # noqa: F401  (registers the courier account tables)
    schema_orders,  # noqa: F401  (registers the order tables on metadata)
    schema_purchasing,  # noqa: F401  (and the purchasing tables)
    schema_reports,  # noqa: F401  (and the report summaries)
    schema_returns,  # noqa: F401  (and the returns received at stations)
    schema_transfers,  # noqa: F401  (and the transfer tables)
)
from cloud.db.engine import (
    IN_LIST_CHUNK,
    SUPPORTED_DIALECTS,
    in_chunks,
    make_engine,
    normalize_url,
    write_transaction,
)
from cloud.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    require_current,
)
from cloud.db.schema import (
    APPEND_ONLY_TABLES,
    audit_log,
    metadata,
    shops,
    sku_barcodes,
    skus,
    stations,
    stock_balances,
    stock_moves,
    users,
    warehouses,
)

__all__ = [
    "APPEND_ONLY_TABLES",
    "IN_LIST_CHUNK",
    "SUPPORTED_DIALECTS",
    "alembic_config",
    "audit_log",
    "current_revision",
    "head_revision",
    "in_chunks",
    "make_engine",
    "metadata",
    "migrate",
    "normalize_url",
    "require_current",
    "shops",
    "sku_barcodes",
    "skus",
    "stations",
    "stock_balances",
    "stock_moves",
    "users",
    "warehouses",
    "write_transaction",
]
