"""The Plex provider against the simulator: snapshots, completeness and per-item writes."""

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchInvalidResponseError,
)
from custom_components.crosswatch.clients.http import HttpClient, RetryPolicy
from custom_components.crosswatch.clients.plex.auth import PlexAccount
from custom_components.crosswatch.clients.plex.client import TYPE_MOVIE
from custom_components.crosswatch.clients.plex.models import parse_metadata
from custom_components.crosswatch.engine.capabilities import HistorySupport
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AuthError,
    ProviderError,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.engine.ratings import RatingScale
from custom_components.crosswatch.providers.plex import (
    CONFLICT,
    NOT_IN_LIBRARY,
    NOT_ON_PLEX,
    WATCHLIST_TYPES,
    PlexProvider,
    library,
)
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, entry, start_world
from tests.reads import read_whole
from tests.simulators.openapi import RECORDED
from tests.simulators.plex import EPOCH, MACHINE_ID, Item, PlexSim, seed_library

pytestmark = pytest.mark.usefixtures("socket_enabled")

H, R, W = Feature.HISTORY, Feature.RATINGS, Feature.WATCHLIST
MATRIX = MediaItem.create(MediaType.MOVIE, title="The Matrix", year=1999, ids={"imdb": "tt0133093"})
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"tmdb": 949})
DARK = MediaItem.create(MediaType.SHOW, title="Dark", year=2017, ids={"tvdb": 334824})
INCEPTION = MediaItem.create(
    MediaType.MOVIE, title="Inception", year=2010, ids={"imdb": "tt1375666"}
)


def episode(season: int, number: int, **show_ids: Any) -> MediaItem:
    return MediaItem.create(
        MediaType.EPISODE, title="Dark", year=2017, show_ids=show_ids or {"tvdb": 334824},
        season=season, episode=number,
    )  # fmt: skip


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def add(item: MediaItem, payload: Any = None) -> list[WriteRequest]:
    return [WriteRequest(item, payload)]


@pytest.fixture
async def world(serve: Serve, session: aiohttp.ClientSession) -> World:
    sim = PlexSim()
    seed_library(sim)
    return await start_world(serve, session, sim)


def items(world: World) -> dict[str, Item]:
    sim = world.sim
    return {
        "matrix": sim.item("The Matrix"),
        "heat": sim.item("Heat"),
        "dark": sim.item("Dark"),
        "e1": sim.item("Dark", 1, 1),
        "e2": sim.item("Dark", 1, 2),
        "e3": sim.item("Dark", 2, 1),
    }


# -- identity and capabilities --------------------------------------------------------------------


async def test_health_learns_the_account_and_server_that_key_the_provider(world: World) -> None:
    provider = world.provider()
    assert (provider.key, provider.name, provider.play_history_available) == ("plex", "Plex", None)
    await provider.health()
    assert provider.key == f"plex:9f8e7d6c5b4a3210@{MACHINE_ID}"
    assert provider.name == "Plex (alice)"
    assert provider.play_history_available is True


def test_a_provider_set_up_with_its_account_and_server_has_its_key_before_health() -> None:
    account = PlexAccount(1, "uuid-1", "bob")
    provider = PlexProvider(None, account=account, server_id="m1")  # type: ignore[arg-type]
    assert (provider.key, provider.name) == ("plex:uuid-1@m1", "Plex (bob)")


def test_plex_keeps_a_watched_state_it_cannot_date_and_half_step_ratings() -> None:
    capabilities = PlexProvider(None).capabilities  # type: ignore[arg-type]
    assert capabilities.features == frozenset(Feature)
    assert capabilities.history == HistorySupport(multiple_plays=False, sets_watched_at=False)
    assert capabilities.rating_scale is RatingScale.HALF_STEPS_0_10
    assert capabilities.confirms_per_item


async def test_a_user_without_access_to_play_history_still_reads_the_watched_state(
    world: World,
) -> None:
    world.sim.quirks.non_admin = True
    provider = world.provider()
    await provider.health()
    assert provider.play_history_available is False
    read = await read_whole(provider, H, None)
    assert read.snapshot.complete
    assert len(read.snapshot) == 2


async def test_a_managed_users_401_on_play_history_is_a_capability_not_an_auth_failure(
    world: World,
) -> None:
    # Current servers answer a non-admin's valid token with 401 there, not 403.
    world.sim.quirks.non_admin = True
    client = world.client()
    assert await client.history_access() is False
    # The token still reads the user's own library: it was never revoked.
    assert [section.key for section in await client.sections()] == ["1", "2", "3", "9"]


async def test_a_server_that_refuses_the_token_everywhere_is_an_auth_error_not_a_non_admin(
    world: World,
) -> None:
    # plex.tv still knows the account; the server no longer takes its token (share removed).
    world.sim.quirks.server_revoked = True
    provider = world.provider()
    with pytest.raises(AuthError):
        await provider.health()
    assert provider.play_history_available is None


async def test_the_admin_history_probe_reads_one_play_of_the_server_history(world: World) -> None:
    world.sim.plays.append((items(world)["matrix"].rating_key, EPOCH))
    assert await world.client().history_access() is True


async def test_a_revoked_token_is_an_auth_error_for_health_and_reads(world: World) -> None:
    world.sim.quirks.revoked = True
    provider = world.provider()
    with pytest.raises(AuthError):
        await provider.health()
    for feature in Feature:
        with pytest.raises(AuthError):
            await read_whole(provider, feature, None)


# -- history and ratings reads --------------------------------------------------------------------


