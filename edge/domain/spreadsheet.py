"""Cells that a spreadsheet must show as text, never evaluate (CSV/formula injection).

Every file Packline exports for Excel, WPS or LibreOffice goes through these helpers, so a
product name such as ``=HYPERLINK("http://…")`` or ``=cmd|' /C calc'!A0`` opens as the text
it is (OWASP "CSV injection"):

- **CSV**: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  (or their full-width forms, which CJK input methods type) is written with a leading
  ``'``. So is a cell that already starts with ``'``, so that the import can undo exactly
  what the export did: :func:`unprotect` removes one ``'`` only before those characters.
  A real name starting with ``-`` or ``+`` or ``'`` round-trips unchanged.
- **XLSX**: every cell is a typed string (``t="inlineStr"``, never an ``<f>`` element), and
  the risky ones also carry Excel's *quote prefix* style, so editing the cell in Excel keeps
  it text. The value itself is unchanged, so nothing is undone on import.

Pure: no file is read or written here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
"""First characters that make a spreadsheet read a cell as a formula (or DDE command)."""

QUOTE = "'"
"""The prefix that makes a spreadsheet read a cell as text."""


def is_risky(text: str) -> bool:
    """Would a spreadsheet evaluate ``text`` typed into a cell?"""
    return text[:1] in FORMULA_TRIGGERS


def protect(text: str) -> str:
    """``text`` as written to a CSV cell: ``'`` before a risky start (and before a leading
    ``'``, so :func:`unprotect` is its exact inverse)."""
    if is_risky(text) or text.startswith(QUOTE):
        return QUOTE + text
    return text


def unprotect(text: str) -> str:
    """Undo :func:`protect`: drop one leading ``'`` that stands before a risky character or
    another ``'``; any other text is returned as it is."""
    if text.startswith(QUOTE) and (is_risky(text[1:]) or text[1:2] == QUOTE):
        return text[1:]
    return text


def xlsx_text_cell(ws: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    """A cell of a write-only sheet holding ``text`` as a string, never a formula; risky
    text also gets the quote-prefix style."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"  # openpyxl types a str starting with "=" as a formula
    if is_risky(text):
        cell.quotePrefix = True
    return cell
