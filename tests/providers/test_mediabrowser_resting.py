"""Jellyfin and Emby keep their write index packed between runs, and resolve writes as before.

At 100,000 library items the index writes resolve in held tens of megabytes between runs
(issue 16). Resting (`MediaBrowserProvider.rest`) packs it; the first write of a later run
within the index's TTL unpacks it in the executor, instead of scanning the library again.

- Packing round-trips exactly: the same items (ids, items, every field of the user's data) in
  the scan's order, repeats included, and the same maps and evidence.
- A provider that rests between every step reads, writes and asks the server exactly as one
  that never does.
"""

from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.crosswatch.clients.mediabrowser.models import UserData
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import AnyRead, PackedRead, Rests, WriteRequest
from custom_components.crosswatch.engine.snapshot import Completeness
from custom_components.crosswatch.providers.mediabrowser.library import (
    PackedLibrary,
    index,
    pack_library,
    unpack_library,
)
from custom_components.crosswatch.providers.mediabrowser.reads import LibraryItem, Scan
from tests.simulators.mediabrowser import Flavour

from .conftest import Serve
from .test_mediabrowser_support import FLAVOURS, make_rig

H, W, R = Feature.HISTORY, Feature.WATCHLIST, Feature.RATINGS
PLAYED_AT = datetime(2023, 7, 14, 21, 15, 30, tzinfo=UTC)
MATRIX = MediaItem.create(MediaType.MOVIE, title="The Matrix", year=1999, ids={"imdb": "tt0133093"})
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"tmdb": 949})
DARK_S1E2 = MediaItem.create(
    MediaType.EPISODE, title="Dark", year=2017, show_ids={"tvdb": 334824}, season=1, episode=2
)


def test_a_packed_index_unpacks_to_the_same_items_maps_and_evidence() -> None:
    full = UserData(7.5, True, 3, "2024-03-01T20:00:00.0000000Z", False, 1200, frozenset({"A"}))
    items = (
        LibraryItem("1", MATRIX, full),
        LibraryItem("2", HEAT, UserData()),
        LibraryItem("3", DARK_S1E2, UserData(played=False, present=frozenset({"Played"}))),
        LibraryItem("1", MATRIX, UserData(rating=2.0)),  # a repeat a paged scan listed twice
        LibraryItem("4", MediaItem.create(MediaType.MOVIE, title="Untitled"), UserData()),
    )
    for complete in (True, False):
        scan = Scan(items, Completeness(all_pages=complete), None)
        library = index(scan, None, 12.5)

        packed = pack_library(library)

        assert isinstance(packed, PackedLibrary)
        assert (packed.count, packed.rows, packed.reusable) == (4, 5, complete)
        assert unpack_library(packed) == library  # items in order, maps, evidence
        assert index(scan, packed, 13.0).reusable == index(scan, library, 13.0).reusable


def entries(read: AnyRead) -> object:
    unpacked = read.unpacked() if isinstance(read, PackedRead) else read
    return list(unpacked.snapshot.entries.items())


async def a_session(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, *, rest: bool
) -> list[object]:
    """Reads and writes, resting between every step when `rest`."""
    rig = await make_rig(serve, session, flavour)
    provider = rig.provider
    assert isinstance(provider, Rests)
    seen: list[object] = []

    async def step() -> None:
        if rest:
            await provider.rest()
        seen.append(provider.requests_made)

    seen.append(entries(await provider.read(R, None)))  # a whole-library read: the write index
    await step()
    for feature, request in (
        (H, WriteRequest(MATRIX, Watched.from_state(1, PLAYED_AT))),
        (R, WriteRequest(HEAT, Rated(8.0, None))),
        (H, WriteRequest(DARK_S1E2, Watched.from_state(1, PLAYED_AT))),
    ):
        results = await provider.write(feature, Action.ADD, [request])
        seen.append([(r.outcome, r.reason, r.stored_as) for r in results])
        await step()
    for feature in (H, R, W):
        seen.append(entries(await provider.read(feature, None)))
        await step()
    return seen


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_provider_that_rests_between_steps_behaves_as_one_that_never_does(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    resting = await a_session(serve, session, flavour, rest=True)
    awake = await a_session(serve, session, flavour, rest=False)

    assert resting == awake  # snapshots, write outcomes and requests made, step by step
