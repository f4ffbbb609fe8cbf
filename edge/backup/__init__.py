"""Continuous backup of the station database in litestream 0.5's replica format.

- :mod:`edge.backup.ltx`: LTX v3 encoder/decoder (pure; CRC-64 via crcmod, LZ4 blocks).
- :mod:`edge.backup.dbread`: a consistent, copy-free view of the live database's pages.
- :mod:`edge.backup.replica`: ``s3://`` and ``file://`` targets in litestream's layout.
- :mod:`edge.backup.replicator`: page-hash diffing, spool, upload, retention.
- :mod:`edge.backup.walguard`: the runner's own connection and read transaction; checkpoints.
- :mod:`edge.backup.lineage`: which database a replica belongs to (refuses another's).
- :mod:`edge.backup.verify`: verification restores compared page by page with the database.
- :mod:`edge.backup.sidecar`, :mod:`edge.backup.health`: ``meta.json`` and the health it gives.
- :mod:`edge.backup.runner`: :class:`BackupRunner`, the background loop.
- :mod:`edge.backup.restore`: restore without the litestream binary.
- :mod:`edge.backup.cli`: ``backup run``, ``backup status``, ``restore`` click commands.

The replica can also be restored by ``litestream restore`` 0.5.
"""

from edge.backup.replica import FileTarget, S3Target, Target, open_target
from edge.backup.replicator import BackupHealth, Replicator
from edge.backup.restore import RestoreResult, restore
from edge.backup.runner import BackupRunner

__all__ = [
    "BackupHealth",
    "BackupRunner",
    "FileTarget",
    "Replicator",
    "RestoreResult",
    "S3Target",
    "Target",
    "open_target",
    "restore",
]