async def test_history_holds_the_watched_items_with_view_count_and_last_viewed_at(
    world: World,
) -> None:
    read = await read_whole(world.provider(), H, None)
    snapshot = read.snapshot
    assert snapshot.complete
    assert snapshot.completeness.expected_total == snapshot.completeness.seen_total == 7
    assert len(snapshot) == 2
    assert entry(snapshot, MATRIX).payload == Watched.from_state(2, at(EPOCH - 86400))
    assert entry(snapshot, episode(1, 1)).payload == Watched.from_state(1, at(EPOCH - 500))


async def test_a_film_in_two_sections_is_one_entry_with_both_rating_keys(world: World) -> None:
    sim = world.sim
    matrix, matrix_4k = (i for i in sim.items.values() if i.title == "The Matrix")
    matrix_4k.view_count = 1
    snapshot = (await read_whole(world.provider(), H, None)).snapshot
    found = entry(snapshot, MATRIX).item
    assert found.key == "imdb:tt0133093"
    assert {"imdb:tt0133093", "tmdb:movie:603", f"plex:{matrix.plex}"} <= set(found.tokens)
    assert set(found.local_tokens) == {
        f"plex_key:{matrix.rating_key}",
        f"plex_key:{matrix_4k.rating_key}",
    }


async def test_episodes_carry_their_shows_title_year_and_ids_and_their_own(world: World) -> None:
    e1 = items(world)["e1"]
    found = entry((await read_whole(world.provider(), H, None)).snapshot, episode(1, 1)).item
    assert (found.title, found.year, found.season, found.episode) == ("Dark", 2017, 1, 1)
    assert {
        "imdb:tt5753856#s01e01",
        "tmdb:show:70523#s01e01",
        "tvdb:show:334824#s01e01",
        "tvdb:episode:6321901",
        f"plex:{e1.plex}",
    } <= set(found.tokens)
    assert found.local_tokens == (f"plex_key:{e1.rating_key}",)


async def test_ratings_come_from_user_rating_in_half_steps_with_last_rated_at(
    world: World,
) -> None:
    snapshot = (await read_whole(world.provider(), R, None)).snapshot
    assert snapshot.complete
    assert len(snapshot) == 3
    assert entry(snapshot, MATRIX).payload == Rated(9.0, at(EPOCH - 3600))
    assert entry(snapshot, DARK).payload == Rated(8.0, at(EPOCH - 7200))
    assert entry(snapshot, episode(2, 1)).payload == Rated(7.5, at(EPOCH - 100))


async def test_items_with_only_a_plex_guid_are_keyed_by_it(world: World) -> None:
    world.sim.quirks.plex_guid_only = True
    named = items(world)
    snapshot = (await read_whole(world.provider(), H, None)).snapshot
    matrix = snapshot.find(
        MediaItem.create(MediaType.MOVIE, title="x", ids={"plex": named["matrix"].plex})
    )
    assert matrix is not None
    assert matrix.key == f"plex:{named['matrix'].plex}"
    e1 = next(e for e in snapshot.entries.values() if e.item.type is MediaType.EPISODE)
    assert e1.item.tokens == (f"plex:{named['dark'].plex}#s01e01", f"plex:{named['e1'].plex}")


async def test_legacy_agent_guids_give_the_movies_imdb_and_the_episodes_show_tvdb(
    world: World,
) -> None:
    world.sim.quirks.legacy_agents = True
    snapshot = (await read_whole(world.provider(), H, None)).snapshot
    assert snapshot.complete
    assert entry(snapshot, MATRIX).item.tokens == ("imdb:tt0133093",)
    assert entry(snapshot, episode(1, 1)).item.tokens == ("tvdb:show:334824#s01e01",)


async def test_a_movie_known_only_to_the_legacy_themoviedb_agent_gets_its_tmdb_id(
    world: World,
) -> None:
    world.sim.quirks.legacy_agents = True
    world.sim.add_movie("1", "Alien", 1979, tmdb=348)
    snapshot = (await read_whole(world.provider(), R, None)).snapshot
    world.sim.item("Alien").user_rating = 10.0
    snapshot = (await read_whole(world.provider(), R, None)).snapshot
    alien = MediaItem.create(MediaType.MOVIE, title="Alien", year=1979, ids={"tmdb": 348})
    assert entry(snapshot, alien).payload == Rated(10.0, None)


def test_an_episode_whose_show_was_not_read_takes_the_show_from_its_own_guids() -> None:
    row = {
        "ratingKey": "77",
        "guid": "com.plexapp.agents.thetvdb://334824/3/4?lang=en",
        "grandparentGuid": "plex://show/5d9c086c46115600200aa2fe",
        "grandparentTitle": "Dark",
    }
    item = library._episode(parse_metadata(row), "77", {})
    assert (item.title, item.year, item.season, item.episode) == ("Dark", None, 3, 4)
    assert item.tokens == ("tvdb:show:334824#s03e04", "plex:5d9c086c46115600200aa2fe#s03e04")


async def test_the_library_is_read_in_pages_up_to_the_announced_total(world: World) -> None:
    snapshot = (await read_whole(world.provider(world.client(page_size=1)), H, None)).snapshot
    assert snapshot.complete
    assert len(snapshot) == 2
    starts = [r.path for r in world.apps.server[RECORDED] if r.path == "/library/sections/1/all"]
    assert len(starts) == 2  # two films, one a page


async def test_slow_pages_still_give_a_complete_snapshot(world: World) -> None:
    world.sim.quirks.page_delay = 0.02
    assert (await read_whole(world.provider(), H, None)).snapshot.complete


