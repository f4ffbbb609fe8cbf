"""Big buttons for gloved fingers. They never take focus, so the scanner's Enter always
reaches the scan input instead of pressing whatever button was touched last."""

from __future__ import annotations

from textual.widgets import Button


class BigButton(Button, can_focus=False):
    """A tall, non-focusable button."""

    DEFAULT_CSS = """
    BigButton {
        height: 5;
        min-width: 16;
        margin: 0 1;
        text-style: bold;
    }
    """
