"""Import direction, checked by importing modules in fresh interpreters (harlequin's way): each station
core module alone; the cloud modules all together, then one by one to name a culprit.

The domain, the store and the wire schema must not pull in UI, device or network libraries;
cloud modules must not pull in the station's store, UI or hardware code.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_LIBS = ("textual", "rich", "evdev", "serial", "escpos", "paho", "httpx", "boto3")
FORBIDDEN_IN_CLOUD = ("edge.store", "edge.ui", "edge.hardware")


def modules_under(package: str) -> list[str]:
    """The package and every module below it, found on disk with pkgutil."""
    pkg = importlib.import_module(package)
    found = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        found.append(info.name)
    return sorted(found)


def imported_after(module: str) -> list[str]:
    """Names in ``sys.modules`` after importing ``module`` in a fresh interpreter."""
    code = f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    names: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return names


EDGE_CORE = [*modules_under("edge.domain"), *modules_under("edge.store"), "edge.sync.schema"]


@pytest.mark.parametrize("module", EDGE_CORE)
def test_edge_core_imports_no_ui_device_or_network_library(module: str) -> None:
    loaded = imported_after(module)
    assert module in loaded
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_LIBS)
    assert bad == [], f"{module} pulls in {bad}"


def imported_after_all(modules: list[str]) -> list[str]:
    """Names in ``sys.modules`` after importing every one of ``modules`` in one fresh
    interpreter: the union of what each pulls in (a module's body runs once, whichever
    import comes first), so a forbidden name absent here is absent for each of them."""
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    names: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return names


def station_parts(loaded: list[str]) -> list[str]:
    """The station modules among ``loaded`` that no cloud module may pull in."""
    return sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_CLOUD))


def test_cloud_modules_do_not_import_the_station() -> None:
    # Alembic's env.py and revision scripts only run inside alembic; everything else is imported.
    cloud = [m for m in modules_under("cloud") if ".alembic" not in m]
    assert "cloud" in cloud and "cloud.db" in cloud
    loaded = imported_after_all(cloud)
    assert set(cloud) <= set(loaded)
    if station_parts(loaded):                 # name the culprit: each module on its own
        culprits = {m: bad for m in cloud if (bad := station_parts(imported_after(m)))}
        raise AssertionError(f"cloud modules pull in the station: {culprits}")


def test_the_check_itself_sees_a_forbidden_import() -> None:
    """Guard against a vacuous test: a module known to import click is seen doing so, and a
    forked import of a station module is seen pulling in the station's store."""
    assert "click" in imported_after("edge.__main__")
    assert station_parts(imported_after_all(["cloud.db", "edge.store.writer"])) != []


FILE_IO_CALLS = {"open", "read_bytes", "read_text", "write_bytes", "write_text", "fdopen",
                 "mkdir", "unlink", "rmdir", "iterdir", "glob"}
"""Calls that touch the file system (builtin ``open`` and the ``Path``/``os`` methods)."""

FILE_IO_MODULES = ("os", "shutil", "tempfile")
"""Modules whose import alone means file-system work here (``pathlib.Path`` likewise)."""


def file_io_in(source: str) -> list[str]:
    """Where ``source`` touches files: :data:`FILE_IO_CALLS`, ``pathlib.Path`` and
    :data:`FILE_IO_MODULES` imported in either form."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in FILE_IO_CALLS:
                found.append(f"{name}() at line {node.lineno}")
        if isinstance(node, ast.ImportFrom) and node.module == "pathlib":
            found += [f"pathlib.{a.name} at line {node.lineno}" for a in node.names
                      if a.name == "Path"]
        if isinstance(node, ast.ImportFrom) and node.module in FILE_IO_MODULES:
            found += [f"from {node.module} import {a.name} at line {node.lineno}"
                      for a in node.names]
        if isinstance(node, ast.Import):
            found += [f"import {a.name} at line {node.lineno}" for a in node.names
                      if a.name in FILE_IO_MODULES]
    return found


@pytest.mark.parametrize("module", [m for m in modules_under("edge.domain")])
def test_the_domain_does_no_file_io(module: str) -> None:
    """``edge.domain`` takes and returns bytes and rows; reading and writing files is
    ``edge.fileio`` (the key file, catalog spreadsheets) — so the cloud and tests can use
    the domain on data from anywhere, and its functions stay pure."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    found = file_io_in(Path(spec.origin).read_text(encoding="utf-8"))
    assert found == [], f"{module} does file I/O: {found}"


def test_the_file_io_check_sees_file_io() -> None:
    """Guard against a vacuous scan: ``edge.fileio``, which reads and writes the domain's
    files, is seen doing so, and so is each form a domain module could slip in."""
    spec = importlib.util.find_spec("edge.fileio")
    assert spec is not None and spec.origin is not None
    assert file_io_in(Path(spec.origin).read_text(encoding="utf-8"))
    for line in ("open('k')", "Path('k').read_bytes()", "p.write_text('x')",
                 "os.fdopen(3)", "from os import replace", "import shutil",
                 "from pathlib import Path", "import tempfile"):
        assert file_io_in(line), line
    assert file_io_in("from pathlib import PurePosixPath\nx = b'a'.decode()") == []
