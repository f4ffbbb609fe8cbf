"""The app's routes, one module per area; each exposes ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cloud.web.routes import (
    account,
    audit,
    auth,
    courier,
    courier_accounts,
    desk,
    exports,
    handovers,
    home,
    listings,
    mappings,
    operators,
    order_exchange,
    order_merge,
    order_notes,
    order_tags,
    orders,
    payables,
    products,
    promotions,
    purchasing,
    report_profit,
    report_returns,
    reports,
    returns,
    shop_push,
    shops,
    stations,
    stock,
    stocktakes,
    transfers,
    unshipped,
    users,
    waves,
)


def all_routes() -> list[BaseRoute]:
    """Every route of the app (static files are mounted by the app factory)."""
    return [*auth.routes, *home.routes, *stock.routes, *stations.routes, *handovers.routes, *returns.routes,
            *stocktakes.routes, *unshipped.routes,
            *order_merge.routes, *order_exchange.routes, *order_notes.routes, *order_tags.routes, *exports.routes, *orders.routes, *promotions.routes, *products.routes,
            *mappings.routes, *listings.routes, *shop_push.routes, *shops.routes, *purchasing.routes,
            *transfers.routes, *waves.routes, *desk.routes, *payables.routes, *courier.routes,
            *courier_accounts.routes, *reports.routes, *report_profit.routes,
            *report_returns.routes, *users.routes,
            *operators.routes, *account.routes, *audit.routes]
