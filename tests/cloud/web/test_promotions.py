"""Promotion gifts and review rules (#13 item 4): 满就送 / 满件送 add one zero-price gift line
per order and promotion when the order passes review or is approved by hand, reserved and
sent to the station with the order; per-shop rules hold an order over an amount, and a
buyer note only while that hold is on. Engines: both (the ``cloud_engine`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log
from cloud.db.schema_orders import (
    order_events,
    order_lines,
    orders,
    promotions,
    reservations,
    review_rules,
    shop_warehouses,
)
from cloud.marketplaces.base import OrderLine, OrderStatus, PlatformOrder
from cloud.orders import review
from cloud.orders.allocation import allocate_pending
from cloud.orders.order_sync import upsert_order
from cloud.orders.promotions import GiftLine, Promotion, apply_gifts, matches
from cloud.orders.review_rules import DEFAULT_RULES, OrderFacts, ReviewRules, hold_reason
from cloud.orders.review_rules import save as save_rules
from cloud.orders.waybills import build_task
from edge.domain.models import Role
from tests.cloud.web.support import (
    T0,
    add_users,
    cells,
    csrf_of,
    field_errors,
    login,
    seed_data,
    signed_in,
)

START = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
"""2026-12-01 00:00 China Standard Time: the promotions' first instant."""
END = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
"""2027-01-01 00:00 CST: the first instant after the promotions."""


# -- the rules, by hand ------------------------------------------------------------------

def _promo(kind: str = "amount", threshold: int = 19900, trigger: str | None = None,
           active: bool = True) -> Promotion:
    return Promotion(1, "满199送帆布袋", None, kind, threshold, trigger, "SKU-2", 1, START, END,
                     active)


def test_amount_promotion_is_pay_at_least_the_threshold() -> None:
    at = START + timedelta(days=3)
    assert matches(_promo(), pay_fen=19900, ordered_at=at, lines=[])
    assert not matches(_promo(), pay_fen=19899, ordered_at=at, lines=[])
    assert not matches(_promo(active=False), pay_fen=19900, ordered_at=at, lines=[])


def test_dates_are_first_instant_in_last_instant_out() -> None:
    p = _promo()
    assert matches(p, pay_fen=20000, ordered_at=START, lines=[])
    assert not matches(p, pay_fen=20000, ordered_at=START - timedelta(seconds=1), lines=[])
    assert matches(p, pay_fen=20000, ordered_at=END - timedelta(seconds=1), lines=[])
    assert not matches(p, pay_fen=20000, ordered_at=END, lines=[])


def test_units_promotion_counts_the_sku_or_the_whole_order_never_gifts() -> None:
    at = START + timedelta(days=1)
    lines = [GiftLine("SKU-1", 2, 1, False), GiftLine("SKU-3", 1, 1, False),
             GiftLine("SKU-1", 5, 5, True)]  # a gift: never counted
    assert not matches(_promo("qty", 3, "SKU-1"), pay_fen=0, ordered_at=at, lines=lines)  # 2 < 3
    assert matches(_promo("qty", 2, "SKU-1"), pay_fen=0, ordered_at=at, lines=lines)  # 2 ≥ 2
    assert matches(_promo("qty", 2), pay_fen=0, ordered_at=at, lines=lines)  # 1 + 1 pieces
    assert not matches(_promo("qty", 3), pay_fen=0, ordered_at=at, lines=lines)


def _facts(note: str = "", *, approved: str | None = None, risk: bool = False,
           pay: int = 10000, pay_ok: int | None = None) -> OrderFacts:
    return OrderFacts(note, approved, risk, pay, pay_ok)


def test_default_rules_hold_notes_and_risk_but_no_amount() -> None:
    assert hold_reason(DEFAULT_RULES, _facts("请发顺丰")) == (
        "buyer_note", "买家留言需人工审核 / buyer note needs review: 请发顺丰")
    assert hold_reason(DEFAULT_RULES, _facts("请发顺丰", approved="请发顺丰")) is None
    assert hold_reason(DEFAULT_RULES, _facts(risk=True))[0] == "risk_review"  # type: ignore[index]
    assert hold_reason(DEFAULT_RULES, _facts(pay=99_999_999)) is None


