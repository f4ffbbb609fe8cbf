"""The one permission matrix (permission → roles) and the guard every endpoint wears.

Every route's endpoint is decorated with :func:`requires` (a permission from
:data:`MATRIX`) or :func:`public` (sign-in pages, the language switch, static files); a
test walks the app's routes and fails on an endpoint with neither, then checks every
route × every role against :data:`MATRIX`. Forms and API endpoints are routes too, so
the same guard covers them. Roles not listed for a permission get 403.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable
from typing import Final, Literal, TypeVar
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cloud.web import session
from cloud.web.render import render_error
from edge.domain.models import Role

T = TypeVar("T")

Endpoint = Callable[[Request], Awaitable[Response]]
"""An async Starlette endpoint."""


class Permission(enum.StrEnum):
    """What a page, form or API endpoint lets a user do."""

    DASHBOARD_VIEW = "dashboard.view"
    STOCK_VIEW = "stock.view"
    STOCKTAKES_VIEW = "stocktakes.view"
    STOCK_ADJUST = "stock.adjust"
    ALERTS_CLOSE = "alerts.close"
    STATIONS_VIEW = "stations.view"
    HANDOVERS_VIEW = "handovers.view"
    ORDERS_VIEW = "orders.view"
    ORDERS_EXPORT = "orders.export"
    ORDERS_REVIEW = "orders.review"
    PROMOTIONS_EDIT = "promotions.edit"
    REVIEW_RULES_EDIT = "review_rules.edit"
    SHOPS_VIEW = "shops.view"
    SHOPS_AUTHORIZE = "shops.authorize"
    PRODUCTS_VIEW = "products.view"
    PRODUCTS_EDIT = "products.edit"
    PURCHASING_VIEW = "purchasing.view"
    PURCHASING_EDIT = "purchasing.edit"
    PURCHASING_APPROVE = "purchasing.approve"
    TRANSFERS_VIEW = "transfers.view"
    TRANSFERS_EDIT = "transfers.edit"
    WAVES = "waves.manage"
    DESK = "desk.print"
    PAYABLES_VIEW = "payables.view"
    PAYMENTS_RECORD = "payments.record"
    COURIER_VIEW = "courier.view"
    REPORTS_VIEW = "reports.view"
    COURIER_RATES_EDIT = "courier.rates"
    COURIER_ACCOUNTS = "courier.accounts"
    USERS_MANAGE = "users.manage"
    OPERATORS_MANAGE = "operators.manage"
    AUDIT_VIEW = "audit.view"
    ACCOUNT_SELF = "account.self"


_ALL: Final = frozenset(Role)

MATRIX: Final[dict[Permission, frozenset[Role]]] = {
    Permission.DASHBOARD_VIEW: _ALL,
    Permission.ACCOUNT_SELF: _ALL,
    Permission.STOCK_VIEW: frozenset({
        Role.WAREHOUSE_LEAD, Role.PURCHASER, Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.STOCK_ADJUST: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.STOCKTAKES_VIEW: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.ALERTS_CLOSE: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.STATIONS_VIEW: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.HANDOVERS_VIEW: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.ORDERS_VIEW: frozenset({
        Role.WAREHOUSE_LEAD, Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.ORDERS_REVIEW: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    # a year of orders in one file: the people who account for them, not the floor
    Permission.ORDERS_EXPORT: frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.PROMOTIONS_EDIT: frozenset({Role.MANAGER, Role.ADMIN}),
    Permission.REVIEW_RULES_EDIT: frozenset({Role.MANAGER, Role.ADMIN}),
    Permission.SHOPS_VIEW: frozenset({Role.MANAGER, Role.ADMIN}),
    Permission.SHOPS_AUTHORIZE: frozenset({Role.MANAGER, Role.ADMIN}),
    Permission.PRODUCTS_VIEW: frozenset({
        Role.WAREHOUSE_LEAD, Role.PURCHASER, Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.PRODUCTS_EDIT: frozenset({Role.PURCHASER, Role.MANAGER, Role.ADMIN}),
    Permission.PURCHASING_VIEW: frozenset({
        Role.WAREHOUSE_LEAD, Role.PURCHASER, Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.PURCHASING_EDIT: frozenset({Role.PURCHASER, Role.MANAGER, Role.ADMIN}),
    Permission.PURCHASING_APPROVE: frozenset({Role.MANAGER, Role.ADMIN}),
    Permission.TRANSFERS_VIEW: frozenset({
        Role.WAREHOUSE_LEAD, Role.PURCHASER, Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.TRANSFERS_EDIT: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.WAVES: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.DESK: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.PAYABLES_VIEW: frozenset({Role.PURCHASER, Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.PAYMENTS_RECORD: frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.COURIER_VIEW: frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.REPORTS_VIEW: frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.COURIER_RATES_EDIT: frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN}),
    Permission.COURIER_ACCOUNTS: frozenset({Role.MANAGER, Role.ADMIN}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.OPERATORS_MANAGE: frozenset({Role.WAREHOUSE_LEAD, Role.MANAGER, Role.ADMIN}),
    Permission.AUDIT_VIEW: frozenset({Role.ADMIN}),
}
"""permission → the roles that have it. The only place access is decided."""

PUBLIC: Final = "public"
"""Access marker of endpoints anyone may call (sign-in, language switch, static files)."""

Access = Permission | Literal["public"]

_ATTR = "__packline_access__"


def allowed(role: Role, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``."""
    return role in MATRIX[permission]


def access_of(endpoint: object) -> Access | None:
    """The access an endpoint was declared with, or ``None`` when it has none (a bug)."""
    value = getattr(endpoint, _ATTR, None)
    return value if value == PUBLIC or isinstance(value, Permission) else None


def mark_public(app: T) -> T:
    """Declare a mounted ASGI app (static files) open to anyone."""
    setattr(app, _ATTR, PUBLIC)
    return app


def public(endpoint: Endpoint) -> Endpoint:
    """Declare an endpoint open to anyone, signed in or not."""
    setattr(endpoint, _ATTR, PUBLIC)
    return endpoint


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/login?next=" + quote(target, safe="")
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def requires(permission: Permission) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: anonymous users go to sign-in, roles without ``permission`` get 403.

    The signed-in user is put on ``request.state.user`` for the endpoint.
    """
    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            user = await session.current_user(request)
            if user is None:
                return _to_login(request)
            request.state.user = user
            if not allowed(user.role, permission):
                return render_error(request, 403, "error.forbidden_title", "error.forbidden",
                                    role_key=f"role.{user.role.value}")
            return await endpoint(request)

        setattr(guarded, _ATTR, permission)
        return guarded

    return decorate
