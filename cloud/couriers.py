"""Courier e-waybill accounts per shop: subscriptions, templates and the chosen sender.

:func:`refresh` asks the shop's platform for its courier subscriptions (branch, balance,
sender addresses: ``pdd.waybill.search`` / ``cainiao.waybill.ii.search``) and the standard
templates of the subscribed couriers (``pdd.cloudprint.stdtemplates.get`` /
``cainiao.cloudprint.stdtemplates.get``, docs/specs/marketplaces.md §1.7.8) and replaces
what was stored. The manager then chooses, per shop and courier, one branch sender
address and one template (:func:`choose`, audited); :func:`waybill_sender` gives waybill
requests that address (with the shop's sender name and phone) and the template URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cloud import audit
from cloud.crypto import Sealer
from cloud.db import shops, write_transaction
from cloud.db.schema_couriers import courier_accounts, courier_choices, courier_templates
from cloud.db.schema_orders import shop_config
from cloud.errors import InputError, Problem
from cloud.marketplaces.base import BranchAccount, MarketplaceClient, StandardTemplate
from cloud.marketplaces.errors import MarketplaceError
from cloud.shops import ShopError, open_client

CARRIER_NAMES: dict[str, str] = {
    "ZTO": "中通快递", "YTO": "圆通速递", "STO": "申通快递", "YUNDA": "韵达快递",
    "SF": "顺丰速运", "EMS": "邮政EMS", "JD": "京东快递", "HT": "百世快递",
    "DB": "德邦快递", "YZXB": "邮政快递包裹", "JTSD": "极兔速递", "ZJS": "宅急送快递",
}
"""Chinese courier names by carrier code (printed on the label)."""
CUSTOM_AREA_URL_MAX = 500
"""Longest custom-area template URL kept (the column's width)."""


@dataclass(frozen=True)
class Choice:
    """The sender address and template chosen for one shop and courier."""

    carrier_code: str
    """Carrier code."""
    branch_code: str
    """Branch whose address it is."""
    address: dict[str, str]
    """{province, city, district, detail}."""
    template_id: str
    """Chosen template id."""
    template_url: str
    """Its URL (``template_url`` of waybill requests)."""
    chosen_by: str
    """Who chose it."""
    chosen_at: datetime
    """When."""
    custom_area_url: str = ""
    """The custom area's cloud-print template (empty: no custom area)."""


def carrier_name(code: str) -> str:
    """The courier's Chinese name, or the code itself when it is not known."""
    return CARRIER_NAMES.get(code, code)


async def refresh(engine: Engine, shop_id: str, client: MarketplaceClient, *,
                  now: datetime) -> tuple[list[BranchAccount], list[StandardTemplate]]:
    """Fetch the shop's subscriptions and its subscribed couriers' templates and replace
    the stored ones in one transaction. Choices stay (they hold their own copies)."""
    accounts = await client.waybill_accounts()
    templates: list[StandardTemplate] = []
    for code in sorted({a.carrier for a in accounts}):
        templates += await client.standard_templates(code)
    with write_transaction(engine) as conn:
        conn.execute(sa.delete(courier_accounts).where(courier_accounts.c.shop_id == shop_id))
        conn.execute(sa.delete(courier_templates).where(courier_templates.c.shop_id == shop_id))
        seen: set[tuple[str, str]] = set()
        for a in accounts:
            if (a.carrier, a.branch_code) in seen:
                continue
            seen.add((a.carrier, a.branch_code))
            conn.execute(sa.insert(courier_accounts).values(
                shop_id=shop_id, carrier_code=a.carrier, branch_code=a.branch_code,
                branch_name=a.branch_name, quantity=a.quantity, allocated=a.allocated,
                cancelled=a.cancelled, recycled=a.recycled, fetched_at=now,
                addresses=[{"province": x.province, "city": x.city, "district": x.district,
                            "detail": x.detail} for x in a.addresses]))
        for t in {(t.carrier, t.template_id): t for t in templates}.values():
            conn.execute(sa.insert(courier_templates).values(
                shop_id=shop_id, carrier_code=t.carrier, template_id=t.template_id,
                name=t.name, url=t.url, waybill_type=t.waybill_type, fetched_at=now))
    return accounts, templates


async def refresh_shop(engine: Engine, sealer: Sealer, shop_id: str, *,
                       http: httpx.AsyncClient, now: datetime) -> tuple[int, int]:
    """:func:`refresh` through the shop's own client: (branch accounts, templates) stored.
    An unusable shop or a platform refusal raises :class:`InputError` (nothing changed)."""
    try:
        sc = open_client(engine, sealer, shop_id, http=http)
        accounts, templates = await refresh(engine, shop_id, sc.client, now=now)
    except ShopError as err:
        raise InputError([Problem("", f"店铺不可用: {err}", f"shop not usable: {err}")]) from err
    except MarketplaceError as err:
        raise InputError([Problem("", f"平台未接受: {err}",
                                  f"the platform refused: {err}")]) from err
    return len(accounts), len(templates)


def shop_list(conn: Connection) -> Sequence[Any]:
    """Every shop with its waybill courier (``carrier_code``; None before it is set up)."""
    return conn.execute(sa.select(shops.c.id, shops.c.name, shops.c.platform,
                                  shop_config.c.carrier_code)
                        .select_from(shops.outerjoin(shop_config,
                                                     shop_config.c.shop_id == shops.c.id))
                        .order_by(shops.c.id)).all()


def accounts_of(conn: Connection, shop_id: str) -> Sequence[Any]:
    """The shop's stored branch accounts, by courier then branch."""
    c = courier_accounts.c
    return conn.execute(sa.select(courier_accounts).where(c.shop_id == shop_id)
                        .order_by(c.carrier_code, c.branch_code)).all()


def templates_of(conn: Connection, shop_id: str) -> Sequence[Any]:
    """The shop's stored templates, by courier then id."""
    c = courier_templates.c
    return conn.execute(sa.select(courier_templates).where(c.shop_id == shop_id)
                        .order_by(c.carrier_code, c.template_id)).all()


def choice_of(conn: Connection, shop_id: str, carrier_code: str) -> Choice | None:
    """The choice for the shop and courier, or None."""
    c = courier_choices.c
    row = conn.execute(sa.select(courier_choices).where(
        c.shop_id == shop_id, c.carrier_code == carrier_code)).first()
    if row is None:
        return None
    return Choice(carrier_code=row.carrier_code, branch_code=row.branch_code,
                  address={"province": row.province, "city": row.city,
                           "district": row.district, "detail": row.detail},
                  template_id=row.template_id, template_url=row.template_url,
                  chosen_by=row.chosen_by, chosen_at=row.chosen_at,
                  custom_area_url=row.custom_area_url or "")


def choose(conn: Connection, shop_id: str, carrier_code: str, *, branch_code: str,
           address_index: int, template_id: str, actor: str, now: datetime,
           custom_area_url: str = "") -> Choice:
    """Record the manager's sender address (``address_index`` into the branch's stored
    addresses) and template for the shop and courier, with an audit entry. Raises
    :class:`InputError` (nothing written, problems on ``address`` / ``template``) for a
    branch, address or template the shop's stored accounts do not have."""
    a, t = courier_accounts.c, courier_templates.c
    branch = conn.execute(sa.select(courier_accounts).where(
        a.shop_id == shop_id, a.carrier_code == carrier_code,
        a.branch_code == branch_code)).first()
    addresses = list(branch.addresses or []) if branch is not None else []
    template = conn.execute(sa.select(courier_templates).where(
        t.shop_id == shop_id, t.carrier_code == carrier_code,
        t.template_id == template_id)).first()
    problems = []
    if not 0 <= address_index < len(addresses):
        problems.append(Problem("address", "请选择该快递网点的发件地址",
                                "choose a sender address of this courier's branches"))
    if template is None:
        problems.append(Problem("template", "请选择该快递的模板",
                                "choose a template of this courier"))
    if custom_area_url and (not custom_area_url.startswith(("http://", "https://"))
                            or len(custom_area_url) > CUSTOM_AREA_URL_MAX):
        problems.append(Problem("custom_area_url", "自定义区模板应为 http(s) 网址",
                                "the custom area template must be an http(s) URL"))
    if problems or template is None:
        raise InputError(problems)
    addr = {k: str(addresses[address_index].get(k, ""))
            for k in ("province", "city", "district", "detail")}
    values = dict(branch_code=branch_code, template_id=template_id, template_url=template.url,
                  custom_area_url=custom_area_url, chosen_by=actor, chosen_at=now, **addr)
    c = courier_choices.c
    done = conn.execute(sa.update(courier_choices).where(
        c.shop_id == shop_id, c.carrier_code == carrier_code).values(**values)).rowcount
    if not done:
        conn.execute(sa.insert(courier_choices).values(
            shop_id=shop_id, carrier_code=carrier_code, **values))
    audit.record(conn, now, actor, "courier.choose", f"{shop_id}/{carrier_code}",
                 {"branch_code": branch_code, "template_id": template_id,
                  "custom_area_url": custom_area_url, **addr})
    return Choice(carrier_code, branch_code, addr, template_id, template.url, actor, now,
                  custom_area_url)


def waybill_sender(conn: Connection, shop_id: str, carrier_code: str,
                   sender: dict[str, str]) -> tuple[dict[str, str], str]:
    """The sender for the shop's waybills of ``carrier_code`` and the template URL: the
    chosen address with the shop's sender name and mobile; without a choice, the shop's
    sender as it is and no template URL."""
    choice = choice_of(conn, shop_id, carrier_code)
    if choice is None:
        return dict(sender), ""
    return {"name": sender.get("name", ""), "mobile": sender.get("mobile", ""),
            **choice.address}, choice.template_url


def one_line(sender: dict[str, str]) -> str:
    """Province, city, district and street as one line (the label's sender address)."""
    return "".join(sender.get(k, "") for k in ("province", "city", "district", "detail"))
