"""One ledger across two stations and the cloud, against a reference model (issue #11).

A hypothesis ``RuleBasedStateMachine`` drives two stations of one warehouse and the cloud
over the in-memory broker: moves at either station, reversals at either station (the same
move reversed at both, too), cloud-side adjustments, stations and the cloud going offline,
messages dropped (so re-sent, redelivered and arriving out of order) and partial sync
turns. The reference model below is written apart from the production code: it records
what each rule did and derives from that alone what every database must hold.

After every step: in every database the balances equal the fold of its moves and no move is
reversed twice. After settling (everyone online, every message acked): the cloud holds every
recorded move except the reversals it refused as conflicts (exactly one reversal per
reversed move stands); each station holds the same ids, except that a station whose own
reversal lost keeps it instead of the winner (both take the same units from the same bin);
every balance equals the model's truth; every refused reversal raised an alert.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cloud.db import make_engine
from cloud.db.schema import downlink_outbox, skus, station_alerts, stock_moves
from cloud.errors import CloudError
from cloud.stock import record_cloud_move
from cloud.sync.ingest import Ingest, IngestSettings
from edge.domain.models import MoveReason, MoveRequest, NegativeStockPolicy
from edge.store import Store, open_store
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.fake_broker import FakeBrokerServer, packline_acl
from edge.sync.outbox import OutboxSettings
from tests.fixtures.edge_store import seed_small_catalog
from tests.sync.harness import make_cloud

STATIONS = ("st-01", "st-02")
KEYS = (("CUP-350", "A-01-01"), ("CUP-350", "A-01-02"), ("TOWEL-W", "A-01-02"))
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
_TEMPLATE: Path | None = None


def _template() -> Path:
    """A migrated cloud database with WH1, both stations and the SKUs, made once."""
    global _TEMPLATE
    if _TEMPLATE is None:
        path = Path(tempfile.mkdtemp(prefix="ledger-model-")) / "cloud.db"
        engine = make_cloud(path, STATIONS)
        with engine.begin() as conn:
            conn.execute(sa.insert(skus), [{"sku": "CUP-350", "name_zh": "保温杯"},
                                           {"sku": "TOWEL-W", "name_zh": "毛巾"}])
        engine.dispose()
        _TEMPLATE = path
    return _TEMPLATE


@dataclass(frozen=True)
class ModelMove:
    """What the model remembers of a recorded move (nothing read back from a database)."""

    sku: str
    location: str
    qty: int
    origin: str
    reverses: str | None = None


class Clock:
    """One fake time for the ingest clock and the stations' outbox timers."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return 1000.0 + self.seconds


