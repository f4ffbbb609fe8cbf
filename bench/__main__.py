"""Benchmark dispatcher: ``python -m bench [NAME ...]`` (``--list`` shows the names)."""

from __future__ import annotations

import importlib
import sys

BENCHES: dict[str, str] = {
    # name: "module:function" — add a line here for each bench module
    "ledger": "bench.ledger:main",
    "clouddb": "bench.clouddb:main",
    "backup": "bench.backup:main",
    "marketplaces": "bench.marketplaces:main",
    "sync": "bench.sync:main",
    "scan_latency": "bench.scan_latency:main",
    "single_item": "bench.single_item:main",
    "orders": "bench.orders:main",
    "station_year": "bench.station_year:main",
    "station_size": "bench.station_size:main",
    "fleet": "bench.fleet:main",
    "reports": "bench.reports:main",
    "waybills": "bench.waybills:main",
}
"""Registered benchmarks, run in this order by ``python -m bench``."""


def run(name: str) -> None:
    """Import and run one registered benchmark."""
    module, _, func = BENCHES[name].partition(":")
    getattr(importlib.import_module(module), func or "main")()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--list"], ["-l"]):
        print("\n".join(BENCHES))
        return 0
    if args in (["-h"], ["--help"]):
        print(f"usage: python -m bench [NAME ...] | NAME --option ...   (names: {', '.join(BENCHES)})")
        return 0
    if len(args) > 1 and args[0] in BENCHES and args[1].startswith("-"):
        # ``python -m bench NAME --option ...``: the options go to that bench
        module, _, func = BENCHES[args[0]].partition(":")
        print(f"== {args[0]} ==", flush=True)
        getattr(importlib.import_module(module), func or "main")(args[1:])
        return 0
    unknown = [a for a in args if a not in BENCHES]
    if unknown:
        print(f"unknown bench: {', '.join(unknown)} (known: {', '.join(BENCHES)})", file=sys.stderr)
        return 2
    for name in args or list(BENCHES):
        print(f"== {name} ==", flush=True)
        run(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
