"""应付账款 (supplier payables): what the seller owes each supplier, what was paid, and a
statement (对账单) per supplier and period to agree with the supplier's own.

What is owed comes from the goods: every purchase receipt the stations record
(``cost_changes``, one row per RECEIVE move against a purchase order line) owes the PO's
supplier ``qty × unit cost``. What was paid is a ``supplier_payments`` row, recorded by
finance (a manager or an admin) with its date, method and reference. A payment recorded by
mistake is never edited or deleted: a reversal row (the negative amount, naming the
payment and why) cancels it, and both stay on the statement. Balances are derived from
those rows, never stored. Amounts are integer fen; days are China Standard Time
(``DISPLAY_TZ``): a receipt belongs to the day it was recorded there.

Every function writes in the caller's transaction; input problems are reported all at once
(:class:`InputError`) and nothing is written then. Payments and reversals are audited
(``payment.record``, ``payment.reverse``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.config import DISPLAY_TZ
from cloud.db.schema_purchasing import (
    cost_changes,
    purchase_orders,
    supplier_payments,
    suppliers,
)
from cloud.errors import InputError, Problem
from edge.domain.money import YuanError, yuan_to_fen

PAYMENT_METHODS: Final = ("bank", "alipay", "wechat", "cash", "other")
"""How a supplier was paid: bank transfer, Alipay, WeChat Pay, cash, other."""
MAX_PAYMENT_FEN: Final = 10**11
"""Largest single payment (10 亿元): a typo guard far above any real one."""
EARLIEST_PAYMENT: Final = date(2000, 1, 1)
"""Payments dated before this are typos."""
REFERENCE_MAX: Final = 64
"""Longest payment reference (bank serial, Alipay trade no.)."""
NOTE_MAX: Final = 500
"""Longest note or reversal reason kept."""
STATEMENT_MAX_DAYS: Final = 366 * 3
"""Longest statement period (three years of lines)."""


@dataclass(frozen=True, slots=True)
class Balance:
    """One supplier's account: received (owed), paid, balance (still owed)."""

    supplier_id: str
    name: str
    received_fen: int
    paid_fen: int
    last_paid_on: date | None

    @property
    def balance_fen(self) -> int:
        """Still owed (negative: paid in advance)."""
        return self.received_fen - self.paid_fen


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A line of a statement: a receipt (owed, ``debit``) or a payment or its reversal
    (``credit``, negative for a reversal), with the balance after it."""

    on: date
    kind: str
    """``receipt``, ``payment`` or ``reversal``."""
    ref: str
    """The purchase order, or the payment's number and reference."""
    detail: str
    """SKU × quantity @ unit cost, or the payment's method and note."""
    debit_fen: int
    credit_fen: int
    balance_fen: int
    payment_id: int | None = None
    """The payment row (a payment can be reversed from the statement)."""
    reversed: bool = False
    """A payment that a later row reversed."""


@dataclass(frozen=True, slots=True)
class Statement:
    """A supplier's statement for ``start``..``end`` (days, inclusive)."""

    supplier_id: str
    supplier_name: str
    start: date
    end: date
    opening_fen: int
    lines: list[StatementLine]

    @property
    def received_fen(self) -> int:
        """Owed for goods received in the period."""
        return sum(ln.debit_fen for ln in self.lines)

    @property
    def paid_fen(self) -> int:
        """Paid in the period (net of reversals)."""
        return sum(ln.credit_fen for ln in self.lines)

    @property
    def closing_fen(self) -> int:
        """Owed at the end of the period."""
        return self.opening_fen + self.received_fen - self.paid_fen


def day_start(day: date) -> datetime:
    """The UTC instant a China Standard Time day starts."""
    return datetime.combine(day, time(0), DISPLAY_TZ).astimezone(UTC)


def local_day(at: datetime) -> date:
    """The China Standard Time day of a UTC instant."""
    return at.astimezone(DISPLAY_TZ).date()


