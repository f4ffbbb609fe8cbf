"""发货绩效 (#16, the fulfilment and packers report): parcels, hours signed in, parcels per
hour, pack time, wrong scans, reweighs, weight overrides, reprints, late parcels, courier ×
weight band and the daily series — every figure written out by hand from the events below,
on both engines; the XLSX and CSV carry the same figures."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import station_operators, station_sign_ins
from cloud.db.schema_orders import orders
from cloud.db.schema_reports import fulfil_bands, fulfil_daily
from cloud.reports import fulfilment
from cloud.sync.reports import record_report
from edge.domain.models import Role
from edge.sync.schema import Envelope, LabelPrintWire, ShipmentWire
from tests.cloud.web.support import T0, cells, signed_in

CST = ZoneInfo("Asia/Shanghai")


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A China Standard Time wall-clock time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=CST).astimezone(UTC)


# The range is 2026-11-30 .. 2026-12-01 (China time); the web clock is at 12-01 10:00.
# Shifts:
#   st-1  P01 in 12-01 08:00, out 12:00                          → P01 4 h   (st-1)
#   st-1  P01 in 11-30 20:00, closed by P02 signing in at 22:00   → P01 2 h   (st-1)
#   st-1  P02 in 11-30 22:00, out 23:30                          → P02 1.5 h (st-1)
#   st-2  P02 in 12-01 09:00, never closed; P02's last parcel
#         there at 10:30                                          → P02 1.5 h (st-2)
#   st-2  P01 in 11-29 23:00, out 11-30 01:00: 1 h inside         → P01 1 h   (st-2)
#   P01 7 h, P02 3 h; st-1 7.5 h, st-2 2.5 h; all 10 h.
# Parcels (ship-by: pdd-1001 12-01 09:00, pdd-1002 09:40, pdd-1003 20:00):
#   s1 st-1 P01 pdd-1001 12-01 08:30 ZTO   400 g wrong 2 weighed 1 30 s
#   s2 st-1 P01 pdd-1003 12-01 09:30 ZTO  1200 g wrong 0 weighed 2 50 s override
#   s3 st-1 P01 pdd-1002 12-01 09:45 YTO   500 g wrong 1 (no pack time)     late
#   s4 st-1 P02 pdd-9999 11-30 22:30 ZTO  no weight, no figures (order unknown: not late)
#   s5 st-2 P02 pdd-1001 12-01 10:30 ZTO 12000 g wrong 0 weighed 1 40 s     late
#   s6 st-1 P01 pdd-1003 11-29 23:30 ZTO — before the range, counted nowhere
# Label prints: P01 at st-1 prints pdd-1001 (n=1, then n=2 "卡纸") → 1 reprint;
#   P02 at st-2 n=3 on 11-29 → outside.
# An order counts once, on its first parcel: pdd-1001's second parcel (s5) adds no order, and
# pdd-1003 counted on 11-29 (s6, before the range), so s2 adds none in the range.
# P01: 3 parcels, 2 orders (1001, 1002), 3 ÷ 7 h = 0.4/h, (30 + 50) ÷ 2 = 40.0 s, wrong 3, reweighed 1,
#      override 1, reprint 1, late 1.
# P02: 2 parcels, 1 order (9999), 2 ÷ 3 h = 0.7/h, 40.0 s (s5 only), late 1.
# st-1: 4 parcels, 3 orders, 4 ÷ 7.5 = 0.5/h, 40.0 s, wrong 3, reweighed 1, override 1,
#       reprint 1, late 1.  st-2: 1 parcel, 0 orders, 1 ÷ 2.5 = 0.4/h, 40.0 s, late 1.
# All: 5 parcels, 3 orders (1001, 1002, 9999), 10 h, 0.5/h, (30+50+40) ÷ 3 = 40.0 s.


SHIPMENTS = [  # msg, station, operator, order, shipped, courier, g, wrong, weighed, s, override
    ("s1", "st-1", "P01", "pdd-1001", _at(12, 1, 8, 30), "ZTO", 400, 2, 1, 30.0, 0),
    ("s2", "st-1", "P01", "pdd-1003", _at(12, 1, 9, 30), "ZTO", 1200, 0, 2, 50.0, 1),
    ("s3", "st-1", "P01", "pdd-1002", _at(12, 1, 9, 45), "YTO", 500, 1, 1, None, None),
    ("s4", "st-1", "P02", "pdd-9999", _at(11, 30, 22, 30), "ZTO", None, None, None, None, None),
    ("s5", "st-2", "P02", "pdd-1001", _at(12, 1, 10, 30), "ZTO", 12000, 0, 1, 40.0, 0),
    ("s6", "st-1", "P01", "pdd-1003", _at(11, 29, 23, 30), "ZTO", 300, 5, 3, 9.0, 1),
]
PRINTS = [  # msg, station, order, n, operator, reason, printed
    ("lp-1", "st-1", "pdd-1001", 1, "P01", None, _at(12, 1, 8, 20)),
    ("lp-2", "st-1", "pdd-1001", 2, "P01", "卡纸", _at(12, 1, 8, 25)),
    ("lp-3", "st-2", "pdd-1003", 3, "P02", "重打", _at(11, 29, 12)),
]


def _base(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(station_operators), [
            {"id": p, "name": name, "role": "packer", "version": 1, "created_at": T0,
             "updated_at": T0} for p, name in (("P01", "小王"), ("P02", "小李"))])
        for oid, by in (("pdd-1001", _at(12, 1, 9)), ("pdd-1002", _at(12, 1, 9, 40)),
                        ("pdd-1003", _at(12, 1, 20))):
            conn.execute(sa.update(orders).where(orders.c.id == oid).values(ship_by=by))
        conn.execute(sa.insert(station_sign_ins), [
            {"msg_id": f"si-{n}", "station_id": st, "operator_id": op, "event": ev,
             "at": at, "received_at": at}
            for n, (st, op, ev, at) in enumerate([
                ("st-1", "P01", "sign_in", _at(12, 1, 8)),
                ("st-1", "P01", "sign_out", _at(12, 1, 12)),
                ("st-1", "P01", "sign_in", _at(11, 30, 20)),
                ("st-1", "P02", "sign_in", _at(11, 30, 22)),
                ("st-1", "P02", "sign_out", _at(11, 30, 23, 30)),
                ("st-2", "P02", "sign_in", _at(12, 1, 9)),
                ("st-2", "P01", "sign_in", _at(11, 29, 23)),
                ("st-2", "P01", "sign_out", _at(11, 30, 1)),
            ])])


def _ingest(engine: Engine, order: list[int], prints: list[int]) -> None:
    """The stations' messages through the cloud's report ingest, in the order given."""
    def env(kind: str, msg: str, station: str, at: datetime) -> Envelope:
        return Envelope(msg_id=f"msg-{msg}-0000", kind=kind, station_id=station, created_at=at,
                        payload={})

    with engine.begin() as conn:
        for n in order:
            m, st, op, oid, at, carrier, grams, wrong, weighed, secs, over = SHIPMENTS[n]
            sent = {"rejected_scans": wrong, "weighings": weighed, "weight_overrides": over,
                    "pack_seconds": secs}
            kpis = {k: float(v) for k, v in sent.items() if v is not None}
            record_report(conn, st, env("shipment", m, st, at), ShipmentWire(
                order_id=oid, waybill_no=f"WB-{m}", carrier=carrier, weight_g=grams,
                operator_id=op, shipped_at=at, kpis=kpis), T0)
        for n in prints:
            m, st, oid, k, op, reason, at = PRINTS[n]
            record_report(conn, st, env("print", m, st, at), LabelPrintWire(
                order_id=oid, doc="label", n=k, operator_id=op, reason=reason, at=at), T0)


def _seed(engine: Engine) -> None:
    _base(engine)
    _ingest(engine, list(range(len(SHIPMENTS))), list(range(len(PRINTS))))


def _summary(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return ([tuple(r) for r in conn.execute(sa.select(fulfil_daily).where(
                    sa.or_(*(fulfil_daily.c[m] != 0 for m in fulfilment.DAILY_MEASURES)))
                    .order_by(*fulfil_daily.primary_key.columns))],
                [tuple(r) for r in conn.execute(sa.select(fulfil_bands).where(
                    fulfil_bands.c.parcels != 0).order_by(*fulfil_bands.primary_key.columns))])


RANGE = {"from": "2026-11-30", "to": "2026-12-01"}


async def test_each_packer_and_station_figure_as_worked_out_by_hand(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    _seed(cloud_engine)
    page = await client.get("/reports/fulfilment", params=RANGE)
    assert page.status_code == 200, page.text
    # operator, name, parcels, orders, hours, per hour, avg s, wrong, reweighed, overrides,
    # reprints, late
    assert cells(page.text, "fulfil-packers") == [
        ["P01", "小王", "3", "2", "7.0", "0.4", "40.0", "3", "1", "1", "1", "1"],
        ["P02", "小李", "2", "1", "3.0", "0.7", "40.0", "0", "0", "0", "0", "1"],
        ["合计", "", "5", "3", "10.0", "0.5", "40.0", "3", "1", "1", "1", "2"]]
    assert cells(page.text, "fulfil-stations") == [
        ["st-1", "4", "3", "7.5", "0.5", "40.0", "3", "1", "1", "1", "1"],
        ["st-2", "1", "0", "2.5", "0.4", "40.0", "0", "0", "0", "0", "1"]]
    assert 'id="t-parcels">5<' in page.text and 'id="t-per-hour">0.5<' in page.text
    assert 'id="t-late">2<' in page.text and 'id="t-reprints">1<' in page.text
    assert cells(page.text, "fulfil-bands") == [
        ["YTO", "≤500g", "1"], ["ZTO", "≤500g", "1"], ["ZTO", "≤2kg", "1"],
        ["ZTO", ">10kg", "1"], ["ZTO", "—", "1"]]
    assert cells(page.text, "fulfil-series") == [["2026-11-30", "1", "0"],
                                                 ["2026-12-01", "4", "2"]]


async def test_filters_by_courier_and_station(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    _seed(cloud_engine)
    # ZTO only: P01 has s1 and s2 (2 ÷ 7 h = 0.3/h; one order, pdd-1001); a label print has
    # no courier
    zto = await client.get("/reports/fulfilment", params={**RANGE, "carrier": "ZTO"})
    assert cells(zto.text, "fulfil-packers")[0] == [
        "P01", "小王", "2", "1", "7.0", "0.3", "40.0", "2", "1", "1", "0", "0"]
    # st-2 only: P02's s5 over his 1.5 h there; P01 was signed in there 1 h and shipped nothing
    st2 = await client.get("/reports/fulfilment", params={**RANGE, "station": "st-2"})
    assert cells(st2.text, "fulfil-packers") == [
        ["P02", "小李", "1", "0", "1.5", "0.7", "40.0", "0", "0", "0", "0", "1"],
        ["P01", "小王", "0", "0", "1.0", "0.0", "—", "0", "0", "0", "0", "0"],
        ["合计", "", "1", "0", "2.5", "0.4", "40.0", "0", "0", "0", "0", "1"]]
    # by month: one row holds both days (November and December are two months)
    monthly = await client.get("/reports/fulfilment", params={**RANGE, "period": "month"})
    assert cells(monthly.text, "fulfil-series") == [["2026-11", "1", "0"], ["2026-12", "4", "2"]]
    bad = await client.get("/reports/fulfilment", params={"from": "2026-12-02", "to": "2026-12-01"})
    assert bad.status_code == 400 and "结束日期早于开始日期" in bad.text


async def test_exports_carry_the_same_figures(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    _seed(cloud_engine)
    book = openpyxl.load_workbook(io.BytesIO(
        (await client.get("/reports/fulfilment.xlsx", params=RANGE)).content))
    assert book.sheetnames == ["打包员", "工作站", "快递与重量", "按周期"]
    rows = list(book["打包员"].iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("P01", "小王", 3, 2, 7.0, 0.4, 40.0, 3, 1, 1, 1, 1)
    assert rows[-1][0] == "合计" and rows[-1][2:] == (5, 3, 10.0, 0.5, 40.0, 3, 1, 1, 1, 2)
    assert book["打包员"].freeze_panes == "A2"
    csv_text = (await client.get("/reports/fulfilment.csv",
                                 params={**RANGE, "section": "stations"})).text
    assert "st-1,4,3,7.5,0.5,40.0,3,1,1,1,1" in csv_text
    assert "合计,5,3,10.0,0.5,40.0,3,1,1,1,2" in csv_text
    bands = (await client.get("/reports/fulfilment.csv", params={**RANGE, "section": "bands"})).text
    assert "ZTO,>10kg,1" in bands


async def test_a_packer_cannot_read_it(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PACKER)
    assert (await client.get("/reports/fulfilment")).status_code == 403


async def test_arrival_order_and_replays_change_nothing(cloud_engine: Engine) -> None:
    """Parcels arriving newest first, then everything again (a station resending its
    outbox), leave the summaries as the in-order arrival does — and as the rebuild from the
    source tables, computed by the database in one pass, has them."""
    from tests.cloud.web.support import add_users, seed_data

    add_users(cloud_engine)
    seed_data(cloud_engine)
    _base(cloud_engine)
    backwards = list(reversed(range(len(SHIPMENTS))))
    _ingest(cloud_engine, backwards, [2, 1, 0])
    _ingest(cloud_engine, list(range(len(SHIPMENTS))), [0, 1, 2])  # replays: all known
    incremental = _summary(cloud_engine)
    with cloud_engine.begin() as conn:
        assert fulfilment.rebuild(conn) == 6
    assert _summary(cloud_engine) == incremental
    daily, _bands = incremental
    # pdd-1001: s1 (P01, 12-01 08:30) counts the order; s5 (P02) arrived first and gave it up
    by_key = {(r[1], r[2], r[3]): r for r in daily if r[0] == date(2026, 12, 1)}
    assert by_key[("st-1", "P01", "ZTO")][4:6] == (2, 1)  # parcels, orders (s2's counted 11-29)
    assert by_key[("st-2", "P02", "ZTO")][4:6] == (1, 0)
