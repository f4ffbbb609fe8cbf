"""Pick one of a few options on big buttons (a put-away location); the caller gets the
option's value or None."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label

from edge.ui.widgets.buttons import BigButton

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp


class ChoiceDialog(ModalScreen[str | None]):
    """A title, one big button per (value, text) option, and Cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss(None)", "")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        """What to choose."""
        self.options = list(options)
        """(value, text) pairs, in the order shown."""

    def compose(self) -> ComposeResult:
        t = cast("PacklineApp", self.app).t
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="choices"), Grid(classes="reasons"):
                for i, (_value, text) in enumerate(self.options):
                    yield BigButton(text, id=f"choice-{i}")
            yield BigButton(t("dialog.cancel"), id="cancel")

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid.startswith("choice-"):
            self.dismiss(self.options[int(bid.removeprefix("choice-"))][0])
        else:
            self.dismiss(None)
