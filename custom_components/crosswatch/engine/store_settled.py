"""Settled marks: a pair side whose last run had nothing to do, and with which read.

A mark lets the next run skip decoding baselines and planning while both sides' reads stay the
same version (see settle.py for when a mark may be made and honoured). Marks are a shortcut,
never a memory: every start forgets them, and so does anything that changes what a run would
plan from (a dropped baseline, a busted provider, a new id map).
"""

from datetime import datetime

from .records import Scope, Settled
from .store_connection import StoreConnection


class SettledTables(StoreConnection):
    """Settled marks, one per pair side, and the tombstone expiry that bounds them."""

    def settled(self, scope: Scope) -> Settled | None:
        """The pair side's settled mark, if its last run left one."""
        row = self._db.execute(
            "SELECT provider, version, spec, valid_until FROM settled"
            " WHERE pair=? AND feature=? AND side=?",
            scope.params(),
        ).fetchone()
        if row is None:
            return None
        return Settled(row[0], row[1], row[2], datetime.fromisoformat(row[3]))

    def save_settled(self, scope: Scope, mark: Settled) -> None:
        """Mark a pair side settled with the read version it had nothing to do with."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO settled VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*scope.params(), mark.provider, mark.version, mark.spec,
                 mark.valid_until.isoformat()),
            )  # fmt: skip

    def unsettle(self, scope: Scope) -> None:
        """Forget a pair side's mark: its next run does all its work."""
        with self.transaction() as db:
            db.execute("DELETE FROM settled WHERE pair=? AND feature=? AND side=?", scope.params())

    def unsettle_everything(self) -> None:
        """Forget every mark (a start, or a change to what every run plans from)."""
        with self.transaction() as db:
            db.execute("DELETE FROM settled")

    def next_tombstone_expiry(self, scope: Scope, now: datetime) -> datetime | None:
        """When the first of a pair side's living tombstones expires, if it has any."""
        row = self._db.execute(
            "SELECT MIN(expires_at) FROM tombstone"
            " WHERE pair=? AND feature=? AND side=? AND expires_at > ?",
            (*scope.params(), now.isoformat()),
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row[0] is not None else None
