"""LTX version 3 files, the unit litestream 0.5 replicates (pure encoder and decoder).

Layout (all integers big-endian; see docs/specs/edge-devices-sync-backup.md §5.4):

    header   100 bytes   ``LTX1``, flags, page size, commit, min/max TXID, timestamp, ...
    pages    per page    pgno u32 | flags u16 (0x0001) | size u32 | LZ4 block
             then 6 zero bytes
    index    uvarints    (pgno, frame offset, frame size)..., 0, then u64 index length
    trailer  16 bytes    post-apply checksum (0 with NoChecksum) | file checksum

The file checksum is CRC-64/ISO (Go's ``hash/crc64`` ISO table) over the header, each
page's 10 frame bytes plus its *decompressed* data, the 6 zero bytes, the index and the
post-apply checksum field, with bit 63 set.  We always write flag ``0x2`` (NoChecksum)
and a zero post-apply checksum, exactly what litestream itself writes: a real one makes
``litestream restore`` fail.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import crcmod  # type: ignore[import-untyped]
import lz4.block

from edge.errors import CorruptReplica

MAGIC = b"LTX1"
HEADER_SIZE = 100
TRAILER_SIZE = 16
FLAG_NO_CHECKSUM = 0x2
PAGE_FLAG_SIZE = 0x0001
CHECKSUM_FLAG = 1 << 63
PENDING_BYTE = 0x40000000
SNAPSHOT_LEVEL = 9

_HEADER = struct.Struct(">4sIIIQQQQQQIIQ")
_FRAME = struct.Struct(">IHI")
_END_OF_PAGES = b"\x00" * 6

_crc_factory = crcmod.mkCrcFun(0x1000000000000001B, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
_crc_proto = crcmod.Crc(0x1000000000000001B, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


class Crc64:
    """Streaming CRC-64/ISO, the checksum LTX uses (C speed through crcmod)."""

    def __init__(self) -> None:
        self._crc = _crc_proto.new()  # copies the table instead of rebuilding it

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed more bytes."""
        self._crc.update(data)

    def value(self) -> int:
        """The CRC of everything fed so far."""
        return int(self._crc.crcValue)


def crc64(data: bytes) -> int:
    """CRC-64/ISO of ``data`` (``crc64(b"123456789") == 0xB90956C775A41001``)."""
    return int(_crc_factory(data))


def lock_pgno(page_size: int) -> int:
    """The page holding SQLite's PENDING_BYTE; it is never stored in an LTX file."""
    return PENDING_BYTE // page_size + 1


def filename(min_txid: int, max_txid: int) -> str:
    """``<min %016x>-<max %016x>.ltx``, as litestream names its files."""
    return f"{min_txid:016x}-{max_txid:016x}.ltx"


def parse_filename(name: str) -> tuple[int, int] | None:
    """The (min, max) TXIDs in an LTX file name, or None if it is not one."""
    if len(name) != 37 or not name.endswith(".ltx") or name[16] != "-":
        return None
    try:
        return int(name[:16], 16), int(name[17:33], 16)
    except ValueError:
        return None


@dataclass(frozen=True)
class Header:
    """The fields of an LTX header that we use."""

    page_size: int
    """Database page size in bytes."""
    commit: int
    """Database size in pages after applying the file."""
    min_txid: int
    """First transaction id in the file (1 means a full snapshot)."""
    max_txid: int
    """Last transaction id in the file."""
    timestamp_ms: int
    """Milliseconds since the epoch when the file was made."""
    flags: int = FLAG_NO_CHECKSUM
    """Header flags; only 0x2 (NoChecksum) is valid."""
    node_id: int = 0
    """The NodeID field (bytes 72-80).  Packline stores the database's lineage id here (see
    :mod:`edge.backup.lineage`); ``litestream restore`` ignores it."""

    @property
    def is_snapshot(self) -> bool:
        """A file with MinTXID 1 holds every page of the database."""
        return self.min_txid == 1

    def pack(self) -> bytes:
        """The 100 header bytes."""
        head = _HEADER.pack(
            MAGIC, self.flags, self.page_size, self.commit, self.min_txid, self.max_txid,
            self.timestamp_ms, 0, 0, 0, 0, 0, self.node_id,
        )
        return head + b"\x00" * (HEADER_SIZE - len(head))

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        """Parse and validate a header; raise CorruptReplica when it is not one."""
        if len(data) < HEADER_SIZE:
            raise CorruptReplica("LTX 头部不完整 / truncated LTX header")
        (magic, flags, page_size, commit, min_txid, max_txid, ts, pre, *_rest, node_id) = _HEADER.unpack(
            data[: _HEADER.size]
        )
        if magic != MAGIC:
            raise CorruptReplica("不是 LTX 文件 / not an LTX file (bad magic)")
        if flags & ~FLAG_NO_CHECKSUM:
            raise CorruptReplica(f"LTX 头部标志无效 / invalid LTX flags 0x{flags:x}")
        if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
            raise CorruptReplica(f"LTX 页大小无效 / invalid LTX page size {page_size}")
        if min_txid == 0 or max_txid < min_txid:
            raise CorruptReplica(f"LTX 事务号无效 / invalid LTX txids {min_txid}-{max_txid}")
        if pre != 0 and (flags & FLAG_NO_CHECKSUM or min_txid == 1):
            raise CorruptReplica("LTX 预校验和不应存在 / unexpected pre-apply checksum")
        return cls(page_size, commit, min_txid, max_txid, ts, flags, node_id)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = 0
    value = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise CorruptReplica("LTX 页索引损坏 / corrupt LTX page index")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


