"""Report commands: ``reports rebuild`` recomputes the sales summaries from the source tables
(after an upgrade to 0028, or to check the incremental ones)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from cloud.cli.base import CliContext, cli
from cloud.db import write_transaction
from cloud.reports import summaries


@cli.group("reports")
def reports() -> None:
    """报表 / Reports."""


@reports.command("rebuild")
@click.pass_obj
def rebuild(obj: CliContext) -> None:
    """从订单和退款重算销售汇总 / Recompute the sales summaries from orders and refunds."""
    started = datetime.now(UTC)

    def progress(done: int, total: int) -> None:
        click.echo(obj.t(f"已处理 {done}/{total} 个订单", f"{done}/{total} orders"), err=True)

    with write_transaction(obj.engine()) as conn:
        n = summaries.rebuild(conn, now=started, progress=progress)
    seconds = (datetime.now(UTC) - started).total_seconds()
    click.echo(obj.t(f"销售汇总已重算: {n} 个订单, 用时 {seconds:.1f} 秒",
                     f"sales summaries rebuilt: {n} orders in {seconds:.1f} s"))
