"""The message catalogue covers every text the templates and routes use; small helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud.db.schema_orders import ORDER_STATES
from cloud.web.audit import neutralize
from cloud.web.forms import BadInput, day_start, safe_next
from cloud.web.i18n import MESSAGES, gettext
from cloud.web.render import fmt_fen
from edge.domain.models import Role

WEB = Path(__file__).resolve().parents[3] / "cloud" / "web"
LITERAL_KEY = re.compile(r"""_\(\s*["']([a-z0-9_.]+)["']""")
GETTEXT_KEY = re.compile(r"""gettext\(\s*\w+,\s*["']([a-z0-9_.]+)["']""")
FLASH_KEY = re.compile(r"""(?:flash|render_error)\([^)]*?["']([a-z]+\.[a-z0-9_.]+)["']""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    sources = [p for p in WEB.glob("**/*.py") if p.name != "i18n.py"]
    for path in [*WEB.glob("templates/*.html"), *sources]:
        text = path.read_text(encoding="utf-8")
        keys |= set(LITERAL_KEY.findall(text)) | set(GETTEXT_KEY.findall(text))
        keys |= set(FLASH_KEY.findall(text))
    return {k for k in keys if not k.endswith(".")}  # "role." ~ value: see the next test


def test_every_used_key_is_in_the_catalogue() -> None:
    keys = used_keys()
    assert len(keys) > 100
    assert sorted(keys - set(MESSAGES)) == []


def test_keys_built_at_run_time_exist() -> None:
    built = {f"role.{r.value}" for r in Role} | {f"state.{s}" for s in ORDER_STATES}
    built |= {f"platform.{p}" for p in ("pdd", "taobao", "jd")}
    built |= {f"station.{s}" for s in ("pending", "active", "revoked")}
    built |= {f"health.{h}" for h in ("ok", "lagging", "error", "silent", "none")}
    built |= {f"shops.state.{k}" for k in ("none", "active", "expiring", "expired", "revoked")}
    built |= {f"field.{f}" for f in ("unit_weight_g", "length_mm", "width_mm", "height_mm",
                                      "buffer_units", "buffer_percent", "stock_share")}
    built |= {f"field.map_{f}" for f in ("item_id", "sku_id", "outer_id", "sku", "units")}
    built |= {f"audit.{a}" for a in ("product.create", "product.update", "product.cost",
                                     "product.price", "catalog.import", "mapping.create",
                                     "mapping.rule")}
    # Every exception code an order can carry (allocation's list, and a refused e-waybill).
    from cloud.orders.allocation import EXCEPTION_TEXT

    built |= {f"exception.{c}" for c in (*EXCEPTION_TEXT, "waybill")}
    assert sorted(built - set(MESSAGES)) == []


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key
    assert gettext("zh", "login.locked", until="X").startswith("账户已锁定")
    assert gettext("en", "stock.total", n=2, units=19) == "2 rows, 19 units in all"


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+2", "'=1+2"), ("+86 138", "'+86 138"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("张三", "张三"), ("a=b", "a=b"), ("", ""), (None, ""),
    (42, "42"),
])
def test_csv_cells_are_neutralised(cell: object, written: str) -> None:
    assert neutralize(cell) == written


@pytest.mark.parametrize(("target", "result"), [
    ("/stock?sku=A", "/stock?sku=A"), ("/", "/"), ("//evil.com", "/"), ("https://evil.com", "/"),
    ("/\\evil.com", "/"), ("", "/"), (None, "/"), ("/x\r\nSet-Cookie: a", "/"),
])
def test_safe_next(target: object, result: str) -> None:
    assert safe_next(target) == result


def test_dates_are_china_days() -> None:
    assert day_start({"d": "2026-12-01"}, "d") == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert day_start({"d": "2026-12-01"}, "d", end=True) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert day_start({"d": " "}, "d") is None
    with pytest.raises(BadInput):
        day_start({"d": "2026-13-01"}, "d")


@pytest.mark.parametrize(("fen", "text"), [(0, "0.00"), (5, "0.05"), (12990, "129.90"),
                                           (123456789, "1,234,567.89"), (-250, "-2.50")])
def test_money_in_yuan(fen: int, text: str) -> None:
    assert fmt_fen(fen) == text
