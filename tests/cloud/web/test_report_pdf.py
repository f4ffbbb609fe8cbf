"""Reports as PDF (#16): every report downloads as a PDF whose text — read back with
``pdftotext`` from poppler-utils, which knows nothing of our code — carries the Chinese
headings and the hand-computed figures of the report tests, set in an embedded CJK font
(``pdffonts``); ``pdftoppm`` renders the first page (kept with the screenshots)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from edge.domain.models import Role
from tests.cloud.web import test_report_fulfilment, test_report_purchasing
from tests.cloud.web.support import signed_in

ROOT = Path(__file__).resolve().parents[3]
SHOTS = Path(os.environ.get("PACKLINE_SCREENSHOT_DIR", ROOT / "var" / "screenshots"))

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="apt-get install poppler-utils (./packline test does)")


def _text(pdf: bytes, tmp_path: Path, name: str, keep: bool = True) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    assert "CJK" in fonts.stdout and " yes yes " in fonts.stdout, fonts.stdout  # embedded subset
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / name)], check=True)
    page = next(tmp_path.glob(f"{name}*.png"))
    assert page.stat().st_size > 0
    if keep:  # the same on both engines: one set
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, SHOTS / f"pdf-{name}.png")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


async def _pdf(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> bytes:
    got = await client.get(path, params=params)
    assert got.status_code == 200, got.text[:500]
    assert got.headers["content-type"] == "application/pdf"
    assert got.content.startswith(b"%PDF-")
    return got.content


async def test_fulfilment_and_purchasing_reports_as_pdf(
        client: httpx.AsyncClient, cloud_engine: Engine, tmp_path: Path,
        cloud_db_url: str) -> None:
    await signed_in(client, cloud_engine, Role.MANAGER)
    test_report_fulfilment._seed(cloud_engine)
    test_report_purchasing._seed(cloud_engine)
    sqlite = cloud_db_url.startswith("sqlite")
    text = _text(await _pdf(client, "/reports/fulfilment.pdf", test_report_fulfilment.RANGE),
                 tmp_path, "fulfilment", sqlite)
    assert "发货绩效" in text and "打包员" in text and "快递与重量" in text
    lines = [" ".join(ln.split()) for ln in text.splitlines()]
    assert "P01 小王 3 2 7.0 0.4 40.0 3 1 1 1 1" in lines  # as worked out in the report test
    assert "合计 5 3 10.0 0.5 40.0 3 1 1 1 2" in lines
    text = _text(await _pdf(client, "/reports/purchasing.pdf", test_report_purchasing.RANGE),
                 tmp_path, "purchasing", sqlite)
    lines = [" ".join(ln.split()) for ln in text.splitlines()]
    assert "采购报表" in text
    assert any(ln.startswith("SUP-A 甲厂 3 44 170.00 29 108.50 12 60.00 4.7 10.0 5 50.0%")
               for ln in lines), lines


async def test_sales_daily_and_stock_reports_as_pdf(
        client: httpx.AsyncClient, cloud_engine: Engine, tmp_path: Path,
        cloud_db_url: str) -> None:
    await signed_in(client, cloud_engine, Role.FINANCE)
    keep = cloud_db_url.startswith("sqlite")
    sales = _text(await _pdf(client, "/reports/sales.pdf",
                             {"from": "2026-11-01", "to": "2026-12-01"}), tmp_path, "sales", keep)
    assert "销售报表" in sales and "2026-11-01 – 2026-12-01" in sales
    day = _text(await _pdf(client, "/reports/daily.pdf", {"day": "2026-11-30"}), tmp_path, "daily",
                keep)
    assert "每日概况" in day and "2026-11-30" in day
    stock = _text(await _pdf(client, "/reports/stock.pdf", {"days": "30"}), tmp_path, "stock",
                  keep)
    lines = [" ".join(ln.split()) for ln in stock.splitlines()]
    # the shared seed: SKU-1 at WH1 12 on hand, SKU-2 7
    assert "库存报表" in stock and any(ln.startswith("WH1 SKU-1 保温杯 500ml 12") for ln in lines)
    bad = await client.get("/reports/sales.pdf", params={"from": "2026-12-02", "to": "2026-12-01"})
    assert bad.status_code == 400  # the page with the problem, no PDF
