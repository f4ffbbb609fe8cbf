"""调拨 in the cloud on both engines, against numbers worked out by hand: a draft with every
bad line reported, sending to the stations of both warehouses, the counts the stations'
moves add up to, closing short (missing units recorded), cancelling, and the units in
transit beside the stock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud import stock, transfers
from cloud.db.schema import audit_log, downlink_outbox, skus, stations, warehouses
from cloud.errors import InputError
from edge.domain.models import MoveReason
from edge.sync.schema import MoveWire

NOW = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # 01:00 on 5 December in Beijing


def seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(warehouses), [{"id": "WH1", "name": "杭州仓"},
                                             {"id": "WH2", "name": "义乌仓"},
                                             {"id": "WH3", "name": "空仓"}])
        conn.execute(sa.insert(skus), [{"sku": "CUP", "name_zh": "杯"},
                                       {"sku": "LID", "name_zh": "盖"}])
        conn.execute(sa.insert(stations), [
            {"id": "st-01", "warehouse_id": "WH1", "name": "1", "status": "active", "created_at": NOW},
            {"id": "st-02", "warehouse_id": "WH2", "name": "2", "status": "active", "created_at": NOW},
            {"id": "st-03", "warehouse_id": "WH2", "name": "3", "status": "revoked",
             "created_at": NOW}])


def move(n: int, reason: MoveReason, qty: int, line: int = 1, tid: str = "TR20261205-001",
         sku: str = "CUP") -> MoveWire:
    wh, loc = ("WH1", "A-01") if reason == MoveReason.TRANSFER_OUT else ("WH2", "Y-01")
    return MoveWire(move_id=f"move-{n:04d}", warehouse_id=wh, sku=sku, location=loc, qty_delta=qty,
                    balance_after=0, reason=reason, source_type="transfer", source_id=tid,
                    source_line=str(line), operator_id="P01", station_id="st-01",
                    occurred_at=NOW, recorded_at=NOW)


def kinds(conn: sa.Connection) -> list[tuple[str, str]]:
    return [(r.station_id, r.payload["status"]) for r in conn.execute(
        sa.select(downlink_outbox).where(downlink_outbox.c.kind == "transfer")
        .order_by(downlink_outbox.c.seq))]


def test_bad_input_is_all_reported_and_nothing_written(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn, pytest.raises(InputError) as err:
        transfers.create(conn, from_warehouse="WH1", to_warehouse="WH1",
                         lines="CUP 5\nNOPE 3\n\nLID x\nCUP 2\nLID", note="", actor="lead", now=NOW)
    assert [(p.field, p.zh) for p in err.value.problems] == [
        ("to_warehouse", "调入仓库不能与调出仓库相同"),
        ("lines", "第 6 行应为: 商品编码 数量"),
        ("lines", "第 2 行: 未知商品 NOPE"),
        ("lines", "第 4 行: 数量应为 1~10,000,000 的整数"),
        ("lines", "第 5 行: 商品 CUP 重复")]
    with cloud_engine.connect() as conn:
        assert transfers.list_transfers(conn) == []


def test_ship_receive_close_short_and_in_transit(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn:
        tid = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH2",
                               lines="CUP 50\nLID 20", note="补货", actor="lead", now=NOW)
        assert tid == "TR20261205-001"
        with pytest.raises(InputError, match="不能结案"):
            transfers.close(conn, tid, actor="lead", reason="x", now=NOW)
        assert transfers.send(conn, tid, actor="lead", now=NOW) == 2  # st-03 is revoked
        assert kinds(conn) == [("st-01", "open"), ("st-02", "open")]
        # 35 cups shipped and 5 put back (a TRANSFER_OUT of +5): 30; 20 lids
        counted = transfers.on_moves(conn, [
            move(1, MoveReason.TRANSFER_OUT, -35), move(2, MoveReason.TRANSFER_OUT, +5),
            move(3, MoveReason.TRANSFER_OUT, -20, line=2, sku="LID"),
            move(4, MoveReason.RECEIVE, 7),  # not a transfer move: not counted
            move(5, MoveReason.TRANSFER_OUT, -1, line=9)], now=NOW)  # no such line
        assert counted == 3
        t = transfers.get(conn, tid)
        assert t is not None and t.status == "shipped"
        assert [(ln.qty_shipped, ln.qty_received, ln.in_transit) for ln in t.lines] == [
            (30, 0, 30), (20, 0, 20)]
        assert transfers.in_transit(conn) == {("WH2", "CUP"): 30, ("WH2", "LID"): 20}
        with pytest.raises(InputError, match="不能取消"):
            transfers.cancel(conn, tid, actor="lead", reason="x", now=NOW)
        transfers.on_moves(conn, [move(6, MoveReason.TRANSFER_IN, 28),
                                  move(7, MoveReason.TRANSFER_IN, 20, line=2, sku="LID")],
                           now=NOW)
        t = transfers.get(conn, tid)
        assert t is not None and t.status == "partial"  # 28 of 50 cups
        assert transfers.in_transit(conn) == {("WH2", "CUP"): 2}
        levels = {(x.warehouse_id, x.sku): (x.on_hand, x.in_transit) for x in stock.levels(conn)}
        assert levels == {("WH2", "CUP"): (0, 2)}  # the moves here never reached the ledger
        with pytest.raises(InputError, match="结案原因"):
            transfers.close(conn, tid, actor="lead", reason=" ", now=NOW)
        assert transfers.close(conn, tid, actor="lead", reason="破损 2 件", now=NOW) == {1: 2}
        t = transfers.get(conn, tid)
        assert t is not None and (t.status, t.missing, t.in_transit, t.closed_by) == (
            "received", 2, 0, "lead")
        assert transfers.in_transit(conn) == {}
        assert stock.levels(conn) == []
        # sent down after each batch of moves and at the close; the last says closed
        assert kinds(conn)[-2:] == [("st-01", "closed"), ("st-02", "closed")]
        entries = conn.execute(sa.select(audit_log.c.action, audit_log.c.detail).where(
            audit_log.c.subject == tid).order_by(audit_log.c.id)).all()
    assert [e.action for e in entries] == ["transfer.create", "transfer.send", "transfer.close"]
    assert entries[2].detail["missing"] == {"1": 2}
    assert entries[2].detail["not_shipped"] == {"1": 20}


def test_everything_received_completes_it_and_cancel(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    with cloud_engine.begin() as conn:
        a = transfers.create(conn, from_warehouse="WH2", to_warehouse="WH1", lines="LID 4",
                             note="", actor="lead", now=NOW)
        b = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH2", lines="CUP 1",
                             note="", actor="lead", now=NOW)
        c = transfers.create(conn, from_warehouse="WH1", to_warehouse="WH3", lines="CUP 1",
                             note="", actor="lead", now=NOW)
        assert (a, b, c) == ("TR20261205-001", "TR20261205-002", "TR20261205-003")
        transfers.send(conn, a, actor="lead", now=NOW)
        transfers.on_moves(conn, [move(1, MoveReason.TRANSFER_OUT, -4, tid=a, sku="LID"),
                                  move(2, MoveReason.TRANSFER_IN, 4, tid=a, sku="LID")], now=NOW)
        got = transfers.get(conn, a)
        assert got is not None and (got.status, got.in_transit, got.missing) == ("received", 0, 0)
        transfers.send(conn, b, actor="lead", now=NOW)
        transfers.cancel(conn, b, actor="lead", reason="不调了", now=NOW)
        got = transfers.get(conn, b)
        assert got is not None and (got.status, got.cancel_reason) == ("cancelled", "不调了")
        assert kinds(conn)[-2:] == [("st-01", "cancelled"), ("st-02", "cancelled")]
        with pytest.raises(InputError, match="WH3 没有工作站"):
            transfers.send(conn, c, actor="lead", now=NOW)
