"""快递交接 in the web app, from the batches stations reported (``station_handovers``), on
both engines: the /handovers list with its counts (leads and up) and the order page's
handover of the parcel (batch, courier, time, who)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import station_handover_parcels, station_handovers
from edge.domain.models import Role
from tests.cloud.web.support import T0, cells, signed_in


def _seed(engine: Engine) -> None:
    """Two batches at st-01: SF at T0 (2 parcels, 1 not handed over), ZTO 2 hours later."""
    with engine.begin() as conn:
        conn.execute(sa.insert(station_handovers), [
            {"msg_id": "h-1", "station_id": "st-01", "batch_id": "st-01-HO00001", "carrier": "SF",
             "operator_id": "P01", "opened_at": T0 - timedelta(minutes=10), "closed_at": T0,
             "parcels": 2, "not_handed_over": 1, "received_at": T0},
            {"msg_id": "h-2", "station_id": "st-01", "batch_id": "st-01-HO00002",
             "carrier": "ZTO", "operator_id": "L01", "opened_at": T0 + timedelta(hours=2),
             "closed_at": T0 + timedelta(hours=2), "parcels": 1, "not_handed_over": 0,
             "received_at": T0 + timedelta(hours=2)},
        ])
        conn.execute(sa.insert(station_handover_parcels), [
            {"msg_id": "h-1", "waybill_no": "SF1003", "order_id": "pdd-1003", "operator_id": "P02",
             "scanned_at": T0 - timedelta(minutes=5)},
            {"msg_id": "h-1", "waybill_no": "SF1001", "order_id": "pdd-1001", "operator_id": "P01",
             "scanned_at": T0 - timedelta(minutes=9)},
            {"msg_id": "h-2", "waybill_no": "ZT2002", "order_id": "pdd-1002", "operator_id": "L01",
             "scanned_at": T0 + timedelta(hours=2)},
        ])


async def test_the_handover_list_shows_each_batch_with_its_counts(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    empty = await client.get("/handovers")
    assert empty.status_code == 200 and "没有记录" in empty.text
    _seed(cloud_engine)
    page = await client.get("/handovers")
    rows = cells(page.text, "handovers-table")
    # batch, station, courier, (time), operator, due, handed, not handed over
    assert [r[:3] + r[4:] for r in rows] == [
        ["st-01-HO00002", "st-01", "ZTO", "L01", "1", "1", "0"],
        ["st-01-HO00001", "st-01", "SF", "P01", "3", "2", "1"],
    ]
    assert 'href="/handovers"' in page.text  # in the menu


async def test_the_order_page_shows_the_parcels_handover(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    assert 'id="handovers-table"' not in (await client.get("/orders/pdd-1003")).text
    _seed(cloud_engine)
    page = await client.get("/orders/pdd-1003")
    assert "快递交接" in page.text
    rows = cells(page.text, "handovers-table")
    assert [r[:3] + r[4:] for r in rows] == [["SF1003", "st-01-HO00001", "SF", "P02 · st-01"]]


async def test_finance_does_not_see_handovers(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    page = await client.get("/handovers")
    assert page.status_code == 403
    assert 'href="/handovers"' not in (await client.get("/")).text
