"""Writing provisioning files: secrets 0600 (optionally handed to a service user), public 0644."""

from __future__ import annotations

import os
import pwd
import tempfile
from pathlib import Path


def _atomic_write(path: Path, data: bytes, mode: int, owner: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.fchown(fd, entry.pw_uid, entry.pw_gid)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes | str, owner: str | None = None) -> None:
    """Atomically write a secret with mode 0600, owned by ``owner`` when given (needs root)."""
    _atomic_write(path, data.encode() if isinstance(data, str) else data, 0o600, owner)


def write_public(path: Path, data: bytes | str, owner: str | None = None) -> None:
    """Atomically write a non-secret file with mode 0644."""
    _atomic_write(path, data.encode() if isinstance(data, str) else data, 0o644, owner)
