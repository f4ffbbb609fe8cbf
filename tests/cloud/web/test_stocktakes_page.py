"""The 盘点差异 pages: the list with variance totals and one stocktake's lines (the recount
standing, the first count shown as replaced), in Chinese and in English, on both engines;
a packer is refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.engine import Engine

from cloud import stocktakes
from edge.domain.models import Role
from edge.sync.schema import Envelope, StocktakeWire
from tests.cloud.web.support import T0, cells, login, signed_in, token, username


def _seed(engine: Engine) -> None:
    """PD-st-01-20261201-1: CUP at A-01 counted 4 (books 10), recounted 9 (−1, adjusted);
    TOWEL at A-02 counted 2 with none on the books (+2); BAG at A-02 as on the books."""
    wire = StocktakeWire(
        stocktake_id="PD-st-01-20261201-1", warehouse_id="WH1", scope="zone", scope_value="A",
        snapshot_seq=41, started_by="L01", started_at=T0, approved_by="L02",
        approved_at=T0 + timedelta(hours=1), lines=[
            {"location": "A-01", "sku": "CUP", "round": 1, "counted": 4, "expected": 10,
             "final": False},
            {"location": "A-01", "sku": "CUP", "round": 2, "counted": 9, "expected": 10,
             "final": True, "move_id": "m-cup"},
            {"location": "A-02", "sku": "BAG", "round": 1, "counted": 5, "expected": 5,
             "final": True},
            {"location": "A-02", "sku": "TOWEL", "round": 1, "counted": 2, "expected": 0,
             "final": True, "move_id": "m-towel"}])
    env = Envelope(msg_id="stocktake-0001", kind="stocktake", station_id="st-01",
                   created_at=T0, payload=wire.model_dump(mode="json"))
    with engine.begin() as conn:
        assert stocktakes.record(conn, "st-01", env, wire, T0)
        assert not stocktakes.record(conn, "st-01", env, wire, T0)  # redelivered


async def test_list_and_detail_in_both_languages(client: httpx.AsyncClient,
                                                 cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    assert '<p class="empty">没有记录</p>' in (await client.get("/stocktakes")).text
    _seed(cloud_engine)
    page = await client.get("/stocktakes")
    assert page.status_code == 200 and "盘点差异" in page.text
    # lines 3 (final), differ 2, over 2, short 1, recounts 1
    assert [row[0:4] + row[5:] for row in cells(page.text, "stocktakes-table")] == [
        ["PD-st-01-20261201-1", "st-01", "WH1", "库区 A", "3", "2", "2", "1", "1"]]
    one = await client.get("/stocktakes/PD-st-01-20261201-1")
    assert one.status_code == 200
    assert cells(one.text, "stocktake-lines") == [
        ["A-01", "CUP", "初盘 (已被复盘取代)", "10", "4", "-6", ""],
        ["A-01", "CUP", "复盘", "10", "9", "-1", "m-cup"],
        ["A-02", "BAG", "初盘", "5", "5", "0", ""],
        ["A-02", "TOWEL", "初盘", "0", "2", "+2", "m-towel"]]
    csrf = await token(client, "/stocktakes")
    await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/stocktakes"})
    en = await client.get("/stocktakes/PD-st-01-20261201-1")
    assert "Stocktake PD-st-01-20261201-1" in en.text
    assert cells(en.text, "stocktake-lines")[0][2] == "First count (replaced by the recount)"
    unknown = await client.get("/stocktakes/PD-NONE")
    assert unknown.status_code == 303 and unknown.headers["location"] == "/stocktakes"


async def test_a_packer_is_refused(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    client.cookies.clear()
    assert (await login(client, username(Role.PACKER))).status_code == 303
    r = await client.get("/stocktakes")
    assert r.status_code == 403 and "无权访问" in r.text


async def test_a_lead_plans_a_count_for_the_warehouse_stations_and_cancels_another(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    """The plan goes to every station of the warehouse as a ``count_plan``; bad input is
    shown next to its field and writes nothing; a cancellation is sent too; a station's
    approved stocktake naming the plan marks it done; the variance lines download."""
    import io

    import openpyxl
    import sqlalchemy as sa

    from cloud.db.schema import downlink_outbox, stocktake_plans

    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)  # WH1: stations st-1, st-2
    bad = await client.post("/stocktakes/plans", data={
        "csrf_token": await token(client, "/stocktakes"), "warehouse": "WH1", "scope": "sku",
        "scope_value": "NOPE", "note": ""})
    assert bad.status_code == 400 and "没有商品 NOPE" in bad.text
    empty_zone = await client.post("/stocktakes/plans", data={
        "csrf_token": await token(client, "/stocktakes"), "warehouse": "WH1", "scope": "zone",
        "scope_value": " ", "note": ""})
    assert empty_zone.status_code == 400 and "请填写库区" in empty_zone.text
    for value in ("A", "B"):
        r = await client.post("/stocktakes/plans", data={
            "csrf_token": await token(client, "/stocktakes"), "warehouse": "WH1",
            "scope": "zone", "scope_value": value, "note": f"库区 {value}"})
        assert r.status_code == 303
    r = await client.post("/stocktakes/plans/PDP-00002/cancel",
                          data={"csrf_token": await token(client, "/stocktakes")})
    assert r.status_code == 303
    with cloud_engine.connect() as conn:
        sent = [(s, p["plan_id"], p["scope_value"], p["status"]) for s, p in conn.execute(
            sa.select(downlink_outbox.c.station_id, downlink_outbox.c.payload)
            .where(downlink_outbox.c.kind == "count_plan").order_by(downlink_outbox.c.seq))]
    assert sent == [("st-1", "PDP-00001", "A", "open"), ("st-2", "PDP-00001", "A", "open"),
                    ("st-1", "PDP-00002", "B", "open"), ("st-2", "PDP-00002", "B", "open"),
                    ("st-1", "PDP-00002", "B", "cancelled"),
                    ("st-2", "PDP-00002", "B", "cancelled")]
    wire = StocktakeWire(
        stocktake_id="PD-st-01-20261202-1", warehouse_id="WH1", scope="zone", scope_value="A",
        snapshot_seq=3, started_by="L01", started_at=T0, approved_by="L01", approved_at=T0,
        plan_id="PDP-00001", lines=[{"location": "A-01", "sku": "CUP", "round": 1,
                                     "counted": 3, "expected": 5, "final": True,
                                     "move_id": "m-1"}])
    env = Envelope(msg_id="stocktake-0009", kind="stocktake", station_id="st-01",
                   created_at=T0, payload=wire.model_dump(mode="json"))
    with cloud_engine.begin() as conn:
        assert stocktakes.record(conn, "st-01", env, wire, T0)
        states = dict(conn.execute(sa.select(stocktake_plans.c.id, stocktake_plans.c.status)).all())
    assert states == {"PDP-00001": "done", "PDP-00002": "cancelled"}
    page = await client.get("/stocktakes")
    assert [r[:5] for r in cells(page.text, "plans-table")] == [
        ["PDP-00002", "WH1", "库区 B", "库区 B", "已取消"],
        ["PDP-00001", "WH1", "库区 A", "库区 A", "已完成 · PD-st-01-20261202-1"]]
    book = openpyxl.load_workbook(io.BytesIO(
        (await client.get("/stocktakes/PD-st-01-20261202-1.xlsx")).content))
    rows = list(book.active.iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("A-01", "CUP", 1, 5, 3, -2, "是", "m-1")
    csv_text = (await client.get("/stocktakes/PD-st-01-20261202-1.csv")).text
    assert "A-01,CUP,1,5,3,-2,是,m-1" in csv_text


async def test_a_manager_sees_the_plan_form(client: httpx.AsyncClient,
                                            cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    assert 'id="plan-form"' in (await client.get("/stocktakes")).text
