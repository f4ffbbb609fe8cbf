"""Test-wide plugins. Fixtures live in ``tests/fixtures/``; register new modules here."""

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.cloud_db",
]
