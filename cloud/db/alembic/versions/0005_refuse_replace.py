"""append-only tables refuse REPLACE on SQLite

Revision ID: 0005_refuse_replace
Revises: 0004_orders
Create Date: 2026-12-03

On SQLite, ``REPLACE`` / ``INSERT OR REPLACE`` resolves a key conflict by deleting the old
row *without* firing its DELETE trigger (unless the connection set ``PRAGMA
recursive_triggers``), so the append-only triggers of 0001 let a move be rewritten. A
BEFORE INSERT trigger on the key guards it whatever the connection's pragmas:

- ``stock_moves``: an insert of a ``move_id`` that is already there changes nothing
  (``RAISE(IGNORE)``). It cannot abort, because the ingest stores moves with
  ``INSERT ... ON CONFLICT (move_id) DO NOTHING`` (re-delivery is normal) and SQLite runs
  BEFORE INSERT triggers before it resolves the conflict, so the trigger cannot tell that
  insert from a REPLACE; ignoring both keeps the first row, which is what both must do.
- ``audit_log``: an insert onto an existing ``id`` is refused, like UPDATE and DELETE.

PostgreSQL has no REPLACE, and ``INSERT ... ON CONFLICT DO UPDATE`` fires the BEFORE
UPDATE trigger of 0001, so it is refused there already: nothing to do.

The DDL is written out here, so this revision stays what it was. (Alembic's batch mode
rebuilds an SQLite table by copy, drop and rename, dropping its triggers: a migration that
batch-alters one of these tables must create these triggers again, like 0001's.)
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_refuse_replace"
down_revision: str | None = "0004_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = {
    "stock_moves_no_replace": (
        "CREATE TRIGGER stock_moves_no_replace BEFORE INSERT ON stock_moves "
        "WHEN EXISTS (SELECT 1 FROM stock_moves WHERE move_id = NEW.move_id) "
        "BEGIN SELECT RAISE(IGNORE); END"
    ),
    "audit_log_no_replace": (
        "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
        "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
