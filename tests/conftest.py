"""Test-wide plugins. Fixtures live in ``tests/fixtures/``; register new modules here."""

from __future__ import annotations

from typing import Any

pytest_plugins = [
    "tests.fixtures.edge_store",
    "tests.fixtures.postgres",
    "tests.fixtures.cloud_db",
    "tests.fixtures.mosquitto",
]

LONG_FILES = ("tests/cloud/orders/test_soak.py", "tests/spine/test_demo_system.py",
              "tests/test_import_hygiene.py", "tests/sync/test_stock_world.py")
"""The files that take minutes, longest first. They are collected first so that, with the
suite on two workers (``./packline test``: pytest-xdist, a file per worker at a time), they
start at once beside the short files instead of finishing alone at the end."""


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Move :data:`LONG_FILES` to the front; every other test keeps its order."""
    def rank(item: Any) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)
