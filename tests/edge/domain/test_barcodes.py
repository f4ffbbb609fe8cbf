"""GTIN check digits against published examples and an independent formula."""

from __future__ import annotations

import pytest

from edge.domain.barcodes import gtin_check_digit, is_gtin, with_check_digit


def reference_ean13_ok(code: str) -> bool:
    """EAN-13 the textbook way: odd positions ×1, even positions ×3, counted from the left."""
    digits = [int(c) for c in code]
    total = sum(digits[0:12:2]) + 3 * sum(digits[1:12:2])
    return (total + digits[12]) % 10 == 0


@pytest.mark.parametrize("code", ["4006381333931", "5901234123457", "9780306406157",
                                  "6901234567892", "96385074", "036000291452", "10012345678902"])
def test_published_codes_are_valid(code: str) -> None:
    assert is_gtin(code)
    assert with_check_digit(code[:-1]) == code


@pytest.mark.parametrize("code", ["4006381333932", "690123456789", "6901234567892x", "123"])
def test_wrong_codes_are_rejected(code: str) -> None:
    assert not is_gtin(code)


def test_check_digit_agrees_with_reference_for_many_bodies() -> None:
    for n in range(0, 10**12, 7_919_239_213):
        body = f"69{n % 10**10:010d}"
        code = with_check_digit(body)
        assert reference_ean13_ok(code)
        assert not reference_ean13_ok(code[:-1] + str((int(code[-1]) + 1) % 10))
    assert gtin_check_digit("400638133393") == 1
