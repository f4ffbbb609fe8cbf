"""A transfer (调拨) from WH1 to WH2 end to end through the real broker: written and sent in
the cloud, it reaches a station of each warehouse; the WH1 station ships 30 of 50 (the
cloud shows 30 in transit to WH2 and tells the WH2 station), the WH2 station receives 28,
the cloud closes it short with 2 recorded missing, and nothing is in transit any more. The
stations' balances (−30 at WH1, +28 at WH2) are the cloud's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cloud import transfers
from cloud.db import write_transaction
from cloud.db.schema import skus, stations, stock_balances
from cloud.db.schema_transfers import transfer_lines
from cloud.db.schema_transfers import transfers as transfers_table
from edge.errors import LedgerError
from edge.store import Store
from tests.fixtures.mosquitto import MosquittoFactory
from tests.sync.harness import make_cloud
from tests.sync.helpers import wait_until
from tests.sync.test_faults import running_daemon, running_ingest
from tests.sync.test_faults import stations as make_stations

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(120)]

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
STATIONS = ("st-01", "st-02")
"""st-01 is a station of WH1 (the source), st-02 of WH2 (the destination)."""


def _at_station(store: Store, transfer_id: str) -> tuple[str, list[tuple[int, ...]]] | None:
    row = store.writer.db.execute("SELECT status FROM transfers WHERE transfer_id = ?",
                                  [transfer_id]).fetchone()
    if row is None:
        return None
    lines = store.writer.db.execute(
        "SELECT line_no, qty, qty_shipped, qty_received FROM transfer_lines "
        "WHERE transfer_id = ? ORDER BY line_no", [transfer_id]).fetchall()
    return row[0], [tuple(ln) for ln in lines]


def test_ship_receive_and_close_short_through_the_broker(
    mosquitto_factory: MosquittoFactory, tmp_path: Path,
) -> None:
    broker = mosquitto_factory(stations=STATIONS, cert_stations=())
    engine = make_cloud(tmp_path / "cloud.db", ("st-01",))
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(stations).values(id="st-02", warehouse_id="WH2", name="st-02",
                                                status="active", created_at=NOW))
        conn.execute(sa.insert(skus), [{"sku": "CUP-350", "name_zh": "保温杯 350ml"}])
        tid = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH2",
                               lines="CUP-350 50", note="补义乌仓", actor="lead", now=NOW)
        assert transfers.send(conn, tid, actor="lead", now=NOW) == 2
    assert tid == "TR20261204-001"  # 16:00 on 4 December in Beijing
    (src, dst), syncers = make_stations(tmp_path, STATIONS)

    def cloud_state() -> tuple[str, tuple[int, int, int], dict[tuple[str, str], int]]:
        with engine.connect() as conn:
            status = conn.execute(sa.select(transfers_table.c.status)).scalar_one()
            line = conn.execute(sa.select(transfer_lines.c.qty_shipped,
                                          transfer_lines.c.qty_received,
                                          transfer_lines.c.qty_missing)).one()
            return status, (line[0], line[1], line[2]), transfers.in_transit(conn)

    with running_ingest(broker, engine), running_daemon(broker, syncers[0]), \
            running_daemon(broker, syncers[1]):
        wait_until(lambda: _at_station(src, tid) is not None and _at_station(dst, tid)
                   is not None, 30, what="the transfer at both stations")
        assert _at_station(dst, tid) == ("open", [(1, 50, 0, 0)])
        with pytest.raises(LedgerError, match="超出已调出数量"):  # nothing shipped yet
            dst.writer.receive_transfer(tid, 1, 1, location="Y-01-01", operator_id="P02")
        with pytest.raises(LedgerError, match="不在调出仓库"):  # WH2's location at WH1's side
            src.writer.ship_transfer(tid, 1, 1, location="Y-01-01", operator_id="P01")
        with pytest.raises(LedgerError, match="超出调拨数量"):
            src.writer.ship_transfer(tid, 1, 51, location="A-01-01", operator_id="P01")
        src.writer.ship_transfer(tid, 1, 30, location="A-01-01", operator_id="P01")
        wait_until(lambda: cloud_state() == ("shipped", (30, 0, 0), {("WH2", "CUP-350"): 30}),
                   30, what="30 in transit in the cloud")
        wait_until(lambda: _at_station(dst, tid) == ("open", [(1, 50, 30, 0)]), 30,
                   what="st-02 told that 30 shipped")
        with pytest.raises(LedgerError, match="在途 30"):
            dst.writer.receive_transfer(tid, 1, 31, location="Y-01-01", operator_id="P02")
        dst.writer.receive_transfer(tid, 1, 28, location="Y-01-01", operator_id="P02")
        wait_until(lambda: cloud_state() == ("partial", (30, 28, 0), {("WH2", "CUP-350"): 2}),
                   30, what="28 received, 2 in transit")
        with write_transaction(engine) as conn:
            missing = transfers.close(conn, tid, actor="lead", reason="2 件破损丢失", now=NOW)
        assert missing == {1: 2}
        assert cloud_state() == ("received", (30, 28, 2), {})
        wait_until(lambda: all(_at_station(s, tid)[0] == "closed"  # type: ignore[index]
                               for s in (src, dst)), 30, what="the close at both stations")
        with pytest.raises(LedgerError, match="不在进行中"):
            dst.writer.receive_transfer(tid, 1, 2, location="Y-01-01", operator_id="P02")
    assert src.queries.balance("CUP-350", "A-01-01") == -30
    assert dst.queries.balance("CUP-350", "Y-01-01") == 28
    with engine.connect() as conn:
        cloud = {(r.warehouse_id, r.location): r.qty for r in conn.execute(
            sa.select(stock_balances).where(stock_balances.c.sku == "CUP-350"))}
    assert cloud == {("WH1", "A-01-01"): -30, ("WH2", "Y-01-01"): 28}
