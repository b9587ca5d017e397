"""What the user did, and what that allows the engine to do: the harness's model of the promises.

The ledger records the user's own edits and, after every step, what each side truly holds. An
item that vanished from a side is explained only by the user: a removal on that side, a removal
on a side whose removals the pair's mode carries there (two-way, source_deletes), or, for a
mirror target, the source lacking the item. Anything else is a removal without evidence.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from custom_components.crosswatch.engine.items import MediaItem
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import PairSide
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore

from .catalogue import ANIME_LOOKUP, FILM_LOOKUP, Lookup
from .services import Svc
from .setups import PairDef, Setup

# Runs a removal may take to reach the other side: read (doubted), confirmed, then carried.
RUNS_TO_CARRY_A_REMOVAL = 2


@dataclass(frozen=True, slots=True)
class Edit:
    """One edit the user made on a side: `window` counts the run steps before it."""

    side: Svc
    index: int
    add: bool
    window: int


@dataclass
class Ledger:
    """The user's edits, and what each side held at the last step."""

    setup: Setup
    titles: int
    present: dict[Svc, set[int]]
    edits: list[Edit] = field(default_factory=list)  # net changes, one per window and side
    opened: dict[tuple[Svc, int], bool] = field(default_factory=dict)  # held at window start
    latest: dict[tuple[Svc, int], bool] = field(default_factory=dict)  # held after last edit
    user_removed: dict[Svc, set[int]] = field(default_factory=dict)
    explained_losses: dict[Svc, set[int]] = field(default_factory=dict)
    ever_absent: dict[Svc, set[int]] = field(default_factory=dict)
    # Per pair and side: the first window whose run found the side with a baseline (read or not).
    # Edits before it are part of what the pair's first sync found, not changes it can see.
    founded: dict[tuple[str, Svc], int] = field(default_factory=dict)
    # Per pair and side: the epochs (below) whose reading run went on with a read that lied.
    lied: dict[tuple[str, Svc], set[int]] = field(default_factory=dict)
    # Per pair: the runs that read its sides, counted. A run that failed to read (or raised)
    # leaves its window's edits to the next, so edits of both windows are one change to it.
    epoch: dict[str, int] = field(default_factory=dict)
    epochs: dict[str, dict[int, int]] = field(default_factory=dict)  # window -> epoch
    # Per pair and side: the titles each epoch's read showed otherwise than the side held them.
    # An edit of such a title reached the engine only with a later read (see `_epoch`).
    misread: dict[tuple[str, Svc], dict[int, frozenset[int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        everything = set(range(self.titles))
        for side in self.setup.sides:
            self.user_removed.setdefault(side, set())
            self.explained_losses.setdefault(side, set())
            self.ever_absent.setdefault(side, everything - self.present[side])

    @property
    def lookup(self) -> Lookup:
        return ANIME_LOOKUP if self.setup.anime else FILM_LOOKUP

    def record(self, side: Svc, index: int, *, add: bool) -> None:
        """The user edited a side: listed (`add`) or unlisted a title there."""
        self.opened.setdefault((side, index), not add)
        self.latest[(side, index)] = add
        if not add:
            self.user_removed[side].add(index)

    def close_window(self, window: int) -> None:
        """A run is about to read: the window's edits become net changes, one per title and side.

        An add and a removal of one title between two runs cancel out: no run could see them,
        so they express no intent the engine could carry.
        """
        for key, held_before in sorted(self.opened.items()):
            if self.latest[key] != held_before:
                self.edits.append(Edit(key[0], key[1], self.latest[key], window))
        self.opened.clear()
        self.latest.clear()

    def saw_run(
        self,
        pair: PairDef,
        window: int,
        *,
        read: bool,
        founded: Iterable[Svc] = (),
        lied: Iterable[Svc] = (),
        misread: Mapping[Svc, frozenset[int]] | None = None,
    ) -> None:
        """A run of `pair` after `window`'s edits: did it read, which sides had a baseline, lied.

        A side that had a baseline when the run began had it before the window's edits, so the
        run that reads them sees them as changes, whether or not this one got to read.
        """
        now = self.epoch.get(pair.name, 0)
        self.epochs.setdefault(pair.name, {}).setdefault(window, now)
        for side in founded:
            self.founded.setdefault((pair.name, side), window)
        if not read:
            return
        self.epoch[pair.name] = now + 1
        for side, titles in (misread or {}).items():
            self.misread.setdefault((pair.name, side), {})[now] = titles
        for side in lied:
            self.lied.setdefault((pair.name, side), set()).add(now)

    def _epoch(self, pair: PairDef, edit: Edit) -> int:
        """The run of the pair that read `edit` (counted as in `epoch`).

        A read that showed the title otherwise than the side held it (a stale cache, a lie)
        did not read the edit: the first later read that showed it right did.
        """
        epoch = self.epochs.get(pair.name, {}).get(edit.window, self.epoch.get(pair.name, 0))
        misread = self.misread.get((pair.name, edit.side), {})
        while edit.index in misread.get(epoch, frozenset()):
            epoch += 1
        return epoch

    def _seen(self, pair: PairDef, edit: Edit) -> bool:
        """Whether the pair could see `edit` as a change: its side had a baseline by then."""
        since = self.founded.get((pair.name, edit.side))
        return since is not None and since <= edit.window

    def _hidden_by_a_lie(self, pair: PairDef, removal: Edit, title: list[Edit]) -> bool:
        """Whether a side's reads lied about the title before `removal` reached the other.

        A read that hides the other side's copy (ours, just written, or the user's), and a
        later one that shows it again, look to the engine exactly like the user removing and
        adding it there; it reads them so, since keeping loses nothing. A read that hid the
        removing side's own copy before the removal (a first read founding a baseline on a
        short list) leaves nothing for the removal to be seen against. Either way the removal
        may be undone, so either outcome is right. `title` is every edit of the title, in
        order: a lie counts from the edit before the removal (or the start) until the removal
        could have been carried. An edit of the other side counts only if a run read it before
        the run that read the removal: otherwise it was never copied to the removing side (in
        the removal's own window, or hidden from the engine by a misread until then), so it made
        no part of what the removal removed.
        """
        read_with_removal = self._epoch(pair, removal)
        before = [
            e
            for e in title[: title.index(removal)]
            if (e.side is removal.side and e.window <= removal.window)
            or (e.side is not removal.side and self._epoch(pair, e) < read_with_removal)
        ]
        since = self._epoch(pair, before[-1]) if before else 0
        until = self._epoch(pair, removal) + RUNS_TO_CARRY_A_REMOVAL
        lied = self.lied.get((pair.name, pair.a), set()) | self.lied.get((pair.name, pair.b), set())
        return any(since <= e <= until for e in lied)

    def may_lose(self, side: Svc, index: int) -> bool:
        """Whether the user's edits explain `side` losing the title."""
        if index in self.user_removed[side]:
            return True
        for pair in self.setup.pairs:
            for source in pair.removal_sources(side):
                if index in self.user_removed[source] or index in self.explained_losses[source]:
                    return True
            mirrored = pair.mirrors_onto(side)
            if mirrored is not None and index in self.ever_absent[mirrored]:
                return True
        return False

    def observe(self, holds: dict[Svc, set[int]]) -> dict[Svc, set[int]]:
        """Take in what every side holds now; returns the losses nothing the user did explains."""
        everything = set(range(self.titles))
        for side, now in holds.items():
            self.ever_absent[side] |= everything - now
        lost = {side: self.present[side] - holds[side] for side in holds}
        # Losses explain each other along the pairs (SIMKL → Trakt → Jellyfin): to a fixed point.
        changed = True
        while changed:
            changed = False
            for side, items in lost.items():
                for index in sorted(items - self.explained_losses[side]):
                    if self.may_lose(side, index):
                        self.explained_losses[side].add(index)
                        changed = True
        self.present = {side: set(now) for side, now in holds.items()}
        return {
            side: unexplained
            for side, items in lost.items()
            if (unexplained := items - self.explained_losses[side])
        }

    def index(self, item: MediaItem) -> int | None:
        """The catalogue position of an engine item."""
        return self.lookup.index(item)

    def indexes(self, items: Iterable[MediaItem]) -> set[int]:
        return {i for item in items if (i := self.index(item)) is not None}

    def excused(self, store: StateStore, pair: PairDef) -> set[int]:
        """Titles the store reports as not settled: pending or phantom writes, held, unresolved."""
        items: list[MediaItem] = [h.operation.item for h in store.held(pair.name)]
        items += [u.item for u in store.unresolved(pair.name)]
        for side in PairSide:
            items += [w.item for w in store.pending(Scope(pair.name, pair.feature, side.value))]
        return self.indexes(items)

    def tombstoned(self, store: StateStore, pair: PairDef, now: object) -> set[int]:
        """Titles with a live tombstone on either side of the pair."""
        from datetime import datetime  # noqa: PLC0415

        assert isinstance(now, datetime)
        items = [
            t.item
            for side in PairSide
            for t in store.tombstones(Scope(pair.name, pair.feature, side.value), now)
        ]
        return self.indexes(items)

    def expectations(self, pair: PairDef) -> dict[int, bool]:
        """Per title, whether both sides must hold it once healed, by the user's latest edit.

        Two-way: the latest edit on either side decides, unless the other side was edited the
        other way within the same window between two runs (a true conflict: either outcome is
        fine). Source_deletes: a removal on the source must reach the target, unless the user
        edited that title on the target as late. Mirror: the target must equal the source,
        which the agreement check already asks.
        """
        expected: dict[int, bool] = {}
        if pair.mode is SyncMode.MIRROR:
            return expected
        for index in range(self.titles):
            on_a = self._edits(pair, pair.a, index)
            on_b = self._edits(pair, pair.b, index)
            if pair.mode is SyncMode.TWO_WAY:
                edits = sorted(on_a + on_b, key=self.edits.index)
                if not edits:
                    continue
                last = edits[-1]
                read_with_last = self._epoch(pair, last)
                if any(
                    self._epoch(pair, e) == read_with_last
                    and e.side is not last.side
                    and e.add != last.add
                    for e in edits
                ):
                    continue
                if not last.add and self._hidden_by_a_lie(pair, last, edits):
                    continue
                expected[index] = last.add
            elif (
                pair.mode is SyncMode.SOURCE_DELETES
                and on_a
                and not on_a[-1].add
                and (not on_b or self._epoch(pair, on_b[-1]) < self._epoch(pair, on_a[-1]))
                and not self._hidden_by_a_lie(
                    pair, on_a[-1], sorted(on_a + on_b, key=self.edits.index)
                )
            ):
                expected[index] = False
        return expected

    def _edits(self, pair: PairDef, side: Svc, index: int) -> list[Edit]:
        """The edits of one title on one side that the pair could see as changes.

        Edits one read saw together are one net change: a listing and an unlisting that no
        read told apart cancel out, as they do within one window (`close_window`).
        """
        seen = [
            e for e in self.edits if e.index == index and e.side is side and self._seen(pair, e)
        ]
        by_read: dict[int, list[Edit]] = {}
        for edit in seen:
            by_read.setdefault(self._epoch(pair, edit), []).append(edit)
        # Each edit toggles the title, so an even number of them changes nothing.
        return [group[-1] for group in by_read.values() if len(group) % 2]

    def kept_off_target(self, pair: PairDef) -> set[int]:
        """One-way pairs: titles the user last removed on the target, which stay removed there.

        Every one-way mode but mirror respects a removal made on the target: the source's copy,
        held all along, does not bring it back.
        """
        if pair.mode not in (SyncMode.ADD_ONLY, SyncMode.SOURCE_DELETES):
            return set()
        kept: set[int] = set()
        for index in range(self.titles):
            on_b = self._edits(pair, pair.b, index)
            on_a = self._edits(pair, pair.a, index)
            if (
                on_b
                and not on_b[-1].add
                and (not on_a or self._epoch(pair, on_a[-1]) < self._epoch(pair, on_b[-1]))
            ):
                kept.add(index)
        return kept

    def feature(self, pair: PairDef) -> Feature:
        return pair.feature
