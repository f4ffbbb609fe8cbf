"""The expected lines of the order being packed, with a count per SKU.

One small widget per row rather than a ``DataTable`` or a grid of cells: a scan changes one
count, and repainting that one row keeps the frame after each scan small (a
``DataTable.update_cell`` repaints and re-renders the whole table). Each row draws its four
columns itself: every widget that overlaps the frame's update region is asked for its lines
on every frame, and each order mounts its rows anew, so five widgets per row (a container and
four cells) made a two-line order's scan frame ask 24 widgets instead of 17, and left ~3,000
more objects per open order for the garbage collector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget

COLUMNS = ("sku", "name", "location", "count")
"""Columns, left to right."""

WIDTHS: dict[str, int | None] = {"sku": 16, "name": None, "location": 12, "count": 19}
"""Column widths in cells, padding included (``None``: what the others leave)."""

PAD = 1
"""Blank cells on each side of a column's text."""


def column_widths(total: int) -> list[int]:
    """The width of each column in a row ``total`` cells wide."""
    fixed = sum(w for w in WIDTHS.values() if w is not None)
    return [w if w is not None else max(total - fixed, 2 * PAD) for w in WIDTHS.values()]


def fit(text: str, width: int) -> Content:
    """``text`` as one cell of ``width`` (padding included) shows it: the first line of its
    wrapping, padded to the width."""
    inner = max(width - 2 * PAD, 0)
    lines = Content(text).wrap(inner) if inner else [Content("")]
    first = lines[0] if lines else Content("")
    return first.truncate(inner, pad=True).pad(PAD, PAD)


class LineRow(Widget):
    """One row: SKU, name, location, count, drawn as one line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"line-row--count"}
    """The count column's style (bold; green once the line is complete)."""

    def __init__(self, cells: Sequence[str], *, header: bool = False, done: bool = False,
                 id: str | None = None) -> None:
        classes = "line-header" if header else "line-row" + (" done" if done else "")
        super().__init__(id=id, classes=classes)
        self.cells = tuple(cells)
        """Cell texts in ``COLUMNS`` order."""

    def render(self) -> Content:
        widths = column_widths(self.size.width)
        parts = [fit(text, w) for text, w in zip(self.cells, widths, strict=True)]
        count_style = self.get_visual_style("line-row--count", partial=True)
        parts[-1] = parts[-1].stylize(count_style)
        return Content("").join(parts)

    def set_cells(self, cells: Sequence[str], *, done: bool) -> None:
        """Show new cell texts (no layout pass: the row keeps its size)."""
        self.cells = tuple(cells)
        self.set_class(done, "done")
        self.refresh()


class OrderLines(VerticalScroll, can_focus=False):
    """Header plus one row per SKU; ``set_count`` updates one row in place."""

    DEFAULT_CSS = """
    OrderLines { height: 1fr; }
    OrderLines LineRow { height: 1; }
    OrderLines .line-header { background: $boost; text-style: bold; }
    OrderLines LineRow > .line-row--count { text-style: bold; }
    OrderLines LineRow.done > .line-row--count { color: $success; }
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
        """Change one row's count."""
        i = self._index.get(sku)
        if i is None:
            return
        row = self.query_one(f"#line-{self._generation}-{i}", LineRow)
        row.set_cells((*row.cells[:3], text), done=done)

    def texts(self) -> list[tuple[str, ...]]:
        """What the rows show now (for tests)."""
        return [row.cells for row in self.query(LineRow) if "line-row" in row.classes]
