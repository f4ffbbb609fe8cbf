"""A fake platform in its own process (the soak and the benchmark use the second core).

The child runs ``run_fake_platform`` and answers ground-truth questions over a pipe; the
parent mirrors the simulated clock (same start, same advances), so clients signing with
``RemoteFake.clock.now`` stay inside the fake's timestamp tolerance.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from cloud.marketplaces.generator import SimClock


@dataclass(frozen=True)
class OrderTruth:
    """What the soak compares with: one platform order."""

    order_id: str
    """Platform order id."""
    updated_at: int
    """Last change (epoch s)."""
    tracking_number: str
    """Tracking number on the platform."""
    created_at: int = 0
    """Creation (epoch s)."""
    closed: bool = False
    """Closed or refunded on the platform."""


def _child(conn: Connection, platform: str, seed: int, start: float,
           settings: dict[str, Any]) -> None:
    from cloud.marketplaces.fake_server import run_fake_platform

    running = run_fake_platform(platform, 0, seed, clock=SimClock(start), **settings)
    fake = running.fake
    conn.send({"port": running.port, "app_key": fake.settings.app_key,
               "app_secret": fake.settings.app_secret, "catalog": [
                   (s.item_id, s.sku_id, s.outer_id, s.title) for s in fake.gen.catalog]})
    try:
        while True:
            cmd, arg = conn.recv()
            if cmd == "stop":
                break
            with fake.lock:
                if cmd == "advance":
                    fake.clock.advance(arg)
                    fake.gen.run_until(fake.now())
                    fake._publish_events()
                    out: Any = fake.now()
                elif cmd == "orders":
                    out = [OrderTruth(o.order_id, o.updated_at, o.tracking_number, o.created_at,
                                      o.phase.value == "closed" or (
                                          o.refund is not None and o.refund.value == "success"))
                           for o in fake.gen.orders.values()]
                elif cmd == "shipments":
                    out = [(s.order_id, s.tracking_number, s.modification) for s in fake.shipments]
                elif cmd == "stock":
                    out = {(s.item_id, s.sku_id): s.quantity for s in fake.gen.catalog}
                elif cmd == "stats":
                    out = {"calls": dict(fake.calls), "rejections": list(fake.rejections),
                           "injected": dict(fake.faults.injected)}
                else:
                    out = None
            conn.send(out)
    finally:
        running.stop()
        conn.close()


class RemoteFake:
    """Parent-side handle of a fake platform running in a child process."""

    def __init__(self, platform: str, seed: int = 0, **settings: Any) -> None:
        ctx = mp.get_context("spawn")
        self.platform = platform
        """``pdd`` or ``taobao``."""
        self.clock = SimClock(time.time())
        """Mirror of the child's simulated clock."""
        start = self.clock.now()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child, platform, seed, start, settings),
                                 daemon=True)
        self._proc.start()
        if not self._conn.poll(30):
            self._proc.kill()
            raise RuntimeError("fake platform process did not start")
        hello = self._conn.recv()
        self.port: int = hello["port"]
        """Bound port on 127.0.0.1."""
        self.app_key: str = hello["app_key"]
        """App key."""
        self.app_secret: str = hello["app_secret"]
        """App secret."""
        self.catalog: list[tuple[str, str, str, str]] = hello["catalog"]
        """(item_id, sku_id, outer_id, title) of the fake's SKUs."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:port``."""
        return f"http://127.0.0.1:{self.port}"

    def _ask(self, cmd: str, arg: Any = None) -> Any:
        self._conn.send((cmd, arg))
        if not self._conn.poll(60):
            raise RuntimeError(f"fake platform did not answer {cmd}")
        return self._conn.recv()

    def advance(self, seconds: float) -> None:
        """Move both clocks and let the child generate that period's activity."""
        self.clock.advance(seconds)
        self._ask("advance", seconds)

    def now(self) -> int:
        """Simulated epoch seconds."""
        return int(self.clock.now())

    def orders(self) -> list[OrderTruth]:
        """Ground truth orders."""
        return list(self._ask("orders"))

    def shipments(self) -> list[tuple[str, str, bool]]:
        """Accepted write-backs (order id, tracking number, modification)."""
        return list(self._ask("shipments"))

    def stock(self) -> dict[tuple[str, str], int]:
        """Platform stock per (item id, sku id)."""
        return dict(self._ask("stock"))

    def stats(self) -> dict[str, Any]:
        """Calls per API, rejections (api, code), injected faults per kind."""
        out: dict[str, Any] = self._ask("stats")
        out["injected"] = Counter(out["injected"])
        return out

    def stop(self) -> None:
        """Stop the child (by its handle) and wait for it."""
        try:
            self._conn.send(("stop", None))
        except (OSError, BrokenPipeError):
            pass
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)
