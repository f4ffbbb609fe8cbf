"""Docs that cannot drift: every CLI command and every move reason is in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloud.cli import cli as cloud_cli
from edge.__main__ import COMMANDS, cli
from edge.domain.models import MoveReason

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^##+ {re.escape(title)}\s*$(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


COMMAND_NAMES = sorted(set(COMMANDS) | set(cli.commands))


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_command_is_documented(name: str) -> None:
    assert re.search(rf"`{re.escape(name)}(`| )", section("命令参考 / Command reference")), \
        f"command {name} is missing from README's command reference"


@pytest.mark.parametrize("name", sorted(cloud_cli.commands))
def test_cloud_command_is_documented(name: str) -> None:
    assert re.search(rf"`{re.escape(name)}(`| )", section("云端命令 / Cloud commands")), \
        f"cloud command {name} is missing from README's cloud command reference"


@pytest.mark.parametrize("reason", list(MoveReason), ids=lambda r: r.name)
def test_move_reason_is_documented(reason: MoveReason) -> None:
    table = section("Move reasons")
    row = re.search(rf"^\|\s*{int(reason)}\s*\|\s*`{reason.name}`\s*\|(.*)$", table, re.M)
    assert row, f"{reason.name} ({int(reason)}) is missing from README's Move reasons table"
    assert reason.label_zh in row.group(1) and reason.label_en in row.group(1)
