"""The Plex watchlist as Discover serves it in 2026: rows without their ids, and `Video` replies.

Discover leaves the external-id list out of some watchlist rows and may list its records under
`MediaContainer.Video` (../shared/research/provider-facts-2026.md, Plex). The client looks the
missing ids up by ratingKey, a few at a time and once per title, and reads both shapes.
"""

import aiohttp
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.plex import client as plex_client
from custom_components.crosswatch.clients.plex.models import parse_page
from custom_components.crosswatch.engine.ids import Namespace
from custom_components.crosswatch.engine.items import MediaItem, MediaType, weak_key
from custom_components.crosswatch.engine.payloads import Feature, Listed
from custom_components.crosswatch.engine.provider import AuthError
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, entry, start_world
from tests.reads import read_whole
from tests.simulators.plex import DiscoverContainer, PlexSim, Title

pytestmark = pytest.mark.usefixtures("socket_enabled")

W = Feature.WATCHLIST
FILMS = [
    ("Alien", 1979, "tt0078748", 348),
    ("Heat", 1995, "tt0113277", 949),
    ("Zodiac", 2007, "tt0443706", 1949),
    ("Roma", 2018, "tt6155172", 426426),
    ("Drive", 2011, "tt0780504", 64690),
    ("Coco", 2017, "tt2380307", 354912),
]


def film(title: str, year: int, imdb: str) -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, title=title, year=year, ids={"imdb": imdb})


async def watchlisted(serve: Serve, session: aiohttp.ClientSession, sim: PlexSim) -> World:
    """Every film of `FILMS` on the watchlist, none of them in a library to borrow ids from."""
    for title, year, imdb, tmdb in FILMS:
        added = sim.add_title("movie", title, year, imdb=imdb, tmdb=tmdb)
        sim.watchlist[added.plex] = sim.tick()
    return await start_world(serve, session, sim)


def listed_without_ids(sim: PlexSim) -> list[Title]:
    return [sim.catalogue[plex] for plex in sorted(sim.titles_listed_without_ids())]


@pytest.fixture
async def world(serve: Serve, session: aiohttp.ClientSession) -> World:
    return await watchlisted(serve, session, PlexSim())


async def test_every_third_discover_row_comes_without_its_ids_as_the_simulator_documents(
    world: World,
) -> None:
    assert [title.title for title in listed_without_ids(world.sim)] == ["Zodiac", "Coco"]


async def test_titles_listed_without_ids_get_them_from_the_per_item_metadata_lookup(
    world: World,
) -> None:
    snapshot = (await read_whole(world.provider(), W, None)).snapshot

    assert snapshot.complete
    assert len(snapshot) == len(FILMS)
    for title, year, imdb, tmdb in FILMS:
        found = entry(snapshot, film(title, year, imdb))
        assert found.payload == Listed(None)
        ids = found.item.ids()
        assert (ids.get(Namespace.IMDB), ids.get(Namespace.TMDB)) == (imdb, str(tmdb))
    # Only the rows without ids were looked up, each once.
    assert sorted(world.sim.lookups) == sorted(t.plex for t in listed_without_ids(world.sim))


async def test_the_video_container_reads_as_the_metadata_one(
    serve: Serve, session: aiohttp.ClientSession, world: World
) -> None:
    expected = (await read_whole(world.provider(), W, None)).snapshot
    sim = PlexSim()
    sim.quirks.discover_container = DiscoverContainer.VIDEO
    other = await watchlisted(serve, session, sim)

    snapshot = (await read_whole(other.provider(), W, None)).snapshot

    assert snapshot.complete
    assert sorted(snapshot.entries) == sorted(expected.entries)
    assert all(
        snapshot.entries[key].item.ids() == expected.entries[key].item.ids()
        for key in snapshot.entries
    )
    assert len(sim.lookups) == 2  # the per-item replies came as `Video` too


