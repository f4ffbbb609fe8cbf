"""Kits (组合商品): a sellable SKU made of component SKUs × units, with no stock of its own.

A kit is a product (``skus``) with rows in ``kit_components``: ``KIT-A = 2 × SKU1 + 1 × SKU2``.
A platform listing is mapped to the kit like to any SKU; the order line keeps the kit
(``order_lines.sku`` = the kit, ``sku_qty`` = kits) so the order, its search and the sales
reports show what the buyer bought, and everything that moves or holds stock — allocation,
reservations, the station's pack task — works on :func:`explode`'s components instead.
Stock push offers a kit as the minimum over its components of available ÷ units
(:mod:`cloud.orders.stock_push`).

Rules (checked by :func:`save`, problems named by form field, nothing written on any):

* a component is an existing product, named once, with 1 to :data:`MAX_UNITS` units;
* a kit never contains a kit or itself: a component may not be a kit, and a SKU that is a
  component of some kit may not become a kit;
* a kit has no stock of its own: a SKU with stock on hand cannot become a kit, and a kit
  is not bought (``cloud.purchasing.parse_lines``) nor adjusted up by hand
  (``cloud.stock.adjust``);
* a kit whose orders are at a station (allocated, tasked, intercepted: the station packs
  the components it was told) cannot change until they ship or are cancelled.

Changes are audited (``product.kit``, old → new) and sent to every station with the kit's
next catalog version (``SkuWire.components``): scanning a kit's own barcode at the pack
station counts its components (:meth:`edge.domain.packing.PackSession.count_kit`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.catalog import send_to_stations
from cloud.db import stock_balances
from cloud.db.schema import kit_components, skus
from cloud.db.schema_orders import order_lines, orders
from cloud.errors import InputError, Problem

MAX_COMPONENTS = 20
"""Most component rows one kit has (and the form offers)."""

MAX_UNITS = 1000
"""Most units of one component in one kit."""

BLANK_ROWS = 3
"""Empty component rows the form offers beyond the kit's own (pages work without JS)."""

PLACED_STATES = ("allocated", "tasked", "intercepted")
"""Order states whose warehouse and station were chosen by the kit's components
(``cloud.orders.reservations.PLACED_STATES``): a kit carried by such an order is frozen."""

Components = dict[str, list[tuple[str, int]]]
"""Kit SKU → [(component SKU, units per kit)], components in SKU order."""


def components(conn: Connection, codes: Iterable[str]) -> Components:
    """The kits among ``codes`` with their components (SKUs that are not kits are absent)."""
    wanted = sorted({c for c in codes if c})
    out: Components = {}
    if not wanted:
        return out
    k = kit_components.c
    for kit, comp, qty in conn.execute(sa.select(k.kit_sku, k.component_sku, k.qty).where(
            k.kit_sku.in_(wanted)).order_by(k.kit_sku, k.component_sku)):
        out.setdefault(kit, []).append((comp, int(qty)))
    return out


def explode(conn: Connection, need: Mapping[str, int]) -> dict[str, int]:
    """SKU → units with every kit replaced by its components × units (other SKUs kept)."""
    kits = components(conn, need)
    out: dict[str, int] = defaultdict(int)
    for sku, qty in need.items():
        if sku in kits:
            for comp, per in kits[sku]:
                out[comp] += per * qty
        else:
            out[sku] += qty
    return dict(out)


def explode_lines(conn: Connection, lines: list[tuple[str | None, int | None]]
                  ) -> list[list[tuple[str | None, int | None]]]:
    """Each (SKU, units) line as the lines a packer handles: a kit line becomes one line per
    component (units × per kit), any other line stays as it is."""
    kits = components(conn, [sku for sku, _q in lines if sku])
    return [[(comp, (qty or 0) * per) for comp, per in kits[sku]] if sku in kits
            else [(sku, qty)] for sku, qty in lines]


