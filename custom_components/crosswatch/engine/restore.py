"""Restoring from a backup: what a side held then and lacks now, written back as adds.

A backup (backup.py) holds both sides of one feature of a pair as they were before a run that
removed something. Restoring one side plans an add for each entry of that side's copy that a
fresh, complete read of the service no longer holds, and nothing else: an entry the service
still holds is left as it is now (a restore never changes a rating back, nor adds a play to a
title that has one: only what is missing comes back). A partial read cannot tell missing from
unseen, so it restores nothing.

The restored items are written as the user's own adds, not as the pair's copies of the other
side (a copy whose source lacks the item is taken back by the next run): the pair forgets its
baseline entries, awaited writes, tombstones and kept removals of them, so its next run sees
them as added on that side. A two-way pair carries them to the other side too; a mirror or
one-way pair does what its mode does with an item only its target holds.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
import json

from .codec import decode_item, decode_payload
from .items import MatchTier
from .payloads import Entry, Feature
from .plan import Action, Evidence, Operation, PairSide, Plan, Reason, Seen
from .provider import WriteOutcome, WriteResult
from .snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class BackedUpSide:
    """One side's copy in a backup."""

    side: PairSide
    provider: str
    complete: bool
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class BackupCopy:
    """A backup as read back from its document."""

    pair: str
    feature: Feature
    taken_at: datetime
    reason: str
    sides: tuple[BackedUpSide, ...]

    def side(self, side: PairSide) -> BackedUpSide | None:
        """The copy of one side, if the backup has it."""
        return next((copy for copy in self.sides if copy.side is side), None)


class BackupUnreadableError(ValueError):
    """A document that is not a backup CrossWatch wrote."""


def read_backup(document: object) -> BackupCopy:
    """The backup a `backup.backup_document` wrote (pure; for the executor)."""
    if not isinstance(document, Mapping):
        raise BackupUnreadableError("not a CrossWatch backup: not a JSON object")
    try:
        sides = tuple(
            BackedUpSide(
                PairSide(side["side"]),
                str(side["provider"]),
                bool(side["complete"]),
                tuple(
                    Entry(
                        decode_item(json.dumps(entry["item"])),
                        decode_payload(json.dumps(entry["payload"])),
                    )
                    for entry in side["entries"]
                ),
            )
            for side in document["sides"]
        )
        return BackupCopy(
            str(document["pair"]),
            Feature(document["feature"]),
            datetime.fromisoformat(document["taken_at"]),
            str(document["reason"]),
            sides,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BackupUnreadableError(f"not a CrossWatch backup: {err}") from err


def restore_plan(
    side_names: tuple[str, str],
    side: PairSide,
    feature: Feature,
    backed_up: Iterable[Entry],
    now: Snapshot,
) -> Plan:
    """Adds of the backed-up entries that `now`, a complete read of that side, lacks."""
    if not now.complete:
        raise ValueError("a partial read cannot tell what is missing")
    evidence = Evidence(
        a=Seen.ABSENT if side is PairSide.A else Seen.PRESENT,
        b=Seen.ABSENT if side is PairSide.B else Seen.PRESENT,
        baseline_a=Seen.PRESENT,
        baseline_b=Seen.PRESENT,
        a_complete=True,
        b_complete=True,
        detail="in the backup, not on the service now",
    )
    operations = [
        Operation(
            side,
            feature,
            Action.ADD,
            entry.item,
            Reason.RESTORED_FROM_BACKUP,
            MatchTier.STRONG,
            evidence,
            entry.payload,
        )
        for entry in backed_up
        if now.find(entry.item, include_local=True) is None
    ]
    return Plan.of(side_names, operations)


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore planned, and what became of each add (None: a dry run, nothing to do)."""

    plan: Plan
    results: tuple[WriteResult, ...] | None
    error: str | None  # why the service stopped the restore midway, if it did

    def count(self, outcome: WriteOutcome) -> int:
        """How many adds ended with `outcome`."""
        return sum(1 for result in self.results or () if result.outcome is outcome)