def _received(conn: Connection, supplier_id: str | None = None,
              before: datetime | None = None) -> dict[str, int]:
    cc, po = cost_changes.c, purchase_orders.c
    q = (sa.select(po.supplier_id, sa.func.coalesce(sa.func.sum(cc.qty * cc.unit_cost_fen), 0))
         .select_from(cost_changes.join(purchase_orders, purchase_orders.c.id == cc.po_id))
         .group_by(po.supplier_id))
    if supplier_id is not None:
        q = q.where(po.supplier_id == supplier_id)
    if before is not None:
        q = q.where(cc.at < before)
    return {r[0]: int(r[1]) for r in conn.execute(q)}


def _paid(conn: Connection, supplier_id: str | None = None,
          before: date | None = None) -> dict[str, int]:
    p = supplier_payments.c
    q = sa.select(p.supplier_id, sa.func.sum(p.amount_fen)).group_by(p.supplier_id)
    if supplier_id is not None:
        q = q.where(p.supplier_id == supplier_id)
    if before is not None:
        q = q.where(p.paid_on < before)
    return {r[0]: int(r[1] or 0) for r in conn.execute(q)}


def balances(conn: Connection) -> list[Balance]:
    """Every supplier with anything received or paid, or active; most owed first."""
    received, paid = _received(conn), _paid(conn)
    p = supplier_payments.c
    last = dict(conn.execute(sa.select(p.supplier_id, sa.func.max(p.paid_on))
                             .where(p.amount_fen > 0).group_by(p.supplier_id)).all())
    rows = conn.execute(sa.select(suppliers.c.id, suppliers.c.name, suppliers.c.active)
                        .order_by(suppliers.c.id)).all()
    out = [Balance(r.id, r.name, received.get(r.id, 0), paid.get(r.id, 0), last.get(r.id))
           for r in rows if r.active or r.id in received or r.id in paid]
    return sorted(out, key=lambda b: (-b.balance_fen, b.supplier_id))


def _supplier_name(conn: Connection, supplier_id: str) -> str | None:
    name = conn.execute(sa.select(suppliers.c.name).where(suppliers.c.id == supplier_id)).scalar()
    return None if name is None else str(name)


