"""快递费 / 快递对账 on both engines, against numbers worked out by hand: a parcel costs the
first price plus each started step over the first weight, by its carrier's card on the day
shipped (China Standard Time) and the receiver's province (or the ``*`` row); a card
replaced mid-period; parcels without a weight or a card are 未计费; the courier's bill
compared line by line."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import courier_charges as cc
from cloud.db.schema import audit_log, shops, station_shipments
from cloud.db.schema_orders import orders
from cloud.db.schema_purchasing import courier_rates
from cloud.errors import InputError

T = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 on 3 December in Beijing
CARD_NOV = "浙江 1000 3.00 1000 1.00\n* 1000 5.00 1000 3.00\n"
CARD_DEC = "浙江 1000 3.50 500 0.80\n"  # from 2 December; no * row



PARCELS = [  # waybill, carrier, province, grams, shipped (Beijing)
    ("W1", "ZTO", "浙江省", 2350, (12, 1, 10)),  # matched to the card's 浙江
    ("W2", "ZTO", "浙江", 1000, (12, 1, 11)),
    ("W3", "ZTO", "浙江", 1001, (12, 1, 12)),
    ("W4", "ZTO", "广东省", 1500, (12, 1, 13)),
    ("W5", "ZTO", "浙江", None, (12, 1, 14)),
    ("W6", "ZTO", "浙江", 1600, (12, 2, 0, 10)),  # 1 December in UTC, 2 December in Beijing
    ("W7", "ZTO", "广东", 800, (12, 2, 9)),
    ("W8", "YTO", "浙江", 900, (12, 1, 9)),
    ("W9", "ZTO", "浙江", 700, (11, 30, 23, 50)),  # before the period
]


def seed(engine: Engine, *, cards: bool = True) -> None:
    from cloud.config import DISPLAY_TZ

    with engine.begin() as conn:
        conn.execute(sa.insert(shops).values(id="S1", platform="taobao", name="店",
                                             created_at=T))
        for wb, carrier, province, grams, at in PARCELS:
            shipped = datetime(2026, *at, tzinfo=DISPLAY_TZ).astimezone(UTC)  # type: ignore[misc]
            conn.execute(sa.insert(orders).values(
                id=f"O-{wb}", shop_id="S1", platform="taobao", platform_order_id=wb,
                platform_status="WAIT_SELLER_SEND_GOODS", raw_status="x",
                platform_updated_at=T, receiver_masked={"province": province, "city": "某市",
                                                        "name": "张*", "phone": "***"},
                first_seen_at=T, updated_at=T))
            conn.execute(sa.insert(station_shipments).values(
                msg_id=f"m-{wb}", station_id="ST1", order_id=f"O-{wb}", waybill_no=wb,
                carrier=carrier, weight_g=grams, operator_id="p", shipped_at=shipped,
                received_at=shipped))
        if cards:
            cc.save_card(conn, "ZTO", effective_from="2026-11-01", rows=CARD_NOV, actor="fin",
                         now=NOW)
            cc.save_card(conn, "ZTO", effective_from="2026-12-02", rows=CARD_DEC, actor="fin",
                         now=NOW)


@pytest.mark.parametrize(("grams", "fen"), [(1000, 300), (1001, 400), (2350, 500),
                                            (3000, 500), (3001, 600), (1, 300)])
def test_rate_boundaries(grams: int, fen: int) -> None:
    # 浙江 1000 3.00 1000 1.00: 3.00 up to 1,000 g, then 1.00 per started 1,000 g
    assert cc.Rate("浙江", 1000, 300, 1000, 100).charge(grams) == fen


def test_province_key() -> None:
    assert [cc.province_key(p) for p in ("浙江省", "浙江", "上海市", "广西壮族自治区",
                                         "香港特别行政区", "*", "")] == [
        "浙江", "浙江", "上海", "广西", "香港", "*", ""]


def test_statement_with_replaced_card_and_unbilled(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.connect() as conn:
        st = cc.statement(conn, "ZTO", date(2026, 12, 1), date(2026, 12, 2))
        yto = cc.statement(conn, "YTO", date(2026, 12, 1), date(2026, 12, 2))
        actions = [r.action for r in conn.execute(sa.select(audit_log.c.action))]
    assert [(p.waybill_no, p.on.day, p.province, p.weight_g, p.charge_fen, p.unbilled)
            for p in st.parcels] == [
        ("W1", 1, "浙江", 2350, 500, None),      # 3.00 + ceil(1350/1000)=2 × 1.00
        ("W2", 1, "浙江", 1000, 300, None),      # at the first weight
        ("W3", 1, "浙江", 1001, 400, None),      # one gram over: one step
        ("W4", 1, "广东", 1500, 800, None),      # the * row: 5.00 + 1 × 3.00
        ("W5", 1, "浙江", None, None, "no_weight"),
        ("W6", 2, "浙江", 1600, 510, None),      # December card: 3.50 + ceil(600/500)=2 × 0.80
        ("W7", 2, "广东", 800, None, "no_row"),  # the December card has no * row
    ]
    # 7 parcels; 2350+1000+1001+1500+1600+800 = 8,251 g; 5+3+4+8+5.10 = 25.10 yuan
    assert (st.count, st.weight_g, st.charge_fen) == (7, 8251, 2510)
    assert st.by_province() == [("浙江", 5, 5951, 1710), ("广东", 2, 2300, 800)]
    assert [(p.waybill_no, p.unbilled) for p in yto.parcels] == [("W8", "no_card")]
    assert actions == ["courier_rates.save", "courier_rates.save"]
    ws = openpyxl.load_workbook(io.BytesIO(cc.statement_xlsx(st))).active
    assert ws is not None and ws.freeze_panes == "A5"
    totals = [c.value for c in ws[5 + 7]]
    assert totals[4:6] == [8251, pytest.approx(25.10)]


def test_card_replaced_same_day_and_bad_rows(cloud_engine: Engine) -> None:
    seed(cloud_engine, cards=False)
    bad = "浙江 1000 3.00 1000\n广东 0 3 1000 1\n\n江苏 1000 3.001 1000 1\n上海 1000 3 1000 1\n" \
          "上海 1000 3 1000 1\n"
    with cloud_engine.begin() as conn, pytest.raises(InputError) as err:
        cc.save_card(conn, "ZTO", effective_from="2026-13-01", rows=bad, actor="fin", now=NOW)
    texts = [p.zh for p in err.value.problems]
    assert [p.field for p in err.value.problems] == ["effective_from"] + ["rows"] * 4
    assert [t.split(":")[0] for t in texts[1:]] == ["第 1 行", "第 2 行", "第 4 行", "第 6 行"]
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(courier_rates)).scalar() == 0
        cc.save_card(conn, "ZTO", effective_from="2026-11-01", rows=CARD_NOV, actor="fin", now=NOW)
        assert cc.save_card(conn, "ZTO", effective_from="2026-11-01",
                            rows="* 1000 6 1000 2", actor="fin", now=NOW) == 1
        st = cc.statement(conn, "ZTO", date(2026, 12, 1), date(2026, 12, 1))
    # only the replacing card: W1 2,350 g → 6.00 + 2 × 2.00 = 10.00
    assert st.parcels[0].charge_fen == 1000


def test_bill_comparison(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    bill = ("\ufeff运单号,重量,金额\n"
            "W1,2.35,5.00\n"     # equal
            "W2,1.00,3.50\n"     # we say 3.00: +0.50
            "W3,1.20,4.00\n"     # same amount, weight 1,200 g vs our 1,001 g
            "W4,1.5,8\n"         # equal
            "WX,0.5,6.00\n"      # not ours
            ).encode()
    lines = cc.parse_bill(bill)
    with cloud_engine.begin() as conn:
        st = cc.statement(conn, "ZTO", date(2026, 12, 1), date(2026, 12, 2))
        result = cc.compare(st, lines)
        cc.record_check(conn, st, result, filename="zto.csv", actor="fin", now=NOW)
        detail = conn.execute(sa.select(audit_log.c.detail)
                              .where(audit_log.c.action == "courier_bill.check")).scalar_one()
    assert result.matched == ["W1", "W4"]
    assert [(d.waybill_no, d.ours_fen, d.theirs_fen, d.difference_fen)
            for d in result.amount_differs] == [("W2", 300, 350, 50)]
    assert [(d.waybill_no, d.ours_g, d.theirs_g) for d in result.weight_differs] == [
        ("W3", 1001, 1200)]
    assert [(b.waybill_no, b.weight_g, b.amount_fen) for b in result.not_shipped] == [
        ("WX", 500, 600)]
    assert [p.waybill_no for p in result.not_billed] == ["W5", "W6", "W7"]
    # theirs 5 + 3.50 + 4 + 8 + 6 = 26.50; ours 25.10
    assert (result.theirs_fen, result.ours_fen) == (2650, 2510)
    assert detail["amount_differs"] == 1 and detail["theirs_fen"] == 2650
    # English headings with grams; a bad line and a repeated waybill are both reported
    assert cc.parse_bill(b"waybill_no,weight_g,amount\nW1,2350,5\n") == [
        cc.BillLine("W1", 2350, 500)]
    with pytest.raises(InputError) as err:
        cc.parse_bill("运单号,金额\nW1,abc\nW2,1\nW2,1\n".encode())
    assert [p.zh for p in err.value.problems] == ["第 2 行无法读取", "第 4 行: 运单号 W2 重复"]
