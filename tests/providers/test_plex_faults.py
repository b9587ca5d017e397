"""Plex on a bad day: malformed, empty and tiny list replies, and what the provider keeps.

A 200 that is not the list it should be is a failed read (a partial snapshot with the reason, or
an error for the section list everything else hangs on), never an empty list. A content digest
only fingerprints what was read. A scan is reused only when it was complete and did not shrink.
"""

from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import ProviderError, WriteOutcome, WriteRequest
from custom_components.crosswatch.providers.plex import PlexProvider
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, start_world
from tests.reads import read_whole
from tests.simulators.plex import EPOCH, Malformed, PlexSim, Title, seed_library

pytestmark = pytest.mark.usefixtures("socket_enabled")

H, R, W = Feature.HISTORY, Feature.RATINGS, Feature.WATCHLIST
FILMS = 60


@pytest.fixture
async def world(serve: Serve, session: aiohttp.ClientSession) -> World:
    sim = PlexSim()
    seed_library(sim)
    return await start_world(serve, session, sim)


@pytest.fixture
async def big(serve: Serve, session: aiohttp.ClientSession) -> World:
    """One movie section of 60 watched films, and a watchlist of five of them."""
    sim = PlexSim()
    sim.add_section("1", "movie", "Movies")
    for n in range(FILMS):
        film = sim.add_movie(
            "1", f"Film {n}", 1950 + n, imdb=f"tt{1000000 + n}", view_count=1,
            last_viewed_at=EPOCH - n,
        )  # fmt: skip
        if n < 5:
            sim.watchlist[film.plex or ""] = EPOCH - n
    return await start_world(serve, session, sim)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider(world: World, **options: Any) -> PlexProvider:
    return world.provider(world.client(page_size=25), **options)


def failure(read: Any) -> str:
    return str(read.snapshot.completeness.failure or "")


# -- malformed replies --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(Malformed))
async def test_a_malformed_library_page_makes_the_snapshot_partial_never_short(
    big: World, shape: Malformed
) -> None:
    quirks = big.sim.quirks
    quirks.fault_path, quirks.malformed_replies, quirks.malformed_shape = "/sections/1/", 1, shape

    read = await read_whole(provider(big), H, None)

    assert not read.snapshot.complete
    assert "section 1 movies: page at 0" in failure(read)


@pytest.mark.parametrize("shape", list(Malformed))
async def test_a_malformed_section_list_fails_the_read(world: World, shape: Malformed) -> None:
    quirks = world.sim.quirks
    quirks.fault_path, quirks.malformed_replies, quirks.malformed_shape = "/sections/all", 1, shape

    with pytest.raises(ProviderError):
        await read_whole(provider(world), H, None)


@pytest.mark.parametrize("shape", list(Malformed))
async def test_a_malformed_watchlist_page_makes_the_watchlist_partial(
    big: World, shape: Malformed
) -> None:
    quirks = big.sim.quirks
    quirks.fault_path, quirks.malformed_replies, quirks.malformed_shape = "watchlist", 1, shape

    read = await read_whole(provider(big), W, None)

    assert not read.snapshot.complete
    assert "page at 0" in failure(read)


async def test_a_container_that_says_it_is_empty_may_leave_its_list_out(world: World) -> None:
    """Plex leaves `Metadata` out of an empty container; `size` 0 is what makes that a list."""
    world.sim.add_section("4", "movie", "Empty")

    read = await read_whole(provider(world), H, None)

    assert read.snapshot.complete


# -- the simulator's list faults ------------------------------------------------------------------


async def test_empty_and_tiny_replies_are_well_formed_and_claim_their_size(big: World) -> None:
    client = big.client(page_size=25)
    big.sim.quirks.empty_replies, big.sim.quirks.tiny_replies = 1, 1

    empty = await client.section_items("1", 1)
    tiny = await client.section_items("1", 1)
    true = await client.section_items("1", 1)

    assert (len(empty.items), empty.expected_total, empty.all_pages) == (0, 0, True)
    assert (len(tiny.items), tiny.expected_total, tiny.all_pages) == (3, 3, True)
    assert (len(true.items), true.expected_total) == (FILMS, FILMS)


async def test_list_faults_count_down_in_the_order_malformed_empty_tiny(big: World) -> None:
    quirks = big.sim.quirks
    quirks.fault_path = "/sections/1/"
    quirks.malformed_replies = quirks.empty_replies = quirks.tiny_replies = 1
    client = big.client(page_size=100)

    reads = [await client.section_items("1", 1) for _ in range(4)]

    assert [(r.failure is not None, len(r.items)) for r in reads] == [
        (True, 0),
        (False, 0),
        (False, 3),
        (False, FILMS),
    ]


# -- a content digest only fingerprints what was read ---------------------------------------------


async def test_a_scan_of_3_films_where_60_were_is_reported_as_read(big: World) -> None:
    """A tiny reply that claims to be whole is what the read shows; the drop guard judges it."""
    plex = provider(big, library_ttl=0)
    first = await read_whole(plex, H, None)
    plex.forget_reads(H, validated=True)  # a scan, not the kept one: the engine asks for it
    big.sim.quirks.tiny_replies = 2  # the section list and the films

    shrunk = await read_whole(plex, H, first.checkpoint)

    assert (len(first.snapshot), len(shrunk.snapshot)) == (FILMS, 3)
    assert shrunk.snapshot.complete  # the reply claimed 3: only the drop guard can doubt it


