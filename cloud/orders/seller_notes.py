"""卖家备注 and 旗帜 written back: a person's note and flag on an order go to its platform
first (``pdd.order.note.update``, ``taobao.trade.memo.update``); only once the platform has
accepted them is the note kept here, with an ``order_events`` row (action ``seller_note``,
who, when, the flag and the note) and an audit entry. A refusal — the order closed on the
platform, a note too long, the shop's authorisation gone — is reported with the platform's
code and message, and nothing changes here.

Three steps, so a web request never holds a database transaction across the platform call:
:func:`target` (checks, in a read transaction), :func:`send` (the platform), :func:`record`
(in a write transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import audit
from cloud.crypto import Sealer
from cloud.db.schema_orders import order_events, orders
from cloud.errors import InputError, Problem
from cloud.marketplaces.errors import MarketplaceError
from cloud.shops import ShopError, open_client

FLAGS: Final = (0, 1, 2, 3, 4, 5)
"""0 none (Taobao grey), 1 red, 2 yellow, 3 green, 4 blue, 5 purple (Taobao pink)."""
NOTE_MAX: Final = 300
"""Longest note sent: within Taobao's 1,000 bytes in UTF-8 Chinese and PDD's own limit."""
WRITABLE_STATES: Final = ("pending", "exception", "allocated", "tasked", "intercepted",
                          "shipped")
"""States whose platform order still takes a note (not a cancelled one)."""


@dataclass(frozen=True, slots=True)
class NoteTarget:
    """An order a note can be written to, and what to write."""

    order_id: str
    shop_id: str
    platform_order_id: str
    state: str
    note: str
    flag: int


def target(conn: Connection, order_id: str, *, note: str, flag: str) -> NoteTarget:
    """Check the order and the input; every problem at once (nothing is sent then)."""
    problems: list[Problem] = []
    note = note.strip()
    if len(note) > NOTE_MAX:
        problems.append(Problem("seller_note", f"备注最多 {NOTE_MAX} 个字", f"at most {NOTE_MAX} "
                                "characters"))
    flag_no = int(flag) if flag.isdigit() else -1
    if flag_no not in FLAGS:
        problems.append(Problem("flag", "请选择旗帜", "choose a flag"))
    row = conn.execute(sa.select(orders.c.shop_id, orders.c.platform_order_id, orders.c.state)
                       .where(orders.c.id == order_id)).first()
    if row is None:
        problems.append(Problem("", "没有这个订单", "no such order"))
    elif row.state not in WRITABLE_STATES:
        problems.append(Problem("seller_note", "订单已取消, 平台不再接受备注",
                                "the order is cancelled: the platform takes no note"))
    if problems:
        raise InputError(problems)
    assert row is not None
    return NoteTarget(order_id, row.shop_id, row.platform_order_id, row.state, note, flag_no)


async def send(engine: Engine, sealer: Sealer, t: NoteTarget, *, http: httpx.AsyncClient) -> None:
    """Write the note and flag to the platform; its refusal as an :class:`InputError`."""
    try:
        sc = open_client(engine, sealer, t.shop_id, http=http)
        await sc.client.set_seller_note(t.platform_order_id, t.note, t.flag)
    except ShopError as err:
        raise InputError([Problem("seller_note", f"店铺不可用: {err}",
                                  f"the shop cannot be reached: {err}")]) from err
    except MarketplaceError as err:
        raise InputError([Problem("seller_note", f"平台未接受: {err}",
                                  f"the platform refused: {err}")]) from err


def record(conn: Connection, t: NoteTarget, *, actor: str, now: datetime) -> None:
    """Keep the note the platform accepted, with who and when."""
    conn.execute(sa.update(orders).where(orders.c.id == t.order_id).values(
        seller_note=t.note, updated_at=now))
    conn.execute(sa.insert(order_events).values(
        order_id=t.order_id, at=now, actor=actor, action="seller_note", from_state=t.state,
        to_state=t.state, reason=f"[{t.flag}] {t.note}"))
    audit.record(conn, now, actor, "order.seller_note", t.order_id,
                 {"note": t.note, "flag": t.flag, "platform_order": t.platform_order_id})
