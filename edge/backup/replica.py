"""Replica targets: where LTX files go, in litestream 0.5's layout.

- ``s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1`` keeps
  ``<prefix>/<level %04x>/<min>-<max>.ltx`` with user metadata
  ``litestream-timestamp`` (what ``litestream restore -timestamp`` reads).  The boto3
  client can be injected; otherwise one is built with path-style addressing, short
  timeouts and few retries (the runner does its own backoff).
- ``file:///path`` keeps ``<path>/ltx/<level>/<min>-<max>.ltx``, litestream's file
  replica layout; files are written to ``*.tmp`` and renamed, and their mtime is the
  file's timestamp (litestream's file client uses mtime as the creation time).

Both are atomic per object: an upload killed half way leaves nothing (S3) or a
``.tmp`` file nobody reads (file).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

from edge.backup import ltx
from edge.errors import BackupError, ConfigError


@dataclass(frozen=True)
class FileInfo:
    """One LTX object in a replica."""

    level: int
    """Compaction level (0 = incremental, 9 = snapshot)."""
    min_txid: int
    """First transaction id covered."""
    max_txid: int
    """Last transaction id covered."""
    size: int
    """Size in bytes."""
    created: dt.datetime | None = None
    """Upload time as the store reports it (S3 LastModified / file mtime)."""

    @property
    def name(self) -> str:
        """The object's file name."""
        return ltx.filename(self.min_txid, self.max_txid)


