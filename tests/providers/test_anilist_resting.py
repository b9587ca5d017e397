"""AniList keeps its list read packed between runs, and reads and writes as before.

At 100,000 entries the kept list (anilist_kept.py) was 100,000 live `ListEntry` objects, held
between runs for every full pass of the cycle collector to walk (issue 16). Resting
(`AniListProvider.rest`) packs it; a run served the kept list hands back the reads built from it,
without unpacking it.

- Packing round-trips exactly: every field of every entry, in order.
- A provider that rests between every step reads, writes and asks AniList exactly as one that
  never does.
"""

from datetime import UTC, date, datetime

import aiohttp
import pytest

from custom_components.crosswatch.clients.anilist.models import ListEntry
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import AnyRead, PackedRead, Rests, WriteRequest
from custom_components.crosswatch.providers import anilist_provider
from custom_components.crosswatch.providers.anilist_packing import (
    PackedListEntries,
    pack_list_entries,
    unpack_list_entries,
)
from tests.simulators.anilist import Sim, start_sim

from .test_anilist_provider import Clock, Serve, anime, provider_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

H, W, R = Feature.HISTORY, Feature.WATCHLIST, Feature.RATINGS


def test_packed_list_entries_unpack_to_the_same_entries_in_order() -> None:
    entries = (
        ListEntry(
            7, 21, "COMPLETED", 8.5, 24, 1,
            datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC), datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            date(2024, 1, 2), 30021, "One Piece", 1999, "TV",
        ),
        ListEntry(8, 22, "PLANNING", 0.0, 0, 0, None, None, None, None, None, None, None),
        *(
            ListEntry(n, n, "CURRENT", 0.0, n % 12, 0, None, None, None, n, f"t{n}", 2000, "TV")
            for n in range(100, 5_100)  # three chunks
        ),
    )  # fmt: skip

    packed = pack_list_entries(entries)

    assert len(packed) == len(entries)
    assert len(packed.chunks) == 3
    assert unpack_list_entries(packed) == entries


def entries_of(read: AnyRead) -> object:
    unpacked = read.unpacked() if isinstance(read, PackedRead) else read
    return (list(unpacked.snapshot.entries.items()), unpacked.version)


async def a_session(sim: Sim, *, rest: bool) -> list[object]:
    """Reads and writes over an hour of the provider's clock, resting between steps if `rest`."""
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    assert isinstance(provider, Rests)
    seen: list[object] = []

    async def step() -> None:
        if rest:
            await provider.rest()
        clock.now += 3600  # past the reuse window: the list's mark is asked each time
        seen.append(provider.requests_made)

    for feature in (W, H, R):
        seen.append(entries_of(await provider.read(feature, None)))
        await step()
    for feature in (W, H, R):  # the kept list served again
        seen.append(entries_of(await provider.read(feature, None)))
        await step()
    for feature, request in (
        (W, WriteRequest(anime(1), Listed(None))),
        (R, WriteRequest(anime(1), Rated(7.0, None))),
        (H, WriteRequest(anime(2), Watched.from_state(1, datetime(2024, 5, 1, tzinfo=UTC)))),
    ):
        results = await provider.write(feature, Action.ADD, [request])
        seen.append([(r.outcome, r.reason) for r in results])
        await step()
    for feature in (H, R, W):
        seen.append(entries_of(await provider.read(feature, None)))
        await step()
    return seen


async def test_a_provider_that_rests_between_steps_behaves_as_one_that_never_does(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpacked = count_unpacking(monkeypatch)
    resting = await a_session(await start_sim(serve, session), rest=True)
    assert unpacked  # a feature read from the rested list unpacked it
    awake = await a_session(await start_sim(serve, session), rest=False)

    assert resting == awake  # snapshots, versions, write outcomes and requests, step by step


def count_unpacking(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the list reads the provider unpacks from now on."""
    unpacked: list[int] = []

    def counted(packed: PackedListEntries) -> tuple[ListEntry, ...]:
        unpacked.append(len(packed))
        return unpack_list_entries(packed)

    monkeypatch.setattr(f"{anilist_provider.__name__}.unpack_list_entries", counted)
    return unpacked


async def test_a_rested_kept_list_served_again_is_not_unpacked(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = await start_sim(serve, session)
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    first = {feature: await provider.read(feature, None) for feature in Feature}
    await provider.rest()
    unpacked = count_unpacking(monkeypatch)
    clock.now += 3600

    again = {feature: await provider.read(feature, None) for feature in Feature}

    assert unpacked == []  # a settled run's reads are the packed reads built before
    for feature in Feature:
        assert again[feature].version == first[feature].version
