"""The 打单台's domain (``cloud.desk``) on both engines, against a hand-made day: which
orders it lists under each filter and in each print order, their print status, the
documents the print component gets (the platform's print data unchanged, then the custom
area), and prints kept once, a reprint only with a reason.

Orders at T0 (2026-12-05 10:00 China time); balances A: A-01 9, A-02 5; B: B-01 3.

| order | state     | ship-by | paid     | province | lines      | waybill      |
|-------|-----------|---------|----------|----------|------------|--------------|
| o1    | tasked    | +2 h    | −5 h     | 浙江     | A×1        | ZT1 (ZTO)    |
| o2    | tasked    | −1 h    | −10 h    | 上海     | B×2        | YT2 (YTO)    |
| o3    | allocated | +5 h    | −1 h     | 浙江     | A×1, B×1   | —            |
| o4    | shipped   |         |          |          | A×1        | (not listed) |
| o5    | tasked, merged into o1                          | (not listed) |

o2's label was printed once at a station (P01, T0 − 30 min). The shop's ZTO choice has a
custom-area template; YTO has none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import desk
from cloud.db.schema import audit_log, shops, skus, station_label_prints, stock_balances, warehouses
from cloud.db.schema_couriers import courier_choices, desk_prints
from cloud.db.schema_orders import order_events, order_lines, orders, waybills
from cloud.errors import InputError

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
"""10:00 China time."""
H = timedelta(hours=1)
PRINT_DATA = {"encryptedData": "e1", "signature": "s1", "templateURL": "https://t/1",
              "ver": "waybill_print_secret_version_1"}
"""The fake platform's print data of ZT1 (an object the component renders)."""
LAYOUT = "https://cloudprint.cainiao.com/template/custom/4711"
"""The shop's custom-area template for ZTO."""


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(warehouses.insert().values(id="WH1", name="杭州仓"))
        conn.execute(shops.insert().values(id="shop-a", platform="pdd", name="甲店",
                                           created_at=T0))
        conn.execute(skus.insert(), [{"sku": "A", "name_zh": "杯子"},
                                     {"sku": "B", "name_zh": "毛巾"}])
        conn.execute(stock_balances.insert(), [
            {"warehouse_id": "WH1", "sku": "A", "location": "A-02", "qty": 5},
            {"warehouse_id": "WH1", "sku": "A", "location": "A-01", "qty": 9},
            {"warehouse_id": "WH1", "sku": "B", "location": "B-01", "qty": 3}])
        base = {"shop_id": "shop-a", "platform": "pdd", "platform_status": "paid",
                "raw_status": "1", "platform_updated_at": T0, "first_seen_at": T0,
                "updated_at": T0, "warehouse_id": "WH1", "station_id": "st-1"}
        for oid, state, ship_by, paid, province, lines, merged in (
                ("o1", "tasked", T0 + 2 * H, T0 - 5 * H, "浙江", {"A": 1}, None),
                ("o2", "tasked", T0 - H, T0 - 10 * H, "上海", {"B": 2}, None),
                ("o3", "allocated", T0 + 5 * H, T0 - H, "浙江", {"A": 1, "B": 1}, None),
                ("o4", "shipped", T0, T0 - H, "浙江", {"A": 1}, None),
                ("o5", "tasked", T0, T0 - H, "浙江", {"A": 1}, "o1")):
            conn.execute(orders.insert().values(
                id=oid, platform_order_id=f"P{oid[1:]}", state=state, ship_by=ship_by,
                ordered_at=paid, receiver_masked={"province": province}, merged_into=merged,
                seller_note="易碎" if oid == "o1" else "", **base))
            conn.execute(order_lines.insert(), [
                {"order_id": oid, "line_no": n, "qty": q, "price_fen": 100, "sku": s,
                 "sku_qty": q} for n, (s, q) in enumerate(lines.items(), 1)])
        conn.execute(waybills.insert(), [
            {"order_id": "o1", "waybill_no": "ZT1", "carrier_code": "ZTO",
             "print_data": json.dumps(PRINT_DATA), "issued_at": T0},
            {"order_id": "o2", "waybill_no": "YT2", "carrier_code": "YTO",
             "print_data": json.dumps({"encryptedData": "e2", "signature": "s2"}),
             "issued_at": T0}])
        conn.execute(courier_choices.insert().values(  # ZTO's custom area; YTO has none
            shop_id="shop-a", carrier_code="ZTO", branch_code="B1", province="浙江省",
            city="杭州市", district="余杭区", detail="仓前街道1号", template_id="T76",
            template_url="https://t/std76", custom_area_url=LAYOUT, chosen_by="boss",
            chosen_at=T0))
        conn.execute(station_label_prints.insert().values(
            msg_id="lp-1", station_id="st-1", order_id="o2", n=1, operator_id="P01",
            reason=None, printed_at=T0 - timedelta(minutes=30), received_at=T0))


def _ids(engine: Engine, f: desk.Filters) -> list[str]:
    with engine.connect() as conn:
        return [r.order_id for r in desk.rows(conn, f)]


