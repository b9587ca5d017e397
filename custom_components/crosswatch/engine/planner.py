"""The planner: a pure function from two sides' snapshots and baselines to an explainable plan.

Rules every plan obeys, whatever the mode:
- Items match on a shared external-id token (strong) or, failing that, on type, normalized title
  and year (weak). A weak match is noted in the plan and never justifies a removal.
- A removal needs evidence: the side that lost the item was read completely, the item was in the
  baseline (so this is not a first run), and the link between the two copies is strong.
- Absence from a partial read means nothing: the baseline stands in for what it did not reach.

Modes (side A is the source in the one-way modes):
- add_only: add to B what A has and B lacks; never remove.
- source_deletes: also remove from B what was removed from A since the baseline, where B had it
  at that baseline.
- mirror: also remove from B whatever A does not have (opt-in).
- two_way: adds propagate both ways; a removal on one side propagates when the item was in both
  sides' baselines; concurrent rating changes resolve to the newest.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .capabilities import Capabilities
from .history import missing_plays
from .items import MatchTier, weak_key
from .payloads import Entry, Feature, Payload, Rated, Watched
from .plan import Action, Evidence, Note, Operation, PairSide, Plan, Reason, Seen
from .ratings import same_rating
from .snapshot import Snapshot, effective_view


class SyncMode(StrEnum):
    """How a pair propagates changes."""

    ADD_ONLY = "add_only"
    SOURCE_DELETES = "source_deletes"
    MIRROR = "mirror"
    TWO_WAY = "two_way"


@dataclass(frozen=True, slots=True)
class PairPolicy:
    """How a pair syncs."""

    mode: SyncMode = SyncMode.ADD_ONLY


@dataclass(frozen=True, slots=True)
class SideState:
    """One side of a pair for one feature: what it holds now and what it held after the last run."""

    name: str
    capabilities: Capabilities
    snapshot: Snapshot
    baseline: Snapshot | None = None


def plan_feature(policy: PairPolicy, a: SideState, b: SideState) -> Plan:
    """Plan one feature of a pair. Pure: no I/O, no clock, same inputs give the same plan."""
    if a.snapshot.feature is not b.snapshot.feature:
        raise ValueError("both sides must be snapshots of the same feature")
    return _Planner(policy, a, b).run()


@dataclass(slots=True)
class _Side:
    position: PairSide
    state: SideState
    view: Snapshot
    # Weak index over baseline entries that are gone from the current view: the only baseline
    # entries a weak lookup can concern, since present ones match the view directly.
    departed: dict[str, Entry] | None = None

    @property
    def capabilities(self) -> Capabilities:
        return self.state.capabilities

    @property
    def baseline(self) -> Snapshot | None:
        return self.state.baseline

    def in_baseline(self, entry: Entry, *, same_side: bool) -> MatchTier:
        """Whether this side's baseline held `entry`, and how surely."""
        baseline = self.state.baseline
        if baseline is None:
            return MatchTier.NONE
        if baseline.find(entry.item, include_local=same_side) is not None:
            return MatchTier.STRONG
        if self.departed is None:
            view, entries = self.view, self.view.entries
            self.departed = {
                weak_key(old.item): old
                for old in baseline.entries.values()
                # The key lookup settles almost every entry; find() covers re-keyed ones.
                if old.key not in entries and view.find(old.item, include_local=True) is None
            }
        return MatchTier.WEAK if weak_key(entry.item) in self.departed else MatchTier.NONE

    def seen_in_baseline(self, entry: Entry, *, same_side: bool) -> Seen:
        if self.state.baseline is None:
            return Seen.NO_BASELINE
        tier = self.in_baseline(entry, same_side=same_side)
        return Seen.ABSENT if tier is MatchTier.NONE else Seen.PRESENT


