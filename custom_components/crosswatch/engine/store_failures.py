"""Failed writes: rejected items wait for their retry, and items that keep failing are benched."""

from datetime import datetime, timedelta

from .codec import decode_item, encode_item
from .items import MediaItem
from .payloads import Feature
from .records import RETRY_BACKOFF, Quarantined, Scope, Unresolved
from .store_connection import StoreConnection


class FailureTables(StoreConnection):
    """Unresolved items (rejected, retried with backoff) and the blackbox (quarantine)."""

    # -- unresolved items ---------------------------------------------------------------------

    def record_rejection(
        self,
        scope: Scope,
        item: MediaItem,
        *,
        reason: str,
        now: datetime,
        backoff: tuple[timedelta, ...] = RETRY_BACKOFF,
    ) -> Unresolved:
        """Record that a destination rejected an item; schedule its retry with backoff."""
        row = self._db.execute(
            "SELECT attempts, first_failed_at FROM unresolved"
            " WHERE pair=? AND feature=? AND side=? AND key=?",
            (*scope.params(), item.key),
        ).fetchone()
        attempts = (row[0] if row else 0) + 1
        first = datetime.fromisoformat(row[1]) if row else now
        next_attempt = now + backoff[min(attempts, len(backoff)) - 1]
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO unresolved VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *scope.params(),
                    item.key,
                    encode_item(item),
                    reason,
                    attempts,
                    first.isoformat(),
                    next_attempt.isoformat(),
                ),
            )
        return Unresolved(scope, item, reason, attempts, first, next_attempt)

    def unresolved(self, pair: str) -> list[Unresolved]:
        """A pair's unresolved items, soonest retry first."""
        rows = self._db.execute(
            "SELECT feature, side, item, reason, attempts, first_failed_at, next_attempt_at"
            " FROM unresolved WHERE pair=? ORDER BY next_attempt_at, key",
            (pair,),
        )
        return [
            Unresolved(
                Scope(pair, Feature(feature), side),
                decode_item(item),
                reason,
                attempts,
                datetime.fromisoformat(first),
                datetime.fromisoformat(next_attempt),
            )
            for feature, side, item, reason, attempts, first, next_attempt in rows
        ]

    def waiting_for_retry(self, scope: Scope, now: datetime) -> list[MediaItem]:
        """A scope's unresolved items whose retry is not due at `now`."""
        rows = self._db.execute(
            "SELECT item FROM unresolved WHERE pair=? AND feature=? AND side=?"
            " AND next_attempt_at > ? ORDER BY key",
            (*scope.params(), now.isoformat()),
        )
        return [decode_item(item) for (item,) in rows]

    def resolve(self, scope: Scope, key: str) -> None:
        """Forget an unresolved item: a write of it went through."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM unresolved WHERE pair=? AND feature=? AND side=? AND key=?",
                (*scope.params(), key),
            )

    def retry_unresolved(self, pair: str, now: datetime) -> int:
        """Make every unresolved item of a pair due now (the user asked to retry)."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE unresolved SET next_attempt_at=? WHERE pair=?", (now.isoformat(), pair)
            ).rowcount

    # -- blackbox -----------------------------------------------------------------------------

    def record_write_failure(
        self,
        scope: Scope,
        item: MediaItem,
        *,
        error: str,
        now: datetime,
        threshold: int = 3,
        cooldown: timedelta = timedelta(days=7),
    ) -> Quarantined:
        """Count a failed write; the `threshold`-th failure in a row quarantines the item."""
        row = self._db.execute(
            "SELECT failures FROM blackbox WHERE pair=? AND feature=? AND side=? AND key=?",
            (*scope.params(), item.key),
        ).fetchone()
        failures = (row[0] if row else 0) + 1
        until = now + cooldown if failures >= threshold else None
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO blackbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *scope.params(),
                    item.key,
                    encode_item(item),
                    failures,
                    error,
                    until.isoformat() if until else None,
                ),
            )
        return Quarantined(scope, item, failures, error, until)

    def record_write_success(self, scope: Scope, key: str) -> None:
        """A write went through: the item's failure streak ends."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM blackbox WHERE pair=? AND feature=? AND side=? AND key=?",
                (*scope.params(), key),
            )

    def quarantined(self, scope: Scope, now: datetime) -> list[MediaItem]:
        """A scope's items in quarantine at `now`."""
        rows = self._db.execute(
            "SELECT item FROM blackbox WHERE pair=? AND feature=? AND side=?"
            " AND quarantined_until > ? ORDER BY key",
            (*scope.params(), now.isoformat()),
        )
        return [decode_item(item) for (item,) in rows]

    def blackbox(self, pair: str) -> list[Quarantined]:
        """A pair's items with failing writes (quarantined or counting)."""
        rows = self._db.execute(
            "SELECT feature, side, item, failures, last_error, quarantined_until FROM blackbox"
            " WHERE pair=? ORDER BY key",
            (pair,),
        )
        return [
            Quarantined(
                Scope(pair, Feature(feature), side),
                decode_item(item),
                failures,
                error,
                datetime.fromisoformat(until) if until else None,
            )
            for feature, side, item, failures, error, until in rows
        ]

    def clear_blackbox(self, pair: str) -> int:
        """Release every quarantined item of a pair."""
        with self.transaction() as db:
            return db.execute("DELETE FROM blackbox WHERE pair=?", (pair,)).rowcount
