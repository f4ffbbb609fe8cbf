"""Handovers from stations: ingest keeps each ``handover`` message (a closed batch and its
parcels) once by its msg_id on both cloud engines (a redelivery changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import station_handover_parcels, station_handovers
from cloud.sync.ingest import Ingest, IngestSettings
from edge.sync.schema import HandoverParcelWire, HandoverWire, up_topic
from tests.sync.helpers import envelope
from tests.sync.test_ingest import Msg, RecordingBus
from tests.sync.test_ingest_engines import seed

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
"""The cloud's clock in these tests."""
OPENED = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
"""When the first parcel was scanned (station clock)."""
CLOSED = datetime(2026, 11, 23, 16, 41, tzinfo=UTC)
"""When the batch was closed."""


def _handover(msg_id: str, batch_id: str, carrier: str, waybills: list[tuple[str, str]],
              missing: list[str]) -> Msg:
    wire = HandoverWire(
        batch_id=batch_id, carrier=carrier, operator_id="P01", opened_at=OPENED, closed_at=CLOSED,
        parcels=[HandoverParcelWire(order_id=o, waybill_no=w, scanned_at=OPENED, operator_id="P01")
                 for w, o in waybills],
        not_handed_over=missing)
    return Msg(up_topic("st-01", "handover"),
               envelope("handover", "st-01", wire.model_dump(mode="json"), msg_id))


def test_handovers_stored_once_on_both_engines(cloud_engine: Engine) -> None:
    seed(cloud_engine)
    ingest = Ingest(cloud_engine, RecordingBus(), IngestSettings(), clock=lambda: NOW)
    batch = [_handover("handover-0001", "st-01-HO00001", "SF",
                       [("SF1001", "O-1"), ("SF1002", "O-2")], ["SF1009"]),
             _handover("handover-0002", "st-01-HO00002", "ZTO", [("ZT2001", "O-3")], [])]
    ingest.handle_batch(batch)
    ingest.handle_batch(batch)  # redelivered: nothing changes
    ingest.handle_batch(batch[:1])
    h, p = station_handovers.c, station_handover_parcels.c
    with cloud_engine.connect() as conn:
        batches = conn.execute(sa.select(
            h.msg_id, h.station_id, h.batch_id, h.carrier, h.operator_id, h.opened_at,
            h.closed_at, h.parcels, h.not_handed_over, h.received_at).order_by(h.msg_id)).all()
        parcels = conn.execute(sa.select(p.msg_id, p.waybill_no, p.order_id, p.operator_id,
                                         p.scanned_at).order_by(p.msg_id, p.waybill_no)).all()
    assert [tuple(r) for r in batches] == [
        ("handover-0001", "st-01", "st-01-HO00001", "SF", "P01", OPENED, CLOSED, 2, 1, NOW),
        ("handover-0002", "st-01", "st-01-HO00002", "ZTO", "P01", OPENED, CLOSED, 1, 0, NOW),
    ]
    assert [tuple(r) for r in parcels] == [
        ("handover-0001", "SF1001", "O-1", "P01", OPENED),
        ("handover-0001", "SF1002", "O-2", "P01", OPENED),
        ("handover-0002", "ZT2001", "O-3", "P01", OPENED),
    ]
