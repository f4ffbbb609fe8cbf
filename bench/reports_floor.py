"""The stock, purchasing and returns reports in ``python -m bench reports``.

:func:`generate` adds, to the year :mod:`bench.reports` made, what these reports read: the
cloud ledger's SHIP moves (one per shipped order line, copied set-wise from the profit
report's cost rows, which carry the same move ids), purchase orders sent through the year to
:data:`SUPPLIERS` suppliers with their receipt moves and cost changes, and returns inspected
at the stations for :data:`RETURN_SHARE` of the shipped orders. :func:`cases` are the timed
reports, in the shape ``bench.reports.run_on`` times them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud.db import write_transaction
from cloud.db.schema import stock_moves
from cloud.db.schema_purchasing import (
    cost_changes,
    purchase_order_lines,
    purchase_orders,
    suppliers,
)
from cloud.db.schema_reports import profit_ship_costs
from cloud.db.schema_returns import station_return_lines, station_returns
from cloud.reports import purchasing, returns, stock_value
from edge.domain.models import MoveReason

SUPPLIERS = 40
"""Suppliers the purchase orders go to."""
ORDERS_PER_PO = 500
"""One purchase order per this many customer orders (at least :data:`MIN_POS`)."""
MIN_POS = 50
"""Fewest purchase orders generated."""
PO_LINES = 10
"""Lines per purchase order."""
OPEN_SHARE = 0.1
"""Purchase orders still on order (sent, nothing received yet)."""
LEAD_DAYS = (2, 15)
"""Days from sending a purchase order to its receipt, at random in this range."""
RETURN_SHARE = 0.02
"""Shipped orders whose goods came back and were inspected at a station."""
CONDITIONS = ("good", "good", "good", "damaged", "wrong")
"""Inspection results drawn at random (mostly restocked)."""
BATCH = 5000
"""Rows per insert."""


def _ship_moves(conn: Connection) -> None:
    """The SHIP moves themselves, from the cost rows that name them."""
    c = profit_ship_costs.c
    conn.execute(sa.insert(stock_moves).from_select(
        ["move_id", "sku", "location", "warehouse_id", "station_id", "qty_delta",
         "balance_after", "reason", "source_type", "source_id", "operator_id",
         "occurred_at", "recorded_at", "received_at"],
        sa.select(c.move_id, c.sku, sa.literal("A-01"), c.warehouse_id, sa.literal("st0"),
                  -c.units, sa.literal(0), sa.literal(int(MoveReason.SHIP)),
                  sa.literal("order"), c.order_id, sa.literal("P00"),
                  c.occurred_at, c.occurred_at, c.occurred_at)))


def generate(engine: Engine, n_orders: int, n_skus: int, *, start: datetime, days: int,
             cost: Callable[[int], int], seed: int = 11) -> None:
    """Add the ledger moves, purchase orders and returns of the floor reports."""
    rnd = random.Random(seed)
    end = start + timedelta(days=days)
    with write_transaction(engine) as conn:
        _ship_moves(conn)
        conn.execute(sa.insert(suppliers), [
            {"id": f"SUP{s:02d}", "name": f"供应商 {s}", "lead_days": 7, "created_at": start}
            for s in range(SUPPLIERS)])
    pos: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for p in range(max(MIN_POS, n_orders // ORDERS_PER_PO)):
        sent = start + timedelta(seconds=rnd.randrange(days * 86400))
        got = sent + timedelta(days=rnd.randint(*LEAD_DAYS))
        open_po = rnd.random() < OPEN_SHARE or got >= end
        po_id, wh = f"PO{p:06d}", f"WH{p % 3}"
        pos.append({"id": po_id, "supplier_id": f"SUP{p % SUPPLIERS:02d}", "warehouse_id": wh,
                    "status": "sent" if open_po else "received",
                    "expected_on": (sent + timedelta(days=7)).date(), "created_by": "buyer",
                    "created_at": sent, "approved_by": "boss", "approved_at": sent,
                    "sent_at": sent, "updated_at": got})
        for n, k in enumerate(rnd.sample(range(n_skus), PO_LINES), start=1):
            qty, unit = rnd.randint(20, 200), cost(k)
            lines.append({"po_id": po_id, "line_no": n, "sku": f"SKU{k:05d}",
                          "qty_ordered": qty, "unit_cost_fen": unit,
                          "qty_received": 0 if open_po else qty})
            if open_po:
                continue
            move_id = f"rc-{p}-{n}"
            moves.append({"move_id": move_id, "sku": f"SKU{k:05d}", "location": "A-01",
                          "warehouse_id": wh, "station_id": "st0", "qty_delta": qty,
                          "balance_after": qty, "reason": int(MoveReason.RECEIVE),
                          "source_type": "po", "source_id": po_id, "source_line": str(n),
                          "operator_id": "P00", "occurred_at": got, "recorded_at": got,
                          "received_at": got})
            changes.append({"move_id": move_id, "sku": f"SKU{k:05d}", "po_id": po_id,
                            "qty": qty, "unit_cost_fen": unit, "on_hand_before": 0,
                            "cost_before_fen": unit, "cost_after_fen": unit, "at": got})
    with write_transaction(engine) as conn:
        for table, rows in ((purchase_orders, pos), (purchase_order_lines, lines),
                            (stock_moves, moves), (cost_changes, changes)):
            for i in range(0, len(rows), BATCH):
                conn.execute(sa.insert(table), rows[i:i + BATCH])
    _returns(engine, rnd)


def _returns(engine: Engine, rnd: random.Random) -> None:
    """Returns inspected for a share of the shipped orders, one line each."""
    c = profit_ship_costs.c
    heads: list[dict[str, Any]] = []
    body: list[dict[str, Any]] = []
    with engine.connect() as conn:
        shipped = conn.execute(sa.select(c.order_id, c.sku, c.units, c.warehouse_id,
                                         c.occurred_at).order_by(c.move_id)).all()
    for i, r in enumerate(shipped):
        if rnd.random() >= RETURN_SHARE:
            continue
        at = r.occurred_at + timedelta(days=rnd.randint(3, 15))
        msg_id = f"ret-{i}"
        heads.append({"msg_id": msg_id, "return_id": msg_id, "station_id": "st0",
                      "warehouse_id": r.warehouse_id, "order_id": r.order_id,
                      "shop_id": "shop0", "refund_id": None, "scanned": r.order_id,
                      "exchange": False, "operator_id": "P00", "received_at": at,
                      "recorded_at": at})
        body.append({"msg_id": msg_id, "line_no": 1, "sku": r.sku, "code": r.sku,
                     "qty": int(r.units), "condition": rnd.choice(CONDITIONS),
                     "in_order": True})
    with write_transaction(engine) as conn:
        for table, rows in ((station_returns, heads), (station_return_lines, body)):
            for i in range(0, len(rows), BATCH):
                conn.execute(sa.insert(table), rows[i:i + BATCH])


def cases(start: date, end: date, now: datetime
          ) -> list[tuple[str, Callable[[Connection], object]]]:
    """The timed floor reports over a year ``start``..``end`` (stock at ``now``)."""
    month = end - timedelta(days=29)
    return [
        ("stock, every SKU, 30-day cover", lambda c: stock_value.report(c, now=now)),
        ("stock, below safety only", lambda c: stock_value.report(c, now=now, below_only=True)),
        ("stock, one warehouse", lambda c: stock_value.report(c, now=now, warehouse_id="WH1")),
        ("purchasing, a year", lambda c: purchasing.report(c, purchasing.Filters(start, end))),
        ("purchasing, a year, 1 supplier", lambda c: purchasing.report(
            c, purchasing.Filters(start, end, supplier="SUP03"))),
        ("returns, a year", lambda c: returns.report(c, returns.Filters(start, end))),
        ("returns, 30 days", lambda c: returns.report(c, returns.Filters(month, end))),
    ]
