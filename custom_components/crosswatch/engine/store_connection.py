"""The state store's connection and its transactions, which every group of its tables uses.

The store's tables come in groups (baselines, removals, failures, writes, identities), each a
mixin over this class, so that each group is read alone while `StateStore` keeps one
connection and one flat set of methods for its callers.
"""

from collections.abc import Iterator
from contextlib import contextmanager
import sqlite3


class StoreConnection:
    """One SQLite connection in autocommit mode, written to in explicit transactions."""

    def __init__(self, db: sqlite3.Connection) -> None:
        """Use `db`, opened with `isolation_level=None` so BEGIN and COMMIT are ours."""
        self._db = db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of writes: all of it is committed, or none of it."""
        if self._db.in_transaction:
            yield self._db  # nested: the outer transaction commits
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
