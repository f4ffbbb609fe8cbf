"""The status bar: station, operator, device states, sync state and the language button.

Compact enough for a 1024×600 touchscreen terminal (~128 columns): devices are a short
name and an icon (✓ ok, ✗ fault, - not configured, … busy, in colour), and sync is one
label the status worker's readings fill (``PacklineApp.health``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from edge.ui.widgets.buttons import BigButton

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp

DEVICES = ("scanner", "scale", "label_printer", "slip_printer")
"""Devices shown, in order."""


class StatusBar(Horizontal):
    """One line of state at the top of every screen; the sync helper fills ``#sync``."""

    DEFAULT_CSS = """
    StatusBar { height: 3; background: $panel; padding: 0 1; }
    StatusBar Label { padding: 1 1 0 0; }
    StatusBar .dev-ok { color: $success; }
    StatusBar .dev-error { color: $error; text-style: bold reverse; }
    StatusBar .dev-off { color: $text-muted; }
    StatusBar .dev-busy { color: $warning; }
    StatusBar #operator { text-style: bold; }
    StatusBar .dev { padding: 1 0 0 0; margin: 0 1 0 0; }
    StatusBar #sync { margin: 0 0 0 1; }
    StatusBar .sync-ok { color: $success; }
    StatusBar .sync-warn { color: $warning; text-style: bold; }
    StatusBar .sync-error { color: $error; text-style: bold reverse; }
    StatusBar #spacer { width: 1fr; }
    StatusBar #lang { height: 3; min-width: 10; margin: 0; }
    """

    @property
    def papp(self) -> PacklineApp:
        return cast("PacklineApp", self.app)

    def __init__(self) -> None:
        super().__init__()
        self._shown: dict[str, str] = {}
        """selector → the text last put in that label."""

    def compose(self) -> ComposeResult:
        yield Label(id="station")
        yield Label(id="operator")
        for dev in DEVICES:
            yield Label(id=f"dev-{dev}")
        yield Label(id="sync")
        yield Label(id="spacer")
        yield BigButton("", id="lang")

    def on_mount(self) -> None:
        app = self.papp
        for attr in ("lang", "operator", "device_states", "health"):
            self.watch(app, attr, self._changed, init=False)
        self.refresh_state()

    def _changed(self, _value: Any = None) -> None:
        self.refresh_state()

    def refresh_state(self) -> None:
        """Redraw what changed (the status worker calls this every ~2 s: an unchanged
        label is not touched, so a reading costs no layout or repaint during a scan)."""
        app = self.papp
        t = app.t
        self._show("#station", t("status.station", station=app.station_id))
        op = app.operator
        self._show("#operator", t("status.operator", name=op["name"], role=app.i18n.role(op["role"]))
                   if op else t("status.nobody"))
        for dev in DEVICES:
            state = app.device_states.get(dev, "off")
            self._show(f"#dev-{dev}", f"{t('device.short.' + dev)}{t('device.icon.' + state)}",
                       f"dev dev-{state}", tooltip=f"{t('device.' + dev)}: {t('device.state.' + state)}")
        text, level = sync_line(app)
        self._show("#sync", text, f"sync-{level}")
        lang = self.query_one("#lang", BigButton)
        if str(lang.label) != t("lang.toggle"):
            lang.label = t("lang.toggle")

    def _show(self, selector: str, text: str, classes: str | None = None,
              tooltip: str | None = None) -> None:
        label = self.query_one(selector, Label)
        if self._shown.get(selector) != text:
            self._shown[selector] = text
            label.update(text)
        if classes is not None and set(label.classes) != set(classes.split()):
            label.set_classes(classes)
        if tooltip is not None and label.tooltip != tooltip:
            label.tooltip = tooltip

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        if event.button.id == "lang":
            event.stop()
            self.papp.action_toggle_language()


def sync_line(app: PacklineApp) -> tuple[str, str]:
    """The status bar's sync text and level (``ok``/``idle``/``warn``/``error``), e.g.
    ``离线 · 待同步 12 条 · 最早 5分钟 · 确认 08:01:02``."""
    t = app.t
    health = app.health
    if health is None:
        return t("status.sync.reading"), "idle"
    s = health.sync
    level = health.sync_level()
    parts = [t("sync.online") if s.online else t("sync.offline")]
    if level == "error":
        parts.append(t("sync.error.short"))
    if s.backlog:
        parts.append(t("sync.backlog", n=s.backlog))
        parts.append(t("sync.oldest", age=app.format_age(s.oldest_age)))
    else:
        parts.append(t("sync.synced"))
    if s.last_ack_at is not None:
        parts.append(t("sync.last_ack", time=app.format_time(s.last_ack_at)))
    return " · ".join(parts), level
