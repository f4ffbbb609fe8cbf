"""Test-wide plugins. Fixtures live in ``tests/fixtures/``; register new modules here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.edge_store",
    "tests.fixtures.postgres",
    "tests.fixtures.cloud_db",
    "tests.fixtures.mosquitto",
]