class Encoder:
    """Streams one LTX file to a binary writer.

    Pages must be given in ascending page order, each exactly ``page_size`` bytes.
    """

    def __init__(self, out: IO[bytes], header: Header, *, compress: bool = True) -> None:
        self._out = out
        self._header = header
        self._compress = compress
        self._crc = Crc64()
        self._index: list[tuple[int, int, int]] = []
        self._offset = 0
        self._last_pgno = 0
        self._lock = lock_pgno(header.page_size)
        self._write(header.pack())

    def _write(self, data: bytes, *, hashed: bool = True) -> None:
        self._out.write(data)
        if hashed:
            self._crc.update(data)
        self._offset += len(data)

    def add_page(self, pgno: int, data: bytes) -> None:
        """Append one page."""
        if pgno <= self._last_pgno:
            raise ValueError(f"pages out of order: {pgno} after {self._last_pgno}")
        if pgno == self._lock:
            raise ValueError(f"page {pgno} is the lock page and is never stored")
        if pgno > self._header.commit:
            raise ValueError(f"page {pgno} beyond commit {self._header.commit}")
        if len(data) != self._header.page_size:
            raise ValueError(f"page {pgno} has {len(data)} bytes, not {self._header.page_size}")
        self._last_pgno = pgno
        block = lz4.block.compress(data, store_size=False) if self._compress else _literal_block(data)
        frame = _FRAME.pack(pgno, PAGE_FLAG_SIZE, len(block))
        self._index.append((pgno, self._offset, len(frame) + len(block)))
        self._out.write(frame)
        self._out.write(block)
        self._offset += len(frame) + len(block)
        self._crc.update(frame)
        self._crc.update(data)

    def close(self) -> int:
        """Write the page-block end, the index and the trailer; return the file size."""
        self._write(_END_OF_PAGES)
        index = bytearray()
        for pgno, offset, size in self._index:
            index += _uvarint(pgno) + _uvarint(offset) + _uvarint(size)
        index += _uvarint(0)
        index += struct.pack(">Q", len(index))
        self._write(bytes(index))
        post_apply = struct.pack(">Q", 0)
        self._crc.update(post_apply)
        checksum = CHECKSUM_FLAG | self._crc.value()
        self._write(post_apply + struct.pack(">Q", checksum), hashed=False)
        return self._offset


