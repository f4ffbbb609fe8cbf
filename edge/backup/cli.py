"""Click commands for backups: ``backup run``, ``backup status`` and ``restore``.

The lead mounts :data:`backup_group` and :data:`restore_command` on ``packline-edge``;
``python -m edge.backup`` runs them standalone.  Messages are Chinese then English;
errors are one line, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from types import FrameType

import click

from edge.backup.health import DEFAULT_VERIFY_INTERVAL
from edge.backup.lineage import ReplicaMismatch
from edge.backup.replica import open_target
from edge.backup.replicator import read_health
from edge.backup.restore import restore
from edge.backup.runner import BackupRunner
from edge.cli.common import BadArguments, Command, UserError
from edge.errors import EdgeError


def _db_from_parent(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """``--db`` here, else ``packline-edge --db`` (or its default) when mounted there."""
    if value:
        return value
    root = ctx.find_root().obj
    if isinstance(root, dict) and root.get("db_path"):
        return str(root["db_path"])
    raise click.BadParameter("需要数据库路径 / a database path is required", param_hint="'--db'")


_DB = click.option(
    "--db", "db_path", envvar="PACKLINE_DB", default=None, type=click.Path(dir_okay=False),
    callback=_db_from_parent,
    help="站点数据库 / station database (env PACKLINE_DB; default: packline-edge --db)",
)
_TARGET = click.option(
    "--target", "target_url", envvar="PACKLINE_BACKUP_URL", required=True,
    help="备份地址 / replica URL: s3://bucket/prefix?endpoint=...&region=... or file:///path "
    "(env PACKLINE_BACKUP_URL)",
)


def parse_txid(value: str) -> int:
    """A TXID as litestream prints it (16 hex digits), ``0x..`` hex, or decimal."""
    v = value.strip().lower()
    try:
        if len(v) == 16:
            return int(v, 16)
        if v.startswith("0x"):
            return int(v, 16)
        return int(v, 10)
    except ValueError as err:
        raise click.BadParameter(f"无效的事务号 / invalid TXID: {value}") from err


def parse_time(value: str) -> dt.datetime:
    """ISO 8601 / RFC 3339; a value without a zone is taken as UTC."""
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise click.BadParameter(f"无效的时间 / invalid timestamp: {value}") from err
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@click.group("backup")
def backup_group() -> None:
    """持续备份 / continuous backup of the station database."""


@backup_group.command("run")
@_DB
@_TARGET
@click.option("--interval", default=3.0, show_default=True, help="写入后多少秒备份 / seconds after a write")
@click.option("--snapshot-interval", default=3600.0, show_default=True, help="全量快照间隔秒 / seconds between snapshots")
@click.option("--retention", default=86400.0, show_default=True, help="快照保留秒 / keep snapshots (seconds)")
@click.option("--verify-interval", default=DEFAULT_VERIFY_INTERVAL, show_default=True,
              help="恢复验证间隔秒（0 每次）/ seconds between verification restores (0: every sync)")
@click.option("--once", is_flag=True, help="同步一次后退出 / sync once and exit")
def run_command(
    db_path: str, target_url: str, interval: float, snapshot_interval: float, retention: float,
    verify_interval: float, once: bool,
) -> None:
    """持续备份到目标 / replicate the database to the target until stopped."""
    try:
        runner = BackupRunner(
            db_path, target_url, interval=interval, snapshot_interval=snapshot_interval, retention=retention,
            verify_interval=verify_interval,
        )
        if once:
            txid = runner.replicator.sync()
            h = runner.health()
            click.echo(h.summary() + (f" (新 txid {txid} / new TXID)" if txid else ""))
            if h.level == "error":
                raise SystemExit(1)
            return
    except ReplicaMismatch as err:
        raise _user_error(err) from err
    except EdgeError as err:
        raise click.ClickException(str(err)) from err
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"备份开始 / backup running: {db_path} -> {runner.health().target}")
    runner.run(stop)
    if runner.refused is not None:
        raise _user_error(runner.refused)
    click.echo(runner.health().summary())


def _user_error(err: Exception) -> click.ClickException:
    from edge.cli.common import UserError

    return UserError(str(err))


@backup_group.command("status")
@_DB
@click.option("--target", "target_url", envvar="PACKLINE_BACKUP_URL", default=None, help="同时查看远端 / also list the replica")
def status_command(db_path: str, target_url: str | None) -> None:
    """显示备份状态 / show backup health (local; with --target also the replica).

    Exit status 1 when the backup fails or its last verification restore did not match."""
    try:
        # Read-only: a Replicator here would tidy the spool under a running backup's feet.
        h = read_health(db_path)
        if h is None:
            click.echo("尚未备份过 / never backed up")
        else:
            click.echo(h.summary())
        if target_url:
            target = open_target(target_url)
            from edge.backup.replica import iter_levels

            infos = list(iter_levels(target, range(0, 10)))
            snaps = [i for i in infos if i.level == 9]
            top = max((i.max_txid for i in infos), default=0)
            click.echo(f"远端 / replica: {len(infos)} 个文件 files, {len(snaps)} 个快照 snapshots, 最新 txid latest {top}")
    except EdgeError as err:
        raise click.ClickException(str(err)) from err
    if h is not None and h.level == "error":
        raise SystemExit(1)


@click.command("restore", cls=Command)  # usage errors: one "错误 / error:" line
@_TARGET
@click.option("--txid", default=None, help="恢复到该事务 / restore to this TXID (16 hex digits or decimal)")
@click.option("--at", "at", default=None, help="恢复到该时间之前 / restore to the state before this time (ISO 8601)")
@click.option("--no-check", is_flag=True, help="跳过完整性检查 / skip PRAGMA integrity_check")
@click.option("--no-resync-mark", is_flag=True,
              help="不标记重新同步（仅查看备份）/ do not mark the copy for a resync (inspection only)")
@click.argument("out", type=click.Path(dir_okay=False))
def restore_command(
    target_url: str, txid: str | None, at: str | None, no_check: bool, no_resync_mark: bool, out: str,
) -> None:
    """从备份恢复数据库到 OUT / restore the database from the replica into OUT.

    A station database is marked so that its sync daemon resyncs with the cloud once on its
    first start (``edge.sync.resync``; docs/restore-drill.md)."""
    if txid is not None and at is not None:
        raise BadArguments("--txid 与 --at 只能选一个 / give --txid or --at, not both")
    try:
        want_txid = parse_txid(txid) if txid is not None else None
        want_time = parse_time(at) if at is not None else None
    except click.BadParameter as err:
        raise BadArguments(err.message) from err
    try:
        target = open_target(target_url)
        with click.progressbar(length=1, label="恢复中 / restoring", show_pos=False) as bar:
            state = {"done": 0}

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - state["done"])
                state["done"] = done

            result = restore(
                target, out, txid=want_txid, timestamp=want_time, progress=progress, integrity_check=not no_check
            )
    except EdgeError as err:
        raise UserError(str(err)) from err
    for w in result.warnings:
        click.echo(f"警告 / warning: {w}", err=True)
    if not no_resync_mark:
        from edge.sync.resync import mark_restored

        if mark_restored(out, txid=result.txid, restore_point=result.timestamp):
            click.echo("已标记：同步服务首次启动时将与云端重新同步一次 / "
                       "marked: the sync daemon resyncs with the cloud once on its first start")
    when = result.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC" if result.timestamp else "-"
    click.echo(f"已恢复 / restored {out}: txid {result.txid} ({result.txid:016x}), {when}, {len(result.files)} 个文件 files")
    if not result.complete:
        raise SystemExit(3)


@click.group()
def main() -> None:
    """Packline 备份工具 / backup tools."""


main.add_command(backup_group)
main.add_command(restore_command)
