"""CLI fixtures: run ``edge.__main__.cli`` in-process against a database in a temp dir."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edge.__main__ import cli

Run = Callable[..., Result]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "station" / "edge.db"


@pytest.fixture
def run(db: Path) -> Run:
    """``run("stock", "--sku", "X")`` → click Result (stdout and stderr kept apart)."""
    runner = CliRunner()

    def invoke(*args: str, db_path: Path | None = None) -> Result:
        return runner.invoke(cli, ["--db", str(db_path or db), *args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database seeded by the real command (seed 5, 40 orders), copied for each test."""
    db = tmp_path_factory.mktemp("template") / "edge.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "seed-demo", "--seed", "5", "--orders", "40"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def seeded(run: Run, db: Path, seeded_template: Path) -> Run:
    """A station seeded with demo data (40 orders): a fresh copy of the template."""
    db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".key"):
        shutil.copy2(f"{seeded_template}{suffix}", f"{db}{suffix}")
    return run
