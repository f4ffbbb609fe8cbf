"""Receiver sealing and masking, the station key file, PIN hashing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edge import fileio
from edge.domain import pii
from edge.domain.auth import hash_pin, verify_pin
from edge.errors import ConfigError

RECEIVER = {"name": "张三", "phone": "13812345678", "province": "浙江省", "city": "杭州市",
            "district": "余杭区", "address": "文一西路 969 号"}


def test_seal_roundtrip_and_wrong_key() -> None:
    key = pii.new_key()
    token = pii.seal(RECEIVER, key)
    assert "张三" not in token and "13812345678" not in token
    assert pii.unseal(token, key) == RECEIVER
    with pytest.raises(ConfigError, match="cannot unseal"):
        pii.unseal(token, pii.new_key())
    with pytest.raises(ConfigError, match="cannot unseal"):
        pii.unseal(token[:-4] + "AAAA", key)


def test_mask() -> None:
    assert pii.mask(RECEIVER) == {"name": "张*", "phone": "138****5678",
                                  "address": "浙江省杭州市余杭区****"}
    assert pii.mask_name("欧阳娜娜") == "欧***"
    assert pii.mask_name("王") == "王"
    assert pii.mask_phone("+86 139-1234-5678") == "139****5678"
    assert pii.mask_phone("0571-88886666") == "057*****6666"


def test_key_file_is_private_and_kept(tmp_path: Path) -> None:
    path = fileio.key_path_for(tmp_path / "edge.db")
    assert path == tmp_path / "edge.db.key"
    key = fileio.create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fileio.create_key_file(path) == key == fileio.read_key_file(path)
    path.write_text("not a key")
    with pytest.raises(ConfigError, match="malformed"):
        fileio.read_key_file(path)
    with pytest.raises(ConfigError, match="missing"):
        fileio.read_key_file(tmp_path / "none.key")


def test_pin_hash() -> None:
    h = hash_pin("2468")
    assert h.startswith("$argon2id$") and "2468" not in h
    assert verify_pin(h, "2468")
    assert not verify_pin(h, "2469")
    assert not verify_pin(None, "2468") and not verify_pin("garbage", "2468")
    assert hash_pin("2468") != h  # salted
