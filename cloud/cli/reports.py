"""Report commands: ``reports rebuild`` recomputes the sales, fulfilment and profit summaries
and the units shipped per day from the source tables (after an upgrade to 0028, or to check the incremental ones)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from cloud import ledger_store
from cloud.cli.base import CliContext, cli
from cloud.db import write_transaction
from cloud.reports import fulfilment, profit, summaries


@cli.group("reports")
def reports() -> None:
    """报表 / Reports."""


@reports.command("rebuild")
@click.pass_obj
def rebuild(obj: CliContext) -> None:
    """从订单、退款和发货重算报表汇总 / Recompute the report summaries from orders, refunds and
    shipments."""
    started = datetime.now(UTC)

    def progress(done: int, total: int) -> None:
        click.echo(obj.t(f"已处理 {done}/{total} 个订单", f"{done}/{total} orders"), err=True)

    with write_transaction(obj.engine()) as conn:
        n = summaries.rebuild(conn, now=started, progress=progress)
        parcels = fulfilment.rebuild(conn)
        profit.rebuild(conn, now=started)  # from the kept ship costs: those are not rebuilt
        ledger_store.rebuild_shipped(conn)
    seconds = (datetime.now(UTC) - started).total_seconds()
    click.echo(obj.t(f"报表汇总已重算: {n} 个订单, {parcels} 个包裹, 用时 {seconds:.1f} 秒",
                     f"report summaries rebuilt: {n} orders, {parcels} parcels in "
                     f"{seconds:.1f} s"))
