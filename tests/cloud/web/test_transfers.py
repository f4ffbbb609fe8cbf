"""调拨 pages: a warehouse lead writes a transfer (a bad line reported next to the field,
nothing written), sends it to the stations of both warehouses, sees what is in transit on
the transfer and beside the stock by SKU, and closes it short; a purchaser may look but
not write."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import transfers
from cloud.db.schema import audit_log, downlink_outbox, stations, warehouses
from cloud.db.schema_transfers import transfers as transfers_table
from edge.domain.models import MoveReason, Role
from edge.sync.schema import MoveWire, TransferDiffWire
from tests.cloud.web.support import (
    T0,
    cells,
    count,
    csrf_of,
    field_errors,
    login,
    signed_in,
    username,
)


def _wh2(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(warehouses.insert().values(id="WH2", name="义乌仓"))
        conn.execute(stations.insert().values(id="st-9", warehouse_id="WH2", name="义乌一号",
                                              status="active", created_at=T0))


def _moved(engine: Engine, tid: str, reason: MoveReason, qty: int, n: int) -> None:
    """What ingest does with a station's transfer move (the counts; the ledger is not this
    page's business)."""
    wire = MoveWire(move_id=f"move-{n:04d}", warehouse_id="WH1", sku="SKU-1", location="A-01",
                    qty_delta=qty, balance_after=0, reason=reason, source_type="transfer",
                    source_id=tid, source_line="1", operator_id="P01", station_id="st-1",
                    occurred_at=T0, recorded_at=T0)
    with engine.begin() as conn:
        transfers.on_moves(conn, [wire], now=T0)


async def test_write_send_watch_in_transit_and_close_short(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    _wh2(cloud_engine)
    csrf = csrf_of((await client.get("/transfers/new")).text)
    bad = await client.post("/transfers/new", data={
        "csrf_token": csrf, "from_warehouse": "WH1", "to_warehouse": "WH2",
        "lines": "SKU-1 50\nSKU-9 5\nSKU-2 0", "note": ""})
    assert bad.status_code == 400
    assert field_errors(bad.text) == {"lines": ["第 2 行: 未知商品 SKU-9",
                                                "第 3 行: 数量应为 1~10,000,000 的整数"]}
    assert "SKU-9 5" in bad.text  # what was typed is kept
    assert count(cloud_engine, transfers_table) == 0
    r = await client.post("/transfers/new", data={
        "csrf_token": csrf, "from_warehouse": "WH1", "to_warehouse": "WH2",
        "lines": "SKU-1 50\nSKU-2 10", "note": "补义乌仓"})
    assert r.status_code == 303
    tid = r.headers["location"].rsplit("/", 1)[1]
    assert tid == "TR20261201-001"  # the clock's day in China Standard Time
    r = await client.post(f"/transfers/{tid}/send", data={"csrf_token": csrf})
    assert r.status_code == 303
    with cloud_engine.begin() as conn:
        sent = sorted(conn.execute(sa.select(downlink_outbox.c.station_id).where(
            downlink_outbox.c.kind == "transfer")).scalars())
    assert sent == ["st-1", "st-2", "st-9"]  # both stations of WH1 and the one of WH2
    # 30 of the 50 cups shipped, 28 received
    _moved(cloud_engine, tid, MoveReason.TRANSFER_OUT, -30, 1)
    levels = cells((await client.get("/stock?view=sku&sku=SKU-1")).text, "levels-table")
    assert levels == [["WH1", "SKU-1", "保温杯 500ml", "12", "0", "12", "", ""],
                      ["WH2", "SKU-1", "保温杯 500ml", "0", "0", "0", "", "30"]]
    _moved(cloud_engine, tid, MoveReason.TRANSFER_IN, 28, 2)
    page = (await client.get(f"/transfers/{tid}")).text
    assert cells(page, "tr-lines") == [
        ["1", "SKU-1", "保温杯 500ml", "50", "30", "28", "2", "0"],
        ["2", "SKU-2", "帆布袋", "10", "0", "0", "0", "0"],
        ["合计", "2", "0"]]
    assert "部分调入" in page
    # cancelling is too late now; closing needs a reason
    r = await client.post(f"/transfers/{tid}/cancel", data={"csrf_token": csrf, "reason": "x"})
    assert r.status_code == 400 and "不能取消" in r.text
    r = await client.post(f"/transfers/{tid}/close", data={"csrf_token": csrf, "reason": ""})
    assert r.status_code == 400 and field_errors(r.text) == {"reason": ["请写明结案原因"]}
    r = await client.post(f"/transfers/{tid}/close",
                          data={"csrf_token": csrf, "reason": "2 件破损"})
    assert r.status_code == 303
    page = (await client.get(f"/transfers/{tid}")).text
    assert cells(page, "tr-lines")[0] == ["1", "SKU-1", "保温杯 500ml", "50", "30", "28", "0", "2"]
    assert "2 件破损" in page and "已完成" in page
    assert cells((await client.get("/transfers")).text, "tr-table")[0][:7] == [
        tid, "WH1", "WH2", "已完成", "2", "0", "2"]
    levels = cells((await client.get("/stock?view=sku&sku=SKU-1")).text, "levels-table")
    assert levels == [["WH1", "SKU-1", "保温杯 500ml", "12", "0", "12", "", ""]]
    with cloud_engine.begin() as conn:
        actions = list(conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.subject == tid).order_by(audit_log.c.id)).scalars())
    assert actions == ["transfer.create", "transfer.send", "transfer.close"]


