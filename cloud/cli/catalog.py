"""Cloud commands for the catalog, manual adjustments and demo data.

``import-catalog`` / ``export-catalog`` call :mod:`cloud.catalog` (as the web app's 商品 pages
do), which reads and writes files with the station's parser, so the same spreadsheet works
everywhere; ``adjust`` records a cloud-side correction as a
move with a reason, operator and audit entry, relayed to the warehouse's stations; ``seed-demo`` fills an empty cloud with the same
demo seller the station's ``seed-demo`` creates (same opening-move ids, so sync applies them once).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa

from cloud import catalog as cloud_catalog
from cloud import ledger_store, stock
from cloud.cli.base import CliContext, cli
from cloud.db import schema
from cloud.errors import CloudError, ConfigError
from edge.domain import demo
from edge.domain.models import Move, MoveReason


@cli.command("import-catalog")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="跳过错误行, 导入其余 / import the good rows, skip bad ones.")
@click.option("--dry-run", is_flag=True, help="只检查不导入 / check only, import nothing.")
@click.pass_obj
def import_catalog(obj: CliContext, file: Path, skip_bad: bool, dry_run: bool) -> None:
    """导入商品资料 (CSV/XLSX) / Import the catalog from CSV or XLSX (all or nothing)."""
    with obj.connect(write=True) as conn:
        report = cloud_catalog.import_catalog(conn, file, actor="cli", now=datetime.now(UTC),
                                              skip_bad=skip_bad, dry_run=dry_run)
        for e in report.errors:
            click.echo(str(e), err=True)
        if report.errors and not skip_bad:
            raise CloudError(
                f"{len(report.bad_lines)} 行有错误, 未导入任何数据 (可用 --skip-bad) / "
                f"{len(report.bad_lines)} bad rows, nothing imported (see --skip-bad)"
            )
        if dry_run:
            click.echo(obj.t(f"检查完毕: {report.good_rows} 行可导入",
                             f"checked: {report.good_rows} rows importable"))
            return
    click.echo(obj.t(f"已导入 {report.imported} 个商品", f"imported {report.imported} SKUs")
               + (obj.t(f", 跳过 {len(report.bad_lines)} 行", f", skipped {len(report.bad_lines)} rows")
                  if report.bad_lines else ""))


@cli.command("export-catalog")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export_catalog(obj: CliContext, file: Path) -> None:
    """导出商品资料 (.csv/.xlsx) / Export the catalog as CSV or XLSX."""
    if file.suffix.lower() not in (".csv", ".xlsx"):
        raise ConfigError("文件须为 .csv 或 .xlsx / the file must end in .csv or .xlsx")
    with obj.connect() as conn:
        n = cloud_catalog.export_catalog(conn, file)
    click.echo(obj.t(f"已导出 {n} 个商品到 {file}", f"exported {n} SKUs to {file}"))


@cli.command("adjust")
@click.option("--warehouse", "warehouse_id", required=True, metavar="ID", help="仓库 / warehouse.")
@click.option("--sku", required=True, help="商品编码 / SKU.")
@click.option("--location", required=True, help="库位 / location.")
@click.option("--qty", type=int, required=True, help="数量变动 ±N / signed quantity change.")
@click.option("--reason", required=True, help="调整原因 (必填) / why (required).")
@click.option("--operator", required=True, help="操作人 / who is adjusting.")
@click.pass_obj
def adjust(obj: CliContext, warehouse_id: str, sku: str, location: str, qty: int, reason: str,
           operator: str) -> None:
    """手工调整库存 (记录原因与审计) / Record a manual stock adjustment (reason, audit log)."""
    with obj.connect(write=True) as conn:
        move = stock.adjust(conn, warehouse_id=warehouse_id, sku=sku, location=location,
                            qty_delta=qty, note=reason, actor=operator, now=datetime.now(UTC))
    click.echo(obj.t(f"已调整 {sku}@{location} {qty:+d}, 结余 {move.balance_after} (记录 {move.move_id})",
                     f"adjusted {sku} at {location} by {qty:+d}, balance {move.balance_after} (move {move.move_id})"))


@cli.command("seed-demo")
@click.option("--seed", type=int, default=7, show_default=True, help="随机种子 / random seed.")
@click.option("--station", "station_id", default="ST1", show_default=True, help="工作站 / station id.")
@click.option("--warehouse", "warehouse_id", default="WH1", show_default=True, help="仓库 / warehouse id.")
@click.pass_obj
def seed_demo(obj: CliContext, seed: int, station_id: str, warehouse_id: str) -> None:
    """导入演示数据 / Seed demo data: warehouse, station, ~200 SKUs, opening stock."""
    data = demo.generate(seed, orders=0, warehouse_id=warehouse_id)
    now = datetime.now(UTC)
    with obj.connect(write=True) as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(schema.skus)).scalar_one():
            existing = conn.execute(sa.select(schema.warehouses.c.id).where(
                schema.warehouses.c.id == warehouse_id)).first()
            if existing:
                click.echo(obj.t("演示数据已存在, 无需操作", "demo data already present: nothing to do"))
                return
            raise CloudError("商品资料不为空, 不能导入演示数据 / the catalog is not empty: refusing to seed demo data")
        wh = data.warehouse
        conn.execute(schema.warehouses.insert().values(id=wh["warehouse_id"], name=wh["name"],
                                                       negative_stock_policy=wh["policy"]))
        conn.execute(schema.stations.insert().values(id=station_id, warehouse_id=warehouse_id,
                                                     name=f"打包台 {station_id}", status="pending",
                                                     created_at=now))
        cloud_catalog.upsert_skus(conn, data.skus)
        moves = [
            Move(move_id=demo.opening_move_id(seed, warehouse_id, sku, loc), sku=sku, location=loc,
                 qty_delta=qty, balance_after=qty, reason=MoveReason.RECEIVE, source_type="opening",
                 source_id=f"demo-{seed}", source_line=str(n), operator_id="system",
                 station_id=station_id, device_id=None, occurred_at=now, recorded_at=now,
                 note="期初库存 / opening stock", warehouse_id=warehouse_id)
            for n, (sku, loc, qty) in enumerate(data.stock, start=1)
        ]
        ledger_store.insert_moves(conn, moves, received_at=now)
        conn.execute(schema.audit_log.insert().values(
            at=now, actor="system", action="demo.seed", subject=str(seed),
            detail={"skus": len(data.skus), "moves": len(moves), "warehouse_id": warehouse_id}))
    click.echo(obj.t(f"演示数据已导入: {len(data.skus)} 个商品, {len(moves)} 条期初库存",
                     f"demo data seeded: {len(data.skus)} SKUs, {len(moves)} opening-stock moves"))
