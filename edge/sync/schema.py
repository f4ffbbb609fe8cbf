"""Wire schema shared by edge and cloud: versioned envelopes and their payloads (pydantic).

Everything that crosses MQTT is an ``Envelope``; ``msg_id`` is its idempotency key. For a
stock move the ``msg_id`` is the ``move_id`` itself, so a replayed move is the same message.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edge.domain.models import MAX_MOVE_QTY, Move, MoveReason

WIRE_VERSION = 1


class MoveWire(BaseModel):
    """A stock move as it travels between station and cloud."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    move_id: str = Field(min_length=8, max_length=64)
    """Globally unique id (UUID); the idempotency key everywhere."""
    warehouse_id: str = Field(min_length=1, max_length=64)
    """Warehouse whose stock moved."""
    sku: str = Field(min_length=1, max_length=64)
    """Packline SKU code."""
    location: str = Field(min_length=1, max_length=64)
    """Location code (bin) inside the warehouse."""
    qty_delta: int = Field(ge=-MAX_MOVE_QTY, le=MAX_MOVE_QTY)
    """Signed quantity: positive into stock, negative out. Never zero."""
    balance_after: int
    """The balance at this location right after the move, as the recording station saw it."""
    reason: MoveReason
    """Why stock moved (``MoveReason`` code)."""
    source_type: str = Field(max_length=64)
    """Kind of source document: order, po, count, transfer, manual, reversal, ..."""
    source_id: str = Field(max_length=128)
    """Id of the source document."""
    source_line: str | None = Field(default=None, max_length=64)
    """Line of the source document, when it has lines."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who made the move."""
    station_id: str = Field(min_length=1, max_length=64)
    """Station that recorded the move."""
    device_id: str | None = Field(default=None, max_length=128)
    """Scanner or device that triggered it, when known."""
    occurred_at: datetime
    """When it happened (UTC)."""
    recorded_at: datetime
    """When the station committed it (UTC)."""
    reverses_move_id: str | None = Field(default=None, max_length=64)
    """For a reversal: the move it undoes."""
    note: str | None = Field(default=None, max_length=500)
    """Free text, e.g. the reason for a manual adjustment."""

    @classmethod
    def from_move(cls, move: Move) -> MoveWire:
        return cls(
            move_id=move.move_id,
            warehouse_id=move.warehouse_id,
            sku=move.sku,
            location=move.location,
            qty_delta=move.qty_delta,
            balance_after=move.balance_after,
            reason=move.reason,
            source_type=move.source_type,
            source_id=move.source_id,
            source_line=move.source_line,
            operator_id=move.operator_id,
            station_id=move.station_id,
            device_id=move.device_id,
            occurred_at=move.occurred_at,
            recorded_at=move.recorded_at,
            reverses_move_id=move.reverses_move_id,
            note=move.note,
        )

    def to_move(self) -> Move:
        return Move(**self.model_dump())


class Envelope(BaseModel):
    """One message on the wire. ``kind`` says how to read ``payload``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = WIRE_VERSION
    """Wire version; a receiver rejects versions it does not know."""
    msg_id: str = Field(min_length=8, max_length=64)
    """Idempotency key: applying the same msg_id twice changes nothing."""
    kind: str = Field(min_length=1, max_length=32)
    """Message kind, e.g. ``move``, ``shipment``, ``sign_in``, ``task``, ``intercept``."""
    station_id: str = Field(min_length=1, max_length=64)
    """Sender (up) or addressee (down) station."""
    created_at: datetime
    """When the message was created (UTC)."""
    payload: dict[str, Any]
    """Kind-specific body."""


# ---------------------------------------------------------------------------- topics
TOPIC_ROOT = "packline/v1"
"""Versioned root of every Packline topic."""

UP_KINDS: frozenset[str] = frozenset(
    {"move", "alert", "shipment", "sign_in", "ack", "resync", "health", "print", "handover",
     "stocktake", "transfer_diff", "return", "wave_pick", "wave_put"})
"""Kinds a station sends on ``…/up/{kind}``."""
DOWN_KINDS: frozenset[str] = frozenset(
    {"ack", "catalog", "operators", "task", "intercept", "release", "po", "transfer", "moves",
     "shipped", "refund", "count_plan", "wave"})
"""Kinds the cloud sends on ``…/down/{kind}``."""


def up_topic(station_id: str, kind: str) -> str:
    """``packline/v1/st/{station}/up/{kind}``: station → cloud."""
    return f"{TOPIC_ROOT}/st/{station_id}/up/{kind}"


def down_topic(station_id: str, kind: str) -> str:
    """``packline/v1/st/{station}/down/{kind}``: cloud → station."""
    return f"{TOPIC_ROOT}/st/{station_id}/down/{kind}"


def parse_topic(topic: str) -> tuple[str, str, str] | None:
    """``(station, "up" | "down", kind)`` for a Packline topic, or None if it is not one."""
    parts = topic.split("/")
    if len(parts) != 6 or "/".join(parts[:2]) != TOPIC_ROOT or parts[2] != "st":
        return None
    station, direction, kind = parts[3], parts[4], parts[5]
    if not station or direction not in ("up", "down") or not kind:
        return None
    return station, direction, kind


# ---------------------------------------------------------------------------- payloads
class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _DownWire(_Wire):
    """A cloud → station body. Unknown fields are ignored, not refused: the cloud is
    upgraded before the fleet, and a station a version behind must keep applying tasks
    (and catalogs, orders, transfers) that carry a field it does not know yet — a newer
    optional field such as a task's ``ship_by`` or ``label`` — rather than dead-letter them.
    Up-messages stay strict: the cloud knows every version a station sends."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Rejected(_Wire):
    """A message the receiver will never apply (it went to its dead letters)."""

    msg_id: str = Field(min_length=1, max_length=64)
    """The refused message."""
    reason: str = Field(max_length=500)
    """Why, in one line."""


