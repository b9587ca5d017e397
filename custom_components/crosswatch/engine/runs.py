"""What a run of a pair is asked to do, and what it reports: the pipeline's public values."""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .guards import GuardEvent, GuardSettings
from .payloads import Feature
from .plan import Action, Operation, Plan
from .planner import SyncMode

CHANGES_NAMED = 10  # titles a run's summary names; the rest are counted


class RunStatus(StrEnum):
    """How a run ended."""

    SUCCESS = "success"
    PARTIAL = "partial"  # something was skipped or failed; what could be done was done
    FAILED = "failed"  # nothing could be done
    HELD = "held"  # removals wait for the user's decision
    # Nothing to write but items the target cannot take (no id it can use, not in its library).
    UNRESOLVED = "unresolved"
    CANCELLED = "cancelled"  # stopped midway; what was committed stays, the rest is replanned
    # A run of one played item (targeted.py) that did what it planned: it says nothing of the
    # rest of the pair, so it never stands for the pair's last result.
    TARGETED = "targeted"


@dataclass(frozen=True, slots=True)
class PairSpec:
    """What a pair syncs and how carefully."""

    pair: str
    mode: SyncMode = SyncMode.ADD_ONLY
    features: frozenset[Feature] = frozenset(Feature)
    guards: GuardSettings = field(default_factory=GuardSettings)
    dry_run: bool = False
    phantom_after: int = 2
    # A targeted run (targeted.py): the tokens of the one item it may write to side B.
    focus: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FeatureCounts:
    """What one feature of a run planned and did.

    `planned` counts what the run writes (or, dry, would write); `unresolved` the operations
    it could not, the target unable to take their items: `rejected` by the target this run,
    or rejected before and waiting for their retry.
    """

    planned: int = 0
    applied: int = 0
    held: int = 0
    unresolved: int = 0
    rejected: int = 0
    phantoms: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class IncompleteRead:
    """A side whose read failed or did not prove it saw everything.

    Nothing was removed on its account, and the run cannot claim success.
    """

    provider: str
    feature: Feature
    reason: str
    expected: int | None = None  # how many items the read should have shown, where known
    seen: int | None = None  # how many it showed
    # Complete, but doubted: it lost too much since the last sync to be believed at once.
    suspect: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "provider": self.provider,
            "feature": self.feature.value,
            "reason": self.reason,
            "expected": self.expected,
            "seen": self.seen,
            "suspect": self.suspect,
        }


@dataclass(frozen=True, slots=True)
class ChangedTitle:
    """One title a run wrote: what it did, on which service, to which feature."""

    title: str
    action: Action
    service: str
    feature: Feature


@dataclass(frozen=True, slots=True)
class RunChanges:
    """What a run changed on the services: counts per action, and the first titles named."""

    added: int = 0
    removed: int = 0
    updated: int = 0
    titles: tuple[ChangedTitle, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (the run's summary, events, the Last synced sensor)."""
        return {
            "added": self.added,
            "removed": self.removed,
            "updated": self.updated,
            "titles": [
                {
                    "title": t.title,
                    "action": t.action.value,
                    "service": t.service,
                    "feature": t.feature.value,
                }
                for t in self.titles
            ],
        }

    @classmethod
    def of(cls, written: Sequence[Operation], plan: Plan, limit: int = CHANGES_NAMED) -> RunChanges:
        """What `written` (operations the services took, in plan order) changed."""
        counts = Counter(op.action for op in written)
        return cls(
            counts[Action.ADD],
            counts[Action.REMOVE],
            counts[Action.UPDATE],
            tuple(
                ChangedTitle(op.item.label(), op.action, plan.name(op.side), op.feature)
                for op in written[:limit]
            ),
        )

    @property
    def any(self) -> bool:
        """Whether the run changed anything."""
        return bool(self.added or self.removed or self.updated)

    @classmethod
    def from_dict(cls, data: object) -> RunChanges | None:
        """What `as_dict` wrote (a stored run's summary); None for anything else."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                int(data["added"]),
                int(data["removed"]),
                int(data["updated"]),
                tuple(
                    ChangedTitle(
                        str(t["title"]),
                        Action(t["action"]),
                        str(t["service"]),
                        Feature(t["feature"]),
                    )
                    for t in data["titles"]
                ),
            )
        except KeyError, TypeError, ValueError:
            return None


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything a run did, for entities, events and diagnostics."""

    pair: str
    run_id: int
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    features: Mapping[Feature, FeatureCounts]
    plan: Plan
    events: tuple[GuardEvent, ...] = ()
    errors: tuple[str, ...] = ()
    retry_after: float | None = None  # the longest Retry-After a provider asked for
    dry_run: bool = False
    requests: Mapping[str, int] = field(default_factory=dict)  # provider name -> HTTP requests
    account_limited: tuple[str, ...] = ()  # providers that refused writes at a plan limit
    rate_limited: tuple[str, ...] = ()  # providers that asked us to slow down (read or write)
    incomplete: tuple[IncompleteRead, ...] = ()  # reads that failed or could not prove completeness
    # Features that had nothing to do, known without planning: settled and read the same.
    settled: tuple[Feature, ...] = ()
    # What the services took (confirmed, or sent with the answer lost): counts and first titles.
    changes: RunChanges = field(default_factory=RunChanges)

    @property
    def duration(self) -> float:
        """Seconds the run took."""
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> dict[str, object]:
        """A JSON-ready summary (counts, not item lists)."""
        return {
            "pair": self.pair,
            "run_id": self.run_id,
            "status": self.status.value,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "duration": round(self.duration, 3),
            "features": {
                feature.value: {
                    "planned": c.planned,
                    "applied": c.applied,
                    "held": c.held,
                    "unresolved": c.unresolved,
                    "rejected": c.rejected,
                    "phantoms": c.phantoms,
                    "errors": c.errors,
                }
                for feature, c in self.features.items()
            },
            "events": [
                {"code": e.code.value, "side": e.side.value, "count": e.count, "detail": e.detail}
                for e in self.events
            ],
            "errors": list(self.errors),
            "rate_limited": list(self.rate_limited),
            "incomplete_reads": [read.as_dict() for read in self.incomplete],
            "requests": dict(self.requests),
            "settled": [feature.value for feature in self.settled],
            "changes": self.changes.as_dict(),
        }
