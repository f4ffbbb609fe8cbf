"""The station CLI: init, demo seeding, catalog import/export, stock, adjust, reverse, check."""

from __future__ import annotations

import csv
import json
import sqlite3
import stat
from pathlib import Path

import openpyxl
import pytest

from edge import fileio
from edge.__main__ import COMMANDS
from edge.domain import pii
from edge.domain.auth import verify_pin
from edge.domain.barcodes import with_check_digit
from edge.store import open_store
from tests.edge.cli.conftest import Run

HEADER = ["商品编码", "商品名称", "重量(g)", "成本价(元)", "默认库位", "条码"]
MINE = ["init", "seed-demo", "check", "import-catalog", "export-catalog", "stock", "history",
        "adjust", "reverse"]


def sql(db: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def one_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER,
              encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def station(run: Run, db: Path) -> Run:
    """An initialised station with two locations."""
    assert run("init", "--station", "ST9", "--warehouse", "WH9").exit_code == 0
    store = open_store(db)
    store.writer.upsert_locations([
        {"code": c, "warehouse_id": "WH9", "zone": "A", "bin": c[2:], "name": ""}
        for c in ("A-01", "A-02")])
    store.close()
    return run


@pytest.mark.parametrize("name", MINE)
def test_help(run: Run, name: str) -> None:
    assert name in COMMANDS
    result = run(name, "--help")
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: packline-edge {name}") or "Usage:" in result.output
    assert " / " in result.output  # Chinese / English help


def test_every_registered_command_has_help(run: Run) -> None:
    for name in COMMANDS:
        result = run(name, "--help")
        assert result.exit_code == 0, (name, result.output)


def test_init_creates_station_and_private_key(run: Run, db: Path) -> None:
    result = run("init", "--station", "ST1", "--warehouse", "WH1", "--warehouse-name", "杭州主仓",
                 "--negative-stock", "allow_with_alert")
    assert result.exit_code == 0, result.output
    assert sql(db, "SELECT key, value FROM settings ORDER BY key") == [
        ("station_id", "ST1"), ("warehouse_id", "WH1")]
    assert sql(db, "SELECT * FROM warehouses") == [("WH1", "杭州主仓", "allow_with_alert")]
    key = fileio.key_path_for(db)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    assert run("init", "--station", "ST1", "--warehouse", "WH1").exit_code == 0
    assert key.read_bytes() == before
    other = run("init", "--station", "ST2", "--warehouse", "WH1")
    assert other.exit_code == 1 and "ST1" in one_line(other.stderr)


@pytest.mark.parametrize("args, needle", [
    (["init", "--warehouse", "WH1"], "--station"),
    (["init", "--station", "ST 1", "--warehouse", "WH1"], "ST 1"),
    (["init", "--station", "S", "--warehouse", "W", "--negative-stock", "maybe"], "maybe"),
    (["adjust", "--sku", "X", "--location", "L", "--qty", "abc", "--reason", "r",
      "--operator", "o"], "abc"),
    (["history", "--limit", "0"], "0"),
    (["stock"], "init"),
])
def test_bad_arguments_are_one_line(run: Run, args: list[str], needle: str) -> None:
    result = run(*args)
    assert result.exit_code != 0
    line = one_line(result.stderr)
    assert line.startswith("错误 / error: ") and needle in line
    assert result.stdout == ""


@pytest.mark.parametrize("qty", ["10000001", "-10000001", str(2**63), str(2**64), str(-(2**63) - 1)])
def test_adjust_beyond_the_move_limit_is_one_line(seeded: Run, db: Path, qty: str) -> None:
    """Past ±10,000,000 a move could not travel to the cloud (the wire limit); past 64 bits
    SQLite cannot store it: either used to end in a traceback."""
    sku, loc = sql(db, "SELECT sku, location FROM balances ORDER BY sku LIMIT 1")[0]
    moves = sql(db, "SELECT COUNT(*) FROM stock_moves")
    result = seeded("adjust", "--sku", str(sku), "--location", str(loc), "--qty", qty, "--reason", "r",
                    "--operator", "L01")
    assert result.exit_code == 1
    assert one_line(result.stderr) == (f"错误 / error: 数量超出范围 (最多 ±10,000,000): {qty} / "
                                       f"a move changes at most ±10,000,000 units: {qty}")
    assert sql(db, "SELECT COUNT(*) FROM stock_moves") == moves
    ok = seeded("adjust", "--sku", str(sku), "--location", str(loc), "--qty", "10000000", "--reason", "r",
                "--operator", "L01")
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize(("args", "code", "line"), [
    (["--at", "garbage"], 2, "错误 / error: 无效的时间 / invalid timestamp: garbage"),
    (["--txid", "zz"], 2, "错误 / error: 无效的事务号 / invalid TXID: zz"),
    (["--txid", "1", "--at", "2026-12-01"], 2, "错误 / error: --txid 与 --at 只能选一个 / give --txid or --at, not both"),
    ([], 1, "错误 / error: 备份为空 / the replica is empty: file://{replica}"),
])
def test_restore_errors_are_one_documented_line(
    run: Run, tmp_path: Path, args: list[str], code: int, line: str
) -> None:
    replica = tmp_path / "replica"
    replica.mkdir()
    result = run("restore", "--target", f"file://{replica}", *args, str(tmp_path / "out.db"))
    assert result.exit_code == code
    assert one_line(result.stderr) == line.format(replica=replica)


def test_seed_demo(seeded: Run, db: Path) -> None:
    def count(table: str) -> int:
        return int(str(sql(db, f"SELECT COUNT(*) FROM {table}")[0][0]))

    assert 180 <= count("skus") <= 220 and count("orders") == 40 and count("operators") == 5
    assert count("stock_moves") == count("skus")
    assert sql(db, "SELECT value FROM settings WHERE key = 'demo_seed'") == [("5",)]
    key = fileio.read_key_file(fileio.key_path_for(db))
    for masked, sealed in sql(db, "SELECT receiver_masked, receiver_sealed FROM orders"):
        full = pii.unseal(str(sealed), key)
        assert json.loads(str(masked)) == pii.mask(full)
        assert full["phone"] not in str(masked)
    (pin_hash,) = sql(db, "SELECT pin_hash FROM operators WHERE operator_id = 'P01'")[0]
    assert verify_pin(str(pin_hash), "1111") and not verify_pin(str(pin_hash), "2222")
    again = seeded("seed-demo", "--seed", "5", "--orders", "40")
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert count("orders") == 40 and count("stock_moves") == count("skus")
    other = seeded("seed-demo", "--seed", "6")
    assert other.exit_code == 1 and "seed 5" in one_line(other.stderr)


def test_bad_rows_import_nothing_and_are_all_reported(station: Run, db: Path, tmp_path: Path) -> None:
    good = with_check_digit("690000000001")
    rows = [
        ["G1", "好商品", "100", "9.90", "A-01", good],   # 2
        ["", "缺编码", "1", "", "", ""],                  # 3
        ["G2", "好商品2", "50", "", "A-02", ""],          # 4
        ["B1", "负重量", "-1", "", "", ""],               # 5
        ["G1", "重复", "1", "", "", ""],                  # 6
        ["B2", "没库位", "1", "", "Z-99", ""],            # 7
        ["B3", "条码重复", "1", "", "", good],            # 8
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    result = station("import-catalog", str(path))
    assert result.exit_code == 1
    for line in (3, 5, 6, 7, 8):
        assert f"  第 {line} 行 / line {line}" in result.stdout
    for line in (2, 4):
            assert f"  第 {line} 行 / line {line}" not in result.stdout
    assert "nothing imported" in one_line(result.stderr)
    assert sql(db, "SELECT COUNT(*) FROM skus") == [(0,)]
    dry = station("import-catalog", str(path), "--skip-bad", "--dry-run")
    assert dry.exit_code == 0 and sql(db, "SELECT COUNT(*) FROM skus") == [(0,)]
    skipped = station("import-catalog", str(path), "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "第 8 行" in skipped.stdout
    assert sql(db, "SELECT sku, name_zh, unit_weight_g, cost_fen, default_location FROM skus "
                   "ORDER BY sku") == [("G1", "好商品", 100, 990, "A-01"), ("G2", "好商品2", 50, None, "A-02")]
    assert sql(db, "SELECT barcode, sku, units FROM barcodes") == [(good, "G1", 1)]
    audit = sql(db, "SELECT actor, action, subject FROM audit_log WHERE action = 'catalog.import'")
    assert audit == [("system", "catalog.import", "bad.csv")]


def test_barcode_owned_by_another_sku_in_db(station: Run, db: Path, tmp_path: Path) -> None:
    code = with_check_digit("690000000002")
    assert station("import-catalog", str(write_csv(tmp_path / "a.csv", [["A", "甲", "1", "", "", code]]))).exit_code == 0
    result = station("import-catalog", str(write_csv(tmp_path / "b.csv", [["B", "乙", "1", "", "", code]])))
    assert result.exit_code == 1 and "already belongs to SKU A" in result.stdout
    # the owner itself may re-import its own barcode
    assert station("import-catalog", str(tmp_path / "a.csv")).exit_code == 0


def test_gbk_csv_and_xlsx_import(station: Run, db: Path, tmp_path: Path) -> None:
    gbk = write_csv(tmp_path / "gbk.csv", [["K1", "中文名称一", "10", "1.5", "A-01", ""]],
                    encoding="gbk")
    result = station("import-catalog", str(gbk))
    assert result.exit_code == 0 and "gb18030" in result.stdout
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(["X1", "表格商品", 250, 12.34, "A-02", int(with_check_digit("690000000003"))])
    wb.save(tmp_path / "x.xlsx")
    assert station("import-catalog", str(tmp_path / "x.xlsx")).exit_code == 0
    assert sql(db, "SELECT sku, name_zh, unit_weight_g, cost_fen FROM skus ORDER BY sku") == [
        ("K1", "中文名称一", 10, 150), ("X1", "表格商品", 250, 1234)]
    assert sql(db, "SELECT barcode, sku FROM barcodes") == [(with_check_digit("690000000003"), "X1")]


def test_big_import_with_new_locations(station: Run, db: Path, tmp_path: Path) -> None:
    rows = [[f"S{i:04d}", f"商品{i}", str(i), "", f"B-{i % 7:02d}",
             with_check_digit(f"69100{i:07d}")] for i in range(450)]
    path = write_csv(tmp_path / "big.csv", rows)
    refused = station("import-catalog", str(path))
    assert refused.exit_code == 1 and refused.stdout.count("unknown location") == 450
    result = station("import-catalog", str(path), "--create-locations")
    assert result.exit_code == 0, result.output
    assert sql(db, "SELECT COUNT(*) FROM skus") == [(450,)]
    assert sql(db, "SELECT COUNT(*), MIN(zone), MIN(warehouse_id) FROM locations WHERE code LIKE 'B-%'") == [(7, "B", "WH9")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_import_round_trip(seeded: Run, db: Path, tmp_path: Path, suffix: str) -> None:
    first = tmp_path / f"first{suffix}"
    assert seeded("export-catalog", str(first)).exit_code == 0
    other_db = tmp_path / "other" / "edge.db"
    assert seeded("init", "--station", "ST2", "--warehouse", "WH1", db_path=other_db).exit_code == 0
    imported = seeded("import-catalog", str(first), "--create-locations", db_path=other_db)
    assert imported.exit_code == 0, imported.output
    second = tmp_path / "second.csv"
    first_csv = tmp_path / "first.csv"
    assert seeded("export-catalog", str(second), db_path=other_db).exit_code == 0
    assert seeded("export-catalog", str(first_csv)).exit_code == 0
    assert second.read_bytes() == first_csv.read_bytes()
    cols = "sku, name_zh, name_en, spec, unit_weight_g, length_mm, width_mm, height_mm, cost_fen, image_path, default_location"
    assert sql(other_db, f"SELECT {cols} FROM skus ORDER BY sku") == sql(db, f"SELECT {cols} FROM skus ORDER BY sku")
    assert sql(other_db, "SELECT * FROM barcodes ORDER BY barcode") == sql(db, "SELECT * FROM barcodes ORDER BY barcode")


RISKY = {"EVIL-1": "=cmd|' /C calc'!A0", "EVIL-2": "-10% 特价", "EVIL-3": "'=引号"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_writes_formula_text_as_text_and_imports_it_back(
    station: Run, db: Path, tmp_path: Path, suffix: str
) -> None:
    store = open_store(db)
    store.writer.upsert_skus([{"sku": k, "name_zh": v, "spec": "+1"} for k, v in RISKY.items()])
    store.close()
    out = tmp_path / f"catalog{suffix}"
    assert station("export-catalog", str(out)).exit_code == 0
    if suffix == ".csv":
        lines = out.read_bytes().split(b"\r\n")
        assert lines[1:4] == [
            b"EVIL-1,'=cmd|' /C calc'!A0,,'+1,0,,,,,,,,",
            "EVIL-2,'-10% 特价,,'+1,0,,,,,,,,".encode(),
            "EVIL-3,''=引号,,'+1,0,,,,,,,,".encode(),
        ]
    else:
        import zipfile

        sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet
        assert 't="inlineStr"><is><t>=cmd|\' /C calc\'!A0</t></is>' in sheet
    other = tmp_path / "other" / "edge.db"
    assert station("init", "--station", "ST2", "--warehouse", "WH9", db_path=other).exit_code == 0
    assert station("import-catalog", str(out), db_path=other).exit_code == 0
    assert sql(other, "SELECT sku, name_zh, spec FROM skus ORDER BY sku") == [
        (k, v, "+1") for k, v in RISKY.items()]


def test_import_refuses_a_formula_without_a_cached_value(station: Run, tmp_path: Path) -> None:
    from tests.edge.domain.test_spreadsheet import formula_workbook

    result = station("import-catalog", str(formula_workbook(tmp_path / "f.xlsx", None)))
    assert result.exit_code != 0
    assert one_line(result.stderr).startswith("错误 / error: 第 2 行: 公式没有计算结果")


def test_stock_and_history(seeded: Run, db: Path) -> None:
    sku, loc, qty = sql(db, "SELECT sku, location, qty FROM balances ORDER BY sku LIMIT 1")[0]
    result = seeded("stock", "--sku", str(sku))
    assert result.exit_code == 0
    assert [ln.split()[0] for ln in result.stdout.splitlines()[2:-1]] == [sku]
    assert f"{qty} 件 units" in result.stdout
    by_loc = seeded("stock", "--location", str(loc))
    assert str(sku) in by_loc.stdout
    unknown = seeded("stock", "--sku", "NOPE")
    assert unknown.exit_code == 1 and "NOPE" in one_line(unknown.stderr)
    hist = seeded("history", "--sku", str(sku), "--limit", "5")
    assert hist.exit_code == 0 and "采购入库 Receive" in hist.stdout and f"+{qty}" in hist.stdout
    assert len(seeded("history", "--limit", "3").stdout.splitlines()) == 5


def test_adjust_needs_reason_and_is_audited(seeded: Run, db: Path) -> None:
    sku, loc, qty = sql(db, "SELECT sku, location, qty FROM balances ORDER BY sku LIMIT 1")[0]
    base = ["adjust", "--sku", str(sku), "--location", str(loc), "--qty", "-1", "--operator", "L01"]
    missing = seeded(*base)
    assert missing.exit_code == 2 and "--reason" in one_line(missing.stderr)
    blank = seeded(*base, "--reason", "   ")
    assert blank.exit_code == 1 and "reason" in one_line(blank.stderr)
    stranger = seeded(*base[:-1], "X99", "--reason", "盘亏")
    assert stranger.exit_code == 1 and "X99" in one_line(stranger.stderr)
    assert sql(db, "SELECT COUNT(*) FROM stock_moves WHERE reason = 41") == [(0,)]
    ok = seeded(*base, "--reason", "破损一件")
    assert ok.exit_code == 0, ok.output
    assert sql(db, "SELECT qty FROM balances WHERE sku = ? AND location = ?", (sku, loc)) == [(int(str(qty)) - 1,)]
    ((move_id, note),) = sql(db, "SELECT move_id, note FROM stock_moves WHERE reason = 41")
    assert note == "破损一件"
    ((actor, detail),) = sql(db, "SELECT actor, detail FROM audit_log WHERE action = 'stock.adjust'")
    assert actor == "L01" and json.loads(str(detail))["move_id"] == move_id
    too_much = seeded(*base[:-4], "--qty", "-100000", "--operator", "L01", "--reason", "x")
    assert too_much.exit_code == 1 and "insufficient stock" in one_line(too_much.stderr)


def test_reverse_is_audited_and_once(seeded: Run, db: Path) -> None:
    move_id, sku, loc, delta = sql(db, "SELECT move_id, sku, location, qty_delta FROM stock_moves LIMIT 1")[0]
    no_reason = seeded("reverse", str(move_id), "--operator", "L01", "--reason", "")
    assert no_reason.exit_code == 1
    ok = seeded("reverse", str(move_id), "--operator", "L01", "--reason", "录入错误")
    assert ok.exit_code == 0, ok.output
    assert sql(db, "SELECT sku, location, qty_delta, reason, note FROM stock_moves "
                   "WHERE reverses_move_id = ?", (move_id,)) == [(sku, loc, -int(str(delta)), 90, "录入错误")]
    assert sql(db, "SELECT actor, subject FROM audit_log WHERE action = 'stock.reverse'") == [("L01", move_id)]
    twice = seeded("reverse", str(move_id), "--operator", "L01", "--reason", "again")
    assert twice.exit_code == 1 and "already reversed" in one_line(twice.stderr)
    nothing = seeded("reverse", "no-such-move", "--operator", "L01", "--reason", "x")
    assert nothing.exit_code == 1 and "no such move" in one_line(nothing.stderr)


def test_check_detects_a_tampered_cache(seeded: Run, db: Path) -> None:
    ok = seeded("check")
    assert ok.exit_code == 0 and ok.stdout.startswith("OK")
    sku, loc, qty = sql(db, "SELECT sku, location, qty FROM balances ORDER BY sku LIMIT 1")[0]
    conn = sqlite3.connect(db)
    conn.execute("UPDATE balances SET qty = qty + 3 WHERE sku = ? AND location = ?", (sku, loc))
    conn.commit()
    conn.close()
    bad = seeded("check")
    assert bad.exit_code == 1
    diff_rows = [ln.split() for ln in bad.stdout.splitlines() if ln.startswith(str(sku))]
    assert diff_rows == [[str(sku), str(loc), str(int(str(qty)) + 3), str(qty)]]
    assert "differences" in one_line(bad.stderr)
    fixed = seeded("check", "--rebuild")
    assert fixed.exit_code == 0 and "OK" in fixed.stdout
    assert seeded("check").exit_code == 0
    assert sql(db, "SELECT qty FROM balances WHERE sku = ? AND location = ?", (sku, loc)) == [(qty,)]


def forge(db: Path, sql_text: str, params: tuple[object, ...] = ()) -> None:
    """Edit the ledger as a tool that drops the append-only triggers would."""
    conn = sqlite3.connect(db)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = 'stock_moves'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute(sql_text, params)
    for _, ddl in triggers:
        conn.execute(ddl)
    conn.commit()
    conn.close()


def test_check_names_a_forged_quantity_and_rebuild_refuses(seeded: Run, db: Path) -> None:
    """Cache and ledger forged together (the fold still matches): the balance chain and the
    outbox row name the move, and --rebuild does not turn the forgery into balances."""
    move_id, sku, loc, qty = sql(db, "SELECT move_id, sku, location, qty_delta FROM stock_moves "
                                     "ORDER BY seq LIMIT 1")[0]
    forge(db, "UPDATE stock_moves SET qty_delta = qty_delta + 1000 WHERE move_id = ?", (move_id,))
    forge(db, "UPDATE balances SET qty = qty + 1000 WHERE sku = ? AND location = ?", (sku, loc))
    before = sql(db, "SELECT * FROM balances ORDER BY sku, location")
    bad = seeded("check")
    assert bad.exit_code == 1
    named = [ln for ln in bad.stdout.splitlines() if ln.strip().startswith(f"{move_id}:")]
    assert len(named) == 2, bad.stdout  # the chain, and the move as sent to the cloud
    assert f"balance_after {qty} ≠ 0 +{int(str(qty)) + 1000}" in named[0]
    assert f"qty_delta {int(str(qty)) + 1000} ≠ {qty}" in named[1]
    assert "the ledger fails its checks" in one_line(bad.stderr)
    refused = seeded("check", "--rebuild")
    assert refused.exit_code == 1
    assert "not rebuilding" in one_line(refused.stderr)
    assert sql(db, "SELECT * FROM balances ORDER BY sku, location") == before
    assert sql(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'balances.rebuild'") == [(0,)]


def test_check_names_a_move_whose_id_was_rewritten(seeded: Run, db: Path) -> None:
    """A REPLACE (here with the triggers dropped) that gave a move a new id: the id the
    cloud was sent is missing, so check names it although every balance still adds up."""
    (move_id,) = sql(db, "SELECT move_id FROM stock_moves ORDER BY seq DESC LIMIT 1")[0]
    forge(db, "UPDATE stock_moves SET move_id = 'forged-0000-0000' WHERE move_id = ?", (move_id,))
    bad = seeded("check")
    assert bad.exit_code == 1
    assert f"  {move_id}: 流水缺失 / a move sent to the cloud is missing from the ledger" in bad.stdout
    assert "forged-0000-0000" not in bad.stdout  # own id with no outbox row: may come from a resync
    assert seeded("check", "--rebuild").exit_code == 1


def test_files_that_cannot_be_read(station: Run, tmp_path: Path, db: Path) -> None:
    (tmp_path / "corrupt.xlsx").write_bytes(b"PK\x03\x04garbage")
    for path, needle in ((tmp_path / "none.csv", "no such file"),
                         (tmp_path / "corrupt.xlsx", "not a valid XLSX"),
                         (tmp_path, "only .csv and .xlsx")):
        result = station("import-catalog", str(path))
        assert result.exit_code == 1 and needle in one_line(result.stderr), result.output
    bad_export = station("export-catalog", str(tmp_path / "x.pdf"))
    assert bad_export.exit_code == 1 and ".csv or .xlsx" in one_line(bad_export.stderr)
    not_db = tmp_path / "junk.db"
    not_db.write_bytes(b"this is not sqlite" * 100)
    junk = station("stock", db_path=not_db)
    assert junk.exit_code == 1 and "database" in one_line(junk.stderr)


def test_a_partial_sheet_leaves_other_columns_alone(seeded: Run, db: Path, tmp_path: Path) -> None:
    cols = "sku, name_zh, unit_weight_g, cost_fen, default_location"
    sku, name, weight, _cost, loc = sql(db, f"SELECT {cols} FROM skus ORDER BY sku LIMIT 1")[0]
    codes = sql(db, "SELECT barcode, units FROM barcodes WHERE sku = ? ORDER BY barcode", (sku,))
    assert codes
    path = write_csv(tmp_path / "prices.csv", [[str(sku), f"{name} 新版", "12.34"]],
                     header=["商品编码", "商品名称", "成本价(元)"])
    result = seeded("import-catalog", str(path))
    assert result.exit_code == 0, result.output
    assert sql(db, f"SELECT {cols} FROM skus WHERE sku = ?", (sku,)) == [
        (sku, f"{name} 新版", weight, 1234, loc)]
    assert sql(db, "SELECT barcode, units FROM barcodes WHERE sku = ? ORDER BY barcode", (sku,)) == codes
