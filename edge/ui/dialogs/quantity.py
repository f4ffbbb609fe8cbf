"""A quantity on the on-screen keypad, starting from a figure the operator may correct (the
units scanned so far, a number of labels). The caller gets the quantity or None."""

from __future__ import annotations

from edge.ui.dialogs.count import CountDialog


class QuantityDialog(CountDialog):
    """The count keypad, pre-filled with ``initial`` (the caller treats "" and "0" as no answer)."""

    def __init__(self, title: str, initial: int = 0) -> None:
        super().__init__(title)
        self.pin = str(initial) if initial > 0 else ""
        """Digits so far: the starting figure, corrected with Back and Clear like typed ones."""

    def on_mount(self) -> None:
        self._show()
