"""A run ends with its providers at rest: what they keep until the next run, held compactly.

Home Assistant keeps providers loaded between runs; one that implements `Rests` is told when a
run of a pair it serves has ended, however the run ended, and only then (issue 16).
"""

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest

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


@dataclass
class RefusingProvider(RestingProvider):
    """A fake whose rest is refused, as by an executor shutting down."""

    async def rest(self) -> None:
        await super().rest()
        raise RuntimeError("cannot schedule new futures after shutdown")


async def test_a_rest_that_fails_leaves_the_run_as_it_ended(tmp_path: Path) -> None:
    film = listed(movie("Heat", 1995, tmdb=949))
    trakt = RefusingProvider(
        "trakt:a", "Trakt", replace(TRAKT, features=frozenset({W})), {W: [film]}
    )
    simkl = RefusingProvider("simkl:b", "SIMKL", replace(SIMKL, features=frozenset({W})), {W: []})
    with StateStore(tmp_path / "state.db") as store:
        result = await runner(store).run(PairSpec("p", SyncMode.ADD_ONLY), trakt, simkl)

    assert result.status is RunStatus.SUCCESS
    assert (trakt.rested, simkl.rested) == ([0], [1])  # both were asked, each once


async def test_a_cancelled_run_does_not_rest(tmp_path: Path) -> None:
    trakt, simkl = resting_sides()

    async def never() -> None:
        await asyncio.Event().wait()

    simkl.health = never  # type: ignore[method-assign]
    with StateStore(tmp_path / "state.db") as store:
        task = asyncio.create_task(
            runner(store).run(PairSpec("p", SyncMode.ADD_ONLY), trakt, simkl)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert (trakt.rested, simkl.rested) == ([], [])