@pytest.mark.parametrize("feature", [H, R, W])
async def test_the_plex_etag_only_fingerprints_content(world: World, feature: Feature) -> None:
    plex = provider(world, library_ttl=0)
    first = await read_whole(plex, feature, None)
    same = await read_whole(plex, feature, first.checkpoint)
    heat = world.sim.item("Heat")
    heat.view_count, heat.user_rating = 1, 6.0
    world.sim.watchlist[heat.plex or ""] = EPOCH
    changed = await read_whole(plex, feature, same.checkpoint)

    etags = [r.checkpoint.etag if r.checkpoint else None for r in (first, same, changed)]
    assert etags[0] is not None
    assert etags[0] == etags[1] != etags[2]


# -- what the library scan cache may keep ---------------------------------------------------------


async def test_an_empty_scan_after_a_full_one_is_not_reused_the_next_read_asks_again(
    big: World,
) -> None:
    plex = provider(big, library_ttl=60, now=Clock())
    await read_whole(plex, H, None)
    plex.forget_reads(H, validated=True)  # a fresh scan, as the engine asks before a loss
    big.sim.quirks.empty_replies = 1  # the section list: no sections at all
    emptied = await read_whole(plex, H, None)
    asked = plex.requests_made

    again = await read_whole(plex, H, None)

    assert (len(emptied.snapshot), len(again.snapshot)) == (0, FILMS)
    assert plex.requests_made > asked


async def test_a_tiny_scan_after_a_full_one_is_not_reused_either(big: World) -> None:
    plex = provider(big, library_ttl=60, now=Clock())
    await read_whole(plex, H, None)
    plex.forget_reads(H, validated=True)  # a fresh scan, as the engine asks before a loss
    big.sim.quirks.fault_path, big.sim.quirks.tiny_replies = "/sections/1/", 1
    shrunk = await read_whole(plex, H, None)

    again = await read_whole(plex, R, None)  # history and ratings share the scan
    history = await read_whole(plex, H, None)

    assert (len(shrunk.snapshot), len(history.snapshot)) == (3, FILMS)
    assert again.snapshot.complete


async def test_a_partial_scan_is_not_reused(big: World) -> None:
    plex = provider(big, library_ttl=60, now=Clock())
    big.sim.quirks.fault_path, big.sim.quirks.error_on_page = "/sections/1/", 2
    partial = await read_whole(plex, H, None)
    big.sim.quirks.error_on_page = None

    whole = await read_whole(plex, H, None)

    assert not partial.snapshot.complete
    assert whole.snapshot.complete
    assert len(whole.snapshot) == FILMS


async def test_a_shrunken_scan_that_a_second_read_confirms_is_reused_from_then_on(
    big: World,
) -> None:
    plex = provider(big, library_ttl=60, now=Clock())
    await read_whole(plex, H, None)
    for film in list(big.sim.items.values())[:10]:
        film.view_count = 0
    del big.sim.items[next(iter(big.sim.items))]
    plex.forget_reads(H, validated=True)  # a fresh scan, as the engine asks before a loss
    first = await read_whole(plex, H, None)
    second = await read_whole(plex, H, None)
    asked = plex.requests_made

    third = await read_whole(plex, H, None)

    assert len(first.snapshot) == len(second.snapshot) == len(third.snapshot) == FILMS - 10
    assert plex.requests_made == asked


async def test_a_watchlist_write_keeps_the_library_scan_a_history_write_drops_it(
    big: World,
) -> None:
    plex = provider(big, library_ttl=60, now=Clock())
    await read_whole(plex, H, None)
    scanned = plex.requests_made
    film = big.sim.item("Film 10")
    listed = MediaItem.create(MediaType.MOVIE, title="Film 10", ids={"plex": film.plex})

    await plex.write(W, Action.ADD, [WriteRequest(listed, Listed())])
    written = plex.requests_made
    await read_whole(plex, R, None)
    assert plex.requests_made == written > scanned

    await plex.write(H, Action.ADD, [WriteRequest(listed, Watched.from_state(1, None))])
    written = plex.requests_made
    await read_whole(plex, R, None)
    assert plex.requests_made > written


async def test_a_write_after_an_empty_scan_reads_the_library_again_to_find_its_item(
    big: World,
) -> None:
    plex = provider(big, library_ttl=60, now=Clock())
    big.sim.quirks.empty_replies = 1
    await read_whole(plex, H, None)
    film = MediaItem.create(MediaType.MOVIE, title="Film 7", ids={"imdb": "tt1000007"})

    (result,) = await plex.write(R, Action.ADD, [WriteRequest(film, Rated(8.0))])

    assert result.outcome is WriteOutcome.CONFIRMED
    assert big.sim.item("Film 7").user_rating == 8.0


async def test_watchlist_ids_are_never_lent_from_an_empty_scan(big: World) -> None:
    # Discover knows the watchlisted films by Plex's own id only; the library has their imdb ids.
    for plex_id in big.sim.watchlist:
        title = big.sim.catalogue[plex_id]
        big.sim.catalogue[plex_id] = Title(plex_id, title.kind, title.title, title.year)
    plex = provider(big, library_ttl=60, now=Clock())
    full = await read_whole(plex, W, None)
    plex.forget_reads(validated=True)
    big.sim.quirks.fault_path, big.sim.quirks.empty_replies = "/sections/1/", 1
    await read_whole(plex, H, None)  # an empty scan

    listed = await read_whole(plex, W, None)

    assert {key.partition(":")[0] for key in full.snapshot.entries} == {"imdb"}
    assert set(listed.snapshot.entries) == set(full.snapshot.entries)
