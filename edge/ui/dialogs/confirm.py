"""A yes/no question; the caller gets a bool."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from edge.ui.widgets.buttons import BigButton

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp


class ConfirmDialog(ModalScreen[bool]):
    """Ask one question; dismiss with True for yes."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss(False)", "")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        """The question shown."""

    def compose(self) -> ComposeResult:
        t = cast("PacklineApp", self.app).t
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield BigButton(t("dialog.yes"), id="yes", variant="error")
                yield BigButton(t("dialog.no"), id="no")

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
