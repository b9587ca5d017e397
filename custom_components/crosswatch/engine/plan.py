"""Plans: the explainable list of what a sync run would change, and why.

A plan is what users read in Home Assistant before anything is written, so every operation
carries a reason code with a sentence, the match tier its decision rests on, and the evidence:
which snapshot or baseline saw the item, and whether that snapshot was complete. Notes record
decisions *not* to act (a weak match, a removal held back for lack of evidence) so that
"why did nothing happen?" has an answer too.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import json
from types import MappingProxyType
from typing import Any

from .items import MatchTier, MediaItem
from .payloads import Feature, Listed, Payload, Rated, Watched


class PairSide(StrEnum):
    """A side of a pair: in one-way modes, A is the source and B the target."""

    A = "a"
    B = "b"

    @property
    def other(self) -> PairSide:
        """The opposite side."""
        return PairSide.B if self is PairSide.A else PairSide.A


class Action(StrEnum):
    """What an operation does to its side."""

    ADD = "add"
    UPDATE = "update"
    REMOVE = "remove"
    CONFLICT = "conflict"  # the losing value of a conflict: recorded, never written


class Reason(StrEnum):
    """Why an operation was planned, or why a note was made instead."""

    MISSING_ON_TARGET = "missing_on_target"
    ADDED_ON_OTHER_SIDE = "added_on_other_side"
    REMOVED_ON_OTHER_SIDE = "removed_on_other_side"
    REMOVED_FROM_SOURCE = "removed_from_source"
    NOT_ON_SOURCE = "not_on_source"
    RATING_DIFFERS_FROM_SOURCE = "rating_differs_from_source"
    RATING_CHANGED_ON_OTHER_SIDE = "rating_changed_on_other_side"
    RATING_NEWER_ON_OTHER_SIDE = "rating_newer_on_other_side"
    RATING_CONFLICT_LOST = "rating_conflict_lost"
    PLAYS_MISSING = "plays_missing"
    RESTORED_FROM_BACKUP = "restored_from_backup"  # crosswatch.restore_backup (restore.py)
    # Notes: decisions not to act.
    WEAK_MATCH = "weak_match"
    NO_EXTERNAL_IDS = "no_external_ids"
    REMOVED_ON_TARGET_KEPT_REMOVED = "removed_on_target_kept_removed"
    SNAPSHOT_PARTIAL_NO_REMOVALS = "snapshot_partial_no_removals"
    FIRST_RUN_NO_REMOVALS = "first_run_no_removals"
    WEAK_LINK_NO_REMOVAL = "weak_link_no_removal"
    WATCHED_DATE_NOT_KEPT = "watched_date_not_kept"
    # Notes a run adds for planned operations it does not write (engine/reported.py).
    UNRESOLVED = "unresolved"
    SET_ASIDE = "set_aside"
    AWAITS_APPROVAL = "awaits_approval"


_MESSAGES = MappingProxyType(
    {
        Reason.MISSING_ON_TARGET: "On {other}, missing on {this}",
        Reason.ADDED_ON_OTHER_SIDE: "Added on {other} since the last sync",
        Reason.REMOVED_ON_OTHER_SIDE: (
            "Removed on {other} since the last sync: both sides had it, and {other}'s"
            " complete snapshot no longer does"
        ),
        Reason.REMOVED_FROM_SOURCE: (
            "Removed from {other} since the last sync, and {this} had it at the last sync"
        ),
        Reason.NOT_ON_SOURCE: "Not on {other}, which {this} mirrors",
        Reason.RATING_DIFFERS_FROM_SOURCE: "Rated differently on {other}, the source",
        Reason.RATING_CHANGED_ON_OTHER_SIDE: "Rating changed on {other} since the last sync",
        Reason.RATING_NEWER_ON_OTHER_SIDE: "Rated differently on both sides; {other}'s is newer",
        Reason.RATING_CONFLICT_LOST: (
            "Rated differently on both sides; this older rating on {this} gives way"
        ),
        Reason.PLAYS_MISSING: "Watched on {other}; {this} is missing the play",
        Reason.RESTORED_FROM_BACKUP: "In a backup of {this}, missing on {this} now",
        Reason.WEAK_MATCH: "Matched to {other}'s copy by title and year only",
        Reason.NO_EXTERNAL_IDS: "Has no id that {this} can recognize, so it cannot be added",
        Reason.REMOVED_ON_TARGET_KEPT_REMOVED: (
            "Removed on {this} since the last sync; a one-way sync does not put it back"
        ),
        Reason.SNAPSHOT_PARTIAL_NO_REMOVALS: (
            "{other}'s snapshot is partial, so absence there removes nothing"
        ),
        Reason.FIRST_RUN_NO_REMOVALS: "No baseline yet: removals start after a complete sync",
        Reason.WEAK_LINK_NO_REMOVAL: (
            "Only linked by title and year, which never justifies a removal"
        ),
        Reason.WATCHED_DATE_NOT_KEPT: (
            "{this} cannot set a watched date; it records the time of the sync instead"
        ),
        Reason.UNRESOLVED: "{this} cannot take it; retried later",
        Reason.SET_ASIDE: "Not written to {this} this run",
        Reason.AWAITS_APPROVAL: "Waits for your approval before {this} loses it",
    }
)


class Seen(StrEnum):
    """What one snapshot or baseline says about an item."""

    PRESENT = "present"
    ABSENT = "absent"
    NO_BASELINE = "no_baseline"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Which snapshot or baseline saw the item, and how complete each snapshot was."""

    a: Seen
    b: Seen
    baseline_a: Seen
    baseline_b: Seen
    a_complete: bool
    b_complete: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        result: dict[str, Any] = {
            "a": self.a.value,
            "b": self.b.value,
            "baseline_a": self.baseline_a.value,
            "baseline_b": self.baseline_b.value,
            "a_complete": self.a_complete,
            "b_complete": self.b_complete,
        }
        if self.detail:
            result["detail"] = self.detail
        return result

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> Evidence:
        """The evidence `as_dict` described."""
        return cls(
            Seen(fields["a"]),
            Seen(fields["b"]),
            Seen(fields["baseline_a"]),
            Seen(fields["baseline_b"]),
            bool(fields["a_complete"]),
            bool(fields["b_complete"]),
            fields.get("detail", ""),
        )