async def test_a_server_error_in_mid_pagination_gives_a_partial_snapshot(world: World) -> None:
    quirks = world.sim.quirks
    quirks.fault_path, quirks.error_on_page = "/library/sections/1/", 2
    snapshot = (await read_whole(world.provider(world.client(page_size=1)), H, None)).snapshot
    assert not snapshot.complete
    assert "section 1 movies: page at 1" in (snapshot.completeness.failure or "")
    # What was read is kept: the other sections, and the first page of this one.
    assert snapshot.find(episode(1, 1)) is not None
    assert snapshot.find(MATRIX) is not None


async def test_a_timeout_in_mid_pagination_gives_a_partial_snapshot(world: World) -> None:
    quirks = world.sim.quirks
    quirks.fault_path, quirks.timeout_on_page, quirks.hang_seconds = "sections/2/", 2, 0.5
    client = world.client(page_size=1, retry=RetryPolicy(attempts=1, backoff=0, timeout=0.2))
    snapshot = (await read_whole(world.provider(client), H, None)).snapshot
    assert not snapshot.complete
    assert "did not answer in time" in (snapshot.completeness.failure or "")


async def test_a_short_page_under_an_unchanged_total_gives_a_partial_snapshot(
    world: World,
) -> None:
    quirks = world.sim.quirks
    quirks.fault_path, quirks.truncate_page = "/library/sections/1/", 1
    snapshot = (await read_whole(world.provider(world.client(page_size=2)), H, None)).snapshot
    assert not snapshot.complete
    assert "held 1 of 2" in (snapshot.completeness.failure or "")


async def test_the_servers_own_count_agrees_with_a_scan_that_saw_the_whole_library(
    world: World,
) -> None:
    provider = world.provider()
    for feature in (H, R):
        snapshot = (await read_whole(provider, feature, None)).snapshot
        assert await provider.count_agrees(snapshot) is True
    asked = Counter(
        r.path.split("/")[3]
        for r in world.apps.server[RECORDED]
        if r.path.endswith("/firstCharacters")
    )
    # Twice each: a movie section counts its films; a show section its shows and episodes.
    assert asked == {"1": 2, "2": 4, "3": 2}


async def test_a_scan_that_lost_items_under_complete_looking_totals_disagrees_with_the_count(
    world: World,
) -> None:
    world.sim.quirks.fault_path, world.sim.quirks.empty_replies = "/library/sections/2/", 2
    provider = world.provider()
    snapshot = (await read_whole(provider, H, None)).snapshot
    assert snapshot.complete  # the totals said the show section was empty
    assert await provider.count_agrees(snapshot) is False


async def test_a_section_the_last_scan_met_still_counts_when_the_section_list_comes_back_short(
    world: World,
) -> None:
    provider = world.provider()
    await read_whole(provider, H, None)
    provider.forget_reads(validated=True)
    world.sim.quirks.empty_replies = 2  # the section list, then (unasked) nothing else
    world.sim.quirks.fault_path = "/library/sections/all"
    snapshot = (await read_whole(provider, H, None)).snapshot
    assert len(snapshot) == 0
    assert await provider.count_agrees(snapshot) is False


async def test_the_watchlist_has_no_count_of_its_own(world: World) -> None:
    provider = world.provider()
    snapshot = (await read_whole(provider, W, None)).snapshot
    assert await provider.count_agrees(snapshot) is None


async def test_a_count_reply_without_its_groups_is_a_provider_error(
    world: World, serve: Serve
) -> None:
    async def sections(request: web.Request) -> web.Response:
        directory = [{"key": "1", "type": "movie", "title": "Movies"}]
        return web.json_response({"MediaContainer": {"size": 1, "Directory": directory}})

    async def counts(request: web.Request) -> web.Response:
        return web.json_response({"MediaContainer": {"size": 2, "Directory": None}})

    app = web.Application()
    app.router.add_get("/library/sections/all", sections)
    app.router.add_get("/library/sections/1/firstCharacters", counts)
    client = world.client(server_url=await serve(app))
    with pytest.raises(CrossWatchInvalidResponseError, match="Directory"):
        await client.section_count("1", TYPE_MOVIE)


async def _odd_server(serve: Serve, pages: list[dict[str, Any]]) -> str:
    """A server whose one movie section answers `pages` in turn."""
    replies = iter(pages)

    async def sections(request: web.Request) -> web.Response:
        directory = [{"key": "1", "type": "movie", "title": "Movies"}]
        return web.json_response({"MediaContainer": {"size": 1, "Directory": directory}})

    async def section(request: web.Request) -> web.Response:
        page = next(replies)
        headers = page.pop("headers", {})
        return web.json_response({"MediaContainer": page}, headers=headers)

    app = web.Application()
    app.router.add_get("/library/sections/all", sections)
    app.router.add_get("/library/sections/1/all", section)
    return await serve(app)


def _movie(key: str, title: str, **fields: Any) -> dict[str, Any]:
    return {"ratingKey": key, "title": title, "type": "movie", "guid": "", **fields}


async def test_totals_that_change_between_pages_give_a_partial_snapshot(
    world: World, serve: Serve
) -> None:
    url = await _odd_server(
        serve,
        [
            {"size": 1, "totalSize": 3, "offset": 0, "Metadata": [_movie("1", "A", viewCount=1)]},
            {"size": 1, "totalSize": 2, "offset": 1, "Metadata": [_movie("2", "B", viewCount=1)]},
        ],
    )
    snapshot = (
        await read_whole(world.provider(world.client(server_url=url, page_size=1)), H, None)
    ).snapshot
    assert snapshot.completeness.failure == (
        "section 1 movies: the total changed from 3 to 2 while reading"
    )


