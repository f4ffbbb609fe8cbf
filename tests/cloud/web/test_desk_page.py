"""打单台 pages without a browser: the list and its filters work as plain forms (a bad time
is said next to its field), the print endpoints answer bad requests with a clear 400 and
refuse a reprint without a reason, the 发货单 lists what was ticked; English on request
(the data of ``tests/cloud/test_desk.py``). 取号 takes numbers from the fake PDD over HTTP
for the ticked orders still waiting, and lists the platform's refusals."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema_orders import orders, waybills
from cloud.marketplaces.fake_server import run_fake_platform
from cloud.orders import waybills as waybills_module
from cloud.orders.waybills import WaybillResult
from cloud.orders.worker import Worker, WorkerSettings
from edge.domain.models import Role
from tests.cloud.orders.support import connect_shop
from tests.cloud.test_desk import _seed
from tests.cloud.web.support import (
    add_users,
    cells,
    csrf_of,
    field_errors,
    login,
    signed_in,
    username,
)


async def _lead(client: httpx.AsyncClient, engine: Engine) -> str:
    add_users(engine)
    _seed(engine)
    assert (await login(client, username(Role.WAREHOUSE_LEAD))).status_code == 303
    page = await client.get("/desk")
    assert page.status_code == 200
    return csrf_of(page.text)


async def test_list_filters_and_packing_list(client: httpx.AsyncClient,
                                             cloud_engine: Engine) -> None:
    await _lead(client, cloud_engine)
    page = await client.get("/desk")
    assert [r[1] for r in cells(page.text, "desk-table")] == ["P2", "P1", "P3"]
    assert cells(page.text, "desk-table")[0][9].startswith("已打印")  # o2, at the station
    single = await client.get("/desk", params={"single": "1", "order_by": "location"})
    assert [r[1] for r in cells(single.text, "desk-table")] == ["P1"]
    bad = await client.get("/desk", params={"ship_by_before": "明天"})
    assert bad.status_code == 400
    assert field_errors(bad.text)["ship_by_before"] == ["时间格式应为 YYYY-MM-DD HH:MM"]
    slips = await client.get("/desk/packing-list", params=[("ids", "o3"), ("ids", "o1"),
                                                           ("order_by", "sku")])
    assert slips.status_code == 200
    assert slips.text.index('id="slip-P1"') < slips.text.index('id="slip-P3"')


async def test_print_endpoints_refuse_clearly(client: httpx.AsyncClient,
                                              cloud_engine: Engine) -> None:
    csrf = await _lead(client, cloud_engine)
    head = {"X-CSRF-Token": csrf}
    none = await client.post("/desk/print-data", data={"order_by": "sku"}, headers=head)
    assert (none.status_code, none.json()) == (400, {"error": "请先勾选订单"})
    again = await client.post("/desk/print-data", data={"ids": ["o2"]}, headers=head)
    assert (again.status_code, again.json()) == (400, {"error": "1 单已打印过, 重打请填写原因"})
    ok = await client.post("/desk/print-data", data={"ids": ["o1", "o3"]}, headers=head)
    assert [d["documentID"] for d in ok.json()["documents"]] == ["ZT1"]  # o3 has no number
    for body in (b"not json", b'{"taskId": "T1"}', b'{"taskId": "T1", "printed": [1]}'):
        bad = await client.post("/desk/printed", content=body,
                                headers={**head, "Content-Type": "application/json"})
        assert (bad.status_code, bad.json()) == (400, {"error": "请求格式错误 / malformed request"})
    done = await client.post("/desk/printed", json={
        "taskId": "T1", "printer": "Deli", "printed": [{"orderId": "o1", "documentID": "ZT1"}]},
        headers=head)
    assert done.json() == {"recorded": 1}
    await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/desk"})
    again = await client.post("/desk/print-data", data={"ids": ["o1"]}, headers=head)
    assert again.json() == {"error": "1 already printed: give a reason to reprint"}
    page = await client.get("/desk")
    assert "Print desk" in page.text and "Printed" in page.text


async def test_take_numbers_from_the_fake_pdd(client: httpx.AsyncClient, cloud_engine: Engine,
                                             sealer: Sealer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Three allocated orders the worker's waybill pass has not reached yet; the platform no
    # longer knows the third: two numbers, one refusal shown with the platform's reason.
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    running = run_fake_platform("pdd", 0, 83, history_hours=2, orders_per_hour=30)
    try:
        fake = running.fake
        shop_id = await connect_shop(cloud_engine, sealer, running)

        async def not_yet(*_a: object, **_k: object) -> WaybillResult:
            return WaybillResult()

        monkeypatch.setattr(waybills_module, "request_waybills", not_yet)
        async with Worker(cloud_engine, sealer, settings=WorkerSettings(
                listen_push=False)) as worker:
            assert (await worker.tick(shop_id)).error == ""
        with cloud_engine.connect() as conn:
            picked = conn.execute(sa.select(orders.c.id, orders.c.platform_order_id).where(
                orders.c.shop_id == shop_id, orders.c.state == "allocated")
                .order_by(orders.c.id).limit(3)).all()
        assert len(picked) == 3
        with fake.lock:
            del fake.gen.orders[picked[2].platform_order_id]
        csrf = csrf_of((await client.get("/desk")).text)
        ids = [p.id for p in picked]
        page = await client.post("/desk/numbers", data={"csrf_token": csrf, "ids": ids,
                                                        "order_by": "ship_by"})
        assert page.status_code == 200
        assert "取号完成: 成功 2 单, 待重试 0 单, 平台拒绝 1 单, 无需取号 0 单" in page.text
        assert cells(page.text, "desk-failures") == [
            [picked[2].platform_order_id, "面单申请失败 / waybill refused: 订单不存在"]]
        with cloud_engine.connect() as conn:
            stored = dict(conn.execute(sa.select(waybills.c.order_id, waybills.c.waybill_no)
                                       .where(waybills.c.order_id.in_(ids))).all())
            states = dict(conn.execute(sa.select(orders.c.id, orders.c.state)
                                       .where(orders.c.id.in_(ids))).all())
        assert set(stored) == set(ids[:2])
        assert {w.number for w in fake.waybills} == set(stored.values())  # nothing else issued
        assert states == {ids[0]: "tasked", ids[1]: "tasked", ids[2]: "exception"}
        again = await client.post("/desk/numbers", data={"csrf_token": csrf, "ids": ids})
        assert "成功 0 单, 待重试 0 单, 平台拒绝 0 单, 无需取号 3 单" in again.text
    finally:
        running.stop()
