"""Web app settings, read from ``PACKLINE_WEB_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloud.config import DISPLAY_TZ

__all__ = ["DISPLAY_TZ", "WebSettings"]


class WebSettings(BaseSettings):
    """Sessions, sign-in throttling and where the vendor assets are.

    Every field can be set as ``PACKLINE_WEB_<FIELD>``, e.g. ``PACKLINE_WEB_COOKIE_SECURE=1``
    behind an HTTPS proxy.
    """

    model_config = SettingsConfigDict(
        env_prefix="PACKLINE_WEB_", extra="ignore", use_attribute_docstrings=True
    )

    session_key_file: Path | None = None
    """Key that signs session cookies. Empty means ``session.key`` in the cloud data dir,
    created (mode 0600) on first use. Never commit it; replacing it signs everyone out."""

    session_idle_minutes: int = Field(default=30, ge=1)
    """A session with no request for this long is over (sign in again)."""

    session_max_hours: int = Field(default=12, ge=1)
    """A session is over this long after sign-in, however active."""

    cookie_secure: bool = False
    """Send the session cookie over HTTPS only (set when served behind TLS)."""

    max_failed_logins: int = Field(default=5, ge=1)
    """Failed sign-ins in a row (password or TOTP code) that lock the account."""

    lockout_minutes: int = Field(default=15, ge=1)
    """How long a locked account stays locked."""

    ip_max_failures: int = Field(default=20, ge=1)
    """Failed sign-ins from one address within ``ip_window_minutes`` that make it wait."""

    ip_window_minutes: int = Field(default=15, ge=1)
    """The window for ``ip_max_failures``; an address waits until its failures age out."""

    vendor_dir: Path | None = None
    """The ``node_modules`` directory with htmx and ECharts. Empty means ``node_modules``
    at the repository root (``npm ci`` there, which ``./packline test`` runs)."""
