"""订单标签 (#13 item 4): a lead defines a tag on an order's page and puts it on orders,
takes it off again; the order list filters by tag and shows the chips; every change is an
order event (who) and an audit entry; bad input is shown next to the field and nothing is
written; a viewer sees the tags but cannot change them. Both engines."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log
from cloud.db.schema_orders import order_events, order_tag_links, order_tags
from edge.domain.models import Role
from tests.cloud.web.support import T0, FakeClock, cells, csrf_of, field_errors, signed_in


async def _post(client: httpx.AsyncClient, order_id: str, path: str,
                **form: str) -> httpx.Response:
    page = await client.get(f"/orders/{order_id}")
    return await client.post(f"/orders/{order_id}/tags/{path}",
                             data={"csrf_token": csrf_of(page.text), **form})


def _listed(html: str) -> list[str]:
    """Order numbers in the list, in order (the first non-empty cell: a lead sees merge boxes)."""
    return [next(c for c in row if c) for row in cells(html, "orders-table")]


async def test_a_lead_tags_orders_and_the_list_filters_by_tag(
        client: httpx.AsyncClient, cloud_engine: Engine, clock: FakeClock) -> None:
    await signed_in(client, cloud_engine, Role.WAREHOUSE_LEAD)
    clock.advance(minutes=5)
    r = await _post(client, "pdd-1002", "new", tag_name=" 加急 ", tag_colour="red")
    assert r.status_code == 303
    with cloud_engine.begin() as conn:
        tag = conn.execute(sa.select(order_tags)).one()
    assert (tag.name, tag.colour, tag.created_by) == ("加急", "red", "u-warehouse-lead")
    assert tag.created_at == T0.replace(minute=5)
    r = await _post(client, "pdd-1003", "add", tag_id=str(tag.id))
    assert r.status_code == 303
    # putting it on twice changes nothing
    assert (await _post(client, "pdd-1003", "add", tag_id=str(tag.id))).status_code == 303

    page = await client.get("/orders")
    assert '<span class="badge tag-red">加急</span>' in page.text
    everything = _listed(page.text)
    assert everything == ["1002", "1001", "1003"]  # newest first (seed: T0, -1 d, -3 d)
    assert _listed((await client.get(f"/orders?tag={tag.id}")).text) == ["1002", "1003"]

    # taken off 1002: the filter finds 1003 only; the order page shows no chip for 1002
    assert (await _post(client, "pdd-1002", "remove", tag_id=str(tag.id))).status_code == 303
    assert _listed((await client.get(f"/orders?tag={tag.id}")).text) == ["1003"]
    order_page = (await client.get("/orders/pdd-1003")).text
    assert 'id="order-tags"' in order_page and '<span class="badge tag-red">加急</span>' in order_page
    assert "暂无标签" in (await client.get("/orders/pdd-1002")).text

    with cloud_engine.begin() as conn:
        events = [(e.order_id, e.actor, e.action, e.reason) for e in conn.execute(
            sa.select(order_events).where(order_events.c.action.like("tag_%"))
            .order_by(order_events.c.id))]
        audits = [(a.action, a.subject) for a in conn.execute(
            sa.select(audit_log).where(audit_log.c.action.like("order%tag%"))
            .order_by(audit_log.c.id))]
        links = conn.execute(sa.select(order_tag_links.c.order_id)).scalars().all()
    assert events == [("pdd-1002", "u-warehouse-lead", "tag_add", "加急"),
                      ("pdd-1003", "u-warehouse-lead", "tag_add", "加急"),
                      ("pdd-1002", "u-warehouse-lead", "tag_remove", "加急")]
    assert audits == [("order_tag.define", str(tag.id)), ("order.tag_add", "pdd-1002"),
                      ("order.tag_add", "pdd-1003"), ("order.tag_remove", "pdd-1002")]
    assert links == ["pdd-1003"]


async def test_bad_tag_input_is_refused_next_to_the_field(client: httpx.AsyncClient,
                                                           cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    r = await _post(client, "pdd-1002", "new", tag_name="", tag_colour="pink")
    assert r.status_code == 400
    assert field_errors(r.text) == {"tag_name": ["请填写标签名"], "tag_colour": ["请选择颜色"]}
    r = await _post(client, "pdd-1002", "new", tag_name="x" * 33, tag_colour="blue")
    assert field_errors(r.text) == {"tag_name": ["标签名最多 32 个字"]}
    assert (await _post(client, "pdd-1002", "new", tag_name="VIP",
                        tag_colour="blue")).status_code == 303
    r = await _post(client, "pdd-1003", "new", tag_name="VIP", tag_colour="green")
    assert r.status_code == 400 and field_errors(r.text) == {"tag_name": ["已有同名标签"]}
    r = await _post(client, "pdd-1003", "add", tag_id="999")
    assert r.status_code == 400 and field_errors(r.text) == {"tag_id": ["请选择标签"]}
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(order_tags.c.name)).scalars().all() == ["VIP"]
        assert conn.execute(sa.select(order_tag_links.c.order_id)).scalars().all() == ["pdd-1002"]


async def test_viewers_see_tags_but_cannot_change_them(client: httpx.AsyncClient,
                                                        cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)  # ORDERS_VIEW, not ORDERS_REVIEW
    with cloud_engine.begin() as conn:
        tag_id = conn.execute(order_tags.insert().values(
            name="赠品", colour="green", created_by="u-manager", created_at=T0)
            .returning(order_tags.c.id)).scalar_one()
        conn.execute(order_tag_links.insert().values(order_id="pdd-1001", tag_id=tag_id,
                                                     actor="u-manager", at=T0))
    page = (await client.get("/orders/pdd-1001")).text
    assert '<span class="badge tag-green">赠品</span>' in page and 'id="tag-new-form"' not in page
    r = await client.post("/orders/pdd-1001/tags/remove",
                          data={"csrf_token": csrf_of(page), "tag_id": str(tag_id)})
    assert r.status_code == 403
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(order_tag_links)).scalar() == 1
