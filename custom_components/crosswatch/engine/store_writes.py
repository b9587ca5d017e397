"""Our runs, their writes awaiting a read that shows them, and where each item's state came from."""

from collections.abc import Iterable
from datetime import datetime
import json

from .codec import decode_item, decode_payload, encode_item, encode_payload
from .items import MediaItem
from .payloads import Entry, Feature, Payload
from .plan import Action
from .records import PendingWrite, Provenance, ReadingRun, RunRecord, Scope
from .store_connection import StoreConnection


class WriteTables(StoreConnection):
    """The run log, writes awaiting verification, and where each item's state came from."""

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

    def run_starts(self, pair: str, before: datetime) -> list[ReadingRun]:
        """The pair's runs that read its sides and started before `before`, newest first.

        Only runs that kept what they read count: not a failed run (it read nothing it could
        keep), a dry run (it keeps nothing), an approval (it reads nothing) or a run that never
        finished. Which reads stopped short, each run's summary says (`incomplete_reads`); a
        read is named there by its provider's name, so a renamed account's older runs read
        as whole.
        """
        rows = self._db.execute(
            "SELECT started_at, json_extract(result, '$.incomplete_reads') FROM run"
            " WHERE pair=? AND status IS NOT NULL AND status != ?"
            " AND json_extract(result, '$.dry_run') = 0 ORDER BY id DESC",
            (pair, "failed"),
        )
        runs = []
        for started, incomplete in rows:
            started_at = datetime.fromisoformat(started)
            if started_at < before:
                runs.append(ReadingRun(started_at, _short_reads(incomplete)))
        return runs

    def last_changing_run(self, pair: str) -> RunRecord | None:
        """The pair's latest run whose summary names titles it wrote, if any is kept."""
        row = self._db.execute(
            "SELECT id, pair, started_at, finished_at, status, result FROM run WHERE pair=?"
            " AND json_array_length(result, '$.changes.titles') > 0 ORDER BY id DESC LIMIT 1",
            (pair,),
        ).fetchone()
        if row is None:
            return None
        run_id, name, started, finished, status, result = row
        return RunRecord(
            run_id,
            name,
            datetime.fromisoformat(started),
            datetime.fromisoformat(finished) if finished else None,
            status,
            result,
        )

    def runs(self, pair: str, limit: int = 10, *, full_only: bool = False) -> list[RunRecord]:
        """The last runs of a pair, newest first; with `full_only`, not the targeted runs.

        A targeted run (targeted.py) synced one played item: it says nothing of the pair.
        """
        rows = self._db.execute(
            "SELECT id, pair, started_at, finished_at, status, result FROM run"
            " WHERE pair=? AND (? = 0 OR status IS NOT 'targeted') ORDER BY id DESC LIMIT ?",
            (pair, int(full_only), limit),
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
        """Remember an accepted write until a complete snapshot shows it.

        The latest write of an item says what a read should show: it supersedes an earlier
        write of the opposite action (our removal of a copy we added, or the reverse).
        """
        opposite = (Action.ADD, Action.UPDATE) if action is Action.REMOVE else (Action.REMOVE,)
        with self.transaction() as db:
            for key in {item.key, *item.tokens, *item.local_tokens}:
                for superseded in opposite:
                    db.execute(
                        "DELETE FROM pending WHERE pair=? AND feature=? AND side=? AND key=?"
                        " AND action=?",
                        (*scope.params(), key, superseded.value),
                    )
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


def _short_reads(incomplete: str | None) -> frozenset[tuple[str, str]]:
    """The (provider, feature) of each read a run summary lists as incomplete, not suspect."""
    try:
        reads = json.loads(incomplete) if incomplete else []
    except ValueError:
        return frozenset()
    return frozenset(
        (str(read.get("provider")), str(read.get("feature")))
        for read in reads if isinstance(read, dict) and not read.get("suspect")
    )  # fmt: skip
