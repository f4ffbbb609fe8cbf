"""Search orders by the buyer's nickname (#13 item 4), end to end: the fake Taobao sends
``buyer_nick`` when the client asks for it (spec §2.6.2), the worker stores it masked and
as a keyed digest only, and the order list's search box finds the exact nickname."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.crypto import Sealer
from cloud.db.schema_orders import orders
from cloud.marketplaces.generator import Line, Person
from cloud.orders.order_sync import mask_nick
from cloud.orders.worker import Worker, WorkerSettings
from tests.cloud.orders.conftest import serve  # noqa: F401 — the fake-platform fixture
from tests.cloud.orders.support import connect_shop, fast_retry
from tests.cloud.web.support import signed_in


def test_a_nickname_is_masked_to_its_first_and_last_character() -> None:
    assert mask_nick("快乐王1234567") == "快**7"
    assert mask_nick(" tb88 ") == "t**8"
    assert mask_nick("阿王") == "阿*"
    assert (mask_nick("王"), mask_nick(""), mask_nick("  ")) == ("*", "", "")


async def test_the_order_list_finds_a_taobao_order_by_its_buyer_nick(
    cloud_engine: Engine, sealer: Sealer, client: httpx.AsyncClient, serve,  # noqa: F811
) -> None:
    await signed_in(client, cloud_engine)
    running = serve("taobao")
    fake = running.fake
    shop_id = await connect_shop(cloud_engine, sealer, running, stock=None, map_catalog=False)
    made = []
    with fake.lock:
        for name, phone in (("王小明", "13800001111"), ("李小红", "13900002222")):
            o = fake.gen.new_order(int(fake.now()) - 600)
            o.receiver = Person(name=name, phone=phone, province="浙江省", city="杭州市",
                                district="西湖区", detail="文三路1号")
            o.lines = [Line(sku=fake.gen.catalog[0], qty=1, price_fen=100, line_id="")]
            made.append((o.order_id, fake.gen.buyer_nick(o)))
    (first, first_nick), (second, second_nick) = made
    assert first_nick != second_nick
    settings = WorkerSettings(listen_push=False, poll_refunds=False, match_unknown_skus=False)
    async with Worker(cloud_engine, sealer, settings=settings, clock=fake.clock.now,
                      retry=fast_retry()) as worker:
        await worker.tick(shop_id)
    with cloud_engine.connect() as conn:
        rows = {r.platform_order_id: r for r in conn.execute(sa.select(orders))}
    assert rows[first].buyer_nick_mask == first_nick[0] + "**" + first_nick[-1]
    # Not in clear anywhere in the stored order: only its mask and its keyed digest.
    assert all(first_nick not in str(v) for v in rows[first]._mapping.values())
    assert rows[first].buyer_nick_key == sealer.search_key(first_nick)

    page = await client.get("/orders", params={"q": first_nick})
    assert page.status_code == 200
    assert first in page.text and second not in page.text
    page = await client.get("/orders", params={"q": f"  {second_nick} "})
    assert second in page.text and first not in page.text
    # Exact only: a prefix of a nickname, or its mask, finds nothing.
    for term in (first_nick[:-1], rows[first].buyer_nick_mask):
        page = await client.get("/orders", params={"q": term})
        assert first not in page.text
    detail = await client.get(f"/orders/{rows[first].id}")
    assert f'id="buyer-nick">{rows[first].buyer_nick_mask}<' in detail.text
    assert first_nick not in detail.text
