"""Web app fixtures: the app on each database engine with a fake clock, an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from cloud.config import CloudSettings
from cloud.crypto import Sealer
from cloud.web.app import create_app
from cloud.web.config import WebSettings
from tests.cloud.web.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(Fernet.generate_key())


@pytest.fixture
def web_settings(tmp_path: Path) -> WebSettings:
    """Defaults, with the vendor files in a test directory (see ``vendor_dir``)."""
    return WebSettings(vendor_dir=tmp_path / "node_modules")


@pytest.fixture
def app(cloud_engine: Engine, tmp_path: Path, clock: FakeClock, sealer: Sealer,
        web_settings: WebSettings) -> Starlette:
    settings = CloudSettings(data_dir=tmp_path / "cloud", database_url=cloud_engine.url.render_as_string(hide_password=False))
    return create_app(settings, cloud_engine, clock=clock, web_settings=web_settings,
                      sealer=sealer)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
