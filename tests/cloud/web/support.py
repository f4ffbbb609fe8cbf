"""Builders for web tests: a settable clock, users of every role, demo rows, sign-in."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from html import unescape

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cloud.db.schema import shops, skus, station_health, stations, users, warehouses
from cloud.db.schema_orders import orders, sku_mappings, stock_pushes
from cloud.ledger_store import insert_moves
from cloud.web import accounts
from edge.domain.models import MoveReason, Role
from tests.cloud.helpers import make_move

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
"""The test clock's start: 2026-12-01 10:00 China Standard Time."""

PASSWORD = "correct horse battery"
"""Every test user's password."""


class FakeClock:
    """Epoch seconds that move only when told."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta).total_seconds()

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


def username(role: Role) -> str:
    return f"u-{role.value.replace('_', '-')}"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def add_users(engine: Engine) -> dict[Role, accounts.User]:
    """One user per role, named ``u-<role>``, password :data:`PASSWORD` (hashed once per
    test session: Argon2 is slow on purpose)."""
    with engine.begin() as conn:
        for role in Role:
            conn.execute(users.insert().values(
                id=f"id-{role.value}", username=username(role), display_name=f"测试{role.value}",
                role=role.value, password_hash=_password_hash(), active=True, created_at=T0))
        return {role: u for role in Role if (u := accounts.find_user(conn, username(role)))}


def seed_data(engine: Engine) -> None:
    """A warehouse, two stations (one healthy, one with a failing backup), two SKUs, moves
    (SKU-1 at A-01: +10, +5, -3 → 12; SKU-2 at B-02: +7), a shop and three orders; mapping
    #1 (the shop's item 9001 / sku_id 90011 → SKU-1, buffer 2) with one push of 10."""
    with engine.begin() as conn:
        conn.execute(warehouses.insert().values(id="WH1", name="杭州仓"))
        conn.execute(stations.insert(), [
            {"id": "st-1", "warehouse_id": "WH1", "name": "打包台一号", "status": "active",
             "created_at": T0},
            {"id": "st-2", "warehouse_id": "WH1", "name": "打包台二号", "status": "active",
             "created_at": T0}])
        conn.execute(station_health.insert(), [
            {"station_id": "st-1", "msg_id": "h1", "reported_at": T0, "received_at": T0,
             "backup_last_success_at": T0, "backup_lag_seconds": 12.0, "backup_last_error": None,
             "outbox_backlog": 0, "detail": {}},
            {"station_id": "st-2", "msg_id": "h2", "reported_at": T0, "received_at": T0,
             "backup_last_success_at": None, "backup_lag_seconds": 7200.0,
             "backup_last_error": "S3 AccessDenied", "outbox_backlog": 42, "detail": {}}])
        conn.execute(skus.insert(), [
            {"sku": "SKU-1", "name_zh": "保温杯 500ml", "name_en": "Vacuum flask 500ml"},
            {"sku": "SKU-2", "name_zh": "帆布袋", "name_en": "Canvas bag"}])
        insert_moves(conn, [
            make_move(0, qty_delta=10, balance_after=10),
            make_move(1, qty_delta=5, balance_after=15),
            make_move(2, qty_delta=-3, balance_after=12, reason=MoveReason.SHIP,
                      source_type="order", source_id="pdd-1001"),
            make_move(3, sku="SKU-2", location="B-02", qty_delta=7, balance_after=7),
        ], received_at=T0)
        conn.execute(shops.insert().values(id="shop-pdd", platform="pdd", name="拼多多旗舰店",
                                           created_at=T0))
        base = {"shop_id": "shop-pdd", "platform": "pdd", "platform_status": "paid",
                "raw_status": "1", "platform_updated_at": T0, "first_seen_at": T0,
                "updated_at": T0, "buyer_note": "", "exception_code": None,
                "platform_tracking": ""}
        conn.execute(orders.insert(), [
            {**base, "id": "pdd-1001", "platform_order_id": "1001", "state": "shipped",
             "ordered_at": T0 - timedelta(days=1), "pay_fen": 12990,
             "receiver_masked": {"name": "张*", "phone": "138****5678", "address": "浙江省杭州市***"},
             "platform_tracking": "ZT123"},
            {**base, "id": "pdd-1002", "platform_order_id": "1002", "state": "exception",
             "exception_code": "unmapped", "ordered_at": T0, "pay_fen": 500,
             "receiver_masked": {"name": "李*", "phone": "139****0001", "address": "上海市***"},
             "buyer_note": "请发顺丰"},
            {**base, "id": "pdd-1003", "platform_order_id": "1003", "state": "allocated",
             "ordered_at": T0 - timedelta(days=3), "pay_fen": 100,
             "receiver_masked": {"name": "王*", "phone": "137****2222", "address": "北京市***"}},
        ])
        mapping_id = conn.execute(sku_mappings.insert().values(
            shop_id="shop-pdd", platform_item_id="9001", platform_sku_id="90011",
            sku="SKU-1", buffer_units=2).returning(sku_mappings.c.id)).scalar_one()
        assert mapping_id == 1  # the first of a fresh database, on both engines
        conn.execute(stock_pushes.insert().values(
            shop_id="shop-pdd", mapping_id=mapping_id, sku="SKU-1", on_hand=12, reserved=0, buffer=2,
            allotted=12, available=10, pushed=10, units=1, guard_units=12,
            detail={"WH1": {"on_hand": 12, "reserved": 0, "share": "1/1"}}, ok=True,
            answer="ok", at=T0))


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def token(client: httpx.AsyncClient, path: str = "/login") -> str:
    """The session's CSRF token, read from a page's form."""
    response = await client.get(path)
    return csrf_of(response.text)


async def login(client: httpx.AsyncClient, user: str, password: str = PASSWORD,
                **extra: str) -> httpx.Response:
    """Post the sign-in form (with the CSRF token from the login page)."""
    csrf = await token(client)
    return await client.post("/login", data={"csrf_token": csrf, "username": user,
                                             "password": password, **extra})


def new_id() -> str:
    return uuid.uuid4().hex


def count(engine: Engine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with engine.begin() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
                   .scalar_one())


def cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row of a table (tags stripped, whitespace collapsed)."""
    match = re.search(rf'<table[^>]* id="{table_id}"[^>]*>(.*?)</table>', html, re.S)
    assert match, f"no table {table_id}"
    body = match.group(1).split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
                     for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)])
    return rows


async def signed_in(client: httpx.AsyncClient, engine: Engine, role: Role = Role.ADMIN) -> None:
    add_users(engine)
    seed_data(engine)
    assert (await login(client, f"u-{role.value.replace('_', '-')}")).status_code == 303


def field_errors(html: str) -> dict[str, list[str]]:
    """Field → the messages shown next to it."""
    out: dict[str, list[str]] = {}
    for name, text in re.findall(r'class="field-error" role="alert" data-field="([^"]*)">([^<]*)<',
                                 html):
        out.setdefault(name, []).append(unescape(text))
    return out