class AckWire(_Wire):
    """Application-level ack (kind ``ack``, both directions): these messages are applied.

    Only this, never a broker PUBACK, lets the sender stop re-sending a message.
    """

    msg_ids: list[str] = Field(default_factory=list, max_length=5000)
    """Messages applied (or found already applied)."""
    rejected: list[Rejected] = Field(default_factory=list, max_length=5000)
    """Messages refused for good; the sender stops re-sending them and raises an alert."""


class AlertWire(_Wire):
    """An alert raised at a station (kind ``alert``), e.g. negative stock."""

    kind: str = Field(min_length=1, max_length=64)
    """Alert type, e.g. ``negative_stock``, ``intercept_after_ship``."""
    subject: str = Field(max_length=200)
    """What it is about, e.g. ``SKU@location`` or an order id."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """Kind-specific facts."""


class ShipmentWire(_Wire):
    """An order shipped at a station (kind ``shipment``): tracking goes to the platform."""

    order_id: str = Field(min_length=1, max_length=64)
    """Packline order id."""
    waybill_no: str = Field(min_length=1, max_length=64)
    """Tracking number on the label."""
    carrier: str = Field(max_length=64)
    """Carrier code."""
    weight_g: int | None = Field(default=None, ge=0, le=1_000_000)
    """Weighed parcel, grams."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who shipped it."""
    shipped_at: datetime
    """When (UTC)."""
    platform: str | None = Field(default=None, max_length=16)
    """Platform of the order, as the task gave it."""
    platform_order_no: str | None = Field(default=None, max_length=64)
    """Platform order number, as the task gave it."""
    station_id: str | None = Field(default=None, max_length=64)
    """Sending station (the envelope's and the topic's station is the one that counts)."""
    move_ids: list[str] = Field(default_factory=list, max_length=1000)
    """The SHIP moves recorded with the shipment (they travel as ``move`` messages)."""
    kpis: dict[str, float] = Field(default_factory=dict, max_length=32)
    """Packer telemetry: rejected scans, weighings, seconds spent packing, weight overrides."""


class SignInWire(_Wire):
    """An operator signed in or out at a station (kind ``sign_in``)."""

    operator_id: str = Field(min_length=1, max_length=64)
    """Who."""
    event: str = Field(pattern=r"^(sign_in|sign_out)$")
    """``sign_in`` or ``sign_out``."""
    at: datetime
    """When (UTC)."""
    method: str | None = Field(default=None, max_length=16)
    """How (``badge`` or ``pin``) for a sign-in."""
    station_id: str | None = Field(default=None, max_length=64)
    """Sending station (the envelope's and the topic's station is the one that counts)."""


class LocationWire(_DownWire):
    """A storage location of the catalog."""

    code: str = Field(min_length=1, max_length=64)
    warehouse_id: str = Field(min_length=1, max_length=64)
    zone: str = Field(default="", max_length=64)
    bin: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=200)


class WarehouseWire(_DownWire):
    """A warehouse and its negative-stock policy."""

    warehouse_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    negative_stock_policy: str = Field(default="refuse", pattern=r"^(refuse|allow_with_alert)$")


KIT_MAX_COMPONENTS = 20
"""Most components a kit carries to a station (``cloud.kits.MAX_COMPONENTS``)."""


