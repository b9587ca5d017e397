"""What the state store keeps, as frozen values: the records the engine reads and writes.

Pure values, apart from SQLite: the guards, the verifier and the pipeline hand these around
without knowing how the store lays them out in tables.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .items import MediaItem
from .payloads import Feature, Payload
from .plan import Action, Operation

# Retry a rejected item after 1 h, 6 h, 24 h, then weekly: not on every run.
RETRY_BACKOFF: tuple[timedelta, ...] = (
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(days=7),
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a baseline or a guard record belongs: one side of one feature of one pair."""

    pair: str
    feature: Feature
    side: str

    def params(self) -> tuple[str, str, str]:
        """The scope as SQL parameters."""
        return (self.pair, self.feature.value, self.side)


@dataclass(frozen=True, slots=True)
class ShrinkSuspicion:
    """A read that lost more of its baseline than one read may prove, awaiting confirmation."""

    missing: frozenset[str]  # baseline keys the suspect read did not show
    expected: int  # items the baseline led us to expect, less our own removals
    seen: int  # of those, how many the read showed
    noticed_at: datetime
    # Baseline keys an earlier suspicion of the side lacked and a read since showed again,
    # carried over when this suspicion replaced it: once a read is believed they are read as
    # regained (rule 12), however many suspicions came in between.
    regained: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Tombstone:
    """An observed deletion: what, where, when and seen by whom."""

    scope: Scope
    item: MediaItem
    removed_at: datetime
    seen_by: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ReadingRun:
    """A run that read its pair's sides: when it started, and which reads stopped short.

    `short` names each (provider name, feature value) whose read failed or was incomplete
    without being suspect: a suspect read was complete, only too shrunken to be believed.
    """

    started_at: datetime
    short: frozenset[tuple[str, str]]

    def read_whole(self, provider: str, feature: Feature) -> bool:
        """Whether this run read that side whole (complete, believed or doubted)."""
        return (provider, feature.value) not in self.short


@dataclass(frozen=True, slots=True)
class HeldOperation:
    """A write a guard held back until the user approves or rejects it."""

    id: int
    pair: str
    operation: Operation
    reason: str
    held_at: datetime


@dataclass(frozen=True, slots=True)
class Unresolved:
    """An item a destination rejected, waiting for its next retry."""

    scope: Scope
    item: MediaItem
    reason: str
    attempts: int
    first_failed_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An item whose writes kept failing, benched until its cooldown ends."""

    scope: Scope
    item: MediaItem
    failures: int
    last_error: str
    quarantined_until: datetime | None


# The outcome of a play the side's service recorded itself from a live scrobble (scrobble.py):
# awaited like our writes (it holds out any add of the item to the side until a read shows
# it), but no copy of ours: once shown, it is the side's own news, never taken into its
# baseline as our write, and never withdrawn with the other side's loss.
SCROBBLED = "scrobbled"


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A write the provider accepted that no complete snapshot has shown yet."""

    scope: Scope
    action: Action
    item: MediaItem
    payload: Payload | None
    # "confirmed" per item, "unknown" (the reply had no per-item answer), or SCROBBLED.
    outcome: str
    run_id: int
    written_at: datetime
    misses: int  # complete snapshots since the write that did not show it


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one item's state on one provider came from."""

    provider: str
    feature: Feature
    key: str
    value: Payload | None  # the last value seen (None once the item is gone)
    first_seen: datetime
    last_seen: datetime  # the last complete read that showed it (or its latest change)
    present: bool
    written_by_run: int | None  # the run whose write put it there, when it was ours


@dataclass(frozen=True, slots=True)
class IdMapCopy:
    """The cached copy of an id mapping source."""

    records: list[dict[str, str]]
    validator: str | None
    fetched_at: datetime  # when the records last changed
    checked_at: datetime  # when the source was last asked


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of a pair, as the store keeps it."""

    id: int
    pair: str
    started_at: datetime
    finished_at: datetime | None
    status: str | None
    result: str | None


@dataclass(frozen=True, slots=True)
class Settled:
    """A pair side whose last run had nothing to do, and the read it had nothing to do with.

    `version` is the provider's promise about that read (`Read.version`), `spec` what the pair
    was configured to do (settle.spec_digest); the mark holds until `valid_until`.
    """

    provider: str
    version: str
    spec: str
    valid_until: datetime
