"""The station's ``receive`` command behaves as before the kiosk's receiving screen: it
lists open orders, writes one RECEIVE move per call with no note, refuses an over-receipt
without ``--over`` and audits it (without a reason) with it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from edge.store import open_store
from tests.edge.cli.conftest import Run


def sql(db: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def test_receive_command_unchanged(seeded: Run, db: Path) -> None:
    sku, loc = sql(db, "SELECT sku, location FROM balances ORDER BY sku LIMIT 1")[0]
    store = open_store(db)
    store.writer.upsert_purchase_order(
        {"po_id": "CG-9", "supplier": "义乌小商品", "warehouse_id": "WH1", "status": "open"},
        [{"line_no": 1, "sku": sku, "qty_ordered": 5}])
    store.close()
    listed = seeded("receive")
    assert listed.exit_code == 0 and "CG-9" in listed.output and "义乌小商品" in listed.output
    ok = seeded("receive", "CG-9", "--line", "1", "--qty", "3", "--location", str(loc),
                "--operator", "L01")
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"已收货 / received {sku} × 3 @ {loc}")
    over = seeded("receive", "CG-9", "--line", "1", "--qty", "3", "--location", str(loc),
                  "--operator", "L01")
    assert over.exit_code == 1 and "超收: 第 1 行还剩 2 件" in over.stderr
    allowed = seeded("receive", "CG-9", "--line", "1", "--qty", "3", "--location", str(loc),
                     "--operator", "L01", "--over")
    assert allowed.exit_code == 0, allowed.output
    assert sql(db, "SELECT qty_delta, reason, source_type, source_line, note FROM stock_moves "
                   "WHERE source_id = 'CG-9' ORDER BY seq") == [(3, 10, "po", "1", None),
                                                                (3, 10, "po", "1", None)]
    assert sql(db, "SELECT qty_received FROM purchase_order_lines WHERE po_id = 'CG-9'") == [(6,)]
    ((detail,),) = sql(db, "SELECT detail FROM audit_log WHERE action = 'po.over_receipt'")
    assert set(json.loads(str(detail))) == {"line_no", "ordered", "received", "move_id"}
