"""Dialect-specific DDL the migrations share: the append-only triggers.

A table is made append-only with :func:`append_only_ddl` and freed with
:func:`drop_append_only_ddl`. On SQLite, Alembic's batch mode rebuilds a table by copy,
drop and rename, which drops its triggers: a migration that batch-alters an append-only
table must run ``append_only_ddl`` for it again afterwards.
"""

from __future__ import annotations

APPEND_ONLY_MESSAGE = "{table} is append-only"
"""The error text both engines raise on UPDATE or DELETE of an append-only row."""

_PG_FUNCTION = "packline_refuse_change"


def append_only_ddl(dialect: str, table: str) -> list[str]:
    """Statements that make ``table`` refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)."""
    message = APPEND_ONLY_MESSAGE.format(table=table)
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        ]
    if dialect == "postgresql":
        return [
            # The function is shared by every append-only table; CREATE OR REPLACE is idempotent.
            f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME "
            "USING ERRCODE = 'restrict_violation'; END $$",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()",
        ]
    raise ValueError(f"unsupported dialect {dialect!r}")


def drop_append_only_ddl(dialect: str, table: str) -> list[str]:
    """Statements that undo :func:`append_only_ddl` for ``table`` (the shared function stays)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    raise ValueError(f"unsupported dialect {dialect!r}")


def drop_shared_functions_ddl(dialect: str) -> list[str]:
    """Statements dropping helper functions once no table uses them (PostgreSQL only)."""
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()"]
    return []
