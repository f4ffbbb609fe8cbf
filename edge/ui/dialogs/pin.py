"""An on-screen PIN keypad; the caller gets the typed PIN or None."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from edge.ui.widgets.buttons import BigButton

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back")
"""Keypad layout, row by row."""


class PinDialog(ModalScreen[str | None]):
    """Digits by touch (or keyboard), shown as dots. OK returns the PIN, Cancel None."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss(None)", "")]

    def __init__(self, name: str, *, max_len: int = 8) -> None:
        super().__init__()
        self.who = name
        """Whose PIN (shown in the title)."""
        self.max_len = max_len
        """Longest PIN accepted."""
        self.pin = ""
        """Digits typed so far."""

    def compose(self) -> ComposeResult:
        t = cast("PacklineApp", self.app).t
        with Vertical(classes="dialog pin-dialog"):
            yield Label(t("pin.title", name=self.who), classes="dialog-title")
            yield Label("", id="pin-dots", classes="pin-dots")
            with Grid(classes="keypad"):
                for key in KEYS:
                    text = {"clear": t("dialog.clear"), "back": t("dialog.back")}.get(key, key)
                    yield BigButton(text, id=f"key-{key}", repeatable=True)
                yield BigButton(t("dialog.cancel"), id="cancel")
                yield BigButton(t("dialog.ok"), id="ok", variant="success")

    def _show(self) -> None:
        self.query_one("#pin-dots", Label).update("●" * len(self.pin) or " ")

    def press_key(self, key: str) -> None:
        if key == "clear":
            self.pin = ""
        elif key == "back":
            self.pin = self.pin[:-1]
        elif key.isdigit() and len(self.pin) < self.max_len:
            self.pin += key
        self._show()

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid == "ok":
            self.dismiss(self.pin)
        elif bid == "cancel":
            self.dismiss(None)
        elif bid.startswith("key-"):
            self.press_key(bid.removeprefix("key-"))

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit():
            self.press_key(event.character)
        elif event.key == "backspace":
            self.press_key("back")
        elif event.key == "enter":
            self.dismiss(self.pin)
        else:
            return
        event.stop()
