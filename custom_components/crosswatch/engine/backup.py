"""Copies of what each side of a pair held, taken before a run removes anything.

Services keep no undo of their own (SIMKL and MDBList have no rollback), so before a run of a
feature applies its first removal, the pipeline hands both sides' reads to the pair's
`Backups`, and at least weekly without removals too (on runs that plan: a settled pair has
not changed). A backup that cannot be written before removals stops the feature's run: nothing
of it is written or recorded, so the next run plans it all again; a weekly one that cannot be
written is reported, and the run goes on.

The copy is a JSON document (`backup_document`, pure, for the executor): each side's entries
as the state store encodes them, so a backup reads back into items and payloads exactly.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
import json
from typing import Final, Protocol

from .codec import encode_item, encode_payload
from .payloads import Feature
from .plan import PairSide
from .snapshot import Snapshot

BACKUP_EVERY: Final = timedelta(days=7)  # a backup at least this often, removals or not
DOCUMENT_VERSION: Final = 1


class BackupReason(StrEnum):
    """Why a backup was taken."""

    BEFORE_REMOVALS = "before_removals"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class SideCopy:
    """One side's read of the feature, as the run saw it before writing."""

    side: PairSide
    provider: str
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class Backup:
    """Both sides of one feature of one pair, at one moment."""

    pair: str
    feature: Feature
    taken_at: datetime
    reason: BackupReason
    sides: tuple[SideCopy, ...]


class BackupError(Exception):
    """A backup could not be written (a full disk, a folder that cannot be made)."""


class Backups(Protocol):
    """Where a pipeline keeps its backups (Home Assistant: a folder of compressed files)."""

    async def last_taken(self, pair: str, feature: Feature) -> datetime | None:
        """When the pair's feature was last backed up, if ever."""

    async def keep(self, backup: Backup) -> None:
        """Write the backup, keeping only the newest few; raise BackupError when it cannot."""


def backup_document(backup: Backup) -> dict[str, object]:
    """The backup as a JSON-ready document (pure; for the executor: it walks every entry)."""
    return {
        "version": DOCUMENT_VERSION,
        "pair": backup.pair,
        "feature": backup.feature.value,
        "taken_at": backup.taken_at.isoformat(),
        "reason": backup.reason.value,
        "sides": [
            {
                "side": copy.side.value,
                "provider": copy.provider,
                "complete": copy.snapshot.complete,
                "entries": [
                    {
                        "item": json.loads(encode_item(entry.item)),
                        "payload": json.loads(encode_payload(entry.payload)),
                    }
                    for entry in copy.snapshot.entries.values()
                ],
            }
            for copy in backup.sides
        ],
    }


def counts(backup: Backup) -> dict[str, int]:
    """Entries per side ('a', 'b'), as listings show them."""
    return {copy.side.value: len(copy.snapshot) for copy in backup.sides}


def due(last: datetime | None, now: datetime) -> bool:
    """Whether a weekly backup is due."""
    return last is None or now - last >= BACKUP_EVERY
