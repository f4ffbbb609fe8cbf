"""``python -m edge`` as a user runs it: errors are one line on stderr, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def edge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 50)
    cases = [
        (["--db", str(tmp_path / "missing.db"), "stock"], 1, "run init first"),
        (["--db", str(junk), "history"], 1, "database"),
        (["--db", str(tmp_path / "e.db"), "adjust", "--qty", "x"], 2, "bad arguments"),
        (["--db", str(tmp_path / "e.db"), "import-catalog"], 2, "FILE"),
    ]
    for args, code, needle in cases:
        proc = edge(*args)
        assert proc.returncode == code, (args, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, proc.stderr)


def test_init_and_help_in_a_real_process(tmp_path: Path) -> None:
    db = tmp_path / "s" / "edge.db"
    proc = edge("--db", str(db), "init", "--station", "ST1", "--warehouse", "WH1")
    assert proc.returncode == 0 and "ST1" in proc.stdout
    again = edge("--db", str(db), "import-catalog", str(tmp_path / "missing.xlsx"))
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "no such file" in again.stderr
    helped = edge("--help")
    assert helped.returncode == 0
    for name in ("init", "import-catalog", "export-catalog", "stock", "history", "adjust",
                 "reverse", "seed-demo", "check"):
        assert f"  {name} " in helped.stdout
