"""Every healthy account shows its watched and rated items at setup, before any pair has run.

Each service's cheapest count is used, asked with the health checks (at setup, then on the
account coordinator's schedule): Trakt's statistics, a media server's own tallies, or what the
provider keeps of the to-do list's first read (AniList's whole list, SIMKL's lists of titles).
A count means what a complete read holds (items, not plays), as the pairs' counts do. A
service that cannot count a feature says so: the sensor is unavailable, never a made-up 0.
"""

from datetime import UTC, datetime
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.crosswatch.account_coordinator import HEALTH_INTERVAL
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.provider import Read
from tests.providers.conftest import Serve
from tests.simulators import (
    anilist as anilist_sim,
    mdblist as mdblist_sim,
    simkl as simkl_sim,
    trakt as trakt_sim,
)
from tests.simulators.plex import PlexSim, make_apps

from .helpers import YUKI, YUKI_TOKEN, anilist_entry, simkl_entry, state, trakt_entry
from .mediabrowser import EMBY, JELLYFIN, Brand, server_entry, start_server
from .test_mdblist_flow import mdblist_entry
from .test_server_pairs import Plex, sign_in_to_plex

PLAYED_AT = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    # The to-do list reads the watchlist once, in the background, after setup.
    await hass.async_block_till_done(wait_background_tasks=True)


async def _history_read(entry: ConfigEntry) -> Read:
    read = await entry.runtime_data.provider.read(Feature.HISTORY, None)
    assert isinstance(read, Read)
    assert read.snapshot.complete
    return read


# -- Trakt: /users/{id}/stats ------------------------------------------------------------------


@pytest.fixture
def played_and_rated(trakt: trakt_sim.TraktSim) -> trakt_sim.TraktSim:
    """The Matrix played twice, one episode of Dark once; two titles rated."""
    trakt.seed_play("movie", 1, PLAYED_AT)
    trakt.seed_play("movie", 1, PLAYED_AT.replace(day=2))
    trakt.seed_play("episode", 101, PLAYED_AT)
    trakt.seed_rating("movie", 1, 9, PLAYED_AT)
    trakt.seed_rating("show", 10, 8, PLAYED_AT)
    return trakt


async def test_a_trakt_account_shows_its_watched_and_rated_items_at_setup_from_one_request(
    hass: HomeAssistant, serve: Serve, played_and_rated: trakt_sim.TraktSim
) -> None:
    entry = trakt_entry(await serve(trakt_sim.make_app(played_and_rated)), played_and_rated)
    asked: list[str] = []
    original = TraktClient.stats

    async def stats(client: TraktClient, user: str) -> Any:
        asked.append(user)
        return await original(client, user)

    with patch.object(TraktClient, "stats", stats):
        await _set_up(hass, entry)

    # Items, not plays: The Matrix counts once however often it was played.
    assert state(hass, "sensor.trakt_alice_watched_items") == "2"
    assert state(hass, "sensor.trakt_alice_rated_items") == "2"
    assert asked == ["alice"]  # one statistics request at setup, nothing per read


async def test_trakt_statistics_count_what_a_history_read_holds(
    hass: HomeAssistant, serve: Serve, played_and_rated: trakt_sim.TraktSim
) -> None:
    entry = trakt_entry(await serve(trakt_sim.make_app(played_and_rated)), played_and_rated)
    await _set_up(hass, entry)

    read = await _history_read(entry)

    assert state(hass, "sensor.trakt_alice_watched_items") == str(len(read.snapshot))


async def test_trakt_counts_are_asked_again_on_the_health_schedule_not_per_read(
    hass: HomeAssistant,
    serve: Serve,
    played_and_rated: trakt_sim.TraktSim,
    freezer: FrozenDateTimeFactory,
) -> None:
    entry = trakt_entry(await serve(trakt_sim.make_app(played_and_rated)), played_and_rated)
    await _set_up(hass, entry)
    played_and_rated.seed_rating("movie", 2, 7, PLAYED_AT)  # rated on the website

    assert state(hass, "sensor.trakt_alice_rated_items") == "2"  # nothing asked in between
    freezer.tick(HEALTH_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, "sensor.trakt_alice_rated_items") == "3"


async def test_trakt_statistics_that_leave_a_count_out_make_no_zero_of_it(
    hass: HomeAssistant, serve: Serve, played_and_rated: trakt_sim.TraktSim
) -> None:
    app = trakt_sim.make_app(played_and_rated)
    entry = trakt_entry(await serve(app), played_and_rated)
    body = played_and_rated.stats()
    episodes = body["episodes"]
    assert isinstance(episodes, dict)
    del episodes["watched"]  # the episodes' ratings are there, their watched count is not

    with patch.object(trakt_sim.TraktSim, "stats", return_value=body):
        await _set_up(hass, entry)

    assert state(hass, "sensor.trakt_alice_watched_items") == "unavailable"
    assert state(hass, "sensor.trakt_alice_rated_items") == "2"


# -- SIMKL: its lists of titles, as the to-do list's first read pulled them ------------------


async def test_a_simkl_account_counts_its_watched_and_rated_items_from_the_to_do_lists_reads(
    hass: HomeAssistant, serve: Serve, simkl: simkl_sim.SimklState
) -> None:
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.add_title("movies", 103, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    simkl.user_lists(102, "plantowatch")
    simkl.user_lists(103, "completed", watched_at=PLAYED_AT)
    simkl.user_rates(103, 9)
    entry = simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)

    await _set_up(hass, entry)

    assert state(hass, "sensor.simkl_andrew_watchlist_items") == "1"
    assert state(hass, "sensor.simkl_andrew_watched_items") == "1"
    assert state(hass, "sensor.simkl_andrew_watched_items") == str(
        len((await _history_read(entry)).snapshot)
    )
    # SIMKL has no count of ratings, and pulls them apart from the lists: the to-do list's
    # first read pulls them once, so the sensor is known at setup too.
    assert state(hass, "sensor.simkl_andrew_rated_items") == "1"


