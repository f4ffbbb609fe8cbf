"""``packline-cloud`` / ``python -m cloud``: the cloud's command line.

    packline-cloud [--db URL] [--lang zh|en] [--debug-sql] COMMAND ...

Every command has ``--help``. Errors are one line on stderr (``错误 / error: ...``), never a
traceback; exit status 2 for bad arguments, 1 for other failures.

One way to add a command: see :mod:`cloud.cli.base`. The command modules, one per area:
:mod:`~cloud.cli.stock` (database, stock), :mod:`~cloud.cli.catalog` (catalog, adjustments,
demo data), :mod:`~cloud.cli.orders` (shops, mappings, orders, worker), :mod:`~cloud.cli.sync`
(ingest), :mod:`~cloud.cli.platform` (fake marketplaces), :mod:`~cloud.cli.users` (web
users), :mod:`~cloud.cli.reports` (report summaries) and :mod:`~cloud.cli.web` (``serve``, the web app).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
import sqlalchemy as sa

from cloud.cli import catalog, orders, platform, reports, stations, stock, sync, users, web
from cloud.cli.base import CliContext, _first_line, cli, render_table
from cloud.errors import CloudError, ConfigError, InputError

COMMAND_MODULES = (stock, catalog, orders, sync, platform, users, web, stations, reports)
"""Imported for their ``@cli.command`` registrations."""

__all__ = ["COMMAND_MODULES", "CliContext", "cli", "main", "render_table", "run"]


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
        return _fail(str(err), 2 if isinstance(err, ConfigError | InputError) else 1)
    except sa.exc.SQLAlchemyError as err:
        return _fail(f"数据库错误 / database error: {_first_line(getattr(err, 'orig', None) or err)}", 1)
    except KeyboardInterrupt:
        return _fail("已中断 / interrupted", 130)
    return result if isinstance(result, int) else 0


def main() -> None:
    """Entry point of ``packline-cloud``."""
    sys.exit(run())
