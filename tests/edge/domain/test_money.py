"""Yuan as sellers type them → fen, by hand (``edge.domain.money``)."""

from __future__ import annotations

import pytest

from edge.domain.money import YuanError, yuan_to_fen


@pytest.mark.parametrize(("text", "fen"), [
    ("12.5", 1250), ("0.01", 1), ("¥1,299", 129900), ("￥8元", 800), ("1，000.10", 100010),
    (" 3 ", 300), ("0", 0), ("", None), ("  ", None), ("¥", None), ("99999.99", 9999999),
])
def test_amounts(text: str, fen: int | None) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(("text", "en"), [
    ("abc", "is not a number"), ("NaN", "is not a number"), ("Infinity", "is not a number"),
    ("1.234", "has more than 2 decimal places"), ("-1", "cannot be negative"),
    ("1e3.5", "is not a number"),
])
def test_what_is_not_a_price(text: str, en: str) -> None:
    with pytest.raises(YuanError) as err:
        yuan_to_fen(text)
    assert err.value.en == en and err.value.zh


def test_the_catalog_and_the_product_form_read_money_alike() -> None:
    from cloud.products import money_fen
    from edge.domain.catalog import parse_records

    problems: list = []
    for text in ("12.5", "¥1,299", "1.234", "-1", "abc"):
        form = money_fen(text, "cost", "成本价", "cost", problems)
        sheet = parse_records(["商品编码", "商品名称", "成本价(元)"], [(2, ["S1", "杯", text])])
        assert form == (sheet.rows[0].cost_fen if sheet.rows else None), text
        assert bool(sheet.errors) == (form is None), text
    assert [p.en for p in problems] == ["cost has more than 2 decimal places: 1.234",
                                        "cost cannot be negative: -1", "cost is not a number: abc"]
