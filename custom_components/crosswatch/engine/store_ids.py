"""What the engine learned about identity: shadows, lent ids and cached id mapping sources."""

from collections.abc import Iterable
from datetime import datetime
import json
import zlib

from .records import IdMapCopy, Scope
from .shadow import Shadow
from .store_connection import StoreConnection


class IdentityTables(StoreConnection):
    """Shadows, ids the backfill lent items, and cached copies of id mapping sources."""

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

    # -- id backfill --------------------------------------------------------------------------

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
