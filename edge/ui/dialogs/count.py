"""A lead's count on the on-screen keypad: how many units of a SKU are really at its
location (the digits are shown, not hidden like a PIN). The caller gets the digits or None."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Label

from edge.ui.dialogs.pin import KEYS, PinDialog
from edge.ui.widgets.buttons import BigButton

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp

COUNT_MAX_DIGITS = 7
"""Longest count typed (up to 9,999,999 units)."""


class CountDialog(PinDialog):
    """The keypad of :class:`PinDialog` under a title that says what to count."""

    def __init__(self, title: str) -> None:
        super().__init__(title, max_len=COUNT_MAX_DIGITS)
        self.title_text = title
        """What to count (SKU, location, the books' figure, what the order needs)."""

    def compose(self) -> ComposeResult:
        t = cast("PacklineApp", self.app).t
        with Vertical(classes="dialog pin-dialog count-dialog"):
            yield Label(self.title_text, classes="dialog-title", id="count-title")
            yield Label(" ", id="pin-dots", classes="pin-dots")
            with Grid(classes="keypad"):
                for key in KEYS:
                    text = {"clear": t("dialog.clear"), "back": t("dialog.back")}.get(key, key)
                    yield BigButton(text, id=f"key-{key}", repeatable=True)
                yield BigButton(t("dialog.cancel"), id="cancel")
                yield BigButton(t("dialog.ok"), id="ok", variant="success")

    def _show(self) -> None:
        self.query_one("#pin-dots", Label).update(self.pin or " ")