def kits_containing(conn: Connection, sku: str) -> list[tuple[str, int]]:
    """(kit SKU, units of ``sku`` per kit) of every kit that contains ``sku``."""
    k = kit_components.c
    return [(kit, int(qty)) for kit, qty in conn.execute(sa.select(k.kit_sku, k.qty).where(
        k.component_sku == sku).order_by(k.kit_sku))]


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a kit as the product page lists it."""

    sku: str
    qty: int
    """Units per kit."""
    name_zh: str


def kit_of(conn: Connection, kit_sku: str) -> list[Component]:
    """The components of ``kit_sku`` with their names (empty: not a kit)."""
    k = kit_components.c
    return [Component(r.component_sku, int(r.qty), r.name_zh) for r in conn.execute(
        sa.select(k.component_sku, k.qty, skus.c.name_zh)
        .join(skus, skus.c.sku == k.component_sku)
        .where(k.kit_sku == kit_sku).order_by(k.component_sku))]


@dataclass(slots=True)
class KitForm:
    """The kit form as typed: rows of (component SKU, units) text, so a refused form is
    shown again as it was sent. Fields ``comp_sku_<n>`` / ``comp_qty_<n>``, n from 1."""

    rows: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def read(cls, form: Mapping[str, Any]) -> KitForm:
        """The rows as posted (at most :data:`MAX_COMPONENTS`)."""
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls([(text(f"comp_sku_{n}"), text(f"comp_qty_{n}"))
                    for n in range(1, MAX_COMPONENTS + 1)])

    @classmethod
    def of(cls, parts: list[Component]) -> KitForm:
        """The form filled with a kit's components."""
        return cls([(c.sku, str(c.qty)) for c in parts])

    def shown(self) -> list[tuple[int, str, str]]:
        """(n, SKU, units) of the rows to draw: the filled ones and :data:`BLANK_ROWS` more
        (up to :data:`MAX_COMPONENTS`)."""
        last = max((n for n, (s, q) in enumerate(self.rows, start=1) if s or q), default=0)
        count = min(last + BLANK_ROWS, MAX_COMPONENTS)
        padded = self.rows + [("", "")] * (count - len(self.rows))
        return [(n, s, q) for n, (s, q) in enumerate(padded[:count], start=1)]


def _units(text: str, name: str, problems: list[Problem]) -> int | None:
    t = text.replace(",", "").strip()
    if not t.isdigit() or not 1 <= int(t) <= MAX_UNITS:
        problems.append(Problem(name, f"数量应为 1 到 {MAX_UNITS} 的整数: {text}",
                                f"units must be a whole number from 1 to {MAX_UNITS}: {text}"))
        return None
    return int(t)


def _describe(parts: Iterable[tuple[str, int]]) -> str:
    return " + ".join(f"{sku}×{qty}" for sku, qty in parts) or "-"