def test_configured_rules() -> None:
    relaxed = ReviewRules(hold_buyer_note=False, hold_risk_review=False, max_amount_fen=50000)
    assert hold_reason(relaxed, _facts("请发顺丰", risk=True, pay=50000)) is None
    assert hold_reason(relaxed, _facts(pay=50001)) == (
        "amount_over", "订单金额 ¥500.01 超过限额 ¥500.00 / amount ¥500.01 over the limit ¥500.00")
    assert hold_reason(relaxed, _facts(pay=50001, pay_ok=50001)) is None  # approved amount
    assert hold_reason(relaxed, _facts(pay=60000, pay_ok=50001))[0] == "amount_over"  # type: ignore[index]


# -- through allocation and review -------------------------------------------------------

def _order(no: str, *, pay: int, note: str = "", qty: int = 1,
           ordered: datetime = T0) -> PlatformOrder:
    return PlatformOrder(
        platform="pdd", order_id=no, status=OrderStatus.AWAITING_SHIPMENT, raw_status="1",
        updated_at=T0 - timedelta(hours=1), created_at=ordered, buyer_note=note, pay_fen=pay,
        lines=(OrderLine(sku_id="90011", outer_id="", qty=qty, price_fen=pay, item_id="9001"),))


def _seed(engine: Engine, *orders_: PlatformOrder, rules: dict[str, object] | None = None,
          promos: list[dict[str, object]] | None = None) -> None:
    add_users(engine)
    seed_data(engine)
    with engine.begin() as conn:
        conn.execute(shop_warehouses.insert().values(shop_id="shop-pdd", warehouse_id="WH1"))
        for values in promos or []:
            conn.execute(promotions.insert().values(**{
                "name": "满199送帆布袋", "shop_id": None, "kind": "amount", "threshold": 19900,
                "gift_sku": "SKU-2", "gift_qty": 1, "starts_at": START, "ends_at": END,
                "created_by": "test", "created_at": T0, "updated_at": T0, **values}))
        if rules is not None:
            conn.execute(review_rules.insert().values(
                shop_id="shop-pdd", updated_by="test", updated_at=T0, **rules))
        for po in orders_:
            upsert_order(conn, "shop-pdd", po, now=T0)


def _state(engine: Engine, oid: str) -> tuple[object, ...]:
    with engine.begin() as conn:
        return tuple(conn.execute(sa.select(orders.c.state, orders.c.exception_code,
                                            orders.c.exception_detail)
                                  .where(orders.c.id == oid)).one())


def _lines(engine: Engine, oid: str) -> list[tuple[object, ...]]:
    ln = order_lines.c
    with engine.begin() as conn:
        return [tuple(r) for r in conn.execute(sa.select(
            ln.line_no, ln.sku, ln.sku_qty, ln.qty, ln.price_fen, ln.is_gift, ln.promotion_id)
            .where(ln.order_id == oid).order_by(ln.line_no))]


def _events(engine: Engine, oid: str) -> list[tuple[object, ...]]:
    e = order_events.c
    with engine.begin() as conn:
        return [tuple(r) for r in conn.execute(sa.select(e.actor, e.action, e.reason)
                                               .where(e.order_id == oid).order_by(e.id))]


def _reserved(engine: Engine, oid: str) -> dict[str, int]:
    r = reservations.c
    with engine.begin() as conn:
        return {sku: int(q) for sku, q in conn.execute(sa.select(r.sku, r.qty).where(
            r.order_id == oid, r.released_at.is_(None)))}


