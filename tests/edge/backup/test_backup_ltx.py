"""LTX v3 encoder/decoder: exact bytes, round trips, checksums."""

from __future__ import annotations

import io
import struct

import lz4.block
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.backup import ltx
from edge.errors import CorruptReplica

PS = 512


def page(seed: int, size: int = PS) -> bytes:
    return bytes((seed * 31 + i * 7) % 251 for i in range(size))


def test_crc64_iso_test_vector() -> None:
    assert ltx.crc64(b"123456789") == 0xB90956C775A41001
    c = ltx.Crc64()
    c.update(b"1234")
    c.update(b"56789")
    assert c.value() == 0xB90956C775A41001


def test_header_bytes_are_exact() -> None:
    hdr = ltx.Header(page_size=4096, commit=3, min_txid=2, max_txid=5, timestamp_ms=1_700_000_000_123)
    raw = hdr.pack()
    assert len(raw) == 100
    assert raw[:4] == b"LTX1"
    assert struct.unpack(">IIIQQQ", raw[4:40]) == (2, 4096, 3, 2, 5, 1_700_000_000_123)
    assert raw[40:] == b"\x00" * 60
    assert ltx.Header.unpack(raw) == hdr


def test_file_layout_and_checksum_by_hand() -> None:
    data = b"\x07" * PS  # compresses to a block of a few bytes, so index uvarints are 1 byte
    out = ltx.encode(ltx.Header(PS, 1, 1, 1, 42), [(1, data)])
    block = lz4.block.compress(data, store_size=False)
    frame = struct.pack(">IHI", 1, 1, len(block))
    assert out[100:110] == frame
    assert out[110 : 110 + len(block)] == block
    pos = 110 + len(block)
    assert out[pos : pos + 6] == b"\x00" * 6
    assert 10 + len(block) < 128
    index = bytes([1, 100, 10 + len(block), 0]) + struct.pack(">Q", 4)
    assert out[pos + 6 : pos + 6 + len(index)] == index
    trailer = out[pos + 6 + len(index) :]
    assert len(trailer) == 16 and trailer[:8] == b"\x00" * 8
    # The file checksum covers decompressed page data, not the LZ4 block.
    crc = ltx.crc64(out[:100] + frame + data + b"\x00" * 6 + index + b"\x00" * 8)
    assert struct.unpack(">Q", trailer[8:])[0] == (1 << 63) | crc


def test_literal_only_block_matches_the_spec_and_decodes() -> None:
    p = bytes(range(256)) * 16
    block = ltx._literal_block(p)
    assert block[:18] == b"\xf0" + b"\xff" * 16 + b"\x01"
    assert len(block) == 4114
    assert lz4.block.decompress(block, uncompressed_size=4096) == p
    assert ltx._literal_block(b"abc") == b"\x30abc"
    raw = ltx.encode(ltx.Header(4096, 1, 1, 1, 1), [(1, p)], compress=False)
    assert ltx.decode(raw)[1] == [(1, p)]


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.integers(min_value=1, max_value=40), min_size=0, max_size=12),
    st.integers(min_value=2, max_value=1_000_000),
    st.booleans(),
    st.binary(min_size=0, max_size=64),
)
def test_round_trip_increment(pgnos: set[int], txid: int, compress: bool, salt: bytes) -> None:
    commit = max(pgnos, default=1)
    pages = [(p, (salt + page(p)) [:PS]) for p in sorted(pgnos)]
    hdr = ltx.Header(PS, commit, txid, txid, 1234)
    raw = ltx.encode(hdr, pages, compress=compress)
    got_hdr, got = ltx.decode(raw)
    assert got_hdr == hdr
    assert got == pages


def test_every_single_bit_flip_is_detected_or_harmless() -> None:
    """Every bit of the file, flipped alone, raises CorruptReplica, or decodes to exactly
    the pages written: the file checksum covers the decoded pages, as LTX's does, and an LZ4
    block can spell the same bytes more than one way (here a match offset's high bits over a
    periodic page). Exhaustive, so not left to a random draw: a 40-example sample hit one of
    the harmless flips about once in sixteen runs and failed."""
    pages = [(p, page(p)) for p in range(1, 4)]
    raw = ltx.encode(ltx.Header(PS, 3, 1, 7, 99), pages)
    harmless = 0
    for i in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[i] ^= 1 << bit
            try:
                _, got = ltx.decode(bytes(flipped))
            except CorruptReplica:
                continue
            assert got == pages, (i, bit)
            harmless += 1
    assert harmless < 16  # the checksum, not luck, catches the rest


def test_truncated_file_is_corrupt() -> None:
    raw = ltx.encode(ltx.Header(PS, 2, 1, 1, 1), [(1, page(1)), (2, page(2))])
    for cut in (50, 150, len(raw) - 1):
        with pytest.raises(CorruptReplica):
            ltx.decode(raw[:cut])


def test_snapshot_must_hold_every_page() -> None:
    raw = ltx.encode(ltx.Header(PS, 3, 1, 1, 1), [(1, page(1)), (3, page(3))])
    with pytest.raises(CorruptReplica, match="every page"):
        ltx.decode(raw)


def test_encoder_refuses_bad_input() -> None:
    enc = ltx.Encoder(io.BytesIO(), ltx.Header(PS, 10, 2, 2, 1))
    enc.add_page(3, page(3))
    with pytest.raises(ValueError, match="order"):
        enc.add_page(2, page(2))
    with pytest.raises(ValueError, match="beyond commit"):
        enc.add_page(11, page(11))
    with pytest.raises(ValueError, match="bytes"):
        enc.add_page(4, b"short")
    big = ltx.Encoder(io.BytesIO(), ltx.Header(4096, 300_000, 2, 2, 1))
    with pytest.raises(ValueError, match="lock page"):
        big.add_page(262145, b"\x00" * 4096)
    assert ltx.lock_pgno(4096) == 262145


def test_filenames() -> None:
    assert ltx.filename(1, 0x2A) == "0000000000000001-000000000000002a.ltx"
    assert ltx.parse_filename("0000000000000001-000000000000002a.ltx") == (1, 42)
    assert ltx.parse_filename("0000000000000001-000000000000002a.ltx.tmp") is None
    assert ltx.parse_filename("snapshot.ltx") is None


def test_post_apply_checksum_is_refused() -> None:
    raw = bytearray(ltx.encode(ltx.Header(PS, 1, 1, 1, 1), [(1, page(1))]))
    raw[-16:-8] = struct.pack(">Q", (1 << 63) | 5)
    with pytest.raises(CorruptReplica, match="post-apply"):
        ltx.decode(bytes(raw))
