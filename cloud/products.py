"""Products (商品): search the catalog, read one product, create or edit it.

Plain functions on a ``Connection`` in the caller's transaction, with ``now`` and the actor
passed in; used by the web app's 商品 pages. An edit is checked as a one-row catalog file by
the import's own parser (:func:`edge.domain.catalog.parse_records`, plus the cloud's limits
in :func:`cloud.catalog.range_errors`), so the form accepts exactly what an import accepts;
what the file has no column for — selling price, category, tags, safety stock per
warehouse, active — is checked here. Every problem is collected and named by its form
field (:class:`~cloud.errors.InputError`); nothing is written unless there is none.

Cost and price changes go to the audit log as old → new (``product.cost``,
``product.price``); creating a product is ``product.create``, other changes
``product.update`` with the fields changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.catalog import (
    MAX_FEN,
    range_errors,
    record_money_change,
    send_to_stations,
    upsert_skus,
    yuan,
)
from cloud.db.schema import sku_barcodes, sku_safety_stock, sku_tags, skus, warehouses
from cloud.errors import InputError, Problem
from edge.domain import catalog
from edge.domain.money import YuanError, yuan_to_fen

MAX_TAGS = 20
"""Most tags one product has."""

MAX_TAG_LENGTH = 32
"""Longest tag (``sku_tags.tag``)."""

MAX_CATEGORY_LENGTH = 64
"""Longest category (``skus.category``)."""

MAX_SAFETY_STOCK = 10_000_000
"""Largest safety stock (units)."""

FILE_FIELDS: tuple[tuple[str, str], ...] = (
    ("sku", "sku"), ("name_zh", "name_zh"), ("name_en", "name_en"), ("spec", "spec"),
    ("unit_weight_g", "unit_weight_g"), ("length_mm", "length_mm"), ("width_mm", "width_mm"),
    ("height_mm", "height_mm"), ("cost", "cost"), ("barcodes", "barcodes"),
    ("case_barcodes", "case_barcodes"),
)
"""Form field → catalog field, for the fields a catalog file also has."""

FORM_FIELDS: tuple[str, ...] = (*(f for f, _ in FILE_FIELDS), "price", "category", "tags")
"""The text fields of the product form (besides ``active`` and safety stock)."""

_TAG_SPLIT = re.compile(r"[,，;；、\n]+")
_CODE_SPLIT = re.compile(r"[,;/、，；\s]+")


@dataclass(frozen=True, slots=True)
class ProductRow:
    """A product in the list."""

    sku: str
    name_zh: str
    name_en: str | None
    spec: str | None
    category: str | None
    tags: tuple[str, ...]
    barcodes: tuple[tuple[str, int], ...]
    """(code, units per scan), item barcodes first."""
    unit_weight_g: int | None
    cost_fen: int | None
    price_fen: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class Product:
    """One product with everything the form edits."""

    sku: str
    name_zh: str
    name_en: str | None
    spec: str | None
    unit_weight_g: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    cost_fen: int | None
    price_fen: int | None
    category: str | None
    active: bool
    image_path: str | None
    tags: tuple[str, ...]
    barcodes: tuple[tuple[str, int], ...]
    safety: dict[str, int]
    """Warehouse → safety stock (only the warehouses that have one)."""


def _like(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    return column.icontains(text, autoescape=True)


def _search_query(q: str | None, category: str | None, tag: str | None) -> sa.Select[Any]:
    query = sa.select(skus)
    if q:
        query = query.where(sa.or_(
            _like(skus.c.sku, q), _like(skus.c.name_zh, q), _like(skus.c.name_en, q),
            sa.exists().where(sku_barcodes.c.sku == skus.c.sku, _like(sku_barcodes.c.barcode, q))))
    if category:
        query = query.where(skus.c.category == category)
    if tag:
        query = query.where(sa.exists().where(sku_tags.c.sku == skus.c.sku, sku_tags.c.tag == tag))
    return query


def search(conn: Connection, q: str | None = None, *, category: str | None = None,
           tag: str | None = None, limit: int = 50, offset: int = 0) -> list[ProductRow]:
    """Products whose SKU, name or a barcode contains ``q`` (any case), in ``category`` and
    with ``tag`` when given, by SKU."""
    rows = conn.execute(_search_query(q, category, tag).order_by(skus.c.sku)
                        .limit(limit).offset(offset)).mappings().all()
    codes = [r["sku"] for r in rows]
    tags, barcodes = _tags_of(conn, codes), _barcodes_of(conn, codes)
    return [ProductRow(
        r["sku"], r["name_zh"], r["name_en"], r["spec"], r["category"], tags.get(r["sku"], ()),
        barcodes.get(r["sku"], ()), r["unit_weight_g"], r["cost_fen"], r["price_fen"],
        bool(r["active"])) for r in rows]


def _tags_of(conn: Connection, codes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    if codes:
        for sku, tag in conn.execute(sa.select(sku_tags.c.sku, sku_tags.c.tag).where(
                sku_tags.c.sku.in_(codes)).order_by(sku_tags.c.sku, sku_tags.c.tag)):
            out.setdefault(sku, []).append(tag)
    return {k: tuple(v) for k, v in out.items()}


def _barcodes_of(conn: Connection, codes: Sequence[str]) -> dict[str, tuple[tuple[str, int], ...]]:
    out: dict[str, list[tuple[str, int]]] = {}
    if codes:
        b = sku_barcodes.c
        for sku, code, units in conn.execute(sa.select(b.sku, b.barcode, b.units_per_scan).where(
                b.sku.in_(codes)).order_by(b.sku, b.units_per_scan, b.barcode)):
            out.setdefault(sku, []).append((code, int(units)))
    return {k: tuple(v) for k, v in out.items()}


def categories(conn: Connection) -> list[str]:
    """Every category in use, sorted (for the filter)."""
    return list(conn.execute(sa.select(skus.c.category).distinct().where(
        skus.c.category.is_not(None)).order_by(skus.c.category)).scalars())


def tags(conn: Connection) -> list[str]:
    """Every tag in use, sorted (for the filter)."""
    return list(conn.execute(sa.select(sku_tags.c.tag).distinct().order_by(sku_tags.c.tag))
                .scalars())


def get(conn: Connection, sku: str) -> Product | None:
    """The product ``sku``, or ``None``."""
    r = conn.execute(sa.select(skus).where(skus.c.sku == sku)).mappings().first()
    if r is None:
        return None
    safety = {wh: int(qty) for wh, qty in conn.execute(
        sa.select(sku_safety_stock.c.warehouse_id, sku_safety_stock.c.qty).where(
            sku_safety_stock.c.sku == sku))}
    return Product(
        sku=r["sku"], name_zh=r["name_zh"], name_en=r["name_en"], spec=r["spec"],
        unit_weight_g=r["unit_weight_g"], length_mm=r["length_mm"], width_mm=r["width_mm"],
        height_mm=r["height_mm"], cost_fen=r["cost_fen"], price_fen=r["price_fen"],
        category=r["category"], active=bool(r["active"]), image_path=r["image_path"],
        tags=_tags_of(conn, [sku]).get(sku, ()), barcodes=_barcodes_of(conn, [sku]).get(sku, ()),
        safety=safety)


@dataclass(slots=True)
class ProductForm:
    """What the product form holds, as typed (strings), so a refused form is shown again as
    it was sent."""

    values: dict[str, str] = field(default_factory=dict)
    """:data:`FORM_FIELDS` → text."""
    active: bool = True
    safety: dict[str, str] = field(default_factory=dict)
    """Warehouse → safety stock as typed (blank = none)."""

    def get(self, name: str) -> str:
        """The text of a field (``""`` when absent)."""
        return self.values.get(name, "")

    @classmethod
    def read(cls, form: Mapping[str, Any], warehouse_ids: Sequence[str]) -> ProductForm:
        """The form as posted (``safety:<warehouse>`` fields, an ``active`` checkbox)."""
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(values={f: text(f) for f in FORM_FIELDS}, active=form.get("active") == "1",
                   safety={wh: text(f"safety:{wh}") for wh in warehouse_ids})

    @classmethod
    def of(cls, p: Product) -> ProductForm:
        """The form filled with a stored product."""
        def num(value: int | None) -> str:
            return "" if value is None else str(value)

        singles = [code for code, units in p.barcodes if units == 1]
        cases = [f"{code}*{units}" for code, units in p.barcodes if units != 1]
        return cls(values={
            "sku": p.sku, "name_zh": p.name_zh, "name_en": p.name_en or "", "spec": p.spec or "",
            "unit_weight_g": num(p.unit_weight_g), "length_mm": num(p.length_mm),
            "width_mm": num(p.width_mm), "height_mm": num(p.height_mm), "cost": yuan(p.cost_fen),
            "price": yuan(p.price_fen), "category": p.category or "", "tags": ", ".join(p.tags),
            "barcodes": ", ".join(singles), "case_barcodes": ", ".join(cases)},
            active=p.active, safety={wh: str(q) for wh, q in p.safety.items()})


def _split(message: str) -> tuple[str, str]:
    zh, sep, en = message.partition(" / ")
    return (zh, en) if sep else (message, message)


def money_fen(text: str, name: str, label_zh: str, label_en: str,
              problems: list[Problem]) -> int | None:
    """Yuan as typed (``12.5``, ``¥1,299``) → fen; blank → ``None``; problems appended
    (``edge.domain.money.yuan_to_fen``, as the catalog import reads it)."""
    try:
        fen = yuan_to_fen(text)
    except YuanError as err:
        problems.append(Problem(name, f"{label_zh}{err.zh}: {text}", f"{label_en} {err.en}: {text}"))
        return None
    if fen is None:
        return None
    if fen > MAX_FEN:
        problems.append(Problem(name, f"{label_zh}超出范围 (最多 {yuan(MAX_FEN)} 元): {text}",
                                f"{label_en} out of range ({yuan(MAX_FEN)} yuan at most): {text}"))
        return None
    return fen


def whole_number(text: str, name: str, label_zh: str, label_en: str, lo: int, hi: int,
                 problems: list[Problem]) -> int | None:
    """A whole number between ``lo`` and ``hi`` as typed; blank → ``None``; problems appended."""
    t = text.replace(",", "").strip()
    if not t:
        return None
    if not re.fullmatch(r"[+-]?\d{1,12}", t):
        problems.append(Problem(name, f"{label_zh}必须是整数: {text}", f"{label_en} must be a whole number: {text}"))
        return None
    value = int(t)
    if not lo <= value <= hi:
        problems.append(Problem(name, f"{label_zh}应在 {lo} 到 {hi:,} 之间: {text}",
                                f"{label_en} must be between {lo} and {hi:,}: {text}"))
        return None
    return value


def _tags(text: str, problems: list[Problem]) -> list[str]:
    out: list[str] = []
    for raw in _TAG_SPLIT.split(text):
        tag = " ".join(raw.split())
        if not tag or tag in out:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            problems.append(Problem("tags", f"标签太长 (最多 {MAX_TAG_LENGTH} 个字): {tag}",
                                    f"tag too long ({MAX_TAG_LENGTH} characters at most): {tag}"))
            continue
        out.append(tag)
    if len(out) > MAX_TAGS:
        problems.append(Problem("tags", f"标签太多 (最多 {MAX_TAGS} 个)",
                                f"too many tags ({MAX_TAGS} at most)"))
    return out


def _owners(conn: Connection, form: ProductForm) -> dict[str, str]:
    """Owners of the barcodes the form may name (every token, with or without ``*N``)."""
    tokens = {t.split("*")[0].strip() for f in ("barcodes", "case_barcodes")
              for t in _CODE_SPLIT.split(form.get(f)) if t}
    tokens.discard("")
    if not tokens:
        return {}
    return {b: s for b, s in conn.execute(sa.select(sku_barcodes.c.barcode, sku_barcodes.c.sku)
                                          .where(sku_barcodes.c.barcode.in_(sorted(tokens))))}


def _check(conn: Connection, form: ProductForm, sku: str | None) -> tuple[
        dict[str, Any], list[str], dict[str, int], list[Problem]]:
    """(store row, tags, safety stock, problems) of a form; ``sku`` is the product edited
    (``None`` when creating)."""
    problems: list[Problem] = []
    values = dict(form.values)
    if sku is not None:
        values["sku"] = sku
    headers = dict(catalog.COLUMNS)
    field_of = {headers[c]: f for f, c in FILE_FIELDS}
    result = catalog.parse_records(
        [headers[c] for _f, c in FILE_FIELDS],
        [(2, [values.get(f, "") for f, _c in FILE_FIELDS])],
        existing_barcodes=_owners(conn, form))
    errors = list(result.errors) + [e for r in result.rows for e in range_errors(r)]
    for e in errors:
        zh, en = _split(e.message)
        problems.append(Problem(field_of.get(e.column, ""), zh, en))
    price = money_fen(form.get("price"), "price", "售价", "price", problems)
    category = " ".join(form.get("category").split())
    if len(category) > MAX_CATEGORY_LENGTH:
        problems.append(Problem("category", f"分类太长 (最多 {MAX_CATEGORY_LENGTH} 个字)",
                                f"category too long ({MAX_CATEGORY_LENGTH} characters at most)"))
    tag_list = _tags(form.get("tags"), problems)
    known = set(conn.execute(sa.select(warehouses.c.id)).scalars())
    safety: dict[str, int] = {}
    for wh, text in form.safety.items():
        name = f"safety:{wh}"
        if wh not in known:
            problems.append(Problem(name, f"未知仓库: {wh}", f"unknown warehouse: {wh}"))
            continue
        qty = whole_number(text, name, "安全库存", "safety stock", 0, MAX_SAFETY_STOCK, problems)
        if qty is not None:
            safety[wh] = qty
    if sku is None and values.get("sku") and conn.execute(
            sa.select(skus.c.sku).where(skus.c.sku == values["sku"])).first():
        problems.append(Problem("sku", f"商品编码 {values['sku']} 已存在",
                                f"SKU {values['sku']} already exists"))
    if problems or not result.rows:
        return {}, [], {}, problems
    row = result.rows[0].to_store_row()
    row.update(price_fen=price, category=category or None, active=form.active)
    return row, tag_list, safety, problems


def save(conn: Connection, form: ProductForm, *, sku: str | None, actor: str,
         now: datetime) -> str:
    """Create a product (``sku`` ``None``: the form names it) or edit ``sku``; returns the
    SKU. Raises :class:`InputError` with every problem and writes nothing then."""
    if sku is not None:  # hold the row (PostgreSQL) so old → new is what this edit replaced
        conn.execute(sa.select(skus.c.sku).where(skus.c.sku == sku).with_for_update())
    before = get(conn, sku) if sku is not None else None
    if sku is not None and before is None:
        raise InputError([Problem("", f"商品 {sku} 不存在", f"there is no product {sku}")])
    row, tag_list, safety, problems = _check(conn, form, sku)
    if problems:
        raise InputError(problems)
    code: str = row["sku"]
    upsert_skus(conn, [row])
    send_to_stations(conn, [row["sku"]], now=now)
    conn.execute(sku_tags.delete().where(sku_tags.c.sku == code))
    if tag_list:
        conn.execute(sku_tags.insert(), [{"sku": code, "tag": t} for t in tag_list])
    conn.execute(sku_safety_stock.delete().where(sku_safety_stock.c.sku == code))
    if safety:
        conn.execute(sku_safety_stock.insert(), [
            {"sku": code, "warehouse_id": wh, "qty": q} for wh, q in sorted(safety.items())])
    after = get(conn, code)
    assert after is not None
    record_money_change(conn, now, actor, code, "cost", before.cost_fen if before else None,
                        after.cost_fen, "web")
    record_money_change(conn, now, actor, code, "price", before.price_fen if before else None,
                        after.price_fen, "web")
    if before is None:
        audit.record(conn, now, actor, "product.create", code, {"name": after.name_zh})
    else:
        changed = [f for f in _COMPARED
                   if _blank_is_none(getattr(before, f)) != _blank_is_none(getattr(after, f))]
        if changed:
            audit.record(conn, now, actor, "product.update", code, {"fields": ", ".join(changed)})
    return code


_COMPARED = ("name_zh", "name_en", "spec", "unit_weight_g", "length_mm", "width_mm", "height_mm",
             "category", "active", "tags", "barcodes", "safety")
"""Fields whose change ``product.update`` lists (cost and price have entries of their own)."""


def _blank_is_none(value: object) -> object:
    """``None``, ``""``, ``0`` and empty collections compare as one "not set"."""
    return value if value or value is False else None