class LedgerWorld(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-world-"))
        shutil.copy(_template(), self.dir / "cloud.db")
        self.engine = make_engine(f"sqlite:///{self.dir / 'cloud.db'}")
        self.clock = Clock()
        self.server = FakeBrokerServer(acl=packline_acl())
        self.ingest = Ingest(self.engine, self.server.client("cloud-ingest", username="cloud"),
                             IngestSettings(tick=0, downlink_poll=0, resend_after=5, max_resend_after=60),
                             clock=self.clock.now)
        self.ingest.bus.start()
        self.stores: dict[str, Store] = {}
        self.daemons: dict[str, SyncDaemon] = {}
        for sid in STATIONS:
            store = open_store(":memory:", station_id=sid)
            seed_small_catalog(store, NegativeStockPolicy.ALLOW_WITH_ALERT)
            daemon = SyncDaemon(store, self.server.client(sid, username=sid), DaemonSettings(
                tick=0, health_every=None,
                outbox=OutboxSettings(resend_after=5, max_resend_after=60)))
            daemon.outbox._monotonic = self.clock.monotonic
            daemon.start()
            self.stores[sid], self.daemons[sid] = store, daemon
        # the reference model
        self.moves: dict[str, ModelMove] = {}
        self.reversals: dict[str, list[str]] = defaultdict(list)
        """Reversed move → the reversals recorded of it (one per station at most)."""

    def teardown(self) -> None:
        try:
            self.settle()
        finally:
            for store in self.stores.values():
                store.close()
            self.engine.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def _ids_at(self, sid: str) -> set[str]:
        return {r[0] for r in self.stores[sid].writer.db.execute("SELECT move_id FROM stock_moves")}

    def _reversible_at(self, sid: str) -> list[str]:
        """Moves present at the station, not reversals, not reversed there (sorted)."""
        rows = self.stores[sid].writer.db.execute(
            """SELECT move_id FROM stock_moves m WHERE reverses_move_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM stock_moves r WHERE r.reverses_move_id = m.move_id)
               ORDER BY move_id""").fetchall()
        return [r[0] for r in rows]

    def _reverse(self, sid: str, target: str) -> None:
        move = self.stores[sid].writer.reverse_move(target, operator_id="op1", note="冲销")
        original = self.moves[target]
        self.moves[move.move_id] = ModelMove(original.sku, original.location, -original.qty, sid, target)
        self.reversals[target].append(move.move_id)

    def turn(self) -> None:
        for d in self.daemons.values():
            d.step(0)
        self.ingest.step(0)
        for d in self.daemons.values():
            d.step(0)

    # ------------------------------------------------------------------ rules
    @rule(station=st.sampled_from(STATIONS), key=st.sampled_from(KEYS),
          qty=st.integers(-4, 6).filter(bool))
    def record(self, station: str, key: tuple[str, str], qty: int) -> None:
        move = self.stores[station].writer.record_move(MoveRequest(
            sku=key[0], location=key[1], qty_delta=qty,
            reason=MoveReason.RECEIVE if qty > 0 else MoveReason.PICK,
            source_type="test", source_id="model", operator_id="op1"))
        self.moves[move.move_id] = ModelMove(key[0], key[1], qty, station)

    @rule(station=st.sampled_from(STATIONS), pick=st.integers(0, 1000))
    def reverse(self, station: str, pick: int) -> None:
        targets = self._reversible_at(station)
        if targets:
            self._reverse(station, targets[pick % len(targets)])

    @rule(pick=st.integers(0, 1000), key=st.sampled_from(KEYS))
    def reverse_at_both(self, pick: int, key: tuple[str, str]) -> None:
        """Both stations reverse one move before either hears of the other's reversal."""
        both = sorted(set(self._reversible_at(STATIONS[0])) & set(self._reversible_at(STATIONS[1])))
        if not both:  # record one and let it reach the other station first
            self.record(STATIONS[pick % 2], key, 5)
            for d in self.daemons.values():
                d.broker.start()
            self.ingest.bus.start()
            for _ in range(10):
                self.clock.seconds += 120
                self.turn()
            both = sorted(set(self._reversible_at(STATIONS[0])) & set(self._reversible_at(STATIONS[1])))
        if both:
            target = both[pick % len(both)]
            for sid in STATIONS:
                self._reverse(sid, target)

    @rule(key=st.sampled_from(KEYS), qty=st.integers(-3, 8).filter(bool))
    def cloud_adjust(self, key: tuple[str, str], qty: int) -> None:
        try:
            with self.engine.begin() as conn:
                move, new = record_cloud_move(
                    conn, warehouse_id="WH1", sku=key[0], location=key[1], qty_delta=qty,
                    reason=MoveReason.MANUAL_ADJUST, operator_id="M01", note="模型调整",
                    source_type="manual", source_id="model", now=self.clock.now())
        except CloudError:  # the cloud's warehouse refuses negative stock: nothing recorded
            return
        assert new
        self.moves[move.move_id] = ModelMove(key[0], key[1], qty, "cloud")

    @rule(station=st.sampled_from(STATIONS))
    def station_offline(self, station: str) -> None:
        self.daemons[station].broker.disconnect()

    @rule(station=st.sampled_from(STATIONS))
    def station_online(self, station: str) -> None:
        self.daemons[station].broker.start()

    @rule()
    def cloud_restarts(self) -> None:
        """Ingest's connection drops and comes back: unacked deliveries come again (dup)."""
        self.ingest.bus.disconnect()
        self.ingest.bus.start()

    @rule(count=st.integers(1, 3))
    def drop(self, count: int) -> None:
        self.server.drop_next(count)

    @rule(turns=st.integers(1, 3), seconds=st.sampled_from([0, 1, 10, 100]))
    def sync(self, turns: int, seconds: int) -> None:
        self.clock.seconds += seconds
        for _ in range(turns):
            self.turn()

    @precondition(lambda self: len(self.moves) > 0)
    @rule()
    def settle_and_check(self) -> None:
        self.settle()

    # ------------------------------------------------------------------ invariants
    @invariant()
    def balances_are_the_fold_of_moves_everywhere(self) -> None:
        for sid, store in self.stores.items():
            assert store.queries.cached_balances() == store.queries.fold_moves(), sid
        with self.engine.connect() as conn:
            from cloud.ledger_store import check_balances

            assert check_balances(conn) == []

    @invariant()
    def no_move_is_reversed_twice_anywhere(self) -> None:
        for sid, store in self.stores.items():
            twice = store.writer.db.execute(
                """SELECT reverses_move_id FROM stock_moves WHERE reverses_move_id IS NOT NULL
                   GROUP BY reverses_move_id HAVING COUNT(*) > 1""").fetchall()
            assert twice == [], sid
        with self.engine.connect() as conn:
            twice = conn.execute(
                sa.select(stock_moves.c.reverses_move_id).where(stock_moves.c.reverses_move_id.is_not(None))
                .group_by(stock_moves.c.reverses_move_id).having(sa.func.count() > 1)).all()
        assert twice == []

    # ------------------------------------------------------------------ convergence
    def _quiet(self) -> bool:
        for sid, store in self.stores.items():
            if store.writer.db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]:
                return False
            if self.server.queued_count(sid):
                return False
        with self.engine.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(downlink_outbox)
                            .where(downlink_outbox.c.acked_at.is_(None))).scalar_one():
                return False
        return self.server.queued_count("cloud-ingest") == 0

    def settle(self) -> None:
        for d in self.daemons.values():
            d.broker.start()
        self.ingest.bus.start()
        for _ in range(60):
            self.clock.seconds += 120  # every re-send is due
            self.turn()
            if self._quiet():
                break
        else:
            raise AssertionError("no convergence after 60 sync rounds")
        self.check_against_the_model()

    def check_against_the_model(self) -> None:
        with self.engine.connect() as conn:
            cloud_ids = set(conn.execute(sa.select(stock_moves.c.move_id)).scalars())
            cloud_bal = {(r.sku, r.location): int(r.qty) for r in conn.execute(sa.text(
                "SELECT sku, location, SUM(qty_delta) AS qty FROM stock_moves "
                "WHERE warehouse_id = 'WH1' GROUP BY sku, location")) if r.qty}
            alerts = [a.detail for a in conn.execute(sa.select(station_alerts.c.detail).where(
                station_alerts.c.kind == "reversal_conflict"))]
        # exactly one reversal of each reversed move stands in the cloud: one the model recorded
        winners = {}
        for target, revs in self.reversals.items():
            standing = [r for r in revs if r in cloud_ids]
            assert len(standing) == 1, (target, revs, standing)
            winners[target] = standing[0]
        losers = {r for target, revs in self.reversals.items() for r in revs if r != winners[target]}
        kept = set(self.moves) - losers
        event(f"reversal conflicts settled: {min(len(losers), 3)}{'+' if len(losers) >= 3 else ''}")
        assert cloud_ids == kept
        truth: dict[tuple[str, str], int] = defaultdict(int)
        for move_id in kept:
            m = self.moves[move_id]
            truth[(m.sku, m.location)] += m.qty
        truth = {k: v for k, v in truth.items() if v}
        assert cloud_bal == truth
        for sid, store in self.stores.items():
            mine_lost = {r for r in losers if self.moves[r].origin == sid}
            displaced = {winners[self.moves[r].reverses or ""] for r in mine_lost}
            assert self._ids_at(sid) == (kept - displaced) | mine_lost, sid
            assert store.queries.fold_moves() == truth, sid
        # every refused reversal is an alert: the cloud's, and the station's that skipped the winner
        assert sorted(a["move_id"] for a in alerts if "winner_move_id" in a) == sorted(losers)
        skipped = sorted(a["move_id"] for a in alerts if "kept_move_id" in a)
        assert skipped == sorted(winners[self.moves[r].reverses or ""] for r in losers)


LedgerWorld.TestCase.settings = settings(
    max_examples=30, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TestLedgerModel = LedgerWorld.TestCase
