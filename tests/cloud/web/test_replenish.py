"""补货建议 (#16, replenishment): the suggested quantity and its reasons, worked out by hand
from the moves, safety stock and purchase orders below, on both engines; a selection becomes
draft purchase orders, one per supplier and warehouse, and a drafted order is not suggested
twice."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import sku_safety_stock
from cloud.db.schema_purchasing import purchase_order_lines, purchase_orders, suppliers
from cloud.ledger_store import insert_moves
from edge.domain.models import MoveReason, Role
from tests.cloud.helpers import make_move
from tests.cloud.web.support import T0, cells, signed_in, token

# The web clock stands at T0. WH1 (after the shared seed: SKU-1 12 on hand, SKU-2 7):
# SKU-1: +60 received 30 days before; shipped 28 twenty days before and 14 three days before
#   → on hand 12 + 60 − 28 − 14 = 30; last 7 days 14, last 28 days 42;
#   pace (14/7 + 42/28) / 2 = (2 + 1.5) / 2 = 1.75 a day; supplier 甲厂 (lead 5 days) from the
#   latest purchase order not cancelled, at 6.00; × (5 + 7) = 21; + safety 20 = need 41;
#   position 30 − 0 + 0 + 5 on order (PO-2, sent) = 35 → suggest 6.
# SKU-2: no sales, safety 10, on hand 7, never bought → need 10, position 7 → suggest 3,
#   no supplier (default lead 7 days), cannot be drafted.


def _seed(engine: Engine) -> None:
    day = timedelta(days=1)
    ship = {"reason": MoveReason.SHIP, "source_type": "order"}
    with engine.begin() as conn:
        insert_moves(conn, [
            make_move(700, qty_delta=60, balance_after=72, occurred_at=T0 - 30 * day),
            make_move(701, qty_delta=-28, balance_after=44, source_id="o-1",
                      occurred_at=T0 - 20 * day, **ship),
            make_move(702, qty_delta=-14, balance_after=30, source_id="o-2",
                      occurred_at=T0 - 3 * day, **ship)])
        conn.execute(sa.insert(sku_safety_stock), [
            {"sku": "SKU-1", "warehouse_id": "WH1", "qty": 20},
            {"sku": "SKU-2", "warehouse_id": "WH1", "qty": 10}])
        conn.execute(sa.insert(suppliers), [
            {"id": "SUP-A", "name": "甲厂", "lead_days": 5, "created_at": T0},
            {"id": "SUP-B", "name": "乙厂", "lead_days": 2, "created_at": T0}])
        conn.execute(sa.insert(purchase_orders), [
            {"id": i, "supplier_id": s, "warehouse_id": "WH1", "status": st,
             "created_by": "u-purchaser", "created_at": at, "updated_at": at}
            for i, s, st, at in (("PO-1", "SUP-A", "received", T0 - 40 * day),
                                 ("PO-2", "SUP-A", "sent", T0 - 2 * day),
                                 ("PO-3", "SUP-B", "cancelled", T0 - day))])
        conn.execute(sa.insert(purchase_order_lines), [
            {"po_id": "PO-1", "line_no": 1, "sku": "SKU-1", "qty_ordered": 60,
             "unit_cost_fen": 550, "qty_received": 60},
            {"po_id": "PO-2", "line_no": 1, "sku": "SKU-1", "qty_ordered": 5,
             "unit_cost_fen": 600, "qty_received": 0},
            {"po_id": "PO-3", "line_no": 1, "sku": "SKU-1", "qty_ordered": 9,
             "unit_cost_fen": 100, "qty_received": 0}])


async def test_suggestions_with_their_reasons(client: httpx.AsyncClient,
                                              cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    _seed(cloud_engine)
    page = await client.get("/purchasing/replenish")
    assert page.status_code == 200, page.text
    rows = cells(page.text, "rp-table")
    assert 'name="qty:WH1|SKU-1" value="6"' in page.text  # the order quantity starts there
    assert [r[1:6] for r in rows] == [
        ["WH1", "SKU-2", "帆布袋", "无供应商", "3"],
        ["WH1", "SKU-1", "保温杯 500ml", "甲厂 5d", "6"]]
    assert rows[1][7] == ("日均 1.75 (近7天 14 件, 近28天 42 件) × (5 + 7) 天 → 21; + 安全 20 = 需备 41; "
                          "在库 30 − 占用 0 + 调拨 0 + 采购 5 = 35")
    assert rows[0][7].startswith("日均 0.00 (近7天 0 件, 近28天 0 件) × (7 + 7) 天 → 0; + 安全 10")


async def test_a_selection_becomes_draft_orders(client: httpx.AsyncClient,
                                                cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    _seed(cloud_engine)
    csrf = await token(client, "/purchasing/replenish")
    refused = await client.post("/purchasing/replenish", data={
        "csrf_token": csrf, "pick": ["WH1|SKU-1", "WH1|SKU-2"], "qty:WH1|SKU-1": "8",
        "qty:WH1|SKU-2": "3"})
    assert refused.status_code == 400 and "SKU-2: 没有供应商" in refused.text
    with cloud_engine.connect() as conn:  # nothing written
        assert conn.execute(sa.select(sa.func.count()).select_from(purchase_orders)).scalar() == 3
    done = await client.post("/purchasing/replenish", data={
        "csrf_token": csrf, "pick": ["WH1|SKU-1"], "qty:WH1|SKU-1": "8"})
    assert done.status_code == 303 and done.headers["location"] == "/purchasing?status=draft"
    with cloud_engine.connect() as conn:
        po = conn.execute(sa.select(purchase_orders).where(
            purchase_orders.c.status == "draft")).one()
        line = conn.execute(sa.select(purchase_order_lines).where(
            purchase_order_lines.c.po_id == po.id)).one()
    assert (po.supplier_id, po.warehouse_id, po.created_by) == ("SUP-A", "WH1", "u-purchaser")
    assert (line.sku, line.qty_ordered, line.unit_cost_fen) == ("SKU-1", 8, 600)
    # the draft is on order now: position 35 + 8 = 43 ≥ need 41, SKU-1 is not suggested again
    again = await client.get("/purchasing/replenish")
    assert [r[2] for r in cells(again.text, "rp-table")] == ["SKU-2"]


async def test_a_lead_sees_but_cannot_draft(client: httpx.AsyncClient,
                                            cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    _seed(cloud_engine)
    page = await client.get("/purchasing/replenish")
    assert page.status_code == 200 and 'id="rp-draft"' not in page.text
    assert (await client.post("/purchasing/replenish", data={"pick": "WH1|SKU-1"})).status_code == 403
