"""Schema history of the station database, one named function per change (sqlite-utils 4).

Each migration runs in a transaction together with its record in ``_sqlite_migrations``.
Never edit an applied migration: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("edge")


@migrations()
def m001_catalog(db: Database) -> None:
    """Warehouses, locations (warehouse → zone → bin), SKUs, barcodes, operators, settings."""
    db.executescript(
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE warehouses (
            warehouse_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            negative_stock_policy TEXT NOT NULL DEFAULT 'refuse'
                CHECK (negative_stock_policy IN ('refuse', 'allow_with_alert'))
        );
        CREATE TABLE locations (
            code TEXT PRIMARY KEY,
            warehouse_id TEXT NOT NULL REFERENCES warehouses(warehouse_id),
            zone TEXT NOT NULL DEFAULT '',
            bin TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE skus (
            sku TEXT PRIMARY KEY,
            name_zh TEXT NOT NULL,
            name_en TEXT,
            spec TEXT NOT NULL DEFAULT '',
            unit_weight_g INTEGER NOT NULL DEFAULT 0 CHECK (unit_weight_g >= 0),
            length_mm INTEGER,
            width_mm INTEGER,
            height_mm INTEGER,
            cost_fen INTEGER,
            image_path TEXT,
            default_location TEXT REFERENCES locations(code),
            active INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE barcodes (
            barcode TEXT PRIMARY KEY,
            sku TEXT NOT NULL REFERENCES skus(sku),
            units INTEGER NOT NULL DEFAULT 1 CHECK (units >= 1)
        );
        CREATE INDEX barcodes_by_sku ON barcodes(sku);
        CREATE TABLE operators (
            operator_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            badge TEXT UNIQUE,
            pin_hash TEXT,
            active INTEGER NOT NULL DEFAULT 1
        );
        """
    )


@migrations()
def m002_ledger(db: Database) -> None:
    """Append-only stock moves, the derived balances cache, alerts and the audit log."""
    db.executescript(
        """
        CREATE TABLE stock_moves (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            move_id TEXT NOT NULL UNIQUE,
            warehouse_id TEXT NOT NULL,
            sku TEXT NOT NULL,
            location TEXT NOT NULL,
            qty_delta INTEGER NOT NULL CHECK (qty_delta <> 0),
            balance_after INTEGER NOT NULL,
            reason INTEGER NOT NULL,
            source_type TEXT NOT NULL,
            source_id TEXT NOT NULL,
            source_line TEXT,
            operator_id TEXT NOT NULL,
            station_id TEXT NOT NULL,
            device_id TEXT,
            occurred_at TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            reverses_move_id TEXT,
            note TEXT
        );
        CREATE INDEX stock_moves_by_sku ON stock_moves(sku, location, seq);
        CREATE INDEX stock_moves_by_source ON stock_moves(source_type, source_id);
        CREATE UNIQUE INDEX stock_moves_reversed_once
            ON stock_moves(reverses_move_id) WHERE reverses_move_id IS NOT NULL;
        CREATE TRIGGER stock_moves_no_update BEFORE UPDATE ON stock_moves
        BEGIN SELECT RAISE(ABORT, 'stock_moves is append-only'); END;
        CREATE TRIGGER stock_moves_no_delete BEFORE DELETE ON stock_moves
        BEGIN SELECT RAISE(ABORT, 'stock_moves is append-only'); END;

        CREATE TABLE balances (
            sku TEXT NOT NULL,
            location TEXT NOT NULL,
            qty INTEGER NOT NULL,
            PRIMARY KEY (sku, location)
        ) WITHOUT ROWID;

        CREATE TABLE alerts (
            alert_id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL,
            created_at TEXT NOT NULL,
            acknowledged_at TEXT
        );
        CREATE TABLE audit_log (
            audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """
    )


