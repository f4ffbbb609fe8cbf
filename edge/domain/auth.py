"""Operator PINs, hashed with Argon2id (argon2-cffi ``PasswordHasher``)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
"""Argon2id with OWASP's minimum profile (19 MiB, 2 passes, 1 lane): a PIN check at a
Raspberry Pi kiosk must stay well under a second. Old hashes with other parameters still verify."""


def hash_pin(pin: str) -> str:
    """An encoded Argon2id hash of ``pin`` (with its own random salt)."""
    if not pin:
        raise ValueError("empty PIN")
    return _hasher.hash(pin)


def verify_pin(pin_hash: str | None, pin: str) -> bool:
    """True when ``pin`` matches ``pin_hash``; False for a wrong PIN or a missing/garbled hash."""
    if not pin_hash or not pin:
        return False
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False
