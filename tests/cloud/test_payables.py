"""应付账款 on both engines, against numbers worked out by hand: receipts owe the supplier
qty × unit cost on the day (China Standard Time) they were recorded; payments and their
reversals; the statement's opening balance, running balance and closing balance."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import payables
from cloud.db.schema import audit_log, skus, warehouses
from cloud.db.schema_purchasing import (
    cost_changes,
    purchase_order_lines,
    purchase_orders,
    supplier_payments,
    suppliers,
)
from cloud.errors import InputError

T = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 on 3 December in Beijing


def cst(day: int, hour: int, minute: int = 0) -> datetime:
    """A China Standard Time wall-clock moment of December 2026 (or November for day > 20)."""
    month = 11 if day > 20 else 12
    return datetime(2026, month, day, hour, minute, tzinfo=payables.DISPLAY_TZ).astimezone(UTC)


def seed(engine: Engine, *, warehouse: bool = True) -> None:
    with engine.begin() as conn:
        if warehouse:
            conn.execute(sa.insert(warehouses).values(id="WH1", name="杭州仓"))
        conn.execute(sa.insert(skus), [{"sku": "CUP", "name_zh": "杯"},
                                       {"sku": "LID", "name_zh": "盖"}])
        conn.execute(sa.insert(suppliers), [
            {"id": "S1", "name": "义乌杯业", "created_at": T},
            {"id": "S2", "name": "台州塑料", "created_at": T}])
        conn.execute(sa.insert(purchase_orders).values(
            id="PO1", supplier_id="S1", warehouse_id="WH1", status="partial", created_by="b",
            created_at=T, updated_at=T))
        conn.execute(sa.insert(purchase_order_lines), [
            {"po_id": "PO1", "line_no": 1, "sku": "CUP", "qty_ordered": 100, "unit_cost_fen": 1250},
            {"po_id": "PO1", "line_no": 2, "sku": "LID", "qty_ordered": 50, "unit_cost_fen": 320}])
        # three receipts: 28 Nov (60 cups), 1 Dec 23:30 (40 cups), 2 Dec 00:10 Beijing time
        # (50 lids; still 1 December in UTC)
        conn.execute(sa.insert(cost_changes), [
            {"move_id": "m1", "sku": "CUP", "po_id": "PO1", "qty": 60, "unit_cost_fen": 1250,
             "on_hand_before": 0, "cost_after_fen": 1250, "at": cst(28, 10)},
            {"move_id": "m2", "sku": "CUP", "po_id": "PO1", "qty": 40, "unit_cost_fen": 1250,
             "on_hand_before": 60, "cost_before_fen": 1250, "cost_after_fen": 1250,
             "at": cst(1, 23, 30)},
            {"move_id": "m3", "sku": "LID", "po_id": "PO1", "qty": 50, "unit_cost_fen": 320,
             "on_hand_before": 0, "cost_after_fen": 320, "at": cst(2, 0, 10)}])


def pay(conn: sa.Connection, amount: str, on: str, **kw: str) -> int:
    args = {"method": "bank", "reference": "", "note": "", **kw}
    return payables.record_payment(conn, "S1", amount=amount, paid_on=on, actor="fin", now=NOW,
                                   **args)


def test_balances_statement_and_reversal(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn:
        pay(conn, "500", "2026-11-30", reference="B-1")
        wrong = pay(conn, "800.00", "2026-12-02", method="alipay")
        payables.reverse_payment(conn, wrong, reason="重复付款", actor="fin", now=NOW)
        pay(conn, "¥700", "2026-12-03")
    with cloud_engine.connect() as conn:
        balances = {b.supplier_id: b for b in payables.balances(conn)}
        st = payables.statement(conn, "S1", date(2026, 12, 1), date(2026, 12, 3))
    # received 60×12.50 + 40×12.50 + 50×3.20 = 750 + 500 + 160 = 1,410 yuan;
    # paid 500 + 800 − 800 + 700 = 1,200 yuan; owed 210 yuan
    s1 = balances["S1"]
    assert (s1.received_fen, s1.paid_fen, s1.balance_fen) == (141_000, 120_000, 21_000)
    assert s1.last_paid_on == date(2026, 12, 3)
    assert (balances["S2"].received_fen, balances["S2"].balance_fen) == (0, 0)
    # opening: 750 received on 28 Nov − 500 paid on 30 Nov = 250 yuan
    assert st.opening_fen == 25_000
    assert [(ln.on.day, ln.kind, ln.debit_fen, ln.credit_fen, ln.balance_fen, ln.reversed)
            for ln in st.lines] == [
        (1, "receipt", 50_000, 0, 75_000, False),     # 40 cups, 23:30 on 1 Dec
        (2, "receipt", 16_000, 0, 91_000, False),     # 50 lids, 00:10 on 2 Dec Beijing time
        (2, "payment", 0, 80_000, 11_000, True),      # the mistaken payment, later reversed
        (3, "reversal", 0, -80_000, 91_000, False),
        (3, "payment", 0, 70_000, 21_000, False)]
    assert (st.received_fen, st.paid_fen, st.closing_fen) == (66_000, 70_000, 21_000)
    assert st.lines[1].detail == "LID × 50 @ 3.20" and st.lines[1].ref == "PO1"
    # a period before anything: opening and closing 0, no lines
    with cloud_engine.connect() as conn:
        early = payables.statement(conn, "S1", date(2026, 11, 1), date(2026, 11, 27))
        audit = [r.action for r in conn.execute(sa.select(audit_log.c.action)
                                                .order_by(audit_log.c.id))]
    assert (early.opening_fen, early.lines, early.closing_fen) == (0, [], 0)
    assert audit == ["payment.record", "payment.record", "payment.reverse", "payment.record"]


def test_bad_input_writes_nothing(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn:
        first = pay(conn, "10", "2026-12-01")
    cases = [
        (dict(amount="abc", on="2026-12-01"), {"amount"}),
        (dict(amount="0", on="2026-12-01"), {"amount"}),
        (dict(amount="-5", on="2026-12-01"), {"amount"}),
        (dict(amount="1.234", on="2026-12-01"), {"amount"}),
        (dict(amount="10", on="2026-12-04"), {"paid_on"}),      # tomorrow in Beijing
        (dict(amount="10", on="1999-12-31"), {"paid_on"}),
        (dict(amount="10", on="12/01/2026"), {"paid_on"}),
        (dict(amount="", on="", method="cheque"), {"amount", "paid_on", "method"}),
    ]
    for case, fields in cases:
        with pytest.raises(InputError) as err, cloud_engine.begin() as conn:
            pay(conn, case["amount"], case["on"], **({"method": case["method"]}
                                                     if "method" in case else {}))
        assert {p.field for p in err.value.problems} == fields, case
    with cloud_engine.begin() as conn:
        payables.reverse_payment(conn, first, reason="错了", actor="fin", now=NOW)
    for payment, reason in ((first, "again"), (first + 1, "a reversal"), (999, "none"),
                            (first, "")):
        with pytest.raises(InputError), cloud_engine.begin() as conn:
            payables.reverse_payment(conn, payment, reason=reason, actor="fin", now=NOW)
    with cloud_engine.connect() as conn:
        rows = conn.execute(sa.select(supplier_payments.c.amount_fen)
                            .order_by(supplier_payments.c.id)).scalars().all()
        with pytest.raises(InputError):
            payables.statement(conn, "S1", date(2026, 12, 3), date(2026, 12, 1))
        with pytest.raises(InputError):
            payables.statement(conn, "NOPE", date(2026, 12, 1), date(2026, 12, 3))
    assert rows == [1000, -1000]
    # the database refuses a payment row that is neither a payment nor a reversal
    with pytest.raises(sa.exc.IntegrityError), cloud_engine.begin() as conn:
        conn.execute(sa.insert(supplier_payments).values(
            supplier_id="S1", amount_fen=-5, paid_on=date(2026, 12, 1), method="bank",
            recorded_by="x", recorded_at=NOW))


def test_statement_xlsx(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn:
        pay(conn, "500", "2026-11-30")
        pay(conn, "700", "2026-12-03", reference="=SUM(A1)")
        st = payables.statement(conn, "S1", date(2026, 12, 1), date(2026, 12, 3))
    ws = openpyxl.load_workbook(io.BytesIO(payables.statement_xlsx(st))).active
    assert ws is not None and ws.freeze_panes == "A5"
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert rows[0] == ["日期", "类型", "单据", "摘要", "应付(元)", "已付(元)", "余额(元)"]
    assert rows[1][1:] == ["期初余额", None, None, None, None, 250]
    assert rows[-1][1:] == ["本期合计 / 期末余额", None, None, 660, 700, 210]
    assert isinstance(rows[1][0], datetime) and rows[1][0].date() == date(2026, 12, 1)
    payment = rows[-2]
    assert payment[1] == "付款" and payment[5] == 700 and payment[6] == 210
    assert payment[2] == "#2 =SUM(A1)"  # text, not a formula
    assert Decimal(str(rows[2][4])) == Decimal("500")