@migrations()
def m003_outbox_inbox(db: Database) -> None:
    """Messages to the cloud (written in the transaction of the change they carry) and
    the ids of cloud messages already applied."""
    db.executescript(
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            msg_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_sent_at TEXT,
            acked_at TEXT
        );
        CREATE INDEX outbox_pending ON outbox(seq) WHERE acked_at IS NULL;
        CREATE TABLE inbox (
            msg_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m004_packing(db: Database) -> None:
    """Orders to pack at this station with their lines, waybill print data, print and weigh logs."""
    db.executescript(
        """
        CREATE TABLE orders (
            order_id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            shop_id TEXT NOT NULL DEFAULT '',
            platform_order_no TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'waiting'
                CHECK (status IN ('waiting', 'packing', 'packed', 'shipped', 'intercepted', 'cancelled')),
            intercept_reason TEXT,
            waybill_no TEXT UNIQUE,
            carrier TEXT,
            print_data TEXT,
            receiver_masked TEXT NOT NULL DEFAULT '{}',
            receiver_sealed TEXT,
            buyer_note TEXT,
            packaging_weight_g INTEGER NOT NULL DEFAULT 0,
            ordered_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            packed_at TEXT,
            shipped_at TEXT,
            shipped_by TEXT
        );
        CREATE INDEX orders_by_status ON orders(status, ordered_at);
        CREATE INDEX orders_by_platform_no ON orders(platform_order_no);
        CREATE TABLE order_lines (
            order_id TEXT NOT NULL REFERENCES orders(order_id),
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL,
            qty INTEGER NOT NULL CHECK (qty > 0),
            PRIMARY KEY (order_id, line_no)
        );
        CREATE INDEX order_lines_by_sku ON order_lines(sku);
        CREATE TABLE print_log (
            print_id INTEGER PRIMARY KEY AUTOINCREMENT,
            order_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('label', 'slip')),
            is_reprint INTEGER NOT NULL DEFAULT 0,
            reason TEXT,
            operator_id TEXT NOT NULL,
            printed_at TEXT NOT NULL
        );
        CREATE INDEX print_log_by_order ON print_log(order_id, kind);
        CREATE TABLE weigh_log (
            weigh_id INTEGER PRIMARY KEY AUTOINCREMENT,
            order_id TEXT NOT NULL,
            grams INTEGER NOT NULL,
            expected_g INTEGER NOT NULL,
            within_tolerance INTEGER NOT NULL,
            override_by TEXT,
            override_reason TEXT,
            operator_id TEXT NOT NULL,
            weighed_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m005_sync_downlink(db: Database) -> None:
    """What the cloud sends down besides catalog and tasks: purchase orders to receive,
    intercepts that arrived before their order, and the sync daemon's link state."""
    db.executescript(
        """
        CREATE TABLE purchase_orders (
            po_id TEXT PRIMARY KEY,
            supplier TEXT NOT NULL DEFAULT '',
            warehouse_id TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'closed', 'cancelled')),
            expected_at TEXT,
            note TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX purchase_orders_by_status ON purchase_orders(status, expected_at);
        CREATE TABLE purchase_order_lines (
            po_id TEXT NOT NULL REFERENCES purchase_orders(po_id),
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL,
            qty_ordered INTEGER NOT NULL CHECK (qty_ordered > 0),
            qty_received INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (po_id, line_no)
        );
        CREATE TABLE pending_intercepts (
            order_id TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE TABLE sync_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m006_append_only_refuses_replace(db: Database) -> None:
    """``REPLACE`` / ``INSERT OR REPLACE`` is refused on the append-only tables like UPDATE
    and DELETE: SQLite resolves the conflict by deleting the old row *without* firing the
    DELETE trigger (unless ``PRAGMA recursive_triggers`` is on, which is per connection), so
    a BEFORE INSERT trigger refuses any insert that would collide with an existing key
    (``seq``, ``move_id``, ``reverses_move_id``, ``audit_id``), whatever the connection's
    pragmas. A plain duplicate INSERT still fails, with this message instead of UNIQUE."""
    db.executescript(
        """
        CREATE TRIGGER stock_moves_no_replace BEFORE INSERT ON stock_moves
        WHEN EXISTS (SELECT 1 FROM stock_moves WHERE seq = NEW.seq OR move_id = NEW.move_id
                     OR (NEW.reverses_move_id IS NOT NULL AND reverses_move_id = NEW.reverses_move_id))
        BEGIN SELECT RAISE(ABORT, 'stock_moves is append-only'); END;
        CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
        WHEN EXISTS (SELECT 1 FROM audit_log WHERE audit_id = NEW.audit_id)
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """
    )


@migrations()
def m007_outbox_acked_index(db: Database) -> None:
    """Acked outbox rows by ack time: the kiosk's "last ack" (``MAX(acked_at)``, every few
    seconds) and the retention prune read this index instead of scanning the table."""
    db.execute("CREATE INDEX outbox_acked ON outbox(acked_at) WHERE acked_at IS NOT NULL")


@migrations()
def m008_order_holds(db: Database) -> None:
    """The cloud's latest hold decision per order (an intercept or its release), numbered
    by the cloud per order: a decision older than the one applied — a re-sent intercept
    arriving after its release — changes nothing."""
    db.execute(
        """CREATE TABLE order_holds (
               order_id TEXT PRIMARY KEY,
               seq INTEGER NOT NULL CHECK (seq > 0),
               held INTEGER NOT NULL CHECK (held IN (0, 1)),
               reason TEXT NOT NULL,
               updated_at TEXT NOT NULL
           )"""
    )


@migrations()
def m009_pending_shipped(db: Database) -> None:
    """Orders the cloud says this station shipped (after a restore, ``edge.sync.resync``)
    that are not here yet: marked shipped when their task arrives."""
    db.execute(
        """CREATE TABLE pending_shipped (
               order_id TEXT PRIMARY KEY,
               shipped_at TEXT NOT NULL,
               shipped_by TEXT NOT NULL,
               received_at TEXT NOT NULL
           )"""
    )


@migrations()
def m010_sku_cloud_version(db: Database) -> None:
    """The cloud's catalog version of each SKU it sent (``SkuWire.version``): a copy older
    than the one applied — a re-sent catalog message overtaken by a later edit — changes
    nothing. NULL for SKUs only ever imported here."""
    db.execute("ALTER TABLE skus ADD COLUMN cloud_version INTEGER")


@migrations()
def m011_operator_cloud_version(db: Database) -> None:
    """The cloud's version of each operator it sent (``OperatorWire.version``): an older copy
    arriving late changes nothing. NULL for operators set up only here (``seed``)."""
    db.execute("ALTER TABLE operators ADD COLUMN cloud_version INTEGER")


@migrations()
def m012_order_lines_by_order_sku(db: Database) -> None:
    """Order lines by (order, SKU) with the quantity: the single-item scan of a best seller
    checks each waiting order's lines on this index alone
    (``edge.store.packing.SINGLE_ITEM_BY_WAITING_SQL``) instead of walking every line that
    ever held the SKU through ``order_lines_by_sku``."""
    db.execute("CREATE INDEX order_lines_by_order_sku ON order_lines(order_id, sku, qty)")


@migrations()
def m013_transfers(db: Database) -> None:
    """Transfers (调拨) the cloud sent: the source warehouse's stations ship them (TRANSFER_OUT
    moves), the destination's receive them (TRANSFER_IN). ``qty_shipped`` / ``qty_received``
    count this warehouse's moves (its own and relayed) and what the cloud reports of the
    other warehouse, whichever is more (``Writer.upsert_transfer``)."""
    db.executescript(
        """
        CREATE TABLE transfers (
            transfer_id TEXT PRIMARY KEY,
            from_warehouse TEXT NOT NULL,
            to_warehouse TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'closed', 'cancelled')),
            note TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX transfers_by_status ON transfers(status, transfer_id);
        CREATE TABLE transfer_lines (
            transfer_id TEXT NOT NULL REFERENCES transfers(transfer_id),
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL,
            qty INTEGER NOT NULL CHECK (qty > 0),
            qty_shipped INTEGER NOT NULL DEFAULT 0,
            qty_received INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (transfer_id, line_no)
        );
        """
    )


@migrations()
def m015_orders_ship_by(db: Database) -> None:
    """The platform's ship-by deadline of each order to pack (``TaskWire.ship_by``, ISO
    UTC); NULL when the cloud did not send one. The kiosk warns when a parcel is late."""
    db.execute("ALTER TABLE orders ADD COLUMN ship_by TEXT")


@migrations()
def m016_handovers(db: Database) -> None:
    """Handover batches (交接): the parcels one courier takes at pickup, scanned one by one
    (``handover_parcels``, written as they are scanned so a restarted kiosk resumes the
    batch). At most one open batch per courier; a waybill is handed over once (its primary
    key). Closing a batch writes its ``handover`` outbox message in the same transaction."""
    db.executescript(
        """
        CREATE TABLE handover_batches (
            batch_id TEXT PRIMARY KEY,
            carrier TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            opened_by TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            closed_by TEXT,
            closed_at TEXT,
            msg_id TEXT
        );
        CREATE UNIQUE INDEX handover_open_per_carrier ON handover_batches(carrier)
            WHERE status = 'open';
        CREATE TABLE handover_parcels (
            waybill_no TEXT PRIMARY KEY,
            batch_id TEXT NOT NULL REFERENCES handover_batches(batch_id),
            order_id TEXT NOT NULL,
            operator_id TEXT NOT NULL,
            scanned_at TEXT NOT NULL
        );
        CREATE INDEX handover_parcels_by_batch ON handover_parcels(batch_id, scanned_at);
        CREATE INDEX orders_shipped_by_carrier ON orders(carrier, shipped_at)
            WHERE status = 'shipped';
        """
    )


@migrations()
def m017_stocktakes(db: Database) -> None:
    """Stocktakes (盘点) started at this station (``edge.domain.stocktake``): the scope, the
    snapshot position (the last ledger ``seq`` at start) and the approval; each location's
    count rounds (1, and 2 for a recount: both kept) with the ledger position the count was
    taken at; and each round's lines: counted and the book figure at that position."""
    db.executescript(
        """
        CREATE TABLE stocktakes (
            stocktake_id TEXT PRIMARY KEY,
            warehouse_id TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('full', 'zone', 'sku')),
            scope_value TEXT NOT NULL DEFAULT '',
            snapshot_seq INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'approved', 'cancelled')),
            started_by TEXT NOT NULL,
            started_at TEXT NOT NULL,
            approved_by TEXT,
            approved_at TEXT
        );
        CREATE INDEX stocktakes_by_status ON stocktakes(status, started_at);
        CREATE TABLE stocktake_rounds (
            stocktake_id TEXT NOT NULL REFERENCES stocktakes(stocktake_id),
            location TEXT NOT NULL,
            round INTEGER NOT NULL CHECK (round IN (1, 2)),
            ledger_seq INTEGER NOT NULL,
            counted_by TEXT NOT NULL,
            counted_at TEXT NOT NULL,
            needs_recount INTEGER NOT NULL DEFAULT 0 CHECK (needs_recount IN (0, 1)),
            PRIMARY KEY (stocktake_id, location, round)
        );
        CREATE TABLE stocktake_lines (
            stocktake_id TEXT NOT NULL,
            location TEXT NOT NULL,
            round INTEGER NOT NULL,
            sku TEXT NOT NULL,
            counted INTEGER NOT NULL CHECK (counted >= 0),
            expected INTEGER NOT NULL,
            PRIMARY KEY (stocktake_id, location, round, sku),
            FOREIGN KEY (stocktake_id, location, round)
                REFERENCES stocktake_rounds(stocktake_id, location, round)
        );
        """
    )


