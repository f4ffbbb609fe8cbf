"""库存调整 and 预警: a manual adjustment from the web reaches the ledger, the audit log and
the warehouse's stations; bad input is shown per field with nothing written; alerts list
station alerts to mark done, SKUs below safety stock and slow movers (hand-computed from
``seed_data``: SKU-1 at A-01 holds 12 and last sold 2026-11-01 08:02 UTC, SKU-2 at B-02
holds 7 and never sold; the clock reads 2026-12-01 02:00 UTC)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import ledger_store
from cloud.db.schema import (
    audit_log,
    downlink_outbox,
    sku_safety_stock,
    skus,
    station_alerts,
    stock_moves,
    warehouses,
)
from cloud.db.schema_orders import reservations
from edge.domain.models import MoveReason, NegativeStockPolicy, Role
from tests.cloud.web.support import (
    T0,
    FakeClock,
    cells,
    count,
    csrf_of,
    field_errors,
    signed_in,
    username,
)


def _balance(engine: Engine, sku: str, location: str) -> int:
    with engine.begin() as conn:
        return sum(b.qty for b in ledger_store.balances(conn, sku=sku, location=location,
                                                        include_zero=True))


async def _form(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


async def test_an_adjustment_is_a_move_with_its_reason_audited_and_sent_to_the_stations(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    page = await client.get("/stock/adjust?warehouse=WH1&sku=SKU-1&location=A-01")
    assert 'name="sku" value="SKU-1"' in page.text and 'name="location" value="A-01"' in page.text
    r = await client.post("/stock/adjust", data={
        "csrf_token": csrf_of(page.text), "warehouse": "WH1", "sku": "SKU-1",
        "location": "A-01", "qty": "-2", "note": "破损 2 件"})
    assert r.status_code == 303 and r.headers["location"] == "/stock/moves?warehouse=WH1&sku=SKU-1"
    assert "已调整 SKU-1@A-01 -2, 结余 10" in (await client.get(r.headers["location"])).text
    assert _balance(cloud_engine, "SKU-1", "A-01") == 12 - 2
    with cloud_engine.begin() as conn:
        move = conn.execute(sa.select(stock_moves).where(
            stock_moves.c.reason == int(MoveReason.MANUAL_ADJUST))).mappings().one()
        entry = conn.execute(sa.select(audit_log).where(
            audit_log.c.action == "stock.adjust")).mappings().one()
        relayed = conn.execute(sa.select(downlink_outbox.c.station_id, downlink_outbox.c.kind,
                                         downlink_outbox.c.payload)).all()
        assert ledger_store.check_balances(conn) == []
    lead = username(Role.WAREHOUSE_LEAD)
    assert (move.qty_delta, move.balance_after, move.note, move.operator_id, move.station_id,
            move.occurred_at) == (-2, 10, "破损 2 件", lead, "cloud", T0)
    assert (entry.actor, entry.subject, entry.detail["qty_delta"], entry.detail["note"]) == (
        lead, "SKU-1@A-01", -2, "破损 2 件")
    # both stations of WH1 get the move, as one relayed ``moves`` message each
    assert sorted((st, kind) for st, kind, _ in relayed) == [("st-1", "moves"), ("st-2", "moves")]
    assert all(p["moves"][0]["move_id"] == move.move_id for _, _, p in relayed)


async def test_bad_adjustments_show_every_problem_and_write_nothing(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    csrf = await _form(client, "/stock/adjust")
    moves_before = count(cloud_engine, stock_moves)
    r = await client.post("/stock/adjust", data={
        "csrf_token": csrf, "warehouse": "WH1", "sku": "NOPE", "location": "",
        "qty": "0", "note": "  "})
    assert r.status_code == 400
    errors = field_errors(r.text)
    assert set(errors) == {"sku", "location", "qty", "note"}, errors
    assert errors["note"] == ["必须写明调整原因"] and errors["qty"] == ["数量变动不能为 0"]
    assert "有 4 处需要修改, 未保存任何内容" in r.text
    assert 'value="NOPE"' in r.text  # what was typed stays in the form
    r = await client.post("/stock/adjust", data={
        "csrf_token": csrf, "warehouse": "WH1", "sku": "SKU-1", "location": "A-01",
        "qty": "两件", "note": "x"})
    assert r.status_code == 400 and field_errors(r.text) == {"qty": ["请填写整数, 如 -2 或 +5"]}
    # WH1 refuses negative stock (the default): 12 on hand cannot lose 13
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(warehouses.c.negative_stock_policy)).scalar_one() == (
            NegativeStockPolicy.REFUSE.value)
    r = await client.post("/stock/adjust", data={
        "csrf_token": csrf, "warehouse": "WH1", "sku": "SKU-1", "location": "A-01",
        "qty": "-13", "note": "盘亏"})
    assert r.status_code == 400 and field_errors(r.text) == {
        "qty": ["库存不足: SKU-1@A-01 现有 12"]}
    # no CSRF token: refused before anything is read
    r = await client.post("/stock/adjust", data={
        "warehouse": "WH1", "sku": "SKU-1", "location": "A-01", "qty": "1", "note": "x"})
    assert r.status_code == 403
    assert count(cloud_engine, stock_moves) == moves_before
    assert count(cloud_engine, audit_log, audit_log.c.action == "stock.adjust") == 0
    assert count(cloud_engine, downlink_outbox) == 0


async def test_alerts_list_station_alerts_low_stock_and_slow_movers(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    with cloud_engine.begin() as conn:
        conn.execute(station_alerts.insert(), [
            {"msg_id": "a-1", "station_id": "st-1", "kind": "negative_stock",
             "subject": "SKU-2@B-02", "detail": {"balance": -1}, "raised_at": T0,
             "received_at": T0},
            {"msg_id": "a-2", "station_id": "st-2", "kind": "intercept_after_ship",
             "subject": "pdd-1001", "detail": {}, "raised_at": T0 - timedelta(hours=1),
             "received_at": T0}])
        # SKU-1: 12 on hand, 3 held by an open order, safety 10 → available 9 < 10: listed;
        # SKU-2: 7 on hand, safety 7 → not below: not listed
        conn.execute(sku_safety_stock.insert(), [
            {"sku": "SKU-1", "warehouse_id": "WH1", "qty": 10},
            {"sku": "SKU-2", "warehouse_id": "WH1", "qty": 7}])
        conn.execute(reservations.insert().values(order_id="pdd-1003", sku="SKU-1",
                                                  warehouse_id="WH1", qty=3, created_at=T0))
    page = (await client.get("/alerts")).text
    assert cells(page, "alerts-table")[0][:4] == ["2026-12-01 10:00", "st-1", "负库存", "SKU-2@B-02"]
    assert [row[2] for row in cells(page, "alerts-table")] == ["负库存", "发货后拦截"]
    assert cells(page, "low-table") == [["WH1", "SKU-1", "保温杯 500ml", "12", "3", "9", "10"]]
    # 30 days: SKU-1 sold 29 d 17 h 58 min ago, so only SKU-2 (never sold) is slow; with
    # 29 days SKU-1 is slow too (never-sold first)
    assert cells(page, "slow-table") == [["WH1", "SKU-2", "帆布袋", "7", "从未销售"]]
    page = (await client.get("/alerts?days=29")).text
    assert cells(page, "slow-table") == [["WH1", "SKU-2", "帆布袋", "7", "从未销售"],
                                         ["WH1", "SKU-1", "保温杯 500ml", "12", "2026-11-01 16:02"]]


async def test_closing_an_alert_records_who_and_why(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    with cloud_engine.begin() as conn:
        conn.execute(station_alerts.insert().values(
            msg_id="a-1", station_id="st-1", kind="negative_stock", subject="SKU-2@B-02",
            detail={"balance": -1}, raised_at=T0, received_at=T0))
    csrf = await _form(client, "/alerts")
    clock.advance(minutes=5)
    r = await client.post("/alerts/a-1/done", data={"csrf_token": csrf, "note": "已盘点补录"})
    assert r.status_code == 303 and r.headers["location"] == "/alerts"
    page = (await client.get("/alerts")).text
    assert "已标记为已处理" in page and "没有未处理的提醒" in page
    assert 'id="closed-alerts"' in page and "SKU-2@B-02" in page
    lead = username(Role.WAREHOUSE_LEAD)
    with cloud_engine.begin() as conn:
        row = conn.execute(sa.select(station_alerts.c.acknowledged_at,
                                     station_alerts.c.acknowledged_by)).one()
        entry = conn.execute(sa.select(audit_log).where(
            audit_log.c.action == "alert.done")).mappings().one()
    assert tuple(row) == (T0 + timedelta(minutes=5), lead)
    assert (entry.actor, entry.subject, entry.detail["note"], entry.detail["kind"]) == (
        lead, "a-1", "已盘点补录", "negative_stock")
    # a second close (another tab) changes nothing and says so
    r = await client.post("/alerts/a-1/done", data={"csrf_token": csrf})
    assert "该提醒已处理或不存在" in (await client.get(r.headers["location"])).text
    assert count(cloud_engine, audit_log, audit_log.c.action == "alert.done") == 1


async def test_finance_reads_alerts_but_cannot_close_or_adjust(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    with cloud_engine.begin() as conn:
        conn.execute(station_alerts.insert().values(
            msg_id="a-1", station_id="st-1", kind="negative_stock", subject="SKU-2@B-02",
            detail={}, raised_at=T0, received_at=T0))
    page = await client.get("/alerts")
    assert page.status_code == 200 and "标记已处理" not in page.text
    stock_page = (await client.get("/stock")).text
    assert "/stock/adjust" not in stock_page
    r = await client.post("/alerts/a-1/done", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(station_alerts.c.acknowledged_at)).scalar_one() is None


async def test_stock_by_sku_shows_reserved_and_available(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """SKU-1: 12 on hand, 3 held → 9 available, safety 10; SKU-2: 7 on hand, nothing held;
    SKU-3: nothing on hand but 2 held by an order → oversold, −2 available."""
    await signed_in(client, cloud_engine, Role.FINANCE)
    with cloud_engine.begin() as conn:
        conn.execute(sku_safety_stock.insert().values(sku="SKU-1", warehouse_id="WH1", qty=10))
        conn.execute(skus.insert().values(sku="SKU-3", name_zh="雨伞"))
        conn.execute(reservations.insert(), [
            {"order_id": "pdd-1003", "sku": "SKU-1", "warehouse_id": "WH1", "qty": 3,
             "created_at": T0},
            {"order_id": "pdd-1002", "sku": "SKU-3", "warehouse_id": "WH1", "qty": 2,
             "created_at": T0}])
    page = (await client.get("/stock?view=sku")).text
    assert cells(page, "levels-table") == [
        ["WH1", "SKU-1", "保温杯 500ml", "12", "3", "9", "10", ""],
        ["WH1", "SKU-2", "帆布袋", "7", "0", "7", "", ""],
        ["WH1", "SKU-3", "雨伞", "0", "2", "-2", "", ""]]
    assert 'class="negative"' in page
    one = (await client.get("/stock?view=sku&sku=SKU-3")).text
    assert [row[1] for row in cells(one, "levels-table")] == ["SKU-3"]
