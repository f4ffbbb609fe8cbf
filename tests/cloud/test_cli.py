"""``packline-cloud``: every command has --help, errors are one line, commands work on both engines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloud.cli import cli, render_table, run
from cloud.db import make_engine
from cloud.ledger_store import insert_moves
from edge.domain.models import MoveReason
from tests.cloud.helpers import make_move

ROOT = Path(__file__).resolve().parents[2]
HEAD = "0052_profit_monthly_sku"
"""The newest migration, written out (not read from Alembic)."""
COMMANDS = sorted(cli.commands)


def test_the_commands_we_ship() -> None:
    assert COMMANDS == ["adjust", "export-catalog", "fake-platform", "history", "import-catalog",
                        "ingest", "init-db", "map", "orders", "reports", "seed-demo", "serve", "shop",
                        "show-stock", "station", "user", "worker"]


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=["group", *COMMANDS])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: packline-cloud {' '.join(command)}".rstrip())
    assert "--help" in out
    doc = (cli.commands[command[0]] if command else cli).help
    assert doc and doc.splitlines()[0] in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 0
    assert "Commands:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["history", "--limit", "x"], 2, "错误 / error: Invalid value for '--limit': 'x' is not a valid integer range."),
        (["history", "--limit", "0"], 2, "错误 / error: Invalid value for '--limit': 0 is not in the range 1<=x<=10000."),
        (["nope"], 2, "错误 / error: No such command 'nope'."),
        (["show-stock", "--colour"], 2, "错误 / error: No such option '--colour'."),
        (["--db", "mysql://h/db", "show-stock"], 2,
         "错误 / error: 不支持的数据库 mysql (只支持 sqlite, postgresql) / unsupported database mysql (sqlite or postgresql only)"),
        (["--db", "", "init-db"], 2, "错误 / error: Invalid value for '--db': 不能为空 / must not be empty"),
    ],
)
def test_bad_arguments_give_one_line(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == message + "\n"


def test_bad_argument_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cloud", "--db", f"sqlite:///{tmp_path / 'c.db'}", "history", "--limit", "-3"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "错误 / error: Invalid value for '--limit': -3 is not in the range 1<=x<=10000.\n"


def test_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", "postgresql://nobody@127.0.0.1:1/none", "init-db"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误 / error: 无法连接数据库 / cannot open database postgresql+psycopg://nobody@127.0.0.1:1/none: ")
    assert err.count("\n") == 1


def test_commands_before_init_db_say_so(cloud_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["show-stock"], ["history"]):
        assert run(["--db", cloud_db_url, *command]) == 1
        assert capsys.readouterr().err == (
            "错误 / error: 数据库未初始化, 请先运行 init-db / database not initialised: run init-db first\n"
        )


def test_init_db_show_stock_and_history(cloud_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", cloud_db_url, "init-db"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"数据库已是最新版本 {HEAD}: ")
    assert run(["--lang", "en", "--db", cloud_db_url, "init-db"]) == 0
    assert capsys.readouterr().out.startswith(f"database at revision {HEAD}: ")

    assert run(["--db", cloud_db_url, "show-stock"]) == 0
    assert capsys.readouterr().out == "没有库存记录\n"

    engine = make_engine(cloud_db_url)
    try:
        with engine.begin() as conn:
            insert_moves(conn, [
                make_move(1, qty_delta=12, balance_after=12),
                make_move(2, qty_delta=-2, balance_after=10, reason=MoveReason.SHIP,
                          source_type="order", source_id="PDD-9"),
                make_move(3, qty_delta=3, balance_after=3, sku="杯子-大", location="B-02", station_id="st-2"),
                make_move(4, qty_delta=1, balance_after=1, warehouse_id="WH2"),
                make_move(5, qty_delta=-1, balance_after=0, warehouse_id="WH2"),
            ])
    finally:
        engine.dispose()

    assert run(["--db", cloud_db_url, "show-stock"]) == 0
    assert capsys.readouterr().out == (
        "仓库  SKU      库位  数量\n"
        "----  -------  ----  ----\n"
        "WH1   SKU-1    A-01    10\n"
        "WH1   杯子-大  B-02     3\n"
    )
    assert run(["--lang", "en", "--db", cloud_db_url, "show-stock", "--warehouse", "WH2", "--all"]) == 0
    assert capsys.readouterr().out == (
        "Warehouse  SKU    Location  Qty\n"
        "---------  -----  --------  ---\n"
        "WH2        SKU-1  A-01        0\n"
    )

    assert run(["--lang", "en", "--db", cloud_db_url, "history", "--warehouse", "WH1", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == [
        "Occurred", "(UTC)", "Warehouse", "Station", "SKU", "Location", "Delta", "Balance",
        "Reason", "Source", "Move", "id",
    ]
    assert lines[2].split() == [
        "2026-11-01", "08:03:00", "WH1", "st-2", "杯子-大", "B-02", "+3", "3", "Receive", "po:PO-1",
        make_move(3).move_id,
    ]
    assert lines[3].split() == [
        "2026-11-01", "08:02:00", "WH1", "st-1", "SKU-1", "A-01", "-2", "10", "Ship", "order:PDD-9",
        make_move(2).move_id,
    ]
    assert run(["--db", cloud_db_url, "history", "--sku", "杯子-大"]) == 0
    out = capsys.readouterr().out
    assert "采购入库" in out and out.count("\n") == 3


def test_render_table_pads_by_display_width() -> None:
    assert render_table(["名", "n"], [["杯子", "1"], ["ab", "22"]], right_align={1}) == (
        "名     n\n"
        "----  --\n"
        "杯子   1\n"
        "ab    22"
    )


def test_a_writing_command_takes_sqlites_write_lock_up_front(tmp_path: Path) -> None:
    """``adjust`` and the other writing commands read, then write: with a deferred
    transaction another writer (ingest) could commit in between and the command would fail
    half-way with "database is locked". Their transaction holds the write lock from its
    start; a read-only command's does not."""
    import sqlite3

    from cloud.cli.base import CliContext
    from cloud.config import CloudSettings
    from cloud.db import migrate

    db = tmp_path / "cloud.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    ctx = CliContext(CloudSettings(data_dir=tmp_path, database_url=f"sqlite:///{db}"), "en")

    def another_writer_can_begin() -> bool:
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError as err:
            assert "locked" in str(err)
            return False
        finally:
            other.close()

    with ctx.connect(write=True):
        assert not another_writer_can_begin()
    with ctx.connect():
        assert another_writer_can_begin()
    ctx.engine().dispose()


def test_station_list_and_set_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.sync.harness import make_cloud

    url = f"sqlite:///{tmp_path / 'c.db'}"
    make_cloud(tmp_path / "c.db", ("st-01", "st-02")).dispose()
    assert run(["--db", url, "station", "set-role", "st-02", "receive"]) == 0
    assert capsys.readouterr().out == "工作站 st-02 角色已设为 receive\n"
    assert run(["--lang", "en", "--db", url, "station", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Station", "Warehouse", "Role", "Last", "report", "Open", "tasks"]
    assert [ln.split() for ln in lines[2:]] == [["st-01", "WH1", "pack", "never", "reported", "0"],
                                               ["st-02", "WH1", "receive", "never", "reported", "0"]]
    assert run(["--db", url, "station", "set-role", "st-09", "pack"]) == 2
    assert "no such station" in capsys.readouterr().err
