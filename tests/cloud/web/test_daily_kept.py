"""每日概况 kept for each day (#16): the worker keeps yesterday's summary at its first pass of
a new day (China time, on its own clock), once however many workers try; the page then shows
that day's exceptions and low stock as they stood that night, though they have changed
since, and says so; a day not kept is computed now, and the page says that too."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema import sku_safety_stock
from cloud.db.schema_orders import orders
from cloud.db.schema_reports import daily_summaries
from cloud.orders.worker import Worker
from edge.domain.models import Role
from tests.cloud.web.support import T0, signed_in

# T0 is 2026-12-01 10:00 China time. The shared seed has one order exception (pdd-1002,
# unmapped); SKU-2 has 7 on hand, and a safety stock of 10 makes it low.


async def test_the_worker_keeps_yesterday_and_the_page_shows_it_as_it_was(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    with cloud_engine.begin() as conn:
        conn.execute(sa.insert(sku_safety_stock).values(sku="SKU-2", warehouse_id="WH1", qty=10))
    at = [(T0 + timedelta(hours=14, minutes=5)).timestamp()]  # 12-02 00:05 China time
    one = Worker(cloud_engine, Sealer(Fernet.generate_key()), clock=lambda: at[0], owner="w1")
    two = Worker(cloud_engine, Sealer(Fernet.generate_key()), clock=lambda: at[0], owner="w2")
    assert one.keep_daily_summary() == date(2026, 12, 1)
    assert two.keep_daily_summary() is None  # kept already: the first one wins
    assert one.keep_daily_summary() is None  # and once a day
    at[0] += 3600
    assert one.keep_daily_summary() is None
    with cloud_engine.connect() as conn:
        kept = conn.execute(sa.select(daily_summaries.c.day, daily_summaries.c.made_at)).all()
    assert [(d, m.timestamp()) for d, m in kept] == [
        (date(2026, 12, 1), (T0 + timedelta(hours=14, minutes=5)).timestamp())]

    with cloud_engine.begin() as conn:  # since then: the exception was resolved, stock is up
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-1002").values(
            state="allocated", exception_code=None))
        conn.execute(sa.update(sku_safety_stock).values(qty=1))
    page = (await client.get("/reports/daily", params={"day": "2026-12-01"})).text
    assert 'data-kept="1"' in page and "保存的当日概况" in page
    assert 'id="d-exceptions"' in page and ">1</a>" in page.split('id="d-exceptions"')[1][:80]
    assert "SKU-2" in page  # low that night
    now = (await client.get("/reports/daily", params={"day": "2026-11-30"})).text
    assert 'data-kept="0"' in now and "尚未保存" in now
    assert ">0</a>" in now.split('id="d-exceptions"')[1][:80] and "SKU-2" not in now
