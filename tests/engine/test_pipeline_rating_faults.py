"""Ratings under random edits on both sides and provider faults (see test_pipeline_faults.py).

A two-way ratings pair plays rounds of rating changes and unratings on either side while the
providers misbehave. After every run: removals stay within the budget and only follow a user's
unrating on the other side. Once the faults stop, the sides agree on every rating, except
what the store reports.
"""

import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, replace
from datetime import timedelta

from hypothesis import given, strategies as st

from custom_components.crosswatch.engine.guards import delete_budget
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Entry, Feature, Rated
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.ratings import same_rating
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore

from .factories import SIMKL, T0, TRAKT, movie
from .test_pipeline_faults import FAULTS, FaultyProvider, apply_faults, settle_hiccups

R = Feature.RATINGS
TITLES = 10


@dataclass
class Edit:
    side: str
    title: int
    value: int | None  # None: the user removes the rating


@dataclass
class Round:
    edits: Sequence[Edit]
    fault_a: str
    fault_b: str


rounds = st.lists(
    st.builds(
        Round,
        st.lists(
            st.builds(
                Edit,
                st.sampled_from(("a", "b")),
                st.integers(0, TITLES - 1),
                st.one_of(st.none(), st.integers(1, 10)),
            ),
            max_size=4,
        ),
        st.sampled_from(FAULTS),
        st.sampled_from(FAULTS),
    ),
    min_size=1,
    max_size=3,
)


def rating(title: int, value: int, hours: float) -> Entry:
    item = movie(f"Film {title}", 2000 + title, tmdb=1000 + title)
    return Entry(item, Rated(float(value), T0 + timedelta(hours=hours)))


def ratings(side: FaultyProvider) -> dict[str, float]:
    return {
        e.key: e.payload.value for e in side.inventory.get(R, []) if isinstance(e.payload, Rated)
    }


async def play(initial: dict[int, int], plan_rounds: list[Round]) -> None:
    with StateStore(":memory:") as store:
        sides = {}
        for name, key, base in (("a", "trakt:a", TRAKT), ("b", "simkl:b", SIMKL)):
            caps = replace(base, batch_size=2, features=frozenset({R}))
            side = FaultyProvider(key, name.upper(), caps, {R: []})
            side.inventory[R] = [rating(t, v, 0) for t, v in initial.items()]
            side.hidden = set()
            sides[name] = side
        crash = {"armed": False, "calls": 0}

        async def blocking[T](function: Callable[[], T]) -> T:
            crash["calls"] += 1
            if crash["armed"] and crash["calls"] % 7 == 0:
                raise asyncio.CancelledError
            return function()

        clock = [T0]
        runner = Pipeline(
            store, run_blocking=blocking, memo=SnapshotMemo(timedelta(0)), clock=lambda: clock[0]
        )
        spec = PairSpec("p", SyncMode.TWO_WAY, frozenset({R}))

        async def run() -> None:
            clock[0] += timedelta(hours=1)
            with contextlib.suppress(asyncio.CancelledError):
                await runner.run(spec, sides["a"], sides["b"])
            settle_hiccups(store, spec.pair, R, **sides)

        await run()
        unrated: dict[str, set[str]] = {"a": set(), "b": set()}
        for number, round_ in enumerate(plan_rounds, start=1):
            for edit in round_.edits:
                side = sides[edit.side]
                entry = rating(edit.title, edit.value or 1, number)
                rest = [e for e in side.inventory[R] if e.key != entry.key]
                if edit.value is None and len(rest) < len(side.inventory[R]):
                    unrated[edit.side].add(entry.key)
                side.inventory[R] = rest if edit.value is None else [*rest, entry]
            sizes = {name: len(side.inventory[R]) for name, side in sides.items()}
            apply_faults(sides["a"], round_.fault_a)
            apply_faults(sides["b"], round_.fault_b)
            crash["armed"] = "crash" in (round_.fault_a, round_.fault_b)
            before = {name: len(side.batches) for name, side in sides.items()}
            await run()
            for name, side in sides.items():
                removed = [
                    k
                    for _, action, ks in side.batches[before[name] :]
                    if action is Action.REMOVE
                    for k in ks
                ]
                assert len(removed) <= delete_budget(sizes[name], spec.guards)
                other = "b" if name == "a" else "a"
                assert set(removed) <= unrated[other], (removed, unrated)
        for side in sides.values():
            apply_faults(side, "none")
        crash["armed"] = False
        await run()
        await run()
        writes = sum(len(side.batches) for side in sides.values())
        await run()
        assert sum(len(side.batches) for side in sides.values()) == writes, "still churning"
        reported = {h.operation.item.key for h in store.held("p")}
        for name in ("a", "b"):
            scope = Scope("p", R, name)
            reported |= {w.item.key for w in store.pending(scope)}
            reported |= {t.item.key for t in store.tombstones(scope, clock[0])}
        a, b = ratings(sides["a"]), ratings(sides["b"])
        disagree = {
            key
            for key in a.keys() | b.keys()
            if key not in a
            or key not in b
            or not same_rating(a[key], b[key], TRAKT.rating_scale, SIMKL.rating_scale)
        }
        assert disagree <= reported, (a, b, reported)


@given(st.dictionaries(st.integers(0, TITLES - 1), st.integers(1, 10), min_size=1), rounds)
def test_ratings_under_faults_never_over_delete_and_agree_once_faults_stop(
    initial: dict[int, int], plan_rounds: list[Round]
) -> None:
    loop = asyncio.new_event_loop()  # see test_pipeline_faults.py: never asyncio.run()
    try:
        loop.run_until_complete(play(initial, plan_rounds))
    finally:
        loop.close()
