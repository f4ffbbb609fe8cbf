"""What every kiosk screen shares: scans in, language changes, loud and calm banners."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from edge.ui.messages import ScanReceived
from edge.ui.widgets.scan_input import ScanInput

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp

log = logging.getLogger("edge.ui")


def failure_detail(err: BaseException | None) -> str:
    """One line for a banner: the error's type and the first line of its text."""
    if err is None:
        return "?"
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def worker_error(event: Worker.StateChanged) -> BaseException | None:
    """The error of a worker that just failed (logged with its traceback), else None."""
    if event.state is not WorkerState.ERROR:
        return None
    err = event.worker.error
    log.error("kiosk worker %s failed", event.worker.name or event.worker.group,
              exc_info=(type(err), err, err.__traceback__) if err is not None else None)
    return err if err is not None else RuntimeError("worker failed")


class KioskScreen(Screen[None]):
    """A full screen of the kiosk. Subclasses implement ``handle_scan`` and ``apply_language``."""

    BANNER_FIXED_HEIGHT = False
    """True when the screen's CSS gives ``#banner`` a fixed height: updates then skip the
    layout pass (a full reflow and repaint per scan otherwise)."""

    _said: tuple[str, str, dict[str, object]] | None = None
    """The banner's i18n key, kind and values, to redraw it when the language changes."""

    @property
    def papp(self) -> PacklineApp:
        """The app, typed."""
        return cast("PacklineApp", self.app)

    def t(self, key: str, **values: object) -> str:
        return self.papp.t(key, **values)

    def on_mount(self) -> None:
        self.watch(self.papp, "lang", self._lang_changed, init=False)
        self.apply_language()

    def on_screen_resume(self) -> None:
        self.focus_scan()

    def focus_scan(self) -> None:
        """Give the scan input focus again (after a touch, a dialog...)."""
        for scan in self.query(ScanInput):
            scan.focus()
            return

    def _lang_changed(self, _lang: Any = None) -> None:
        self.apply_language()
        said = self._said
        if said is not None:
            key, kind, values = said
            self.banner(self.t(key, **values), kind, ring=False)
            self._said = said

    def apply_language(self) -> None:
        """Set every label from the i18n table."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        err = worker_error(event)
        if err is not None:
            self.worker_failed(event.worker, err)

    def worker_failed(self, worker: Worker[Any], err: BaseException) -> None:
        """A worker of this screen raised something nobody caught (it is logged): say so
        in red. Screens override this to put their task back where the operator can resume."""
        self.say("error.unexpected", "error", detail=failure_detail(err))

    def handle_scan(self, code: str, source: str) -> None:
        """A scan arrived while this screen is active."""

    def on_scan_input_scanned(self, event: ScanInput.Scanned) -> None:
        event.stop()
        self.handle_scan(event.code, "keyboard")

    def on_scan_received(self, event: ScanReceived) -> None:
        event.stop()
        self.handle_scan(event.code, event.source)

    def say(self, key: str, kind: str = "info", **values: object) -> None:
        """``banner`` with an i18n entry, redrawn in the new language when it changes."""
        self.banner(self.t(key, **values), kind)
        self._said = (key, kind, values)

    def banner(self, text: str, kind: str = "info", *, ring: bool = True,
               widget_id: str = "banner") -> None:
        """Show ``text``: ``error`` is red, full width and rings the bell; ``ok`` is green."""
        self._said = None
        banner = self.query_one(f"#{widget_id}", Static)
        banner.update(text, layout=not self.BANNER_FIXED_HEIGHT)
        classes = f"banner banner-{kind}"
        if set(banner.classes) != set(classes.split()):
            banner.set_classes(classes)
        if kind == "error" and ring:
            self.papp.alarm()
