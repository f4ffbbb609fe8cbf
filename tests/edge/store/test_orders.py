"""``Writer.upsert_order``: idempotent by order id, shipped orders are never overwritten."""

from __future__ import annotations

import json

import pytest

from edge.errors import PackError
from edge.store import Store

ORDER = {"order_id": "O-1", "platform": "pdd", "shop_id": "s1", "platform_order_no": "261123-1",
         "waybill_no": "73000000001", "carrier": "ZTO", "print_data": {"waybill_no": "73000000001"},
         "receiver_masked": {"name": "张*"}, "ordered_at": "2026-11-23T07:00:00+00:00"}
LINES = [{"line_no": 1, "sku": "CUP-350", "qty": 2}, {"line_no": 2, "sku": "TOWEL-W", "qty": 1}]


def rows(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db = store.queries.db
    return (db.execute("SELECT order_id, status, intercept_reason, print_data, receiver_masked "
                       "FROM orders").fetchall(),
            db.execute("SELECT order_id, line_no, sku, qty FROM order_lines ORDER BY line_no").fetchall())


def test_upsert_is_idempotent(store: Store) -> None:
    store.writer.upsert_order(dict(ORDER), LINES)
    first = rows(store)
    store.writer.upsert_order(dict(ORDER), LINES)
    assert rows(store) == first
    orders, lines = first
    assert orders == [("O-1", "waiting", None, json.dumps({"waybill_no": "73000000001"}),
                       json.dumps({"name": "张*"}, ensure_ascii=False))]
    assert lines == [("O-1", 1, "CUP-350", 2), ("O-1", 2, "TOWEL-W", 1)]


def test_update_keeps_local_status_but_intercept_wins(store: Store) -> None:
    store.writer.upsert_order(dict(ORDER), LINES)
    store.writer.db.execute("UPDATE orders SET status = 'packing' WHERE order_id = 'O-1'")
    store.writer.upsert_order(dict(ORDER, status="waiting"), LINES[:1])
    assert rows(store)[0][0][1] == "packing"
    assert rows(store)[1] == [("O-1", 1, "CUP-350", 2)]
    store.writer.upsert_order(dict(ORDER, status="intercepted", intercept_reason="退款"), LINES[:1])
    assert rows(store)[0][0][1:3] == ("intercepted", "退款")


def test_shipped_order_is_not_overwritten(store: Store) -> None:
    store.writer.upsert_order(dict(ORDER), LINES)
    store.writer.db.execute("UPDATE orders SET status = 'shipped' WHERE order_id = 'O-1'")
    before = rows(store)
    with pytest.raises(PackError, match="already shipped"):
        store.writer.upsert_order(dict(ORDER, status="intercepted"), LINES[:1])
    assert rows(store) == before
