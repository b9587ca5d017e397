"""A run a provider rate-limited says who asked to slow down and for how long."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from custom_components.crosswatch.engine.cursor import Checkpoint
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunStatus
from custom_components.crosswatch.engine.provider import ProviderError, RateLimitError, Read
from custom_components.crosswatch.engine.store import StateStore

from .factories import SIMKL, T0, TRAKT, listed, movie
from .fakes import FakeProvider

W = Feature.WATCHLIST
R = Feature.RATINGS


@dataclass
class ReadFailing(FakeProvider):
    """Fails every read of the features in `read_errors` with its error."""

    read_errors: dict[Feature, ProviderError] | None = None

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        error = (self.read_errors or {}).get(feature)
        if error is not None:
            raise error
        return await super().read(feature, checkpoint)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as opened:
        yield opened


def pipeline(store: StateStore) -> Pipeline:
    return Pipeline(
        store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(0)), clock=lambda: T0
    )


def films(count: int) -> list[Entry]:
    return [listed(movie(f"Film {n}", 2000, tmdb=1000 + n)) for n in range(count)]


def pair(
    features: frozenset[Feature] = frozenset({W}), **faults: object
) -> tuple[FakeProvider, ReadFailing]:
    trakt = FakeProvider("trakt:a", "Trakt", replace(TRAKT, features=features), {W: films(2)})
    simkl = ReadFailing("simkl:b", "SIMKL", replace(SIMKL, features=features), {W: []})
    for fault, value in faults.items():
        setattr(simkl, fault, value)
    return trakt, simkl


async def test_a_read_refused_with_retry_after_fails_the_run_and_says_how_long_to_wait(
    store: StateStore,
) -> None:
    trakt, simkl = pair(read_errors={W: RateLimitError("asked to wait 600 s", 600)})

    result = await pipeline(store).run(PairSpec("p"), trakt, simkl)

    assert result.status is RunStatus.FAILED
    assert result.rate_limited == ("SIMKL",)
    assert result.retry_after == 600
    assert result.errors == ("SIMKL: asked to wait 600 s",)
    assert simkl.batches == []


async def test_a_health_check_refused_for_the_rate_fails_the_run_with_its_retry_after(
    store: StateStore,
) -> None:
    trakt, simkl = pair(health_error=RateLimitError("slow down", 120))

    result = await pipeline(store).run(PairSpec("p"), trakt, simkl)

    assert result.status is RunStatus.FAILED
    assert (result.rate_limited, result.retry_after) == (("SIMKL",), 120)


async def test_a_rate_limit_without_retry_after_still_names_who_asked(store: StateStore) -> None:
    trakt, simkl = pair(read_errors={W: RateLimitError("kept asking to slow down")})

    result = await pipeline(store).run(PairSpec("p"), trakt, simkl)

    assert (result.status, result.rate_limited, result.retry_after) == (
        RunStatus.FAILED,
        ("SIMKL",),
        None,
    )


async def test_one_feature_rate_limited_leaves_the_run_partial_with_the_longest_wait(
    store: StateStore,
) -> None:
    trakt, simkl = pair(
        frozenset({W, R}),
        read_errors={R: RateLimitError("wait", 90)},
        fail_batches={0: RateLimitError("wait longer", 300)},
    )
    trakt.inventory[W] = films(3)

    result = await pipeline(store).run(PairSpec("p"), trakt, simkl)

    assert result.status is RunStatus.PARTIAL
    assert result.rate_limited == ("SIMKL",)  # named once, for its reads and its writes
    assert result.retry_after == 300


async def test_other_failures_are_not_rate_limits(store: StateStore) -> None:
    trakt, simkl = pair(read_errors={W: ProviderError("HTTP 503")})

    result = await pipeline(store).run(PairSpec("p"), trakt, simkl)

    assert result.status is RunStatus.FAILED
    assert (result.rate_limited, result.retry_after) == ((), None)