async def test_ids_found_once_are_kept_per_rating_key_for_the_next_reads(world: World) -> None:
    provider = world.provider()
    await read_whole(provider, W, None)
    first = list(world.sim.lookups)

    again = (await read_whole(provider, W, None)).snapshot

    assert again.complete
    assert world.sim.lookups == first  # nothing was asked twice
    zodiac = film("Zodiac", 2007, "tt0443706")
    assert entry(again, zodiac).item.ids()[Namespace.IMDB] == "tt0443706"
    # A title new to the watchlist, listed without ids, is the only one asked about.
    world.sim.add_title("movie", "Filler One", 2001, imdb="tt0000001")
    world.sim.add_title("movie", "Filler Two", 2002, imdb="tt0000002")
    late = world.sim.add_title("movie", "Memento", 2000, imdb="tt0209144", tmdb=77)
    world.sim.watchlist[late.plex] = world.sim.tick()
    assert late.plex in world.sim.titles_listed_without_ids()
    await read_whole(provider, W, None)
    assert world.sim.lookups == [*first, late.plex]


async def test_lookups_run_a_few_at_a_time(serve: Serve, session: aiohttp.ClientSession) -> None:
    sim = PlexSim()
    sim.quirks.discover_rows_without_ids = 1  # every row without ids: one lookup each
    sim.quirks.lookup_delay = 0.05
    world = await watchlisted(serve, session, sim)

    snapshot = (await read_whole(world.provider(), W, None)).snapshot

    assert snapshot.complete
    assert len(sim.lookups) == len(FILMS) > plex_client.LOOKUP_CONCURRENCY
    assert sim.most_lookups_in_flight == plex_client.LOOKUP_CONCURRENCY


async def test_a_title_without_ids_anywhere_stays_usable_by_title_and_year(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = PlexSim()
    sim.add_title("movie", "Filler One", 2001, imdb="tt0000001")
    sim.add_title("movie", "Filler Two", 2002, imdb="tt0000002")
    obscure = sim.add_title("movie", "A Home Movie", 2020)  # third: listed without ids, has none
    sim.watchlist[obscure.plex] = sim.tick()
    world = await start_world(serve, session, sim)
    provider = world.provider()

    snapshot = (await read_whole(provider, W, None)).snapshot

    assert snapshot.complete
    [found] = snapshot.entries.values()
    assert (found.item.title, found.item.year) == ("A Home Movie", 2020)
    assert set(found.item.ids()) == {Namespace.PLEX}
    # What the planner pairs an id-less title by: its type, title and year.
    weak = MediaItem.create(MediaType.MOVIE, title="A Home Movie", year=2020, ids={})
    assert weak_key(found.item) == weak_key(weak)
    # Plex may add ids later: a title found without any is asked about again.
    await read_whole(provider, W, None)
    assert sim.lookups == [obscure.plex, obscure.plex]


async def test_a_lookup_that_fails_leaves_the_watchlist_partial_with_every_title_kept(
    world: World,
) -> None:
    world.sim.quirks.lookup_error_status = 503

    snapshot = (await read_whole(world.provider(), W, None)).snapshot

    assert not snapshot.complete
    assert "could not be looked up" in snapshot.completeness.describe()
    assert len(snapshot) == len(FILMS)  # the titles are kept, as Discover listed them


async def test_a_lookup_refused_for_the_token_is_an_auth_error(world: World) -> None:
    world.sim.quirks.lookup_error_status = 401
    with pytest.raises(AuthError):
        await read_whole(world.provider(), W, None)


def test_a_page_under_video_parses_as_one_under_metadata() -> None:
    row = {"ratingKey": "5d77a", "type": "movie", "title": "Heat", "year": 1995}
    container = {"size": 1, "totalSize": 1, "offset": 0}
    as_video = parse_page({"MediaContainer": {**container, "Video": [row]}}, {})
    as_metadata = parse_page({"MediaContainer": {**container, "Metadata": [row]}}, {})
    assert as_video == as_metadata
    assert as_video.items[0].title == "Heat"


def test_a_page_under_both_keys_is_refused_rather_than_half_read() -> None:
    row = {"ratingKey": "5d77a", "type": "movie", "title": "Heat"}
    body = {"MediaContainer": {"size": 2, "Video": [row], "Metadata": [row]}}
    with pytest.raises(CrossWatchInvalidResponseError):
        parse_page(body, {})
