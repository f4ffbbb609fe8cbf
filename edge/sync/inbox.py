"""Cloud → station: apply each down-message once, then acknowledge it.

For every message on ``packline/v1/st/{station}/down/#`` (received with manual acks):

1. validate it (``edge.sync.schema.decode``);
2. apply its effect and record its ``msg_id`` in the ``inbox`` table in **one**
   transaction (``Writer.apply_once``) — a redelivery (``dup``) finds the id and changes
   nothing;
3. only then send the MQTT PUBACK (``broker.ack``), and queue an application ack for
   the cloud, which stops re-sending the message only when that arrives on ``up/ack``.

A message that can never be applied (bad JSON, unknown kind, an effect the database
refuses) is acknowledged too and reported back as ``rejected`` with its reason, so one
poison message never blocks the queue behind it. Acks from the cloud for our own outbox
rows (``down/ack``) go to :class:`~edge.sync.outbox.Outbox`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from edge.errors import EdgeError, SyncError
from edge.store.returns import ReturnWriter
from edge.store.stocktake import StocktakeWriter
from edge.store.waves import WaveWriter
from edge.store.writer import Writer
from edge.sync.broker import Broker, Message
from edge.sync.outbox import Outbox
from edge.sync.schema import (
    AckWire,
    BadMessage,
    CatalogWire,
    Envelope,
    InterceptWire,
    MovesWire,
    OperatorsWire,
    PurchaseOrderWire,
    RefundWire,
    Rejected,
    ReleaseWire,
    ShippedWire,
    StocktakePlanWire,
    TaskWire,
    TransferWire,
    WaveWire,
    decode,
    encode,
    up_topic,
)

log = logging.getLogger(__name__)

ACK_BATCH = 1000
"""Most ids in one ``up/ack`` message."""


@dataclass
class InboxCounters:
    """What the inbox did since it started."""

    applied: int = 0
    """Down-messages whose effect was committed."""
    duplicates: int = 0
    """Down-messages already applied before (redeliveries, cloud re-sends)."""
    acks: int = 0
    """App acks received for our outbox rows."""
    rejected: int = 0
    """Messages that could not be applied (reported back to the cloud)."""
    last_error: str = ""
    """The last rejection reason."""
    last_ack_at: datetime | None = None
    """When the cloud last acked one of our rows."""
    rejected_reasons: list[str] = field(default_factory=list)
    """Recent rejection reasons (bounded)."""


def effect_for(payload: BaseModel) -> Callable[[Writer], None]:
    """The database change a down-message asks for (run inside ``apply_once``)."""
    if isinstance(payload, CatalogWire):
        return lambda w: apply_catalog(w, payload)
    if isinstance(payload, OperatorsWire):
        return lambda w: apply_operators(w, payload)
    if isinstance(payload, TaskWire):
        return lambda w: apply_task(w, payload)
    if isinstance(payload, InterceptWire):
        return lambda w: apply_intercept(w, payload)
    if isinstance(payload, ReleaseWire):
        return lambda w: apply_release(w, payload)
    if isinstance(payload, PurchaseOrderWire):
        return lambda w: apply_po(w, payload)
    if isinstance(payload, TransferWire):
        return lambda w: apply_transfer(w, payload)
    if isinstance(payload, MovesWire):
        return lambda w: apply_moves(w, payload)
    if isinstance(payload, ShippedWire):
        return lambda w: apply_shipped(w, payload)
    if isinstance(payload, RefundWire):
        return lambda w: apply_refund(w, payload)
    if isinstance(payload, StocktakePlanWire):
        return lambda w: apply_count_plan(w, payload)
    if isinstance(payload, WaveWire):
        return lambda w: apply_wave(w, payload)
    raise BadMessage(f"no effect for {type(payload).__name__}")


def apply_catalog(w: Writer, c: CatalogWire) -> None:
    """Upsert warehouses, then locations, then SKUs with their barcodes."""
    from edge.domain.models import NegativeStockPolicy

    for wh in c.warehouses:
        w.upsert_warehouse(wh.warehouse_id, wh.name, NegativeStockPolicy(wh.negative_stock_policy))
    if c.locations:
        w.upsert_locations([loc.model_dump() for loc in c.locations])
    if c.skus:
        rows = []
        for sku in c.skus:
            # the cloud keeps no default location: a SKU it sends keeps the station's own
            row = sku.model_dump(exclude={"default_location"} if sku.default_location is None
                                 else set())
            row["active"] = int(sku.active)
            row["barcodes"] = [(code, units) for code, units in sku.barcodes]
            if sku.components is not None:
                row["components"] = [(comp, qty) for comp, qty in sku.components]
            rows.append(row)
        w.upsert_skus(rows)


def apply_operators(w: Writer, o: OperatorsWire) -> None:
    """Upsert the cloud's operators (newest version wins; see ``Writer.apply_cloud_operators``)."""
    w.apply_cloud_operators([op.model_dump() for op in o.operators])


def apply_task(w: Writer, t: TaskWire) -> None:
    """Store the order to pack with its lines and waybill print data; an intercept that
    arrived first blocks it at once, and a ``shipped`` fact that arrived first marks it
    shipped. A task for an order already shipped is refused (``PackError``: reported back
    to the cloud as rejected)."""
    order = t.model_dump(mode="json", exclude={"lines", "label"})
    if t.label is not None:
        order["print_data"] = {**(order.get("print_data") or {}),
                               "label": t.label.model_dump(mode="json")}
    w.upsert_order(order, [line.model_dump() for line in t.lines])
    w.apply_pending_intercept(t.order_id)
    w.apply_pending_shipped(t.order_id)


