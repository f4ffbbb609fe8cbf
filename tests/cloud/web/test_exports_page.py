"""订单导出 through the web app (the orders of ``tests/cloud/test_order_export.py``): finance
starts an export from the order list's filters, the exports page and its JSON show the
progress, the file downloads and reads back; the app answers other pages while an export
runs; a lead may not export, nobody downloads another's file, a bad format is said clearly;
English on request."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy.engine import Engine

from cloud.web import order_export
from edge.domain.models import Role
from tests.cloud.test_order_export import _seed
from tests.cloud.web.support import add_users, cells, csrf_of, login, username

DEADLINE_S = 20
"""Longest wait for a background export in these tests."""


async def _signed_in(client: httpx.AsyncClient, engine: Engine, role: Role) -> str:
    add_users(engine)
    _seed(engine)
    assert (await login(client, username(role))).status_code == 303
    page = await client.get("/orders")
    assert page.status_code == 200
    return csrf_of(page.text)


async def _wait(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        st: dict[str, Any] = (await client.get(f"/exports/{job_id}.json")).json()
        if st["state"] != "running" or time.monotonic() > deadline:
            return st
        await asyncio.sleep(0.05)


async def _start(client: httpx.AsyncClient, csrf: str, **form: str) -> str:
    started = await client.post("/orders/export", data={"csrf_token": csrf, **form})
    assert started.status_code == 303, started.text
    return started.headers["location"].split("#job-")[1]


async def test_finance_exports_the_filtered_orders(client: httpx.AsyncClient,
                                                   cloud_engine: Engine) -> None:
    csrf = await _signed_in(client, cloud_engine, Role.FINANCE)
    listed = await client.get("/orders", params={"since": "2026-12-01"})
    assert 'id="export-form"' in listed.text
    assert '<input type="hidden" name="since" value="2026-12-01">' in listed.text
    job_id = await _start(client, csrf, since="2026-12-01", fmt="xlsx")
    st = await _wait(client, job_id)
    assert (st["state"], st["done"], st["total"], st["percent"]) == ("done", 2, 2, 100)
    assert st["rows_text"] == "2 / 2 行"
    page = await client.get("/exports")
    assert "导出已开始" in page.text
    row = cells(page.text, "exports")[0]
    assert row[0] == "订单 · XLSX" and row[1] == "since=2026-12-01"
    got = await client.get(st["download"])
    assert got.status_code == 200
    assert got.headers["content-disposition"].startswith("attachment;")
    ws = openpyxl.load_workbook(io.BytesIO(got.content)).worksheets[0]
    assert [r[0] for r in ws.iter_rows(values_only=True)] == ["订单号", "P-oB", "P-oA"]


async def test_the_app_answers_while_an_export_runs(
        client: httpx.AsyncClient, cloud_engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    csrf = await _signed_in(client, cloud_engine, Role.MANAGER)
    release = threading.Event()
    real = order_export.write_file

    def slow(path: Path, fmt: str, heads: Any, body: Any) -> int:
        assert release.wait(DEADLINE_S)
        return real(path, fmt, heads, body)

    monkeypatch.setattr(order_export, "write_file", slow)
    job_id = await _start(client, csrf, fmt="csv")
    try:
        assert (await client.get("/orders")).status_code == 200  # the export is held
        st = (await client.get(f"/exports/{job_id}.json")).json()
        assert (st["state"], st["download"]) == ("running", None)
        again = await client.post("/orders/export", data={"csrf_token": csrf, "fmt": "csv"})
        assert again.status_code == 400
        assert "已有一个导出正在进行" in again.text
    finally:
        release.set()
    assert (await _wait(client, job_id))["state"] == "done"


async def test_refusals(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    csrf = await _signed_in(client, cloud_engine, Role.FINANCE)
    bad = await client.post("/orders/export", data={"csrf_token": csrf, "fmt": "pdf"})
    assert bad.status_code == 400 and "请选择 XLSX 或 CSV" in bad.text
    bad_day = await client.post("/orders/export", data={"csrf_token": csrf, "fmt": "csv",
                                                        "since": "昨天"})
    assert bad_day.status_code == 400
    job_id = await _start(client, csrf, fmt="csv")
    assert (await _wait(client, job_id))["state"] == "done"
    await client.post("/logout", data={"csrf_token": csrf})
    assert (await login(client, username(Role.MANAGER))).status_code == 303
    assert (await client.get(f"/exports/{job_id}.json")).status_code == 404  # not theirs
    other = await client.get(f"/exports/{job_id}/file")
    assert (other.status_code, other.headers["location"]) == (303, "/exports")
    await client.post("/logout", data={"csrf_token": csrf_of((await client.get("/")).text)})
    assert (await login(client, username(Role.WAREHOUSE_LEAD))).status_code == 303
    lead_page = await client.get("/orders")
    assert 'id="export-form"' not in lead_page.text
    refused = await client.post("/orders/export",
                                data={"csrf_token": csrf_of(lead_page.text), "fmt": "csv"})
    assert refused.status_code == 403


async def test_english(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    csrf = await _signed_in(client, cloud_engine, Role.FINANCE)
    await client.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/orders"})
    job_id = await _start(client, csrf, fmt="csv")
    st = await _wait(client, job_id)
    assert (st["state_text"], st["rows_text"]) == ("Done", "3 / 3 rows")
    body = (await client.get(st["download"])).content.decode("utf-8")
    assert body.startswith("\ufeffOrder no.,Platform")
    assert "Exports" in (await client.get("/exports")).text
