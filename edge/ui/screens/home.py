"""Home: the workflows this operator may start. Scanning here starts packing at once."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from edge.ui.screens.base import KioskScreen
from edge.ui.screens.handover import HANDOVER_ROLES
from edge.ui.screens.receive import RECEIVE_ROLES
from edge.ui.screens.returns import RETURN_ROLES
from edge.ui.screens.transfer import TRANSFER_ROLES
from edge.ui.screens.wave import WAVE_ROLES
from edge.ui.widgets.buttons import BigButton
from edge.ui.widgets.scan_input import ScanInput
from edge.ui.widgets.status_bar import StatusBar


class HomeScreen(KioskScreen):
    """Pack, picking waves, receive and transfers (leads), hand over to couriers, stocktake,
    returns, devices, sign out."""

    CSS_PATH = "home.tcss"

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Vertical(id="home-body"):
            yield Label(id="home-title", classes="screen-title")
            yield Static(id="banner", classes="banner")
            yield ScanInput(debounce_s=self.papp.services.settings.scan_debounce_s, id="scan")
            with Horizontal(id="home-actions"):
                yield BigButton("", id="go-pack", variant="primary")
                yield BigButton("", id="go-wave")
                yield BigButton("", id="go-receive")
                yield BigButton("", id="go-handover")
                yield BigButton("", id="go-stocktake")
                yield BigButton("", id="go-returns")
                yield BigButton("", id="go-transfer-out")
                yield BigButton("", id="go-transfer-in")
                yield BigButton("", id="go-devices")
                yield BigButton("", id="sign-out", variant="warning")

    def apply_language(self) -> None:
        t = self.t
        op = self.papp.operator
        self.query_one("#home-title", Label).update(
            t("signin.welcome", name=op["name"]) if op else t("home.title"))
        self.query_one(ScanInput).prompt = t("home.hint")
        self.query_one("#go-pack", BigButton).label = t("home.pack")
        wave = self.query_one("#go-wave", BigButton)
        wave.label = t("home.wave")
        wave.display = op is not None and op["role"] in WAVE_ROLES
        receive = self.query_one("#go-receive", BigButton)
        receive.label = t("home.receive")
        receive.display = op is not None and op["role"] in RECEIVE_ROLES
        handover = self.query_one("#go-handover", BigButton)
        handover.label = t("home.handover")
        handover.display = op is not None and op["role"] in HANDOVER_ROLES
        self.query_one("#go-stocktake", BigButton).label = t("home.stocktake")
        returns = self.query_one("#go-returns", BigButton)
        returns.label = t("home.returns")
        returns.display = op is not None and op["role"] in RETURN_ROLES
        for side in ("out", "in"):
            button = self.query_one(f"#go-transfer-{side}", BigButton)
            button.label = t(f"home.transfer_{side}")
            button.display = op is not None and op["role"] in TRANSFER_ROLES
        self.query_one("#go-devices", BigButton).label = t("home.devices")
        self.query_one("#sign-out", BigButton).label = t("home.signout")

    def handle_scan(self, code: str, source: str) -> None:
        self.papp.open_pack(first_scan=(code, source))

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        bid = event.button.id
        if bid == "go-pack":
            self.papp.open_pack()
        elif bid == "go-wave":
            self.papp.open_wave()
        elif bid == "go-receive":
            self.papp.open_receive()
        elif bid == "go-handover":
            self.papp.open_handover()
        elif bid == "go-stocktake":
            self.papp.open_stocktake()
        elif bid == "go-returns":
            self.papp.open_returns()
        elif bid in ("go-transfer-out", "go-transfer-in"):
            self.papp.open_transfer(bid.removeprefix("go-transfer-"))
        elif bid == "go-devices":
            self.papp.open_devices()
        elif bid == "sign-out":
            self.papp.sign_out()
        else:
            return
        event.stop()