class SkuWire(_DownWire):
    """A SKU with its barcodes (``(code, units)``; a case barcode has units > 1)."""

    sku: str = Field(min_length=1, max_length=64)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    spec: str = Field(default="", max_length=200)
    unit_weight_g: int = Field(default=0, ge=0, le=1_000_000)
    length_mm: int | None = Field(default=None, ge=0)
    width_mm: int | None = Field(default=None, ge=0)
    height_mm: int | None = Field(default=None, ge=0)
    default_location: str | None = Field(default=None, max_length=64)
    active: bool = True
    barcodes: list[tuple[str, int]] = Field(default_factory=list, max_length=100)
    version: int | None = Field(default=None, ge=1)
    """The cloud's version of this SKU (``skus.catalog_version``, one more per edit): a
    station keeps the newest it applied and ignores an older copy arriving late; the
    cloud's barcodes win over a station's own. None: not from the cloud (a local import)."""
    components: list[tuple[str, int]] | None = Field(default=None, max_length=KIT_MAX_COMPONENTS)
    """A kit's (组合商品) components as (SKU, units per kit): scanning the kit's barcode counts
    them. ``[]``: not a kit; None: unknown (an older cloud, a local import) — kept as is."""


class CatalogWire(_DownWire):
    """Catalog changes for a station (kind ``catalog``): upserts, applied in this order."""

    warehouses: list[WarehouseWire] = Field(default_factory=list)
    locations: list[LocationWire] = Field(default_factory=list)
    skus: list[SkuWire] = Field(default_factory=list)


class OperatorWire(_DownWire):
    """A kiosk operator as the cloud manages it (web app 工作人员)."""

    operator_id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(pattern=r"^(packer|lead)$")
    """What the kiosk lets them do: ``lead`` may also approve overrides."""
    badge: str | None = Field(default=None, min_length=1, max_length=64)
    """The badge code a scanner reads at sign-in; unique among operators."""
    pin_hash: str | None = Field(default=None, max_length=200)
    """Argon2id hash of the PIN (``edge.domain.auth``), never the PIN itself."""
    active: bool = True
    version: int = Field(ge=1)
    """The cloud's version of this operator: a station keeps the newest it applied."""


class OperatorsWire(_DownWire):
    """Operators for a station (kind ``operators``): upserts, newest version wins; an
    operator the cloud deactivates is sent with ``active`` false, never deleted."""

    operators: list[OperatorWire] = Field(min_length=1, max_length=1000)


class TaskLineWire(_DownWire):
    """One line of a pack task."""

    line_no: int = Field(ge=1, le=10_000)
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(ge=1, le=1_000_000)


class TaskLabelWire(_DownWire):
    """What the station's self-drawn label needs beyond the order: the courier's Chinese
    name, the sender the waybill was taken with, and the routing the waybill gave."""

    carrier_name: str = Field(default="", max_length=64)
    """Courier name in Chinese (中通快递), printed top left."""
    sender_name: str = Field(default="", max_length=64)
    sender_phone: str = Field(default="", max_length=32)
    sender_address: str = Field(default="", max_length=300)
    """Province, city, district and street, as one line."""
    sort_code: str = Field(default="", max_length=64)
    """Sort code (大头笔), empty when the waybill reply gave none."""
    package_centre: str = Field(default="", max_length=64)
    """Package centre (集包地), empty when the waybill reply gave none."""


class TaskWire(_DownWire):
    """A pack task (kind ``task``): the order, its lines and pre-fetched waybill print data."""

    order_id: str = Field(min_length=1, max_length=64)
    """Packline order id."""
    platform: str = Field(min_length=1, max_length=16)
    """``pdd``, ``taobao``, ``jd``."""
    shop_id: str = Field(default="", max_length=64)
    platform_order_no: str = Field(min_length=1, max_length=64)
    """The marketplace's order number (what is printed and scanned)."""
    lines: list[TaskLineWire] = Field(min_length=1, max_length=500)
    waybill_no: str | None = Field(default=None, max_length=64)
    """Tracking number, when the e-waybill was already issued."""
    carrier: str | None = Field(default=None, max_length=64)
    print_data: dict[str, Any] | None = None
    """The carrier's waybill print data (template fields), printed offline."""
    receiver_masked: dict[str, Any] = Field(default_factory=dict)
    """Masked receiver name/phone/address, as the platform allows showing them."""
    buyer_note: str | None = Field(default=None, max_length=1000)
    packaging_weight_g: int = Field(default=0, ge=0, le=100_000)
    ordered_at: datetime
    ship_by: datetime | None = None
    """The platform's ship-by deadline (PDD ``last_ship_time``; Taobao: paid + 48 h)."""
    label: TaskLabelWire | None = None
    """Sender and routing for the self-drawn label; None from a cloud that sends none
    (the station then prints its own sender settings). The station keeps it inside the
    order's print data (``print_data["label"]``), so its tables do not change."""


