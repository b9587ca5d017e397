"""The anime id mapping list in Home Assistant: AniList ⇄ Trakt pairs match anime through it.

AniList gives its entries AniList and MAL ids only; Trakt knows the same shows by TVDB, TMDB and
IMDb. Here only the list (served by its simulator) links them.
"""

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.crosswatch.anime_map import RETRY_AFTER
from custom_components.crosswatch.const import CONF_ANIME_MAP_URL, DOMAIN
from custom_components.crosswatch.engine.backfill import REFRESH_EVERY
from custom_components.crosswatch.providers.anime_lists import DEFAULT_URL
from tests.simulators import (
    anilist as anilist_sim,
    anime_lists,
    simkl as simkl_sim,
    trakt as trakt_sim,
)
from tests.simulators.serving import Serve

from .helpers import (
    YUKI,
    YUKI_TOKEN as TOKEN,
    add_pair,
    anilist_entry,
    set_up_accounts,
    state,
    sync_entry,
    trakt_entry,
)

ISSUE = "anime_map_unavailable"


def seed(anilist: anilist_sim.AniListState, trakt: trakt_sim.TraktSim) -> None:
    """Yuki plans Bebop and Steins;Gate on AniList; alice's Trakt watchlist has Bebop and FMA:B."""
    anilist.add_user(YUKI, "Yuki", TOKEN, score_format="POINT_100")
    anilist.add_media(1, "Cowboy Bebop", year=1998, episodes=26, id_mal=1)
    anilist.add_media(9253, "Steins;Gate", year=2011, episodes=24, id_mal=9253)
    anilist.add_media(5114, "Hagane no Renkinjutsushi", year=2009, episodes=64, id_mal=5114)
    anilist.add_entry(YUKI, 1, "PLANNING")
    anilist.add_entry(YUKI, 9253, "PLANNING")
    trakt.add_show(30991, "Cowboy Bebop", 1998, tvdb=76885, tmdb=30991, imdb="tt0213338")
    trakt.add_show(34203, "Steins;Gate", 2011, tvdb=244061, tmdb=42509, imdb="tt1910272")
    trakt.add_show(31911, "Fullmetal Alchemist: Brotherhood", 2009, tvdb=85249, tmdb=31911,
                   imdb="tt1355642")  # fmt: skip
    trakt.seed_watchlist("show", 30991)
    trakt.seed_watchlist("show", 31911)


def the_list() -> anime_lists.AnimeListsState:
    """The three shows in the mapping list (as Fribb's list has them), and one film."""
    listing = anime_lists.AnimeListsState()
    listing.add(type="TV", anilist_id=1, mal_id=1, anidb_id=23, tvdb_id=76885,
                themoviedb_id={"tv": 30991}, imdb_id=["tt0213338"])  # fmt: skip
    listing.add(type="TV", anilist_id=9253, mal_id=9253, anidb_id=7729, tvdb_id=244061,
                themoviedb_id={"tv": 42509}, imdb_id=["tt1910272"])  # fmt: skip
    listing.add(type="TV", anilist_id=5114, mal_id=5114, anidb_id=6107, tvdb_id=85249,
                themoviedb_id={"tv": 31911}, imdb_id=["tt1355642"])  # fmt: skip
    listing.add(type="MOVIE", anilist_id=21519, mal_id=32281, themoviedb_id={"movie": [372058]},
                imdb_id="tt5311514")  # fmt: skip
    return listing


async def set_up(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    anilist: anilist_sim.AniListState,
    listing: anime_lists.AnimeListsState,
) -> MockConfigEntry:
    """Both accounts, the sync entry with the list's URL, and the AniList ⇄ Trakt pair."""
    accounts = (
        anilist_entry(await serve(anilist_sim.build_app(anilist))),
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt),
    )
    for entry in accounts:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry(anime_lists.url(await serve(anime_lists.make_app(listing))))
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, name="Anime", source=f"anilist:{YUKI}", target="trakt:alice")
    return sync


def trakt_watchlist(trakt: trakt_sim.TraktSim) -> set[int]:
    """The Trakt ids of the shows on alice's watchlist."""
    return {row["ref"][1] for row in trakt.watchlist if row["ref"][0] == "show"}