def apply_intercept(w: Writer, i: InterceptWire) -> None:
    """Block the order (or raise an alert if it already shipped)."""
    w.intercept_order(i.order_id, i.reason, seq=i.seq)


def apply_release(w: Writer, r: ReleaseWire) -> None:
    """Let an intercepted order be packed again (unless a newer intercept stands)."""
    w.release_order(r.order_id, r.reason, seq=r.seq)


def apply_moves(w: Writer, m: MovesWire) -> None:
    """Apply moves relayed from the other stations of this warehouse, each id once."""
    w.apply_remote_moves([move.to_move() for move in m.moves])


def apply_shipped(w: Writer, s: ShippedWire) -> None:
    """Mark orders shipped that the restored copy predates (``Writer.mark_shipped``)."""
    for order in s.orders:
        w.mark_shipped(order.order_id, shipped_at=order.shipped_at.isoformat(),
                       shipped_by=order.shipped_by)


def apply_po(w: Writer, po: PurchaseOrderWire) -> None:
    """Store a purchase order to receive."""
    header = po.model_dump(mode="json", exclude={"lines"})
    w.upsert_purchase_order(header, [line.model_dump() for line in po.lines])


def apply_transfer(w: Writer, t: TransferWire) -> None:
    """Store a transfer to ship (source warehouse) or receive (destination)."""
    header = t.model_dump(mode="json", exclude={"lines"})
    w.upsert_transfer(header, [line.model_dump() for line in t.lines])


def apply_refund(w: Writer, r: RefundWire) -> None:
    """Keep an after-sales request for matching return parcels (newest copy wins)."""
    row = r.model_dump(mode="json")
    row["exchange"] = int(r.exchange)
    ReturnWriter(w).apply_refund(row)


def apply_count_plan(w: Writer, p: StocktakePlanWire) -> None:
    """Keep a stocktake planned in the cloud (or its cancellation)."""
    StocktakeWriter(w).apply_plan(p.model_dump(mode="json"))
def apply_wave(w: Writer, wave: WaveWire) -> None:
    """Store a picking wave (its orders are here as tasks already), or cancel it."""
    WaveWriter(w).apply(wave)


class Inbox:
    """Handles messages received on the station's ``down/#``."""

    def __init__(self, writer: Writer, broker: Broker, outbox: Outbox) -> None:
        self.writer = writer
        """Applies effects with their inbox rows."""
        self.broker = broker
        """Where PUBACKs and app acks go."""
        self.outbox = outbox
        """Receives the cloud's acks for our rows."""
        self.station_id = writer.station_id
        """This station."""
        self.counters = InboxCounters()
        """Running totals."""
        self._ack_ids: list[str] = []
        self._rejected: list[Rejected] = []

    def handle(self, msg: Message) -> None:
        """Apply one message (never raises for a bad message), then PUBACK it."""
        try:
            self._handle(msg)
        except BadMessage as err:
            self._reject(err.msg_id, err.reason)
        except sqlite3.OperationalError:
            raise  # database busy: the daemon retries the same message
        except (EdgeError, sqlite3.IntegrityError, ValueError, KeyError) as err:
            self._reject(_msg_id_of(msg.payload), f"{type(err).__name__}: {err}")
        except Exception as err:  # a bug must not crash-loop the daemon
            log.exception("applying %s failed", msg.topic)
            self._reject(_msg_id_of(msg.payload), f"internal error: {type(err).__name__}: {err}")
        self.broker.ack(msg)

    def _handle(self, msg: Message) -> None:
        _, env, payload = decode(msg.topic, msg.payload, "down")
        if isinstance(payload, AckWire):
            self.outbox.acked(payload)
            self.counters.acks += len(payload.msg_ids)
            self.counters.last_ack_at = self.writer.clock()
            return
        effect = effect_for(payload)
        if self.writer.apply_once(env.msg_id, env.kind, effect):
            self.counters.applied += 1
        else:
            self.counters.duplicates += 1
        self._ack_ids.append(env.msg_id)

    def _reject(self, msg_id: str | None, reason: str) -> None:
        self.counters.rejected += 1
        self.counters.last_error = reason
        self.counters.rejected_reasons = [*self.counters.rejected_reasons[-19:], reason]
        log.warning("down-message refused (%s): %s", msg_id, reason)
        if msg_id:
            self._rejected.append(Rejected(msg_id=msg_id, reason=reason[:500]))

    def flush_acks(self) -> int:
        """Publish queued app acks on ``up/ack`` (QoS 1, not via the outbox: if one is lost
        the cloud re-sends, the inbox finds the id and acks again). Returns ids acked."""
        if not (self._ack_ids or self._rejected) or not self.broker.connected:
            return 0
        sent = 0
        while self._ack_ids or self._rejected:
            ids, self._ack_ids = self._ack_ids[:ACK_BATCH], self._ack_ids[ACK_BATCH:]
            rej, self._rejected = self._rejected[:ACK_BATCH], self._rejected[ACK_BATCH:]
            env = Envelope(
                msg_id=str(uuid.uuid4()), kind="ack", station_id=self.station_id,
                created_at=self.writer.clock(),
                payload=AckWire(msg_ids=ids, rejected=rej).model_dump(mode="json"),
            )
            try:
                self.broker.publish(up_topic(self.station_id, "ack"), encode(env), qos=1)
            except SyncError as err:  # paho queue full: the cloud will re-send, we re-ack
                self.counters.last_error = str(err)
                self._ack_ids, self._rejected = [], []
                break
            sent += len(ids) + len(rej)
        return sent


def _msg_id_of(raw: bytes) -> str | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    value = data.get("msg_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None
