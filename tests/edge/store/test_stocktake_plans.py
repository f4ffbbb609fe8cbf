"""Stocktakes planned in the cloud, at the station: kept from the ``count_plan`` message,
started with the plan's scope whatever the kiosk asked, named in the ``stocktake`` message;
a cancellation closes an open plan but not one already started."""

from __future__ import annotations

import pytest

from edge.domain.stocktake import Scope
from edge.store import Store
from edge.store.stocktake import StocktakeRefused, StocktakeWriter, open_plans
from edge.sync.schema import StocktakeWire

PLAN = {"plan_id": "PDP-00001", "warehouse_id": "WH1", "scope": "zone", "scope_value": "A-01",
        "note": "月底", "status": "open", "created_by": "u-lead",
        "created_at": "2026-11-23T01:00:00Z"}


def test_a_plan_is_started_with_its_own_scope_and_named_on_approval(store: Store) -> None:
    st = StocktakeWriter(store.writer)
    assert st.apply_plan(dict(PLAN)) == "open"
    assert [p["plan_id"] for p in open_plans(store.writer.db, "WH1")] == ["PDP-00001"]
    assert open_plans(store.writer.db, "WH2") == []
    sid = st.start(warehouse_id="WH1", scope=Scope.FULL, operator_id="L01", plan_id="PDP-00001")
    row = store.writer.db.execute("SELECT scope, scope_value, plan_id FROM stocktakes").fetchone()
    assert tuple(row) == ("zone", "A-01", "PDP-00001")
    assert open_plans(store.writer.db, "WH1") == []
    # the cloud cancels it after it started here: the count goes on
    assert st.apply_plan({**PLAN, "status": "cancelled"}) == "started"
    st.record_count(sid, "A-01-01", {}, operator_id="P01")
    st.record_count(sid, "A-01-02", {}, operator_id="P01")
    st.approve(sid, operator_id="L01")
    sent = [r for r in store.queries.outbox_pending(50) if r.kind == "stocktake"]
    assert StocktakeWire.model_validate(sent[0].payload).plan_id == "PDP-00001"


def test_a_cancelled_or_unknown_plan_cannot_start(store: Store) -> None:
    st = StocktakeWriter(store.writer)
    st.apply_plan(dict(PLAN))
    assert st.apply_plan({**PLAN, "status": "cancelled"}) == "cancelled"
    for plan_id in ("PDP-00001", "PDP-09999"):
        with pytest.raises(StocktakeRefused, match="不可开始"):
            st.start(warehouse_id="WH1", scope=Scope.FULL, operator_id="L01", plan_id=plan_id)
    assert store.writer.db.execute("SELECT COUNT(*) FROM stocktakes").fetchone() == (0,)
