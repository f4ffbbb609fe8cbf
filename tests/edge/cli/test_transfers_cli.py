"""``transfer-ship`` / ``transfer-receive`` on a demo station (WH1): listing the open
transfers, shipping with the move's new balance, refusals as one bilingual line."""

from __future__ import annotations

from pathlib import Path

from edge.store import open_store
from edge.sync.inbox import apply_transfer
from edge.sync.schema import TransferWire
from tests.edge.cli.conftest import Run


def _transfer(db: Path, from_wh: str, to_wh: str, shipped: int = 0) -> None:
    store = open_store(db)
    store.writer.upsert_warehouse("WH2", "义乌仓")
    store.writer.upsert_locations([{"code": "Y-01", "warehouse_id": "WH2", "zone": "Y",
                                    "bin": "01", "name": ""}])
    apply_transfer(store.writer, TransferWire.model_validate({
        "transfer_id": "TR20261204-001", "from_warehouse": from_wh, "to_warehouse": to_wh,
        "lines": [{"line_no": 1, "sku": "CF001-350", "qty": 50, "qty_shipped": shipped}]}))
    store.close()


def test_ship_lists_then_ships_and_refuses_too_many(seeded: Run, db: Path) -> None:
    _transfer(db, "WH1", "WH2")
    listed = seeded("transfer-ship")
    assert listed.exit_code == 0 and "TR20261204-001" in listed.output
    assert "没有进行中的调拨单" in seeded("transfer-receive").output  # WH1 receives nothing
    done = seeded("transfer-ship", "TR20261204-001", "--line", "1", "--qty", "30",
                  "--location", "B-02-03", "--operator", "P01")
    assert done.exit_code == 0, done.output
    assert "已调出 / shipped CF001-350 × 30 @ B-02-03 → 99" in done.output  # 129 − 30
    too_many = seeded("transfer-ship", "TR20261204-001", "--line", "1", "--qty", "21",
                      "--location", "B-02-03", "--operator", "P01")
    assert too_many.exit_code == 1 and "还剩 20 件" in too_many.stderr
    missing = seeded("transfer-ship", "TR20261204-001", "--line", "1")
    assert missing.exit_code == 1 and "--operator" in missing.stderr


def test_receive_at_the_destination(seeded: Run, db: Path) -> None:
    _transfer(db, "WH2", "WH1", shipped=12)
    assert "TR20261204-001" in seeded("transfer-receive").output
    done = seeded("transfer-receive", "TR20261204-001", "--line", "1", "--qty", "12",
                  "--location", "B-02-03", "--operator", "P02")
    assert done.exit_code == 0, done.output
    assert "已调入 / received CF001-350 × 12 @ B-02-03 → 141" in done.output  # 129 + 12
    more = seeded("transfer-receive", "TR20261204-001", "--line", "1", "--qty", "1",
                  "--location", "B-02-03", "--operator", "P02")
    assert more.exit_code == 1 and "在途 0" in more.stderr
