"""采购 (#13 item 5, first part): suppliers; a purchase order written as a draft with every
bad line reported, approved by a manager (not by the purchaser), sent to the warehouse's
stations as a ``po`` message, cancelled with a reason (sent again as cancelled)."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, downlink_outbox
from cloud.db.schema_purchasing import purchase_order_lines, purchase_orders
from edge.domain.models import Role
from tests.cloud.web.support import cells, count, csrf_of, field_errors, login, signed_in, username


async def _supplier(client: httpx.AsyncClient) -> str:
    csrf = csrf_of((await client.get("/suppliers")).text)
    r = await client.post("/suppliers", data={"csrf_token": csrf, "id": "YW01",
                                              "name": "义乌日用品厂", "contact": "陈经理",
                                              "phone": "0579-1234567", "lead_days": "7"})
    assert r.status_code == 303
    return csrf


def _po_messages(engine: Engine) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with engine.begin() as conn:
        return [(r.station_id, r.payload) for r in conn.execute(
            sa.select(downlink_outbox).where(downlink_outbox.c.kind == "po")
            .order_by(downlink_outbox.c.seq))]


async def test_a_purchase_order_from_draft_to_the_stations(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    csrf = await _supplier(client)
    assert cells((await client.get("/suppliers")).text, "suppliers-table") == [
        ["YW01", "义乌日用品厂", "陈经理", "0579-1234567", "7"]]
    r = await client.post("/purchasing/new", data={
        "csrf_token": csrf, "supplier": "YW01", "warehouse": "WH1", "expected_on": "2026-12-10",
        "lines": "SKU-1 200 12.50\n\nSKU-2, 50, 3\n", "note": "年货备货"})
    assert r.status_code == 303
    po_id = r.headers["location"].rsplit("/", 1)[1]
    assert po_id == "PO20261201-001"  # the clock's day in China Standard Time
    page = (await client.get(f"/purchasing/{po_id}")).text
    assert cells(page, "po-lines") == [
        ["1", "SKU-1", "保温杯 500ml", "200", "12.50", "2,500.00", "0"],
        ["2", "SKU-2", "帆布袋", "50", "3.00", "150.00", "0"],
        ["金额合计", "2,650.00", ""]]  # the footer: 200 × 12.50 + 50 × 3.00
    assert "等待经理审批" in page and 'id="po-approve"' not in page
    # the purchaser cannot approve their own order
    assert (await client.post(f"/purchasing/{po_id}/approve",
                              data={"csrf_token": csrf})).status_code == 403
    # a manager approves, then sends: one message per station of WH1
    client.cookies.clear()
    await login(client, username(Role.MANAGER))
    csrf = csrf_of((await client.get(f"/purchasing/{po_id}")).text)
    assert (await client.post(f"/purchasing/{po_id}/send",
                              data={"csrf_token": csrf})).status_code == 400  # not approved yet
    assert (await client.post(f"/purchasing/{po_id}/approve",
                              data={"csrf_token": csrf})).status_code == 303
    assert (await client.post(f"/purchasing/{po_id}/send",
                              data={"csrf_token": csrf})).status_code == 303
    sent = _po_messages(cloud_engine)
    assert [st for st, _ in sent] == ["st-1", "st-2"]
    assert sent[0][1] == {
        "po_id": po_id, "supplier": "义乌日用品厂", "warehouse_id": "WH1", "status": "open",
        "expected_at": "2026-12-10T00:00:00", "note": "年货备货",
        "lines": [{"line_no": 1, "sku": "SKU-1", "qty_ordered": 200},
                  {"line_no": 2, "sku": "SKU-2", "qty_ordered": 50}]}
    # cancelled after sending: a reason is required, the stations hear of it
    r = await client.post(f"/purchasing/{po_id}/cancel", data={"csrf_token": csrf, "reason": ""})
    assert r.status_code == 400 and field_errors(r.text) == {"reason": ["请写明取消原因"]}
    assert (await client.post(f"/purchasing/{po_id}/cancel", data={
        "csrf_token": csrf, "reason": "供应商停产"})).status_code == 303
    assert [(st, p["status"]) for st, p in _po_messages(cloud_engine)][2:] == [
        ("st-1", "cancelled"), ("st-2", "cancelled")]
    with cloud_engine.begin() as conn:
        status = conn.execute(sa.select(purchase_orders.c.status)).scalar_one()
        actions = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action).where(
            audit_log.c.subject == po_id).order_by(audit_log.c.id)).all()
    assert status == "cancelled"
    purchaser, manager = username(Role.PURCHASER), username(Role.MANAGER)
    assert [tuple(a) for a in actions] == [(purchaser, "po.create"), (manager, "po.approve"),
                                           (manager, "po.send"), (manager, "po.cancel")]


async def test_bad_purchase_orders_report_every_row_and_write_nothing(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    csrf = await _supplier(client)
    r = await client.post("/purchasing/new", data={
        "csrf_token": csrf, "supplier": "NOPE", "warehouse": "WH1", "expected_on": "12/10",
        "lines": "SKU-1 200\nSKU-9 5 1\nSKU-2 0 1\nSKU-2 5 一块\n", "note": ""})
    assert r.status_code == 400
    errors = field_errors(r.text)
    assert errors["supplier"] == ["请选择供应商"]
    assert errors["expected_on"] == ["日期格式应为 年-月-日"]
    assert errors["lines"] == ["第 1 行应为: 商品编码 数量 单价", "第 2 行: 未知商品 SKU-9",
                               "第 3 行: 数量应为 1~10,000,000 的整数", "第 4 行: 单价无效 一块"]
    assert "SKU-9 5 1" in r.text  # the typed lines stay in the form
    r = await client.post("/suppliers", data={"csrf_token": csrf, "id": "YW01", "name": "义乌日用品厂",
                                              "lead_days": "400"})
    assert set(field_errors(r.text)) == {"id", "name", "lead_days"}
    assert count(cloud_engine, purchase_orders) == 0 and count(cloud_engine, purchase_order_lines) == 0
    assert count(cloud_engine, audit_log, audit_log.c.action.like("po.%")) == 0


async def test_a_purchase_order_exports_as_xlsx_with_text_kept_text(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    import io
    from decimal import Decimal

    import openpyxl

    await signed_in(client, cloud_engine, Role.PURCHASER)
    csrf = csrf_of((await client.get("/suppliers")).text)
    await client.post("/suppliers", data={"csrf_token": csrf, "id": "EVIL",
                                          "name": '=HYPERLINK("http://x")'})
    r = await client.post("/purchasing/new", data={
        "csrf_token": csrf, "supplier": "EVIL", "warehouse": "WH1", "expected_on": "",
        "lines": "SKU-1 3 12.50\nSKU-2 2 0.99", "note": ""})
    po_id = r.headers["location"].rsplit("/", 1)[1]
    x = await client.get(f"/purchasing/{po_id}/export.xlsx")
    assert x.status_code == 200 and x.headers["content-disposition"].endswith(f'{po_id}.xlsx"')
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    rows = [r[:max((i + 1 for i, v in enumerate(r) if v is not None), default=0)]
            for r in rows]  # the sheet is as wide as its widest row: trim the blanks
    assert rows[0] == ["采购单号", po_id] and rows[1] == ["供应商", '=HYPERLINK("http://x")']
    assert ws.cell(row=2, column=2).data_type == "s"  # text, not a formula
    assert rows[6] == [] and rows[7] == ["行", "商品编码", "品名", "数量", "单价(元)", "金额(元)"]
    assert rows[8:] == [[1, "SKU-1", "保温杯 500ml", 3, 12.5, 37.5],
                        [2, "SKU-2", "帆布袋", 2, 0.99, 1.98],
                        [None, None, "合计", 5, None, 39.48]]
    assert Decimal(str(rows[10][5])) == Decimal("39.48")  # 3 × 12.50 + 2 × 0.99


def test_a_purchase_order_number_taken_meanwhile_moves_to_the_next(
        cloud_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two purchasers saving at once both count the same orders of the day: the second
    insert finds its number taken and takes the next one."""
    from cloud import purchasing
    from cloud.db import write_transaction
    from tests.cloud.web.support import T0, seed_data

    seed_data(cloud_engine)
    with write_transaction(cloud_engine) as conn:
        purchasing.create_supplier(conn, supplier_id="S1", name="甲厂", contact="", phone="",
                                   lead_days="", actor="a", now=T0)
        first = purchasing.create_po(conn, supplier_id="S1", warehouse_id="WH1",
                                     lines="SKU-1 1 1", expected_on="", note="", actor="a", now=T0)
        # as if this transaction had counted before the other one committed
        monkeypatch.setattr(purchasing, "_new_id", lambda c, n: first)
        second = purchasing.create_po(conn, supplier_id="S1", warehouse_id="WH1",
                                      lines="SKU-2 2 2", expected_on="", note="", actor="b",
                                      now=T0)
    assert (first, second) == ("PO20261201-001", "PO20261201-002")