def test_199_gets_the_gift_19899_does_not_and_a_second_pass_adds_nothing(
        cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3001", pay=19900), _order("3002", pay=19899),
          promos=[{}])
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _state(cloud_engine, "pdd-3001") == ("allocated", None, None)
    assert _lines(cloud_engine, "pdd-3001") == [
        (1, "SKU-1", 1, 1, 19900, False, None), (2, "SKU-2", 1, 1, 0, True, 1)]
    assert _reserved(cloud_engine, "pdd-3001") == {"SKU-1": 1, "SKU-2": 1}
    assert _events(cloud_engine, "pdd-3001") == [
        ("promotion:1", "gift", "满199送帆布袋 (#1): SKU-2 × 1")]
    assert _state(cloud_engine, "pdd-3002") == ("allocated", None, None)
    assert _lines(cloud_engine, "pdd-3002") == [(1, "SKU-1", 1, 1, 19899, False, None)]
    # reviewed again (back to pending): the gift is not added twice
    with cloud_engine.begin() as conn:
        conn.execute(sa.update(orders).where(orders.c.id == "pdd-3001").values(state="pending"))
        assert apply_gifts(conn, "pdd-3001", now=T0) == []
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=1))
    assert _state(cloud_engine, "pdd-3001") == ("allocated", None, None)
    assert len(_lines(cloud_engine, "pdd-3001")) == 2 and len(_events(cloud_engine, "pdd-3001")) == 1
    # the pack task carries the gift line
    with cloud_engine.begin() as conn:
        row = conn.execute(sa.select(orders).where(orders.c.id == "pdd-3001")).one()
        task = build_task(conn, row, "WB-1", "ZTO", "")
    assert [(ln.line_no, ln.sku, ln.qty) for ln in task.lines] == [(1, "SKU-1", 1), (2, "SKU-2", 1)]


def test_dates_shop_and_deactivation_bound_the_gift(cloud_engine: Engine) -> None:
    _seed(cloud_engine,
          _order("3101", pay=30000, ordered=START - timedelta(seconds=1)),  # before
          _order("3102", pay=30000, ordered=END),  # after (the end is out)
          _order("3103", pay=30000, ordered=START),  # first instant: in
          promos=[{}, {"shop_id": "shop-pdd", "kind": "qty", "threshold": 3,
                       "trigger_sku": "SKU-1", "active": False}])
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert [ln[1] for ln in _lines(cloud_engine, "pdd-3101")] == ["SKU-1"]
    assert [ln[1] for ln in _lines(cloud_engine, "pdd-3102")] == ["SKU-1"]
    assert [ln[1] for ln in _lines(cloud_engine, "pdd-3103")] == ["SKU-1", "SKU-2"]


def test_units_promotion_of_the_shop_through_allocation(cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3201", pay=100, qty=3), _order("3202", pay=100, qty=2),
          promos=[{"shop_id": "shop-pdd", "kind": "qty", "threshold": 3,
                   "trigger_sku": "SKU-1", "gift_qty": 2, "name": "满3件送2个"}])
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _lines(cloud_engine, "pdd-3201") == [
        (1, "SKU-1", 3, 3, 100, False, None), (2, "SKU-2", 2, 2, 0, True, 1)]
    assert _reserved(cloud_engine, "pdd-3201") == {"SKU-1": 3, "SKU-2": 2}
    assert len(_lines(cloud_engine, "pdd-3202")) == 1


def test_approving_a_note_adds_the_gift_once_with_the_person_as_actor(
        cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3301", pay=20000, note="请发顺丰"), promos=[{}])
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _state(cloud_engine, "pdd-3301")[:2] == ("exception", "buyer_note")
    assert len(_lines(cloud_engine, "pdd-3301")) == 1  # held: no gift yet
    with cloud_engine.begin() as conn:
        review.approve(conn, "pdd-3301", actor="u-manager", note="已确认", now=T0)
    assert _lines(cloud_engine, "pdd-3301")[1] == (2, "SKU-2", 1, 1, 0, True, 1)
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=1))
    assert _state(cloud_engine, "pdd-3301") == ("allocated", None, None)
    assert len(_lines(cloud_engine, "pdd-3301")) == 2
    assert _events(cloud_engine, "pdd-3301") == [
        ("u-manager", "approve", "已确认"), ("u-manager", "gift", "满199送帆布袋 (#1): SKU-2 × 1")]
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail).where(
            audit_log.c.action == "order.gift")).all() == [
            ("u-manager", {"promotion": 1, "sku": "SKU-2", "qty": 1})]