async def test_a_page_at_another_offset_than_asked_gives_a_partial_snapshot(
    world: World, serve: Serve
) -> None:
    url = await _odd_server(
        serve,
        [
            {"size": 1, "totalSize": 2, "offset": 0, "Metadata": [_movie("1", "A", viewCount=1)]},
            {"size": 1, "totalSize": 2, "offset": 0, "Metadata": [_movie("1", "A", viewCount=1)]},
        ],
    )
    snapshot = (
        await read_whole(world.provider(world.client(server_url=url, page_size=1)), H, None)
    ).snapshot
    assert "asked for 1, got a page at 0" in (snapshot.completeness.failure or "")


async def test_a_list_without_a_total_ends_at_its_first_short_page(
    world: World, serve: Serve
) -> None:
    url = await _odd_server(
        serve,
        [
            {"size": 1, "headers": {"X-Plex-Container-Total-Size": "x"},
             "Metadata": [_movie("1", "A", viewCount=1)]},
            {"size": 0},
        ],
    )  # fmt: skip
    snapshot = (
        await read_whole(world.provider(world.client(server_url=url, page_size=1)), H, None)
    ).snapshot
    assert snapshot.complete
    assert snapshot.completeness.expected_total is None
    assert len(snapshot) == 1


async def test_the_total_in_the_header_counts_when_the_body_has_none(
    world: World, serve: Serve
) -> None:
    url = await _odd_server(
        serve,
        [{"size": 1, "headers": {"X-Plex-Container-Total-Size": "1"},
          "Metadata": [_movie("1", "A", viewCount=1)]}],
    )  # fmt: skip
    snapshot = (
        await read_whole(world.provider(world.client(server_url=url, page_size=5)), H, None)
    ).snapshot
    assert snapshot.complete
    assert snapshot.completeness.expected_total == 1


async def test_records_a_feature_needs_but_cannot_read_make_its_snapshot_partial(
    world: World, serve: Serve
) -> None:
    rows = [
        {"title": "No key", "type": "movie", "viewCount": 1},  # watched, without ratingKey
        {"title": "No key either", "type": "movie", "userRating": 6.0},  # rated
        {"ratingKey": "3", "type": "movie", "title": "Odd", "userRating": 7.3},  # not a Plex value
        _movie("4", "Fine", viewCount=1, userRating=5.0, lastRatedAt=True),
    ]
    url = await _odd_server(serve, [{"size": 4, "totalSize": 4, "offset": 0, "Metadata": rows}] * 2)
    provider = world.provider(world.client(server_url=url), library_ttl=0)
    history = (await read_whole(provider, H, None)).snapshot
    assert history.completeness.failure == "1 records could not be read"
    ratings = (await read_whole(provider, R, None)).snapshot
    assert ratings.completeness.failure == "1 records could not be read"
    fine = MediaItem.create(MediaType.MOVIE, ids={"plex_key": 4})
    assert entry(ratings, fine).payload == Rated(5.0, None)


async def test_a_reply_without_a_media_container_ends_the_read_partial(
    world: World, serve: Serve
) -> None:
    url = await _odd_server(serve, [{"size": 1, "Metadata": {"not": "a list"}}])
    snapshot = (await read_whole(world.provider(world.client(server_url=url)), H, None)).snapshot
    assert "Metadata that is not a list" in (snapshot.completeness.failure or "")


async def test_the_server_answers_xml_unless_json_is_asked_for(
    world: World, session: aiohttp.ClientSession
) -> None:
    url = f"{world.urls['server']}/library/sections/all"
    async with session.get(url, headers={"X-Plex-Token": world.sim.server_token}) as reply:
        assert reply.content_type == "text/xml"
        assert (await reply.text()).startswith("<?xml")
    assert await world.client().sections()  # the client asks for JSON


async def test_history_and_ratings_share_one_library_scan_until_a_write(world: World) -> None:
    provider = world.provider()
    await read_whole(provider, H, None)
    scanned = provider.requests_made
    await read_whole(provider, R, None)
    assert provider.requests_made == scanned
    await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    written = provider.requests_made
    ratings = (await read_whole(provider, R, None)).snapshot
    assert provider.requests_made > written
    assert ratings.complete


async def test_the_library_scan_is_read_again_once_it_is_older_than_its_ttl(
    world: World,
) -> None:
    clock = [1000.0]
    provider = world.provider(library_ttl=60, now=lambda: clock[0])
    await read_whole(provider, H, None)
    scanned = provider.requests_made
    clock[0] += 61
    await read_whole(provider, H, None)
    assert provider.requests_made > scanned


async def test_a_play_made_within_the_ttl_shows_once_the_reads_are_forgotten(
    world: World,
) -> None:
    provider = world.provider(library_ttl=60, now=lambda: 1000.0)
    before = (await read_whole(provider, H, None)).snapshot
    item = world.sim.item("Heat")
    item.view_count, item.last_viewed_at = 1, 1000

    kept = (await read_whole(provider, H, None)).snapshot
    provider.forget_reads(H)
    fresh = (await read_whole(provider, H, None)).snapshot

    assert len(kept) == len(before)  # the minute-old scan stood in
    assert len(fresh) == len(before) + 1


async def test_forgetting_the_watchlist_keeps_the_library_scan(world: World) -> None:
    provider = world.provider(library_ttl=60, now=lambda: 1000.0)
    await read_whole(provider, H, None)
    scanned = provider.requests_made
    provider.forget_reads(W)
    await read_whole(provider, R, None)
    assert provider.requests_made == scanned


# -- watchlist reads ------------------------------------------------------------------------------


def _seed_watchlist(world: World) -> None:
    sim = world.sim
    named = items(world)
    inception = sim.add_title("movie", "Inception", 2010, imdb="tt1375666", tmdb=27205)
    sim.watchlist[named["matrix"].plex or ""] = EPOCH - 30
    sim.watchlist[named["dark"].plex or ""] = EPOCH - 20
    sim.watchlist[inception.plex] = EPOCH - 10


