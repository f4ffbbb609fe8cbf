"""The scan input: the keyboard is the scanner whenever the kiosk has focus.

A keyboard-wedge scanner types the code and a carriage return. This widget keeps focus,
collects printable keys and posts ``ScanInput.Scanned`` on Enter. The same code twice
within ``debounce_s`` is a double read and is dropped (Odoo uses 100 ms).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class ScanInput(Widget, can_focus=True):
    """Collects a scan from the keyboard; shows the prompt and what is being typed."""

    DEFAULT_CSS = """
    ScanInput {
        height: 3;
        border: tall $accent;
        padding: 0 1;
        background: $boost;
    }
    ScanInput:focus { border: tall $success; }
    ScanInput .prompt { color: $text-muted; }
    """

    @dataclass
    class Scanned(Message):
        """A complete scan was typed (the code, stripped of its terminator)."""

        code: str

    buffer: reactive[str] = reactive("")
    """Characters typed since the last Enter."""
    prompt: reactive[str] = reactive("")
    """What to scan, shown while the buffer is empty."""

    def __init__(self, prompt: str = "", *, debounce_s: float = 0.1, id: str | None = None) -> None:
        super().__init__(id=id)
        self.prompt = prompt
        self.debounce_s = debounce_s
        """Identical scans closer than this are one physical read."""
        self._last: tuple[str, float] = ("", 0.0)
        """The previous scan and when it arrived, for the debounce."""

    def render(self) -> str:
        if self.buffer:
            return f"▶ {self.buffer}▏"
        return f"▶ {self.prompt}"

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            code = self.buffer.strip()
            self.buffer = ""
            event.stop()
            event.prevent_default()
            if not code:
                return
            now = time.monotonic()
            last_code, last_at = self._last
            self._last = (code, now)
            if code == last_code and now - last_at < self.debounce_s:
                return
            self.post_message(self.Scanned(code))
        elif event.key == "backspace":
            self.buffer = self.buffer[:-1]
            event.stop()
        elif event.is_printable and event.character and event.character not in "\r\n\t":
            self.buffer += event.character
            event.stop()
            event.prevent_default()
