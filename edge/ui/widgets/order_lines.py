"""The expected lines of the order being packed, with a count per SKU.

A plain grid of small ``Static`` cells rather than a ``DataTable``: a scan changes one
count cell, and repainting that one cell keeps the frame after each scan small (a
``DataTable.update_cell`` repaints and re-renders the whole table).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

COLUMNS = ("sku", "name", "location", "count")
"""Cell classes, left to right."""


class LineRow(Horizontal):
    """One row: SKU, name, location, count."""

    def __init__(self, cells: Sequence[str], *, header: bool = False, done: bool = False,
                 id: str | None = None) -> None:
        classes = "line-header" if header else "line-row" + (" done" if done else "")
        super().__init__(id=id, classes=classes)
        self.cells = tuple(cells)
        """Cell texts in ``COLUMNS`` order (kept current, so a late compose shows the latest)."""

    def compose(self) -> ComposeResult:
        for col, text in zip(COLUMNS, self.cells, strict=True):
            yield Static(text, classes=f"cell cell-{col}", markup=False)


class OrderLines(VerticalScroll, can_focus=False):
    """Header plus one row per SKU; ``set_count`` updates one cell in place."""

    DEFAULT_CSS = """
    OrderLines { height: 1fr; }
    OrderLines LineRow { height: 1; }
    OrderLines .line-header { background: $boost; text-style: bold; }
    OrderLines .cell { height: 1; padding: 0 1; }
    OrderLines .cell-sku { width: 16; }
    OrderLines .cell-name { width: 1fr; }
    OrderLines .cell-location { width: 12; }
    OrderLines .cell-count { width: 19; text-style: bold; }
    OrderLines .done .cell-count { color: $success; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._index: dict[str, int] = {}
        """SKU → row number (SKUs may hold characters ids cannot)."""
        self._generation = 0
        """Bumped per ``show``: old rows are removed asynchronously, so ids must not repeat."""

    def show(self, headers: Sequence[str], rows: Sequence[tuple[str, str, str, str, bool]]) -> None:
        """Replace everything: the header and one row per (sku, name, location, count, done)."""
        self.remove_children()
        self._generation += 1
        self._index = {row[0]: i for i, row in enumerate(rows)}
        widgets = [LineRow(headers, header=True)] if rows else []
        widgets += [LineRow(row[:4], done=row[4], id=f"line-{self._generation}-{i}") for i, row in enumerate(rows)]
        if widgets:
            self.mount_all(widgets)

    def set_count(self, sku: str, text: str, *, done: bool) -> None:
        """Change one count cell (no layout pass: the cell keeps its width)."""
        i = self._index.get(sku)
        if i is None:
            return
        row = self.query_one(f"#line-{self._generation}-{i}", LineRow)
        row.cells = (*row.cells[:3], text)
        row.set_class(done, "done")
        for cell in row.query(".cell-count").results(Static):
            cell.update(text, layout=False)

    def texts(self) -> list[tuple[str, ...]]:
        """What the rows show now (for tests)."""
        return [row.cells for row in self.query(LineRow) if "line-row" in row.classes]