def test_an_order_over_the_limit_is_held_until_its_amount_is_approved(
        cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3401", pay=50001), _order("3402", pay=50000),
          rules={"max_amount_fen": 50000})
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _state(cloud_engine, "pdd-3401") == (
        "exception", "amount_over",
        "订单金额 ¥500.01 超过限额 ¥500.00 / amount ¥500.01 over the limit ¥500.00")
    assert _state(cloud_engine, "pdd-3402") == ("allocated", None, None)
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)  # not retried by itself
    assert _state(cloud_engine, "pdd-3401")[1] == "amount_over"
    with cloud_engine.begin() as conn:
        review.approve(conn, "pdd-3401", actor="u-manager", note="大客户", now=T0)
        assert conn.execute(sa.select(orders.c.amount_approved_fen).where(
            orders.c.id == "pdd-3401")).scalar_one() == 50001
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _state(cloud_engine, "pdd-3401") == ("allocated", None, None)


def test_with_the_note_hold_off_a_noted_order_goes_through(cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3501", pay=100, note="请发顺丰"),
          rules={"hold_buyer_note": False})
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert _state(cloud_engine, "pdd-3501") == ("allocated", None, None)


def test_saving_rules_sends_the_orders_they_no_longer_hold_back_to_review(
        cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3701", pay=100, note="请发顺丰"), _order("3702", pay=60000),
          _order("3703", pay=90000), rules={"max_amount_fen": 50000})
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert [_state(cloud_engine, f"pdd-370{n}")[1] for n in (1, 2, 3)] == [
        "buyer_note", "amount_over", "amount_over"]
    with cloud_engine.begin() as conn:
        freed = save_rules(conn, "shop-pdd", ReviewRules(hold_buyer_note=False,
                                                         max_amount_fen=70000),
                           actor="u-manager", now=T0 + timedelta(minutes=1))
    assert freed == 2  # the note, and ¥600 now within ¥700; ¥900 stays held
    assert _state(cloud_engine, "pdd-3701") == ("pending", None, None)
    assert _state(cloud_engine, "pdd-3703")[1] == "amount_over"
    assert _events(cloud_engine, "pdd-3702") == [
        ("u-manager", "requeue", "审单规则已修改 / review rules changed")]
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0 + timedelta(minutes=2))
    assert _state(cloud_engine, "pdd-3701")[0] == "allocated"
    assert _state(cloud_engine, "pdd-3702")[0] == "allocated"


# -- the pages ---------------------------------------------------------------------------

PROMO_FORM = {"name": "满199送帆布袋", "shop_id": "", "kind": "amount", "threshold": "199",
              "trigger_sku": "", "gift_sku": "SKU-2", "gift_qty": "1",
              "starts_on": "2026-12-01", "ends_on": "2026-12-31"}
"""A good promotion form: 满 ¥199 送 one SKU-2, all of December (China time)."""


async def test_a_manager_creates_edits_and_stops_a_promotion(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    page = await client.get("/promotions")
    assert page.status_code == 200 and 'href="/promotions"' in page.text
    csrf = csrf_of(page.text)
    bad = await client.post("/promotions", data={
        **PROMO_FORM, "csrf_token": csrf, "threshold": "abc", "gift_sku": "NOPE",
        "ends_on": "2026-11-30", "gift_qty": "0"})
    assert bad.status_code == 400
    assert field_errors(bad.text) == {
        "threshold": ["请填写数字"], "gift_sku": ["没有商品 NOPE"],
        "gift_qty": ["赠品数量应为 1 到 99"], "ends_on": ["结束日期不能早于开始日期"]}
    with cloud_engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(promotions)).scalar() == 0
    r = await client.post("/promotions", data={**PROMO_FORM, "csrf_token": csrf})
    assert r.status_code == 303
    with cloud_engine.begin() as conn:
        row = conn.execute(sa.select(promotions)).one()
    assert (row.id, row.threshold, row.starts_at, row.ends_at, row.shop_id, row.active) == (
        1, 19900, START, END, None, True)
    page = await client.get("/promotions")
    assert "赠品活动 #1 已保存" in page.text
    assert cells(page.text, "promotions-table") == [
        ["1", "满199送帆布袋", "全部店铺", "实付满 ¥199.00", "SKU-2 × 1", "2026-12-01 – 2026-12-31",
         "是", "停用"]]
    edit = await client.get("/promotions/1")
    assert 'value="199.00"' in edit.text and 'value="2026-12-31"' in edit.text
    r = await client.post("/promotions/1", data={
        **PROMO_FORM, "csrf_token": csrf, "kind": "qty", "threshold": "3",
        "trigger_sku": "SKU-1", "shop_id": "shop-pdd", "gift_qty": "2"})
    assert r.status_code == 303
    r = await client.post("/promotions/1/deactivate", data={"csrf_token": csrf})
    assert r.status_code == 303
    page = await client.get("/promotions")
    assert cells(page.text, "promotions-table") == [
        ["1", "满199送帆布袋", "拼多多旗舰店", "SKU-1 满 3 件", "SKU-2 × 2",
         "2026-12-01 – 2026-12-31", "否", ""]]
    with cloud_engine.begin() as conn:
        assert [a for (a,) in conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.action.like("promotion.%")).order_by(audit_log.c.id))] == [
            "promotion.create", "promotion.update", "promotion.deactivate"]


