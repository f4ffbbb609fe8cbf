"""The scan input: the keyboard is the scanner whenever the kiosk has focus.

A keyboard-wedge scanner types the code and a carriage return. This widget keeps focus,
collects printable keys and posts ``ScanInput.Scanned`` on Enter. The same code twice
within ``debounce_s`` is a double read and is dropped (Odoo uses 100 ms).

A scanner types a whole code in a few milliseconds, so the typed characters are only drawn
when a code is still unfinished after ``echo_after_s`` (a person typing at the keyboard):
a scan repaints nothing here, which keeps the frame after the scan small.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
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

    shown: reactive[str] = reactive("")
    """The unfinished code as drawn (empty while a scanner is typing)."""
    prompt: reactive[str] = reactive("")
    """What to scan, shown while the buffer is empty."""

    def __init__(self, prompt: str = "", *, debounce_s: float = 0.1, echo_after_s: float = 0.15,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.prompt = prompt
        self.debounce_s = debounce_s
        """Identical scans closer than this are one physical read."""
        self.echo_after_s = echo_after_s
        """Draw an unfinished code once it is this old (someone is typing by hand)."""
        self.buffer = ""
        """Characters typed since the last Enter."""
        self._started: float | None = None
        """When the unfinished code began (None between codes)."""
        self._echo_timer: Timer | None = None
        """Draws a slow (hand-typed) code; stopped when the code ends."""
        self._last: tuple[str, float] = ("", 0.0)
        """The previous scan and when it arrived, for the debounce."""

    def render(self) -> str:
        if self.shown:
            return f"▶ {self.shown}▏"
        return f"▶ {self.prompt}"

    def _echo(self) -> None:
        if self.buffer:
            self.shown = self.buffer

    def _typed(self) -> None:
        if self._started is None:
            self._started = time.monotonic()
            self._echo_timer = self.set_timer(self.echo_after_s, self._echo)
        elif self.shown or time.monotonic() - self._started >= self.echo_after_s:
            self.shown = self.buffer

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            code = self.buffer.strip()
            self.buffer = ""
            self._started = None
            self.shown = ""
            if self._echo_timer is not None:
                self._echo_timer.stop()
                self._echo_timer = None
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
            self._typed()
            event.stop()
        elif event.is_printable and event.character and event.character not in "\r\n\t":
            self.buffer += event.character
            self._typed()
            event.stop()
            event.prevent_default()
