"""Kiosk operators (工作人员): the packers and leads who sign in at the stations with a badge
or a PIN, managed in the web app and sent to every station that is not revoked.

A save checks every field and reports every problem at once (:class:`InputError`), writes
the operator with one more ``version``, queues an ``operators`` down-message for every
station and an audit entry, all in the caller's transaction. The PIN is hashed here
(Argon2id, ``edge.domain.auth``, the hash the kiosk verifies) and never stored, logged or
audited in clear. Operators are never deleted (their id is on every move they made): they
are deactivated, and a station then refuses their sign-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema import station_operators, stations
from cloud.errors import InputError, Problem
from cloud.sync.outbound import enqueue_down
from edge.domain.auth import hash_pin
from edge.sync.schema import OperatorsWire, OperatorWire

ROLES: tuple[str, ...] = ("packer", "lead")
"""Kiosk roles: a lead may also approve a weight override."""
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
"""Operator ids: what a badge printer and the kiosk's sign-in list show."""
PIN_PATTERN = re.compile(r"[0-9]{4,8}")
"""PINs: 4 to 8 digits, typed on the kiosk's keypad."""
NAME_MAX = 100
"""Longest name (the column)."""
BADGE_MAX = 64
"""Longest badge code (the column)."""
OPERATORS_PER_MESSAGE = 1000
"""Most operators in one ``operators`` message (what ``OperatorsWire`` takes)."""


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator as the web app shows it (the PIN only as "set or not")."""

    id: str
    name: str
    role: str
    badge: str | None
    has_pin: bool
    active: bool
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OperatorForm:
    """The operator form as typed; ``pin`` blank keeps the current PIN (or none)."""

    id: str
    name: str
    role: str
    badge: str
    pin: str
    active: bool


def list_operators(conn: Connection) -> list[Operator]:
    """Every operator, active first, by id."""
    o = station_operators.c
    rows = conn.execute(sa.select(station_operators).order_by(o.active.desc(), o.id))
    return [Operator(r.id, r.name, r.role, r.badge, r.pin_hash is not None, r.active, r.version,
                     r.updated_at) for r in rows]


def get(conn: Connection, operator_id: str) -> Operator | None:
    """One operator, or None."""
    return next((op for op in list_operators(conn) if op.id == operator_id), None)


def save(conn: Connection, form: OperatorForm, *, existing: str | None, actor: str,
         now: datetime) -> Operator:
    """Create an operator (``existing`` None) or change ``existing``; returns it as saved."""
    o = station_operators.c
    current = None
    if existing is not None:
        current = conn.execute(sa.select(station_operators).where(o.id == existing)
                               .with_for_update()).first()
        if current is None:
            raise InputError([Problem("", f"没有工作人员 {existing}", f"no operator {existing}")])
    op_id = existing if existing is not None else form.id.strip()
    name, badge, pin = form.name.strip(), form.badge.strip() or None, form.pin.strip()
    problems: list[Problem] = []
    if existing is None:
        if not ID_PATTERN.fullmatch(op_id):
            problems.append(Problem("id", "工号为 1~32 位字母、数字、- 或 _",
                                    "the id is 1–32 letters, digits, - or _"))
        elif conn.execute(sa.select(o.id).where(o.id == op_id)).first() is not None:
            problems.append(Problem("id", f"工号 {op_id} 已存在", f"id {op_id} is taken"))
    if not name:
        problems.append(Problem("name", "请填写姓名", "enter a name"))
    elif len(name) > NAME_MAX:
        problems.append(Problem("name", f"姓名最长 {NAME_MAX} 字", f"at most {NAME_MAX} characters"))
    if form.role not in ROLES:
        problems.append(Problem("role", "请选择岗位", "choose a role"))
    if badge is not None:
        if len(badge) > BADGE_MAX or not badge.isprintable():
            problems.append(Problem("badge", "工牌码无效", "not a valid badge code"))
        else:
            holder = conn.execute(sa.select(o.id).where(o.badge == badge, o.id != op_id)).first()
            if holder is not None:
                problems.append(Problem("badge", f"工牌 {badge} 已属于 {holder.id}",
                                        f"badge {badge} belongs to {holder.id}"))
    if pin and not PIN_PATTERN.fullmatch(pin):
        problems.append(Problem("pin", "PIN 为 4~8 位数字", "a PIN is 4 to 8 digits"))
    if problems:
        raise InputError(problems)
    pin_hash = hash_pin(pin) if pin else (current.pin_hash if current is not None else None)
    if badge is None and pin_hash is None and form.active:
        raise InputError([Problem("pin", "请设置 PIN 或工牌, 否则无法登录",
                                  "set a PIN or a badge: without one nobody can sign in")])
    values = {"name": name, "role": form.role, "badge": badge, "pin_hash": pin_hash,
              "active": form.active, "updated_at": now}
    if current is None:
        version = 1
        conn.execute(sa.insert(station_operators).values(id=op_id, version=version,
                                                         created_at=now, **values))
        audit.record(conn, now, actor, "operator.create", op_id,
                     {"name": name, "role": form.role, "badge": badge, "pin": bool(pin)})
    else:
        version = current.version + 1
        conn.execute(sa.update(station_operators).where(o.id == op_id)
                     .values(version=version, **values))
        changed = {k: (getattr(current, k), v) for k, v in values.items()
                   if k not in ("pin_hash", "updated_at") and getattr(current, k) != v}
        detail = {k: f"{old} → {new}" for k, (old, new) in changed.items()}
        if pin:
            detail["pin"] = "changed"
        audit.record(conn, now, actor, "operator.update", op_id, detail)
    send_to_stations(conn, [op_id], now=now)
    saved = get(conn, op_id)
    assert saved is not None
    return saved


def send_to_stations(conn: Connection, operator_ids: list[str], *, now: datetime) -> int:
    """Queue the operators' current state for every station that is not revoked; returns
    how many messages were queued. (Operators work at any station of the seller.)"""
    o = station_operators.c
    rows = conn.execute(sa.select(station_operators).where(o.id.in_(operator_ids))
                        .order_by(o.id)).all()
    targets = list(conn.execute(sa.select(stations.c.id).where(stations.c.status != "revoked")
                                .order_by(stations.c.id)).scalars())
    if not rows or not targets:
        return 0
    wire = OperatorsWire(operators=[_wire(r) for r in rows])
    for station in targets:
        enqueue_down(conn, station, "operators", wire, now=now)
    return len(targets)


def _wire(r: sa.Row) -> OperatorWire:  # type: ignore[type-arg]
    return OperatorWire(operator_id=r.id, name=r.name, role=r.role, badge=r.badge,
                        pin_hash=r.pin_hash, active=r.active, version=r.version)


def send_all(conn: Connection, station_id: str, *, now: datetime) -> int:
    """Every operator, for one station (a newly enrolled or restored one); returns how many
    operators were queued."""
    o = station_operators.c
    rows = conn.execute(sa.select(station_operators).order_by(o.id)).all()
    for start in range(0, len(rows), OPERATORS_PER_MESSAGE):
        enqueue_down(conn, station_id, "operators", OperatorsWire(operators=[
            _wire(r) for r in rows[start:start + OPERATORS_PER_MESSAGE]]), now=now)
    return len(rows)
