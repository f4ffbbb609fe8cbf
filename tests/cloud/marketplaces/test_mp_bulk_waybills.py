"""Bulk waybill numbers (issue #15 item 3a) on the fake PDD with 10 % injected faults.

The fake's own ledger (``fake.waybills``) is the independent check: which numbers it issued
for which ``object_id`` and which are cancelled."""

from __future__ import annotations

from collections import Counter

from cloud.marketplaces.base import Address, WaybillRequest
from cloud.orders.bulk_waybills import take_waybill_numbers
from tests.cloud.marketplaces.mp_support import pdd_client

SENDER = Address("仓库", "13800000000", "浙江省", "杭州市", "余杭区", "仓前街道1号")
ORDERS = 500
"""Orders in the batch (the issue's Done-when)."""
CEILING = 50.0
"""Calls per second the test paces to."""


def _packages(fake: object, n: int) -> list[WaybillRequest]:
    orders = list(fake.orders())[:n]  # type: ignore[attr-defined]
    assert len(orders) == n
    return [WaybillRequest(o.order_id, (o.order_id,), Address(
        "张三", "13900000000", "浙江省", "杭州市", "西湖区", "文三路1号"), (("保温杯", 1),))
        for o in orders]


async def test_500_orders_with_lost_replies_answered_as_errors(serve, http) -> None:
    """Faults without effect (a timeout answers a system error): every order ends holding
    exactly one live number on the fake, and no number is left uncancelled."""
    running = serve("pdd", seed=21, orders_per_hour=200, history_hours=6, fault_rate=0.10,
                    timeout_applies_effect=False, timeout_delay=0.1)
    fake = running.fake
    packages = _packages(fake, ORDERS)
    result = await take_waybill_numbers(pdd_client(running, http), "ZTO", SENDER, packages,
                                        calls_per_second=CEILING)
    assert result.failures == []
    live = Counter(w.object_id for w in fake.waybills if not w.cancelled)
    assert len(live) == ORDERS and set(live.values()) == {1}
    assert {result.numbers[p.object_id].number for p in packages} == {
        w.number for w in fake.waybills if not w.cancelled}
    assert sum(fake.faults.injected.values()) > 0


async def test_500_orders_with_real_lost_replies(serve, http) -> None:
    """Faults with effect (a lost reply still issues a number). Every order holds one number
    we know and that is live on the fake. Numbers issued by a lost reply never reach us and
    the protocol has no look-up by object_id: they are counted here, not recycled (open gap)."""
    running = serve("pdd", seed=22, orders_per_hour=200, history_hours=6, fault_rate=0.10,
                    timeout_applies_effect=True, timeout_delay=2.5)
    fake = running.fake
    packages = _packages(fake, ORDERS)
    result = await take_waybill_numbers(pdd_client(running, http), "ZTO", SENDER, packages,
                                        calls_per_second=CEILING)
    assert result.failures == []
    by_number = {w.number: w for w in fake.waybills}
    for p in packages:
        w = by_number[result.numbers[p.object_id].number]
        assert w.object_id == p.object_id and not w.cancelled
    orphans = [w for w in fake.waybills if not w.cancelled
               and result.numbers[w.object_id].number != w.number]
    print(f"lost-reply orphans left live: {len(orphans)}, cancelled extras {len(result.cancelled)}, "
          f"injected {dict(fake.faults.injected)}, calls {result.calls}")


class _DoubleClient:
    """Stub: the first call for ``dup`` answers twice (a retried reply), ``bad`` is refused."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.n = 0

    async def get_waybills(self, carrier: str, sender: Address,
                           packages: list[WaybillRequest]) -> list[object]:
        from cloud.marketplaces.base import Waybill
        from cloud.marketplaces.errors import BusinessError
        if any(p.object_id == "bad" for p in packages):
            raise BusinessError("50001", "收件人密文无效", platform="pdd", api="pdd.waybill.get")
        out = []
        for p in packages:
            copies = 2 if p.object_id == "dup" else 1
            for _ in range(copies):
                self.n += 1
                out.append(Waybill(f"N{self.n}", carrier, "{}", p.object_id))
        return out

    async def cancel_waybill(self, carrier: str, number: str) -> None:
        self.cancelled.append(number)


async def test_second_number_cancelled_and_refusal_listed() -> None:
    client = _DoubleClient()
    packages = [WaybillRequest(oid, (oid,), SENDER, (("x", 1),)) for oid in ("a", "dup", "bad")]
    result = await take_waybill_numbers(client, "ZTO", SENDER, packages, calls_per_second=1000)
    # batch of 3 refused → asked one by one: a → N1, dup → N2 + N3 (N3 cancelled), bad refused
    assert {k: w.number for k, w in result.numbers.items()} == {"a": "N1", "dup": "N2"}
    assert client.cancelled == ["N3"] and result.cancelled == ["N3"]
    assert [(f.object_id, f.code, f.message) for f in result.failures] == [
        ("bad", "50001", "收件人密文无效")]
