"""Packing writes: weigh and print logs, reprints, shipping in one transaction, sign-in."""

from __future__ import annotations

import json

import pytest

from edge.domain.models import MoveReason
from edge.domain.packing import OrderStatus
from edge.errors import PackError
from edge.store import Store
from edge.store.packing import AlreadyPrinted, PackingWriter, ShipRefused, StoreOrderSource
from edge.sync.schema import LabelPrintWire
from tests.fixtures.pack_orders import seed_packing


def outbox(store: Store, kind: str) -> list[dict[str, object]]:
    return [json.loads(p) for (p,) in store.writer.db.execute(
        "SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", [kind]).fetchall()]


@pytest.fixture
def packing(store: Store) -> tuple[Store, StoreOrderSource, PackingWriter]:
    seed_packing(store)
    return store, StoreOrderSource(store.queries), PackingWriter(store.writer)


def test_source_lookups(packing: tuple[Store, StoreOrderSource, PackingWriter]) -> None:
    _, src, _ = packing
    o3 = src.order_by_waybill("SF1003")
    assert o3 is not None and o3.expected() == {"CUP-350": 1, "TOWEL-W": 2}
    assert o3.lines[0].location == "A-01-01" and o3.lines[1].unit_weight_g == 110
    assert src.order_by_platform_no("JD-240004") is not None
    single = src.oldest_single_item_order("CUP-350", 1)
    assert single is not None and single.order_id == "O1"
    case = src.oldest_single_item_order("CUP-350", 12)
    assert case is not None and case.order_id == "O4"
    assert src.oldest_single_item_order("TOWEL-W", 1) is None  # O5 is intercepted
    o5 = src.order_by_waybill("SF1005")
    assert o5 is not None and o5.status is OrderStatus.INTERCEPTED
    assert src.barcode("16901234567899") == ("CUP-350", 12)


def test_ship_writes_status_moves_and_shipment_in_one_go(
    packing: tuple[Store, StoreOrderSource, PackingWriter],
) -> None:
    store, src, pw = packing
    o3 = src.order("O3")
    assert o3 is not None
    shipment = pw.ship(o3, operator_id="P01", weight_g=905)
    assert store.queries.balance("CUP-350", "A-01-01") == 99
    assert store.queries.balance("TOWEL-W", "A-01-02") == 98
    moves = [store.queries.move(m) for m in shipment.move_ids]
    assert [(m.sku, m.qty_delta, m.reason, m.source_id, m.source_line) for m in moves if m] == [
        ("CUP-350", -1, MoveReason.SHIP, "O3", "1"), ("TOWEL-W", -2, MoveReason.SHIP, "O3", "2")]
    (ship,) = outbox(store, "shipment")
    assert {k: ship[k] for k in ("order_id", "platform_order_no", "waybill_no", "carrier",
                                 "weight_g", "operator_id")} == {
        "order_id": "O3", "platform_order_no": "TB-240003", "waybill_no": "SF1003",
        "carrier": "SF", "weight_g": 905, "operator_id": "P01"}
    again = src.order("O3")
    assert again is not None and again.status is OrderStatus.SHIPPED
    with pytest.raises(ShipRefused):
        pw.ship(o3, operator_id="P01", weight_g=905)
    assert store.queries.balance("CUP-350", "A-01-01") == 99


def test_refused_move_leaves_the_order_unshipped(store: Store) -> None:
    seed_packing(store, stock=False)
    src, pw = StoreOrderSource(store.queries), PackingWriter(store.writer)
    o3 = src.order("O3")
    assert o3 is not None
    with pytest.raises(ShipRefused, match=r"库存不足.*CUP-350"):
        pw.ship(o3, operator_id="P01", weight_g=900)
    o3_after = src.order("O3")
    assert o3_after is not None and o3_after.status is OrderStatus.WAITING
    assert store.queries.move_count() == 0 and outbox(store, "shipment") == []
    assert outbox(store, "move") == []


def test_intercepted_between_scan_and_ship_is_refused(
    packing: tuple[Store, StoreOrderSource, PackingWriter],
) -> None:
    store, src, pw = packing
    o1 = src.order("O1")
    assert o1 is not None
    with store.writer.transaction() as db:
        db.execute("UPDATE orders SET status='intercepted', intercept_reason='退款' WHERE order_id='O1'")
    with pytest.raises(ShipRefused, match="拦截"):
        pw.ship(o1, operator_id="P01", weight_g=350)
    assert store.queries.balance("CUP-350", "A-01-01") == 100


