"""Scan-to-screen latency of the kiosk's pack screen vs a minimal Textual echo app, side by side.

Each scan is 13 key events plus Enter posted to the app the way a keyboard-wedge scanner's
keys arrive. Latency runs from the first key to the first frame the compositor renders
after the scan was handled (``App._display``; headless, so the terminal write itself is
skipped in both apps). The kiosk scans items into a large open order (the table row and
the banner change each time, one scan in ten is a wrong item with the red banner); the
baseline app only echoes the code into a ``Static``. Both run headless at 120×40 in the
same process, in alternating blocks so machine noise hits both alike.

Frames are drawn by Textual's screen-update timer at 60 Hz, so the latency of a scan
that is handled well inside a frame is the time to the next tick (about 14 ms at this
bench's cadence, for both apps): the ratio moves only when a scan misses a tick. So the bench
also reports each scan's *work*, not rounded up to a tick: first key to handled, plus the
time to render the frame that shows it (``Screen._compositor_refresh``).

Each block first runs ``--warmup`` scans that are not counted (the first scans of a fresh
app touch cold code paths, screen caches and the database pages), so the percentiles
measure scans, not start-up. The kiosk runs twice per block: as shipped (``gc.freeze()``
after start-up, in ``edge.ui.app``) and with ``gc.freeze`` disabled, so the before/after of
the freeze comes from one run. ``--db PATH`` scans against a copy-free existing station
database (e.g. the real-size one of ``python -m bench station_size``): the bench order,
its two SKUs and the bench operator are added to it if missing.

Run: ``python -m bench scan_latency [--scans 1000] [--blocks 10] [--warmup 30] [--db PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from textual import events
from textual.app import App, ComposeResult
from textual.keys import _character_to_key
from textual.widgets import Static

SIZE = (120, 40)
ITEM, WRONG = "6901234567892", "6905555000017"


class EchoApp(App[None]):
    """The baseline: collect keys, on Enter show the code."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = ""
        self.handled_at = 0.0

    def compose(self) -> ComposeResult:
        yield Static("", id="echo")

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            self.query_one("#echo", Static).update(self.buffer)
            self.buffer = ""
            self.handled_at = time.perf_counter()
        elif event.character:
            self.buffer += event.character


def post_scan(app: App[Any], code: str) -> None:
    for ch in code:
        app.post_message(events.Key(ch if ch.isalnum() else _character_to_key(ch), ch))
    app.post_message(events.Key("enter", "\r"))


def spy_frames(app: App[Any], renders: dict[float, float] | None = None) -> list[float]:
    """Record when each frame is rendered; with ``renders``, also how long the screen took
    to render it (frame time → seconds in ``_compositor_refresh``)."""
    frames: list[float] = []
    original = app._display
    started = [0.0]

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        if renderable is not None:
            now = time.perf_counter()
            frames.append(now)
            if renders is not None:
                renders[now] = now - started[0]

    app._display = display  # type: ignore[method-assign]
    if renders is not None:
        screen = app.screen
        refresh = screen._compositor_refresh

        def compositor_refresh() -> None:
            started[0] = time.perf_counter()
            refresh()

        screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]
    return frames


async def measure(app: App[Any], codes: list[str], handled: Callable[[], float],
                  frames: list[float], renders: dict[float, float] | None = None,
                  work: list[float] | None = None) -> list[float]:
    """Latency of each scan in ``codes`` (seconds); with ``renders`` (``spy_frames``), the
    work of each scan (first key to handled, plus rendering its frame) goes to ``work``."""
    out: list[float] = []
    for code in codes:
        before = handled()
        t0 = time.perf_counter()
        post_scan(app, code)
        deadline = t0 + 5.0
        while True:
            h = handled()
            if h != before and frames and frames[-1] >= h:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError("scan was not displayed within 5 s")
            await asyncio.sleep(0)
        frame = next(f for f in frames if f >= h)
        out.append(frame - t0)
        if renders is not None and work is not None:
            work.append(h - t0 + renders.get(frame, 0.0))
        await asyncio.sleep(0.002)  # let the app settle between scans, like a real cadence
    return out


def _kiosk_store(path: Path) -> Any:
    from edge.domain.models import MoveReason, MoveRequest, NegativeStockPolicy
    from edge.store import open_store

    store = open_store(path, station_id="BENCH")
    w = store.writer
    if w.db.execute("SELECT 1 FROM orders WHERE order_id = 'B1'").fetchone():
        return store
    w.upsert_warehouse("WH1", "仓", NegativeStockPolicy.REFUSE)
    w.upsert_locations([{"code": "A-01", "warehouse_id": "WH1", "zone": "A", "bin": "01", "name": ""},
                        {"code": "A-02", "warehouse_id": "WH1", "zone": "A", "bin": "02", "name": ""}])
    w.upsert_skus([
        {"sku": "CUP-350", "name_zh": "保温杯 350ml", "unit_weight_g": 320, "default_location": "A-01",
         "barcodes": [(ITEM, 1)]},
        {"sku": "SOCK-M", "name_zh": "运动袜 M码", "unit_weight_g": 45, "default_location": "A-02",
         "barcodes": [(WRONG, 1)]},
    ])
    w.record_move(MoveRequest(sku="CUP-350", location="A-01", qty_delta=10, reason=MoveReason.RECEIVE,
                              source_type="po", source_id="PO", operator_id="B"))
    with w.transaction() as db:
        db.execute("""INSERT INTO orders (order_id, platform, platform_order_no, waybill_no, carrier,
                          ordered_at, updated_at) VALUES ('B1', 'pdd', 'PDD-B1', 'SFBENCH', 'SF',
                          '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')""")
        db.execute("INSERT INTO order_lines VALUES ('B1', 1, 'CUP-350', 1000000)")
        db.execute("INSERT INTO order_lines VALUES ('B1', 2, 'SOCK-M', 1)")
    w.upsert_operator("B", "测试", "packer", badge="B-BENCH")
    return store


