"""History under random plays and provider faults: a play is never stored twice.

Trakt does not deduplicate: a play sent twice is two plays. So the one-way history pair here
plays rounds of new plays on the source while the target misbehaves (reads that fail, come back
truncated or stale (a hiccup that does not repeat while the engine doubts it), writes answered
with `ok: true` or shown only later, runs that crash between store writes), and after every run
the target must hold each play at most once, and only plays the source has. Once the faults
stop, two runs bring every play across.
"""

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, replace
from datetime import timedelta

from hypothesis import given, strategies as st

from custom_components.crosswatch.engine.cursor import Checkpoint
from custom_components.crosswatch.engine.items import MediaItem
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Entry, Feature, Payload, Watched
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import ProviderError, Read
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot, partial
from custom_components.crosswatch.engine.store import StateStore

from .factories import T0, TRAKT, movie
from .fakes import FakeProvider

H = Feature.HISTORY
TITLES = 6
FAULTS = ("none", "error", "truncated", "stale", "lagging", "counts_only", "crash")


def film(n: int) -> MediaItem:
    return movie(f"Film {n}", 2000 + n, tmdb=1000 + n)


class PlayLog(FakeProvider):
    """Keeps every play it is sent, duplicates included, as Trakt does; misbehaves on demand."""

    fault: str = "none"
    unseen: list[tuple[str, object]]  # plays written while lagging, not shown yet
    last_body: list[Entry]

    def _store(
        self, feature: Feature, action: Action, item: MediaItem, payload: Payload | None
    ) -> MediaItem | None:
        assert isinstance(payload, Watched)
        if self.fault == "lagging":
            self.unseen.extend((item.key, play) for play in payload.plays)
        entries = self.inventory.setdefault(feature, [])
        for index, entry in enumerate(entries):
            if entry.key == item.key:
                assert isinstance(entry.payload, Watched)
                plays = [*entry.payload.plays, *payload.plays]
                entries[index] = Entry(entry.item, Watched.from_plays(plays))
                return item
        entries.append(Entry(item, Watched.from_plays(list(payload.plays))))
        return item

    def visible(self) -> list[Entry]:
        hidden = Counter(self.unseen)
        shown = []
        for entry in self.inventory.get(H, []):
            assert isinstance(entry.payload, Watched)
            plays = []
            for play in entry.payload.plays:
                if hidden[entry.key, play]:
                    hidden[entry.key, play] -= 1
                else:
                    plays.append(play)
            if plays:
                shown.append(Entry(entry.item, Watched.from_plays(plays)))
        return shown

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        self.reads += 1
        if self.fault == "error":
            raise ProviderError("timeout in mid-pagination")
        entries = self.visible()
        completeness = Completeness(all_pages=True)
        if self.fault == "stale":  # a cached body from before our last writes
            entries = self.last_body
        elif self.fault == "truncated":
            entries, completeness = entries[: len(entries) // 2], partial("page 2 cut short")
        else:
            self.last_body = entries
        snapshot = Snapshot.build(self.name, feature, entries, completeness)
        return Read(snapshot, checkpoint)


@dataclass
class Round:
    new_plays: Sequence[tuple[int, int]]  # (title, hours after T0)
    fault: str


rounds = st.lists(
    st.builds(
        Round,
        st.lists(st.tuples(st.integers(0, TITLES - 1), st.integers(1, 500)), max_size=4),
        st.sampled_from(FAULTS),
    ),
    min_size=1,
    max_size=4,
)


def plays_of(provider: FakeProvider) -> Counter[tuple[str, object]]:
    return Counter(
        (entry.key, play)
        for entry in provider.inventory.get(H, [])
        if isinstance(entry.payload, Watched)
        for play in entry.payload.plays
    )


def add_plays(source: FakeProvider, new: Sequence[tuple[int, int]]) -> None:
    entries = {e.key: e for e in source.inventory[H]}
    for title, hours in new:
        item = film(title)
        at = T0 + timedelta(hours=hours)
        old = entries.get(item.key)
        plays = list(old.payload.plays) if old and isinstance(old.payload, Watched) else []
        if at not in plays:
            entries[item.key] = Entry(item, Watched.from_plays([*plays, at]))
    source.inventory[H] = list(entries.values())


async def play(initial: Sequence[tuple[int, int]], plan_rounds: list[Round]) -> None:
    with StateStore(":memory:") as store:
        caps = replace(TRAKT, batch_size=2, features=frozenset({H}))
        source = FakeProvider("source:a", "Source", caps, {H: []})
        target = PlayLog("trakt:b", "Trakt", caps, {H: []})
        target.unseen, target.last_body = [], []
        add_plays(source, initial)
        crash = {"armed": False, "calls": 0}

        async def blocking[T](function: Callable[[], T]) -> T:
            crash["calls"] += 1
            if crash["armed"] and crash["calls"] % 5 == 0:
                raise asyncio.CancelledError  # the run dies between two store writes
            return function()

        clock = [T0 + timedelta(days=30)]
        runner = Pipeline(
            store, run_blocking=blocking, memo=SnapshotMemo(timedelta(0)), clock=lambda: clock[0]
        )
        spec = PairSpec("p", SyncMode.ADD_ONLY, frozenset({H}))

        async def run() -> None:
            clock[0] += timedelta(hours=1)
            with contextlib.suppress(asyncio.CancelledError):
                await runner.run(spec, source, target)
            stored = plays_of(target)
            # No play is ever stored twice, and none is invented.
            assert all(count == 1 for count in stored.values()), stored
            assert set(stored) <= set(plays_of(source))

        await run()
        for round_ in plan_rounds:
            add_plays(source, round_.new_plays)
            # A stale body is a hiccup: while the engine still doubts what the last one lost, a
            # second one would be the agreeing read it waits for (see docs/engine.md).
            suspected = store.shrink_suspicion(Scope("p", H, "b")) is not None
            target.fault = "none" if round_.fault == "stale" and suspected else round_.fault
            target.answer_counts_only = round_.fault == "counts_only"
            crash["armed"] = round_.fault == "crash"
            await run()
        # The faults stop and what lagged shows: two runs later every play is across, and a
        # third run writes nothing, except for what the store reports as still unverified.
        target.fault, target.answer_counts_only, crash["armed"] = "none", False, False
        target.unseen = []
        await run()
        await run()
        writes = len(target.batches)
        await run()
        assert len(target.batches) == writes, "the pair still churns"
        reported = {w.item.key for w in store.pending(Scope("p", H, "b"))}
        missing = {key for key, _ in plays_of(source) - plays_of(target)}
        assert missing <= reported, (missing, reported)


@given(
    st.lists(st.tuples(st.integers(0, TITLES - 1), st.integers(1, 500)), max_size=6),
    rounds,
)
def test_history_under_faults_never_stores_a_play_twice_and_converges(
    initial: list[tuple[int, int]], plan_rounds: list[Round]
) -> None:
    loop = asyncio.new_event_loop()  # see test_pipeline_faults.py: never asyncio.run()
    try:
        loop.run_until_complete(play(initial, plan_rounds))
    finally:
        loop.close()
