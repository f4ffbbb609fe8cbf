"""Fixtures for backup tests: a moto S3 server on loopback and a bucket per test."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.edge.backup.helpers import MOTO_SERVER, Moto, free_port, stop_pid, wait_port


@pytest.fixture(scope="session")
def moto() -> Iterator[Moto]:
    port = free_port()
    proc = subprocess.Popen(
        [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield Moto(port, f"http://127.0.0.1:{port}")
    finally:
        stop_pid(proc)


@pytest.fixture()
def bucket(moto: Moto) -> str:
    name = "edge-" + uuid.uuid4().hex[:12]
    moto.client().create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


