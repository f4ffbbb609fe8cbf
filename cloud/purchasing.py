"""Purchasing (采购, the 进 of 进销存): suppliers and purchase orders.

A purchase order is written as a draft (purchaser, manager or admin), approved by a manager
or admin, then sent: in that transaction it is queued as a ``po`` down-message for every
station of its warehouse, where it waits to be received. A draft, approved or sent order
can be cancelled with a reason (a sent one is sent again as cancelled). Every step is in
the audit log (``po.create``, ``po.approve``, ``po.send``, ``po.cancel``,
``supplier.create``). Each function writes in the caller's transaction and reports every
problem with its input at once (:class:`InputError`), writing nothing then.

Lines are typed one per row as ``SKU quantity unit-cost`` (e.g. ``CUP-350 200 12.50``),
the way a purchaser pastes them from a supplier's quote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit, kits
from cloud.config import DISPLAY_TZ
from cloud.db.schema import skus, stock_balances, warehouses
from cloud.db.schema_purchasing import (
    cost_changes,
    purchase_order_lines,
    purchase_orders,
    suppliers,
)
from cloud.errors import InputError, Problem
from cloud.sync.outbound import send_po, stations_of_warehouse
from edge.domain.models import MAX_MOVE_QTY, MoveReason
from edge.domain.money import YuanError, yuan_to_fen
from edge.sync.schema import MoveWire, PoLineWire, PurchaseOrderWire

MAX_LINES = 1000
"""Most lines on one purchase order (what ``PurchaseOrderWire`` takes)."""
MAX_UNIT_COST_FEN = 10**10
"""Highest unit cost (1 亿元): a typo guard, far above any real unit cost."""
SUPPLIER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
"""Supplier codes."""
ID_ATTEMPTS = 5
"""Numbers tried when purchase orders are written at the same moment (the next number each
time) before giving up."""
CANCELLABLE = ("draft", "approved", "sent")
"""Statuses a purchase order can be cancelled from (nothing received yet)."""


@dataclass(frozen=True, slots=True)
class Supplier:
    """A supplier as the pages show it."""

    id: str
    name: str
    contact: str
    phone: str
    lead_days: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class PoLine:
    """One line of a purchase order."""

    line_no: int
    sku: str
    qty_ordered: int
    unit_cost_fen: int
    qty_received: int


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """A purchase order with its lines."""

    id: str
    supplier_id: str
    supplier_name: str
    warehouse_id: str
    status: str
    expected_on: date | None
    note: str
    created_by: str
    created_at: datetime
    approved_by: str | None
    sent_at: datetime | None
    cancel_reason: str | None
    lines: list[PoLine] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        """What the order costs: Σ quantity × unit cost."""
        return sum(ln.qty_ordered * ln.unit_cost_fen for ln in self.lines)


def list_suppliers(conn: Connection, *, active_only: bool = False) -> list[Supplier]:
    """Suppliers by name."""
    query = sa.select(suppliers).order_by(suppliers.c.name)
    if active_only:
        query = query.where(suppliers.c.active.is_(True))
    return [Supplier(r.id, r.name, r.contact, r.phone, r.lead_days, r.active)
            for r in conn.execute(query)]


def create_supplier(conn: Connection, *, supplier_id: str, name: str, contact: str, phone: str,
                    lead_days: str, actor: str, now: datetime) -> Supplier:
    """Add a supplier (code, name, contact, phone, lead time in days)."""
    supplier_id, name = supplier_id.strip(), name.strip()
    problems: list[Problem] = []
    if not SUPPLIER_ID.fullmatch(supplier_id):
        problems.append(Problem("id", "编码为 1~32 位字母、数字、- 或 _",
                                "the code is 1–32 letters, digits, - or _"))
    elif conn.execute(sa.select(suppliers.c.id).where(suppliers.c.id == supplier_id)).first():
        problems.append(Problem("id", f"编码 {supplier_id} 已存在", f"code {supplier_id} is taken"))
    if not name or len(name) > 200:
        problems.append(Problem("name", "请填写供应商名称 (最长 200 字)", "enter a name (at most 200)"))
    elif conn.execute(sa.select(suppliers.c.id).where(suppliers.c.name == name)).first():
        problems.append(Problem("name", f"已有供应商 {name}", f"there is already a supplier {name}"))
    days: int | None = None
    if lead_days.strip():
        if not lead_days.strip().isdigit() or int(lead_days) > 365:
            problems.append(Problem("lead_days", "交期为 0~365 天", "lead time is 0–365 days"))
        else:
            days = int(lead_days)
    if problems:
        raise InputError(problems)
    conn.execute(sa.insert(suppliers).values(
        id=supplier_id, name=name, contact=contact.strip()[:100], phone=phone.strip()[:32],
        lead_days=days, created_at=now))
    audit.record(conn, now, actor, "supplier.create", supplier_id, {"name": name})
    return Supplier(supplier_id, name, contact.strip()[:100], phone.strip()[:32], days, True)


def parse_lines(conn: Connection, text: str) -> tuple[list[tuple[str, int, int]], list[Problem]]:
    """``SKU quantity unit-cost`` per row → (sku, qty, unit cost in fen), with a problem per
    bad row (row numbers count every row typed, blank ones included)."""
    rows: list[tuple[int, str, str, str]] = []
    problems: list[Problem] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        parts = raw.replace(",", " ").replace("，", " ").replace("\t", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            problems.append(Problem("lines", f"第 {n} 行应为: 商品编码 数量 单价",
                                    f"row {n} should be: SKU quantity unit-cost"))
            continue
        rows.append((n, *parts))  # type: ignore[arg-type]
    known = set(conn.execute(sa.select(skus.c.sku).where(
        skus.c.sku.in_({r[1] for r in rows}))).scalars()) if rows else set()
    kit_skus = set(kits.components(conn, known))
    out: list[tuple[str, int, int]] = []
    for n, sku, qty_text, cost_text in rows:
        if sku not in known:
            problems.append(Problem("lines", f"第 {n} 行: 未知商品 {sku}", f"row {n}: unknown SKU {sku}"))
            continue
        if sku in kit_skus:  # a kit has no stock of its own: its components are bought
            problems.append(Problem("lines", f"第 {n} 行: {sku} 是组合商品, 请采购它的组件",
                                    f"row {n}: {sku} is a kit: buy its components"))
            continue
        if not qty_text.isdigit() or not 1 <= int(qty_text) <= MAX_MOVE_QTY:
            problems.append(Problem("lines", f"第 {n} 行: 数量应为 1~{MAX_MOVE_QTY:,} 的整数",
                                    f"row {n}: the quantity is a whole number 1–{MAX_MOVE_QTY:,}"))
            continue
        try:
            fen = yuan_to_fen(cost_text)
        except YuanError:
            fen = None
        if fen is None or not 0 <= fen <= MAX_UNIT_COST_FEN:
            problems.append(Problem("lines", f"第 {n} 行: 单价无效 {cost_text}",
                                    f"row {n}: not a unit cost: {cost_text}"))
            continue
        out.append((sku, int(qty_text), fen))
    if not out and not problems:
        problems.append(Problem("lines", "请至少填写一行商品", "enter at least one line"))
    if len(out) > MAX_LINES:
        problems.append(Problem("lines", f"最多 {MAX_LINES} 行", f"at most {MAX_LINES} lines"))
    return out, problems


def _next_id(po_id: str) -> str:
    prefix, _, n = po_id.rpartition("-")
    return f"{prefix}-{int(n) + 1:03d}"


def _new_id(conn: Connection, now: datetime) -> str:
    prefix = f"PO{now.astimezone(DISPLAY_TZ):%Y%m%d}-"
    taken = conn.execute(sa.select(sa.func.count()).select_from(purchase_orders).where(
        purchase_orders.c.id.like(f"{prefix}%"))).scalar_one()
    return f"{prefix}{int(taken) + 1:03d}"


def create_po(conn: Connection, *, supplier_id: str, warehouse_id: str, lines: str,
              expected_on: str, note: str, actor: str, now: datetime) -> str:
    """Write a draft purchase order; returns its id."""
    problems: list[Problem] = []
    if not conn.execute(sa.select(suppliers.c.id).where(
            suppliers.c.id == supplier_id, suppliers.c.active.is_(True))).first():
        problems.append(Problem("supplier", "请选择供应商", "choose a supplier"))
    if not conn.execute(sa.select(warehouses.c.id).where(warehouses.c.id == warehouse_id)).first():
        problems.append(Problem("warehouse", "请选择仓库", "choose a warehouse"))
    expected: date | None = None
    if expected_on.strip():
        try:
            expected = date.fromisoformat(expected_on.strip())
        except ValueError:
            problems.append(Problem("expected_on", "日期格式应为 年-月-日", "dates are YYYY-MM-DD"))
    parsed, line_problems = parse_lines(conn, lines)
    problems += line_problems
    if problems:
        raise InputError(problems)
    po_id = _new_id(conn, now)
    for attempt in range(ID_ATTEMPTS):  # another purchaser may take the same number at once
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(purchase_orders).values(
                    id=po_id, supplier_id=supplier_id, warehouse_id=warehouse_id,
                    status="draft", expected_on=expected, note=note.strip()[:1000],
                    created_by=actor, created_at=now, updated_at=now))
            break
        except sa.exc.IntegrityError:
            if attempt == ID_ATTEMPTS - 1:
                raise
            po_id = _next_id(po_id)
    conn.execute(sa.insert(purchase_order_lines), [
        {"po_id": po_id, "line_no": i, "sku": sku, "qty_ordered": qty, "unit_cost_fen": fen}
        for i, (sku, qty, fen) in enumerate(parsed, start=1)])
    audit.record(conn, now, actor, "po.create", po_id,
                 {"supplier": supplier_id, "warehouse": warehouse_id, "lines": len(parsed),
                  "total_fen": sum(q * f for _, q, f in parsed)})
    return po_id


def get(conn: Connection, po_id: str) -> PurchaseOrder | None:
    """A purchase order with its lines, or None."""
    p = purchase_orders.c
    r = conn.execute(sa.select(purchase_orders, suppliers.c.name.label("supplier_name"))
                     .select_from(purchase_orders.join(suppliers, suppliers.c.id == p.supplier_id))
                     .where(p.id == po_id)).first()
    if r is None:
        return None
    lines = [PoLine(ln.line_no, ln.sku, ln.qty_ordered, int(ln.unit_cost_fen), ln.qty_received)
             for ln in conn.execute(sa.select(purchase_order_lines).where(
                 purchase_order_lines.c.po_id == po_id).order_by(purchase_order_lines.c.line_no))]
    return PurchaseOrder(r.id, r.supplier_id, r.supplier_name, r.warehouse_id, r.status,
                         r.expected_on, r.note, r.created_by, r.created_at, r.approved_by,
                         r.sent_at, r.cancel_reason, lines)


def list_pos(conn: Connection, *, status: str | None = None, limit: int = 200) -> list[PurchaseOrder]:
    """Purchase orders, newest first (with their lines)."""
    query = sa.select(purchase_orders.c.id).order_by(purchase_orders.c.created_at.desc(),
                                                     purchase_orders.c.id.desc()).limit(limit)
    if status:
        query = query.where(purchase_orders.c.status == status)
    found = [get(conn, po_id) for po_id in conn.execute(query).scalars()]
    return [po for po in found if po is not None]


def _status(conn: Connection, po_id: str) -> str:
    row = conn.execute(sa.select(purchase_orders.c.status).where(
        purchase_orders.c.id == po_id).with_for_update()).first()
    if row is None:
        raise InputError([Problem("", f"没有采购单 {po_id}", f"no purchase order {po_id}")])
    return str(row.status)


def _wrong(status: str, want: tuple[str, str]) -> InputError:
    return InputError([Problem("", f"采购单状态为 {status}, 不能{want[0]}",
                               f"the purchase order is {status}: it cannot be {want[1]}")])


def approve(conn: Connection, po_id: str, *, actor: str, now: datetime) -> None:
    """draft → approved."""
    status = _status(conn, po_id)
    if status != "draft":
        raise _wrong(status, ("审批", "approved"))
    conn.execute(sa.update(purchase_orders).where(purchase_orders.c.id == po_id).values(
        status="approved", approved_by=actor, approved_at=now, updated_at=now))
    audit.record(conn, now, actor, "po.approve", po_id, {})


def _wire(po: PurchaseOrder, status: str) -> PurchaseOrderWire:
    expected = (datetime(po.expected_on.year, po.expected_on.month, po.expected_on.day)
                if po.expected_on else None)
    return PurchaseOrderWire(
        po_id=po.id, supplier=po.supplier_name, warehouse_id=po.warehouse_id, status=status,
        expected_at=expected, note=po.note or None,
        lines=[PoLineWire(line_no=ln.line_no, sku=ln.sku, qty_ordered=ln.qty_ordered)
               for ln in po.lines])


def send(conn: Connection, po_id: str, *, actor: str, now: datetime) -> int:
    """approved → sent: queued for every station of the warehouse; returns how many."""
    status = _status(conn, po_id)
    if status != "approved":
        raise _wrong(status, ("发送", "sent"))
    po = get(conn, po_id)
    assert po is not None
    targets = stations_of_warehouse(conn, po.warehouse_id)
    if not targets:
        raise InputError([Problem("", f"仓库 {po.warehouse_id} 没有工作站",
                                  f"warehouse {po.warehouse_id} has no station")])
    send_po(conn, targets, _wire(po, "open"), now=now)
    conn.execute(sa.update(purchase_orders).where(purchase_orders.c.id == po_id).values(
        status="sent", sent_at=now, updated_at=now))
    audit.record(conn, now, actor, "po.send", po_id, {"stations": ", ".join(targets)})
    return len(targets)


def cancel(conn: Connection, po_id: str, *, actor: str, reason: str, now: datetime) -> None:
    """draft / approved / sent → cancelled, with a reason; a sent order is sent again as
    cancelled so the stations stop expecting it."""
    reason = reason.strip()
    problems = [] if reason else [Problem("reason", "请写明取消原因", "say why it is cancelled")]
    status = _status(conn, po_id)
    if status not in CANCELLABLE:
        problems.append(_wrong(status, ("取消", "cancelled")).problems[0])
    if problems:
        raise InputError(problems)
    if status == "sent":
        po = get(conn, po_id)
        assert po is not None
        send_po(conn, stations_of_warehouse(conn, po.warehouse_id), _wire(po, "cancelled"), now=now)
    conn.execute(sa.update(purchase_orders).where(purchase_orders.c.id == po_id).values(
        status="cancelled", cancel_reason=reason[:1000], updated_at=now))
    audit.record(conn, now, actor, "po.cancel", po_id, {"from": status, "reason": reason[:1000]})


def moving_average(on_hand_before: int, cost_before: int | None, qty: int, unit_cost: int) -> int:
    """The cost per unit after receiving ``qty`` at ``unit_cost`` (fen, rounded half up):
    the unit cost alone when nothing was on hand (or less than nothing) or no cost was
    known."""
    if on_hand_before <= 0 or cost_before is None:
        return unit_cost
    total = on_hand_before * cost_before + qty * unit_cost
    units = on_hand_before + qty
    return (2 * total + units) // (2 * units)


def on_receipts(conn: Connection, moves: Sequence[MoveWire], *, now: datetime) -> int:
    """New moves from the stations (ingest, same transaction): each RECEIVE against a line
    of a purchase order this cloud sent adds to the line's received count, moves the order
    to ``partial`` or ``received``, and sets the SKU's moving-average cost (a
    ``cost_changes`` row and a ``product.cost`` audit entry). Returns the receipts counted.
    Other moves, and receipts naming no known line, change nothing here."""
    receipts = [m for m in moves if m.reason == MoveReason.RECEIVE and m.source_type == "po"
                and m.source_line and m.source_line.isdigit()]
    counted = 0
    touched: set[str] = set()
    for m in receipts:
        assert m.source_line is not None
        ln = purchase_order_lines.c
        line = conn.execute(sa.select(ln.unit_cost_fen).where(
            ln.po_id == m.source_id, ln.line_no == int(m.source_line))).first()
        if line is None:
            continue
        conn.execute(sa.update(purchase_order_lines).where(
            ln.po_id == m.source_id, ln.line_no == int(m.source_line)).values(
            qty_received=ln.qty_received + m.qty_delta))
        on_hand = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(stock_balances.c.qty), 0))
                               .where(stock_balances.c.sku == m.sku)).scalar_one()
        before = int(on_hand) - m.qty_delta  # the move is already in the balances
        cost_before = conn.execute(sa.select(skus.c.cost_fen).where(skus.c.sku == m.sku)).scalar()
        after = moving_average(before, cost_before, m.qty_delta, int(line.unit_cost_fen))
        conn.execute(sa.insert(cost_changes).values(
            move_id=m.move_id, sku=m.sku, po_id=m.source_id, qty=m.qty_delta,
            unit_cost_fen=int(line.unit_cost_fen), on_hand_before=before,
            cost_before_fen=cost_before, cost_after_fen=after, at=now))
        conn.execute(sa.update(skus).where(skus.c.sku == m.sku).values(cost_fen=after))
        if cost_before != after:
            audit.record(conn, now, m.operator_id, "product.cost", m.sku,
                         {"from": cost_before, "to": after, "via": f"receipt {m.source_id}",
                          "move_id": m.move_id})
        touched.add(m.source_id)
        counted += 1
    for po_id in sorted(touched):
        _receipt_status(conn, po_id, now)
    return counted


def _receipt_status(conn: Connection, po_id: str, now: datetime) -> None:
    ln = purchase_order_lines.c
    open_units = conn.execute(sa.select(sa.func.count()).select_from(purchase_order_lines).where(
        ln.po_id == po_id, ln.qty_received < ln.qty_ordered)).scalar_one()
    status = "partial" if open_units else "received"
    conn.execute(sa.update(purchase_orders).where(
        purchase_orders.c.id == po_id, purchase_orders.c.status.in_(("sent", "partial"))
    ).values(status=status, updated_at=now))


def po_xlsx(po: PurchaseOrder, names: dict[str, tuple[str, str | None]]) -> bytes:
    """The purchase order as an XLSX workbook for the supplier: a header block (number,
    supplier, warehouse, expected date, status), then one row per line with quantity, unit
    cost and amount in yuan as numbers, and the total. Text cells are typed strings, never
    formulas (``edge.domain.spreadsheet``)."""
    import io
    from decimal import Decimal

    import openpyxl

    from edge.domain.spreadsheet import xlsx_text_cell

    def yuan(fen: int) -> Decimal:
        return Decimal(fen) / 100

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("采购单")
    for label, value in (("采购单号", po.id), ("供应商", po.supplier_name),
                         ("仓库", po.warehouse_id),
                         ("预计到货", po.expected_on.isoformat() if po.expected_on else ""),
                         ("状态", po.status), ("备注", po.note)):
        ws.append([xlsx_text_cell(ws, label), xlsx_text_cell(ws, value)])
    ws.append([])
    ws.append([xlsx_text_cell(ws, h) for h in ("行", "商品编码", "品名", "数量", "单价(元)",
                                                 "金额(元)")])
    for ln in po.lines:
        name = names.get(ln.sku, ("", None))[0]
        ws.append([ln.line_no, xlsx_text_cell(ws, ln.sku), xlsx_text_cell(ws, name),
                   ln.qty_ordered, yuan(ln.unit_cost_fen), yuan(ln.qty_ordered * ln.unit_cost_fen)])
    ws.append([None, None, xlsx_text_cell(ws, "合计"), sum(ln.qty_ordered for ln in po.lines),
               None, yuan(po.total_fen)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
