"""Cloud catalog import/export, manual adjustment and demo seed, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import ledger_store
from cloud.cli import run
from cloud.db import make_engine, schema
from edge.cli.seed import apply_demo
from edge.domain import demo, pii
from edge.store import open_store


def cloud(url: str, *args: str) -> int:
    return run(["--db", url, *args])


@pytest.fixture
def seeded(cloud_db_url: str) -> str:
    assert cloud(cloud_db_url, "init-db") == 0
    assert cloud(cloud_db_url, "seed-demo", "--seed", "3") == 0
    return cloud_db_url


def test_seed_demo_is_idempotent_and_balanced(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cloud(seeded, "seed-demo", "--seed", "3") == 0
    assert "无需操作" in capsys.readouterr().out
    engine = make_engine(seeded)
    with engine.begin() as conn:
        skus = conn.execute(sa.select(sa.func.count()).select_from(schema.skus)).scalar_one()
        moves = conn.execute(sa.select(sa.func.count()).select_from(schema.stock_moves)).scalar_one()
        assert skus >= 150 and moves == skus
        assert ledger_store.check_balances(conn) == []
    engine.dispose()


def test_demo_opening_moves_match_the_station_seed(seeded: str) -> None:
    """The station's seed-demo records the same opening move ids: sync applies them once."""
    data = demo.generate(3, orders=0)
    store = open_store(":memory:", station_id="ST1")
    apply_demo(store, data, pii.new_key())
    station_ids = {m.move_id for m in store.queries.moves(limit=10_000)}
    engine = make_engine(seeded)
    with engine.begin() as conn:
        cloud_ids = set(conn.execute(sa.select(schema.stock_moves.c.move_id)).scalars())
    engine.dispose()
    assert station_ids == cloud_ids


def test_adjust_needs_reason_refuses_negative_and_is_audited(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(seeded)
    with engine.begin() as conn:
        bal = ledger_store.balances(conn, warehouse_id="WH1")[0]
    assert cloud(seeded, "adjust", "--warehouse", "WH1", "--sku", bal.sku, "--location", bal.location,
                 "--qty", "-1", "--reason", " ", "--operator", "M01") == 2
    assert cloud(seeded, "adjust", "--warehouse", "WH1", "--sku", bal.sku, "--location", bal.location,
                 "--qty", str(-(bal.qty + 1)), "--reason", "盘亏", "--operator", "M01") == 1
    err = capsys.readouterr().err
    assert "库存不足" in err and "Traceback" not in err
    assert cloud(seeded, "adjust", "--warehouse", "WH1", "--sku", bal.sku, "--location", bal.location,
                 "--qty", "-2", "--reason", "破损", "--operator", "M01") == 0
    with engine.begin() as conn:
        after = ledger_store.balances(conn, warehouse_id="WH1", sku=bal.sku, location=bal.location)
        assert after[0].qty == bal.qty - 2
        audit = conn.execute(sa.select(schema.audit_log).where(
            schema.audit_log.c.action == "stock.adjust")).mappings().all()
        assert len(audit) == 1 and audit[0]["actor"] == "M01" and audit[0]["detail"]["note"] == "破损"
        assert ledger_store.check_balances(conn) == []
    engine.dispose()


@pytest.mark.parametrize("qty", ["10000001", str(-(2**64))])
def test_adjust_beyond_the_move_limit_is_one_line(
    seeded: str, capsys: pytest.CaptureFixture[str], qty: str
) -> None:
    """The stations take at most ±10,000,000 per move (the wire limit): the cloud refuses
    more instead of recording a move it could not relay."""
    engine = make_engine(seeded)
    with engine.begin() as conn:
        bal = ledger_store.balances(conn, warehouse_id="WH1")[0]
        before = conn.execute(sa.select(sa.func.count()).select_from(schema.stock_moves)).scalar_one()
    capsys.readouterr()
    assert cloud(seeded, "adjust", "--warehouse", "WH1", "--sku", bal.sku, "--location", bal.location,
                 "--qty", qty, "--reason", "r", "--operator", "M01") == 2
    assert capsys.readouterr().err == (f"错误 / error: 数量超出范围 (最多 ±10,000,000): {qty} / "
                                       f"a move changes at most ±10,000,000 units: {qty}\n")
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.stock_moves)).scalar_one() == before
    engine.dispose()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_writes_formula_text_as_text_and_imports_it_back(
    seeded: str, tmp_path: Path, suffix: str
) -> None:
    risky = {"EVIL-1": '=HYPERLINK("http://evil.example","点我")', "EVIL-2": "+86 手机壳", "EVIL-3": "@A1"}
    engine = make_engine(seeded)
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.skus), [{"sku": k, "name_zh": v} for k, v in risky.items()])
    out = tmp_path / f"catalog{suffix}"
    assert cloud(seeded, "export-catalog", str(out)) == 0
    if suffix == ".csv":
        lines = out.read_bytes().split(b"\r\n")
        evil = [ln for ln in lines if ln.startswith(b"EVIL-")]
        assert evil == [
            '''EVIL-1,"'=HYPERLINK(""http://evil.example"",""点我"")",,,,,,,,,,,'''.encode(),
            "EVIL-2,'+86 手机壳,,,,,,,,,,,".encode(),
            b"EVIL-3,'@A1,,,,,,,,,,,",
        ]
    else:
        import zipfile

        sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet
        assert 't="inlineStr"><is><t>=HYPERLINK("http://evil.example","点我")</t></is>' in sheet
        assert 't="inlineStr"><is><t>@A1</t></is>' in sheet
    with engine.begin() as conn:  # the import restores exactly the names exported
        conn.execute(sa.update(schema.skus).where(schema.skus.c.sku.like("EVIL-%")).values(name_zh="x"))
    assert cloud(seeded, "import-catalog", str(out)) == 0
    with engine.begin() as conn:
        got = dict(conn.execute(sa.select(schema.skus.c.sku, schema.skus.c.name_zh)
                                .where(schema.skus.c.sku.like("EVIL-%"))).all())
    engine.dispose()
    assert got == risky


