"""Plex keeps its last scan packed between runs, and answers exactly as it did live.

At 100,000 library items the scan that writes resolve in, with its indexes, held over 100 MB
between runs (issue 16). Resting (`PlexProvider.rest`) packs it; a run that needs the records
unpacks it in the executor, and one that settles never does.

- Packing round-trips exactly: the same records in the same order, the same indexes, the same
  evidence and flags.
- A provider that rests between every step reads, writes and asks the server exactly as one
  that never does.
"""

from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import AnyRead, PackedRead, Rests, WriteRequest
from custom_components.crosswatch.providers.plex import PlexProvider, adapter
from custom_components.crosswatch.providers.plex.library import (
    Library,
    PackedLibrary,
    pack_library,
    scan,
    unpack_library,
)
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, start_world
from tests.reads import read_whole
from tests.simulators.plex import PlexSim, seed_library

pytestmark = pytest.mark.usefixtures("socket_enabled")

H, R, W = Feature.HISTORY, Feature.RATINGS, Feature.WATCHLIST
LATER = 3600.0  # past the library TTL, as from one run to the next


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(serve: Serve, session: aiohttp.ClientSession) -> World:
    sim = PlexSim()
    seed_library(sim)
    return await start_world(serve, session, sim)


def provider(world: World, clock: Clock, **options: Any) -> PlexProvider:
    return world.provider(library_ttl=60, now=clock, **options)


async def test_a_packed_scan_unpacks_to_the_same_records_indexes_and_evidence(
    world: World,
) -> None:
    client = world.client()
    scanned = await scan(client, await client.sections(), lambda: 1234.5)
    assert scanned.records  # watched, rated and plain records, episodes with their shows' ids
    assert any(r.watched for r in scanned.records)
    assert any(r.rated for r in scanned.records)
    for library in (
        scanned,
        replace(scanned, reusable=True, scan=7),
        replace(scanned, stale=True, scan=2),
    ):
        packed = pack_library(library)

        assert isinstance(packed, PackedLibrary)
        assert all(isinstance(chunk, bytes) for chunk in packed.chunks)
        assert (packed.count, packed.read_at, packed.scan) == (
            library.count,
            library.read_at,
            library.scan,
        )
        assert unpack_library(packed) == library  # records, indexes, evidence and flags


def heat() -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"imdb": "tt0113277"})


async def a_session(world: World, *, rest: bool) -> list[object]:
    """Reads, writes and the user's own plays, resting between every step when `rest`."""
    clock = Clock()
    plex = provider(world, clock)
    assert isinstance(plex, Rests)
    seen: list[object] = []

    async def step() -> None:
        if rest:
            await plex.rest()
        seen.append(plex.requests_made)

    async def read(feature: Feature) -> None:
        got = await plex.read(feature, None)
        seen.append((type(got).__name__, read_whole_entries(got)))
        await step()

    for feature in (H, R, W):
        await read(feature)
    clock.now += LATER
    for feature in (H, R):  # the tallies stand: the kept scan, served packed
        await read(feature)
    for feature, request in (
        (R, WriteRequest(heat(), Rated(8.0, None))),
        (H, WriteRequest(heat(), Watched.from_state(1, None))),
    ):
        results = await plex.write(feature, Action.ADD, [request])
        seen.append([(r.outcome, r.reason, r.stored_as) for r in results])
        await step()
    world.sim.item("Dark").user_rating = None  # the user's own change
    clock.now += LATER
    for feature in (H, R, H):
        await read(feature)
    return seen


def read_whole_entries(read: AnyRead) -> object:
    unpacked = read.unpacked() if isinstance(read, PackedRead) else read
    return list(unpacked.snapshot.entries.items())


async def test_a_provider_that_rests_between_steps_behaves_as_one_that_never_does(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    runs = []
    for rest in (True, False):
        sim = PlexSim()
        seed_library(sim)
        runs.append(await a_session(await start_world(serve, session, sim), rest=rest))

    assert runs[0] == runs[1]  # snapshots, write outcomes and requests made, step by step


async def test_a_settled_read_after_a_rest_is_served_packed_without_unpacking(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    plex = provider(world, clock)
    first = await read_whole(plex, H, None)
    await plex.rest()
    clock.now += LATER
    unpacked: list[int] = []

    def counted(packed: PackedLibrary) -> Library:
        unpacked.append(packed.count)
        return unpack_library(packed)

    monkeypatch.setattr(adapter, "unpack_library", counted)

    again = await plex.read(H, None)

    assert isinstance(again, PackedRead)
    assert again.version == first.version
    assert unpacked == []  # the scan stayed packed