class _Planner:
    """Working state of one planning call; the public surface is `plan_feature`."""

    def __init__(self, policy: PairPolicy, a: SideState, b: SideState) -> None:
        self.mode = policy.mode
        self.feature = a.snapshot.feature
        self.a = _Side(PairSide.A, a, effective_view(a.snapshot, a.baseline))
        self.b = _Side(PairSide.B, b, effective_view(b.snapshot, b.baseline))
        self.operations: list[Operation] = []
        self.notes: list[Note] = []

    def run(self) -> Plan:
        matcher = _Matcher(self.a.view, self.b.view)
        for entry_a, entry_b, tier in matcher.pairs():
            if tier is MatchTier.WEAK:
                self._note(self.b, Reason.WEAK_MATCH, entry_b)
            if self.feature is Feature.HISTORY:
                self._reconcile_history(entry_a, entry_b, tier)
            elif self.feature is Feature.RATINGS:
                self._reconcile_rating(entry_a, entry_b, tier)
        for entry in matcher.only_a:
            if self.mode is SyncMode.TWO_WAY:
                self._only_on_one_side_two_way(self.a, entry, self.b)
            else:
                self._only_on_source(entry)
        for entry in matcher.only_b:
            if self.mode is SyncMode.TWO_WAY:
                self._only_on_one_side_two_way(self.b, entry, self.a)
            else:
                self._only_on_target(entry)
        names = (self.a.state.name, self.b.state.name)
        return Plan.of(names, self.operations, self.notes)

    # -- recording decisions ------------------------------------------------------------------

    def _evidence(self, entry_a: Entry, entry_b: Entry, detail: str = "") -> Evidence:
        """Evidence for a decision about an item both sides hold."""
        return Evidence(
            a=Seen.PRESENT,
            b=Seen.PRESENT,
            baseline_a=self.a.seen_in_baseline(entry_a, same_side=True),
            baseline_b=self.b.seen_in_baseline(entry_b, same_side=True),
            a_complete=self.a.view.complete,
            b_complete=self.b.view.complete,
            detail=detail,
        )

    def _op(
        self,
        target: _Side,
        action: Action,
        entry: Entry,
        *,
        reason: Reason,
        tier: MatchTier,
        evidence: Evidence,
        payload: Payload | None = None,
    ) -> None:
        self.operations.append(
            Operation(
                target.position, self.feature, action, entry.item, reason, tier, evidence, payload
            )
        )

    def _note(self, side: _Side, reason: Reason, entry: Entry) -> None:
        self.notes.append(Note(side.position, self.feature, reason, entry.item))

    def _evidence_for(self, holder: _Side, entry: Entry) -> Evidence:
        """Evidence for a decision about an item only `holder` holds."""
        on_a = holder.position is PairSide.A
        return Evidence(
            a=Seen.PRESENT if on_a else Seen.ABSENT,
            b=Seen.ABSENT if on_a else Seen.PRESENT,
            baseline_a=self.a.seen_in_baseline(entry, same_side=on_a),
            baseline_b=self.b.seen_in_baseline(entry, same_side=not on_a),
            a_complete=self.a.view.complete,
            b_complete=self.b.view.complete,
        )

    def _add(self, source: _Side, entry: Entry, target: _Side, reason: Reason) -> None:
        """Add `entry` from `source` to `target`, in the form the target can hold."""
        if not entry.item.has_external_ids:
            self._note(target, Reason.NO_EXTERNAL_IDS, entry)
            return
        payload = entry.payload
        if isinstance(payload, Watched):
            target_history = target.capabilities.history
            plays = missing_plays(payload, source.capabilities.history, None, target_history)
            payload = _watched(plays, payload)
            if payload.last_watched_at and not target_history.sets_watched_at:
                self._note(target, Reason.WATCHED_DATE_NOT_KEPT, entry)
        self._op(
            target,
            Action.ADD,
            entry,
            reason=reason,
            tier=MatchTier.NONE,
            evidence=self._evidence_for(source, entry),
            payload=payload,
        )

    def _remove(self, holder: _Side, entry: Entry, reason: Reason) -> None:
        self._op(
            holder,
            Action.REMOVE,
            entry,
            reason=reason,
            tier=MatchTier.STRONG,
            evidence=self._evidence_for(holder, entry),
        )

    # -- items on both sides ------------------------------------------------------------------

    def _reconcile_history(self, entry_a: Entry, entry_b: Entry, tier: MatchTier) -> None:
        directions = [(self.a, entry_a, self.b, entry_b)]
        if self.mode is SyncMode.TWO_WAY:
            directions.append((self.b, entry_b, self.a, entry_a))
        for source, source_entry, target, target_entry in directions:
            source_watched, target_watched = source_entry.payload, target_entry.payload
            if not isinstance(source_watched, Watched) or not isinstance(target_watched, Watched):
                raise TypeError("history snapshots hold Watched payloads")
            plays = missing_plays(
                source_watched,
                source.capabilities.history,
                target_watched,
                target.capabilities.history,
            )
            if plays is None:
                continue
            self._op(
                target,
                Action.ADD,
                target_entry,
                reason=Reason.PLAYS_MISSING,
                tier=tier,
                evidence=self._evidence(entry_a, entry_b, f"{len(plays) or 1} play(s) to add"),
                payload=_watched(plays, source_watched),
            )

    def _reconcile_rating(self, entry_a: Entry, entry_b: Entry, tier: MatchTier) -> None:
        a, b = self.a, self.b
        rated_a, rated_b = entry_a.payload, entry_b.payload
        if not isinstance(rated_a, Rated) or not isinstance(rated_b, Rated):
            raise TypeError("rating snapshots hold Rated payloads")
        scale_a, scale_b = a.capabilities.rating_scale, b.capabilities.rating_scale
        if same_rating(rated_a.value, rated_b.value, scale_a, scale_b):
            return
        detail = f"{a.state.name}: {rated_a.value:g}, {b.state.name}: {rated_b.value:g}"
        evidence = self._evidence(entry_a, entry_b, detail)

        def update(side: _Side, entry: Entry, reason: Reason, value: Rated) -> None:
            self._op(
                side,
                Action.UPDATE,
                entry,
                reason=reason,
                tier=tier,
                evidence=evidence,
                payload=value,
            )

        if self.mode is not SyncMode.TWO_WAY:
            update(b, entry_b, Reason.RATING_DIFFERS_FROM_SOURCE, rated_a)
            return
        changed_a = _rating_changed(a, entry_a, rated_a)
        if changed_a != _rating_changed(b, entry_b, rated_b):
            # Only one side changed since the last sync: that change propagates.
            if changed_a:
                update(b, entry_b, Reason.RATING_CHANGED_ON_OTHER_SIDE, rated_a)
            else:
                update(a, entry_a, Reason.RATING_CHANGED_ON_OTHER_SIDE, rated_b)
            return
        # Both changed, or there is no baseline: the newest rating wins. A dated rating beats an
        # undated one; with no dates at all side A wins, so that the pair still converges.
        if _newer_or_equal(rated_a.rated_at, rated_b.rated_at):
            loser, loser_entry, lost, value = b, entry_b, rated_b, rated_a
        else:
            loser, loser_entry, lost, value = a, entry_a, rated_a, rated_b
        update(loser, loser_entry, Reason.RATING_NEWER_ON_OTHER_SIDE, value)
        self._op(
            loser,
            Action.CONFLICT,
            loser_entry,
            reason=Reason.RATING_CONFLICT_LOST,
            tier=tier,
            evidence=evidence,
            payload=lost,
        )

    # -- items on one side only ---------------------------------------------------------------

    def _only_on_source(self, entry: Entry) -> None:
        """One-way: the source (A) has it, the target (B) does not."""
        source, target = self.a, self.b
        removed_on_target = target.in_baseline(entry, same_side=False) is not MatchTier.NONE
        gained_on_source = (
            source.baseline is not None
            and source.in_baseline(entry, same_side=True) is MatchTier.NONE
        )
        if removed_on_target and self.mode is not SyncMode.MIRROR and not gained_on_source:
            # The target had it at the last sync and no longer does: the user removed it there,
            # and only a mirror puts it back. Unless the source gained it since (the user added
            # it there as it went from the target): that add is news, and keeping loses nothing.
            self._note(target, Reason.REMOVED_ON_TARGET_KEPT_REMOVED, entry)
            return
        self._add(source, entry, target, Reason.MISSING_ON_TARGET)

    def _only_on_target(self, entry: Entry) -> None:
        """One-way: the target (B) has it, the source (A) does not."""
        source, target = self.a, self.b
        if self.mode is SyncMode.ADD_ONLY:
            return
        if not source.view.complete:
            self._note(target, Reason.SNAPSHOT_PARTIAL_NO_REMOVALS, entry)
            return
        if source.baseline is None:
            self._note(target, Reason.FIRST_RUN_NO_REMOVALS, entry)
            return
        if self.mode is SyncMode.MIRROR:
            if entry.item.has_external_ids:
                self._remove(target, entry, Reason.NOT_ON_SOURCE)
            else:
                self._note(target, Reason.WEAK_LINK_NO_REMOVAL, entry)
            return
        # source_deletes: only what the source had at the baseline, where the target had it too.
        on_source_before = source.in_baseline(entry, same_side=False)
        on_target_before = target.in_baseline(entry, same_side=True)
        if MatchTier.NONE in (on_source_before, on_target_before):
            return
        weak = MatchTier.WEAK in (on_source_before, on_target_before)
        if weak or not entry.item.has_external_ids:
            self._note(target, Reason.WEAK_LINK_NO_REMOVAL, entry)
            return
        self._remove(target, entry, Reason.REMOVED_FROM_SOURCE)

    def _only_on_one_side_two_way(self, holder: _Side, entry: Entry, other: _Side) -> None:
        """Two-way: `holder` has the item and `other` does not."""
        on_other_before = other.in_baseline(entry, same_side=False)
        on_holder_before = holder.in_baseline(entry, same_side=True)
        if on_other_before is MatchTier.NONE:
            # The other side never had it (or this is the first run): an add.
            new_here = holder.baseline is not None and on_holder_before is MatchTier.NONE
            reason = Reason.ADDED_ON_OTHER_SIDE if new_here else Reason.MISSING_ON_TARGET
            self._add(holder, entry, other, reason)
        elif not other.view.complete:
            self._note(holder, Reason.SNAPSHOT_PARTIAL_NO_REMOVALS, entry)
        elif on_holder_before is MatchTier.NONE:
            # The other side dropped it, but this side did not hold it at the last sync (or has
            # no sync yet): it gained the item as the other lost it. The removal rule needs both
            # baselines; keeping it loses nothing, removing it could undo the user's new add.
            self._add(holder, entry, other, Reason.ADDED_ON_OTHER_SIDE)
        elif (
            MatchTier.WEAK in (on_other_before, on_holder_before) or not entry.item.has_external_ids
        ):
            self._note(holder, Reason.WEAK_LINK_NO_REMOVAL, entry)
        else:
            self._remove(holder, entry, Reason.REMOVED_ON_OTHER_SIDE)


