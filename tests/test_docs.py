"""Docs that cannot drift: every CLI command and every move reason is in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloud.cli import cli as cloud_cli
from edge.__main__ import COMMANDS, cli
from edge.domain.models import MoveReason

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


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


NOT_BUILT = {
    "JD shops": r"\bJD\b|京东",
    "recurring cycle counts": r"cycle counts?",
}
"""Features README's "Not yet" list names: promised nowhere else in the overview."""


def overview() -> str:
    """README from the title to the first section, without its "Not yet" list."""
    head = README.split("\n## ", 1)[0]
    return head.split("### 尚未实现 / Not yet", 1)[0]


@pytest.mark.parametrize("feature", sorted(NOT_BUILT))
def test_the_overview_promises_nothing_that_is_not_built(feature: str) -> None:
    import cloud

    pattern = NOT_BUILT[feature]
    assert not re.search(pattern, overview(), re.I), f"README's overview promises {feature}"
    assert re.search(pattern, section("尚未实现 / Not yet"), re.I), f"{feature} not in 'Not yet'"
    promise = (cloud.__doc__ or "").split("not built yet", 1)[0]
    assert not re.search(pattern, promise.split(". ", 1)[0], re.I), f"cloud's docstring promises {feature}"


def test_the_overview_names_exactly_the_platforms_a_shop_can_be_added_for() -> None:
    add = cloud_cli.commands["shop"].commands["add"]  # type: ignore[attr-defined]
    platform = next(p for p in add.params if p.name == "platform")
    names = {"pdd": "Pinduoduo", "taobao": "Taobao", "jd": "JD"}
    first_line = overview().splitlines()[2]
    assert {code for code, name in names.items() if name in first_line} == set(platform.type.choices)


SOURCES = [p for top in ("edge", "cloud", "provisioning", "systemd")
           for p in sorted((ROOT / top).rglob("*")) if p.suffix in (".py", ".service", ".sh")]
"""Code and units whose comments may cite documents."""

DOC_PATH = re.compile(r"\bdocs/[\w./-]+\.md\b")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cited_documents_are_in_the_repository(path: Path) -> None:
    """Every cited document exists; a section sign (§) names the document it points into,
    in the same file; nothing points outside the repository."""
    text = path.read_text(encoding="utf-8")
    cited = set(DOC_PATH.findall(text))
    assert not [c for c in cited if not (ROOT / c).is_file()], f"{path}: missing {cited}"
    assert "shared/specs" not in text and not re.search(r"\bspec §", text)
    if "§" in text:
        assert cited, f"{path} cites sections (§) of no document in the repository"


def test_the_architecture_map_names_real_modules_and_commands() -> None:
    """docs/architecture.md names code paths that exist and every systemd unit."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:edge|cloud|provisioning|systemd|tests)/[\w./-]+)`", text))
    assert len(paths) > 20
    missing = [p for p in paths if not (ROOT / p.split(" ")[0]).exists()]
    assert missing == []
    for unit in sorted((ROOT / "systemd").glob("*.service")):
        assert unit.name in text, f"{unit.name} is not on the map"
    for kind in ("move", "shipment", "task", "intercept", "ack"):
        assert f"`{kind}`" in text
