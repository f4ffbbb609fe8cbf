"""Device ports: the small protocols the kiosk talks to. Adapters and fakes implement them.

Each port is one verb plus lifecycle (``open``/``close`` and a context manager), like an
httpx transport. Device libraries are imported only by the adapters, behind guards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Self, runtime_checkable


@dataclass(frozen=True, slots=True)
class Scan:
    """One complete barcode read, terminator stripped."""

    code: str
    at: datetime
    source: str = ""


@dataclass(frozen=True, slots=True)
class Weight:
    """One scale reading. ``grams`` is net weight; ``stable`` is the scale's own flag or N equal reads."""

    grams: int
    stable: bool
    at: datetime
    overload: bool = False


@runtime_checkable
class Scanner(Protocol):
    """Yields complete scans. ``scans`` blocks until the next scan or ``timeout`` seconds."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def scans(self, timeout: float | None = None) -> Iterator[Scan]: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class Scale(Protocol):
    """Returns the latest reading, or None when no valid frame arrived within ``timeout``."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def read(self, timeout: float = 1.0) -> Weight | None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class Printer(Protocol):
    """Sends one complete job (already-encoded bytes). Raises PrinterError when it cannot."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def write(self, data: bytes) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