async def test_review_rules_page_saves_a_shop_and_refuses_bad_input(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.ADMIN)
    page = await client.get("/review-rules")
    assert page.status_code == 200 and "默认规则" in page.text
    csrf = csrf_of(page.text)
    bad = await client.post("/review-rules/shop-pdd", data={
        "csrf_token": csrf, "hold_buyer_note": "pass", "max_amount": "12.345"})
    assert bad.status_code == 400
    assert field_errors(bad.text) == {"hold_risk_review": ["请选择"],
                                      "max_amount": ["金额应为数字, 最多两位小数 (元)"]}
    r = await client.post("/review-rules/shop-pdd", data={
        "csrf_token": csrf, "hold_buyer_note": "pass", "hold_risk_review": "hold",
        "max_amount": "500"})
    assert r.status_code == 303
    with cloud_engine.begin() as conn:
        assert tuple(conn.execute(sa.select(
            review_rules.c.hold_buyer_note, review_rules.c.hold_risk_review,
            review_rules.c.max_amount_fen)).one()) == (False, True, 50000)
    page = await client.get("/review-rules")
    assert "店铺 拼多多旗舰店 的审单规则已保存" in page.text and 'value="500.00"' in page.text


async def test_the_order_page_marks_the_gift_line(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3601", pay=19900), promos=[{}])
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert (await login(client, "u-warehouse-lead")).status_code == 303
    page = await client.get("/orders/pdd-3601")
    assert cells(page.text, "lines-table") == [
        ["1", "", "90011", "1", "199.00", "SKU-1 × 1 保温杯 500ml"],
        ["2", "赠品 帆布袋 满199送帆布袋", "", "1", "0.00", "SKU-2 × 1 帆布袋"]]
    assert cells(page.text, "events-table") == [
        ["2026-12-01 10:00", "promotion:1", "加赠品", "待审核 → 待审核",
         "满199送帆布袋 (#1): SKU-2 × 1"]]


async def test_an_amount_hold_is_approved_on_the_order_page_and_pages_read_in_english(
        client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    _seed(cloud_engine, _order("3801", pay=50001), rules={"max_amount_fen": 50000})
    allocate_pending(cloud_engine, "shop-pdd", "WH1", now=T0)
    assert (await login(client, "u-warehouse-lead")).status_code == 303
    page = await client.get("/orders/pdd-3801")
    assert "订单金额超过限额" in page.text and 'id="approve-form"' in page.text
    r = await client.post("/orders/pdd-3801/approve", data={
        "csrf_token": csrf_of(page.text), "reason": "老客户"})
    assert r.status_code == 303
    assert _state(cloud_engine, "pdd-3801") == ("pending", None, None)
    assert (await client.get("/promotions")).status_code == 403  # a lead: not a manager
    client.cookies.clear()
    assert (await login(client, "u-manager")).status_code == 303
    csrf = csrf_of((await client.get("/promotions")).text)
    await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/"})
    page = await client.get("/promotions")
    assert "Gift promotions" in page.text and "By amount paid" in page.text
    page = await client.get("/review-rules")
    assert "Hold on a buyer note" in page.text and 'value="500.00"' in page.text
