"""Mosquitto 2.0 password-file lines (``user:$7$101$salt$hash``, PBKDF2-HMAC-SHA512).

This is the format ``mosquitto_passwd`` writes in 2.0: 101 iterations, a 12-byte salt,
a 64-byte derived key, both base64 with padding. Implemented here so provisioning needs
no mosquitto binary; ``tests/provisioning`` checks it against ``mosquitto_passwd``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 101
"""PBKDF2 iterations used by mosquitto_passwd 2.0."""
SALT_BYTES = 12
"""Salt length used by mosquitto_passwd 2.0."""


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The ``$7$...`` hash of ``password`` (random salt unless given)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[1] != "7":
        raise ValueError("not a mosquitto $7$ password hash")
    iterations, salt, digest = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
    candidate = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, len(digest))
    return hmac.compare_digest(candidate, digest)


def new_password() -> str:
    """A strong random password (256 bits, URL-safe, no characters that need quoting)."""
    return secrets.token_urlsafe(32)


def render_passwd(users: dict[str, str]) -> str:
    """The password file for ``{username: hash}``, sorted by username."""
    return "".join(f"{name}:{users[name]}\n" for name in sorted(users))
