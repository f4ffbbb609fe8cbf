"""The edge exception tree.

    EdgeError
    ├── ConfigError            bad settings or arguments, shown as one line
    │   └── UnreadableFile     a file is missing, corrupt, empty or in an unknown format
    ├── ImportFileError        a catalog import file with bad rows (carries every row error)
    ├── DeviceError            a scanner, scale or printer failed
    │   ├── DeviceUnavailable  not connected / cannot be opened
    │   └── PrinterError       offline, out of paper, cover open
    ├── LedgerError            a stock move was refused
    │   ├── InsufficientStock  the move would take a balance below zero where that is refused
    │   ├── UnknownSku         the SKU or location is not in the catalog
    │   └── AlreadyReversed    a move may be reversed once
    ├── PackError              a packing step was refused (wrong item, intercepted order, ...)
    ├── SyncError              broker or envelope trouble
    │   ├── BrokerUnavailable  the broker cannot be reached (network, TLS, timeout)
    │   └── BrokerRefused      the broker refused the connection (bad credentials, revoked)
    └── BackupError            replica upload or restore failed
        └── CorruptReplica     an object in the replica fails its checksum

Adapters raise these ``from`` the library error so the cause is kept.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error the edge raises on purpose."""


class ConfigError(EdgeError):
    """Bad settings or command-line arguments."""


class UnreadableFile(ConfigError):
    """A file is missing, corrupt, empty or in a format we do not read."""


class ImportFileError(EdgeError):
    """A catalog import file has bad rows; ``errors`` lists (line, message) for each."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        lines = "\n".join(f"  第 {line} 行: {msg}" for line, msg in errors)
        super().__init__(f"导入文件有 {len(errors)} 行错误 / {len(errors)} bad rows:\n{lines}")


class DeviceError(EdgeError):
    """A device failed."""


class DeviceUnavailable(DeviceError):
    """A device is not connected or cannot be opened."""


class PrinterError(DeviceError):
    """A printer is offline, out of paper or reports a fault."""


class LedgerError(EdgeError):
    """A stock move was refused."""


class InsufficientStock(LedgerError):
    """The move would take a balance below zero in a warehouse that refuses negative stock."""

    def __init__(self, sku: str, location: str, balance: int, delta: int) -> None:
        self.sku, self.location, self.balance, self.delta = sku, location, balance, delta
        super().__init__(
            f"库存不足: {sku} @ {location} 现有 {balance}, 变动 {delta} / "
            f"insufficient stock: {sku} at {location} has {balance}, move {delta}"
        )


class UnknownSku(LedgerError):
    """The SKU or location is not in the catalog."""


class KitHasNoStock(LedgerError):
    """A move named a kit (组合商品): a kit's stock is its components' stock."""


class AlreadyReversed(LedgerError):
    """A move can be reversed only once, and a reversal is never reversed."""


class PackError(EdgeError):
    """A packing step was refused."""


class SyncError(EdgeError):
    """Broker or envelope trouble."""


class BrokerUnavailable(SyncError):
    """The broker cannot be reached: network down, TLS verification failed, or a timeout."""


class BrokerRefused(SyncError):
    """The broker refused the connection (bad username/password, revoked station)."""


class BackupError(EdgeError):
    """A replica upload or restore failed."""


class CorruptReplica(BackupError):
    """An object in the replica fails its checksum or cannot be decoded."""