def migrate(db: Database) -> None:
    """Apply every pending migration."""
    migrations.apply(db)


@migrations()
def m018_transfer_discrepancies(db: Database) -> None:
    """Discrepancies (调拨差异) a lead recorded when receiving a transfer at the kiosk: the units
    in transit (``expected``) against the units counted, with the lead's reason. One row per
    transfer line and receipt, sent to the cloud (``TransferDiffWire``, msg_id = ``diff_id``).
    A shortfall is no longer in transit here (``Queries.transfer_lines``)."""
    db.executescript(
        """
        CREATE TABLE transfer_discrepancies (
            diff_id TEXT PRIMARY KEY,
            transfer_id TEXT NOT NULL REFERENCES transfers(transfer_id),
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL,
            expected INTEGER NOT NULL,
            counted INTEGER NOT NULL CHECK (counted >= 0),
            reason TEXT NOT NULL,
            operator_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX transfer_discrepancies_by_line
            ON transfer_discrepancies(transfer_id, line_no);
        """
    )


@migrations()
def m019_returns(db: Database) -> None:
    """Returns (退货入库). ``refunds``: the after-sales requests the cloud sent for orders of
    this warehouse (``RefundWire``), so a return parcel is found by its own tracking number.
    ``returns``: one row per return parcel opened at the kiosk (open until finished, so a
    restarted kiosk resumes it); ``return_lines``: each inspected item with its condition
    and the RETURN move that put it away (none for a wrong item)."""
    db.executescript(
        """
        CREATE TABLE refunds (
            refund_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            platform_order_no TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'success', 'closed')),
            exchange INTEGER NOT NULL DEFAULT 0 CHECK (exchange IN (0, 1)),
            return_waybill TEXT NOT NULL DEFAULT '',
            return_carrier TEXT NOT NULL DEFAULT '',
            sku TEXT NOT NULL DEFAULT '',
            qty INTEGER NOT NULL DEFAULT 0,
            amount_fen INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX refunds_by_return_waybill ON refunds(return_waybill)
            WHERE return_waybill <> '';
        CREATE INDEX refunds_by_order ON refunds(order_id);
        CREATE TABLE returns (
            return_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            refund_id TEXT,
            scanned TEXT NOT NULL,
            exchange INTEGER NOT NULL DEFAULT 0 CHECK (exchange IN (0, 1)),
            note TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
            opened_by TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            closed_by TEXT,
            closed_at TEXT
        );
        CREATE UNIQUE INDEX returns_one_open ON returns(status) WHERE status = 'open';
        CREATE INDEX returns_by_order ON returns(order_id);
        CREATE TABLE return_lines (
            return_id TEXT NOT NULL REFERENCES returns(return_id),
            line_no INTEGER NOT NULL,
            sku TEXT,
            code TEXT NOT NULL,
            qty INTEGER NOT NULL CHECK (qty > 0),
            condition TEXT NOT NULL CHECK (condition IN ('good', 'damaged', 'wrong')),
            in_order INTEGER NOT NULL CHECK (in_order IN (0, 1)),
            location TEXT,
            move_id TEXT,
            operator_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (return_id, line_no)
        );
        """
    )