def parse_day(value: str, field: str, problems: list[Problem]) -> date | None:
    """A ``YYYY-MM-DD`` day from a form, or a problem next to ``field``."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(Problem(field, "日期格式应为 2026-12-01", "a date like 2026-12-01"))
        return None


def record_payment(conn: Connection, supplier_id: str, *, amount: str, paid_on: str,
                   method: str, reference: str, note: str, actor: str, now: datetime) -> int:
    """Record a payment to a supplier; returns its number."""
    problems: list[Problem] = []
    if _supplier_name(conn, supplier_id) is None:
        problems.append(Problem("supplier", "没有这个供应商", "no such supplier"))
    fen = 0
    try:
        fen = yuan_to_fen(amount.strip()) or 0
    except YuanError:
        problems.append(Problem("amount", "金额应为元, 最多两位小数, 如 1250.50",
                                "an amount in yuan with at most 2 decimals, e.g. 1250.50"))
    else:
        if not 0 < fen <= MAX_PAYMENT_FEN:
            problems.append(Problem("amount", "金额须大于 0 且不超过 10 亿元",
                                    "the amount must be above 0 and at most 1,000,000,000 yuan"))
    day = parse_day(paid_on, "paid_on", problems)
    today = local_day(now)
    if day is not None and day > today:
        problems.append(Problem("paid_on", "付款日期不能晚于今天",
                                "the payment date cannot be after today"))
    elif day is not None and day < EARLIEST_PAYMENT:
        problems.append(Problem("paid_on", "付款日期太早", "the payment date is too early"))
    if method not in PAYMENT_METHODS:
        problems.append(Problem("method", "请选择付款方式", "choose how it was paid"))
    if len(reference.strip()) > REFERENCE_MAX:
        problems.append(Problem("reference", f"流水号最多 {REFERENCE_MAX} 个字符",
                                f"at most {REFERENCE_MAX} characters"))
    if problems:
        raise InputError(problems)
    assert day is not None
    payment_id = conn.execute(sa.insert(supplier_payments).values(
        supplier_id=supplier_id, amount_fen=fen, paid_on=day, method=method,
        reference=reference.strip(), note=note.strip()[:NOTE_MAX], reverses=None,
        recorded_by=actor, recorded_at=now).returning(supplier_payments.c.id)).scalar_one()
    audit.record(conn, now, actor, "payment.record", supplier_id,
                 {"payment": payment_id, "fen": fen, "paid_on": day.isoformat(),
                  "method": method, "reference": reference.strip()})
    return int(payment_id)


def reverse_payment(conn: Connection, payment_id: int, *, reason: str, actor: str,
                    now: datetime) -> int:
    """Cancel a payment recorded by mistake with a reversal row dated today; returns the
    reversal's number. A payment is reversed at most once; a reversal is not reversed."""
    p = supplier_payments.c
    row = conn.execute(sa.select(supplier_payments).where(p.id == payment_id)).first()
    problems: list[Problem] = []
    if row is None or row.reverses is not None:
        problems.append(Problem("payment", "没有这笔付款", "no such payment"))
    elif conn.execute(sa.select(p.id).where(p.reverses == payment_id)).first():
        problems.append(Problem("payment", "这笔付款已冲销", "this payment is already reversed"))
    if not reason.strip():
        problems.append(Problem("reason", "请填写冲销原因", "say why it is reversed"))
    if problems:
        raise InputError(problems)
    assert row is not None
    reversal = conn.execute(sa.insert(supplier_payments).values(
        supplier_id=row.supplier_id, amount_fen=-int(row.amount_fen), paid_on=local_day(now),
        method=row.method, reference=row.reference, note=reason.strip()[:NOTE_MAX],
        reverses=payment_id, recorded_by=actor, recorded_at=now
    ).returning(p.id)).scalar_one()
    audit.record(conn, now, actor, "payment.reverse", row.supplier_id,
                 {"payment": payment_id, "reversal": reversal, "fen": -int(row.amount_fen),
                  "reason": reason.strip()[:NOTE_MAX]})
    return int(reversal)


