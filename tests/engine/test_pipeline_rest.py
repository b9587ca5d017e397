"""A run ends with its providers at rest: what they keep until the next run, held compactly.

Home Assistant keeps providers loaded between runs; one that implements `Rests` is told when a
run of a pair it serves has ended, however the run ended, and only then (issue 16).
"""

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import Pipeline
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import ProviderError, Rests
from custom_components.crosswatch.engine.runs import PairSpec, RunStatus
from custom_components.crosswatch.engine.store import StateStore

from .factories import SIMKL, T0, TRAKT, listed, movie
from .fakes import FakeProvider

W = Feature.WATCHLIST


@dataclass
class RestingProvider(FakeProvider):
    """A fake that notes, each time it is told to rest, how many batches it had written."""

    rested: list[int] = field(default_factory=list)

    async def rest(self) -> None:
        self.rested.append(len(self.batches))


def resting_sides() -> tuple[RestingProvider, RestingProvider]:
    film = listed(movie("Heat", 1995, tmdb=949))
    trakt = RestingProvider(
        "trakt:a", "Trakt", replace(TRAKT, features=frozenset({W})), {W: [film]}
    )
    simkl = RestingProvider("simkl:b", "SIMKL", replace(SIMKL, features=frozenset({W})), {W: []})
    return trakt, simkl


def runner(store: StateStore) -> Pipeline:
    return Pipeline(
        store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(0)), clock=lambda: T0
    )


async def test_both_providers_rest_once_when_a_run_has_written_everything(tmp_path: Path) -> None:
    trakt, simkl = resting_sides()
    assert isinstance(trakt, Rests)
    with StateStore(tmp_path / "state.db") as store:
        result = await runner(store).run(PairSpec("p", SyncMode.ADD_ONLY), trakt, simkl)

    assert result.status is RunStatus.SUCCESS
    assert simkl.rested == [1]  # once, after its one batch was written
    assert trakt.rested == [0]


async def test_providers_rest_after_a_run_that_failed(tmp_path: Path) -> None:
    trakt, simkl = resting_sides()
    simkl.health_error = ProviderError("server unreachable")
    with StateStore(tmp_path / "state.db") as store:
        result = await runner(store).run(PairSpec("p", SyncMode.ADD_ONLY), trakt, simkl)

    assert result.status is RunStatus.FAILED
    assert (trakt.rested, simkl.rested) == ([0], [0])


async def test_a_provider_on_both_sides_rests_once(tmp_path: Path) -> None:
    trakt, _ = resting_sides()
    with StateStore(tmp_path / "state.db") as store:
        await runner(store).run(PairSpec("p", SyncMode.TWO_WAY), trakt, trakt)

    assert len(trakt.rested) == 1
