"""A play the target's service recorded from a live scrobble, in the pair's runs.

Plex (a watched state) → Trakt (every play). Trakt records a play for a stop at 80 % or more;
the pipeline records it too (`record_scrobbled_play`), so no run sends that play a second time,
however long Trakt's reads lag. It is Trakt's own play, no copy of ours: a two-way pair never
removes it for the source's lack of it.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature, Watched
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore

from .factories import PLEX, T0, TRAKT, movie, watched, watched_state
from .fakes import FakeProvider

H = Feature.HISTORY
HEAT = movie("Heat", 1995, tmdb=949)
MATRIX = movie("The Matrix", 1999, tmdb=603)
SCROBBLED_AT = T0 + timedelta(hours=2)


async def blocking[T](function: Callable[[], T]) -> T:
    return function()


def providers() -> tuple[FakeProvider, FakeProvider]:
    plex = FakeProvider("plex:a", "Plex", replace(PLEX, features=frozenset({H})), {H: []})
    trakt = FakeProvider("trakt:b", "Trakt", replace(TRAKT, features=frozenset({H})), {H: []})
    plex.inventory[H] = [watched_state(MATRIX, 1, T0)]
    trakt.inventory[H] = [watched(MATRIX, T0)]
    return plex, trakt


def plays(provider: FakeProvider) -> int:
    return sum(
        len(e.payload.plays) for e in provider.inventory[H] if isinstance(e.payload, Watched)
    )


def pipeline(store: StateStore) -> Pipeline:
    return Pipeline(store, run_blocking=blocking, memo=SnapshotMemo(timedelta(0)), clock=lambda: T0)


def history_writes(provider: FakeProvider) -> list[tuple[Action, list[str]]]:
    return [(action, keys) for feature, action, keys in provider.batches if feature is H]


async def test_one_way_never_sends_a_scrobbled_play_again_while_trakt_reads_lag() -> None:
    plex, trakt = providers()
    spec = PairSpec("p", SyncMode.ADD_ONLY, frozenset({H}))
    with StateStore(":memory:") as store:
        runner = pipeline(store)
        await runner.run(spec, plex, trakt)  # the pair's first run founds its baselines
        # Heat played to its end: Plex counts it, Trakt recorded the scrobbled stop, and its
        # history reads do not show it yet.
        plex.inventory[H].append(watched_state(HEAT, 1, SCROBBLED_AT))
        trakt.inventory[H].append(watched(HEAT, SCROBBLED_AT))
        trakt.invisible = {HEAT.key}
        await runner.record_scrobbled_play("p", trakt, HEAT, SCROBBLED_AT)

        await runner.run(spec, plex, trakt)
        await runner.run(spec, plex, trakt)
        trakt.invisible = set()  # Trakt's reads catch up
        await runner.run(spec, plex, trakt)
        await runner.run(spec, plex, trakt)

        assert history_writes(trakt) == []
        assert plays(trakt) == 2  # The Matrix's, and Heat's from the scrobble: once
        assert store.pending(Scope("p", H, "b")) == []  # shown, so no longer awaited


async def test_two_way_never_removes_a_scrobbled_play_the_source_does_not_have() -> None:
    plex, trakt = providers()
    spec = PairSpec("p", SyncMode.TWO_WAY, frozenset({H}))
    with StateStore(":memory:") as store:
        runner = pipeline(store)
        await runner.run(spec, plex, trakt)
        # Stopped at 85 %: Trakt recorded the play, Plex did not count it.
        trakt.inventory[H].append(watched(HEAT, SCROBBLED_AT))
        await runner.record_scrobbled_play("p", trakt, HEAT, SCROBBLED_AT)

        for _ in range(3):
            await runner.run(spec, plex, trakt)

        assert [a for a, _ in history_writes(trakt)] == []  # nothing removed, nothing added
        assert plays(trakt) == 2
        # Trakt's own play is Trakt's news: carried to Plex, once.
        assert history_writes(plex) == [(Action.ADD, [HEAT.key])]