async def test_the_watchlist_holds_movies_and_shows_with_their_guids(world: World) -> None:
    _seed_watchlist(world)
    snapshot = (await read_whole(world.provider(), W, None)).snapshot
    assert snapshot.complete
    assert len(snapshot) == 3
    for item in (MATRIX, DARK, INCEPTION):
        assert entry(snapshot, item).payload == Listed(None)
    dark = entry(snapshot, DARK).item
    assert dark.local_tokens == ()  # Discover ids are Plex's own, not a server's
    assert f"plex:{items(world)['dark'].plex}" in dark.tokens


async def test_the_watchlist_is_read_in_pages(world: World) -> None:
    _seed_watchlist(world)
    snapshot = (
        await read_whole(world.provider(world.client(watchlist_page_size=1)), W, None)
    ).snapshot
    assert snapshot.complete
    assert len(snapshot) == 3
    reads = [r for r in world.apps.discover[RECORDED] if "watchlist" in r.path]
    assert len(reads) == 3


async def test_a_watchlist_page_that_fails_gives_a_partial_snapshot(world: World) -> None:
    _seed_watchlist(world)
    world.sim.quirks.fault_path, world.sim.quirks.error_on_page = "watchlist", 2
    snapshot = (
        await read_whole(world.provider(world.client(watchlist_page_size=1)), W, None)
    ).snapshot
    assert not snapshot.complete
    assert len(snapshot) == 1


async def test_watchlist_items_with_only_a_plex_guid_borrow_the_library_copys_ids(
    world: World,
) -> None:
    _seed_watchlist(world)
    world.sim.quirks.plex_guid_only = True
    provider = world.provider(library_ttl=0)
    snapshot = (await read_whole(provider, W, None)).snapshot
    # The library (read without Guids too) cannot lend what it does not have ...
    assert snapshot.find(MATRIX) is None
    world.sim.quirks.plex_guid_only = False
    await read_whole(provider, H, None)  # ... a library read with Guids can
    world.sim.quirks.plex_guid_only = True
    snapshot = (await read_whole(provider, W, None)).snapshot
    matrix = entry(snapshot, MATRIX).item
    assert "tmdb:movie:603" in matrix.tokens
    assert matrix.local_tokens == ()
    assert snapshot.find(INCEPTION) is None  # not in the library: Plex's own id only


async def test_the_watchlist_stands_without_extra_ids_when_the_library_cannot_be_read(
    world: World,
) -> None:
    _seed_watchlist(world)
    world.sim.quirks.plex_guid_only = True
    client = world.client(server_url="http://127.0.0.1:9")
    snapshot = (await read_whole(world.provider(client), W, None)).snapshot
    assert snapshot.complete
    assert len(snapshot) == 3


async def test_watchlist_records_of_other_types_are_skipped_and_unreadable_ones_noted(
    world: World, serve: Serve
) -> None:
    async def watchlist(request: web.Request) -> web.Response:
        rows = [
            {"type": "collection", "title": "Box set", "ratingKey": "1"},
            {"type": "movie", "ratingKey": "2"},
            {"type": "movie", "title": "Heat", "year": 1995, "ratingKey": "3",
             "guid": "plex://movie/5d776b59ad5437001f79c6f8", "Guid": [{"id": "tmdb://949"}]},
        ]  # fmt: skip
        return web.json_response(
            {"MediaContainer": {"size": 3, "totalSize": 3, "offset": 0, "Metadata": rows}}
        )

    app = web.Application()
    app.router.add_get("/library/sections/watchlist/all", watchlist)
    client = world.client(discover_url=await serve(app))
    snapshot = (await read_whole(world.provider(client), W, None)).snapshot
    assert snapshot.completeness.failure == "1 records could not be read"
    assert len(snapshot) == 1
    assert snapshot.find(HEAT) is not None


async def test_a_revoked_token_refuses_the_watchlist(world: World) -> None:
    world.sim.quirks.revoked = True
    with pytest.raises(CrossWatchAuthenticationError):
        await world.client().watchlist()


# -- history and ratings writes ---------------------------------------------------------------------


async def test_a_history_add_scrobbles_the_library_item_and_names_it_in_stored_as(
    world: World,
) -> None:
    heat = items(world)["heat"]
    provider = world.provider()
    [result] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    assert result.outcome is WriteOutcome.CONFIRMED
    assert result.stored_as is not None
    assert result.stored_as.local_tokens == (f"plex_key:{heat.rating_key}",)
    assert "imdb:tt0113277" in result.stored_as.tokens
    assert heat.view_count == 1
    # Plex dates the play itself: when it received the scrobble.
    assert heat.last_viewed_at == world.sim.now
    snapshot = (await read_whole(provider, H, None)).snapshot
    assert entry(snapshot, HEAT).payload == Watched.from_state(1, at(world.sim.now))


async def test_a_history_write_goes_to_every_copy_of_a_film(world: World) -> None:
    matrix, matrix_4k = (i for i in world.sim.items.values() if i.title == "The Matrix")
    assert (matrix.view_count, matrix_4k.view_count) == (2, 0)
    provider = world.provider()
    [added] = await provider.write(H, Action.ADD, add(MATRIX, Watched.from_state(3, None)))
    assert added.outcome is WriteOutcome.CONFIRMED
    # The copy watched already is not counted again (see the test below).
    assert (matrix.view_count, matrix_4k.view_count) == (2, 1)
    [removed] = await provider.write(H, Action.REMOVE, add(MATRIX))
    assert removed.outcome is WriteOutcome.CONFIRMED
    assert (matrix.view_count, matrix_4k.view_count) == (0, 0)
    assert (await read_whole(provider, H, None)).snapshot.find(MATRIX) is None


