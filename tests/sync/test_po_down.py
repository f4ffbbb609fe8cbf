"""A purchase order approved and sent in the cloud reaches the stations of its warehouse
through the real broker, ready to be received; cancelling it reaches them too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import purchasing
from cloud.db import write_transaction
from cloud.db.schema import skus
from edge.store import Store
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import STATIONS, running_daemon, running_ingest
from tests.sync.test_faults import stations as two_stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def _po(store: Store, po_id: str) -> tuple[str, list[tuple[int, str, int, int]]] | None:
    row = store.writer.db.execute("SELECT status FROM purchase_orders WHERE po_id = ?",
                                  [po_id]).fetchone()
    if row is None:
        return None
    lines = store.writer.db.execute(
        "SELECT line_no, sku, qty_ordered, qty_received FROM purchase_order_lines "
        "WHERE po_id = ? ORDER BY line_no", [po_id]).fetchall()
    return row[0], [tuple(ln) for ln in lines]


def test_a_sent_purchase_order_waits_at_both_stations(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    (one, two), syncers = two_stations(tmp_path)
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(skus), [{"sku": "CUP-350", "name_zh": "保温杯 350ml"},
                                       {"sku": "TOWEL-W", "name_zh": "纯棉毛巾 白色"}])
        purchasing.create_supplier(conn, supplier_id="YW01", name="义乌日用品厂", contact="",
                                   phone="", lead_days="", actor="buyer", now=NOW)
        po_id = purchasing.create_po(conn, supplier_id="YW01", warehouse_id="WH1",
                                     lines="CUP-350 200 12.5\nTOWEL-W 40 6", expected_on="",
                                     note="", actor="buyer", now=NOW)
        purchasing.approve(conn, po_id, actor="boss", now=NOW)
        assert purchasing.send(conn, po_id, actor="boss", now=NOW) == 2
    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        wait_until(lambda: _po(one, po_id) is not None and _po(two, po_id) is not None, 30,
                   what="the purchase order at both stations")
        assert _po(one, po_id) == ("open", [(1, "CUP-350", 200, 0), (2, "TOWEL-W", 40, 0)])
        with write_transaction(engine) as conn:
            purchasing.cancel(conn, po_id, actor="boss", reason="供应商停产", now=NOW)
        wait_until(lambda: all(_po(s, po_id)[0] == "cancelled" for s in (one, two)),  # type: ignore[index]
                   30, what="the cancellation at both stations")


def test_receipts_at_a_station_update_the_order_and_the_moving_average_cost(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    """Cloud: CUP-350 has 100 on hand at 10.00. Receiving 120 at 12.50 → (100 × 1000 +
    120 × 1250) / 220 = 1136.36 → 11.36; then 80 more → (220 × 1136 + 80 × 1250) / 300 =
    1166.4 → 11.66, and the order is received. The other station counts the receipts too."""
    from cloud.db.schema_purchasing import cost_changes, purchase_order_lines, purchase_orders
    from cloud.stock import record_cloud_move
    from edge.domain.models import MoveReason

    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", STATIONS)
    (one, two), syncers = two_stations(tmp_path)
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(skus), [{"sku": "CUP-350", "name_zh": "保温杯 350ml",
                                        "cost_fen": 1000}])
        record_cloud_move(conn, warehouse_id="WH1", sku="CUP-350", location="A-01-01",
                          qty_delta=100, reason=MoveReason.RECEIVE, operator_id="M01",
                          note="期初", source_type="opening", source_id="O-1", now=NOW)
        purchasing.create_supplier(conn, supplier_id="YW01", name="义乌日用品厂", contact="",
                                   phone="", lead_days="", actor="buyer", now=NOW)
        po_id = purchasing.create_po(conn, supplier_id="YW01", warehouse_id="WH1",
                                     lines="CUP-350 200 12.50", expected_on="", note="",
                                     actor="buyer", now=NOW)
        purchasing.approve(conn, po_id, actor="boss", now=NOW)
        purchasing.send(conn, po_id, actor="boss", now=NOW)

    def cloud_po() -> tuple[str, int, int | None]:
        with engine.connect() as conn:
            status = conn.execute(sa.select(purchase_orders.c.status)).scalar_one()
            received = conn.execute(sa.select(purchase_order_lines.c.qty_received)).scalar_one()
            cost = conn.execute(sa.select(skus.c.cost_fen)).scalar_one()
        return status, received, cost

    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        wait_until(lambda: _po(one, po_id) is not None and one.queries.balance(
            "CUP-350", "A-01-01") == 100, 30, what="the order and the opening stock at st-01")
        with pytest.raises(Exception, match="超收"):
            one.writer.receive_po(po_id, 1, 201, location="A-01-01", operator_id="P01")
        one.writer.receive_po(po_id, 1, 120, location="A-01-01", operator_id="P01")
        wait_until(lambda: cloud_po() == ("partial", 120, 1136), 30, what="the first receipt")
        wait_until(lambda: _po(two, po_id) == ("open", [(1, "CUP-350", 200, 120)]), 30,
                   what="st-02 counting st-01's receipt")
        one.writer.receive_po(po_id, 1, 80, location="A-01-01", operator_id="P01")
        wait_until(lambda: cloud_po() == ("received", 200, 1166), 30, what="the second receipt")
    with engine.connect() as conn:
        changes = conn.execute(sa.select(
            cost_changes.c.qty, cost_changes.c.on_hand_before, cost_changes.c.cost_before_fen,
            cost_changes.c.cost_after_fen).order_by(cost_changes.c.at, cost_changes.c.qty.desc())
        ).all()
    assert [tuple(c) for c in changes] == [(120, 100, 1000, 1136), (80, 220, 1136, 1166)]
