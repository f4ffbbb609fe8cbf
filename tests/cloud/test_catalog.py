"""cloud.catalog.upsert_skus on both engines: partial rows, barcodes replaced, repeats."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.catalog import upsert_skus
from cloud.db.schema import sku_barcodes, skus


def state(engine: Engine) -> dict[str, tuple[object, ...]]:
    with engine.begin() as conn:
        codes: dict[str, list[tuple[str, int]]] = {}
        for code, sku, units in conn.execute(sa.select(sku_barcodes).order_by(sku_barcodes.c.barcode)):
            codes.setdefault(sku, []).append((code, units))
        return {r.sku: (r.name_zh, r.spec, r.cost_fen, codes.get(r.sku, []))
                for r in conn.execute(sa.select(skus).order_by(skus.c.sku))}


def test_rows_update_only_their_fields_and_replace_barcodes(cloud_engine: Engine) -> None:
    with cloud_engine.begin() as conn:
        upsert_skus(conn, [
            {"sku": "A", "name_zh": "甲", "cost_fen": 100, "barcodes": [("X1", 1), ("X12", 12)]},
            {"sku": "B", "name_zh": "乙", "spec": "大"}])
    assert state(cloud_engine) == {"A": ("甲", None, 100, [("X1", 1), ("X12", 12)]),
                                   "B": ("乙", "大", None, [])}
    with cloud_engine.begin() as conn:
        upsert_skus(conn, [
            {"sku": "A", "name_zh": "甲", "spec": "小"},          # barcodes and cost untouched
            {"sku": "B", "name_zh": "乙", "barcodes": [("X1", 1)]},  # takes X1 ...
            {"sku": "A", "name_zh": "甲二", "barcodes": [("Y", 1)]},  # ... which A gives up
            {"sku": "C", "name_zh": "丙"}])
    assert state(cloud_engine) == {"A": ("甲二", "小", 100, [("Y", 1)]),
                                   "B": ("乙", "大", None, [("X1", 1)]),
                                   "C": ("丙", None, None, [])}


def test_more_rows_than_one_chunk(cloud_engine: Engine) -> None:
    rows = [{"sku": f"S-{n:04d}", "name_zh": f"品{n}", "barcodes": [(f"B{n}", 1)]} for n in range(1203)]
    with cloud_engine.begin() as conn:
        upsert_skus(conn, rows)
        upsert_skus(conn, [{"sku": f"S-{n:04d}", "cost_fen": n} for n in range(0, 1203, 2)])
    got = state(cloud_engine)
    assert len(got) == 1203
    assert got["S-0000"] == ("品0", None, 0, [("B0", 1)])
    assert got["S-1201"] == ("品1201", None, None, [("B1201", 1)])
    assert got["S-1202"] == ("品1202", None, 1202, [("B1202", 1)])