def test_print_once_then_reprint_needs_a_reason(
    packing: tuple[Store, StoreOrderSource, PackingWriter],
) -> None:
    store, src, pw = packing
    assert pw.record_print("O1", "label", operator_id="P01") is False
    with pytest.raises(AlreadyPrinted):
        pw.record_print("O1", "label", operator_id="P01")
    with pytest.raises(AlreadyPrinted):
        pw.check_print("O1", "label", "  ")
    assert pw.record_print("O1", "label", operator_id="P01", reprint_reason="卡纸") is True
    assert pw.record_print("O1", "slip", operator_id="P01") is False
    rows = store.writer.db.execute(
        "SELECT kind, is_reprint, reason FROM print_log ORDER BY print_id").fetchall()
    assert rows == [("label", 0, None), ("label", 1, "卡纸"), ("slip", 0, None)]
    assert src.print_count("O1") == 2
    (audit,) = store.queries.audit_log("pack.reprint")
    assert (audit["actor"], audit["subject"], json.loads(audit["detail"])) == (
        "P01", "O1", {"kind": "label", "reason": "卡纸"})


def test_weigh_log_and_override_audit(packing: tuple[Store, StoreOrderSource, PackingWriter]) -> None:
    store, _, pw = packing
    pw.record_weigh("O1", grams=352, expected_g=350, within=True, operator_id="P01")
    with pytest.raises(PackError):
        pw.record_weigh("O1", grams=900, expected_g=350, within=False, operator_id="P01",
                        override_by="L01", override_reason=" ")
    pw.record_weigh("O1", grams=900, expected_g=350, within=False, operator_id="P01",
                    override_by="L01", override_reason="赠品 / gift added")
    rows = store.writer.db.execute(
        "SELECT grams, expected_g, within_tolerance, override_by, override_reason, operator_id "
        "FROM weigh_log ORDER BY weigh_id").fetchall()
    assert rows == [(352, 350, 1, None, None, "P01"), (900, 350, 0, "L01", "赠品 / gift added", "P01")]
    (audit,) = store.queries.audit_log("pack.weight_override")
    assert audit["actor"] == "L01" and json.loads(audit["detail"])["reason"] == "赠品 / gift added"


def test_sign_in_and_out(packing: tuple[Store, StoreOrderSource, PackingWriter]) -> None:
    store, _, pw = packing
    pw.sign_in("P01", method="badge")
    pw.sign_out("P01")
    assert [(a["actor"], a["action"]) for a in store.queries.audit_log()
            if a["action"].startswith("operator.")] == [
        ("P01", "operator.sign_in"), ("P01", "operator.sign_out")]
    events = outbox(store, "sign_in")
    assert [(e["operator_id"], e["event"], e["station_id"]) for e in events] == [
        ("P01", "sign_in", "ST1"), ("P01", "sign_out", "ST1")]
    assert events[0]["method"] == "badge"


def _stock(store: Store, *rows: tuple[str, str, int]) -> None:
    from edge.domain.models import MoveRequest

    store.writer.record_moves([
        MoveRequest(sku=sku, location=loc, qty_delta=qty, reason=MoveReason.RECEIVE,
                    source_type="po", source_id="PO-1", operator_id="L01") for sku, loc, qty in rows])


def _ship_moves(store: Store, order_id: str) -> list[tuple[str, str, int]]:
    return [(r[0], r[1], r[2]) for r in store.writer.db.execute(
        "SELECT sku, location, qty_delta FROM stock_moves WHERE source_id = ? AND reason = ? "
        "ORDER BY rowid", [order_id, int(MoveReason.SHIP)]).fetchall()]


@pytest.mark.parametrize("change,what", [
    ("INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES ('O3', 3, 'SOCK-M', 1)", "lines"),
    ("UPDATE orders SET waybill_no = 'SF9003' WHERE order_id = 'O3'", "waybill"),
    ("UPDATE order_lines SET qty = 3 WHERE order_id = 'O3' AND line_no = 2", "lines"),
])
def test_an_order_changed_since_the_first_scan_is_not_shipped(
    packing: tuple[Store, StoreOrderSource, PackingWriter], change: str, what: str,
) -> None:
    store, src, pw = packing
    scanned = src.order("O3")
    assert scanned is not None
    with store.writer.transaction() as db:  # a newer version of the order arrived meanwhile
        db.execute(change)
    with pytest.raises(ShipRefused, match=r"订单在扫描后已更新.*scan it again") as err:
        pw.ship(scanned, operator_id="P01", weight_g=900)
    assert f"({what})" in str(err.value)
    assert _ship_moves(store, "O3") == [] and outbox(store, "shipment") == []
    assert store.writer.db.execute("SELECT status FROM orders WHERE order_id = 'O3'").fetchone()[0] == "waiting"


