"""Each pair side's memory of its reads: its baseline, its read cursor, an unconfirmed shrink.

A baseline is what the side held at an earlier run, recorded from a complete read: the planner
finds what changed on the side by comparing a fresh read with it. It is saved by the rows that
changed, never by a rewrite of the whole inventory.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime
import json
import zlib

from .codec import decode_item, decode_payload, encode_item, encode_payload
from .cursor import Checkpoint
from .items import MediaItem
from .payloads import Entry, Feature
from .records import Scope, ShrinkSuspicion
from .snapshot import Completeness, Snapshot
from .store_connection import StoreConnection


class BaselineTables(StoreConnection):
    """Baselines, read cursors and shrink suspicions, kept per pair side."""

    # -- baselines ----------------------------------------------------------------------------

    def load_baseline(self, scope: Scope, *, like: Snapshot | None = None) -> Snapshot | None:
        """The baseline of a scope as a complete snapshot, or None before its first save.

        `like` is the side's current read, when the caller holds one: an entry the baseline
        holds unchanged is then that read's own object, not a copy of it. Most entries are
        unchanged between runs, and every object a run keeps alive lengthens each pass of
        Python's cycle collector, which stops the event loop too (docs/benchmarks.md).
        """
        row = self._db.execute(
            "SELECT provider FROM baseline_scope WHERE pair=? AND feature=? AND side=?",
            scope.params(),
        ).fetchone()
        if row is None:
            return None
        rows = self._db.execute(
            "SELECT item, payload FROM baseline_entry WHERE pair=? AND feature=? AND side=?",
            scope.params(),
        )
        entries: Iterable[Entry] = (
            Entry(decode_item(item), decode_payload(payload)) for item, payload in rows
        )
        if like is not None:
            entries = _shared_with(entries, like)
        return Snapshot.build(row[0], scope.feature, entries, Completeness(all_pages=True))

    def has_baseline(self, scope: Scope) -> bool:
        """Whether the scope has a baseline (without loading it)."""
        row = self._db.execute(
            "SELECT 1 FROM baseline_scope WHERE pair=? AND feature=? AND side=?", scope.params()
        ).fetchone()
        return row is not None

    def save_baseline(
        self,
        scope: Scope,
        provider: str,
        *,
        upserts: Iterable[Entry],
        removed: Iterable[MediaItem],
        saved_at: datetime,
    ) -> int:
        """Change a baseline by the entries that changed; returns the rows written.

        A baseline keeps one row per item, keyed by the item's key. That key can change: an
        item that learns an id from the other side may be keyed by it from then on. So a
        removed item's row goes under any of its tokens; a caller that saves an item under a
        new key passes its old self in `removed` (a row left under the old key would bring
        the item back). Upserts delete nothing: a first save of a large library stays one
        statement per item.
        """
        written = 0
        with self.transaction() as db:
            db.execute(
                "INSERT INTO baseline_scope VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
                " SET provider=excluded.provider, saved_at=excluded.saved_at",
                (*scope.params(), provider, saved_at.isoformat()),
            )
            for item in removed:
                written += self._delete_rows(scope, _row_keys(item))
            for entry in upserts:
                db.execute(
                    "INSERT OR REPLACE INTO baseline_entry VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        *scope.params(),
                        entry.key,
                        encode_item(entry.item),
                        encode_payload(entry.payload),
                    ),
                )
                written += 1
        return written

    def _delete_rows(self, scope: Scope, keys: Iterable[str]) -> int:
        deleted = 0
        for key in keys:
            deleted += self._db.execute(
                "DELETE FROM baseline_entry WHERE pair=? AND feature=? AND side=? AND key=?",
                (*scope.params(), key),
            ).rowcount
        return deleted

    def drop_baseline(self, scope: Scope) -> None:
        """Forget a baseline: the next run of its pair is a first run again."""
        with self.transaction() as db:
            for table in ("baseline_entry", "baseline_scope", "settled"):
                db.execute(
                    f"DELETE FROM {table} WHERE pair=? AND feature=? AND side=?",  # noqa: S608
                    scope.params(),
                )

    # -- item counts --------------------------------------------------------------------------

    def item_counts(self, provider: str) -> dict[Feature, int]:
        """How many items a provider held per feature, by the largest baseline naming it."""
        rows = self._db.execute(
            "SELECT s.feature, MAX(c) FROM baseline_scope s JOIN ("
            " SELECT pair, feature, side, COUNT(*) AS c FROM baseline_entry"
            " GROUP BY pair, feature, side) e"
            " ON e.pair = s.pair AND e.feature = s.feature AND e.side = s.side"
            " WHERE s.provider = ? GROUP BY s.feature",
            (provider,),
        )
        return {Feature(feature): int(count) for feature, count in rows}

    # -- checkpoints --------------------------------------------------------------------------

    def checkpoint(self, scope: Scope) -> Checkpoint | None:
        """Where this pair side's last complete read stood."""
        row = self._db.execute(
            "SELECT provider, watermark, etag, updated_at FROM checkpoint"
            " WHERE pair=? AND feature=? AND side=?",
            scope.params(),
        ).fetchone()
        if row is None:
            return None
        return Checkpoint(row[0], scope.feature, row[1], row[2], datetime.fromisoformat(row[3]))

    def save_checkpoint(self, scope: Scope, checkpoint: Checkpoint) -> None:
        """Record where this pair side's read of a provider's feature stood."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO checkpoint VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    *scope.params(),
                    checkpoint.provider,
                    checkpoint.watermark,
                    checkpoint.etag,
                    checkpoint.updated_at.isoformat(),
                ),
            )

    def clear_checkpoints(self, provider: str, feature: Feature | None = None) -> int:
        """Forget a provider's checkpoints in every pair (bust a cache): the next read is full."""
        with self.transaction() as db:
            # A busted cache must be read and planned from again, not skipped as settled.
            db.execute("DELETE FROM settled WHERE provider=?", (provider,))
            if feature is None:
                return db.execute("DELETE FROM checkpoint WHERE provider=?", (provider,)).rowcount
            return db.execute(
                "DELETE FROM checkpoint WHERE provider=? AND feature=?", (provider, feature.value)
            ).rowcount

    # -- shrink suspicions --------------------------------------------------------------------

    def shrink_suspicion(self, scope: Scope) -> ShrinkSuspicion | None:
        """The unconfirmed shrink of this pair side, if its last complete read was suspect."""
        row = self._db.execute(
            "SELECT missing, expected, seen, noticed_at, regained FROM shrink_suspicion"
            " WHERE pair=? AND feature=? AND side=?",
            scope.params(),
        ).fetchone()
        if row is None:
            return None
        regained = _keys(row[4]) if row[4] is not None else frozenset[str]()
        return ShrinkSuspicion(
            _keys(row[0]), row[1], row[2], datetime.fromisoformat(row[3]), regained
        )

    def save_shrink_suspicion(self, scope: Scope, suspicion: ShrinkSuspicion | None) -> None:
        """Remember a suspect shrink for the confirming read, or forget it (None)."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM shrink_suspicion WHERE pair=? AND feature=? AND side=?",
                scope.params(),
            )
            if suspicion is None:
                return
            db.execute(
                "INSERT INTO shrink_suspicion VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *scope.params(),
                    _packed(suspicion.missing),
                    suspicion.expected,
                    suspicion.seen,
                    suspicion.noticed_at.isoformat(),
                    _packed(suspicion.regained),
                ),
            )


def _shared_with(entries: Iterable[Entry], read: Snapshot) -> Iterator[Entry]:
    """`entries`, each replaced by the read's equal entry where the read has one."""
    held = read.entries.get
    for entry in entries:
        same = held(entry.key)
        yield same if same is not None and same == entry else entry


def _packed(keys: frozenset[str]) -> bytes:
    """A set of keys as stored: a compressed, sorted JSON list."""
    return zlib.compress(json.dumps(sorted(keys)).encode())


def _keys(packed: bytes) -> frozenset[str]:
    """The set of keys `_packed` stored."""
    return frozenset(json.loads(zlib.decompress(packed).decode()))


def _row_keys(item: MediaItem) -> set[str]:
    """Every key a baseline row of `item` may have been saved under."""
    return {item.key, *item.tokens, *item.local_tokens}