async def test_marking_a_film_watched_that_plex_shows_watched_adds_no_play_of_our_own(
    world: World,
) -> None:
    # Found by the full machine: Plex's first answers were empty, so a two-way pair copied
    # Trakt's play of a film Plex held watched. The scrobble made a second play, dated by us,
    # which the next run took for the user's and carried back to Trakt.
    heat = items(world)["heat"]
    heat.view_count, heat.last_viewed_at = 1, world.sim.now - 3600
    provider = world.provider()

    [result] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))

    assert result.outcome is WriteOutcome.CONFIRMED
    assert result.stored_as is not None
    assert (heat.view_count, heat.last_viewed_at) == (1, world.sim.now - 3600)
    assert not [path for path, _ in world.sim.writes if path == "/:/scrobble"]


async def test_an_episode_is_found_by_its_shows_ids_and_numbering(world: World) -> None:
    e2 = items(world)["e2"]
    [result] = await world.provider().write(
        H, Action.ADD, add(episode(1, 2, imdb="tt5753856"), Watched.from_state(1, None))
    )
    assert result.outcome is WriteOutcome.CONFIRMED
    assert e2.view_count == 1


async def test_an_item_not_in_the_library_is_rejected_as_not_in_library(world: World) -> None:
    [result] = await world.provider().write(
        H, Action.ADD, add(INCEPTION, Watched.from_state(1, None))
    )
    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)
    assert world.sim.writes == []


async def test_not_in_a_library_read_in_part_says_so(world: World) -> None:
    world.sim.quirks.fault_path, world.sim.quirks.error_on_page = "/library/sections/1/", 1
    [result] = await world.provider().write(
        H, Action.ADD, add(INCEPTION, Watched.from_state(1, None))
    )
    assert result.outcome is WriteOutcome.REJECTED
    assert result.reason == f"{NOT_IN_LIBRARY} (the library could not be read in full)"


async def test_an_item_without_ids_lands_on_the_one_library_item_of_that_title_and_year(
    world: World,
) -> None:
    heat = items(world)["heat"]
    bare = MediaItem.create(MediaType.MOVIE, title="HEAT", year=1995)
    [result] = await world.provider().write(H, Action.ADD, add(bare, Watched.from_state(1, None)))
    assert result.outcome is WriteOutcome.CONFIRMED
    assert result.stored_as is not None
    assert result.stored_as.local_tokens == (f"plex_key:{heat.rating_key}",)
    assert heat.view_count == 1


async def test_title_matches_can_be_turned_off_and_never_guess_between_several(
    world: World,
) -> None:
    bare = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995)
    off = world.provider(title_matches=False)
    [refused] = await off.write(H, Action.ADD, add(bare, Watched.from_state(1, None)))
    assert (refused.outcome, refused.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)

    world.sim.add_movie("3", "Heat", 1995, imdb="tt9999999")  # a different film, same name
    [ambiguous] = await world.provider().write(
        H, Action.ADD, add(bare, Watched.from_state(1, None))
    )
    assert ambiguous.outcome is WriteOutcome.REJECTED

    undated = MediaItem.create(MediaType.MOVIE, title="Heat")
    [no_year] = await world.provider().write(
        H, Action.ADD, add(undated, Watched.from_state(1, None))
    )
    assert no_year.outcome is WriteOutcome.REJECTED
    assert world.sim.writes == []


async def test_a_rescan_between_read_and_write_finds_the_item_again(world: World) -> None:
    provider = world.provider()
    await read_whole(provider, H, None)
    world.sim.quirks.rescans_before_writes = 1
    [result] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    assert result.outcome is WriteOutcome.CONFIRMED
    heat = world.sim.item("Heat")
    assert heat.view_count == 1
    assert result.stored_as is not None
    assert result.stored_as.local_tokens == (f"plex_key:{heat.rating_key}",)


async def test_an_item_that_keeps_vanishing_is_rejected_after_one_fresh_look(
    world: World,
) -> None:
    provider = world.provider()
    await read_whole(provider, H, None)
    world.sim.quirks.rescans_before_writes = 2
    [result] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)


async def test_an_item_removed_from_the_library_since_the_read_is_rejected(
    world: World,
) -> None:
    provider = world.provider()
    await read_whole(provider, H, None)
    del world.sim.items[items(world)["heat"].rating_key]
    [result] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)


async def test_ratings_are_written_in_half_steps_and_removed_with_minus_one(
    world: World,
) -> None:
    heat = items(world)["heat"]
    provider = world.provider()
    [rated] = await provider.write(R, Action.ADD, add(HEAT, Rated(7.0)))
    assert rated.outcome is WriteOutcome.CONFIRMED
    assert (heat.user_rating, heat.last_rated_at) == (7.0, world.sim.now)
    assert world.sim.writes[-1][1]["rating"] == "7"
    [updated] = await provider.write(R, Action.UPDATE, add(HEAT, Rated(6.4)))
    assert updated.outcome is WriteOutcome.CONFIRMED
    assert world.sim.writes[-1][1]["rating"] == "6.5"
    assert (await read_whole(provider, R, None)).snapshot.find(HEAT) is not None
    [removed] = await provider.write(R, Action.REMOVE, add(HEAT))
    assert removed.outcome is WriteOutcome.CONFIRMED
    assert world.sim.writes[-1][1]["rating"] == "-1"
    assert heat.user_rating is None
    assert (await read_whole(provider, R, None)).snapshot.find(HEAT) is None


