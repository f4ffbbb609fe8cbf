"""Every route × every role against the permission matrix; anonymous users are sent to sign in.

The routes are read from the app's router, so a route added without ``@requires`` or
``@public`` fails here, and one added with a permission is walked for every role.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from cloud.db.schema import audit_log, skus
from cloud.db.schema_orders import sku_mappings
from cloud.web.permissions import MATRIX, PUBLIC, Permission, access_of
from edge.domain.models import Role
from tests.cloud.web.support import add_users, login, seed_data, token, username

EXPECTED_PUBLIC = {
    ("GET", "/login"), ("POST", "/login"), ("GET", "/login/totp"), ("POST", "/login/totp"),
    ("POST", "/logout"), ("POST", "/lang"), ("GET", "/static/vendor/{name}"), ("MOUNT", "/static"),
}
"""Endpoints anyone may call; anything else must name a permission."""

P, R = Permission, Role
INTENDED: dict[Permission, set[Role]] = {
    P.DASHBOARD_VIEW: set(Role),
    P.ACCOUNT_SELF: set(Role),
    P.STOCK_VIEW: {R.WAREHOUSE_LEAD, R.PURCHASER, R.FINANCE, R.MANAGER, R.ADMIN},
    P.STOCK_ADJUST: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.STOCKTAKES_VIEW: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.ALERTS_CLOSE: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.STATIONS_VIEW: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.HANDOVERS_VIEW: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.ORDERS_VIEW: {R.WAREHOUSE_LEAD, R.FINANCE, R.MANAGER, R.ADMIN},
    P.ORDERS_REVIEW: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.ORDERS_EXPORT: {R.FINANCE, R.MANAGER, R.ADMIN},
    P.PROMOTIONS_EDIT: {R.MANAGER, R.ADMIN},
    P.REVIEW_RULES_EDIT: {R.MANAGER, R.ADMIN},
    P.SHOPS_VIEW: {R.MANAGER, R.ADMIN},
    P.SHOPS_AUTHORIZE: {R.MANAGER, R.ADMIN},
    P.PRODUCTS_VIEW: {R.WAREHOUSE_LEAD, R.PURCHASER, R.FINANCE, R.MANAGER, R.ADMIN},
    P.PRODUCTS_EDIT: {R.PURCHASER, R.MANAGER, R.ADMIN},
    P.PURCHASING_VIEW: {R.WAREHOUSE_LEAD, R.PURCHASER, R.FINANCE, R.MANAGER, R.ADMIN},
    P.PURCHASING_EDIT: {R.PURCHASER, R.MANAGER, R.ADMIN},
    P.PURCHASING_APPROVE: {R.MANAGER, R.ADMIN},
    P.TRANSFERS_VIEW: {R.WAREHOUSE_LEAD, R.PURCHASER, R.FINANCE, R.MANAGER, R.ADMIN},
    P.TRANSFERS_EDIT: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.WAVES: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.DESK: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.PAYABLES_VIEW: {R.PURCHASER, R.FINANCE, R.MANAGER, R.ADMIN},
    P.PAYMENTS_RECORD: {R.FINANCE, R.MANAGER, R.ADMIN},
    P.COURIER_VIEW: {R.FINANCE, R.MANAGER, R.ADMIN},
    P.REPORTS_VIEW: {R.FINANCE, R.MANAGER, R.ADMIN},
    P.COURIER_RATES_EDIT: {R.FINANCE, R.MANAGER, R.ADMIN},
    P.COURIER_ACCOUNTS: {R.MANAGER, R.ADMIN},
    P.USERS_MANAGE: {R.ADMIN},
    P.OPERATORS_MANAGE: {R.WAREHOUSE_LEAD, R.MANAGER, R.ADMIN},
    P.AUDIT_VIEW: {R.ADMIN},
}
"""Who may do what, written out by hand from the issue's roles (packers work at the kiosk)."""


def endpoints(app: Starlette) -> list[tuple[str, str, object]]:
    """(method, path, access) of every route and mount of the app."""
    found: list[tuple[str, str, object]] = []
    for route in app.routes:
        if isinstance(route, Mount):
            found.append(("MOUNT", route.path, access_of(route.app)))
        elif isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                found.append((method, route.path, access_of(route.endpoint)))
        else:
            pytest.fail(f"unexpected route type {route!r}")
    return found


def test_the_matrix_is_the_intended_one() -> None:
    assert {p: set(roles) for p, roles in MATRIX.items()} == INTENDED


def test_every_route_declares_its_access(app: Starlette) -> None:
    found = endpoints(app)
    undeclared = [(m, p) for m, p, access in found if access is None]
    assert not undeclared, f"routes without @requires or @public: {undeclared}"
    assert {(m, p) for m, p, access in found if access == PUBLIC} == EXPECTED_PUBLIC
    assert len(found) > len(EXPECTED_PUBLIC)


