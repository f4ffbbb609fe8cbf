"""The cloud's catalog files: import and export, shared by the command line and the web app.

``packline-cloud import-catalog`` / ``export-catalog`` and the web app's 商品 pages call
:func:`import_catalog` and :func:`export_catalog` here, so both give the same row-by-row
report and write the same files. Files are read and written by the station's parser
(:mod:`edge.domain.catalog`), so one spreadsheet works in both places; this module adds
what the cloud database needs on top:

* limits of the cloud's columns and of the wire to the stations (a weight above
  1,000,000 g, a size above 100 m, money above 100 亿元) are row errors, never a failed insert;
* an import is all or nothing unless the caller asks to skip bad rows;
* a cost that an import changes goes to the audit log (``product.cost``, old → new), as an
  edit in the web app does (:func:`record_money_change`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db import in_chunks, schema
from cloud.errors import ConfigError
from cloud.sync.outbound import send_catalog
from edge import fileio
from edge.domain import catalog
from edge.domain.catalog import CatalogRow, RowError
from edge.errors import EdgeError
from edge.sync.schema import CatalogWire, SkuWire

MAX_WEIGHT_G = 1_000_000
"""Heaviest unit weight (grams): what a catalog message to a station may carry (``SkuWire``)."""

MAX_DIMENSION_MM = 100_000
"""Longest side (millimetres)."""

MAX_FEN = 10_000_000_000 * 100
"""Largest cost or price (fen): 100 亿元."""


def yuan(fen: int | None) -> str:
    """Fen as a yuan amount for the audit log: ``1250`` → ``12.50``; ``None`` → ``""``."""
    return "" if fen is None else str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def record_money_change(conn: Connection, now: datetime, actor: str, sku: str, what: str,
                        old: int | None, new: int | None, via: str) -> None:
    """Audit a cost or price change (``what`` is ``cost`` or ``price``) as old → new yuan;
    nothing when it did not change."""
    if old != new:
        audit.record(conn, now, actor, f"product.{what}", sku,
                     {"from": yuan(old), "to": yuan(new), "via": via})


def barcode_owners(conn: Connection) -> dict[str, str]:
    """Every barcode in the catalog → its SKU."""
    return {b: s for b, s in conn.execute(
        sa.select(schema.sku_barcodes.c.barcode, schema.sku_barcodes.c.sku))}


def upsert_skus(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or update SKUs (``skus`` columns) and replace each row's barcodes if given;
    every SKU written gets one more ``catalog_version`` (what the stations go by, see
    :func:`send_to_stations`).

    Written in chunks with one statement per kind of write (a 20,000-row catalog is two
    orders of magnitude fewer round trips than row by row). A SKU given twice is written
    as if its rows were applied in order."""
    columns = {c.name for c in schema.skus.columns}
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        merged[row["sku"]] = {**merged.get(row["sku"], {}), **row}
    rows = list(merged.values())
    for chunk in in_chunks(rows):
        codes = [r["sku"] for r in chunk]
        existing = set(conn.execute(sa.select(schema.skus.c.sku).where(
            schema.skus.c.sku.in_(codes))).scalars())
        inserts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in chunk:
            record = {k: v for k, v in row.items() if k in columns and k != "catalog_version"}
            target = updates if row["sku"] in existing else inserts
            target.setdefault(tuple(sorted(record)), []).append(record)
        for records in inserts.values():
            conn.execute(schema.skus.insert(), records)
        for keys, records in updates.items():
            values: dict[str, Any] = {k: sa.bindparam(f"v_{k}") for k in keys if k != "sku"}
            values["catalog_version"] = schema.skus.c.catalog_version + 1
            conn.execute(schema.skus.update().where(
                schema.skus.c.sku == sa.bindparam("v_sku")).values(values),
                [{f"v_{k}": v for k, v in r.items()} for r in records])
        coded = [r for r in chunk if "barcodes" in r]
        if coded:
            conn.execute(schema.sku_barcodes.delete().where(
                schema.sku_barcodes.c.sku.in_([r["sku"] for r in coded])))
            barcodes = [{"barcode": code, "sku": r["sku"], "units_per_scan": units}
                        for r in coded for code, units in r["barcodes"] or []]
            if barcodes:
                conn.execute(schema.sku_barcodes.insert(), barcodes)