Scans = tuple[list[float], list[float]]
"""(latencies, work) of one block's counted scans, in seconds."""


async def kiosk_block(path: Path, n: int, warmup: int, freeze: bool = True) -> Scans:
    from edge.store import open_store
    from edge.ui.app import make_app
    from edge.ui.i18n import I18n
    from edge.ui.services import Devices, KioskSettings, Services

    settings = KioskSettings(db_path=path, scan_debounce_s=0.0)
    store = open_store(path, station_id="BENCH")
    app = make_app(settings, services=Services(store=store, devices=Devices(), settings=settings,
                                               i18n=I18n("zh")))
    try:
        with mock.patch("gc.freeze", gc.freeze if freeze else lambda: None):
            return await _kiosk_scans(app, pilot_size=SIZE, n=n, warmup=warmup)
    finally:
        app.services.close()
        gc.unfreeze()  # every block starts from the same collector state


async def _kiosk_scans(app: Any, *, pilot_size: tuple[int, int], n: int,
                       warmup: int) -> Scans:
    from edge.ui.screens.pack import PackScreen

    async with app.run_test(size=pilot_size) as pilot:
        app.operator = {"operator_id": "B", "name": "测试", "role": "packer"}
        await app.push_screen(PackScreen())
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PackScreen)
        stamp = {"t": 0.0}
        original = screen.handle_scan

        def handle_scan(code: str, source: str) -> None:
            original(code, source)
            stamp["t"] = time.perf_counter()

        screen.handle_scan = handle_scan  # type: ignore[method-assign]
        renders: dict[float, float] = {}
        work: list[float] = []
        frames = spy_frames(app, renders)
        await measure(app, ["SFBENCH"], lambda: stamp["t"], frames)
        codes = [WRONG if i % 10 == 9 else ITEM for i in range(warmup + n)]
        latency = await measure(app, codes, lambda: stamp["t"], frames, renders, work)
        return latency[warmup:], work[warmup:]


async def echo_block(n: int, warmup: int) -> Scans:
    app = EchoApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        renders: dict[float, float] = {}
        work: list[float] = []
        frames = spy_frames(app, renders)
        codes = [WRONG if i % 10 == 9 else ITEM for i in range(warmup + n)]
        latency = await measure(app, codes, lambda: app.handled_at, frames, renders, work)
        return latency[warmup:], work[warmup:]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(scans: int, blocks: int, warmup: int, db: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = db or Path(tmp) / "bench.db"
        _kiosk_store(path).close()
        per = max(1, scans // blocks)
        kiosk: list[float] = []
        thawed: list[float] = []
        echo: list[float] = []
        work: dict[str, list[float]] = {"echo": [], "kiosk": [], "thawed": []}
        for _ in range(blocks):
            for name, got, block in (("echo", echo, echo_block(per, warmup)),
                                     ("kiosk", kiosk, kiosk_block(path, per, warmup)),
                                     ("thawed", thawed, kiosk_block(path, per, warmup, False))):
                latency, done = await block
                got += latency
                work[name] += done
    where = f"database {db} ({db.stat().st_size / 2**20:,.0f} MiB)" if db else "small database"
    print(f"scans per app: {len(kiosk)} (blocks of {per} after {warmup} warm-up scans, "
          f"alternating), terminal {SIZE[0]}x{SIZE[1]}, {where}")
    print(f"{'':24}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'mean ms':>10}")
    for name, v in (("echo app", echo), ("kiosk pack", kiosk), ("kiosk, no gc.freeze", thawed)):
        print(f"{name:24}{pct(v, 50) * 1e3:10.2f}{pct(v, 99) * 1e3:10.2f}{max(v) * 1e3:10.2f}"
              f"{statistics.fmean(v) * 1e3:10.2f}")
    for name, v in (("kiosk", kiosk), ("kiosk, no gc.freeze", thawed)):
        r50, r99 = pct(v, 50) / pct(echo, 50), pct(v, 99) / pct(echo, 99)
        print(f"ratio {name}/echo: p50 {r50:.2f}x, p99 {r99:.2f}x (aim: p99 <= 1.5x)")
    print("work per scan (first key to handled + rendering its frame; not rounded to a tick):")
    for name, key in (("echo app", "echo"), ("kiosk pack", "kiosk"), ("kiosk, no gc.freeze", "thawed")):
        v = work[key]
        print(f"{name:24}{pct(v, 50) * 1e3:10.2f}{pct(v, 99) * 1e3:10.2f}{max(v) * 1e3:10.2f}"
              f"{statistics.fmean(v) * 1e3:10.2f}")
    e = work["echo"]
    for name, key in (("kiosk", "kiosk"), ("kiosk, no gc.freeze", "thawed")):
        v = work[key]
        print(f"work ratio {name}/echo: p50 {pct(v, 50) / pct(e, 50):.2f}x, "
              f"p99 {pct(v, 99) / pct(e, 99):.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scan_latency", description=__doc__)
    parser.add_argument("--scans", type=int, default=1000, help="scans per app (default 1000)")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks (default 10)")
    parser.add_argument("--warmup", type=int, default=30,
                        help="uncounted scans at the start of each block (default 30)")
    parser.add_argument("--db", type=Path, default=None,
                        help="existing station database to scan against (default: a small one)")
    if argv is None:
        argv = sys.argv[2:] if sys.argv[1:2] == ["scan_latency"] else []
    args, _ = parser.parse_known_args(argv)
    asyncio.run(run(args.scans, args.blocks, args.warmup, args.db))


if __name__ == "__main__":
    main(sys.argv[1:])