def _literal_block(data: bytes) -> bytes:
    """An LZ4 block that holds ``data`` as literals only (valid without an LZ4 library)."""
    n = len(data)
    if n < 15:
        return bytes([n << 4]) + data
    rest = n - 15
    return b"\xf0" + b"\xff" * (rest // 255) + bytes([rest % 255]) + data


def encode(header: Header, pages: Iterable[tuple[int, bytes]], *, compress: bool = True) -> bytes:
    """Encode a whole LTX file in memory."""
    import io

    buf = io.BytesIO()
    enc = Encoder(buf, header, compress=compress)
    for pgno, data in pages:
        enc.add_page(pgno, data)
    enc.close()
    return buf.getvalue()


class Decoder:
    """Reads and validates an LTX file from a binary reader, streaming its pages.

    Iterate ``pages()`` to the end, then the file checksum has been checked; any
    mismatch or malformed part raises :class:`~edge.errors.CorruptReplica`.
    """

    def __init__(self, src: IO[bytes], *, name: str = "LTX") -> None:
        self._src = src
        self.name = name
        raw = self._src.read(HEADER_SIZE)
        if len(raw) != HEADER_SIZE:
            raise CorruptReplica(f"{name}: 文件被截断 / file is truncated")
        self.header = Header.unpack(raw)
        self._crc = Crc64()
        self._crc.update(raw)
        self.page_numbers: list[int] = []
        self.bytes_read = HEADER_SIZE
        """Bytes consumed from the source so far."""

    def _read(self, n: int) -> bytes:
        data = self._src.read(n)
        self.bytes_read += len(data)
        if len(data) != n:
            raise CorruptReplica(f"{self.name}: 文件被截断 / file is truncated")
        return bytes(data)

    def pages(self) -> Iterator[tuple[int, bytes]]:
        """Yield (pgno, page bytes) and verify index and checksum at the end."""
        hdr = self.header
        offset = HEADER_SIZE
        index: list[tuple[int, int, int]] = []
        last = 0
        while True:
            frame = self._read(6)
            pgno, flags = struct.unpack(">IH", frame)
            if pgno == 0:
                if flags != 0:
                    raise CorruptReplica(f"{self.name}: 页块结尾损坏 / bad page block end")
                self._crc.update(frame)
                offset += 6
                break
            if flags != PAGE_FLAG_SIZE:
                raise CorruptReplica(f"{self.name}: 页标志不支持 / unsupported page flags {flags:#x}")
            size_raw = self._read(4)
            (size,) = struct.unpack(">I", size_raw)
            if pgno <= last or size > 2 * hdr.page_size + 64:
                raise CorruptReplica(f"{self.name}: 页 {pgno} 头损坏 / bad frame for page {pgno}")
            block = self._read(size)
            try:
                data = lz4.block.decompress(block, uncompressed_size=hdr.page_size)
            except lz4.block.LZ4BlockError as err:
                raise CorruptReplica(f"{self.name}: 页 {pgno} 无法解压 / page {pgno} does not decompress") from err
            if len(data) != hdr.page_size:
                raise CorruptReplica(f"{self.name}: 页 {pgno} 大小错误 / page {pgno} has wrong size")
            self._crc.update(frame)
            self._crc.update(size_raw)
            self._crc.update(data)
            index.append((pgno, offset, 10 + size))
            offset += 10 + size
            last = pgno
            self.page_numbers.append(pgno)
            yield pgno, data
        # page index
        expected = bytearray()
        for pgno, off, size in index:
            expected += _uvarint(pgno) + _uvarint(off) + _uvarint(size)
        expected += _uvarint(0)
        expected += struct.pack(">Q", len(expected))
        got = self._read(len(expected))
        self._crc.update(got)
        if got != bytes(expected):
            raise CorruptReplica(f"{self.name}: 页索引不符 / page index does not match the pages")
        trailer = self._read(TRAILER_SIZE)
        if self._src.read(1):
            raise CorruptReplica(f"{self.name}: 结尾后有多余数据 / data after the trailer")
        post_apply, file_checksum = struct.unpack(">QQ", trailer)
        if hdr.flags & FLAG_NO_CHECKSUM and post_apply != 0:
            raise CorruptReplica(f"{self.name}: 不应有应用后校验和 / post-apply checksum not allowed")
        self._crc.update(trailer[:8])
        if file_checksum != CHECKSUM_FLAG | self._crc.value():
            raise CorruptReplica(f"{self.name}: 校验和不符 / file checksum mismatch")
        if hdr.is_snapshot:
            want = [p for p in range(1, hdr.commit + 1) if p != lock_pgno(hdr.page_size)]
            if self.page_numbers != want:
                raise CorruptReplica(f"{self.name}: 快照缺页 / snapshot does not hold every page")
        elif self.page_numbers and self.page_numbers[-1] > hdr.commit:
            raise CorruptReplica(f"{self.name}: 页号超出数据库大小 / page beyond commit size")


def decode(data: bytes, *, name: str = "LTX") -> tuple[Header, list[tuple[int, bytes]]]:
    """Decode and validate a whole LTX file held in memory."""
    import io

    dec = Decoder(io.BytesIO(data), name=name)
    pages = list(dec.pages())
    return dec.header, pages
