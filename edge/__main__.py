"""``packline-edge`` / ``python -m edge``: the station's command line.

Commands live beside the code they drive and are mounted here lazily, so ``--help`` is fast
and a command whose optional libraries are missing fails with one clear line.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from edge.errors import EdgeError

COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (module, attribute, one-line help shown in the command list)
    "init": ("edge.cli.station", "init_cmd", "创建工作站数据库 / create the station database"),
    "seed-demo": ("edge.cli.station", "seed_demo_cmd", "导入演示数据 / load demo data"),
    "check": ("edge.cli.station", "check_cmd", "核对库存与流水 / verify balances vs moves"),
    "import-catalog": ("edge.cli.catalog", "import_catalog_cmd",
                       "导入商品资料 / import a catalog CSV/XLSX"),
    "export-catalog": ("edge.cli.catalog", "export_catalog_cmd",
                       "导出商品资料 / export the catalog"),
    "stock": ("edge.cli.stock", "stock_cmd", "库存余额 / on-hand stock"),
    "history": ("edge.cli.stock", "history_cmd", "库存流水 / stock move history"),
    "adjust": ("edge.cli.stock", "adjust_cmd", "手工调整库存 / manual adjustment"),
    "reverse": ("edge.cli.stock", "reverse_cmd", "冲销流水 / reverse a move"),
    "receive": ("edge.cli.stock", "receive_cmd", "采购收货 / receive against a purchase order"),
    "transfer-ship": ("edge.cli.transfers", "transfer_ship_cmd", "调拨出库 / ship a transfer"),
    "transfer-receive": ("edge.cli.transfers", "transfer_receive_cmd",
                         "调拨入库 / receive a transfer"),
    "backup": ("edge.backup.cli", "backup_group", "备份到 S3 / replicate the database (litestream layout)"),
    "restore": ("edge.backup.cli", "restore_command", "从备份恢复 / restore from the replica"),
    "kiosk": ("edge.ui.cli", "kiosk", "启动打包工作站界面 / start the kiosk"),
    "sync": ("edge.sync.daemon", "sync_command", "同步守护进程 / sync daemon (outbox ⇄ cloud over MQTT)"),
}
"""Lazily imported subcommands: name → (module, click command attribute, short help)."""


def register(name: str, module: str, attr: str, help_text: str) -> None:
    COMMANDS[name] = (module, attr, help_text)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, attr, _ = COMMANDS[cmd_name]
            try:
                cmd = getattr(importlib.import_module(module), attr)
            except ImportError as err:
                raise click.ClickException(
                    f"命令 {cmd_name} 缺少依赖 / command {cmd_name} needs a missing library: {err.name}"
                ) from err
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        rows += [(n, c.get_short_help_str()) for n, c in sorted(self.commands.items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


def default_db() -> Path:
    import os

    home = Path(os.environ.get("PACKLINE_HOME", Path.home() / ".local/share/packline"))
    return home / "edge.db"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Station database file (default: $PACKLINE_HOME/edge.db).")
@click.option("--debug-sql", is_flag=True, help="Print every SQL statement.")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None, debug_sql: bool) -> None:
    """Packline 打包工作站 / packing station."""
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path or default_db()
    ctx.obj["debug_sql"] = debug_sql


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors are one line on stderr and exit 1, never a traceback."""
    try:
        cli.main(args=argv, prog_name="packline-edge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消 / aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except EdgeError as err:
        click.echo(f"错误 / error: {err}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        # output piped into ``head`` and closed early: not an error for the user
        sys.stderr.close()
        sys.exit(0)
    except OSError as err:
        click.echo(f"错误 / error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
