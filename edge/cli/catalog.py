"""``import-catalog`` and ``export-catalog``: the seller's SKU sheet in and out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from edge.cli.common import Command, UserError, friendly, station
from edge.fileio import export_catalog, parse_catalog

_CHUNK = 200
"""SKUs per savepoint while importing (the progress bar moves per chunk)."""


@click.command("import-catalog", cls=Command)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-bad", is_flag=True,
              help="跳过错误行，导入其余行 / import the good rows and skip the bad ones.")
@click.option("--dry-run", is_flag=True, help="只检查不导入 / check the file, import nothing.")
@click.option("--create-locations", is_flag=True,
              help="自动创建文件中未知的默认库位 / create unknown default locations in this "
                   "station's warehouse instead of refusing the rows.")
@click.option("--operator", "operator_id", default="system", show_default=True,
              help="记入审计日志的操作员 / operator recorded in the audit log.")
@click.pass_context
@friendly
def import_catalog_cmd(ctx: click.Context, file: Path, skip_bad: bool, dry_run: bool,
                       create_locations: bool, operator_id: str) -> None:
    """导入商品资料 CSV/XLSX / import a catalog file (all or nothing unless --skip-bad)."""
    with station(ctx) as store:
        db = store.queries.db
        owners = dict(db.execute("SELECT barcode, sku FROM barcodes").fetchall())
        known = {r[0] for r in db.execute("SELECT code FROM locations").fetchall()}
        result = parse_catalog(file, existing_barcodes=owners,
                               known_locations=None if create_locations else known)
        click.echo(f"读取 / read {file.name}: {result.data_lines} 行 rows "
                   f"({result.encoding}), {len(result.rows)} 行有效 valid, "
                   f"{len(result.bad_lines)} 行有错 bad")
        if result.ignored_columns:
            click.echo(f"忽略的列 / ignored columns: {', '.join(result.ignored_columns)}")
        for error in result.errors:
            click.echo(f"  {error}")
        if result.errors and not skip_bad:
            raise UserError(f"{len(result.bad_lines)} 行有错，未导入任何数据（可用 --skip-bad） / "
                            f"{len(result.bad_lines)} bad rows, nothing imported (see --skip-bad)")
        if dry_run:
            click.echo(f"检查完成，未导入 / dry run: {len(result.rows)} SKUs would be imported")
            return
        new_locations = sorted({r.default_location for r in result.rows
                                if r.default_location and r.default_location not in known})
        warehouse_id = store.queries.setting("warehouse_id")
        if new_locations and not warehouse_id:
            raise UserError("工作站未初始化，无法创建库位 / run init before creating locations")
        w = store.writer
        rows: list[dict[str, Any]] = [r.to_store_row() for r in result.rows]
        with w.transaction():
            if new_locations:
                w.upsert_locations([
                    {"code": c, "warehouse_id": warehouse_id, "zone": c.split("-", 1)[0],
                     "bin": c.split("-", 1)[1] if "-" in c else "", "name": ""}
                    for c in new_locations
                ])
            chunks = [rows[i:i + _CHUNK] for i in range(0, len(rows), _CHUNK)]
            if len(chunks) > 1:
                with click.progressbar(chunks, label="导入 / importing", file=sys.stderr,
                                       show_pos=True) as bar:
                    for chunk in bar:
                        w.upsert_skus(chunk)
            else:
                for chunk in chunks:
                    w.upsert_skus(chunk)
            w.audit(operator_id, "catalog.import", file.name, {
                "skus": len(rows), "bad_lines": result.bad_lines,
                "new_locations": new_locations,
            })
    click.echo(f"已导入 {len(rows)} 个商品 / imported {len(rows)} SKUs"
               + (f", 新库位 new locations: {len(new_locations)}" if new_locations else ""))


def catalog_rows(store_db: Any) -> list[dict[str, Any]]:
    """Every SKU as a store-shaped dict with its ``barcodes`` list, ordered by SKU."""
    codes: dict[str, list[tuple[str, int]]] = {}
    for code, sku, units in store_db.execute(
            "SELECT barcode, sku, units FROM barcodes ORDER BY sku, units, barcode").fetchall():
        codes.setdefault(sku, []).append((code, units))
    rows = list(store_db.query("SELECT * FROM skus ORDER BY sku"))
    for row in rows:
        row["barcodes"] = codes.get(row["sku"], [])
    return rows


@click.command("export-catalog", cls=Command)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
@friendly
def export_catalog_cmd(ctx: click.Context, file: Path) -> None:
    """导出商品资料为 CSV/XLSX / export the catalog (format from the file extension)."""
    if file.suffix.lower() not in (".csv", ".xlsx"):
        raise UserError(f"只支持 .csv 或 .xlsx / the file must end in .csv or .xlsx: {file.name}")
    with station(ctx) as store:
        n = export_catalog(catalog_rows(store.queries.db), file)
    click.echo(f"已导出 {n} 个商品 / exported {n} SKUs to {file}")