@dataclass(frozen=True, slots=True)
class Operation:
    """One change to one side of a pair."""

    side: PairSide
    feature: Feature
    action: Action
    item: MediaItem
    reason: Reason
    match: MatchTier
    evidence: Evidence
    payload: Payload | None = None

    def sort_key(self) -> tuple[int, str, int, str, str]:
        """Deterministic plan order: feature, side, action, item, payload."""
        return (
            _FEATURE_ORDER[self.feature],
            self.side.value,
            _ACTION_ORDER[self.action],
            self.item.key,
            repr(self.payload),
        )


@dataclass(frozen=True, slots=True)
class Note:
    """A decision not to act, kept so that the plan explains it."""

    side: PairSide
    feature: Feature
    reason: Reason
    item: MediaItem
    detail: str = ""


_FEATURE_ORDER = MappingProxyType({feature: i for i, feature in enumerate(Feature)})
_ACTION_ORDER = MappingProxyType({action: i for i, action in enumerate(Action)})


def message(reason: Reason, this: str, other: str) -> str:
    """The sentence for a reason, naming the side it applies to and the other side."""
    return _MESSAGES[reason].format(this=this, other=other)


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def payload_as_dict(payload: Payload | None) -> dict[str, Any] | None:
    """JSON-ready form of a payload."""
    match payload:
        case Listed(listed_at=listed_at):
            return {"listed_at": _when(listed_at)}
        case Watched(plays=plays, play_count=count, last_watched_at=last):
            return {
                "plays": [p.isoformat() for p in plays],
                "play_count": count,
                "last_watched_at": _when(last),
            }
        case Rated(value=value, rated_at=rated_at):
            return {"rating": value, "rated_at": _when(rated_at)}
    return None


