"""Shared fixtures. Service fixtures (PostgreSQL, mosquitto, moto) live in tests/fixtures/."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.edge_store",
    "tests.fixtures.mosquitto",
    "tests.fixtures.postgres",
    "tests.fixtures.cloud_db",
]