def check(conn: Connection, kit_sku: str, form: KitForm) -> list[tuple[str, int]]:
    """The components a form names, checked (module doc); raises :class:`InputError` with
    every problem."""
    problems: list[Problem] = []
    wanted: list[tuple[str, int]] = []
    seen: set[str] = set()
    typed = {s for s, _q in form.rows if s}
    known = set(conn.execute(sa.select(skus.c.sku).where(skus.c.sku.in_(sorted(typed))))
                .scalars()) if typed else set()
    nested = set(components(conn, typed))
    for n, (sku, qty_text) in enumerate(form.rows, start=1):
        if not sku and not qty_text:
            continue
        field_sku, field_qty = f"comp_sku_{n}", f"comp_qty_{n}"
        qty = _units(qty_text, field_qty, problems)
        if not sku:
            problems.append(Problem(field_sku, "请填写组件商品编码", "give the component's SKU"))
        elif sku == kit_sku:
            problems.append(Problem(field_sku, "组合商品不能包含自己",
                                    "a kit cannot contain itself"))
        elif sku not in known:
            problems.append(Problem(field_sku, f"商品 {sku} 不存在", f"there is no product {sku}"))
        elif sku in nested:
            problems.append(Problem(field_sku, f"{sku} 是组合商品, 组合商品不能包含组合商品",
                                    f"{sku} is a kit: a kit cannot contain a kit"))
        elif sku in seen:
            problems.append(Problem(field_sku, f"{sku} 重复, 请合并为一行",
                                    f"{sku} is named twice: give it one row"))
        elif qty is not None:
            wanted.append((sku, qty))
        if sku:
            seen.add(sku)
    if wanted or problems:
        inside = kits_containing(conn, kit_sku)
        if inside:
            problems.append(Problem("", f"{kit_sku} 是组合商品 {inside[0][0]} 的组件, "
                                        "不能再做成组合商品",
                                    f"{kit_sku} is a component of the kit {inside[0][0]}: "
                                    "it cannot become a kit"))
        on_hand = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(stock_balances.c.qty), 0))
                               .where(stock_balances.c.sku == kit_sku)).scalar_one()
        if int(on_hand) and kit_sku not in components(conn, [kit_sku]):
            problems.append(Problem("", f"{kit_sku} 有库存 {int(on_hand)} 件, 组合商品不能有自己的库存",
                                    f"{kit_sku} has {int(on_hand)} units in stock: a kit has "
                                    "no stock of its own"))
    if problems:
        raise InputError(problems)
    return sorted(wanted)


def placed_orders(conn: Connection, kit_sku: str) -> list[str]:
    """Orders at a station (:data:`PLACED_STATES`) with a line of ``kit_sku``."""
    o, ln = orders.c, order_lines.c
    return list(conn.execute(sa.select(o.id).distinct().join(
        order_lines, ln.order_id == o.id).where(
        ln.sku == kit_sku, o.state.in_(PLACED_STATES)).order_by(o.id)).scalars())


def open_orders(conn: Connection, kit_sku: str, states: Iterable[str]) -> list[str]:
    """Orders in ``states`` with a line of ``kit_sku`` (their reservations follow a change)."""
    o, ln = orders.c, order_lines.c
    return list(conn.execute(sa.select(o.id).distinct().join(
        order_lines, ln.order_id == o.id).where(
        ln.sku == kit_sku, o.state.in_(list(states))).order_by(o.id)).scalars())


def save(conn: Connection, kit_sku: str, form: KitForm, *, actor: str,
         now: datetime) -> bool:
    """Set the components of ``kit_sku`` from a form (no rows: it is no longer a kit);
    returns whether anything changed. Raises :class:`InputError` (nothing written) on bad
    input, an unknown product, or a kit whose orders are at a station."""
    if conn.execute(sa.select(skus.c.sku).where(skus.c.sku == kit_sku)).first() is None:
        raise InputError([Problem("", f"商品 {kit_sku} 不存在", f"there is no product {kit_sku}")])
    wanted = check(conn, kit_sku, form)
    before = components(conn, [kit_sku]).get(kit_sku, [])
    if wanted == before:
        return False
    busy = placed_orders(conn, kit_sku)
    if busy:
        raise InputError([Problem(
            "", f"{len(busy)} 个含此组合商品的订单已分配到工作站 (如 {busy[0]}), 发货或取消后再修改",
            f"{len(busy)} orders with this kit are at a station (e.g. {busy[0]}): change it "
            "after they ship or are cancelled")])
    conn.execute(sa.delete(kit_components).where(kit_components.c.kit_sku == kit_sku))
    if wanted:
        conn.execute(sa.insert(kit_components), [
            {"kit_sku": kit_sku, "component_sku": sku, "qty": qty} for sku, qty in wanted])
    audit.record(conn, now, actor, "product.kit", kit_sku,
                 {"components": f"{_describe(before)} → {_describe(wanted)}"})
    # one more catalog version, so the stations take the kit's new components
    conn.execute(skus.update().where(skus.c.sku == kit_sku).values(
        catalog_version=skus.c.catalog_version + 1))
    send_to_stations(conn, [kit_sku], now=now)
    return True
