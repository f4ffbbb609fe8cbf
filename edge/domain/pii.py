"""Buyer personal data: masked for screens, sealed (encrypted) for the label printer.

Orders keep ``receiver_masked`` (safe to show: ``张*``, ``138****5678``, the address cut after
the district) and ``receiver_sealed`` (the full receiver, Fernet-encrypted with the station
key). The station key is a file next to the database, created at ``init`` with mode 0600.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from edge.errors import ConfigError

RECEIVER_FIELDS = ("name", "phone", "province", "city", "district", "address")
"""Keys of a receiver dict; ``address`` is the street part (详细地址)."""


def new_key() -> bytes:
    """A fresh Fernet key (URL-safe base64, 32 random bytes)."""
    return Fernet.generate_key()


def seal(data: dict[str, Any], key: bytes) -> str:
    """Encrypt ``data`` (JSON) with ``key``; the token is ASCII and authenticated."""
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    return Fernet(key).encrypt(raw).decode("ascii")


def unseal(token: str, key: bytes) -> dict[str, Any]:
    """Decrypt a ``seal`` token; a wrong key or a tampered token raises ``ConfigError``."""
    try:
        raw = Fernet(key).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError) as err:
        raise ConfigError("无法解密收件人信息（密钥不对或数据损坏） / cannot unseal receiver "
                          "(wrong key or tampered data)") from err
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ConfigError("收件人信息格式错误 / sealed receiver is not an object")
    return value


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; one character stays as it is."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else name


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; other lengths keep the first 3 and last 4 when possible."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]  # +86 country code
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def mask(receiver: dict[str, Any]) -> dict[str, Any]:
    """The screen-safe form: name and phone masked, address down to the district then ****."""
    region = "".join(str(receiver.get(k) or "") for k in ("province", "city", "district"))
    return {
        "name": mask_name(str(receiver.get("name") or "")),
        "phone": mask_phone(str(receiver.get("phone") or "")),
        "address": region + ("****" if receiver.get("address") else ""),
    }


