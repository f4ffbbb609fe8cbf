"""Pick a reason from a short list (override, reprint); the caller gets it or None.

The reason is stored bilingual ("卡纸 / Paper jam") so the audit log reads in both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from edge.ui.i18n import TEXT
from edge.ui.widgets.buttons import BigButton

if TYPE_CHECKING:
    from edge.ui.app import PacklineApp

REASONS: dict[str, tuple[str, ...]] = {
    "override": ("packaging", "gift", "sku_weight", "checked"),
    "reprint": ("jam", "smudged", "damaged", "lost"),
    "count": ("miscounted", "unrecorded_receipt", "found_elsewhere", "recounted"),
    "over": ("supplier_extra", "spares", "po_outdated", "checked"),
    "transfer": ("damaged", "lost", "short_shipped", "extra_shipped"),
}
"""Reason keys per purpose (texts in the i18n table under ``reason.<purpose>.<key>``)."""


def reason_text(purpose: str, key: str) -> str:
    """The stored form of a reason: both languages."""
    zh, en = TEXT[f"reason.{purpose}.{key}"]
    return f"{zh} / {en}"


class ReasonDialog(ModalScreen[str | None]):
    """One big button per reason, and Cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "dismiss(None)", "")]

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose
        """``override``, ``reprint``, ``count``, ``over`` (an over-receipt) or ``transfer`` (a
        transfer received short or over)."""

    def compose(self) -> ComposeResult:
        t = cast("PacklineApp", self.app).t
        with Vertical(classes="dialog"):
            yield Label(t(f"reason.title.{self.purpose}"), classes="dialog-title")
            with Grid(classes="reasons"):
                for key in REASONS[self.purpose]:
                    yield BigButton(t(f"reason.{self.purpose}.{key}"), id=f"reason-{key}")
            yield BigButton(t("dialog.cancel"), id="cancel")

    def on_button_pressed(self, event: BigButton.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid.startswith("reason-"):
            self.dismiss(reason_text(self.purpose, bid.removeprefix("reason-")))
        else:
            self.dismiss(None)