class InterceptWire(_DownWire):
    """Stop an order (kind ``intercept``): refund or address change."""

    order_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=200)
    seq: int = Field(default=0, ge=0)
    """The cloud's number for this hold decision of the order (``ReleaseWire.seq`` counts
    on from it); 0 from a cloud that does not number them: always applied."""


class ReleaseWire(_DownWire):
    """Let an intercepted order be packed again (kind ``release``): the refund request that
    stopped it was withdrawn or refused."""

    order_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=200)
    seq: int = Field(ge=1)
    """Greater than the ``seq`` of every intercept it lifts."""


class PoLineWire(_DownWire):
    """One line of a purchase order."""

    line_no: int = Field(ge=1, le=10_000)
    sku: str = Field(min_length=1, max_length=64)
    qty_ordered: int = Field(ge=1, le=10_000_000)


class PurchaseOrderWire(_DownWire):
    """A purchase order to receive at this station's warehouse (kind ``po``)."""

    po_id: str = Field(min_length=1, max_length=64)
    supplier: str = Field(max_length=200)
    warehouse_id: str = Field(min_length=1, max_length=64)
    status: str = Field(default="open", pattern=r"^(open|closed|cancelled)$")
    expected_at: datetime | None = None
    note: str | None = Field(default=None, max_length=1000)
    lines: list[PoLineWire] = Field(min_length=1, max_length=1000)


class TransferLineWire(_DownWire):
    """One line of a transfer: what to move and what the cloud has counted so far."""

    line_no: int = Field(ge=1, le=10_000)
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(ge=1, le=10_000_000)
    qty_shipped: int = Field(default=0, ge=-10_000_000, le=10_000_000)
    """Shipped at the source warehouse as the cloud has counted it (what the destination
    may receive)."""
    qty_received: int = Field(default=0, ge=-10_000_000, le=10_000_000)
    """Received at the destination as the cloud has counted it."""


class TransferWire(_DownWire):
    """A transfer (调拨) between two warehouses (kind ``transfer``), for the stations of
    both: the source ships it, the destination receives it. Sent again when it is
    cancelled or closed, and when the cloud counts new shipments or receipts."""

    transfer_id: str = Field(min_length=1, max_length=64)
    from_warehouse: str = Field(min_length=1, max_length=64)
    to_warehouse: str = Field(min_length=1, max_length=64)
    status: str = Field(default="open", pattern=r"^(open|closed|cancelled)$")
    note: str | None = Field(default=None, max_length=1000)
    lines: list[TransferLineWire] = Field(min_length=1, max_length=1000)


class ResyncWire(_Wire):
    """A station restored from its backup asks the cloud for what the copy lacks (kind
    ``resync``, sent once through the outbox; its ``msg_id`` is the idempotency key).

    The cloud answers with the station's own moves from ``restore_point`` on (kind
    ``moves``), the orders the station shipped from then on (kind ``shipped``) and re-sends
    every down-message it acked from then on; the station applies each id once, so
    answering twice changes nothing. See ``edge.sync.resync``."""

    restore_point: datetime
    """The newest moment the restored copy holds (station clock, UTC): the backup's time."""
    restored_txid: int = Field(default=0, ge=0)
    """Backup transaction id the copy was restored to (for the operator's record)."""
    restored_at: datetime
    """When ``packline-edge restore`` ran (UTC)."""


class HealthWire(_Wire):
    """A station's health (kind ``health``): published directly, latest wins, not stored
    at the station (writing it would itself trigger a backup)."""

    backup_configured: bool
    """A backup sidecar exists beside the database (the backup service has run)."""
    backup_last_success_at: datetime | None = None
    """Last successful upload to the replica (UTC)."""
    backup_lag_seconds: float = Field(default=0.0, ge=0)
    """Age of the oldest change not yet uploaded."""
    backup_lag_txids: int = Field(default=0, ge=0)
    """Captured transactions not yet uploaded."""
    backup_txid: int = Field(default=0, ge=0)
    """Last captured backup transaction id."""
    backup_last_error: str | None = Field(default=None, max_length=500)
    """The backup service's last error, if it recorded one."""
    outbox_backlog: int = Field(default=0, ge=0)
    """Messages waiting for the cloud's ack."""
    outbox_oldest_at: datetime | None = None
    """Creation time of the oldest unacked message."""


class MovesWire(_Wire):
    """Moves of the station's warehouse (kind ``moves``): relayed from its other stations,
    or the station's own moves re-sent after a restore (``ResyncWire``)."""

    moves: list[MoveWire] = Field(min_length=1, max_length=5000)