async def test_an_anilist_and_trakt_pair_matches_anime_only_through_the_mapping_list(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    anilist = anilist_sim.AniListState()
    seed(anilist, trakt)
    listing = the_list()

    await set_up(hass, serve, trakt, anilist, listing)

    # Bebop is one show on both sides; Steins;Gate goes to Trakt under the TVDB id the list lends
    # it, and Brotherhood to AniList under the AniList id the list lends Trakt's show.
    assert state(hass, "sensor.anime_last_result") == "success"
    assert state(hass, "sensor.anime_planned_adds") == "2"
    assert state(hass, "sensor.anime_unresolved_items") == "0"
    assert trakt_watchlist(trakt) == {30991, 34203, 31911}
    planning = {e.media_id for e in anilist.entries.values() if e.status == "PLANNING"}
    assert planning == {1, 9253, 5114}
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    assert len(listing.requests) == 1
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert state(hass, "sensor.anime_planned_adds") == "0"
    assert len(listing.requests) == 1  # the list is kept, not downloaded again for each run


async def test_without_the_mapping_list_a_repair_says_so_and_the_pair_still_runs(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    anilist = anilist_sim.AniListState()
    seed(anilist, trakt)
    listing = the_list()
    listing.status = 404  # the address in the options is wrong (a 5xx would be retried first)

    await set_up(hass, serve, trakt, anilist, listing)

    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_key == "anime_map_unavailable"
    assert issue.translation_placeholders is not None
    assert "404" in issue.translation_placeholders["error"]
    # The pair ran with the ids the services give: nothing links AniList's shows to Trakt's,
    # so nothing either side lacks could be written, and the pair says so.
    assert state(hass, "sensor.anime_last_result") == "unresolved"
    assert state(hass, "binary_sensor.anime_needs_attention") == "on"
    assert trakt_watchlist(trakt) == {30991, 31911}

    # The list comes back: the next try, hours later, puts it in use and clears the repair; what
    # could not be written without it is retried at once.
    listing.status = 200
    async_fire_time_changed(hass, dt_util.utcnow() + RETRY_AFTER)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert trakt_watchlist(trakt) == {30991, 34203, 31911}
    assert 5114 in {e.media_id for e in anilist.entries.values() if e.status == "PLANNING"}
    # Written under the ids the list lent, they are no longer unresolved under their old names.
    assert state(hass, "sensor.anime_unresolved_items") == "0"


def the_sync_entry(hass: HomeAssistant) -> MockConfigEntry:
    """The loaded sync entry."""
    (sync,) = [e for e in hass.config_entries.async_entries(DOMAIN) if e.data["kind"] == "sync"]
    assert isinstance(sync, MockConfigEntry)
    return sync


async def test_a_restart_matches_with_the_kept_copy_and_does_not_download_it_again(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    anilist = anilist_sim.AniListState()
    seed(anilist, trakt)
    listing = the_list()
    await set_up(hass, serve, trakt, anilist, listing)
    listing.status = 404  # the list's host is gone
    # Yuki plans Your Name., which no run has seen: only the list can tell Trakt which film it is.
    anilist.add_media(21519, "Kimi no Na wa.", year=2016, episodes=1, id_mal=32281, format="MOVIE")
    anilist.add_entry(YUKI, 21519, "PLANNING")
    trakt.add_movie(200, "Your Name.", 2016, imdb="tt5311514", tmdb=372058)

    assert await hass.config_entries.async_reload(the_sync_entry(hass).entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)  # reads AniList anew

    assert len(listing.requests) == 1  # the copy is less than a week old: not asked again
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None
    assert state(hass, "sensor.anime_last_result") == "success"
    assert state(hass, "sensor.anime_unresolved_items") == "0"
    assert {row["ref"] for row in trakt.watchlist} == {
        ("show", 30991),
        ("show", 34203),
        ("show", 31911),
        ("movie", 200),
    }


async def test_a_week_later_the_list_is_revalidated_by_its_etag(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, freezer: FrozenDateTimeFactory
) -> None:
    anilist = anilist_sim.AniListState()
    seed(anilist, trakt)
    listing = the_list()
    await set_up(hass, serve, trakt, anilist, listing)

    freezer.tick(REFRESH_EVERY)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(listing.requests) == 2
    assert listing.requests[1]["If-None-Match"] == listing.etag()  # answered 304: nothing sent
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


async def test_the_sync_options_set_the_lists_address_and_refuse_what_is_not_one(
    hass: HomeAssistant,
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)

    result = await hass.config_entries.options.async_init(sync.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sync"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ANIME_MAP_URL: "ftp://example.org/list.json"}
    )
    assert result["errors"] == {CONF_ANIME_MAP_URL: "invalid_url"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ANIME_MAP_URL: "https://mirror.example.org/anime-list-full.json"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sync.options[CONF_ANIME_MAP_URL] == "https://mirror.example.org/anime-list-full.json"
    assert sync.state is ConfigEntryState.LOADED
    runtime = sync.runtime_data
    assert runtime.anime_map is not None
    assert runtime.anime_map.url == "https://mirror.example.org/anime-list-full.json"

    # Emptied, the field means the default list again.
    result = await hass.config_entries.options.async_init(sync.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ANIME_MAP_URL: ""}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert sync.options[CONF_ANIME_MAP_URL] == DEFAULT_URL


async def test_without_an_anilist_pair_the_list_is_never_downloaded(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    listing = the_list()
    await set_up_accounts(hass, serve, trakt, simkl)
    sync = sync_entry(anime_lists.url(await serve(anime_lists.make_app(listing))))
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)

    await add_pair(hass, sync, name="Movies", source="trakt:alice", target="simkl:51")

    assert state(hass, "sensor.movies_last_result") == "success"
    assert listing.requests == []  # some 30 MB that no pair of this user needs


async def test_a_refresh_that_fails_keeps_the_copy_in_use_and_says_it_is_stale(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, freezer: FrozenDateTimeFactory
) -> None:
    anilist = anilist_sim.AniListState()
    seed(anilist, trakt)
    listing = the_list()
    await set_up(hass, serve, trakt, anilist, listing)
    listing.status = 404

    freezer.tick(REFRESH_EVERY)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_key == "anime_map_stale"
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert state(hass, "sensor.anime_planned_adds") == "0"  # still matched through the copy
    assert state(hass, "sensor.anime_unresolved_items") == "0"
