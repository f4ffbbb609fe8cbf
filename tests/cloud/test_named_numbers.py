"""The cloud's order and sync code names its numbers (issue #12 item 5): batch sizes,
limits, backoffs and retry counts are module constants or settings with a docstring that
says why, never a bare literal inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cloud/orders", "cloud/sync")

PLAIN = {0, 1, 2, -1, 100}
"""Numbers that explain themselves: zero, one, a pair or a doubling, "the last", percent."""


def bare_numbers(source: str) -> list[str]:
    """Numeric literals inside a function (its body or its defaults), except
    :data:`PLAIN` ones and slice bounds (``text[:64]`` cuts to a column's width, which the
    schema names)."""
    tree = ast.parse(source)
    parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            continue
        if node.value in PLAIN:
            continue
        up, in_slice, in_function = node, False, False
        while up in parent:
            up = parent[up]
            in_slice = in_slice or isinstance(up, ast.Slice)
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                in_function = True
                break
        if in_function and not in_slice:
            found.append(f"{node.value!r} at line {node.lineno}")
    return found


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for package in PACKAGES
                                        for p in (ROOT / package).glob("*.py")))
def test_no_bare_numbers_in_functions(path: str) -> None:
    found = bare_numbers((ROOT / path).read_text(encoding="utf-8"))
    assert found == [], f"{path}: name these numbers (a constant or setting with a docstring): {found}"


def test_the_check_sees_a_bare_number() -> None:
    """Guard against a vacuous scan: the shapes it must catch, and the ones it lets pass."""
    source = '''
LIMIT = 500

def f(ids, limit=200):
    for i in range(0, len(ids), 500):
        time.sleep(0.2 * i)
    return ids[:64], limit * 2, LIMIT, -1
'''
    assert bare_numbers(source) == ["200 at line 4", "500 at line 5", "0.2 at line 6"]
