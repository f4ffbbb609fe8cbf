"""订单导出 (``cloud.web.order_export``) on both engines against three hand-made orders: the
rows written (values by hand), the XLSX read back with openpyxl (typed cells, a formula
kept as text), the CSV (BOM, formula neutralised), a full sheet going on in the next, the
job's progress and states (one running export per person, a dead one interrupted, a
failure leaving no half file) and old files deleted.

| order | shop | ordered (CST)    | paid  | lines                          | waybill   | state   |
|-------|------|------------------|-------|--------------------------------|-----------|---------|
| oA    | 甲店 | 2026-12-01 09:00 | 25.00 | A×2 at 10.00, gift G×1         | ZT1 (ZTO) | shipped |
| oB    | 甲店 | 2026-12-02 10:00 | 9.90  | unmapped OUT-9×1 at 9.90       | —         | pending, exception unmapped |
| oC    | 甲店 | 2026-11-20 08:00 | 5.00  | A×1 at 5.00                    | —         | shipped |
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, shops
from cloud.db.schema_orders import order_lines, orders, waybills
from cloud.db.schema_reports import export_jobs
from cloud.errors import InputError
from cloud.reports import export
from cloud.web import order_export
from cloud.web.queries import OrderFilter

T0 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
"""When the exports are asked for (10:00 China time)."""
CST = timedelta(hours=8)
SINCE = OrderFilter(since=datetime(2026, 12, 1, tzinfo=UTC) - CST)
"""From 2026-12-01 China time: oA and oB."""
MASKED = {"name": "张*", "phone": "138****0000", "address": "浙江省杭州市***"}


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(shops.insert().values(id="shop-a", platform="pdd", name="甲店",
                                           created_at=T0))
        base = {"shop_id": "shop-a", "platform": "pdd", "platform_status": "paid",
                "raw_status": "1", "platform_updated_at": T0, "first_seen_at": T0,
                "updated_at": T0}
        for oid, at, pay, state, code, note in (
                ("oA", datetime(2026, 12, 1, 1, 0, tzinfo=UTC), 2500, "shipped", None, "=cmd"),
                ("oB", datetime(2026, 12, 2, 2, 0, tzinfo=UTC), 990, "pending", "unmapped", ""),
                ("oC", datetime(2026, 11, 20, 0, 0, tzinfo=UTC), 500, "shipped", None, "")):
            conn.execute(orders.insert().values(
                id=oid, platform_order_id=f"P-{oid}", ordered_at=at, pay_fen=pay, state=state,
                exception_code=code, buyer_note=note, receiver_masked=MASKED,
                seller_note="易碎" if oid == "oA" else "", **base))
        conn.execute(order_lines.insert(), [
            {"order_id": oid, "line_no": n, "qty": qty, "price_fen": price, "sku": sku,
             "outer_id": outer, "is_gift": gift}
            for oid, n, qty, price, sku, outer, gift in (
                ("oA", 1, 2, 1000, "A", "", False), ("oA", 2, 1, 0, "G", "", True),
                ("oB", 1, 1, 990, None, "OUT-9", False), ("oC", 1, 1, 500, "A", "", False))])
        conn.execute(waybills.insert().values(order_id="oA", waybill_no="ZT1",
                                              carrier_code="ZTO", print_data="{}", issued_at=T0))


RECEIVER = "张* 138****0000 浙江省杭州市***"
ROW_B = ["P-oB", "拼多多", "甲店", "待审核", datetime(2026, 12, 2, 2, 0, tzinfo=UTC), 990, 990,
         1, "OUT-9×1", RECEIVER, "", "", "", "", None, "商品未关联 SKU"]
ROW_A = ["P-oA", "拼多多", "甲店", "已发货", datetime(2026, 12, 1, 1, 0, tzinfo=UTC), 2500, 2000,
         3, "A×2；G×1(赠品)", RECEIVER, "=cmd", "易碎", "ZTO", "ZT1", None, ""]


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


def _exporter(engine: Engine, tmp_path: Path, clock: Clock) -> order_export.Exporter:
    return order_export.Exporter(engine, tmp_path, clock)


def _inline(work: Callable[[], None]) -> None:
    work()


def test_rows_are_the_orders_as_worked_out_by_hand(cloud_engine: Engine) -> None:
    _seed(cloud_engine)
    seen: list[int] = []
    with cloud_engine.connect() as conn:
        got = list(order_export.rows(conn, SINCE, "zh", seen.append))
        assert order_export.count(conn, SINCE) == 2
        assert order_export.count(conn, OrderFilter()) == 3
        english = list(order_export.rows(conn, OrderFilter(sku="A"), "en"))
    for row in got:
        row[4] = row[4].astimezone(UTC)
    assert got == [ROW_B, ROW_A]
    assert seen == [2]
    assert [r[0] for r in english] == ["P-oA", "P-oC"]
    assert english[0][1:4] == ["Pinduoduo", "甲店", "shipped"]


def test_progress_after_each_batch(cloud_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(cloud_engine)
    monkeypatch.setattr(order_export, "BATCH", 1)
    seen: list[int] = []
    with cloud_engine.connect() as conn:
        assert len(list(order_export.rows(conn, OrderFilter(), "zh", seen.append))) == 3
    assert seen == [1, 2, 3]


def test_an_xlsx_export_reads_back_typed(cloud_engine: Engine, tmp_path: Path) -> None:
    _seed(cloud_engine)
    clock = Clock()
    job_id = _exporter(cloud_engine, tmp_path, clock).start(
        SINCE, {"since": "2026-12-01", "q": "张三"}, fmt="xlsx", user="fin", lang="zh",
        run=_inline)
    with cloud_engine.connect() as conn:
        job = order_export.job(conn, job_id)
        entry = conn.execute(sa.select(audit_log).where(audit_log.c.action == "orders.export")
                             ).one()
    assert job is not None
    assert (job.state(clock.at), job.done_rows, job.total_rows, job.percent()) == (
        "done", 2, 2, 100)
    assert job.file_name == "orders-20261203-100000.xlsx"
    assert json.loads(job.params) == {"since": "2026-12-01", "q": "…"}  # no search term kept
    assert (entry.actor, entry.subject) == ("fin", job_id)
    path = order_export.file_path(tmp_path, job)
    assert job.size_bytes == path.stat().st_size
    assert not list(tmp_path.glob("exports/*.part"))
    ws = openpyxl.load_workbook(path).worksheets[0]
    assert ws.title == "订单"
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]][:6] == ["订单号", "平台", "店铺", "状态", "下单时间",
                                            "实付(元)"]
    b, a = ws[2], ws[3]
    assert b[0].value == "P-oB"
    assert b[4].value == datetime(2026, 12, 2, 10, 0)  # China time, a real date
    assert b[4].number_format == "yyyy-mm-dd hh:mm"
    assert (a[5].value, a[6].value, a[7].value) == (25, 20, 3)
    assert a[5].number_format == "#,##0.00"
    assert (a[10].value, a[10].data_type) == ("=cmd", "s")  # a note, never a formula
    assert a[10].quotePrefix  # and shown as typed
    assert [c.value for c in a[11:14]] == ["易碎", "ZTO", "ZT1"]


def test_a_csv_export(cloud_engine: Engine, tmp_path: Path) -> None:
    _seed(cloud_engine)
    clock = Clock()
    exporter = _exporter(cloud_engine, tmp_path, clock)
    job_id = exporter.start(OrderFilter(), {}, fmt="csv", user="fin", lang="en", run=_inline)
    with cloud_engine.connect() as conn:
        job = order_export.job(conn, job_id)
    assert job is not None and job.done_rows == 3
    text = order_export.file_path(tmp_path, job).read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0].startswith("\ufeffOrder no.,Platform,Shop,State,Ordered,Paid (yuan)")
    assert lines[2] == ("P-oA,Pinduoduo,甲店,shipped,2026-12-01 09:00,25.00,20.00,3,A×2；G×1(赠品),"
                        f"{RECEIVER},'=cmd,易碎,ZTO,ZT1,,")
    assert len([ln for ln in lines if ln]) == 4


def test_a_full_sheet_goes_on_in_the_next(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    n = export.xlsx_file(path, "订单", [("n", "int")], ([i] for i in range(5)), max_rows=3)
    assert n == 5
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["订单", "订单 (2)", "订单 (3)"]
    assert [[c.value for c in r] for r in wb["订单 (2)"].iter_rows()] == [["n"], [2], [3]]
    assert wb["订单 (3)"]["A2"].value == 4


def test_one_running_export_per_person_and_a_dead_one_is_interrupted(
        cloud_engine: Engine, tmp_path: Path) -> None:
    _seed(cloud_engine)
    clock = Clock()
    exporter = _exporter(cloud_engine, tmp_path, clock)
    parked: list[Callable[[], None]] = []
    first = exporter.start(OrderFilter(), {}, fmt="xlsx", user="fin", lang="zh",
                           run=parked.append)
    with pytest.raises(InputError) as refused:
        exporter.start(OrderFilter(), {}, fmt="xlsx", user="fin", lang="zh", run=_inline)
    assert refused.value.problems[0].zh == "已有一个导出正在进行，完成后再导出"
    exporter.start(OrderFilter(), {}, fmt="csv", user="boss", lang="zh", run=_inline)  # others may
    with pytest.raises(InputError):
        exporter.start(OrderFilter(), {}, fmt="pdf", user="boss", lang="zh", run=_inline)
    clock.at += order_export.STALE + timedelta(seconds=1)  # its process died
    with cloud_engine.connect() as conn:
        job = order_export.job(conn, first)
    assert job is not None and job.state(clock.at) == "interrupted"
    second = exporter.start(OrderFilter(), {}, fmt="xlsx", user="fin", lang="zh", run=_inline)
    with cloud_engine.connect() as conn:
        assert [j.id for j in order_export.jobs_of(conn, "fin")] == [second, first]


def test_a_failed_export_says_why_and_leaves_no_file(
        cloud_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(cloud_engine)

    def broken(path: Path, fmt: str, heads: Any, body: Any) -> int:
        path.write_bytes(b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(order_export, "write_file", broken)
    clock = Clock()
    job_id = _exporter(cloud_engine, tmp_path, clock).start(
        OrderFilter(), {}, fmt="xlsx", user="fin", lang="zh", run=_inline)
    with cloud_engine.connect() as conn:
        job = order_export.job(conn, job_id)
    assert job is not None
    assert (job.state(clock.at), job.error) == ("failed", "OSError: No space left on device")
    assert list((tmp_path / "exports").iterdir()) == []


def test_files_older_than_a_week_are_deleted(cloud_engine: Engine, tmp_path: Path) -> None:
    _seed(cloud_engine)
    clock = Clock()
    exporter = _exporter(cloud_engine, tmp_path, clock)
    old = exporter.start(OrderFilter(), {}, fmt="csv", user="fin", lang="zh", run=_inline)
    clock.at += order_export.KEEP + timedelta(minutes=1)
    exporter.start(OrderFilter(), {}, fmt="csv", user="fin", lang="zh", run=_inline)
    with cloud_engine.connect() as conn:
        job = order_export.job(conn, old)
        n = conn.execute(sa.select(sa.func.count()).select_from(export_jobs)).scalar_one()
    assert job is not None and job.expired(clock.at)
    assert not order_export.file_path(tmp_path, job).exists()
    assert n == 2
    assert len(list((tmp_path / "exports").iterdir())) == 1
