"""Messages the kiosk posts: small past-tense facts carrying data (posting's style).

Device threads and write workers never touch widgets: they post one of these and the
screen that cares updates itself on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from edge.hardware.ports import Weight
from edge.store.handover import ClosedBatch
from edge.ui.health import StationHealth


@dataclass
class ScanReceived(Message):
    """A complete scan arrived (from the keyboard wedge or a device scanner)."""

    code: str
    """The barcode, terminator stripped."""
    source: str = "keyboard"
    """``keyboard`` or the scanner's URL."""


@dataclass
class ScaleRead(Message):
    """The scale answered (``weight``) or stayed silent (None) for one poll."""

    weight: Weight | None


@dataclass
class DeviceStateChanged(Message):
    """A device connected, failed or recovered."""

    device: str
    """``scanner``, ``scale``, ``label_printer`` or ``slip_printer``."""
    state: str
    """``ok``, ``off``, ``error`` or ``busy``."""
    detail: str = ""


@dataclass
class SignedIn(Message):
    """An operator signed in (the operators row)."""

    operator: dict[str, Any]
    method: str


@dataclass
class WeighRecorded(Message):
    """A weighing was written to weigh_log."""

    order_id: str
    grams: int
    within: bool
    override_by: str | None = None


@dataclass
class PrintFinished(Message):
    """A print job ended: ``error`` is None when it reached the printer and was logged."""

    order_id: str
    kind: str
    reprint: bool
    error: str | None = None
    printed: bool = False
    """With an error: the label did reach the printer, only logging it failed."""
    short: object = None
    """With an error: the ``StockShort`` that stopped the label (a lead's count resolves it)."""


@dataclass
class OrderShipped(Message):
    """The order shipped: status, SHIP moves and the shipment outbox row are committed."""

    order_id: str
    grams: int | None


@dataclass
class ShipFailed(Message):
    """Shipping was refused or failed; the order is unchanged."""

    order_id: str
    error: str
    retry: bool = False
    """The failure was not a refusal (e.g. "database is locked"): trying again may work."""


@dataclass
class SyncStatusChanged(Message):
    """The status worker read the station's sync and backup state (every few seconds)."""

    health: StationHealth


@dataclass
class GoodsReceived(Message):
    """A receipt was written: one RECEIVE move against a purchase order line (``error`` is
    None), or it was refused and nothing was written (``error`` says why)."""

    po_id: str
    line_no: int
    qty: int
    location: str
    error: str | None = None
    sku: str = ""
    """The line's SKU (set when the move was written)."""
    balance_after: int = 0
    """The SKU's balance at ``location`` after the move."""


@dataclass
class GoodsLabelsPrinted(Message):
    """Goods labels for a SKU went to the label printer (``error`` None) or did not."""

    sku: str
    copies: int
    error: str | None = None


@dataclass
class HandoverClosed(Message):
    """A handover batch was closed (``batch`` set, its message queued) and its list went to
    the slip printer (``print_error`` None) or did not; or nothing was closed (``error``)."""

    batch: ClosedBatch | None
    error: str | None = None
    print_error: str | None = None


@dataclass
class StocktakeWritten(Message):
    """A stocktake write finished: ``start``, ``count`` (one location) or ``approve``
    (``error`` is None), or it was refused and nothing was written (``error`` says why)."""

    action: str
    """``start``, ``count`` or ``approve``."""
    error: str | None = None
    stocktake_id: str = ""
    """The stocktake written to."""
    location: str = ""
    """The location counted (``count``)."""
    round: int = 0
    """The round recorded: 1, or 2 for a recount (``count``)."""
    recount: bool = False
    """The count differs too much: the location must be counted again (``count``)."""
    moves: int = 0
    """Count-adjustment moves written (``approve``)."""


@dataclass
class TransferWritten(Message):
    """A transfer shipment or receipt was written at the kiosk (``error`` is None), or it was
    refused and nothing was written (``error`` says why)."""

    side: str
    """``out`` (调拨出库) or ``in`` (调拨入库)."""
    transfer_id: str
    error: str | None = None
    units: int = 0
    """Units moved by TRANSFER_OUT / TRANSFER_IN moves."""
    diffs: int = 0
    """Discrepancies recorded (receipts only)."""
