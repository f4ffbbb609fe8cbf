"""Label prints from stations: ingest keeps each ``print`` message once by its msg_id on
both cloud engines (a redelivery changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import station_label_prints
from cloud.sync.ingest import Ingest, IngestSettings
from edge.sync.schema import LabelPrintWire, up_topic
from tests.sync.helpers import envelope
from tests.sync.test_ingest import Msg, RecordingBus
from tests.sync.test_ingest_engines import seed

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""The cloud's clock in these tests."""
FIRST = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
"""When the first label was printed (station clock)."""
AGAIN = datetime(2026, 11, 23, 8, 41, tzinfo=UTC)
"""When it was reprinted."""


def _print(msg_id: str, n: int, at: datetime, reason: str | None) -> Msg:
    wire = LabelPrintWire(order_id="O-1", doc="label", n=n, operator_id="op1", reason=reason, at=at)
    return Msg(up_topic("st-01", "print"), envelope("print", "st-01", wire.model_dump(mode="json"),
                                                    msg_id))


def test_prints_stored_once_on_both_engines(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    ingest = Ingest(cloud_engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    batch = [_print("print-0001", 1, FIRST, None), _print("print-0002", 2, AGAIN, "卡纸")]
    ingest.handle_batch(batch)
    ingest.handle_batch(batch)  # redelivered: nothing changes
    ingest.handle_batch(batch[:1])
    with cloud_engine.connect() as conn:
        rows = conn.execute(sa.select(
            station_label_prints.c.msg_id, station_label_prints.c.station_id,
            station_label_prints.c.order_id, station_label_prints.c.n,
            station_label_prints.c.operator_id, station_label_prints.c.reason,
            station_label_prints.c.printed_at, station_label_prints.c.received_at,
        ).order_by(station_label_prints.c.msg_id)).all()
    assert [tuple(r) for r in rows] == [
        ("print-0001", "st-01", "O-1", 1, "op1", None, FIRST, NOW),
        ("print-0002", "st-01", "O-1", 2, "op1", "卡纸", AGAIN, NOW),
    ]
