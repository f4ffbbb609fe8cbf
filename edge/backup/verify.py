"""Verification restore: does the replica rebuild the database as it is?

The runner calls this now and then (``verify_interval``, default every 6 hours, and once
soon after it starts) while it holds a read transaction on the state it last shipped: the
replica is restored at that TXID with :func:`edge.backup.restore.restore` into a file in
the sidecar, and every page is compared with the live database's page in that state.  A
difference, a corrupt or missing file, or a chain that ends early is a failed verification:
``backup status`` turns red.  A replica that cannot be reached is no verdict; the runner
tries again later.  Cost: one download of the replica's snapshot and increments since, and
one read of the database; nothing runs between verifications.
"""

from __future__ import annotations

import contextlib
import os

from edge.backup import ltx
from edge.backup.dbread import PageView
from edge.backup.replica import Target
from edge.backup.restore import restore
from edge.errors import BackupError


def _remove(path: str) -> None:
    for suffix in ("", ".restoring", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


def compare_restore(target: Target, txid: int, view: PageView, workdir: str) -> str | None:
    """Restore ``txid`` and compare it with ``view`` (the database in that state).

    Returns None when they are equal, else why not (one line, Chinese then English).
    Raises :class:`~edge.backup.replica.TargetUnavailable` when the replica is unreachable.
    """
    from edge.backup.replica import TargetUnavailable

    out = os.path.join(workdir, "verify.db")
    _remove(out)
    try:
        try:
            res = restore(target, out, txid=txid, integrity_check=False)
        except TargetUnavailable:
            raise
        except BackupError as err:
            return f"txid {txid}: {err}"
        if res.txid != txid or not res.complete:
            return (f"txid {txid}: 恢复只到 txid {res.txid} / the restore stopped at TXID {res.txid}"
                    + (f" ({'; '.join(res.warnings)})" if res.warnings else ""))
        ps = view.page_size
        size = os.path.getsize(out)
        if size != view.page_count * ps:
            return (f"txid {txid}: 恢复的数据库有 {size // ps} 页，数据库有 {view.page_count} 页 / "
                    f"the restored copy has {size // ps} pages, the database {view.page_count}")
        lock = ltx.lock_pgno(ps)
        with open(out, "rb", buffering=1 << 20) as f:
            for pgno, data in view.pages(1, view.page_count):
                got = f.read(ps)
                if pgno != lock and got != data:
                    return (f"txid {txid}: 恢复的第 {pgno} 页与数据库不同 / "
                            f"page {pgno} of the restored copy differs from the database")
        return None
    finally:
        _remove(out)
