"""订单标签: tags a manager defines (a name and a colour from
:data:`~cloud.db.schema_orders.TAG_COLOURS`) and puts on or takes off orders. Each change to
an order's tags is an ``order_events`` row (action ``tag_add`` / ``tag_remove``, who, when,
the tag's name) and an audit entry; defining a tag is audited too. Putting a tag on twice,
or taking off one that is not there, changes nothing and records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema_orders import TAG_COLOURS, order_events, order_tag_links, order_tags, orders
from cloud.errors import InputError, Problem

NAME_MAX: Final = 32
"""Longest tag name (``order_tags.name``)."""


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag as the pages show it."""

    id: int
    name: str
    colour: str


def all_tags(conn: Connection) -> list[Tag]:
    """Every tag, by name."""
    return [Tag(int(r.id), r.name, r.colour) for r in conn.execute(
        sa.select(order_tags.c.id, order_tags.c.name, order_tags.c.colour)
        .order_by(order_tags.c.name, order_tags.c.id))]


def define(conn: Connection, *, name: str, colour: str, actor: str, now: datetime) -> int:
    """A new tag; every problem with the input at once (nothing written then)."""
    name = name.strip()
    problems: list[Problem] = []
    if not name:
        problems.append(Problem("tag_name", "请填写标签名", "enter the tag's name"))
    elif len(name) > NAME_MAX:
        problems.append(Problem("tag_name", f"标签名最多 {NAME_MAX} 个字",
                                f"at most {NAME_MAX} characters"))
    elif conn.execute(sa.select(order_tags.c.id).where(order_tags.c.name == name)).first():
        problems.append(Problem("tag_name", "已有同名标签", "a tag with this name exists"))
    if colour not in TAG_COLOURS:
        problems.append(Problem("tag_colour", "请选择颜色", "choose a colour"))
    if problems:
        raise InputError(problems)
    tag_id = int(conn.execute(sa.insert(order_tags).values(
        name=name, colour=colour, created_by=actor, created_at=now)
        .returning(order_tags.c.id)).scalar_one())
    audit.record(conn, now, actor, "order_tag.define", str(tag_id),
                 {"name": name, "colour": colour})
    return tag_id


def order_tags_of(conn: Connection, order_ids: list[str]) -> dict[str, list[Tag]]:
    """``order id`` → its tags by name (orders without tags are left out)."""
    found: dict[str, list[Tag]] = {}
    if not order_ids:
        return found
    query = (sa.select(order_tag_links.c.order_id, order_tags.c.id, order_tags.c.name,
                       order_tags.c.colour)
             .select_from(order_tag_links.join(order_tags,
                                               order_tags.c.id == order_tag_links.c.tag_id))
             .where(order_tag_links.c.order_id.in_(sorted(set(order_ids))))
             .order_by(order_tag_links.c.order_id, order_tags.c.name))
    for r in conn.execute(query):
        found.setdefault(r.order_id, []).append(Tag(int(r.id), r.name, r.colour))
    return found


def _target(conn: Connection, order_id: str, tag_id: str) -> tuple[str, int, str]:
    """(order state, tag id, tag name), or an :class:`InputError`."""
    problems: list[Problem] = []
    state = conn.execute(sa.select(orders.c.state).where(orders.c.id == order_id)).scalar()
    if state is None:
        problems.append(Problem("", "没有这个订单", "no such order"))
    tag = (conn.execute(sa.select(order_tags.c.id, order_tags.c.name)
                        .where(order_tags.c.id == int(tag_id))).first()
           if tag_id.isdigit() else None)
    if tag is None:
        problems.append(Problem("tag_id", "请选择标签", "choose a tag"))
    if problems:
        raise InputError(problems)
    assert state is not None and tag is not None
    return str(state), int(tag.id), str(tag.name)


def _event(conn: Connection, order_id: str, state: str, action: str, name: str, *,
           actor: str, now: datetime) -> None:
    """The ``order_events`` row and the audit entry of one tag change."""
    conn.execute(sa.insert(order_events).values(
        order_id=order_id, at=now, actor=actor, action=action, from_state=state,
        to_state=state, reason=name))
    audit.record(conn, now, actor, f"order.{action}", order_id, {"tag": name})


def put_on(conn: Connection, order_id: str, tag_id: str, *, actor: str, now: datetime) -> bool:
    """Put the tag on the order; False when it was already there (nothing recorded)."""
    state, tid, name = _target(conn, order_id, tag_id)
    if conn.execute(sa.select(order_tag_links.c.tag_id).where(
            order_tag_links.c.order_id == order_id, order_tag_links.c.tag_id == tid)).first():
        return False
    conn.execute(sa.insert(order_tag_links).values(order_id=order_id, tag_id=tid, actor=actor,
                                                   at=now))
    _event(conn, order_id, state, "tag_add", name, actor=actor, now=now)
    return True


def take_off(conn: Connection, order_id: str, tag_id: str, *, actor: str,
             now: datetime) -> bool:
    """Take the tag off the order; False when it was not there (nothing recorded)."""
    state, tid, name = _target(conn, order_id, tag_id)
    gone = conn.execute(sa.delete(order_tag_links).where(
        order_tag_links.c.order_id == order_id, order_tag_links.c.tag_id == tid)).rowcount
    if not gone:
        return False
    _event(conn, order_id, state, "tag_remove", name, actor=actor, now=now)
    return True


def define_on(conn: Connection, order_id: str, *, name: str, colour: str, actor: str,
              now: datetime) -> int:
    """A new tag put straight on the order, in one transaction (both or neither)."""
    if conn.execute(sa.select(orders.c.id).where(orders.c.id == order_id)).first() is None:
        raise InputError([Problem("", "没有这个订单", "no such order")])
    tag_id = define(conn, name=name, colour=colour, actor=actor, now=now)
    put_on(conn, order_id, str(tag_id), actor=actor, now=now)
    return tag_id
