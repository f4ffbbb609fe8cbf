"""Waves on the station store (tests/fixtures/waves.py): the pick list in walking order, a
scan per line, a short line, the short order intercepted with the ``wave_pick`` message in
the same transaction, the put wall filling slots, and no stock move anywhere."""

from __future__ import annotations

import json

import pytest

from edge.store import Store
from edge.store.waves import (
    PickOutcome,
    StoredLine,
    WaveError,
    WaveWriter,
    lines,
    members,
    waves_to_work,
)
from edge.sync.inbox import effect_for
from edge.sync.schema import wave_pick_msg_id, wave_put_msg_id
from tests.fixtures.pack_orders import seed_packing
from tests.fixtures.waves import SINGLE_ID, WAVE_ID, seed_wave, wave_wire


@pytest.fixture
def waved(store: Store) -> Store:
    seed_packing(store)
    seed_wave(store)
    return store


def _moves(store: Store) -> int:
    return int(store.writer.db.execute("SELECT COUNT(*) FROM stock_moves").fetchone()[0])


def _outbox(store: Store, kind: str) -> list[tuple[str, dict[str, object]]]:
    return [(r[0], json.loads(r[1])) for r in store.writer.db.execute(
        "SELECT msg_id, payload FROM outbox WHERE kind = ? ORDER BY seq", [kind]).fetchall()]


def test_pick_short_and_put(waved: Store) -> None:
    ww, db = WaveWriter(waved.writer), waved.writer.db
    before = _moves(waved)
    assert [(r["wave_id"], r["orders"], r["units"]) for r in waves_to_work(db)] == [
        (WAVE_ID, 3, 6), (SINGLE_ID, 1, 1)]
    assert ww.start(WAVE_ID) == [StoredLine(1, "A-01-01", "CUP-350", 2, 0, False),
                                 StoredLine(2, "A-01-02", "TOWEL-W", 3, 0, False),
                                 StoredLine(3, "Y-01-01", "SOCK-M", 1, 0, False)]
    assert ww.start(WAVE_ID) == lines(db, WAVE_ID)  # written once
    assert ww.pick(WAVE_ID, "A-01-02", "CUP-350", 1) == (PickOutcome.NOT_HERE, None)
    assert ww.pick(WAVE_ID, "A-01-01", "CUP-350", 12)[0] is PickOutcome.OVER  # the case
    assert ww.pick(WAVE_ID, "A-01-01", "CUP-350", 1)[0] is PickOutcome.PICKED
    assert ww.pick(WAVE_ID, "A-01-01", "CUP-350", 1)[0] is PickOutcome.LINE_DONE
    for _ in range(3):
        ww.pick(WAVE_ID, "A-01-02", "TOWEL-W", 1)
    with pytest.raises(WaveError):
        ww.finish(WAVE_ID, operator_id="P01")  # SOCK-M not done
    assert ww.short(WAVE_ID, 3, operator_id="P01").done
    wire = ww.finish(WAVE_ID, operator_id="P01")
    # CUP 2, TOWEL 3, SOCK 0: O3 (slot 1) and O1 (slot 2) are covered, O6 gets no sock
    assert wire.short_orders == ["O6"]
    assert [(ln.sku, ln.wanted, ln.picked) for ln in wire.lines] == [
        ("CUP-350", 2, 2), ("TOWEL-W", 3, 3), ("SOCK-M", 1, 0)]
    [(msg_id, payload)] = _outbox(waved, "wave_pick")
    assert msg_id == wave_pick_msg_id(WAVE_ID) and payload["short_orders"] == ["O6"]
    assert db.execute("SELECT status, intercept_reason FROM orders WHERE order_id = 'O6'"
                      ).fetchone() == ("intercepted", "拣货缺货 / short pick")
    assert [(m.order_id, m.status) for m in members(db, WAVE_ID)] == [
        ("O3", "waiting"), ("O1", "waiting"), ("O6", "short")]
    # the put wall: towel, towel, cup fill slot 1; a cup fills slot 2; a towel has no slot
    first = ww.put(WAVE_ID, "TOWEL-W", 1, operator_id="P01")
    assert first.member is not None and (first.member.slot, first.full) == (1, False)
    ww.put(WAVE_ID, "TOWEL-W", 1, operator_id="P01")
    full = ww.put(WAVE_ID, "CUP-350", 1, operator_id="P01")
    assert full.member is not None and (full.member.slot, full.full) == (1, True)
    two = ww.put(WAVE_ID, "CUP-350", 1, operator_id="P01")
    assert two.member is not None and (two.member.slot, two.full) == (2, True)
    assert ww.put(WAVE_ID, "TOWEL-W", 1, operator_id="P01").member is None
    assert [m for m, _p in _outbox(waved, "wave_put")] == [
        wave_put_msg_id(WAVE_ID, "O3"), wave_put_msg_id(WAVE_ID, "O1")]
    assert [(m.order_id, m.status) for m in members(db, WAVE_ID)] == [
        ("O3", "ready"), ("O1", "ready"), ("O6", "short")]
    assert [r["wave_id"] for r in waves_to_work(db)] == [SINGLE_ID]  # every slot done
    assert _moves(waved) == before  # picking and putting move no stock


def test_a_cancelled_wave_cannot_be_picked(waved: Store) -> None:
    assert waved.writer.apply_once("down-wave-9", "wave",
                                   effect_for(wave_wire(SINGLE_ID, kind="single",
                                                        status="cancelled")))
    with pytest.raises(WaveError):
        WaveWriter(waved.writer).start(SINGLE_ID)
    assert [r["wave_id"] for r in waves_to_work(waved.writer.db)] == [WAVE_ID]


def test_a_single_wave_ends_ready_for_scan_to_print(waved: Store) -> None:
    ww = WaveWriter(waved.writer)
    assert [(ln.location, ln.sku, ln.wanted) for ln in ww.start(SINGLE_ID)] == [
        ("A-01-01", "CUP-350", 1)]
    ww.pick(SINGLE_ID, "A-01-01", "CUP-350", 1)
    assert ww.finish(SINGLE_ID, operator_id="P01").short_orders == []
    assert [(m.order_id, m.status) for m in members(waved.writer.db, SINGLE_ID)] == [
        ("O2", "ready")]