def test_the_profit_report_and_the_fee_rate_are_guarded(app: Starlette) -> None:
    """The profit report and its exports are for those who read reports; a shop's platform
    fee rate is set by those who run the shops (the walk below checks each role)."""
    found = {(m, p): access for m, p, access in endpoints(app)}
    for path in ("/reports/profit", "/reports/profit.xlsx", "/reports/profit.csv",
                 "/reports/profit.pdf"):
        assert found[("GET", path)] is P.REPORTS_VIEW, path
    assert found[("POST", "/shops/{shop_id}/fee")] is P.SHOPS_AUTHORIZE


NOT_FOUND_JSON = {"/exports/{job_id}.json"}
"""JSON endpoints that answer an unknown id with 404 (a page would redirect)."""


def _url(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", quote(value))
    assert "{" not in path, f"no test value for a parameter of {path}"
    return path


async def test_every_route_for_every_role(app: Starlette, client: httpx.AsyncClient,
                                          cloud_engine: Engine) -> None:
    made = add_users(cloud_engine)
    seed_data(cloud_engine)
    ids = {"user_id": made[Role.PACKER].id, "name": "htmx.min.js", "sku:path": "SKU-1",
           "mapping_id:int": "1", "msg_id": "no-such-alert",
           "operator_id": "no-such-operator", "order_id": "pdd-1002", "action": "hold",
           "po_id": "PO-NONE", "supplier_id": "NO-SUCH", "promotion_id:int": "1",
           "shop_id": "shop-pdd", "transfer_id": "TR-NONE",
           "stocktake_id": "PD-NONE", "plan_id": "PDP-NONE", "wave_id": "WV-NONE",
           "job_id": "no-such-export"}
    guarded = [(m, p, a) for m, p, a in endpoints(app) if isinstance(a, Permission)]
    assert {a for _m, _p, a in guarded} == set(Permission)  # every permission guards a route
    checked = 0
    for role in Role:
        client.cookies.clear()
        assert (await login(client, username(role))).status_code == 303
        csrf = await token(client, "/account")
        for method, path, permission in guarded:
            url = _url(path, ids)
            if method == "GET":
                r = await client.get(url)
            else:  # an empty form: allowed roles get a validation answer, never a change
                r = await client.request(method, url, data={"csrf_token": csrf})
            allowed = role in INTENDED[permission]
            assert (r.status_code != 403) == allowed, f"{role} {method} {path}: {r.status_code}"
            if allowed:
                answers = (200, 303, 400, *((404,) if path in NOT_FOUND_JSON else ()))
                assert r.status_code in answers, f"{role} {method} {path}: {r.status_code}"
                assert not r.headers.get("location", "").startswith("/login")
            else:
                assert "无权访问" in r.text
            checked += 1
    assert checked == len(guarded) * len(Role)
    with cloud_engine.begin() as conn:
        from cloud.web import accounts

        assert accounts.get_user(conn, made[Role.PACKER].id).role is Role.PACKER  # type: ignore[union-attr]
        # the empty forms changed no product and no mapping, and wrote no audit entry for them
        assert conn.execute(sa.select(skus.c.name_zh).where(skus.c.sku == "SKU-1")).scalar() == "保温杯 500ml"
        assert conn.execute(sa.select(sku_mappings.c.push_stock, sku_mappings.c.buffer_units)
                            .where(sku_mappings.c.id == 1)).one() == (True, 2)
        assert not conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.action.like("product.%") | audit_log.c.action.like("mapping.%")
            | (audit_log.c.action == "catalog.import") | (audit_log.c.action == "stock.adjust")
            | (audit_log.c.action == "alert.done") | audit_log.c.action.like("operator.%")
            | audit_log.c.action.like("po.%") | audit_log.c.action.like("supplier.%")
            | audit_log.c.action.like("payment.%") | audit_log.c.action.like("courier_%")
            | audit_log.c.action.like("promotion.%") | audit_log.c.action.like("review_rules.%")
            | audit_log.c.action.like("transfer.%") | audit_log.c.action.like("shop.%")
            | audit_log.c.action.like("wave.%"))).all()


async def test_anonymous_requests_go_to_sign_in(app: Starlette, client: httpx.AsyncClient,
                                                cloud_engine: Engine) -> None:
    made = add_users(cloud_engine)
    ids = {"user_id": made[Role.PACKER].id, "name": "htmx.min.js", "sku:path": "SKU-1",
           "mapping_id:int": "1", "msg_id": "no-such-alert",
           "operator_id": "no-such-operator", "order_id": "pdd-1002", "action": "hold",
           "po_id": "PO-NONE", "supplier_id": "NO-SUCH", "promotion_id:int": "1",
           "shop_id": "shop-pdd", "transfer_id": "TR-NONE",
           "stocktake_id": "PD-NONE", "plan_id": "PDP-NONE", "wave_id": "WV-NONE",
           "job_id": "no-such-export"}
    csrf = await token(client)
    for method, path, access in endpoints(app):
        if not isinstance(access, Permission):
            continue
        url = _url(path, ids)
        r = await (client.get(url) if method == "GET"
                   else client.request(method, url, data={"csrf_token": csrf}))
        assert r.status_code == 303, f"{method} {path}"
        assert r.headers["location"].startswith("/login?next=")
    partial = await client.get("/orders", headers={"HX-Request": "true"})
    assert partial.status_code == 204 and partial.headers["HX-Redirect"].startswith("/login")
