"""The window-reading rule shared by both clients and order sync: count, then pages from the
last back to the first, so an order that changes while we page cannot push another past us."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.marketplaces.base import OrderPage, OrderStatus, PlatformOrder, read_window

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def order(oid: str, minute: int) -> PlatformOrder:
    return PlatformOrder(platform="pdd", order_id=oid, status=next(iter(OrderStatus)), raw_status="1",
                         updated_at=T0 + timedelta(minutes=minute), lines=())


class MovingPlatform:
    """Three orders newest first; right after the count call, the newest (C) is updated and
    leaves the window, so every later page shifts by one towards page 1."""

    def __init__(self) -> None:
        self.window = [order("C", 20), order("B", 10), order("A", 5)]
        self.calls: list[int] = []

    async def list_orders(self, start: datetime, end: datetime, *, page: int, page_size: int,
                          use_has_next: bool = False) -> OrderPage:
        self.calls.append(page)
        rows = self.window[(page - 1) * page_size: page * page_size]
        result = OrderPage(orders=tuple(rows), total_count=len(self.window), has_next=False)
        if len(self.calls) == 1:
            self.window = self.window[1:]  # C changed: now after the window's end
        return result


async def test_an_order_leaving_the_window_while_paging_does_not_hide_another() -> None:
    platform = MovingPlatform()
    got = await read_window(platform.list_orders, T0, T0 + timedelta(minutes=30), page_size=2)
    assert {o.order_id for o in got} >= {"A", "B"}
    assert platform.calls == [1, 2, 1]  # count, last page, then page 1 again


async def test_newest_version_of_an_order_wins() -> None:
    class Dup:
        async def list_orders(self, *a: Any, page: int, page_size: int, use_has_next: bool = False) -> OrderPage:
            rows = [order("X", 9), order("Y", 1)] if page == 1 else [order("X", 3)]
            return OrderPage(orders=tuple(rows), total_count=3, has_next=page == 1)

    got = {o.order_id: o for o in await read_window(Dup().list_orders, T0, T0, page_size=2)}
    assert got["X"].updated_at == T0 + timedelta(minutes=9)
