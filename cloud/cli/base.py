"""What every ``packline-cloud`` command shares: the group, its context and the table renderer.

Adding a command: in a module of ``cloud/cli/`` (one per area), decorate a function with
``@cli.command("name")`` (or ``@cli.group``) and ``@click.pass_obj`` to receive the
:class:`CliContext`; list the module in ``cloud/cli/__init__.py``. Raise ``CloudError`` (or a
``click.UsageError``) for failures: :func:`cloud.cli.run` turns them into one line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

import click
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine

from cloud.config import CloudSettings
from cloud.db import make_engine, require_current, write_transaction
from cloud.errors import ConfigError, DatabaseUnavailable


class CliContext:
    """What every command receives: settings, language and the database."""

    def __init__(self, settings: CloudSettings, lang: str) -> None:
        self.settings = settings
        """Settings from the environment, with command-line overrides applied."""
        self.lang = lang
        """``zh`` or ``en`` for labels and headers."""
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        """The engine for ``settings.database_url``, made on first use and disposed at exit."""
        if self._engine is None:
            s = self.settings
            self._engine = make_engine(
                s.database_url,
                echo=s.echo_sql,
                sqlite_busy_timeout_ms=s.sqlite_busy_timeout_ms,
                pool_size=s.db_pool_size,
            )
        return self._engine

    @contextmanager
    def connect(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction (committed on success) to an up-to-date database.

        ``write=True`` for a command that writes: the transaction takes SQLite's write lock
        up front (``write_transaction``, ``BEGIN IMMEDIATE``), so a read-then-write beside a
        running ingest or worker waits its turn instead of failing half-way with "database
        is locked". Read-only commands keep a plain transaction and never block a writer."""
        try:
            with (write_transaction(self.engine()) if write
                  else self.engine().begin()) as conn:
                require_current(conn)
                yield conn
        except sa.exc.OperationalError as err:
            raise DatabaseUnavailable(
                f"无法连接数据库 / cannot open database "
                f"{self.engine().url.render_as_string(hide_password=True)}: {_first_line(err.orig)}"
            ) from err

    def t(self, zh: str, en: str) -> str:
        """Pick the text for the current language."""
        return zh if self.lang == "zh" else en

    def close(self) -> None:
        """Dispose of the engine if one was made."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="数据库地址 / database URL (sqlite:///path or postgresql+psycopg://...); "
    "default: $PACKLINE_CLOUD_DATABASE_URL, else cloud.db in the data dir.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    envvar="PACKLINE_LANG",
    help="界面语言 / output language.",
)
@click.option("--debug-sql", is_flag=True, help="打印每条 SQL / log every SQL statement.")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, lang: str, debug_sql: bool) -> None:
    """Packline 云端 / Packline cloud service."""
    overrides: dict[str, object] = {}
    if db_url is not None:
        if not db_url.strip():
            raise click.BadParameter("不能为空 / must not be empty", param_hint="'--db'")
        overrides["database_url"] = db_url
    if debug_sql:
        overrides["echo_sql"] = True
    try:
        settings = CloudSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(f"配置错误 / bad setting {where}: {problem['msg']}") from err
    obj = CliContext(settings, lang)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right_align: Collection[int] = ()
) -> str:
    """A plain-text table, columns padded by display width (CJK counts double)."""
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - _width(cell))
            out.append(pad + cell if i in right_align else cell + pad)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])



def _first_line(err: BaseException | None) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