class ShippedOrderWire(_DownWire):
    """One order the station shipped, as the cloud recorded its ``shipment`` message."""

    order_id: str = Field(min_length=1, max_length=64)
    """Packline order id."""
    shipped_at: datetime
    """When the station shipped it (the shipment's ``shipped_at``, UTC)."""
    shipped_by: str = Field(min_length=1, max_length=64)
    """Who shipped it (the shipment's ``operator_id``)."""
    waybill_no: str = Field(min_length=1, max_length=64)
    """Tracking number on the label (for the operator; the order already carries it)."""


class ShippedWire(_DownWire):
    """Orders this station shipped (kind ``shipped``), sent after a restore (``ResyncWire``):
    the restored copy may predate their shipment. The station marks each order shipped, with
    no move (the SHIP moves come back as ``moves``) and no new ``shipment`` message."""

    orders: list[ShippedOrderWire] = Field(min_length=1, max_length=5000)


class LabelPrintWire(_Wire):
    """A document printed at a station (kind ``print``): first print or reprint."""

    order_id: str = Field(min_length=1, max_length=64)
    """The order printed for."""
    doc: str = Field(pattern=r"^[a-z_]{1,16}$")
    """Which document (``label``)."""
    n: int = Field(ge=1)
    """1 for the first print, more for the n-th (a reprint)."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who printed it."""
    reason: str | None = Field(default=None, max_length=200)
    """Why it was reprinted (None for a first print)."""
    at: datetime
    """When (UTC, the station's clock)."""


MAX_HANDOVER_PARCELS = 5000
"""Most parcels one handover batch may carry (a courier's pickup is a few hundred)."""


class HandoverParcelWire(_Wire):
    """One parcel handed to the courier: scanned into the batch at the station."""

    order_id: str = Field(min_length=1, max_length=64)
    """The order the parcel ships."""
    waybill_no: str = Field(min_length=1, max_length=64)
    """The tracking number scanned."""
    scanned_at: datetime
    """When it was scanned into the batch (UTC, the station's clock)."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who scanned it."""


class HandoverWire(_Wire):
    """A handover batch closed at a station (kind ``handover``, 交接): the parcels one
    courier took at pickup. The envelope's msg_id is the idempotency key."""

    batch_id: str = Field(min_length=1, max_length=64)
    """The station's batch id (unique across stations: it starts with the station id)."""
    carrier: str = Field(min_length=1, max_length=32)
    """The courier's carrier code (``ZTO``, ``SF``...)."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who closed the batch (and signed the list)."""
    opened_at: datetime
    """When the first parcel was scanned (UTC)."""
    closed_at: datetime
    """When the batch was closed and its list printed (UTC)."""
    parcels: list[HandoverParcelWire] = Field(max_length=MAX_HANDOVER_PARCELS)
    """The parcels handed over."""
    not_handed_over: list[str] = Field(default_factory=list, max_length=MAX_HANDOVER_PARCELS)
    """Waybills of this courier shipped at the station but not in the batch when it
    closed (已发货未交接)."""
STOCKTAKE_MAX_LINES = 5000
"""Most count lines one ``stocktake`` message carries (a warehouse-wide count of a small
seller's warehouse; a bigger one is counted by zone)."""


class StocktakeLineWire(_Wire):
    """One SKU at one location in one count round of a stocktake."""

    location: str = Field(min_length=1, max_length=64)
    """Where it was counted."""
    sku: str = Field(min_length=1, max_length=64)
    """What was counted."""
    round: int = Field(ge=1, le=2)
    """1 for the first count, 2 for the recount that replaced it."""
    counted: int = Field(ge=0, le=MAX_MOVE_QTY)
    """Units counted."""
    expected: int = Field(ge=-MAX_MOVE_QTY, le=MAX_MOVE_QTY)
    """The book figure at the count's ledger position (never shown to the counter)."""
    final: bool
    """True for the round that stands (the recount if there was one)."""
    move_id: str | None = Field(default=None, max_length=64)
    """The COUNT_ADJUST move this line made (final lines with a variance), else None."""


class StocktakeWire(_Wire):
    """An approved stocktake (kind ``stocktake``): the summary the cloud's variance report
    shows. The adjustments themselves travel as ordinary ``move`` messages."""

    stocktake_id: str = Field(min_length=1, max_length=64)
    """The stocktake; the ``source_id`` of its COUNT_ADJUST moves."""
    warehouse_id: str = Field(min_length=1, max_length=64)
    """The warehouse counted."""
    scope: str = Field(pattern=r"^(full|zone|sku)$")
    """Full, one zone, or one SKU."""
    scope_value: str = Field(default="", max_length=64)
    """The zone prefix or the SKU ('' for a full count)."""
    snapshot_seq: int = Field(ge=0)
    """The station ledger's last move ``seq`` when the stocktake started."""
    started_by: str = Field(min_length=1, max_length=64)
    """The lead who started it."""
    started_at: datetime
    """When (UTC, the station's clock)."""
    approved_by: str = Field(min_length=1, max_length=64)
    """The lead who approved it: the operator of its adjustment moves."""
    approved_at: datetime
    """When (UTC, the station's clock)."""
    lines: list[StocktakeLineWire] = Field(max_length=STOCKTAKE_MAX_LINES)
    """Every count line of every round."""
    plan_id: str | None = Field(default=None, max_length=32)
    """The cloud's plan this stocktake carried out (None: started at the station)."""