async def test_a_rating_write_without_a_rating_is_rejected(world: World) -> None:
    [result] = await world.provider().write(R, Action.ADD, add(HEAT))
    assert result.outcome is WriteOutcome.REJECTED
    assert world.sim.writes == []


async def test_a_conflict_is_never_written(world: World) -> None:
    [result] = await world.provider().write(R, Action.CONFLICT, add(HEAT, Rated(3.0)))
    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, CONFLICT)
    assert world.sim.writes == []


async def test_a_refused_write_is_rejected_and_a_lost_one_unknown(world: World) -> None:
    provider = world.provider()
    world.sim.quirks.write_error_status = 400
    [refused] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    assert refused.outcome is WriteOutcome.REJECTED
    assert "HTTP 400" in (refused.reason or "")
    world.sim.quirks.write_error_status = 503
    [lost] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    assert lost.outcome is WriteOutcome.UNKNOWN


async def test_a_revoked_token_stops_a_write_batch_with_an_auth_error(world: World) -> None:
    provider = world.provider()
    await read_whole(provider, H, None)
    world.sim.quirks.revoked = True
    with pytest.raises(AuthError):
        await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    with pytest.raises(AuthError):
        await provider.write(W, Action.ADD, add(INCEPTION))


async def test_writes_show_up_only_after_the_server_settles(world: World) -> None:
    world.sim.quirks.visible_after_reads = 1
    provider = world.provider()
    [result] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    # Plex answered the call; the engine verifies against later snapshots.
    assert result.outcome is WriteOutcome.CONFIRMED
    assert (await read_whole(provider, H, None)).snapshot.find(HEAT) is None
    provider = world.provider()
    assert (await read_whole(provider, H, None)).snapshot.find(HEAT) is not None


# -- watchlist writes ---------------------------------------------------------------------------


async def test_a_watchlist_add_by_plex_id_goes_straight_to_discover(world: World) -> None:
    matrix = items(world)["matrix"]
    item = MediaItem.create(MediaType.MOVIE, title="The Matrix", ids={"plex": matrix.plex})
    provider = world.provider()
    [result] = await provider.write(W, Action.ADD, add(item, Listed()))
    assert (result.outcome, result.stored_as) == (WriteOutcome.CONFIRMED, None)
    assert matrix.plex in world.sim.watchlist
    assert world.apps.metadata[RECORDED] == []


async def test_a_watchlist_add_by_imdb_id_is_matched_at_the_metadata_service(
    world: World,
) -> None:
    inception = world.sim.add_title("movie", "Inception", 2010, imdb="tt1375666", tmdb=27205)
    provider = world.provider()
    [result] = await provider.write(W, Action.ADD, add(INCEPTION, Listed()))
    assert result.outcome is WriteOutcome.CONFIRMED
    assert inception.plex in world.sim.watchlist
    assert result.stored_as is not None
    assert {f"plex:{inception.plex}", "tmdb:movie:27205"} <= set(result.stored_as.tokens)
    snapshot = (await read_whole(provider, W, None)).snapshot
    assert snapshot.find(INCEPTION) is not None
    [removed] = await provider.write(W, Action.REMOVE, add(INCEPTION))
    assert removed.outcome is WriteOutcome.CONFIRMED
    assert world.sim.watchlist == {}


async def test_a_watchlist_add_uses_the_library_copys_plex_id_when_it_has_one(
    world: World,
) -> None:
    heat = items(world)["heat"]
    provider = world.provider()
    await read_whole(provider, H, None)
    [result] = await provider.write(W, Action.ADD, add(HEAT, Listed()))
    assert result.outcome is WriteOutcome.CONFIRMED
    assert heat.plex in world.sim.watchlist
    assert world.apps.metadata[RECORDED] == []


async def test_a_show_is_matched_by_its_tvdb_id_after_the_others_fail(world: World) -> None:
    dark = items(world)["dark"]
    show = MediaItem.create(
        MediaType.SHOW, title="Dark", year=2017, ids={"imdb": "tt0000001", "tvdb": 334824}
    )
    [result] = await world.provider().write(W, Action.ADD, add(show, Listed()))
    assert result.outcome is WriteOutcome.CONFIRMED
    assert dark.plex in world.sim.watchlist
    asked = [r.path for r in world.apps.metadata[RECORDED]]
    assert asked == ["/library/metadata/matches"] * 2


async def test_a_watchlist_item_plex_cannot_name_is_rejected(world: World) -> None:
    sim = world.sim
    # Two titles behind one id identify neither.
    sim.add_title("movie", "Twin A", 2001, imdb="tt7777777")
    sim.add_title("movie", "Twin B", 2001, imdb="tt7777777")
    twin = MediaItem.create(MediaType.MOVIE, title="Twin", ids={"imdb": "tt7777777"})
    unknown = MediaItem.create(MediaType.MOVIE, title="Nope", ids={"tmdb": 1})
    results = await world.provider().write(
        W, Action.ADD, [WriteRequest(twin, Listed()), WriteRequest(unknown, Listed())]
    )
    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.REJECTED, NOT_ON_PLEX),
        (WriteOutcome.REJECTED, NOT_ON_PLEX),
    ]


async def test_episodes_and_seasons_cannot_go_on_a_plex_watchlist(world: World) -> None:
    [result] = await world.provider().write(W, Action.ADD, add(episode(1, 1), Listed()))
    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, WATCHLIST_TYPES)


async def test_watchlist_write_errors_are_rejected_or_unknown_by_status(world: World) -> None:
    matrix = items(world)["matrix"]
    item = MediaItem.create(MediaType.MOVIE, title="The Matrix", ids={"plex": matrix.plex})
    provider = world.provider()
    world.sim.quirks.write_error_status = 400
    [refused] = await provider.write(W, Action.ADD, add(item, Listed()))
    assert refused.outcome is WriteOutcome.REJECTED
    world.sim.quirks.write_error_status = 502
    [lost] = await provider.write(W, Action.ADD, add(item, Listed()))
    assert lost.outcome is WriteOutcome.UNKNOWN


