"""Plex serves its last complete scan again while the server's tallies stand (providers/plex/kept.py).

Through the real client against the simulator: a settled read costs the three tallies of its
feature instead of a scan of the whole library, and any play, unplay, rating or unrating moves a
tally, so the library is read again (caught up or scanned: test_plex_caught_up_scans.py).
"""

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.clients.plex import TalliedState
from custom_components.crosswatch.clients.plex.client import TYPE_EPISODE, TYPE_MOVIE
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Rated
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import PackedRead, WriteRequest
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.plex.kept import FULL_SCAN_EVERY
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, start_world
from tests.reads import read_whole, same_snapshots
from tests.simulators.plex import EPOCH, Item, PlexSim, seed_library

pytestmark = pytest.mark.usefixtures("socket_enabled")

H, R = Feature.HISTORY, Feature.RATINGS
TALLIES = 3  # one request per tallied type: movies, shows, episodes
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


async def test_a_settled_read_asks_three_tallies_instead_of_scanning_the_library(
    world: World,
) -> None:
    clock = Clock()
    plex = provider(world, clock)
    first = await read_whole(plex, H, None)
    asked = plex.requests_made
    clock.now += LATER

    again = await plex.read(H, None)

    assert plex.requests_made - asked == TALLIES
    # The snapshot built for the scan is handed back, packed: no rebuild of 100,000 entries,
    # and nothing to unpack for a run that settles.
    assert isinstance(again, PackedRead)
    assert again.version == first.version
    assert same_snapshots(again.unpacked().snapshot, first.snapshot)


async def test_a_tally_counts_and_dates_each_type_across_every_section(world: World) -> None:
    client = world.client()

    movies = await client.tally(TYPE_MOVIE, TalliedState.WATCHED)
    episodes = await client.tally(TYPE_EPISODE, TalliedState.RATED)

    # The Matrix is watched in section 1 only; episode 2x01 is the one rated episode.
    assert (movies.count, movies.latest and movies.latest.timestamp()) == (1, EPOCH - 86400)
    assert (episodes.count, episodes.latest and episodes.latest.timestamp()) == (1, EPOCH - 100)


def _play(item: Item) -> None:
    item.view_count, item.last_viewed_at = item.view_count + 1, EPOCH + 10


def _unplay(item: Item) -> None:
    item.view_count, item.last_viewed_at = 0, None


def _rate(item: Item) -> None:
    item.user_rating, item.last_rated_at = 6.0, EPOCH + 10


def _unrate(item: Item) -> None:
    item.user_rating, item.last_rated_at = None, None


EDITS: dict[str, tuple[Feature, str, Callable[[Item], None]]] = {
    "a film played": (H, "Heat", _play),
    "a watched film played again": (H, "The Matrix", _play),
    "a film unplayed": (H, "The Matrix", _unplay),
    "a film rated": (R, "Heat", _rate),
    "a rating changed": (R, "The Matrix", _rate),
    "a rating removed": (R, "Dark", _unrate),
}


@pytest.mark.parametrize("edit", list(EDITS))
async def test_any_play_unplay_or_rating_moves_a_tally_and_the_library_is_read_again(
    world: World, edit: str
) -> None:
    feature, title, change = EDITS[edit]
    clock = Clock()
    plex = provider(world, clock)
    before = (await read_whole(plex, feature, None)).snapshot
    change(world.sim.item(title))
    clock.now += LATER

    after = (await read_whole(plex, feature, None)).snapshot

    assert after is not before
    assert {k: e.payload for k, e in after.entries.items()} != {
        k: e.payload for k, e in before.entries.items()
    }


async def test_a_rating_made_while_the_history_tallies_stand_shows_in_the_ratings_read(
    world: World,
) -> None:
    # One scan serves both features, but each read asks its own feature's tallies.
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    await read_whole(plex, R, None)
    _rate(world.sim.item("Heat"))
    clock.now += LATER

    await read_whole(plex, H, None)  # its tallies stand: the kept scan
    rated = (await read_whole(plex, R, None)).snapshot

    heat = next(e.payload for e in rated.entries.values() if e.item.title == "Heat")
    assert isinstance(heat, Rated)
    assert heat.value == 6.0


async def test_a_kept_scan_is_scanned_again_once_a_day_old(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    clock.now += FULL_SCAN_EVERY
    asked = plex.requests_made

    await read_whole(plex, H, None)

    assert plex.requests_made - asked > 2 * TALLIES  # both features' tallies, then a scan


async def test_a_library_write_drops_the_kept_scan(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, R, None)
    heat = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"imdb": "tt0113277"})
    await plex.write(R, Action.ADD, [WriteRequest(heat, Rated(8.0))])
    clock.now += LATER
    asked = plex.requests_made

    await read_whole(plex, R, None)

    assert plex.requests_made - asked > 2 * TALLIES


async def test_a_fresh_read_the_engine_asks_for_scans_whatever_the_tallies_say(
    world: World,
) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    plex.forget_reads(H, validated=True)  # before it believes a loss, to verify our writes
    asked = plex.requests_made

    await read_whole(plex, H, None)

    assert plex.requests_made - asked > 2 * TALLIES


async def test_a_server_that_cannot_tally_is_scanned_as_before(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    world.sim.quirks.fault_path, world.sim.quirks.error_on_page = "/library/all", 1
    first = await read_whole(plex, H, None)
    clock.now += LATER
    asked = plex.requests_made

    again = await read_whole(plex, H, None)

    assert again.snapshot.complete
    assert len(again.snapshot) == len(first.snapshot)
    assert plex.requests_made - asked > 2 * TALLIES