SKUS_PER_MESSAGE = 500
"""Most SKUs in one ``catalog`` down-message: with up to 100 barcodes each that stays well
under the broker's message size, and a station applies one in a short transaction."""


def send_to_stations(conn: Connection, codes: Sequence[str], *, now: datetime) -> int:
    """Queue the current state of the given SKUs (names, spec, weight, size, active, barcodes,
    a kit's components, version) as ``catalog`` down-messages for every station that is not revoked, in the
    caller's transaction: an edit commits with its message or not at all. Returns how many
    messages were queued. SKUs are the same in every warehouse, so every station gets them."""
    codes = sorted(set(codes))
    targets = list(conn.execute(sa.select(schema.stations.c.id).where(
        schema.stations.c.status != "revoked").order_by(schema.stations.c.id)).scalars())
    if not codes or not targets:
        return 0
    wires: list[SkuWire] = []
    for chunk in in_chunks(codes):
        barcodes: dict[str, list[tuple[str, int]]] = {}
        parts: dict[str, list[tuple[str, int]]] = {}
        k = schema.kit_components.c
        for kit, comp, qty in conn.execute(sa.select(k.kit_sku, k.component_sku, k.qty).where(
                k.kit_sku.in_(chunk)).order_by(k.kit_sku, k.component_sku)):
            parts.setdefault(kit, []).append((comp, int(qty)))
        for b in conn.execute(sa.select(schema.sku_barcodes).where(
                schema.sku_barcodes.c.sku.in_(chunk)).order_by(schema.sku_barcodes.c.barcode)):
            barcodes.setdefault(b.sku, []).append((b.barcode, b.units_per_scan))
        for r in conn.execute(sa.select(schema.skus).where(schema.skus.c.sku.in_(chunk))
                              .order_by(schema.skus.c.sku)):
            wires.append(SkuWire(
                sku=r.sku, name_zh=r.name_zh, name_en=r.name_en, spec=r.spec or "",
                unit_weight_g=r.unit_weight_g or 0, length_mm=r.length_mm, width_mm=r.width_mm,
                height_mm=r.height_mm, active=r.active, barcodes=barcodes.get(r.sku, []),
                version=r.catalog_version, components=parts.get(r.sku, [])))
    sent = 0
    for start in range(0, len(wires), SKUS_PER_MESSAGE):
        sent += len(send_catalog(conn, targets, CatalogWire(
            skus=wires[start:start + SKUS_PER_MESSAGE]), now=now))
    return sent


def _header(name: str) -> str:
    return dict(catalog.COLUMNS)[name]


def range_errors(row: CatalogRow) -> list[RowError]:
    """What of a valid catalog row the cloud cannot store or send to a station."""
    out: list[RowError] = []
    if row.unit_weight_g > MAX_WEIGHT_G:
        out.append(RowError(row.line, _header("unit_weight_g"),
                            f"重量超出范围 (最多 {MAX_WEIGHT_G:,} g): {row.unit_weight_g} / "
                            f"weight out of range ({MAX_WEIGHT_G:,} g at most): {row.unit_weight_g}"))
    for name, zh, en in (("length_mm", "长", "length"), ("width_mm", "宽", "width"),
                         ("height_mm", "高", "height")):
        value = getattr(row, name)
        if value is not None and value > MAX_DIMENSION_MM:
            out.append(RowError(row.line, _header(name),
                                f"{zh}超出范围 (最多 {MAX_DIMENSION_MM:,} mm): {value} / "
                                f"{en} out of range ({MAX_DIMENSION_MM:,} mm at most): {value}"))
    if row.cost_fen is not None and row.cost_fen > MAX_FEN:
        out.append(RowError(row.line, _header("cost"),
                            f"成本价超出范围 (最多 {yuan(MAX_FEN)} 元): {yuan(row.cost_fen)} / "
                            f"cost out of range ({yuan(MAX_FEN)} yuan at most): {yuan(row.cost_fen)}"))
    return out