# -- AniList: the whole list the to-do list's first read keeps --------------------------------


async def test_an_anilist_account_counts_watched_and_rated_entries_without_a_request_of_its_own(
    hass: HomeAssistant, serve: Serve
) -> None:
    anilist = anilist_sim.AniListState()
    anilist.add_user(YUKI, "Yuki", YUKI_TOKEN, score_format="POINT_100")
    for media_id, title in ((1, "Cowboy Bebop"), (2, "Trigun"), (3, "Monster"), (4, "Mushishi")):
        anilist.add_media(media_id, title, year=1998, episodes=26, id_mal=media_id)
    anilist.add_entry(YUKI, 1, "COMPLETED", progress=26, score_raw=90)
    anilist.add_entry(YUKI, 2, "CURRENT", progress=3)
    anilist.add_entry(YUKI, 3, "CURRENT", progress=0)  # started, no episode seen: no history
    anilist.add_entry(YUKI, 4, "PLANNING")
    entry = anilist_entry(await serve(anilist_sim.build_app(anilist)))

    await _set_up(hass, entry)

    assert state(hass, "sensor.anilist_yuki_watchlist_items") == "1"
    assert state(hass, "sensor.anilist_yuki_watched_items") == "2"
    assert state(hass, "sensor.anilist_yuki_rated_items") == "1"


# -- Plex: the server's tallies -----------------------------------------------------------------


@pytest.fixture
async def plex(serve: Serve) -> Plex:
    """A Plex server with two films (one played twice and rated) and a show's played episode."""
    sim = PlexSim(now=int(time.time()))
    sim.add_section("1", "movie", "Movies")
    sim.add_section("2", "show", "TV Shows")
    viewed = int(PLAYED_AT.timestamp())
    sim.add_movie(
        "1", "Heat", 1995, imdb="tt0113277", tmdb=949, view_count=2, last_viewed_at=viewed,
        user_rating=8.0, last_rated_at=viewed,
    )  # fmt: skip
    sim.add_movie("1", "The Matrix", 1999, imdb="tt0133093", tmdb=603)
    show = sim.add_show("2", "Dark", 2017, imdb="tt5753856", tmdb=70523, tvdb=334824)
    sim.add_episode(show, 1, 1, tvdb=5000101, view_count=1, last_viewed_at=viewed)
    sim.add_episode(show, 1, 2, tvdb=5000102)
    apps = make_apps(sim)
    names = ("server", "plex_tv", "discover", "metadata")
    urls = {name: await serve(getattr(apps, name)) for name in names}
    sim.connections = [{"uri": urls["server"], "local": True, "relay": False}]
    return Plex(sim, urls)


async def test_a_plex_account_shows_the_servers_tallies_at_setup(
    hass: HomeAssistant, plex: Plex
) -> None:
    entry = await sign_in_to_plex(hass, plex)
    await hass.async_block_till_done(wait_background_tasks=True)

    name = entry.title.lower().replace(" ", "_").replace("(", "").replace(")", "")
    watched = state(hass, f"sensor.{name}_watched_items")
    assert watched == "2"  # Heat (played twice: one item) and one episode
    assert state(hass, f"sensor.{name}_rated_items") == "1"
    assert watched == str(len((await _history_read(entry)).snapshot))


# -- Jellyfin and Emby: the server's total of played items ------------------------------------


@pytest.mark.parametrize("brand", [JELLYFIN, EMBY], ids=["jellyfin", "emby"])
async def test_a_media_server_account_counts_played_items_and_says_it_cannot_count_ratings(
    hass: HomeAssistant, serve: Serve, brand: Brand
) -> None:
    server = await start_server(serve, brand)
    library, user = server.state, server.user
    heat = library.add_movie("Heat", 1995, Imdb="tt0113277", Tmdb="949")
    library.add_movie("The Matrix", 1999, Imdb="tt0133093", Tmdb="603")
    series = library.add_series("Dark", 2017, Tvdb="334824")
    first = library.add_episode(series, 1, 1, Tvdb="5000101")
    library.add_episode(series, 1, 2, Tvdb="5000102")
    library.watch(user, heat, PLAYED_AT, count=3)
    library.watch(user, first, PLAYED_AT)
    library.rate(user, heat, 8.0)
    library.tokens["alices-token"] = user.id
    entry = server_entry(server, tokens={"access_token": "alices-token"})

    await _set_up(hass, entry)

    sensor = f"sensor.{brand.kind}_alice_on_living_room"
    assert state(hass, f"{sensor}_watched_items") == "2"  # Heat (played thrice) and one episode
    assert state(hass, f"{sensor}_watched_items") == str(len((await _history_read(entry)).snapshot))
    # Neither server can filter on "has a rating": no count without reading the library.
    assert state(hass, f"{sensor}_rated_items") == "unavailable"


# -- MDBList: no count apart from the lists ----------------------------------------------------


async def test_an_mdblist_account_says_it_cannot_count_watched_or_rated_items(
    hass: HomeAssistant, serve: Serve
) -> None:
    entry = mdblist_entry(await serve(mdblist_sim.mdblist_app(mdblist_sim.MdblistState())))

    await _set_up(hass, entry)

    assert state(hass, "sensor.mdblist_andrea_watched_items") == "unavailable"
    assert state(hass, "sensor.mdblist_andrea_rated_items") == "unavailable"
    assert state(hass, "sensor.mdblist_andrea_api_health") == "ok"