async def test_a_purchaser_reads_but_does_not_write(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    _wh2(cloud_engine)
    with cloud_engine.begin() as conn:
        tid = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH2", lines="SKU-1 5",
                               note="", actor="lead", now=T0)
    page = (await client.get(f"/transfers/{tid}")).text
    assert 'id="tr-send"' not in page and 'id="tr-new"' not in (
        await client.get("/transfers")).text
    csrf = csrf_of((await client.get("/account")).text)
    assert (await client.get("/transfers/new")).status_code == 403
    r = await client.post(f"/transfers/{tid}/send", data={"csrf_token": csrf})
    assert r.status_code == 403
    client.cookies.clear()
    await login(client, username(Role.PACKER))
    assert (await client.get("/transfers")).status_code == 403
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(transfers_table.c.status)).scalar_one() == "draft"


async def test_a_short_receipt_at_the_station_shows_as_a_discrepancy(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """50 shipped, 47 counted at WH2 with a reason: ingest keeps the discrepancy once (a
    redelivery changes nothing), the 3 short are missing, not in transit, and the transfer
    is received; the page lists the discrepancy in both languages' columns."""
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    _wh2(cloud_engine)
    with cloud_engine.begin() as conn:
        tid = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH2",
                               lines="SKU-1 50", note="", actor="lead", now=T0)
        transfers.send(conn, tid, actor="lead", now=T0)
    _moved(cloud_engine, tid, MoveReason.TRANSFER_OUT, -50, 1)
    _moved(cloud_engine, tid, MoveReason.TRANSFER_IN, 47, 2)
    diff = TransferDiffWire(diff_id="diff-0001", transfer_id=tid, line_no=1, sku="SKU-1",
                            expected=50, counted=47, reason="途中破损 / Damaged in transit",
                            operator_id="L02", at=T0)
    new = []
    for _ in range(2):  # delivered twice
        with cloud_engine.begin() as conn:
            new.append(transfers.on_discrepancy(conn, "st-9", "diff-0001", diff, now=T0))
    assert new == [True, False]
    page = (await client.get(f"/transfers/{tid}")).text
    assert cells(page, "tr-lines") == [
        ["1", "SKU-1", "保温杯 500ml", "50", "50", "47", "0", "3"], ["合计", "0", "3"]]
    assert "已完成" in page
    assert [row[:6] for row in cells(page, "tr-diffs")] == [
        ["1", "SKU-1", "50", "47", "-3", "途中破损 / Damaged in transit"]]
    with cloud_engine.begin() as conn:
        actions = list(conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.subject == tid).order_by(audit_log.c.id)).scalars())
    assert actions == ["transfer.create", "transfer.send", "transfer.discrepancy"]