def item_as_dict(item: MediaItem) -> dict[str, Any]:
    """JSON-ready form of an item."""
    result: dict[str, Any] = {"type": item.type.value, "title": item.title, "year": item.year}
    if item.season is not None:
        result["season"] = item.season
    if item.episode is not None:
        result["episode"] = item.episode
    result["key"] = item.key
    result["ids"] = item.ids()
    if show_ids := item.show_ids():
        result["show_ids"] = show_ids
    return result


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one run would change on a pair, in a deterministic order."""

    side_names: tuple[str, str]  # display names of side A and side B
    operations: tuple[Operation, ...] = ()
    notes: tuple[Note, ...] = ()

    @classmethod
    def of(
        cls,
        side_names: tuple[str, str],
        operations: Iterable[Operation],
        notes: Iterable[Note] = (),
    ) -> Plan:
        """A plan with its operations and notes in deterministic order."""
        return cls(
            side_names,
            tuple(sorted(operations, key=Operation.sort_key)),
            tuple(
                sorted(
                    notes,
                    key=lambda n: (_FEATURE_ORDER[n.feature], n.side.value, n.reason, n.item.key),
                )
            ),
        )

    def combine(self, other: Plan) -> Plan:
        """One plan holding both plans' operations and notes (e.g. several features)."""
        return Plan.of(
            self.side_names, (*self.operations, *other.operations), (*self.notes, *other.notes)
        )

    @property
    def is_empty(self) -> bool:
        """Whether the plan changes nothing."""
        return not self.operations

    def name(self, side: PairSide) -> str:
        """Display name of a side."""
        return self.side_names[0] if side is PairSide.A else self.side_names[1]

    def counts(self) -> dict[str, dict[str, int]]:
        """Operations per side and action, plus per feature and action."""
        result: dict[str, dict[str, int]] = {}
        for op in self.operations:
            for group in (op.side.value, op.feature.value):
                bucket = result.setdefault(group, {})
                bucket[op.action.value] = bucket.get(op.action.value, 0) + 1
        return result

    def describe(self, op: Operation | Note) -> str:
        """The sentence explaining an operation or note."""
        text = message(op.reason, self.name(op.side), self.name(op.side.other))
        detail = op.evidence.detail if isinstance(op, Operation) else op.detail
        return f"{text} ({detail})" if detail else text

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """JSON-ready form; `limit` caps the operations and notes listed (not the counts)."""
        operations = self.operations if limit is None else self.operations[:limit]
        notes = self.notes if limit is None else self.notes[:limit]
        return {
            "sides": {"a": self.side_names[0], "b": self.side_names[1]},
            "counts": self.counts(),
            "note_counts": dict(sorted(Counter(n.reason.value for n in self.notes).items())),
            "operations": [
                {
                    "side": op.side.value,
                    "provider": self.name(op.side),
                    "feature": op.feature.value,
                    "action": op.action.value,
                    "item": item_as_dict(op.item),
                    "reason": op.reason.value,
                    "message": self.describe(op),
                    "match": op.match.value,
                    "evidence": op.evidence.as_dict(),
                    "payload": payload_as_dict(op.payload),
                }
                for op in operations
            ],
            "notes": [
                {
                    "side": note.side.value,
                    "provider": self.name(note.side),
                    "feature": note.feature.value,
                    "reason": note.reason.value,
                    "message": self.describe(note),
                    "item": item_as_dict(note.item),
                }
                for note in notes
            ],
            "truncated": limit is not None
            and (len(self.operations) > limit or len(self.notes) > limit),
        }

    def to_json(self, limit: int | None = None) -> str:
        """The plan as JSON text."""
        return json.dumps(self.as_dict(limit), ensure_ascii=False, sort_keys=False)