def statement(conn: Connection, supplier_id: str, start: date, end: date) -> Statement:
    """The supplier's statement for ``start``..``end``: the balance before it, then every
    receipt and payment in day order (receipts first within a day), each with the running
    balance."""
    name = _supplier_name(conn, supplier_id)
    problems: list[Problem] = []
    if name is None:
        problems.append(Problem("supplier", "没有这个供应商", "no such supplier"))
    if end < start:
        problems.append(Problem("to", "结束日期不能早于开始日期", "the end is before the start"))
    elif (end - start).days > STATEMENT_MAX_DAYS:
        problems.append(Problem("to", "对账期间最长三年", "a statement covers at most three years"))
    if problems:
        raise InputError(problems)
    assert name is not None
    lo, hi = day_start(start), day_start(end + timedelta(days=1))
    opening = (_received(conn, supplier_id, before=lo).get(supplier_id, 0)
               - _paid(conn, supplier_id, before=start).get(supplier_id, 0))
    cc, po = cost_changes.c, purchase_orders.c
    receipts = conn.execute(
        sa.select(cc.at, cc.po_id, cc.sku, cc.qty, cc.unit_cost_fen, cc.move_id)
        .select_from(cost_changes.join(purchase_orders, purchase_orders.c.id == cc.po_id))
        .where(po.supplier_id == supplier_id, cc.at >= lo, cc.at < hi)
        .order_by(cc.at, cc.move_id)).all()
    p = supplier_payments.c
    payments = conn.execute(sa.select(supplier_payments).where(
        p.supplier_id == supplier_id, p.paid_on >= start, p.paid_on <= end)
        .order_by(p.paid_on, p.id)).all()
    reversed_ids = set(conn.execute(sa.select(p.reverses).where(
        p.supplier_id == supplier_id, p.reverses.is_not(None))).scalars())
    entries: list[tuple[date, int, int, StatementLine]] = []
    for r in receipts:
        amount = int(r.qty) * int(r.unit_cost_fen)
        entries.append((local_day(r.at), 0, len(entries), StatementLine(
            local_day(r.at), "receipt", r.po_id,
            f"{r.sku} × {r.qty} @ {Decimal(int(r.unit_cost_fen)) / 100:.2f}", amount, 0, 0)))
    for r in payments:
        kind = "reversal" if r.reverses is not None else "payment"
        ref = f"#{r.id}" + (f" {r.reference}" if r.reference else "")
        detail = r.method + (f" · {r.note}" if r.note else "") + (
            f" · 冲销 #{r.reverses}" if r.reverses is not None else "")
        entries.append((r.paid_on, 1, len(entries), StatementLine(
            r.paid_on, kind, ref, detail, 0, int(r.amount_fen), 0, payment_id=int(r.id),
            reversed=int(r.id) in reversed_ids)))
    balance = opening
    lines = []
    for _day, _order, _n, ln in sorted(entries, key=lambda e: e[:3]):
        balance += ln.debit_fen - ln.credit_fen
        lines.append(StatementLine(ln.on, ln.kind, ln.ref, ln.detail, ln.debit_fen,
                                   ln.credit_fen, balance, ln.payment_id, ln.reversed))
    return Statement(supplier_id, name, start, end, opening, lines)


def statement_xlsx(st: Statement) -> bytes:
    """The statement as an XLSX workbook to send to the supplier: a header block, then one
    row per line with amounts in yuan as numbers, opening and closing balances and the
    period's totals; the column headings stay in view (frozen) and columns are sized."""
    import openpyxl
    from openpyxl.styles import Font

    from edge.domain.spreadsheet import xlsx_text_cell

    def yuan(fen: int) -> Decimal:
        return Decimal(fen) / 100

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "对账单"
    for label, value in (("供应商", f"{st.supplier_name} ({st.supplier_id})"),
                         ("期间", f"{st.start.isoformat()} — {st.end.isoformat()}")):
        ws.append([xlsx_text_cell(ws, label), xlsx_text_cell(ws, value)])
    ws.append([])
    headings = ("日期", "类型", "单据", "摘要", "应付(元)", "已付(元)", "余额(元)")
    ws.append(list(headings))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    first_line = ws.max_row + 1
    kinds = {"receipt": "收货", "payment": "付款", "reversal": "冲销"}
    ws.append([st.start, xlsx_text_cell(ws, "期初余额"), None, None, None, None,
               yuan(st.opening_fen)])
    for ln in st.lines:
        ws.append([ln.on, xlsx_text_cell(ws, kinds[ln.kind]), xlsx_text_cell(ws, ln.ref),
                   xlsx_text_cell(ws, ln.detail), yuan(ln.debit_fen) if ln.debit_fen else None,
                   yuan(ln.credit_fen) if ln.credit_fen else None, yuan(ln.balance_fen)])
    ws.append([st.end, xlsx_text_cell(ws, "本期合计 / 期末余额"), None, None,
               yuan(st.received_fen), yuan(st.paid_fen), yuan(st.closing_fen)])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.freeze_panes = f"A{first_line}"  # the headings stay in view
    for row in ws.iter_rows(min_row=first_line):
        row[0].number_format = "yyyy-mm-dd"
        for cell in row[4:7]:
            cell.number_format = "#,##0.00"
    for letter, width in zip("ABCDEFG", (12, 10, 22, 40, 14, 14, 14), strict=True):
        ws.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