def test_a_cloud_adjustment_is_relayed_once_to_each_station_of_its_warehouse(seeded: str) -> None:
    engine = make_engine(seeded)
    with engine.begin() as conn:
        bal = ledger_store.balances(conn, warehouse_id="WH1")[0]
        conn.execute(sa.insert(schema.warehouses).values(id="WH2", name="义乌仓"))
        conn.execute(sa.insert(schema.stations), [
            {"id": sid, "warehouse_id": wh, "name": sid, "status": status,
             "created_at": datetime(2026, 12, 1, tzinfo=UTC)}
            for sid, wh, status in (("ST2", "WH1", "active"), ("ST8", "WH1", "revoked"),
                                    ("ST9", "WH2", "active"))])
    assert cloud(seeded, "adjust", "--warehouse", "WH1", "--sku", bal.sku, "--location", bal.location,
                 "--qty", "3", "--reason", "盘盈", "--operator", "M01") == 0
    with engine.begin() as conn:
        rows = conn.execute(sa.select(schema.downlink_outbox.c.station_id, schema.downlink_outbox.c.kind,
                                      schema.downlink_outbox.c.payload)
                            .order_by(schema.downlink_outbox.c.station_id)).all()
        move = conn.execute(sa.select(schema.stock_moves).where(
            schema.stock_moves.c.source_type == "manual")).mappings().one()
    engine.dispose()
    # ST1 (seeded, pending) and ST2 of WH1, once each; not the revoked ST8, not WH2's ST9
    assert [(r.station_id, r.kind) for r in rows] == [("ST1", "moves"), ("ST2", "moves")]
    for r in rows:
        assert [(m["move_id"], m["qty_delta"], m["sku"], m["location"], m["station_id"])
                for m in r.payload["moves"]] == [
            (move["move_id"], 3, bal.sku, bal.location, "cloud")]


def test_catalog_round_trip_and_atomic_bad_file(
    seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "catalog.xlsx"
    assert cloud(seeded, "export-catalog", str(out)) == 0
    assert cloud(seeded, "import-catalog", str(out)) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("商品编码,商品名称,重量(g)\nNEW-1,新商品,100\nNEW-2,,50\nNEW-3,第三个,-5\n", encoding="utf-8")
    capsys.readouterr()
    assert cloud(seeded, "import-catalog", str(bad)) == 1
    err = capsys.readouterr().err
    assert "第 3 行" in err and "第 4 行" in err and "第 2 行" not in err
    engine = make_engine(seeded)
    with engine.begin() as conn:
        assert conn.execute(sa.select(schema.skus).where(schema.skus.c.sku == "NEW-1")).first() is None
    assert cloud(seeded, "import-catalog", "--skip-bad", str(bad)) == 0
    with engine.begin() as conn:
        names = set(conn.execute(sa.select(schema.skus.c.sku).where(schema.skus.c.sku.like("NEW-%"))).scalars())
    engine.dispose()
    assert names == {"NEW-1"}


def test_import_reports_what_the_cloud_cannot_hold_and_audits_cost_changes(
    seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The web app's import is this one (cloud.catalog): the cloud's limits are row errors,
    and a cost an import changes is in the audit log as old → new."""
    engine = make_engine(seeded)
    with engine.begin() as conn:
        sku, cost = conn.execute(sa.select(schema.skus.c.sku, schema.skus.c.cost_fen)
                                 .order_by(schema.skus.c.sku).limit(1)).one()
    heavy = tmp_path / "heavy.csv"
    heavy.write_text("商品编码,商品名称,重量(g),长(mm)\nBIG-1,大件,1000001,100001\n", encoding="utf-8")
    capsys.readouterr()
    assert cloud(seeded, "import-catalog", str(heavy)) == 1
    assert capsys.readouterr().err.splitlines()[:2] == [
        "第 2 行 / line 2 [重量(g)]: 重量超出范围 (最多 1,000,000 g): 1000001 / "
        "weight out of range (1,000,000 g at most): 1000001",
        "第 2 行 / line 2 [长(mm)]: 长超出范围 (最多 100,000 mm): 100001 / "
        "length out of range (100,000 mm at most): 100001"]
    new_cost = (cost or 0) + 123
    sheet = tmp_path / "cost.csv"
    sheet.write_text(f"商品编码,商品名称,成本价(元)\n{sku},改价,{new_cost / 100:.2f}\n", encoding="utf-8")
    assert cloud(seeded, "import-catalog", str(sheet)) == 0
    with engine.begin() as conn:
        entries = conn.execute(sa.select(schema.audit_log.c.actor, schema.audit_log.c.subject,
                                         schema.audit_log.c.detail).where(
            schema.audit_log.c.action == "product.cost")).all()
    engine.dispose()
    old = "" if cost is None else f"{cost // 100}.{cost % 100:02d}"
    assert [tuple(e) for e in entries] == [
        ("cli", sku, {"from": old, "to": f"{new_cost // 100}.{new_cost % 100:02d}", "via": "import"})]
