"""``packline-cloud`` / ``python -m cloud``: the cloud's command line.

    packline-cloud [--db URL] [--lang zh|en] [--debug-sql] COMMAND ...

Commands: ``init-db`` (apply migrations), ``show-stock``, ``history``. Every command has
``--help``. Errors are one line on stderr (``错误 / error: ...``), never a traceback;
exit status 2 for bad arguments, 1 for other failures.

Adding a command: decorate a function with ``@cli.command("name")`` and
``@click.pass_obj`` to receive the :class:`CliContext` (settings, a lazily made engine,
``connect()`` for a migrated database, ``lang``). Raise ``CloudError`` (or a
``click.UsageError``) for failures: :func:`main` turns them into one line.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

import click
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine

from cloud import ledger_store
from cloud import orders_cli as _orders_cli
from cloud.config import CloudSettings
from cloud.db import make_engine, migrate, require_current
from cloud.errors import CloudError, ConfigError, DatabaseUnavailable
from edge.domain.models import MoveReason


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
    def connect(self) -> Iterator[Connection]:
        """A connection in a transaction (committed on success) to an up-to-date database."""
        try:
            with self.engine().begin() as conn:
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


@cli.command("init-db")
@click.pass_obj
def init_db(obj: CliContext) -> None:
    """创建或升级数据库 / Create or upgrade the database (idempotent)."""
    revision = migrate(obj.engine())
    url = obj.engine().url.render_as_string(hide_password=True)
    click.echo(obj.t(f"数据库已是最新版本 {revision}: {url}", f"database at revision {revision}: {url}"))


@cli.command("show-stock")
@click.option("--warehouse", "warehouse_id", metavar="ID", help="只看此仓库 / only this warehouse.")
@click.option("--sku", metavar="SKU", help="只看此 SKU / only this SKU.")
@click.option("--location", metavar="LOC", help="只看此库位 / only this location.")
@click.option("--all", "include_zero", is_flag=True, help="包括零库存 / include zero balances.")
@click.pass_obj
def show_stock(
    obj: CliContext, warehouse_id: str | None, sku: str | None, location: str | None, include_zero: bool
) -> None:
    """显示库存 / Show on-hand stock per warehouse, SKU and location."""
    with obj.connect() as conn:
        rows = ledger_store.balances(
            conn, warehouse_id=warehouse_id, sku=sku, location=location, include_zero=include_zero
        )
    if not rows:
        click.echo(obj.t("没有库存记录", "no stock"))
        return
    headers = [obj.t("仓库", "Warehouse"), "SKU", obj.t("库位", "Location"), obj.t("数量", "Qty")]
    click.echo(render_table(headers, [[b.warehouse_id, b.sku, b.location, str(b.qty)] for b in rows],
                            right_align={3}))


@cli.command("history")
@click.option("--warehouse", "warehouse_id", metavar="ID", help="只看此仓库 / only this warehouse.")
@click.option("--sku", metavar="SKU", help="只看此 SKU / only this SKU.")
@click.option("--location", metavar="LOC", help="只看此库位 / only this location.")
@click.option("--station", "station_id", metavar="ID", help="只看此工作站 / only this station.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10000),
    default=50,
    show_default=True,
    help="最多显示几条 / at most this many moves.",
)
@click.pass_obj
def history(
    obj: CliContext,
    warehouse_id: str | None,
    sku: str | None,
    location: str | None,
    station_id: str | None,
    limit: int,
) -> None:
    """库存流水, 最新在前 / Stock move history, newest first."""
    with obj.connect() as conn:
        moves = ledger_store.move_history(
            conn, warehouse_id=warehouse_id, sku=sku, location=location, station_id=station_id,
            limit=limit,
        )
    if not moves:
        click.echo(obj.t("没有库存流水", "no moves"))
        return
    headers = [
        obj.t("发生时间(UTC)", "Occurred (UTC)"), obj.t("仓库", "Warehouse"), obj.t("工作站", "Station"),
        "SKU", obj.t("库位", "Location"), obj.t("变动", "Delta"), obj.t("结余", "Balance"),
        obj.t("原因", "Reason"), obj.t("单据", "Source"), obj.t("编号", "Move id"),
    ]
    rows = [
        [
            s.move.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), s.move.warehouse_id, s.move.station_id,
            s.move.sku, s.move.location, f"{s.move.qty_delta:+d}", str(s.move.balance_after),
            MoveReason(s.move.reason).label(obj.lang), f"{s.move.source_type}:{s.move.source_id}",
            s.move.move_id,
        ]
        for s in moves
    ]
    click.echo(render_table(headers, rows, right_align={5, 6}))


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


def _register_commands() -> None:
    """Mount the commands defined beside the code they drive."""
    from cloud.catalog_cli import COMMANDS
    from cloud.ingest import ingest_command
    from cloud.marketplaces.fake_server import fake_platform_command

    for command in (*COMMANDS, fake_platform_command, ingest_command):
        cli.add_command(command)


_register_commands()


def _first_line(err: BaseException | None) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _fail(message: str, code: int) -> int:
    click.echo(f"错误 / error: {_first_line(Exception(message))}", err=True)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit status (errors printed as one line)."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="packline-cloud",
                          standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help())
        return 0
    except click.exceptions.Abort:
        return _fail("已取消 / aborted", 1)
    except click.ClickException as err:
        return _fail(err.format_message(), err.exit_code)
    except CloudError as err:
        return _fail(str(err), 2 if isinstance(err, ConfigError) else 1)
    except sa.exc.SQLAlchemyError as err:
        return _fail(f"数据库错误 / database error: {_first_line(getattr(err, 'orig', None) or err)}", 1)
    except KeyboardInterrupt:
        return _fail("已中断 / interrupted", 130)
    return result if isinstance(result, int) else 0


_orders_cli.register(cli, render_table)


def main() -> None:
    """Entry point of ``packline-cloud``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
