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

Layout: `StateStore` opens, migrates and closes the file; its tables come in groups, one mixin
each, so a group reads alone: `store_baselines` (what each pair side's reads showed),
`store_removals`, `store_failures`, `store_writes`, `store_ids`, `store_settled` and
`store_forget` (one item's records, forgotten at the user's word). The values
they hand out are in `records`, the read cursor in `cursor`.
"""

from pathlib import Path
import sqlite3

# Opening a store reads the migrations through this module's names: a test adds a step by
# patching them here, so they are exported on purpose.
from .schema import MIGRATIONS as MIGRATIONS, SCHEMA_VERSION  # noqa: PLC0414
from .store_baselines import BaselineTables
from .store_failures import FailureTables
from .store_forget import ForgettingTables
from .store_ids import IdentityTables
from .store_removals import RemovalTables
from .store_settled import SettledTables
from .store_writes import WriteTables

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
    "settled",
)


class StoreError(Exception):
    """The state store cannot be used (e.g. a file written by a newer CrossWatch)."""


class StateStore(
    BaselineTables,
    RemovalTables,
    FailureTables,
    WriteTables,
    IdentityTables,
    SettledTables,
    ForgettingTables,
):
    """The engine's memory, one SQLite file at a path the caller gives."""

    def __init__(self, path: Path | str) -> None:
        """Open (creating if needed) and migrate the store at `path`."""
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit BEGIN/COMMIT in transaction().
        super().__init__(sqlite3.connect(str(path), isolation_level=None, check_same_thread=False))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        try:
            self._migrate()
            # A settled mark vouches for reads within one start only: the code, the id map and
            # the providers' caches may all be new now.
            self.unsettle_everything()
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

    # -- housekeeping -------------------------------------------------------------------------

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