@dataclass(slots=True)
class ImportReport:
    """What an import found and did."""

    file_name: str
    """The file's name (for messages and the audit log)."""
    data_lines: int = 0
    """Non-blank data rows in the file."""
    good_rows: int = 0
    """Rows without an error."""
    errors: list[RowError] = field(default_factory=list)
    """Every problem, by line (a bad row may have several)."""
    ignored_columns: list[str] = field(default_factory=list)
    """Headers that matched no catalog field."""
    imported: int = 0
    """SKUs written: 0 when refused (bad rows, not skipped) or only checked."""
    cost_changes: int = 0
    """Existing SKUs whose cost the import changed (each in the audit log)."""

    @property
    def bad_lines(self) -> list[int]:
        """Lines with at least one error, ascending."""
        return sorted({e.line for e in self.errors})


def import_catalog(conn: Connection, path: str | Path, *, actor: str, now: datetime,
                   skip_bad: bool = False, dry_run: bool = False,
                   file_name: str | None = None) -> ImportReport:
    """Check a catalog file (CSV or XLSX) and, when every row is good (or ``skip_bad``),
    write its rows in the caller's transaction, with one ``catalog.import`` audit entry
    and a ``product.cost`` entry per changed cost. A file with bad rows writes nothing
    unless ``skip_bad``; ``dry_run`` only checks. Raises :class:`ConfigError` when the
    file itself cannot be read (encoding, format, no SKU or name column)."""
    name = file_name or Path(path).name
    try:
        result = fileio.parse_catalog(path, existing_barcodes=barcode_owners(conn))
    except EdgeError as err:
        raise ConfigError(str(err)) from err
    errors = list(result.errors)
    good: list[CatalogRow] = []
    for row in result.rows:
        problems = range_errors(row)
        errors += problems
        if not problems:
            good.append(row)
    errors.sort(key=lambda e: e.line)
    report = ImportReport(file_name=name, data_lines=result.data_lines, good_rows=len(good),
                          errors=errors, ignored_columns=list(result.ignored_columns))
    if dry_run or (errors and not skip_bad) or not good:
        return report
    rows = [r.to_store_row() for r in good]
    old_costs = _costs(conn, [r["sku"] for r in rows if "cost_fen" in r])
    upsert_skus(conn, rows)
    send_to_stations(conn, [r["sku"] for r in rows], now=now)
    for r in rows:
        if "cost_fen" in r and r["sku"] in old_costs:
            before = old_costs[r["sku"]]
            if before != r["cost_fen"]:
                record_money_change(conn, now, actor, r["sku"], "cost", before, r["cost_fen"],
                                    "import")
                report.cost_changes += 1
    report.imported = len(rows)
    audit.record(conn, now, actor, "catalog.import", name,
                 {"rows": len(rows), "skipped": len(report.bad_lines)})
    return report


def _costs(conn: Connection, skus: list[str]) -> dict[str, int | None]:
    """SKU → cost of the given SKUs already in the catalog."""
    out: dict[str, int | None] = {}
    for chunk in in_chunks(skus):
        for sku, cost in conn.execute(sa.select(schema.skus.c.sku, schema.skus.c.cost_fen)
                                      .where(schema.skus.c.sku.in_(chunk))):
            out[sku] = cost
    return out


def catalog_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every SKU as a store row with its barcodes (what :func:`export_catalog` writes), by SKU."""
    codes: dict[str, list[tuple[str, int]]] = {}
    for b, s, u in conn.execute(sa.select(schema.sku_barcodes.c.barcode, schema.sku_barcodes.c.sku,
                                          schema.sku_barcodes.c.units_per_scan)):
        codes.setdefault(s, []).append((b, u))
    return [
        {**dict(r), "barcodes": sorted(codes.get(r["sku"], []))}
        for r in conn.execute(sa.select(schema.skus).order_by(schema.skus.c.sku)).mappings()
    ]


def export_catalog(conn: Connection, path: str | Path) -> int:
    """Write every SKU to ``path`` (``.csv`` or ``.xlsx``, cells never formulas); the count."""
    if Path(path).suffix.lower() not in (".csv", ".xlsx"):
        raise ConfigError("文件须为 .csv 或 .xlsx / the file must end in .csv or .xlsx")
    return fileio.export_catalog(catalog_rows(conn), path)
