"""GTIN check digits (EAN-8, UPC-A, EAN-13, ITF-14): pure, shared by the importer and demo data."""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)
"""Lengths of the numeric GS1 codes whose last digit is a check digit."""


def gtin_check_digit(body: str) -> int:
    """The check digit for ``body`` (a GTIN without its last digit).

    Weights 3, 1, 3, … from the rightmost digit of the body; the check digit brings the
    weighted sum to a multiple of ten.
    """
    if not body.isdigit():
        raise ValueError(f"not digits: {body!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    """``body`` followed by its check digit."""
    return body + str(gtin_check_digit(body))


def is_gtin(code: str) -> bool:
    """True for a numeric code of a GTIN length whose check digit is right."""
    return (
        code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS
        and gtin_check_digit(code[:-1]) == int(code[-1])
    )


def looks_like_gtin(code: str) -> bool:
    """A numeric code of a GTIN length (whose check digit should therefore be verified)."""
    return code.isascii() and code.isdigit() and len(code) in GTIN_LENGTHS
