"""The state store: what the engine must remember between runs, in SQLite.

Blocking by nature (stdlib sqlite3): every method is meant for an executor thread, never the
event loop. One `StateStore` owns one connection; callers serialize access to it (the pipeline
runs one store operation at a time per store).

Durability rules:
- The database runs in WAL mode; each `transaction()` commits atomically, so a run that writes
  one transaction per applied chunk loses nothing and repeats nothing when it is cut off.
- Writes are incremental: baselines change by the rows that changed, never by rewriting the
  whole inventory, so a run that changes 10 items writes on the order of 10 rows.
- The schema is versioned; `schema.MIGRATIONS` upgrade an older file forward, one step at a
  time.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
import json
from pathlib import Path
import sqlite3
import zlib

from .codec import (
    decode_item,
    decode_operation,
    decode_payload,
    encode_item,
    encode_operation,
    encode_payload,
)
from .cursor import Checkpoint
from .items import MediaItem
from .payloads import Entry, Feature, Payload
from .plan import Action, Operation
from .records import (
    RETRY_BACKOFF,
    HeldOperation,
    IdMapCopy,
    PendingWrite,
    Provenance,
    Quarantined,
    RunRecord,
    Scope,
    ShrinkSuspicion,
    Tombstone,
    Unresolved,
)

# Opening a store reads the migrations through this module's names: a test adds a step by
# patching them here, so they are exported on purpose.
from .schema import MIGRATIONS as MIGRATIONS, SCHEMA_VERSION  # noqa: PLC0414
from .shadow import Shadow
from .snapshot import Completeness, Snapshot

# The tables that hold rows per pair: what `pairs` lists and `forget_pair` removes.
_PAIR_TABLES = (
    "checkpoint",
    "shrink_suspicion",
    "baseline_entry",
    "baseline_scope",
    "tombstone",
    "run",
    "held",
    "unresolved",
    "blackbox",
    "pending",
    "shadow",
    "kept",
    "learned_ids",
)


class StoreError(Exception):
    """The state store cannot be used (e.g. a file written by a newer CrossWatch)."""


class StateStore:
    """The engine's memory, one SQLite file at a path the caller gives."""

    def __init__(self, path: Path | str) -> None:
        """Open (creating if needed) and migrate the store at `path`."""
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit BEGIN/COMMIT in transaction().
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> StateStore:
        """Use the store in a with block that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store at the end of a with block."""
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}; this CrossWatch knows up to"
                f" {SCHEMA_VERSION}. Update CrossWatch or remove the file to start over."
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in statements:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")

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

    # -- baselines ----------------------------------------------------------------------------

    def load_baseline(self, scope: Scope) -> Snapshot | None:
        """The baseline of a scope as a complete snapshot, or None before its first save."""
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
        entries = (Entry(decode_item(item), decode_payload(payload)) for item, payload in rows)
        return Snapshot.build(row[0], scope.feature, entries, Completeness(all_pages=True))

    def save_baseline(
        self,
        scope: Scope,
        provider: str,
        *,
        upserts: Iterable[Entry],
        removed_keys: Iterable[str],
        saved_at: datetime,
    ) -> int:
        """Change a baseline by the entries that changed; returns the rows written."""
        written = 0
        with self.transaction() as db:
            db.execute(
                "INSERT INTO baseline_scope VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
                " SET provider=excluded.provider, saved_at=excluded.saved_at",
                (*scope.params(), provider, saved_at.isoformat()),
            )
            for key in removed_keys:
                written += db.execute(
                    "DELETE FROM baseline_entry WHERE pair=? AND feature=? AND side=? AND key=?",
                    (*scope.params(), key),
                ).rowcount
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

    def drop_baseline(self, scope: Scope) -> None:
        """Forget a baseline: the next run of its pair is a first run again."""
        with self.transaction() as db:
            for table in ("baseline_entry", "baseline_scope"):
                db.execute(
                    f"DELETE FROM {table} WHERE pair=? AND feature=? AND side=?",  # noqa: S608
                    scope.params(),
                )

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
            if feature is None:
                return db.execute("DELETE FROM checkpoint WHERE provider=?", (provider,)).rowcount
            return db.execute(
                "DELETE FROM checkpoint WHERE provider=? AND feature=?", (provider, feature.value)
            ).rowcount

    # -- shrink suspicions --------------------------------------------------------------------

    def shrink_suspicion(self, scope: Scope) -> ShrinkSuspicion | None:
        """The unconfirmed shrink of this pair side, if its last complete read was suspect."""
        row = self._db.execute(
            "SELECT missing, expected, seen, noticed_at FROM shrink_suspicion"
            " WHERE pair=? AND feature=? AND side=?",
            scope.params(),
        ).fetchone()
        if row is None:
            return None
        missing = frozenset(json.loads(zlib.decompress(row[0]).decode()))
        return ShrinkSuspicion(missing, row[1], row[2], datetime.fromisoformat(row[3]))

    def save_shrink_suspicion(self, scope: Scope, suspicion: ShrinkSuspicion | None) -> None:
        """Remember a suspect shrink for the confirming read, or forget it (None)."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM shrink_suspicion WHERE pair=? AND feature=? AND side=?",
                scope.params(),
            )
            if suspicion is None:
                return
            missing = zlib.compress(json.dumps(sorted(suspicion.missing)).encode())
            db.execute(
                "INSERT INTO shrink_suspicion VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    *scope.params(),
                    missing,
                    suspicion.expected,
                    suspicion.seen,
                    suspicion.noticed_at.isoformat(),
                ),
            )

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

    # -- pending verification -----------------------------------------------------------------

    def record_pending(
        self,
        scope: Scope,
        action: Action,
        item: MediaItem,
        payload: Payload | None,
        *,
        outcome: str,
        run_id: int,
        now: datetime,
    ) -> None:
        """Remember an accepted write until a complete snapshot shows it."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    *scope.params(),
                    item.key,
                    action.value,
                    encode_item(item),
                    encode_payload(payload) if payload is not None else None,
                    outcome,
                    run_id,
                    now.isoformat(),
                ),
            )

    def pending(self, scope: Scope) -> list[PendingWrite]:
        """A scope's writes awaiting verification, oldest first."""
        rows = self._db.execute(
            "SELECT feature, side, action, item, payload, outcome, run_id, written_at, misses"
            " FROM pending WHERE pair=? AND feature=? AND side=? ORDER BY written_at, key",
            scope.params(),
        )
        return [_pending_write(scope.pair, *row) for row in rows]

    def phantoms(self, pair: str, phantom_after: int) -> list[PendingWrite]:
        """A pair's writes accepted but not shown by `phantom_after` complete reads since."""
        rows = self._db.execute(
            "SELECT feature, side, action, item, payload, outcome, run_id, written_at, misses"
            " FROM pending WHERE pair=? AND misses >= ? ORDER BY written_at, key",
            (pair, phantom_after),
        )
        return [_pending_write(pair, *row) for row in rows]

    def settle_pending(
        self, scope: Scope, *, verified: Iterable[PendingWrite], missed: Iterable[PendingWrite]
    ) -> None:
        """Drop writes a complete snapshot showed; count one more miss for those it did not."""
        with self.transaction() as db:
            for write in verified:
                db.execute(
                    "DELETE FROM pending WHERE pair=? AND feature=? AND side=? AND key=?"
                    " AND action=?",
                    (*scope.params(), write.item.key, write.action.value),
                )
            for write in missed:
                db.execute(
                    "UPDATE pending SET misses = misses + 1 WHERE pair=? AND feature=? AND side=?"
                    " AND key=? AND action=?",
                    (*scope.params(), write.item.key, write.action.value),
                )

    def forget_pending(self, writes: Iterable[PendingWrite]) -> None:
        """Stop waiting for these writes: the next run plans their items afresh."""
        with self.transaction() as db:
            for write in writes:
                db.execute(
                    "DELETE FROM pending WHERE pair=? AND feature=? AND side=? AND key=?"
                    " AND action=?",
                    (*write.scope.params(), write.item.key, write.action.value),
                )

    # -- shadows ------------------------------------------------------------------------------

    def record_shadow(self, scope: Scope, shadow: Shadow, now: datetime) -> None:
        """Remember which source tokens a destination item without ids stands for."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO shadow VALUES (?, ?, ?, ?, ?, ?, 0)",
                (*scope.params(), shadow.local_token, json.dumps(shadow.tokens), now.isoformat()),
            )

    def shadows(self, scope: Scope) -> list[Shadow]:
        """A scope's shadows."""
        rows = self._db.execute(
            "SELECT local_token, tokens, absent_runs FROM shadow"
            " WHERE pair=? AND feature=? AND side=? ORDER BY local_token",
            scope.params(),
        )
        return [Shadow(local, tuple(json.loads(tokens)), absent) for local, tokens, absent in rows]

    def settle_shadows(
        self, scope: Scope, *, expired: Iterable[Shadow], absent: Iterable[Shadow]
    ) -> None:
        """Drop expired shadows; count one more absent run for the others not seen."""
        with self.transaction() as db:
            for shadow in expired:
                db.execute(
                    "DELETE FROM shadow WHERE pair=? AND feature=? AND side=? AND local_token=?",
                    (*scope.params(), shadow.local_token),
                )
            for shadow in absent:
                db.execute(
                    "UPDATE shadow SET absent_runs = absent_runs + 1"
                    " WHERE pair=? AND feature=? AND side=? AND local_token=?",
                    (*scope.params(), shadow.local_token),
                )

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, pair: str, started_at: datetime) -> int:
        """Record the start of a run; returns its id."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO run (pair, started_at) VALUES (?, ?)", (pair, started_at.isoformat())
            )
            return int(cursor.lastrowid or 0)

    def finish_run(
        self, run_id: int, *, finished_at: datetime, status: str, result: str, keep: int = 50
    ) -> None:
        """Record how a run ended, keeping only the last `keep` runs of its pair."""
        with self.transaction() as db:
            db.execute(
                "UPDATE run SET finished_at=?, status=?, result=? WHERE id=?",
                (finished_at.isoformat(), status, result, run_id),
            )
            db.execute(
                "DELETE FROM run WHERE pair = (SELECT pair FROM run WHERE id=?) AND id NOT IN"
                " (SELECT id FROM run WHERE pair = (SELECT pair FROM run WHERE id=?)"
                " ORDER BY id DESC LIMIT ?)",
                (run_id, run_id, keep),
            )

    def runs(self, pair: str, limit: int = 10) -> list[RunRecord]:
        """The last runs of a pair, newest first."""
        rows = self._db.execute(
            "SELECT id, pair, started_at, finished_at, status, result FROM run"
            " WHERE pair=? ORDER BY id DESC LIMIT ?",
            (pair, limit),
        )
        return [
            RunRecord(
                run_id,
                name,
                datetime.fromisoformat(started),
                datetime.fromisoformat(finished) if finished else None,
                status,
                result,
            )
            for run_id, name, started, finished, status, result in rows
        ]

    # -- housekeeping -------------------------------------------------------------------------

    # -- provenance ---------------------------------------------------------------------------

    def record_provenance(
        self,
        provider: str,
        feature: Feature,
        *,
        seen: Iterable[Entry],
        gone: Iterable[str],
        now: datetime,
    ) -> None:
        """Note items that appeared or changed (`seen`) and items that disappeared (`gone`).

        Called with what changed since the baseline only, so a no-change run writes nothing.
        """
        stamp = now.isoformat()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, 1, NULL) ON CONFLICT DO UPDATE"
                " SET value=excluded.value, last_seen=excluded.last_seen, present=1",
                (
                    (provider, feature.value, e.key, encode_payload(e.payload), stamp, stamp)
                    for e in seen
                ),
            )
            db.executemany(
                "UPDATE provenance SET present=0, value=NULL"
                " WHERE provider=? AND feature=? AND key=?",
                ((provider, feature.value, key) for key in gone),
            )

    def record_written(
        self, provider: str, feature: Feature, writes: Iterable[tuple[str, int]], now: datetime
    ) -> None:
        """Mark items whose state on `provider` our run wrote (key, run id), once verified."""
        stamp = now.isoformat()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO provenance VALUES (?, ?, ?, NULL, ?, ?, 1, ?) ON CONFLICT DO UPDATE"
                " SET written_by_run=excluded.written_by_run",
                ((provider, feature.value, key, stamp, stamp, run) for key, run in writes),
            )

    def provenance(self, provider: str, feature: Feature, key: str) -> Provenance | None:
        """Where an item's state on a provider came from, if it was ever seen or written."""
        row = self._db.execute(
            "SELECT value, first_seen, last_seen, present, written_by_run FROM provenance"
            " WHERE provider=? AND feature=? AND key=?",
            (provider, feature.value, key),
        ).fetchone()
        if row is None:
            return None
        value, first_seen, last_seen, present, written_by = row
        return Provenance(
            provider,
            feature,
            key,
            decode_payload(value) if value is not None else None,
            datetime.fromisoformat(first_seen),
            datetime.fromisoformat(last_seen),
            bool(present),
            written_by,
        )

    # -- id backfill ----------------------------------------------------------------------------

    def learned_ids(self, scope: Scope) -> dict[str, tuple[str, ...]]:
        """What the backfill lent items of a scope: original key -> tokens."""
        rows = self._db.execute(
            "SELECT key, tokens FROM learned_ids WHERE pair=? AND feature=? AND side=?",
            scope.params(),
        )
        return {key: tuple(json.loads(tokens)) for key, tokens in rows}

    def save_learned_ids(self, scope: Scope, learned: dict[str, tuple[str, ...]]) -> None:
        """Keep what the backfill newly lent items of a scope (and only that scope)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO learned_ids VALUES (?, ?, ?, ?, ?)",
                ((*scope.params(), key, json.dumps(list(t))) for key, t in learned.items()),
            )

    def id_map_copy(self, source: str) -> IdMapCopy | None:
        """The cached copy of an id mapping source, if one was ever fetched."""
        row = self._db.execute(
            "SELECT records, validator, fetched_at, checked_at FROM id_map WHERE source=?",
            (source,),
        ).fetchone()
        if row is None:
            return None
        return IdMapCopy(
            json.loads(zlib.decompress(row[0])),
            row[1],
            datetime.fromisoformat(row[2]),
            datetime.fromisoformat(row[3]),
        )

    def save_id_map(
        self,
        source: str,
        records: list[dict[str, str]] | None,
        validator: str | None,
        now: datetime,
    ) -> None:
        """Cache a fetched copy, or (records=None) note that the source was unchanged."""
        with self.transaction() as db:
            if records is None:
                db.execute(
                    "UPDATE id_map SET checked_at=? WHERE source=?", (now.isoformat(), source)
                )
                return
            blob = zlib.compress(json.dumps(records, separators=(",", ":")).encode())
            db.execute(
                "INSERT OR REPLACE INTO id_map VALUES (?, ?, ?, ?, ?)",
                (source, blob, validator, now.isoformat(), now.isoformat()),
            )

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

    def pairs(self) -> list[str]:
        """Every pair the store holds anything for."""
        union = " UNION ".join(f"SELECT pair FROM {t}" for t in _PAIR_TABLES)  # noqa: S608
        return sorted(row[0] for row in self._db.execute(union))

    def forget_pair(self, pair: str) -> None:
        """Remove everything a pair left behind (the pair was deleted)."""
        with self.transaction() as db:
            for table in _PAIR_TABLES:
                db.execute(f"DELETE FROM {table} WHERE pair=?", (pair,))  # noqa: S608

    def statistics(self) -> dict[str, int]:
        """Row counts per table, for diagnostics."""
        tables = [
            name
            for (name,) in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            )
        ]
        return {
            table: int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
            for table in tables
        }


def _pending_write(  # noqa: PLR0917 - one argument per column of the row
    pair: str,
    feature: str,
    side: str,
    action: str,
    item: str,
    payload: str | None,
    outcome: str,
    run_id: int,
    written_at: str,
    misses: int,
) -> PendingWrite:
    """One `pending` row of `pair` as a PendingWrite."""
    return PendingWrite(
        Scope(pair, Feature(feature), side),
        Action(action),
        decode_item(item),
        decode_payload(payload) if payload is not None else None,
        outcome,
        run_id,
        datetime.fromisoformat(written_at),
        misses,
    )
