"""Cloud settings, read from ``PACKLINE_CLOUD_*`` environment variables.

>>> CloudSettings(data_dir=Path("/srv/packline")).database_url
'sqlite:////srv/packline/cloud.db'
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")
"""The seller's time zone: pages show times in it, date filters and day-numbered ids
(purchase orders) are read in it."""

DEFAULT_DB_FILENAME = "cloud.db"
"""File name of the default SQLite database inside ``data_dir``."""


class CloudSettings(BaseSettings):
    """Everything the cloud service reads from its environment.

    Every field can be set as ``PACKLINE_CLOUD_<FIELD>`` (upper case), e.g.
    ``PACKLINE_CLOUD_DATABASE_URL=postgresql+psycopg://packline@db/packline``.
    """

    model_config = SettingsConfigDict(
        env_prefix="PACKLINE_CLOUD_",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path("var/cloud")
    """Directory for the cloud's local files: the default SQLite database, uploaded
    images, exports. Created when first needed."""

    database_url: str = ""
    """SQLAlchemy URL of the database. Empty means a SQLite file ``cloud.db`` in
    ``data_dir`` (zero setup, WAL mode). For production use PostgreSQL through
    psycopg 3: ``postgresql+psycopg://user:password@host:5432/packline``."""

    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    """How long a SQLite connection waits for another writer's lock before failing,
    in milliseconds."""

    db_pool_size: int = Field(default=5, ge=1)
    """Connections kept open per process to a PostgreSQL server (ignored for SQLite)."""

    secret_key_file: Path | None = None
    """Fernet key that encrypts shop tokens, app secrets and decrypted buyer data at rest.
    Empty means ``secret.key`` in ``data_dir``, created (mode 0600) on first use. Keep it
    out of backups of the database."""

    echo_sql: bool = False
    """Log every SQL statement (the CLI's ``--debug-sql`` switches this on)."""

    @model_validator(mode="after")
    def _default_database_url(self) -> CloudSettings:
        if not self.database_url.strip():
            self.database_url = f"sqlite:///{self.data_dir / DEFAULT_DB_FILENAME}"
        return self
