"""The pack screen's order lines: one widget per row, drawn in four fixed columns.

Every widget overlapping a frame's update region is asked for its lines on every frame, so
the table keeps its widget count at one per row (it was five: a row and four cells). The
expected lines are written out by hand from the column widths (16, the rest, 12, 19, each
with one blank cell either side).
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widget import Widget

from edge.ui.widgets.order_lines import LineRow, OrderLines

WIDTH = 78
"""The table's width on the kiosk's 120-column pack screen: the name column gets 31."""


class Table(App[None]):
    def compose(self) -> ComposeResult:
        yield OrderLines(id="lines")


def line(widget: Widget) -> str:
    return "".join(seg.text for seg in widget.render_line(0))


async def test_one_widget_per_row_with_hand_laid_columns() -> None:
    app = Table()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = app.query_one(OrderLines)
        table.show(["SKU", "Name", "Location", "Count"], [
            ("CUP-350", "Vacuum cup 350 ml", "A-01-01", "0/1", False),
            ("TOWEL-W", "Stainless steel vacuum insulated cup", "A-01-02", "✔ 2/2", True),
        ])
        await pilot.pause()
        assert len(list(table.query(Widget))) == 3  # the header and two rows, no cells
        header, cup, towel = table.query(LineRow)
        assert line(header) == (" SKU            " " Name                          "
                                " Location   " " Count             ")
        assert line(cup) == (" CUP-350        " " Vacuum cup 350 ml             "
                             " A-01-01    " " 0/1               ")
        # a name wider than its column shows the first line of its wrapping, as a cell did
        assert line(towel) == (" TOWEL-W        " " Stainless steel vacuum        "
                               " A-01-02    " " ✔ 2/2             ")
        assert "done" in towel.classes and "done" not in cup.classes

        table.set_count("CUP-350", "✔ 1/1", done=True)
        await pilot.pause()
        assert line(cup).endswith(" ✔ 1/1             ")
        assert "done" in cup.classes
        assert table.texts() == [("CUP-350", "Vacuum cup 350 ml", "A-01-01", "✔ 1/1"),
                                 ("TOWEL-W", "Stainless steel vacuum insulated cup", "A-01-02",
                                  "✔ 2/2")]


async def test_wide_characters_keep_the_columns() -> None:
    app = Table()
    async with app.run_test(size=(WIDTH, 10)) as pilot:
        table = app.query_one(OrderLines)
        table.show(["商品编码", "名称", "库位", "已扫/应扫"],
                   [("CUP-350", "保温杯 350ml", "A-01-01", "0/1", False)])
        await pilot.pause()
        header, cup = table.query(LineRow)
        # 商品编码 is 8 cells wide, 名称 4, 库位 4, 已扫/应扫 9
        assert line(header) == (" 商品编码       " " 名称                          "
                                " 库位       " " 已扫/应扫         ")
        assert line(cup) == (" CUP-350        " " 保温杯 350ml                  "
                             " A-01-01    " " 0/1               ")
