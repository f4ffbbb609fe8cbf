"""Database and stock commands: ``init-db``, ``show-stock``, ``history``."""

from __future__ import annotations

import click

from cloud import ledger_store
from cloud.cli.base import CliContext, cli, render_table
from cloud.db import migrate
from edge.domain.models import MoveReason


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
