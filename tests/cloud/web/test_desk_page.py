"""打单台 pages without a browser: the list and its filters work as plain forms (a bad time
is said next to its field), the print endpoints answer bad requests with a clear 400 and
refuse a reprint without a reason, the 发货单 lists what was ticked; English on request.
The data is the one of ``tests/cloud/test_desk.py``."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import Engine

from edge.domain.models import Role
from tests.cloud.test_desk import _seed
from tests.cloud.web.support import add_users, cells, csrf_of, field_errors, login, username


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
