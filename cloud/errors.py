"""The cloud exception tree.

    CloudError
    ├── ConfigError             bad settings or arguments, shown as one line
    ├── InputError              a form was refused: every problem names its field
    ├── DatabaseError           the database failed or cannot be used
    │   ├── DatabaseUnavailable the database cannot be reached or opened
    │   ├── SchemaNotCurrent    the schema is missing or behind the code: run ``init-db``
    │   └── MigrationError      a migration failed (the transaction was rolled back)
    └── LedgerError             stock moves or balances were refused
        └── InvalidMove         a move fails validation (empty SKU, naive time, bad reason, ...)
            └── ReversalConflict a second reversal of a move already reversed

Adapters raise these ``from`` the library error so the cause is kept.
"""

from __future__ import annotations

from dataclasses import dataclass


class CloudError(Exception):
    """Base of every error the cloud raises on purpose."""


class ConfigError(CloudError):
    """Bad settings or command-line arguments."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a form: the field it belongs to and why, in both languages."""

    field: str
    """The form field's name (``""`` for the form as a whole)."""
    zh: str
    en: str


class InputError(CloudError):
    """A form was refused and nothing written; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.zh} / {p.en}" for p in problems))


class DatabaseError(CloudError):
    """The database failed or cannot be used."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or opened (bad URL, server down, bad credentials)."""


class SchemaNotCurrent(DatabaseError):
    """The schema is missing or older than the code; ``packline-cloud init-db`` fixes it."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current, self.head = current, head
        if current is None:
            super().__init__(
                "数据库未初始化, 请先运行 init-db / database not initialised: run init-db first"
            )
        else:
            super().__init__(
                f"数据库版本 {current} 落后于 {head}, 请运行 init-db / "
                f"database at revision {current}, code needs {head}: run init-db"
            )


class MigrationError(DatabaseError):
    """A migration failed; its transaction was rolled back."""


class LedgerError(CloudError):
    """Stock moves or balances were refused."""


class InvalidMove(LedgerError):
    """A move fails validation; ``move_id`` names it (may be empty when that is the fault)."""

    def __init__(self, move_id: str, problem_zh: str, problem_en: str) -> None:
        self.move_id = move_id
        super().__init__(
            f"库存变动 {move_id or '(无编号)'} 无效: {problem_zh} / "
            f"invalid move {move_id or '(no id)'}: {problem_en}"
        )


class ReversalConflict(InvalidMove):
    """A reversal of a move that another move already reverses (two stations each reversed
    it): a move is reversed at most once in the whole system, so the later one is refused.
    ``reverses_move_id`` is the reversed move, ``winner_id`` the reversal that stands."""

    def __init__(self, move_id: str, reverses_move_id: str, winner_id: str) -> None:
        self.reverses_move_id = reverses_move_id
        self.winner_id = winner_id
        super().__init__(
            move_id,
            f"冲销冲突: {reverses_move_id} 已被 {winner_id} 冲销",
            f"reversal conflict: {reverses_move_id} already reversed by {winner_id}",
        )