class TransferDiffWire(_Wire):
    """A discrepancy recorded when a transfer was received (kind ``transfer_diff``): the
    units in transit on one line against the units the destination counted, with the lead's
    reason. A shortfall is recorded missing in the cloud; a surplus is booked at the station
    as a COUNT_ADJUST move sourced to the transfer line (the TRANSFER_IN moves never exceed
    what shipped). The envelope's msg_id is ``diff_id``."""

    diff_id: str = Field(min_length=1, max_length=64)
    """The station's id of the discrepancy (also the message id)."""
    transfer_id: str = Field(min_length=1, max_length=64)
    """The transfer received."""
    line_no: int = Field(ge=1)
    """Its line."""
    sku: str = Field(min_length=1, max_length=64)
    """The line's SKU."""
    expected: int = Field(ge=0, le=MAX_MOVE_QTY)
    """Units in transit on the line as the station knew it."""
    counted: int = Field(ge=0, le=MAX_MOVE_QTY)
    """Units the destination counted."""
    reason: str = Field(min_length=1, max_length=200)
    """Why they differ (the lead's choice, both languages)."""
    operator_id: str = Field(min_length=1, max_length=64)
    """The lead who confirmed the receipt."""
    at: datetime
    """When (UTC, the station's clock)."""


class StocktakePlanWire(_DownWire):
    """A stocktake planned in the cloud for the stations of one warehouse (kind
    ``count_plan``); a lead starts it at one kiosk (the others then see it taken). Sent
    again when it is cancelled."""

    plan_id: str = Field(min_length=1, max_length=32)
    """The cloud's plan id."""
    warehouse_id: str = Field(min_length=1, max_length=64)
    """The warehouse to count."""
    scope: str = Field(pattern=r"^(full|zone|sku)$")
    """Full, one zone (a location prefix) or one SKU."""
    scope_value: str = Field(default="", max_length=64)
    """The zone prefix or the SKU ('' for a full count)."""
    note: str = Field(default="", max_length=200)
    """What the planner asked (shown at the kiosk)."""
    status: str = Field(default="open", pattern=r"^(open|cancelled)$")
    """Open to start, or cancelled in the cloud."""
    created_by: str = Field(min_length=1, max_length=64)
    """Who planned it."""
    created_at: datetime
    """When (UTC, the cloud's clock)."""


class RefundWire(_DownWire):
    """An after-sales request on an order shipped from this station's warehouse (kind
    ``refund``), sent when the buyer sends goods back (退货退款, 换货) and again when it
    changes, so a return parcel can be matched at the kiosk by its own tracking number."""

    refund_id: str = Field(min_length=1, max_length=64)
    """The platform's after-sales id."""
    order_id: str = Field(min_length=1, max_length=64)
    """Packline order id of the order it is about."""
    platform_order_no: str = Field(min_length=1, max_length=64)
    """The marketplace's order number."""
    status: str = Field(pattern=r"^(pending|success|closed)$")
    """Asked (pending), refunded (success) or withdrawn/refused (closed)."""
    exchange: bool = False
    """The buyer wants an exchange (换货), not money."""
    return_waybill: str = Field(default="", max_length=64)
    """Tracking number of the return parcel ('' until the buyer ships it)."""
    return_carrier: str = Field(default="", max_length=64)
    """Its courier as the platform names it."""
    sku: str = Field(default="", max_length=64)
    """Packline SKU of the returned line ('' when the platform did not say which)."""
    qty: int = Field(default=0, ge=0, le=1_000_000)
    """Units asked back (0 when not sent)."""
    amount_fen: int = Field(default=0, ge=0)
    """Refund asked, in fen."""
    updated_at: datetime
    """The platform's last change (a copy older than the station's is ignored)."""


RETURN_CONDITIONS = ("good", "damaged", "wrong")
"""What an inspected returned item is: good (restocked), damaged (to the damage location),
wrong (not an item of this order: kept aside, no stock move)."""


