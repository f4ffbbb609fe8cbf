"""波次拣货 pages: a warehouse lead builds waves for a station (bad input shown next to the
field, nothing written), sees a wave's orders and slots, then its short pick once the
station's pick arrives, and cancels an open wave; Chinese by default, English on request."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema_orders import waves as waves_table
from cloud.orders import waves
from edge.domain.models import Role
from edge.sync.schema import WavePickLineWire, WavePickWire, wave_pick_msg_id
from tests.cloud.orders.wave_support import T0, seed
from tests.cloud.web.support import add_users, cells, count, csrf_of, field_errors, login, username


async def _lead(client: httpx.AsyncClient, engine: Engine) -> str:
    add_users(engine)
    seed(engine)
    assert (await login(client, username(Role.WAREHOUSE_LEAD))).status_code == 303
    page = await client.get("/waves")
    assert page.status_code == 200 and "生成波次" in page.text
    return csrf_of(page.text)


async def test_build_show_short_and_cancel(client: httpx.AsyncClient,
                                          cloud_engine: Engine) -> None:
    csrf = await _lead(client, cloud_engine)
    bad = await client.post("/waves", data={"csrf_token": csrf, "station": "", "kind": "multi",
                                            "max_orders": "x", "ship_by_before": "明天"})
    assert bad.status_code == 400
    errors = field_errors(bad.text)
    assert errors["station"] == ["请选择打包工作站"]
    assert errors["max_orders"] == ["请填写整数"]
    assert errors["ship_by_before"] == ["时间格式应为 YYYY-MM-DD HH:MM"]
    assert count(cloud_engine, waves_table) == 0
    # multi of ZTO in zone A: o4 alone (see tests/cloud/orders/test_waves.py)
    made = await client.post("/waves", data={
        "csrf_token": csrf, "station": "st-1", "kind": "multi", "carrier": "ZTO",
        "ship_by_before": "", "zone": "A", "max_orders": "30"})
    assert made.status_code == 303 and made.headers["location"] == "/waves/WV20261201-001"
    page = await client.get("/waves/WV20261201-001")
    assert cells(page.text, "wv-orders") == [["1", "Po4", "2", "2026-12-01 13:00", "待打包", "", ""]]
    assert "待拣货" in page.text
    # the station picked it one C short: o4 is intercepted and shown short
    with cloud_engine.begin() as conn:
        assert waves.on_pick(conn, "st-1", wave_pick_msg_id("WV20261201-001"), WavePickWire(
            wave_id="WV20261201-001", operator_id="P01", at=T0 + timedelta(minutes=5),
            lines=[WavePickLineWire(location="A-01-01", sku="A", wanted=1, picked=1),
                   WavePickLineWire(location="A-02-03", sku="C", wanted=1, picked=0)],
            short_orders=["o4"]), now=T0 + timedelta(minutes=6))
    page = await client.get("/waves/WV20261201-001")
    assert cells(page.text, "wv-orders") == [
        ["1", "Po4", "2", "2026-12-01 13:00", "已拦截", "", "拣货缺货"]]
    assert cells(page.text, "wv-pick") == [["A-01-01", "A", "1", "1"], ["A-02-03", "C", "1", "0"]]
    assert "已拣完" in page.text and "wv-cancel" not in page.text
    listing = await client.get("/waves")
    assert cells(listing.text, "wv-table")[0][:7] == [
        "WV20261201-001", "st-1", "多品 (播种)", "ZTO", "已拣完", "1", "1"]
    # English on request
    await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/waves"})
    page = await client.get("/waves/WV20261201-001")
    assert "Short pick" in page.text and "Picked" in page.text


async def test_cancel_needs_a_reason(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    csrf = await _lead(client, cloud_engine)
    made = await client.post("/waves", data={
        "csrf_token": csrf, "station": "st-1", "kind": "single", "carrier": "",
        "ship_by_before": "2026-12-01 12:30", "zone": "", "max_orders": "30"})
    # singles due before 12:30 CST (T0 + 2 h 30 min): o2 (+2 h)
    assert made.headers["location"] == "/waves/WV20261201-001"
    page = await client.get("/waves/WV20261201-001")
    assert [r[1] for r in cells(page.text, "wv-orders")] == ["Po2"]
    refused = await client.post("/waves/WV20261201-001/cancel",
                                data={"csrf_token": csrf, "reason": " "})
    assert refused.status_code == 400
    assert field_errors(refused.text)["reason"] == ["请写明取消原因"]
    done = await client.post("/waves/WV20261201-001/cancel",
                             data={"csrf_token": csrf, "reason": "重新分波"})
    assert done.status_code == 303
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(waves_table.c.status, waves_table.c.cancelled_by)).one() \
            == ("cancelled", username(Role.WAREHOUSE_LEAD))
