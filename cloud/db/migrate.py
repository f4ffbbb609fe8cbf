"""Run the Alembic migrations shipped in ``cloud/db/alembic`` without an ``alembic.ini``.

>>> migrate("sqlite:///var/cloud/cloud.db")      # doctest: +SKIP
'0001_foundation'

Every migration is a named, incremental revision (``0001_foundation``, ``0002_...``);
:func:`migrate` applies all pending ones in one transaction on the given engine.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection, Engine

from cloud.db.engine import make_engine
from cloud.errors import DatabaseUnavailable, MigrationError, SchemaNotCurrent

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
"""The Alembic environment and ``versions/`` shipped inside the package."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts, optionally bound to ``connection``.

    Useful for developers, e.g. ``alembic.command.history(alembic_config())``.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    return MigrationContext.configure(conn).get_current_revision()


def require_current(conn: Connection) -> None:
    """Raise :class:`SchemaNotCurrent` unless the database is at :func:`head_revision`."""
    current, head = current_revision(conn), head_revision()
    if current != head:
        raise SchemaNotCurrent(current, head)


def migrate(engine_or_url: Engine | str | URL, revision: str = "head") -> str:
    """Upgrade the database to ``revision`` (default: the newest) and return where it is now.

    Takes an engine, or a URL (an engine is made with :func:`~cloud.db.engine.make_engine`
    and disposed afterwards). Already-applied revisions are skipped, so it is safe to run
    at every start. All pending revisions run in one transaction (transactional DDL on
    both engines): on failure nothing is applied and :class:`MigrationError` is raised.
    """
    owned = not isinstance(engine_or_url, Engine)
    engine = make_engine(engine_or_url) if not isinstance(engine_or_url, Engine) else engine_or_url
    try:
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), revision)
                now = current_revision(conn)
        except sa.exc.OperationalError as err:
            raise DatabaseUnavailable(
                f"无法连接数据库 / cannot open database {engine.url.render_as_string(hide_password=True)}: "
                f"{_first_line(err.orig)}"
            ) from err
        except (sa.exc.SQLAlchemyError, CommandError) as err:
            raise MigrationError(f"数据库迁移失败 / migration failed: {_first_line(err)}") from err
    finally:
        if owned:
            engine.dispose()
    assert now is not None
    return now


def _first_line(err: BaseException | None) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