def test_ship_takes_the_default_location_first_then_the_other_bins_of_the_warehouse(store: Store) -> None:
    seed_packing(store, stock=False)
    src, pw = StoreOrderSource(store.queries), PackingWriter(store.writer)
    # CUP-350's default bin A-01-01 holds 5; A-01-02 holds 4 and Y-01-01 (another warehouse) 50
    _stock(store, ("CUP-350", "A-01-01", 5), ("CUP-350", "A-01-02", 4), ("CUP-350", "Y-01-01", 50))
    o2 = src.order("O2")
    assert o2 is not None
    o4 = src.order("O4")  # 12 × CUP-350: more than WH1's 9
    assert o4 is not None
    with pytest.raises(ShipRefused, match=r"库存不足.*CUP-350 全仓 WH1 可发 9，需要 12"):
        pw.ship(o4, operator_id="P01", weight_g=3900)
    assert _ship_moves(store, "O4") == []
    with store.writer.transaction() as db:
        db.execute("UPDATE order_lines SET qty = 7 WHERE order_id = 'O4'")
    o4 = src.order("O4")
    assert o4 is not None
    pw.ship(o4, operator_id="P01", weight_g=2300)
    assert _ship_moves(store, "O4") == [("CUP-350", "A-01-01", -5), ("CUP-350", "A-01-02", -2)]
    pw.ship(o2, operator_id="P01", weight_g=350)  # the default bin is empty now
    assert _ship_moves(store, "O2") == [("CUP-350", "A-01-02", -1)]
    q = store.queries
    assert (q.balance("CUP-350", "A-01-01"), q.balance("CUP-350", "A-01-02"),
            q.balance("CUP-350", "Y-01-01")) == (0, 1, 50)
    assert store.writer.db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0


def test_a_warehouse_short_with_allow_policy_ships_with_a_negative_stock_alert(store: Store) -> None:
    from edge.domain.models import NegativeStockPolicy

    seed_packing(store, stock=False)
    store.writer.upsert_warehouse("WH1", "杭州主仓", NegativeStockPolicy.ALLOW_WITH_ALERT)
    _stock(store, ("CUP-350", "A-01-01", 3), ("CUP-350", "A-01-02", 4))
    o4 = StoreOrderSource(store.queries).order("O4")
    assert o4 is not None
    PackingWriter(store.writer).ship(o4, operator_id="P01", weight_g=3900)
    assert _ship_moves(store, "O4") == [
        ("CUP-350", "A-01-01", -3), ("CUP-350", "A-01-02", -4), ("CUP-350", "A-01-01", -5)]
    assert store.queries.balance("CUP-350", "A-01-01") == -5
    alerts = store.writer.db.execute("SELECT kind, subject, detail FROM alerts").fetchall()
    assert [(k, s, json.loads(d)["balance"]) for k, s, d in alerts] == [
        ("negative_stock", "CUP-350@A-01-01", -5)]
    assert [a["kind"] for a in outbox(store, "alert")] == ["negative_stock"]


def _order(store: Store, oid: str, at: str, lines: list[tuple[str, int]],
           status: str = "waiting") -> None:
    with store.writer.transaction() as db:
        db.execute("INSERT INTO orders (order_id, platform, platform_order_no, status, ordered_at, "
                   "updated_at) VALUES (?, 'pdd', ?, ?, ?, ?)", [oid, f"P-{oid}", status, at, at])
        db.conn.executemany("INSERT INTO order_lines (order_id, line_no, sku, qty) VALUES (?, ?, ?, ?)",
                            [(oid, n, sku, qty) for n, (sku, qty) in enumerate(lines, start=1)])