@migrations()
def m021_stocktake_plans(db: Database) -> None:
    """Stocktakes planned in the cloud (``StocktakePlanWire``): open until a lead starts one
    here (``started``, with the stocktake that carries it out) or the cloud cancels it;
    ``stocktakes.plan_id`` names the plan a stocktake carries out."""
    db.executescript(
        """
        CREATE TABLE stocktake_plans (
            plan_id TEXT PRIMARY KEY,
            warehouse_id TEXT NOT NULL,
            scope TEXT NOT NULL CHECK (scope IN ('full', 'zone', 'sku')),
            scope_value TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'started', 'cancelled')),
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            stocktake_id TEXT
        );
        ALTER TABLE stocktakes ADD COLUMN plan_id TEXT;
        """
    )


@migrations()
def m020_waves(db: Database) -> None:
    """Picking waves (波次) the cloud sent (``WaveWire``): the wave, its orders with their
    put-wall slots and state (``waiting``; ``short``: a short pick left it without its
    goods, intercepted; ``ready``: its slot is full, it may be packed), the pick list as it
    is picked (written per scan, so a restarted kiosk resumes), and the units put into each
    slot. Picking writes no stock move (``edge.domain.waves``)."""
    db.executescript(
        """
        CREATE TABLE waves (
            wave_id TEXT PRIMARY KEY,
            warehouse_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('single', 'multi')),
            carrier TEXT,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'picked', 'cancelled')),
            created_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            picked_by TEXT,
            picked_at TEXT
        );
        CREATE TABLE wave_orders (
            wave_id TEXT NOT NULL REFERENCES waves(wave_id),
            order_id TEXT NOT NULL,
            slot INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'waiting'
                CHECK (status IN ('waiting', 'short', 'ready')),
            PRIMARY KEY (wave_id, order_id)
        );
        CREATE INDEX wave_orders_by_order ON wave_orders(order_id);
        CREATE TABLE wave_pick_lines (
            wave_id TEXT NOT NULL REFERENCES waves(wave_id),
            seq INTEGER NOT NULL,
            location TEXT NOT NULL,
            sku TEXT NOT NULL,
            wanted INTEGER NOT NULL CHECK (wanted > 0),
            picked INTEGER NOT NULL DEFAULT 0 CHECK (picked >= 0 AND picked <= wanted),
            done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
            PRIMARY KEY (wave_id, seq)
        );
        CREATE TABLE wave_puts (
            wave_id TEXT NOT NULL REFERENCES waves(wave_id),
            order_id TEXT NOT NULL,
            sku TEXT NOT NULL,
            qty INTEGER NOT NULL CHECK (qty > 0),
            PRIMARY KEY (wave_id, order_id, sku)
        );
        """
    )


@migrations()
def m022_kit_components(db: Database) -> None:
    """Kits (组合商品) as the cloud sends them (``SkuWire.components``): a kit SKU's components
    and units per kit. Scanning a kit's barcode at the pack station counts its components."""
    db.executescript(
        """
        CREATE TABLE kit_components (
            kit_sku TEXT NOT NULL,
            component_sku TEXT NOT NULL,
            qty INTEGER NOT NULL CHECK (qty >= 1),
            PRIMARY KEY (kit_sku, component_sku)
        );
        """
    )