def test_filters_and_print_orders(cloud_engine: Engine) -> None:
    _seed(cloud_engine)
    F = desk.Filters
    assert _ids(cloud_engine, F()) == ["o2", "o1", "o3"]  # by ship-by
    assert _ids(cloud_engine, F(single_only=True)) == ["o1"]
    assert _ids(cloud_engine, F(carrier="ZTO")) == ["o1"]
    assert _ids(cloud_engine, F(sku="B")) == ["o2", "o3"]
    assert _ids(cloud_engine, F(province="浙江")) == ["o1", "o3"]
    assert _ids(cloud_engine, F(paid_before=T0 - 6 * H)) == ["o2"]
    assert _ids(cloud_engine, F(ship_by_before=T0 + 3 * H)) == ["o2", "o1"]
    assert _ids(cloud_engine, F(shop_id="nope")) == []
    assert _ids(cloud_engine, F(order_by="sku")) == ["o1", "o3", "o2"]  # A×1, A+B, B
    assert _ids(cloud_engine, F(order_by="location")) == ["o1", "o3", "o2"]  # B-01
    with cloud_engine.connect() as conn:
        got = {r.order_id: r for r in desk.rows(conn, F())}
    o1, o2, o3 = got["o1"], got["o2"], got["o3"]
    assert (o1.waybill_no, o1.carrier, o1.location, o1.items, o1.units) == (
        "ZT1", "ZTO", "A-01", [("A", "杯子", 1)], 1)
    assert (o3.waybill_no, o3.units, o3.state) == ("", 2, "allocated")
    assert [o2.late(T0), o1.late(T0), o3.late(T0)] == [True, False, False]
    assert (o2.prints, o2.last_by, o2.last_at) == (1, "P01", T0 - timedelta(minutes=30))
    assert (o1.prints, o1.last_by) == (0, "")


def test_only_the_shown_orders_are_read_in_ship_by_order(
        cloud_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most ROW_LIMIT orders are read when SQL already has them in print order (one with
    no deadline last); filters applied after reading still see every order."""
    _seed(cloud_engine)
    with cloud_engine.begin() as conn:
        conn.execute(sa.update(orders).where(orders.c.id == "o2").values(ship_by=None))
    monkeypatch.setattr(desk, "ROW_LIMIT", 2)
    F = desk.Filters
    assert _ids(cloud_engine, F()) == ["o1", "o3"]
    assert _ids(cloud_engine, F(province="浙江")) == ["o1", "o3"]
    assert _ids(cloud_engine, F(single_only=True)) == ["o1"]
    assert _ids(cloud_engine, F(order_by="sku")) == ["o1", "o3"]
    monkeypatch.setattr(desk, "ROW_LIMIT", 3)
    assert _ids(cloud_engine, F()) == ["o1", "o3", "o2"]


def test_documents_and_prints(cloud_engine: Engine) -> None:
    _seed(cloud_engine)
    with cloud_engine.connect() as conn:
        with pytest.raises(InputError) as refused:  # o2 was printed at a station
            desk.documents(conn, ["o1", "o2", "o3"], order_by="ship_by", reason="", now=T0)
        assert refused.value.problems[0].zh == "1 单已打印过, 重打请填写原因"
        docs = desk.documents(conn, ["o1", "o2", "o3"], order_by="ship_by", reason="卡纸",
                              now=T0)
    assert [(d["documentID"], d["orderId"]) for d in docs] == [("YT2", "o2"), ("ZT1", "o1")]
    assert docs[0]["contents"] == [{"encryptedData": "e2", "signature": "s2"}]  # YTO: no area
    assert docs[1]["contents"] == [PRINT_DATA, {"templateURL": LAYOUT, "data": {
        "orderNo": "P1", "items": [{"sku": "A", "name": "杯子", "qty": 1}],
        "itemsSummary": "杯子×1", "sellerNote": "易碎", "printTime": "2026-12-05 10:00"}}]
    with cloud_engine.begin() as conn:
        assert desk.record_prints(conn, "T1", "Deli DL-888D", [("o1", "ZT1")], actor="lead",
                                  reason="", now=T0) == 1
    with cloud_engine.begin() as conn:  # the same result reported again
        assert desk.record_prints(conn, "T1", "Deli DL-888D", [("o1", "ZT1")], actor="lead",
                                  reason="", now=T0) == 0
    with cloud_engine.begin() as conn, pytest.raises(InputError):
        desk.record_prints(conn, "T2", "Deli DL-888D", [("o1", "ZT1")], actor="lead",
                           reason=" ", now=T0 + H)
    with cloud_engine.begin() as conn:
        assert desk.record_prints(conn, "T3", "Deli DL-888D", [("o1", "ZT1")], actor="lead2",
                                  reason="字迹模糊", now=T0 + H) == 1
    with cloud_engine.connect() as conn:
        kept = conn.execute(sa.select(desk_prints.c.id, desk_prints.c.n, desk_prints.c.printed_by,
                                      desk_prints.c.reason).order_by(desk_prints.c.n)).all()
        events = conn.execute(sa.select(order_events.c.action, order_events.c.actor,
                                        order_events.c.reason).order_by(order_events.c.id)).all()
        audits = conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == "desk.print")).scalar_one()
        o1 = next(r for r in desk.rows(conn, desk.Filters()) if r.order_id == "o1")
    assert [tuple(r) for r in kept] == [("T1:ZT1", 1, "lead", None),
                                        ("T3:ZT1", 2, "lead2", "字迹模糊")]
    assert [tuple(e) for e in events] == [("desk_print", "lead", "ZT1 @ Deli DL-888D"),
                                          ("desk_reprint", "lead2", "字迹模糊")]
    assert audits == 2
    assert (o1.prints, o1.last_by, o1.last_at) == (2, "lead2", T0 + H)
    with cloud_engine.connect() as conn:
        slips = desk.packing_list(conn, ["o3", "o1"], "location")
    assert [(s.platform_order_id, s.items) for s in slips] == [
        ("P1", [("A", "杯子", 1)]), ("P3", [("A", "杯子", 1), ("B", "毛巾", 1)])]