class ReturnLineWire(_Wire):
    """One inspected item (or several units of one code) of a return parcel."""

    sku: str | None = Field(default=None, max_length=64)
    """The SKU scanned (None: a code the station does not know)."""
    code: str = Field(min_length=1, max_length=64)
    """What was scanned."""
    qty: int = Field(ge=1, le=MAX_MOVE_QTY)
    """Units."""
    condition: str = Field(pattern=r"^(good|damaged|wrong)$")
    """``RETURN_CONDITIONS``."""
    in_order: bool
    """Whether the order contained this SKU."""
    location: str | None = Field(default=None, max_length=64)
    """Where it was put (None for a wrong item)."""
    move_id: str | None = Field(default=None, max_length=64)
    """The RETURN move that put it there (None for a wrong item)."""


class ReturnWire(_Wire):
    """A return parcel inspected at a station (kind ``return``, 退货入库). The RETURN moves
    travel as ordinary ``move`` messages; this is the result the refund decision needs.
    The envelope's msg_id is ``return_id``."""

    return_id: str = Field(min_length=1, max_length=64)
    """The station's id of the return (it starts with the station id)."""
    warehouse_id: str = Field(min_length=1, max_length=64)
    """The warehouse that received it."""
    order_id: str = Field(min_length=1, max_length=64)
    """The order the parcel belongs to."""
    shop_id: str = Field(default="", max_length=64)
    """The order's shop."""
    refund_id: str | None = Field(default=None, max_length=64)
    """The after-sales request matched (None: none known at the station)."""
    scanned: str = Field(min_length=1, max_length=64)
    """What was scanned to find the order (return waybill, order waybill or number)."""
    exchange: bool = False
    """The buyer wants an exchange: the cloud opens a new outbound order."""
    note: str = Field(default="", max_length=200)
    """The inspector's note."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who inspected it."""
    at: datetime
    """When it was finished (UTC, the station's clock)."""
    lines: list[ReturnLineWire] = Field(min_length=1, max_length=500)
    """What was in the parcel."""
MAX_WAVE_ORDERS = 500
"""Most orders one wave may hold (a cart's put wall is a few dozen slots; a single-item
wave is a few hundred orders at most)."""


class WaveOrderWire(_DownWire):
    """One order of a wave and its put-wall slot."""

    order_id: str = Field(min_length=1, max_length=64)
    """The order (already at the station as a pack task)."""
    slot: int = Field(ge=0, le=MAX_WAVE_ORDERS)
    """Its put-wall slot, 1..N in a multi-item wave; 0 in a single-item wave."""


class WaveWire(_DownWire):
    """A picking wave (kind ``wave``, 波次): orders already tasked to this station, to be
    picked in one walk. Sent again with ``status`` ``cancelled`` when a person cancels it."""

    wave_id: str = Field(min_length=1, max_length=32)
    """The cloud's wave id."""
    warehouse_id: str = Field(min_length=1, max_length=64)
    """The warehouse picked in."""
    kind: str = Field(pattern=r"^(single|multi)$")
    """``single``: one-unit orders (scan-to-print after the pick); ``multi``: put wall."""
    carrier: str | None = Field(default=None, max_length=32)
    """The one courier of its orders, when the wave was built for one."""
    created_at: datetime
    """When the cloud built it (UTC)."""
    status: str = Field(default="open", pattern=r"^(open|cancelled)$")
    """``open`` to pick; ``cancelled``: drop it."""
    orders: list[WaveOrderWire] = Field(min_length=1, max_length=MAX_WAVE_ORDERS)
    """Its orders with their slots."""


class WavePickLineWire(_Wire):
    """One line of a wave's pick list as picked: one SKU at one location."""

    location: str = Field(min_length=1, max_length=64)
    """Where it was picked."""
    sku: str = Field(min_length=1, max_length=64)
    """What was picked."""
    wanted: int = Field(ge=1, le=MAX_MOVE_QTY)
    """Units the wave's orders need from this line."""
    picked: int = Field(ge=0, le=MAX_MOVE_QTY)
    """Units picked (fewer than wanted: a short pick)."""


class WavePickWire(_Wire):
    """A wave's pick ended at the station (kind ``wave_pick``), sent once: the envelope's
    msg_id is :func:`wave_pick_msg_id` of the wave. Picking moves no stock (the goods stay
    in the warehouse until packing ships them); ``short_orders`` are the orders a short
    pick left without their goods — intercepted at the station and in the cloud."""

    wave_id: str = Field(min_length=1, max_length=32)
    """The wave picked."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who picked it."""
    at: datetime
    """When the pick ended (UTC, the station's clock)."""
    lines: list[WavePickLineWire] = Field(max_length=STOCKTAKE_MAX_LINES)
    """The pick list as picked."""
    short_orders: list[str] = Field(default_factory=list, max_length=MAX_WAVE_ORDERS)
    """Orders left short (拣货缺货)."""


