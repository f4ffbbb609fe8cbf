"""Platform SKU mappings (平台商品关联) as the web app shows and edits them.

A mapping (``sku_mappings``) ties a shop's platform SKU to a Packline SKU and carries the
stock-push rule that :mod:`cloud.orders.stock_push` applies — the buffer in units and in
percent of on-hand, the mapping's ``stock_share`` of stock it shares with other mappings,
and whether it is pushed at all. Which warehouses count is the shop's serving warehouses
(``shop_warehouses``; all warehouses when none are set), not a property of the mapping.
Nothing else is a rule: the push knows no minimum or maximum.

Each mapping is listed with its last recorded push (``stock_pushes``) and the inputs it was
computed from, so a person can see why the platform shows that number. New mappings go
through :func:`cloud.orders.stock_push.add_mapping` (open orders waiting for the mapping
reserve at once); rule changes are audited (``mapping.rule``) and take effect at the
shop's next push.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema import shops, skus
from cloud.db.schema_orders import shop_config, shop_warehouses, sku_mappings, stock_pushes
from cloud.errors import InputError, Problem
from cloud.orders import stock_push
from cloud.orders.reservations import serving_warehouses
from cloud.products import whole_number

MAX_BUFFER_UNITS = 10_000_000
"""Largest buffer in units."""

MAX_SHARE = 10_000
"""Largest ``stock_share`` weight."""

MAX_UNITS = 10_000
"""Most Packline units one platform unit may take."""

FORM_TEXT_MAX = 64
"""Longest id or code a mapping form keeps (``sku_mappings``' ids and codes are 64 wide)."""

RECENT_PUSHES = 10
"""Pushes a mapping's page lists, newest first (the full record is ``stock_pushes``)."""

RULE_FIELDS = ("push_stock", "buffer_units", "buffer_percent", "stock_share", "push_min",
               "push_max")
"""The columns of a mapping's push rule."""


@dataclass(frozen=True, slots=True)
class PushRecord:
    """One recorded push and the inputs it was computed from (``stock_pushes``)."""

    id: int
    at: datetime
    pushed: int
    """Platform units sent."""
    on_hand: int
    reserved: int
    allotted: int
    """The mapping's share of on-hand − reserved (Packline units)."""
    buffer: int
    units: int
    available: int
    guard_units: int
    """The oversell guard computed apart at push time (Packline units)."""
    detail: dict[str, dict[str, Any]]
    """Per warehouse: on_hand, reserved, share (``"weight/total"``)."""
    ok: bool
    answer: str
    push_min: int | None = None
    push_max: int | None = None


@dataclass(frozen=True, slots=True)
class MappingRow:
    """A mapping with its shop, SKU name, rule and last push."""

    id: int
    shop_id: str
    shop_name: str
    platform: str
    item_id: str
    sku_id: str
    outer_id: str
    sku: str
    sku_name: str | None
    units: int
    push_stock: bool
    buffer_units: int
    buffer_percent: int
    stock_share: int
    last: PushRecord | None
    push_min: int | None = None
    push_max: int | None = None


def _push(r: Any) -> PushRecord:
    return PushRecord(int(r.id), r.at, int(r.pushed), int(r.on_hand), int(r.reserved),
                      int(r.allotted), int(r.buffer), int(r.units), int(r.available),
                      int(r.guard_units), dict(r.detail or {}), bool(r.ok), r.answer,
                      r.push_min, r.push_max)


def _rows(conn: Connection, where: list[sa.ColumnElement[bool]], limit: int,
          offset: int) -> list[MappingRow]:
    m = sku_mappings.c
    query = (sa.select(sku_mappings, shops.c.name.label("shop_name"), shops.c.platform,
                       skus.c.name_zh)
             .select_from(sku_mappings.join(shops, shops.c.id == m.shop_id)
                          .outerjoin(skus, skus.c.sku == m.sku))
             .where(*where).order_by(shops.c.name, m.shop_id, m.sku, m.id)
             .limit(limit).offset(offset))
    found = conn.execute(query).all()
    last: dict[int, PushRecord] = {}
    ids = [int(r.id) for r in found]
    if ids:
        newest = (sa.select(sa.func.max(stock_pushes.c.id)).where(
            stock_pushes.c.mapping_id.in_(ids)).group_by(stock_pushes.c.mapping_id))
        for p in conn.execute(sa.select(stock_pushes).where(stock_pushes.c.id.in_(newest))):
            last[int(p.mapping_id)] = _push(p)
    return [MappingRow(int(r.id), r.shop_id, r.shop_name, r.platform, r.platform_item_id,
                       r.platform_sku_id, r.outer_id, r.sku, r.name_zh, int(r.units),
                       bool(r.push_stock), int(r.buffer_units), int(r.buffer_percent),
                       int(r.stock_share), last.get(int(r.id)), r.push_min, r.push_max)
            for r in found]


def mapping_rows(conn: Connection, *, shop_id: str | None = None, sku: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[MappingRow]:
    """Mappings (of one shop, of SKUs containing ``sku`` or whose platform ids equal it),
    by shop and SKU, each with its last push."""
    m = sku_mappings.c
    where: list[sa.ColumnElement[bool]] = []
    if shop_id:
        where.append(m.shop_id == shop_id)
    if sku:
        where.append(sa.or_(m.sku.icontains(sku, autoescape=True), m.platform_item_id == sku,
                            m.platform_sku_id == sku, m.outer_id == sku))
    return _rows(conn, where, limit, offset)


def get_mapping(conn: Connection, mapping_id: int) -> MappingRow | None:
    """One mapping with its last push, or ``None``."""
    found = _rows(conn, [sku_mappings.c.id == mapping_id], 1, 0)
    return found[0] if found else None


def recent_pushes(conn: Connection, mapping_id: int,
                  limit: int = RECENT_PUSHES) -> list[PushRecord]:
    """The mapping's latest recorded pushes, newest first."""
    return [_push(p) for p in conn.execute(sa.select(stock_pushes).where(
        stock_pushes.c.mapping_id == mapping_id).order_by(stock_pushes.c.id.desc()).limit(limit))]


def _default_warehouse(conn: Connection, shop_id: str) -> str | None:
    value: str | None = conn.execute(sa.select(shop_config.c.default_warehouse_id).where(
        shop_config.c.shop_id == shop_id)).scalar()
    return value


def counted_warehouses(conn: Connection, shop_id: str) -> list[str]:
    """The warehouses whose stock a mapping of this shop offers (the shop's serving
    warehouses, default first; every warehouse when the shop names none)."""
    return serving_warehouses(conn, shop_id, _default_warehouse(conn, shop_id))


def shop_limits_warehouses(conn: Connection, shop_id: str) -> bool:
    """Whether the shop names its serving warehouses (else every warehouse counts)."""
    return conn.execute(sa.select(shop_warehouses.c.warehouse_id).where(
        shop_warehouses.c.shop_id == shop_id).limit(1)).first() is not None


def preview(conn: Connection, mapping_id: int) -> stock_push.Availability:
    """What a push of this mapping would offer now (computed, not recorded, not sent)."""
    mapping = conn.execute(sa.select(sku_mappings).where(sku_mappings.c.id == mapping_id)).one()
    return stock_push.compute(conn, mapping.shop_id, _default_warehouse(conn, mapping.shop_id),
                              mapping)


def _required(form: Mapping[str, Any], name: str, label_zh: str, label_en: str, lo: int,
              hi: int, problems: list[Problem]) -> int | None:
    value = form.get(name)
    typed = value.strip() if isinstance(value, str) else ""
    if not typed:
        problems.append(Problem(name, f"请填写{label_zh}", f"{label_en} is required"))
        return None
    return whole_number(typed, name, label_zh, label_en, lo, hi, problems)


def _optional(form: Mapping[str, Any], name: str, label_zh: str, label_en: str,
              problems: list[Problem]) -> int | None:
    value = form.get(name)
    typed = value.strip() if isinstance(value, str) else ""
    if not typed:
        return None
    return whole_number(typed, name, label_zh, label_en, 0, MAX_BUFFER_UNITS, problems)


def _rule(form: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """The push rule of a form (``push_stock`` a checkbox; the buffer and share are
    required, the floor and cap optional: blank is no limit)."""
    push_min = _optional(form, "push_min", "最小同步数", "floor", problems)
    push_max = _optional(form, "push_max", "最大同步数", "cap", problems)
    if push_min is not None and push_max is not None and push_min > push_max:
        problems.append(Problem("push_min", "最小同步数不能大于最大同步数",
                                "the floor cannot be above the cap"))
    return {
        "push_stock": form.get("push_stock") == "1",
        "buffer_units": _required(form, "buffer_units", "安全库存件数", "buffer units", 0,
                                  MAX_BUFFER_UNITS, problems),
        "buffer_percent": _required(form, "buffer_percent", "安全库存百分比", "buffer percent",
                                    0, 100, problems),
        "stock_share": _required(form, "stock_share", "共享份额", "stock share", 0, MAX_SHARE,
                                 problems),
        "push_min": push_min,
        "push_max": push_max,
    }


def update_rule(conn: Connection, mapping_id: int, form: Mapping[str, Any], *, actor: str,
                now: datetime) -> None:
    """Set a mapping's push rule from a form; audited as old → new. Raises
    :class:`InputError` (nothing written) on bad input."""
    row = conn.execute(sa.select(sku_mappings).where(sku_mappings.c.id == mapping_id)
                       .with_for_update()).first()
    if row is None:
        raise InputError([Problem("", f"没有关联 #{mapping_id}", f"there is no mapping #{mapping_id}")])
    problems: list[Problem] = []
    rule = _rule(form, problems)
    if problems:
        raise InputError(problems)
    changed = {k: f"{_show(getattr(row, k))} → {_show(v)}" for k, v in rule.items()
               if getattr(row, k) != v}
    if not changed:
        return
    conn.execute(sku_mappings.update().where(sku_mappings.c.id == mapping_id).values(rule))
    audit.record(conn, now, actor, "mapping.rule", f"{row.shop_id}/{mapping_id}",
                 {"sku": row.sku, **changed})


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "-" if value is None else str(value)


def create(conn: Connection, form: Mapping[str, Any], *, actor: str, now: datetime) -> int:
    """Map a platform SKU of a shop to a Packline SKU with its push rule, from a form;
    returns the new mapping's id. Raises :class:`InputError` (nothing written) on bad input:
    unknown shop or SKU, no platform SKU id nor merchant code, or a platform SKU the shop
    already maps (orders would then find either mapping)."""
    def text(name: str, max_len: int = FORM_TEXT_MAX) -> str:
        value = form.get(name)
        return value.strip()[:max_len] if isinstance(value, str) else ""

    problems: list[Problem] = []
    shop_id, item_id, sku_id, outer_id, sku = (text(f) for f in (
        "shop_id", "item_id", "sku_id", "outer_id", "sku"))
    if not shop_id or not conn.execute(sa.select(shops.c.id).where(shops.c.id == shop_id)).first():
        problems.append(Problem("shop_id", "请选择店铺", "choose a shop"))
    if not item_id:
        problems.append(Problem("item_id", "缺少平台商品 ID", "missing the platform item id"))
    if not sku_id and not outer_id:
        problems.append(Problem("sku_id", "平台 SKU ID 和商家编码至少填一个",
                                "give the platform SKU id or the merchant code (or both)"))
    if not sku:
        problems.append(Problem("sku", "缺少商品编码", "missing SKU"))
    elif not conn.execute(sa.select(skus.c.sku).where(skus.c.sku == sku)).first():
        problems.append(Problem("sku", f"商品 {sku} 不存在, 请先在商品资料中添加",
                                f"there is no product {sku}: add it to the products first"))
    units = _required(form, "units", "每件平台商品含数量", "units per platform unit", 1,
                      MAX_UNITS, problems)
    rule = _rule(form, problems)
    m = sku_mappings.c
    if shop_id and (sku_id or outer_id):
        # orders find a mapping by sku_id, else by outer_id (reservations.find_mapping)
        same = m.platform_sku_id == sku_id if sku_id else m.outer_id == outer_id
        taken = conn.execute(sa.select(m.id, m.sku).where(m.shop_id == shop_id, same)).first()
        if taken is not None:
            problems.append(Problem("sku_id" if sku_id else "outer_id",
                                    f"此平台 SKU 在该店铺已关联到 {taken.sku} (#{taken.id})",
                                    f"the shop already maps this platform SKU to {taken.sku} "
                                    f"(#{taken.id})"))
    if problems:
        raise InputError(problems)
    assert units is not None
    mapping_id = stock_push.add_mapping(
        conn, shop_id, item_id=item_id, sku=sku, sku_id=sku_id, outer_id=outer_id, units=units,
        buffer_units=rule["buffer_units"], buffer_percent=rule["buffer_percent"],
        push=rule["push_stock"], stock_share=rule["stock_share"], push_min=rule["push_min"],
        push_max=rule["push_max"], now=now)
    audit.record(conn, now, actor, "mapping.create", f"{shop_id}/{mapping_id}", {
        "sku": sku, "item_id": item_id, "sku_id": sku_id, "outer_id": outer_id, "units": units,
        **{k: _show(v) for k, v in rule.items()}})
    return mapping_id


def shop_choices(conn: Connection) -> list[tuple[str, str, str]]:
    """(id, platform, name) of every shop."""
    return [(r.id, r.platform, r.name) for r in conn.execute(
        sa.select(shops.c.id, shops.c.platform, shops.c.name).order_by(shops.c.platform, shops.c.name))]
