"""One read serves every pair for a while; failures, partial and empty reads never do."""

import asyncio
from datetime import timedelta

import pytest

from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.provider import ProviderError

from .factories import TRAKT, listed, movie, rated
from .fakes import FakeProvider

W = Feature.WATCHLIST


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def trakt(count: int = 2) -> FakeProvider:
    return FakeProvider(
        "trakt:a", "Trakt", TRAKT, {W: [listed(movie(f"F{n}", tmdb=n + 1)) for n in range(count)]}
    )


async def test_a_fresh_read_is_shared_until_its_ttl_ends() -> None:
    ticks, provider = Ticks(), trakt()
    memo = SnapshotMemo(clock=ticks)

    first = await memo.read(provider, W, None)
    ticks.now = 299
    again = await memo.read(provider, W, None)
    ticks.now = 300
    await memo.read(provider, W, None)

    assert again is first
    assert provider.reads == 2


async def test_two_pairs_asking_at_once_share_one_read() -> None:
    provider = trakt()
    memo = SnapshotMemo()

    first, second = await asyncio.gather(memo.read(provider, W, None), memo.read(provider, W, None))

    assert first is second
    assert provider.reads == 1


async def test_a_failed_read_is_never_kept_and_fails_every_pair_that_shared_it() -> None:
    provider = trakt()
    memo = SnapshotMemo()
    provider.health_error = None

    async def flaky(feature: Feature, checkpoint: object) -> object:
        await asyncio.sleep(0)
        raise ProviderError("HTTP 502")

    original = provider.read
    provider.read = flaky  # type: ignore[method-assign,assignment]
    results = await asyncio.gather(
        memo.read(provider, W, None), memo.read(provider, W, None), return_exceptions=True
    )
    provider.read = original  # type: ignore[method-assign]

    assert all(isinstance(r, ProviderError) for r in results)
    assert (await memo.read(provider, W, None)).count == 2


async def test_empty_and_partial_reads_are_never_kept() -> None:
    empty = trakt(count=0)
    memo = SnapshotMemo()
    await memo.read(empty, W, None)
    await memo.read(empty, W, None)

    assert empty.reads == 2


async def test_a_write_busts_the_read_of_that_provider_and_feature() -> None:
    provider = trakt()
    provider.inventory[Feature.RATINGS] = [rated(movie("F0", tmdb=1), 8)]
    memo = SnapshotMemo()
    await memo.read(provider, W, None)
    await memo.read(provider, Feature.RATINGS, None)

    memo.bust("trakt:a", W)
    await memo.read(provider, W, None)
    await memo.read(provider, Feature.RATINGS, None)
    memo.bust("trakt:a")
    await memo.read(provider, Feature.RATINGS, None)

    assert provider.reads == 4


async def test_a_cancelled_read_is_not_kept() -> None:
    provider = trakt()
    gate = asyncio.Event()

    async def slow(feature: Feature, checkpoint: object) -> object:
        await gate.wait()
        raise AssertionError("never reached")

    provider.read = slow  # type: ignore[method-assign,assignment]
    memo = SnapshotMemo()
    task = asyncio.create_task(memo.read(provider, W, None))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_reads_older_than_the_ttl_are_let_go_without_another_read() -> None:
    ticks, provider = Ticks(), trakt()
    memo = SnapshotMemo(clock=ticks)
    await memo.read(provider, W, None)

    ticks.now = 299
    memo.expire()
    kept_within_the_ttl = len(memo)
    ticks.now = 300
    memo.expire()

    assert kept_within_the_ttl == 1
    assert len(memo) == 0  # nothing held between runs


async def test_a_memo_without_a_ttl_keeps_nothing() -> None:
    provider = trakt()
    memo = SnapshotMemo(timedelta(0))

    await memo.read(provider, W, None)

    assert len(memo) == 0