class _Matcher:
    """Pairs A's entries with B's: strongly by shared token, then weakly by title among the rest.

    `pairs()` yields pairs as it finds them rather than building a list: at a million items a
    list of pairs costs more memory than the planning itself. `only_a` and `only_b` are filled
    once `pairs()` is exhausted.
    """

    def __init__(self, a: Snapshot, b: Snapshot) -> None:
        self.a, self.b = a, b
        self.only_a: list[Entry] = []
        self.only_b: list[Entry] = []

    def pairs(self) -> Iterator[tuple[Entry, Entry, MatchTier]]:
        a, b = self.a, self.b
        unmatched_a: list[Entry] = []
        matched_b: set[str] = set()
        b_entries, b_alias = b.entries, b.aliases.get
        for entry_a in a.entries.values():
            entry_b = None
            for text in entry_a.item.tokens:  # b.find(), inlined: this runs once per item
                entry_b = b_entries.get(text)
                if entry_b is not None:
                    break
                key = b_alias(text)
                if key is not None:
                    entry_b = b_entries[key]
                    break
            if entry_b is None:
                unmatched_a.append(entry_a)
            elif entry_b.key not in matched_b:
                matched_b.add(entry_b.key)
                yield entry_a, entry_b, MatchTier.STRONG
            # else: a second copy on A of an item B holds once; the first copy speaks for both.
        # Weak matching pairs entries in key order, so that ties never depend on read order.
        unmatched_a.sort(key=_by_key)
        # A B entry sharing a token with an A entry is a second copy of an item A holds (its
        # first copy took the pair): it is neither missing on A nor a candidate for removal.
        rest_b = sorted(
            (e for k, e in b_entries.items() if k not in matched_b and a.find(e.item) is None),
            key=_by_key,
        )
        by_title: dict[str, list[Entry]] = {}
        if unmatched_a:
            for entry_b in rest_b:
                by_title.setdefault(weak_key(entry_b.item), []).append(entry_b)
        for entry_a in unmatched_a:
            candidates = by_title.get(weak_key(entry_a.item)) if by_title else None
            if candidates:
                entry_b = candidates.pop(0)
                matched_b.add(entry_b.key)
                yield entry_a, entry_b, MatchTier.WEAK
            else:
                self.only_a.append(entry_a)
        self.only_b = [entry for entry in rest_b if entry.key not in matched_b]


def _by_key(entry: Entry) -> str:
    return entry.key


def _watched(plays: tuple[datetime, ...] | None, source: Watched) -> Watched:
    """The history to write: the missing plays, or a watched state dated like the source."""
    if plays:
        return Watched.from_plays(plays)
    return Watched.from_state(1, source.last_watched_at)


def _rating_changed(side: _Side, entry: Entry, current: Rated) -> bool:
    """Whether this side's rating differs from what its baseline recorded (no baseline: yes)."""
    if side.baseline is None:
        return True
    before = side.baseline.find(entry.item, include_local=True)
    if before is None or not isinstance(before.payload, Rated):
        return True
    scale = side.capabilities.rating_scale
    return not same_rating(before.payload.value, current.value, scale, scale)


def _newer_or_equal(first: datetime | None, second: datetime | None) -> bool:
    if first is None or second is None:
        return second is None
    return first >= second
