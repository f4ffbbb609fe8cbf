"""Encryption at rest for shop tokens, app secrets and decrypted buyer data.

One Fernet key per cloud installation, in a key file (``PACKLINE_CLOUD_SECRET_KEY_FILE``,
default ``<data_dir>/secret.key``, created with mode 0600). :class:`Sealer` encrypts
strings and JSON objects; what it produces is ASCII, authenticated and useless without
the key. :meth:`Sealer.search_key` gives a keyed digest (HMAC-SHA256, with a key derived
from the same one) for exact-match search of personal data that is not stored in clear.
Nothing here logs a value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from cloud.config import CloudSettings
from cloud.errors import ConfigError

SEARCH_KEY_LABEL = b"packline search key v1"
"""Derives the search-digest key from the installation key (never the key itself)."""


class Sealer:
    """Encrypts and decrypts with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as err:
            raise ConfigError("密钥格式错误 / the secret key is not a Fernet key") from err
        self._search_key = hmac.new(key, SEARCH_KEY_LABEL, hashlib.sha256).digest()

    def seal(self, text: str) -> str:
        """Encrypt ``text``."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def unseal(self, token: str) -> str:
        """Decrypt a :meth:`seal` token; a wrong key or tampering raises :class:`ConfigError`."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError) as err:
            raise ConfigError(
                "无法解密（密钥不对或数据损坏） / cannot decrypt (wrong key or tampered data)"
            ) from err

    def seal_json(self, data: dict[str, Any]) -> str:
        """Encrypt a JSON object."""
        return self.seal(json.dumps(data, ensure_ascii=False, sort_keys=True))

    def unseal_json(self, token: str) -> dict[str, Any]:
        """Decrypt a :meth:`seal_json` token."""
        value = json.loads(self.unseal(token))
        if not isinstance(value, dict):
            raise ConfigError("加密数据格式错误 / sealed value is not an object")
        return value

    def search_key(self, text: str) -> str:
        """A keyed digest of ``text`` (64 hex digits) to find a row by a value that is not
        stored in clear: equal texts give equal digests; without the key, guessing texts
        gives nothing to compare with."""
        return hmac.new(self._search_key, text.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"


def key_file_path(settings: CloudSettings) -> Path:
    """Where the key lives for these settings."""
    return settings.secret_key_file or settings.data_dir / "secret.key"


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, parents made) when it does not exist."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


def sealer_for(settings: CloudSettings) -> Sealer:
    """The installation's :class:`Sealer` (key file created on first use)."""
    return Sealer(load_or_create_key(key_file_path(settings)))
