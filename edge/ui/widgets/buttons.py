"""Big buttons for gloved fingers. They never take focus, so the scanner's Enter always
reaches the scan input instead of pressing whatever button was touched last."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button


class BigButton(Button, can_focus=False):
    """A tall, non-focusable button. ``repeatable`` keys (a keypad) take every tap: Textual's
    0.2 s pressed effect would otherwise swallow a fast second tap of the same key."""

    DEFAULT_CSS = """
    BigButton {
        height: 5;
        min-width: 16;
        margin: 0 1;
        text-style: bold;
    }
    """

    def __init__(self, label: str = "", *, repeatable: bool = False, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        if repeatable:
            self.active_effect_duration = 0