def iso_ms(timestamp_ms: int) -> str:
    """RFC 3339 UTC with milliseconds and ``Z``, as litestream writes its metadata."""
    t = dt.datetime.fromtimestamp(timestamp_ms / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class Target(Protocol):
    """A place LTX files are stored: the port the replicator and restore use."""

    url: str

    def put(self, level: int, min_txid: int, max_txid: int, path: str, timestamp_ms: int) -> None:
        """Store the LTX file at ``path`` (atomically)."""

    def files(self, level: int) -> list[FileInfo]:
        """Files at ``level`` in TXID order."""

    def open(self, info: FileInfo) -> IO[bytes]:
        """A readable binary stream of the whole file; the caller closes it."""

    def read_header(self, info: FileInfo) -> bytes:
        """The first 100 bytes of the file."""

    def delete(self, infos: list[FileInfo]) -> None:
        """Remove files (missing ones are ignored)."""


class TargetUnavailable(BackupError):
    """The replica could not be reached or read (network, permissions): not a verdict on
    its content."""


def _sort(infos: list[FileInfo]) -> list[FileInfo]:
    return sorted(infos, key=lambda i: (i.min_txid, i.max_txid))


class FileTarget:
    """A replica in a local directory (litestream's ``file://`` layout)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.url = "file://" + root

    def _dir(self, level: int) -> str:
        return os.path.join(self.root, "ltx", str(level))

    def _path(self, level: int, min_txid: int, max_txid: int) -> str:
        return os.path.join(self._dir(level), ltx.filename(min_txid, max_txid))

    def put(self, level: int, min_txid: int, max_txid: int, path: str, timestamp_ms: int) -> None:
        """Copy to ``<name>.tmp``, fsync, rename, set mtime to the timestamp."""
        try:
            os.makedirs(self._dir(level), exist_ok=True)
            dest = self._path(level, min_txid, max_txid)
            tmp = dest + ".tmp"
            with open(path, "rb") as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.utime(tmp, ns=(timestamp_ms * 1_000_000, timestamp_ms * 1_000_000))
            os.replace(tmp, dest)
        except OSError as err:
            raise TargetUnavailable(f"写入备份目录失败 / cannot write replica {self.root}: {err}") from err

    def files(self, level: int) -> list[FileInfo]:
        """Files at ``level``."""
        try:
            names = os.listdir(self._dir(level))
        except FileNotFoundError:
            return []
        except OSError as err:
            raise TargetUnavailable(f"无法列出备份 / cannot list replica {self.root}: {err}") from err
        out = []
        for name in names:
            parsed = ltx.parse_filename(name)
            if parsed is None:
                continue
            st = os.stat(os.path.join(self._dir(level), name))
            created = dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC)
            out.append(FileInfo(level, parsed[0], parsed[1], st.st_size, created))
        return _sort(out)

    def open(self, info: FileInfo) -> IO[bytes]:
        """Open the file for reading."""
        try:
            return open(self._path(info.level, info.min_txid, info.max_txid), "rb", buffering=1 << 20)
        except OSError as err:
            raise TargetUnavailable(f"无法读取备份文件 / cannot read {info.name}: {err}") from err

    def read_header(self, info: FileInfo) -> bytes:
        """First 100 bytes."""
        with self.open(info) as f:
            return f.read(ltx.HEADER_SIZE)

    def delete(self, infos: list[FileInfo]) -> None:
        """Remove files."""
        for info in infos:
            try:
                os.remove(self._path(info.level, info.min_txid, info.max_txid))
            except FileNotFoundError:
                pass


class S3Target:
    """A replica under a prefix of an S3 bucket (litestream 0.5 key layout)."""

    def __init__(self, client: Any, bucket: str, prefix: str, url: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = url or f"s3://{bucket}/{self.prefix}"

    def _level_prefix(self, level: int) -> str:
        head = f"{self.prefix}/" if self.prefix else ""
        return f"{head}{level:04x}/"

    def _key(self, level: int, min_txid: int, max_txid: int) -> str:
        return self._level_prefix(level) + ltx.filename(min_txid, max_txid)

    def _fail(self, what: str, err: Exception) -> BackupError:
        return TargetUnavailable(f"S3 {what} 失败 / S3 {what} failed ({self.url}): {err}")

    def put(self, level: int, min_txid: int, max_txid: int, path: str, timestamp_ms: int) -> None:
        """One PutObject (atomic: a killed upload leaves no object)."""
        try:
            with open(path, "rb") as body:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._key(level, min_txid, max_txid),
                    Body=body,
                    Metadata={"litestream-timestamp": iso_ms(timestamp_ms)},
                )
        except Exception as err:
            raise self._fail("上传 upload", err) from err

    def files(self, level: int) -> list[FileInfo]:
        """ListObjectsV2 under the level prefix."""
        out = []
        try:
            token: str | None = None
            while True:
                kw: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._level_prefix(level)}
                if token:
                    kw["ContinuationToken"] = token
                page = self.client.list_objects_v2(**kw)
                for obj in page.get("Contents", []):
                    name = obj["Key"].rsplit("/", 1)[-1]
                    parsed = ltx.parse_filename(name)
                    if parsed is not None:
                        out.append(
                            FileInfo(level, parsed[0], parsed[1], int(obj["Size"]), obj.get("LastModified"))
                        )
                if not page.get("IsTruncated"):
                    break
                token = page.get("NextContinuationToken")
        except Exception as err:
            raise self._fail("列表 list", err) from err
        return _sort(out)

    def open(self, info: FileInfo) -> IO[bytes]:
        """Download into a spooled temporary file and return it at offset 0."""
        tmp = tempfile.SpooledTemporaryFile(max_size=16 << 20)
        try:
            self.client.download_fileobj(self.bucket, self._key(info.level, info.min_txid, info.max_txid), tmp)
        except Exception as err:
            tmp.close()
            raise self._fail("下载 download", err) from err
        tmp.seek(0)
        return tmp  # type: ignore[return-value]

    def read_header(self, info: FileInfo) -> bytes:
        """Ranged GET of the header."""
        try:
            resp = self.client.get_object(
                Bucket=self.bucket,
                Key=self._key(info.level, info.min_txid, info.max_txid),
                Range=f"bytes=0-{ltx.HEADER_SIZE - 1}",
            )
            return bytes(resp["Body"].read())
        except Exception as err:
            raise self._fail("读取 read", err) from err

    def delete(self, infos: list[FileInfo]) -> None:
        """DeleteObjects in batches of 1000."""
        keys = [{"Key": self._key(i.level, i.min_txid, i.max_txid)} for i in infos]
        try:
            for start in range(0, len(keys), 1000):
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
                )
        except Exception as err:
            raise self._fail("删除 delete", err) from err


def make_s3_client(endpoint: str | None, region: str | None) -> Any:
    """A boto3 S3 client with path-style addressing and short timeouts."""
    import boto3
    from botocore.config import Config

    cfg = Config(
        s3={"addressing_style": "path"},
        connect_timeout=3,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client("s3", endpoint_url=endpoint, region_name=region or "us-east-1", config=cfg)


def open_target(url: str, *, s3_client: Any = None) -> Target:
    """Build a target from its URL (``s3://...`` or ``file:///...``)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = unquote(parsed.path)
        if not path.startswith("/"):
            raise ConfigError(f"file:// 备份地址须为绝对路径 / file:// replica needs an absolute path: {url}")
        return FileTarget(path.rstrip("/") or "/")
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigError(f"S3 地址缺少存储桶 / S3 URL has no bucket: {url}")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        client = s3_client or make_s3_client(query.get("endpoint"), query.get("region"))
        return S3Target(client, parsed.netloc, unquote(parsed.path), url)
    raise ConfigError(f"不支持的备份地址 / unsupported replica URL (use s3:// or file://): {url}")


def iter_levels(target: Target, levels: range = range(0, 9)) -> Iterator[FileInfo]:
    """Every file on the given levels."""
    for level in levels:
        yield from target.files(level)