async def test_a_match_the_metadata_service_cannot_parse_is_no_match(world: World) -> None:
    assert await world.client().matches(1, "bogus") == []


async def test_a_matched_title_without_a_usable_record_still_lands(
    world: World, serve: Serve
) -> None:
    async def matches(request: web.Request) -> web.Response:
        rows = [{"ratingKey": "5d776b59ad5437001f79c6f8", "type": "movie"}]
        return web.json_response({"MediaContainer": {"size": 1, "Metadata": rows}})

    async def add_to_watchlist(request: web.Request) -> web.Response:
        return web.Response()

    metadata, discover = web.Application(), web.Application()
    metadata.router.add_get("/library/metadata/matches", matches)
    discover.router.add_put("/actions/addToWatchlist", add_to_watchlist)
    client = world.client(metadata_url=await serve(metadata), discover_url=await serve(discover))
    [result] = await world.provider(client).write(W, Action.ADD, add(INCEPTION, Listed()))
    assert (result.outcome, result.stored_as) == (WriteOutcome.CONFIRMED, None)


async def test_a_sections_reply_that_fails_fails_the_read(world: World) -> None:
    client = world.client(server_url="http://127.0.0.1:9")
    with pytest.raises(ProviderError):
        await read_whole(world.provider(client), H, None)


# -- the less travelled paths -----------------------------------------------------------------------


async def test_a_server_token_refused_while_lending_ids_to_the_watchlist_is_an_auth_error(
    world: World,
) -> None:
    _seed_watchlist(world)
    world.sim.quirks.plex_guid_only = True
    with pytest.raises(AuthError):
        await read_whole(world.provider(world.client(server_token="wrong")), W, None)


async def test_a_write_the_server_never_answered_is_unknown(
    world: World, session: aiohttp.ClientSession
) -> None:
    client = world.client()
    provider = world.provider(client)
    await read_whole(provider, H, None)
    client.server = HttpClient(
        session, "http://127.0.0.1:9", service="Plex", retry=RetryPolicy(attempts=1)
    )
    [result] = await provider.write(H, Action.ADD, add(HEAT, Watched.from_state(1, None)))
    assert result.outcome is WriteOutcome.UNKNOWN
    discover = world.provider(world.client(discover_url="http://127.0.0.1:9"))
    item = MediaItem.create(MediaType.MOVIE, title="x", ids={"plex": items(world)["heat"].plex})
    [listed] = await discover.write(W, Action.ADD, add(item, Listed()))
    assert listed.outcome is WriteOutcome.UNKNOWN


async def test_a_metadata_service_failure_leaves_the_watchlist_write_unknown(
    world: World, serve: Serve
) -> None:
    async def matches(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/library/metadata/matches", matches)
    client = world.client(metadata_url=await serve(app))
    [result] = await world.provider(client).write(W, Action.ADD, add(INCEPTION, Listed()))
    assert result.outcome is WriteOutcome.UNKNOWN


async def test_a_sections_reply_without_its_media_container_fails_the_read(
    world: World, serve: Serve
) -> None:
    async def sections(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/library/sections/all", sections)
    with pytest.raises(ProviderError, match="MediaContainer"):
        await world.provider(world.client(server_url=await serve(app))).read(R, None)


async def test_a_total_that_is_not_a_number_counts_as_no_total(world: World, serve: Serve) -> None:
    url = await _odd_server(
        serve, [{"size": 1, "totalSize": True, "Metadata": [_movie("1", "A", viewCount=1)]}]
    )
    snapshot = (await read_whole(world.provider(world.client(server_url=url)), H, None)).snapshot
    assert snapshot.complete
    assert snapshot.completeness.expected_total is None


def test_guids_plex_cannot_read_and_season_guids_name_nothing_of_an_episode() -> None:
    row = {
        "ratingKey": "9",
        "guid": "local://9",
        "Guid": [{"id": "com.plexapp.agents.thetvdb://334824/2"}, {"id": "tvdb://6321901"}],
        "parentIndex": 1,
        "index": 1,
        "grandparentTitle": "Dark",
    }
    item = library._episode(parse_metadata(row), "9", {})
    assert item.tokens == ("tvdb:episode:6321901",)
    assert item.local_tokens == ("plex_key:9",)


async def test_a_rating_key_finds_our_own_item_but_never_another_servers_namesake(
    world: World,
) -> None:
    heat = items(world)["heat"]
    ours = MediaItem.create(MediaType.MOVIE, title="Heat", ids={"plex_key": heat.rating_key})
    # Another Plex server's item that happens to carry the same ratingKey.
    theirs = MediaItem.create(MediaType.MOVIE, title="Alien", ids={"plex_key": heat.rating_key})
    episode_key = MediaItem.create(
        MediaType.EPISODE, title="Heat", season=1, episode=1, ids={"plex_key": heat.rating_key}
    )
    untitled = MediaItem.create(MediaType.MOVIE, ids={"plex_key": heat.rating_key})
    results = await world.provider().write(
        H,
        Action.ADD,
        [
            WriteRequest(i, Watched.from_state(1, None))
            for i in (theirs, episode_key, ours, untitled)
        ],
    )
    assert [r.outcome for r in results] == [
        WriteOutcome.REJECTED,
        WriteOutcome.REJECTED,
        WriteOutcome.CONFIRMED,
        WriteOutcome.CONFIRMED,
    ]
    assert heat.view_count == 2