@pytest.mark.parametrize("shape", ["by_lines", "by_waiting"])
def test_single_item_order_is_the_oldest_waiting_one_of_exactly_that_item(
    store: Store, shape: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hand-picked answers, the same from either query: shipped, mixed, wrong-count and
    cancelled orders never match; two lines of the same SKU add up; equal times fall back to
    the order id."""
    from edge.store import packing

    chosen = {"by_lines": packing.SINGLE_ITEM_BY_LINES_SQL,
              "by_waiting": packing.SINGLE_ITEM_BY_WAITING_SQL}[shape]
    monkeypatch.setattr(packing, "single_item_sql", lambda db, sku: chosen)
    src = StoreOrderSource(store.queries)
    t = "2026-11-23T07:{:02d}:00+00:00".format
    _order(store, "A0", t(0), [("CUP-350", 1)], status="shipped")
    _order(store, "A1", t(1), [("CUP-350", 1), ("TOWEL-W", 1)])
    _order(store, "A2", t(2), [("CUP-350", 2)])
    _order(store, "A3", t(3), [("CUP-350", 1)], status="cancelled")
    _order(store, "B9", t(4), [("CUP-350", 1)])
    _order(store, "B5", t(4), [("CUP-350", 1)])
    _order(store, "C1", t(5), [("TOWEL-W", 1), ("TOWEL-W", 2)])
    found = {(sku, units): (o.order_id if (o := src.oldest_single_item_order(sku, units)) else None)
             for sku, units in (("CUP-350", 1), ("CUP-350", 2), ("CUP-350", 3), ("TOWEL-W", 3),
                                ("TOWEL-W", 1), ("SOCK-M", 1))}
    assert found == {("CUP-350", 1): "B5", ("CUP-350", 2): "A2", ("CUP-350", 3): None,
                     ("TOWEL-W", 3): "C1", ("TOWEL-W", 1): None, ("SOCK-M", 1): None}


def test_a_best_sellers_single_item_scan_walks_the_waiting_orders(
    store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An item on many order lines is looked up from the waiting orders, each checked on the
    (order, SKU) index of migration m012, so its years of shipped orders are never read; an
    ordinary item still starts from its few lines."""
    from edge.store import packing

    monkeypatch.setattr(packing, "LINES_FIRST_LIMIT", 3)
    db = store.writer.db
    (index_sql,) = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' "
                              "AND name = 'order_lines_by_order_sku'").fetchone()
    assert "order_lines(order_id, sku, qty)" in index_sql

    def plan(sql: str) -> list[str]:
        return [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql,
                                             {"sku": "CUP-350", "units": 1}).fetchall()]

    by_waiting = plan(packing.SINGLE_ITEM_BY_WAITING_SQL)
    assert by_waiting[0].startswith("SEARCH o USING INDEX orders_by_status (status=?)"), by_waiting
    assert sum("USING COVERING INDEX order_lines_by_order_sku" in p for p in by_waiting) == 2
    assert not any("order_lines_by_sku" in p for p in by_waiting), by_waiting
    assert "order_lines_by_sku" in plan(packing.SINGLE_ITEM_BY_LINES_SQL)[0]

    t = "2026-11-23T07:{:02d}:00+00:00".format
    for n in range(2):
        _order(store, f"H{n}", t(n), [("CUP-350", 1)], status="shipped")
    assert packing.single_item_sql(db, "CUP-350") == packing.SINGLE_ITEM_BY_LINES_SQL  # 2 lines
    _order(store, "H2", t(2), [("CUP-350", 1)])
    assert packing.single_item_sql(db, "CUP-350") == packing.SINGLE_ITEM_BY_WAITING_SQL  # 3
    assert packing.single_item_sql(db, "SOCK-M") == packing.SINGLE_ITEM_BY_LINES_SQL
    found = StoreOrderSource(store.queries).oldest_single_item_order("CUP-350", 1)
    assert found is not None and found.order_id == "H2"


def test_each_label_print_queues_a_print_message(
    packing: tuple[Store, StoreOrderSource, PackingWriter],
) -> None:
    store, _, pw = packing
    pw.record_print("O1", "label", operator_id="P01")
    pw.record_print("O1", "slip", operator_id="P01")  # slips stay on the station
    pw.record_print("O1", "label", operator_id="P02", reprint_reason="卡纸")
    printed = [r[0] for r in store.writer.db.execute(
        "SELECT printed_at FROM print_log WHERE kind = 'label' ORDER BY print_id").fetchall()]
    sent = [r.payload for r in store.queries.outbox_pending(50) if r.kind == "print"]
    assert [{k: v for k, v in p.items() if k != "at"} for p in sent] == [
        {"order_id": "O1", "doc": "label", "n": 1, "operator_id": "P01", "reason": None},
        {"order_id": "O1", "doc": "label", "n": 2, "operator_id": "P02", "reason": "卡纸"},
    ]
    assert [p["at"] for p in sent] == printed
    for p in sent:  # what the cloud will accept
        LabelPrintWire.model_validate(p)
