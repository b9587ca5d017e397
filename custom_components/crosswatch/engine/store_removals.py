"""Removals: those seen on a side, those held back for the user, and those the user refused."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from .codec import decode_item, decode_operation, encode_item, encode_operation
from .items import MediaItem
from .plan import Action, Operation
from .records import HeldOperation, Scope, Tombstone
from .store_connection import StoreConnection


class RemovalTables(StoreConnection):
    """Tombstones, held operations and the removals the user rejected (kept)."""

    # -- tombstones ---------------------------------------------------------------------------

    def add_tombstone(
        self, scope: Scope, item: MediaItem, *, removed_at: datetime, seen_by: str, ttl: timedelta
    ) -> None:
        """Remember that `item` was deleted on a side, so a stale copy cannot bring it back."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO tombstone VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *scope.params(),
                    item.key,
                    encode_item(item),
                    removed_at.isoformat(),
                    seen_by,
                    (removed_at + ttl).isoformat(),
                ),
            )

    def tombstones(self, scope: Scope, now: datetime) -> list[Tombstone]:
        """Tombstones of a scope that have not expired at `now`."""
        rows = self._db.execute(
            "SELECT item, removed_at, seen_by, expires_at FROM tombstone"
            " WHERE pair=? AND feature=? AND side=? AND expires_at > ? ORDER BY key",
            (*scope.params(), now.isoformat()),
        )
        return [
            Tombstone(
                scope,
                decode_item(item),
                datetime.fromisoformat(removed_at),
                seen_by,
                datetime.fromisoformat(expires_at),
            )
            for item, removed_at, seen_by, expires_at in rows
        ]

    def clear_tombstones(self, pair: str, *, expired_before: datetime | None = None) -> int:
        """Clear a pair's tombstones: all of them, or those expired before a moment."""
        with self.transaction() as db:
            if expired_before is None:
                return db.execute("DELETE FROM tombstone WHERE pair=?", (pair,)).rowcount
            return db.execute(
                "DELETE FROM tombstone WHERE pair=? AND expires_at <= ?",
                (pair, expired_before.isoformat()),
            ).rowcount

    # -- held operations ----------------------------------------------------------------------

    def hold(
        self, pair: str, operations: Iterable[Operation], *, reason: str, now: datetime
    ) -> int:
        """Keep operations for the user's decision; one already held is not held twice."""
        added = 0
        with self.transaction() as db:
            for op in operations:
                identity = f"{op.feature}|{op.side}|{op.action}|{op.item.key}"
                added += db.execute(
                    "INSERT OR IGNORE INTO held (pair, operation, identity, reason, held_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (pair, encode_operation(op), identity, reason, now.isoformat()),
                ).rowcount
        return added

    def holds_any(self, pair: str) -> bool:
        """Whether any of a pair's operations await the user's decision."""
        query = "SELECT EXISTS (SELECT 1 FROM held WHERE pair=?)"
        return bool(self._db.execute(query, (pair,)).fetchone()[0])

    def held(self, pair: str) -> list[HeldOperation]:
        """A pair's held operations, oldest first."""
        rows = self._db.execute(
            "SELECT id, operation, reason, held_at FROM held WHERE pair=? ORDER BY id", (pair,)
        )
        return [
            HeldOperation(held_id, pair, decode_operation(op), reason, datetime.fromisoformat(at))
            for held_id, op, reason, at in rows
        ]

    def release_held(self, pair: str, ids: Iterable[int] | None = None) -> list[HeldOperation]:
        """Take held operations out (all of the pair's, or the given ids) and return them.

        Approving applies what this returns; rejecting records the decision elsewhere. Either
        way the operation stops waiting.
        """
        wanted = None if ids is None else set(ids)
        released = [h for h in self.held(pair) if wanted is None or h.id in wanted]
        with self.transaction() as db:
            for held in released:
                db.execute("DELETE FROM held WHERE id=?", (held.id,))
        return released

    def keep(self, pair: str, operations: Iterable[Operation], now: datetime) -> None:
        """Record that the user rejected these removals: the items stay where they are."""
        with self.transaction() as db:
            for op in operations:
                if op.action is Action.REMOVE:
                    db.execute(
                        "INSERT OR REPLACE INTO kept VALUES (?, ?, ?, ?, ?, ?)",
                        (pair, op.feature.value, op.side.value, op.item.key,
                         encode_item(op.item), now.isoformat()),
                    )  # fmt: skip

    def kept(self, scope: Scope) -> list[MediaItem]:
        """Items of a scope whose removal the user rejected."""
        rows = self._db.execute(
            "SELECT item FROM kept WHERE pair=? AND feature=? AND side=? ORDER BY key",
            scope.params(),
        )
        return [decode_item(item) for (item,) in rows]
