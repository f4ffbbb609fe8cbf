"""Bulk waybill numbers for the office's 打单 desk (issue #15 item 3a).

:func:`take_waybill_numbers` asks the platform for one e-waybill number per package in
batches of :data:`cloud.orders.waybills.WAYBILL_BATCH`, paced to a calls-per-second ceiling
(the platform's published limit for ``pdd.waybill.get`` / ``cainiao.waybill.ii.get``, or
a lower one the caller configures), retrying transient faults in later rounds and listing
every package it could not get a number for with the platform's code and message.

Orphans. Neither published protocol has an idempotency key: ``object_id`` is only the
caller's request id, echoed in the reply (docs/specs/marketplaces.md §1.7.8, §2.6.5), and
the fakes issue a fresh number on every call. So a number that reaches us for a package
that already holds one is cancelled on the platform at once (``pdd.waybill.cancel``) and
listed in ``cancelled``. A number issued by a call whose reply was lost never reaches us
at all, and neither spec offers a way to look it up by ``object_id``: such numbers are
*not* recycled here (see the report of issue #15 — an open gap).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cloud.marketplaces.base import Address, Waybill, WaybillRequest
from cloud.marketplaces.errors import BusinessError, MarketplaceError
from cloud.orders.waybills import WAYBILL_BATCH as BULK_BATCH

BULK_ROUNDS = 4
"""Rounds over the still-unnumbered packages before the rest are listed as failures."""
BULK_CONCURRENCY = 8
"""Requests in flight at once (the pacer, not this, keeps the call rate)."""
PACE_SHARE = 0.95
"""Share of the calls-per-second ceiling the pacer keeps to. Exactly at the ceiling, the
jitter of the replies lets two calls land in one slot of the platform's sliding window
now and then, and each refused call costs a slot and a later round."""


@dataclass
class BulkFailure:
    """A package left without a number, with the platform's own code and message."""

    object_id: str
    """The package's request id (our order id)."""
    code: str
    """Platform error code (``transient`` when only transient faults were seen)."""
    message: str
    """Platform error message."""


@dataclass
class BulkResult:
    """What a bulk run did."""

    numbers: dict[str, Waybill] = field(default_factory=dict)
    """object_id → the one number the package holds."""
    failures: list[BulkFailure] = field(default_factory=list)
    """Packages left without a number."""
    cancelled: list[str] = field(default_factory=list)
    """Extra numbers that reached us for an already-numbered package, cancelled."""
    cancel_failed: list[str] = field(default_factory=list)
    """Extra numbers whose cancellation the platform refused (to recycle later)."""
    calls: int = 0
    """``*.waybill.get`` calls made."""


class Pacer:
    """Spaces calls to at most ``rate`` per second (one shared schedule)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """``rate`` calls per second; ``clock``/``sleep`` injectable."""
        self.interval = 1.0 / rate
        """Seconds between two calls."""
        self.clock = clock
        """Monotonic clock."""
        self.sleep = sleep
        """Async sleep."""
        self.next_at = 0.0
        """When the next call may start."""

    async def wait(self) -> None:
        """Wait for this call's slot."""
        now = self.clock()
        slot = max(now, self.next_at)
        self.next_at = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)


async def take_waybill_numbers(client: Any, carrier: str, sender: Address,
                               packages: Sequence[WaybillRequest], *, calls_per_second: float,
                               rounds: int = BULK_ROUNDS,
                               concurrency: int = BULK_CONCURRENCY) -> BulkResult:
    """One number per package (see the module doc for retries and orphans)."""
    result = BulkResult()
    pacer = Pacer(calls_per_second * PACE_SHARE)
    sem = asyncio.Semaphore(concurrency)
    last_error: dict[str, tuple[str, str]] = {}
    refused: dict[str, tuple[str, str]] = {}

    async def keep(got: Sequence[Waybill]) -> None:
        for w in got:
            if w.object_id in result.numbers:  # a second number for one package
                try:
                    await pacer.wait()
                    await client.cancel_waybill(w.carrier, w.number)
                    result.cancelled.append(w.number)
                except MarketplaceError:
                    result.cancel_failed.append(w.number)
            else:
                result.numbers[w.object_id] = w

    async def ask(batch: Sequence[WaybillRequest]) -> None:
        """One request; a refused batch is asked again package by package to find the one
        the platform refuses, whose code and message are kept."""
        await pacer.wait()
        result.calls += 1
        try:
            got = await client.get_waybills(carrier, sender, list(batch))
        except BusinessError as err:
            if len(batch) > 1:
                for one in batch:
                    await ask([one])
            else:
                refused[batch[0].object_id] = (str(err.code), err.msg)
            return
        except MarketplaceError as err:
            for p in batch:
                last_error[p.object_id] = (str(getattr(err, "code", "transient")), err.message)
            return
        await keep(got)

    async def call(batch: Sequence[WaybillRequest]) -> None:
        async with sem:
            await ask(batch)

    for _ in range(rounds):
        todo = [p for p in packages
                if p.object_id not in result.numbers and p.object_id not in refused]
        if not todo:
            break
        batches = [todo[i:i + BULK_BATCH] for i in range(0, len(todo), BULK_BATCH)]
        await asyncio.gather(*(call(b) for b in batches))
    for p in packages:
        if p.object_id in result.numbers:
            continue
        code, message = refused.get(p.object_id) or last_error.get(
            p.object_id, ("transient", "no reply"))
        result.failures.append(BulkFailure(p.object_id, code, message))
    return result
