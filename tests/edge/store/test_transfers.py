"""Transfers (调拨) at the station: shipping from the source warehouse (TRANSFER_OUT, −qty)
and receiving at the destination (TRANSFER_IN, +qty), counted on the transfer's lines;
refusals change nothing; the cloud's counts never lower the station's."""

from __future__ import annotations

import json

import pytest

from edge.domain.models import MoveReason
from edge.errors import LedgerError
from edge.store import Store
from edge.sync.inbox import apply_transfer
from edge.sync.schema import TransferWire


def _transfer(store: Store, status: str = "open", shipped: int = 0, received: int = 0) -> None:
    apply_transfer(store.writer, TransferWire.model_validate({
        "transfer_id": "TR-1", "from_warehouse": "WH1", "to_warehouse": "WH2", "status": status,
        "lines": [{"line_no": 1, "sku": "CUP-350", "qty": 10, "qty_shipped": shipped,
                   "qty_received": received}]}))


def _counts(store: Store) -> tuple[int, int]:
    row = store.writer.db.execute(
        "SELECT qty_shipped, qty_received FROM transfer_lines WHERE transfer_id = 'TR-1'"
    ).fetchone()
    return int(row[0]), int(row[1])


def test_shipping_is_a_transfer_out_move_counted_on_the_line(store: Store) -> None:
    _transfer(store)
    store.writer.adjust(sku="CUP-350", location="A-01-01", qty_delta=20, operator_id="L01",
                        note="期初")
    move = store.writer.ship_transfer("TR-1", 1, 6, location="A-01-01", operator_id="P01")
    assert (move.reason, move.source_type, move.source_id, move.source_line, move.qty_delta,
            move.balance_after) == (MoveReason.TRANSFER_OUT, "transfer", "TR-1", "1", -6, 14)
    assert _counts(store) == (6, 0)
    outbox = [json.loads(r[0]) for r in store.writer.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'move'").fetchall()]
    assert outbox[-1]["move_id"] == move.move_id


def test_refused_shipments_change_nothing(store: Store) -> None:
    _transfer(store)
    store.writer.adjust(sku="CUP-350", location="A-01-01", qty_delta=20, operator_id="L01",
                        note="期初")
    store.writer.ship_transfer("TR-1", 1, 6, location="A-01-01", operator_id="P01")
    for line_no, qty, location, match in (
            (1, 5, "A-01-01", "还剩 4 件"),         # 6 + 5 > 10
            (2, 1, "A-01-01", "没有第 2 行"),
            (1, 0, "A-01-01", "至少为 1"),
            (1, 1, "Y-01-01", "不在调出仓库 WH1")):  # a WH2 location
        with pytest.raises(LedgerError, match=match):
            store.writer.ship_transfer("TR-1", line_no, qty, location=location,
                                       operator_id="P01")
    assert _counts(store) == (6, 0)
    assert store.queries.balance("CUP-350", "A-01-01") == 14
    _transfer(store, "cancelled")
    with pytest.raises(LedgerError, match="不在进行中"):
        store.writer.ship_transfer("TR-1", 1, 1, location="A-01-01", operator_id="P01")


def test_receiving_only_what_has_shipped(store: Store) -> None:
    _transfer(store)
    with pytest.raises(LedgerError, match="在途 0"):
        store.writer.receive_transfer("TR-1", 1, 1, location="Y-01-01", operator_id="P02")
    _transfer(store, shipped=7)  # the cloud says the source shipped 7
    with pytest.raises(LedgerError, match="不在调入仓库 WH2"):
        store.writer.receive_transfer("TR-1", 1, 1, location="A-01-01", operator_id="P02")
    move = store.writer.receive_transfer("TR-1", 1, 5, location="Y-01-01", operator_id="P02")
    assert (move.reason, move.qty_delta, move.balance_after) == (MoveReason.TRANSFER_IN, 5, 5)
    with pytest.raises(LedgerError, match="在途 2"):
        store.writer.receive_transfer("TR-1", 1, 3, location="Y-01-01", operator_id="P02")
    assert _counts(store) == (7, 5)
    # a late copy from the cloud (before it counted the receipt) lowers nothing
    _transfer(store, shipped=7, received=0)
    assert _counts(store) == (7, 5)
    _transfer(store, "closed", shipped=7, received=5)
    with pytest.raises(LedgerError, match="不在进行中"):
        store.writer.receive_transfer("TR-1", 1, 2, location="Y-01-01", operator_id="P02")
    assert store.queries.balance("CUP-350", "Y-01-01") == 5


def test_a_relayed_shipment_counts_at_a_sibling_station(store: Store) -> None:
    """Another station of WH1 shipped 4: its move, relayed by the cloud, counts here too,
    once however often it arrives."""
    from datetime import UTC, datetime

    from edge.domain.models import Move

    _transfer(store)
    at = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    relayed = Move(move_id="other-station-move-1", sku="CUP-350", location="A-01-01",
                   qty_delta=-4, balance_after=-4, reason=MoveReason.TRANSFER_OUT,
                   source_type="transfer", source_id="TR-1", source_line="1",
                   operator_id="P09", station_id="ST2", device_id=None, occurred_at=at,
                   recorded_at=at, reverses_move_id=None, note=None, warehouse_id="WH1")
    store.writer.apply_remote_moves([relayed])
    store.writer.apply_remote_moves([relayed])
    assert _counts(store) == (4, 0)
