"""Down-messages: each applied once with its inbox row, PUBACKed after, app-acked on up/ack."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.domain.models import MoveReason
from edge.store import Store, open_store
from edge.sync.broker import Message
from edge.sync.daemon import DaemonSettings, SyncDaemon
from edge.sync.fake_broker import FakeBroker, FakeBrokerServer, packline_acl
from edge.sync.schema import AckWire, Envelope, down_topic
from tests.fixtures.edge_store import StepClock, seed_small_catalog
from tests.sync.helpers import envelope

STATION = "st1"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def server() -> FakeBrokerServer:
    return FakeBrokerServer(acl=packline_acl())


@pytest.fixture
def station_store() -> Iterator[Store]:
    s = open_store(":memory:", station_id=STATION, clock=StepClock())
    seed_small_catalog(s)
    yield s
    s.close()


@pytest.fixture
def cloud(server: FakeBrokerServer) -> FakeBroker:
    c = server.client("cloud", username="cloud")
    c.subscribe("packline/v1/st/+/up/#")
    c.connect()
    return c


@pytest.fixture
def daemon(server: FakeBrokerServer, station_store: Store) -> SyncDaemon:
    d = SyncDaemon(station_store, server.client(STATION, username=STATION), DaemonSettings(tick=0))
    d.start()
    return d


def send(cloud: FakeBroker, kind: str, payload: dict, msg_id: str | None = None) -> str:
    msg_id = msg_id or str(uuid.uuid4())
    cloud.publish(down_topic(STATION, kind), envelope(kind, STATION, payload, msg_id))
    return msg_id


def up_acks(cloud: FakeBroker) -> AckWire:
    ids, rejected = [], []
    while (m := cloud.receive(0)) is not None:
        cloud.ack(m)
        if m.topic.endswith("/up/ack"):
            a = AckWire.model_validate(Envelope.model_validate_json(m.payload).payload)
            ids += a.msg_ids
            rejected += a.rejected
    return AckWire(msg_ids=ids, rejected=rejected)


TASK = {
    "order_id": "O-1", "platform": "pdd", "shop_id": "S1", "platform_order_no": "240101-88",
    "lines": [{"line_no": 1, "sku": "CUP-350", "qty": 2}, {"line_no": 2, "sku": "TOWEL-W", "qty": 1}],
    "waybill_no": "YT1234567890", "carrier": "YTO", "print_data": {"template": "yto-100x180", "mark": "杭州"},
    "receiver_masked": {"name": "张**"}, "ordered_at": "2026-11-23T07:00:00+00:00",
}


def test_task_is_stored_once_with_its_lines_and_acked(cloud, daemon, station_store):
    mid = send(cloud, "task", TASK)
    send(cloud, "task", TASK, msg_id=mid)  # the cloud re-sends: same msg_id
    daemon.step()
    db = station_store.writer.db
    row = db.execute("SELECT status, waybill_no, print_data FROM orders WHERE order_id='O-1'").fetchone()
    assert row[0] == "waiting" and row[1] == "YT1234567890"
    assert json.loads(row[2]) == {"template": "yto-100x180", "mark": "杭州"}
    assert db.execute("SELECT line_no, sku, qty FROM order_lines ORDER BY line_no").fetchall() == [
        (1, "CUP-350", 2), (2, "TOWEL-W", 1)]
    assert db.execute("SELECT msg_id, kind FROM inbox").fetchall() == [(mid, "task")]
    assert daemon.inbox.counters.applied == 1 and daemon.inbox.counters.duplicates == 1
    assert up_acks(cloud).msg_ids == [mid, mid]


def test_a_task_from_a_newer_cloud_with_fields_unknown_here_is_applied(cloud, daemon, station_store):
    """The cloud is upgraded before the fleet: a task carrying a field this station's code
    does not know (top level and in a line) is applied, not dead-lettered; an up-message
    with an unknown field is still refused (the cloud knows every station version)."""
    from edge.sync.schema import BadMessage, decode, up_topic

    newer = {**TASK, "gift_wrap": {"paper": "红色"},
             "lines": [{**TASK["lines"][0], "bin": "B-07"}, TASK["lines"][1]]}
    mid = send(cloud, "task", newer)
    daemon.step()
    row = station_store.writer.db.execute(
        "SELECT status, waybill_no FROM orders WHERE order_id='O-1'").fetchone()
    assert tuple(row) == ("waiting", "YT1234567890")
    acks = up_acks(cloud)
    assert acks.msg_ids == [mid] and acks.rejected == []
    sign_in = {"operator_id": "op1", "event": "sign_in", "at": "2026-11-23T08:00:00Z",
               "shoe_size": 42}
    with pytest.raises(BadMessage, match="shoe_size"):
        decode(up_topic(STATION, "sign_in"), envelope("sign_in", STATION, sign_in), "up")


def test_intercept_blocks_the_order_even_when_it_arrives_first(cloud, daemon, station_store):
    send(cloud, "intercept", {"order_id": "O-1", "reason": "买家退款"})
    daemon.step()
    send(cloud, "task", TASK)
    daemon.step()
    row = station_store.writer.db.execute(
        "SELECT status, intercept_reason FROM orders WHERE order_id='O-1'").fetchone()
    assert row == ("intercepted", "买家退款")


def test_intercept_after_shipping_raises_an_alert(cloud, daemon, station_store):
    send(cloud, "task", TASK)
    daemon.step()
    station_store.writer.db.execute("UPDATE orders SET status='shipped' WHERE order_id='O-1'")
    send(cloud, "intercept", {"order_id": "O-1", "reason": "改地址"})
    daemon.step()
    assert station_store.writer.db.execute(
        "SELECT status FROM orders WHERE order_id='O-1'").fetchone() == ("shipped",)
    alerts = station_store.queries.alerts("intercept_after_ship")
    assert [(a["subject"], json.loads(a["detail"])) for a in alerts] == [("O-1", {"reason": "改地址"})]


def test_catalog_po_and_relayed_moves_are_applied(cloud, daemon, station_store):
    send(cloud, "catalog", {
        "locations": [{"code": "A-02-01", "warehouse_id": "WH1", "zone": "A", "bin": "02-01"}],
        "skus": [{"sku": "MUG-1", "name_zh": "马克杯", "unit_weight_g": 280,
                  "default_location": "A-02-01", "barcodes": [["6900000000011", 1]]}],
    })
    send(cloud, "po", {"po_id": "PO-9", "supplier": "义乌供应商", "warehouse_id": "WH1",
                       "lines": [{"line_no": 1, "sku": "MUG-1", "qty_ordered": 48}]})
    move = {
        "move_id": "m-remote-000001", "warehouse_id": "WH1", "sku": "CUP-350", "location": "A-01-01",
        "qty_delta": 7, "balance_after": 7, "reason": int(MoveReason.RECEIVE), "source_type": "po",
        "source_id": "PO-1", "operator_id": "op2", "station_id": "st2",
        "occurred_at": "2026-11-23T07:00:00+00:00", "recorded_at": "2026-11-23T07:00:01+00:00",
    }
    send(cloud, "moves", {"moves": [move]})
    send(cloud, "moves", {"moves": [move]})  # another message carrying the same move
    daemon.step()
    q = station_store.queries
    assert q.lookup_barcode("6900000000011") == ("MUG-1", 1)
    assert q.default_location("MUG-1") == "A-02-01"
    assert station_store.writer.db.execute(
        "SELECT po_id, supplier, status FROM purchase_orders").fetchall() == [("PO-9", "义乌供应商", "open")]
    assert q.balance("CUP-350", "A-01-01") == 7
    assert q.move_count() == 1
    # relayed moves are not sent back up
    assert station_store.queries.outbox_stats().pending == 0


def test_a_poison_message_is_acked_and_rejected_without_blocking(cloud, daemon, station_store):
    cloud.publish(down_topic(STATION, "task"), b"{not json")
    bad = send(cloud, "catalog", {"skus": [{"sku": "X", "name_zh": "x", "default_location": "NOPE"}]})
    good = send(cloud, "task", TASK)
    daemon.step()
    acks = up_acks(cloud)
    assert acks.msg_ids == [good]
    assert [r.msg_id for r in acks.rejected] == [bad]
    assert "IntegrityError" in acks.rejected[0].reason
    assert daemon.inbox.counters.rejected == 2
    assert station_store.writer.db.execute("SELECT COUNT(*) FROM inbox").fetchone() == (1,)


def _fuzz_messages() -> st.SearchStrategy[tuple[str, bytes]]:
    kinds = st.sampled_from(["ack", "catalog", "task", "intercept", "po", "moves", "zzz", ""])
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=12,
    )
    payload = st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda kind, p, mid: envelope(kind or "task", STATION, p if isinstance(p, dict) else {"x": p}, mid),
            kinds, json_values, st.text(min_size=8, max_size=20),
        ),
    )
    topics = st.builds(lambda k: down_topic(STATION, k), kinds) | st.text(max_size=40)
    return st.tuples(topics, payload)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_fuzz_messages())
def test_fuzzed_down_messages_never_crash_the_handler(daemon, station_store, fuzz):
    """Whatever arrives, the handler returns, PUBACKs the message once, and accounts for it
    exactly once: applied, a duplicate, rejected (reported back under its own id, if
    at all), or an ack for our outbox; only an applied message adds an inbox row."""
    topic, raw = fuzz
    inbox = daemon.inbox
    pubacked: list[Message] = []
    real_ack = type(inbox.broker).ack
    inbox.broker.ack = lambda m: (pubacked.append(m), real_ack(inbox.broker, m))  # type: ignore[method-assign]
    c = inbox.counters
    before = (c.applied, c.duplicates, c.rejected)
    rows = station_store.writer.db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
    pending = len(inbox._rejected)

    inbox.handle(Message(topic=topic, payload=raw, qos=1))

    assert [m.payload for m in pubacked] == [raw]
    applied, dups, rejected = (c.applied - before[0], c.duplicates - before[1],
                               c.rejected - before[2])
    assert applied + dups + rejected == 1 or (
        applied + dups + rejected == 0 and topic == down_topic(STATION, "ack"))
    assert station_store.writer.db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == rows + applied
    if rejected:
        assert c.last_error
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        msg_id = data.get("msg_id") if isinstance(data, dict) else None
        # Reported back under the message's own id, or not at all (no usable id).
        assert [r.msg_id for r in inbox._rejected[pending:]] in ([], [msg_id])
    else:
        assert len(inbox._rejected) == pending


def test_old_inbox_ids_are_pruned_recent_ones_kept(daemon, station_store):
    w = station_store.writer
    w.db.execute("INSERT INTO inbox (msg_id, kind, received_at) VALUES ('old-0001', 'task', '2026-01-01T00:00:00+00:00')")
    w.db.execute("INSERT INTO inbox (msg_id, kind, received_at) VALUES ('new-0001', 'task', ?)",
                 [datetime.now(UTC).isoformat()])
    daemon._last_prune = 0.0
    daemon.step()
    assert [r[0] for r in w.db.execute("SELECT msg_id FROM inbox")] == ["new-0001"]


def test_an_effect_that_trips_a_bug_is_rejected_not_retried_forever(cloud, daemon, station_store, monkeypatch):
    import edge.sync.inbox as inbox_module

    def boom(w, t):
        raise RuntimeError("bug")

    monkeypatch.setattr(inbox_module, "apply_task", boom)
    mid = send(cloud, "task", TASK)
    daemon.step()
    acks = up_acks(cloud)
    assert [(r.msg_id, r.reason) for r in acks.rejected] == [(mid, "internal error: RuntimeError: bug")]
    assert station_store.writer.db.execute("SELECT COUNT(*) FROM inbox").fetchone() == (0,)


def test_a_new_task_for_a_shipped_order_is_rejected_not_applied(cloud, daemon, station_store):
    send(cloud, "task", TASK)
    daemon.step()
    station_store.writer.db.execute("UPDATE orders SET status='shipped' WHERE order_id='O-1'")
    up_acks(cloud)
    again = send(cloud, "task", {**TASK, "waybill_no": "YT-NEW"})
    daemon.step()
    acks = up_acks(cloud)
    assert [r.msg_id for r in acks.rejected] == [again]
    assert "PackError" in acks.rejected[0].reason
    assert station_store.writer.db.execute(
        "SELECT status, waybill_no FROM orders WHERE order_id='O-1'").fetchone() == ("shipped", "YT1234567890")


def test_a_relayed_reversal_of_a_move_reversed_here_is_a_conflict_and_its_neighbours_arrive(
    cloud, daemon, station_store,
):
    """Another station reversed the same move: its reversal is skipped with an alert (the
    balance stays the truth: reversed once), and the other moves of the batch are applied."""
    from edge.domain.models import MoveRequest

    w = station_store.writer
    original = w.record_move(MoveRequest(sku="CUP-350", location="A-01-01", qty_delta=10,
                                         reason=MoveReason.RECEIVE, source_type="po",
                                         source_id="PO-1", operator_id="op1"))
    mine = w.reverse_move(original.move_id, operator_id="op1", note="录错")

    def relayed(n: int, **fields: object) -> dict:
        return {"move_id": f"m-remote-{n:06d}", "warehouse_id": "WH1", "sku": "TOWEL-W",
                "location": "A-01-02", "qty_delta": 3, "balance_after": 3,
                "reason": int(MoveReason.RECEIVE), "source_type": "po", "source_id": "PO-2",
                "operator_id": "op2", "station_id": "st2",
                "occurred_at": "2026-11-23T07:00:00+00:00",
                "recorded_at": "2026-11-23T07:00:01+00:00", **fields}

    theirs = relayed(2, sku="CUP-350", location="A-01-01", qty_delta=-10, balance_after=0,
                     reason=int(MoveReason.REVERSAL), source_type="reversal",
                     source_id=original.move_id, reverses_move_id=original.move_id)
    msg = send(cloud, "moves", {"moves": [relayed(1), theirs, relayed(3, qty_delta=2)]})
    daemon.step()
    daemon.step()
    q = station_store.queries
    assert (q.balance("CUP-350", "A-01-01"), q.balance("TOWEL-W", "A-01-02")) == (0, 5)
    ids = {m.move_id for m in q.moves(limit=100)}
    assert ids == {original.move_id, mine.move_id, "m-remote-000001", "m-remote-000003"}
    ack = up_acks(cloud)
    assert msg in ack.msg_ids and ack.rejected == []
    alerts = w.db.execute("SELECT kind, subject, detail FROM alerts").fetchall()
    assert [(k, s, json.loads(d)["kept_move_id"]) for k, s, d in alerts] == [
        ("reversal_conflict", original.move_id, mine.move_id)]