class WavePutWire(_Wire):
    """A put-wall slot is full (kind ``wave_put``): its order has every unit and goes to
    packing."""

    wave_id: str = Field(min_length=1, max_length=32)
    """The wave."""
    order_id: str = Field(min_length=1, max_length=64)
    """The order whose slot is full."""
    slot: int = Field(ge=1, le=MAX_WAVE_ORDERS)
    """Its slot."""
    at: datetime
    """When (UTC, the station's clock)."""
    operator_id: str = Field(min_length=1, max_length=64)
    """Who put the last unit."""


def wave_pick_msg_id(wave_id: str) -> str:
    """The msg_id of a wave's ``wave_pick`` message: derived from the wave id, so the pick
    of one wave is one message however often it is written or sent."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packline/wave_pick/{wave_id}"))


def wave_put_msg_id(wave_id: str, order_id: str) -> str:
    """The msg_id of a slot-full (``wave_put``) message: one per wave and order."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packline/wave_put/{wave_id}/{order_id}"))


PAYLOADS: dict[tuple[str, str], type[BaseModel]] = {
    ("up", "move"): MoveWire,
    ("up", "alert"): AlertWire,
    ("up", "shipment"): ShipmentWire,
    ("up", "sign_in"): SignInWire,
    ("up", "ack"): AckWire,
    ("up", "resync"): ResyncWire,
    ("up", "health"): HealthWire,
    ("up", "print"): LabelPrintWire,
    ("up", "handover"): HandoverWire,
    ("up", "stocktake"): StocktakeWire,


    ("up", "transfer_diff"): TransferDiffWire,
    ("up", "return"): ReturnWire,
    ("up", "wave_pick"): WavePickWire,
    ("up", "wave_put"): WavePutWire,
    ("down", "ack"): AckWire,
    ("down", "catalog"): CatalogWire,
    ("down", "operators"): OperatorsWire,
    ("down", "task"): TaskWire,
    ("down", "intercept"): InterceptWire,
    ("down", "release"): ReleaseWire,
    ("down", "po"): PurchaseOrderWire,
    ("down", "transfer"): TransferWire,
    ("down", "moves"): MovesWire,
    ("down", "shipped"): ShippedWire,
    ("down", "refund"): RefundWire,
    ("down", "count_plan"): StocktakePlanWire,
    ("down", "wave"): WaveWire,
}
"""(direction, kind) → payload model."""


class BadMessage(ValueError):
    """A message that cannot be applied; ``msg_id`` is set when the envelope was readable."""

    def __init__(self, reason: str, msg_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        """One line: what is wrong."""
        self.msg_id = msg_id
        """The envelope's msg_id, if it could be read."""


def decode(topic: str, raw: bytes, direction: str) -> tuple[str, Envelope, BaseModel]:
    """Validate one received message: ``(station, envelope, payload model)``.

    Raises ``BadMessage`` (never anything else) for a foreign topic, bad JSON, a wrong
    version, an unknown kind, a station mismatch or a payload that fails validation.
    """
    where = parse_topic(topic)
    if where is None or where[1] != direction:
        raise BadMessage(f"not a {direction} topic: {topic[:200]}")
    station, _, topic_kind = where
    try:
        env = Envelope.model_validate_json(raw)
    except ValueError as err:
        raise BadMessage(f"bad envelope: {_first_error(err)}") from err
    if env.v != WIRE_VERSION:
        raise BadMessage(f"unknown wire version {env.v}", env.msg_id)
    if env.kind != topic_kind:
        raise BadMessage(f"kind {env.kind!r} does not match topic kind {topic_kind!r}", env.msg_id)
    if env.station_id != station:
        raise BadMessage(f"station {env.station_id!r} does not match topic station {station!r}", env.msg_id)
    model = PAYLOADS.get((direction, env.kind))
    if model is None:
        raise BadMessage(f"unknown kind {env.kind!r}", env.msg_id)
    try:
        payload = model.model_validate(env.payload)
    except ValueError as err:
        raise BadMessage(f"bad {env.kind} payload: {_first_error(err)}", env.msg_id) from err
    if isinstance(payload, MoveWire):
        if payload.move_id != env.msg_id:
            raise BadMessage("move_id differs from msg_id", env.msg_id)
        if payload.station_id != station:
            raise BadMessage(f"move of station {payload.station_id!r} sent by {station!r}", env.msg_id)
    return station, env, payload


def _first_error(err: ValueError) -> str:
    text = str(err).splitlines()
    return " ".join(line.strip() for line in text[:3])[:300]


def encode(envelope: Envelope) -> bytes:
    """The JSON bytes of an envelope (UTF-8, compact)."""
    return envelope.model_dump_json().encode()
