"""The order list's 已打印 / 未打印 filter and print-count column, from the label prints
stations reported (``station_label_prints``), on both engines."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import station_label_prints
from edge.domain.models import Role
from tests.cloud.web.support import T0, cells, signed_in

PRINTS_COLUMN = 10
"""Index of the 打印次数 cell in a lead's order row (after the merge box and nine columns)."""


def _listed(html: str) -> list[tuple[str, str]]:
    """(order number, print count) of each listed order, in order."""
    return [(row[1], row[PRINTS_COLUMN]) for row in cells(html, "orders-table")]


async def test_the_list_filters_printed_and_counts_prints(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(station_label_prints), [
            {"msg_id": "p-1", "station_id": "st-01", "order_id": "pdd-1003", "n": 1,
             "operator_id": "P01", "reason": None, "printed_at": T0, "received_at": T0},
            {"msg_id": "p-2", "station_id": "st-01", "order_id": "pdd-1003", "n": 2,
             "operator_id": "P02", "reason": "卡纸", "printed_at": T0 + timedelta(minutes=3),
             "received_at": T0 + timedelta(minutes=3)},
        ])
    page = await client.get("/orders")
    assert _listed(page.text) == [("1002", "0"), ("1001", "0"), ("1003", "2")]
    assert _listed((await client.get("/orders?printed=yes")).text) == [("1003", "2")]
    assert _listed((await client.get("/orders?printed=no")).text) == [("1002", "0"), ("1001", "0")]
    # an unknown value filters nothing
    assert len(_listed((await client.get("/orders?printed=maybe")).text)) == 3
    assert "未打印" in page.text and "已打印" in page.text


async def test_the_order_page_shows_the_print_history(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    assert 'id="prints-table"' not in (await client.get("/orders/pdd-1003")).text
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(station_label_prints), [
            {"msg_id": "p-2", "station_id": "st-01", "order_id": "pdd-1003", "n": 2,
             "operator_id": "P02", "reason": "卡纸", "printed_at": T0 + timedelta(minutes=3),
             "received_at": T0 + timedelta(minutes=3)},
            {"msg_id": "p-1", "station_id": "st-01", "order_id": "pdd-1003", "n": 1,
             "operator_id": "P01", "reason": None, "printed_at": T0, "received_at": T0},
        ])
    rows = cells((await client.get("/orders/pdd-1003")).text, "prints-table")
    assert [r[1:] for r in rows] == [["P01 · st-01", "第 1 次", "—"],
                                     ["P02 · st-01", "第 2 次", "卡纸"]]
