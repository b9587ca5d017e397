"""Add by title on the to-do lists of Plex, Jellyfin, Emby and MDBList.

Plex's watchlist is Discover's: Discover is searched (`/library/search`), as Plex's apps do.
Jellyfin's and Emby's watchlist is the favourites: the server's library is searched by name
(`/Items?SearchTerm=`). MDBList is searched by its `/search/{movie,show}`. Of the hits, the
matching rules of every other list pick the title (watchlist_match.py), which is then listed.
"""

import time

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from tests.providers.test_mdblist_support import seeded_state
from tests.simulators import mdblist as mdblist_sim
from tests.simulators.plex import PlexSim, make_apps
from tests.simulators.serving import Serve

from .helpers import state
from .mediabrowser import EMBY, JELLYFIN, Brand, Server, server_entry, start_server
from .test_mdblist_flow import mdblist_entry
from .test_server_pairs import Plex, sign_in_to_plex
from .test_watchlist_todo import add, items

PARAMS = pytest.mark.parametrize("brand", [JELLYFIN, EMBY], ids=["jellyfin", "emby"])


async def _library(hass: HomeAssistant, serve: Serve, brand: Brand) -> tuple[Server, str]:
    """A library with both Dunes, Dune: Part Two and Heat; Heat is alice's favourite."""
    server = await start_server(serve, brand)
    library = server.state
    library.add_movie("Dune: Part Two", 2024, Imdb="tt15239678", Tmdb="693134")
    library.add_movie("Dune", 2021, Imdb="tt1160419", Tmdb="438631")
    library.add_movie("Dune", 1984, Imdb="tt0087182", Tmdb="841")
    heat = library.add_movie("Heat", 1995, Imdb="tt0113277", Tmdb="949")
    library.add_series("Dark", 2017, Tvdb="334824")
    library.favorite(server.user, heat)
    library.tokens["alices-token"] = server.user.id
    entry = server_entry(server, tokens={"access_token": "alices-token"})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return server, f"todo.{brand.kind}_alice_on_living_room_watchlist"


def favourites(server: Server) -> set[tuple[str, int | None]]:
    library = server.state
    return {
        (item.name, item.year)
        for item in library.items.values()
        if library.visible(server.user.id, item.id).is_favorite
    }


@PARAMS
async def test_a_server_list_adds_the_one_title_its_library_finds(
    hass: HomeAssistant, serve: Serve, brand: Brand
) -> None:
    server, todo = await _library(hass, serve, brand)

    await add(hass, todo, "dark")

    assert favourites(server) == {("Heat", 1995), ("Dark", 2017)}
    assert {item["summary"] for item in await items(hass, todo)} == {"Heat (1995)", "Dark (2017)"}


@PARAMS
async def test_of_several_titles_the_server_finds_the_asked_year_wins(
    hass: HomeAssistant, serve: Serve, brand: Brand
) -> None:
    server, todo = await _library(hass, serve, brand)

    await add(hass, todo, "Dune 1984")

    assert favourites(server) == {("Heat", 1995), ("Dune", 1984)}


@PARAMS
async def test_of_several_titles_the_exact_name_wins_over_a_longer_one(
    hass: HomeAssistant, serve: Serve, brand: Brand
) -> None:
    server, todo = await _library(hass, serve, brand)

    await add(hass, todo, "dune part two")

    assert favourites(server) == {("Heat", 1995), ("Dune: Part Two", 2024)}


@PARAMS
async def test_a_title_the_server_does_not_hold_is_a_translated_error_and_changes_nothing(
    hass: HomeAssistant, serve: Serve, brand: Brand
) -> None:
    server, todo = await _library(hass, serve, brand)

    with pytest.raises(HomeAssistantError) as raised:
        await add(hass, todo, "Blade Runner")

    assert raised.value.translation_key == "watchlist_no_match"
    assert str(raised.value) == f"No title on {brand.name} matches 'Blade Runner'"
    assert favourites(server) == {("Heat", 1995)}
    assert state(hass, todo) == "1"


# -- MDBList ----------------------------------------------------------------------------------

MDBLIST_LIST = "todo.mdblist_andrea_watchlist"


@pytest.fixture
async def mdblist(hass: HomeAssistant, serve: Serve) -> mdblist_sim.MdblistState:
    """MDBList (Inception and Dark listed) knowing both Dunes and Dune: Part Two."""
    state = seeded_state()
    state.add(mdblist_sim.Title("movie", "Dune: Part Two", 2024, "dn24", "tt15239678", 693134))
    state.add(mdblist_sim.Title("movie", "Dune", 2021, "dn21", "tt1160419", 438631))
    state.add(mdblist_sim.Title("movie", "Dune", 1984, "dn84", "tt0087182", 841))
    entry = mdblist_entry(await serve(mdblist_sim.mdblist_app(state)))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return state


def mdblist_listed(state: mdblist_sim.MdblistState) -> set[tuple[str, int]]:
    return {(state.find(slug).title, state.find(slug).year) for slug in state.watchlist}


LISTED_ON_MDBLIST = {("Inception", 2010), ("Dark", 2017)}


async def test_an_mdblist_list_adds_the_one_title_mdblist_finds(
    hass: HomeAssistant, mdblist: mdblist_sim.MdblistState
) -> None:
    await add(hass, MDBLIST_LIST, "heat")

    assert mdblist_listed(mdblist) == LISTED_ON_MDBLIST | {("Heat", 1995)}
    assert "Heat (1995)" in {item["summary"] for item in await items(hass, MDBLIST_LIST)}


async def test_of_several_titles_mdblist_finds_the_asked_year_wins(
    hass: HomeAssistant, mdblist: mdblist_sim.MdblistState
) -> None:
    await add(hass, MDBLIST_LIST, "Dune (1984)")

    assert mdblist_listed(mdblist) == LISTED_ON_MDBLIST | {("Dune", 1984)}


async def test_of_several_titles_mdblist_finds_an_exact_title_wins_in_its_order(
    hass: HomeAssistant, mdblist: mdblist_sim.MdblistState
) -> None:
    await add(hass, MDBLIST_LIST, "Dune")

    # Both Dunes are exactly the title: MDBList's order decides (2021 before 1984 here).
    assert mdblist_listed(mdblist) == LISTED_ON_MDBLIST | {("Dune", 2021)}


async def test_a_title_mdblist_does_not_find_is_a_translated_error_and_changes_nothing(
    hass: HomeAssistant, mdblist: mdblist_sim.MdblistState
) -> None:
    with pytest.raises(HomeAssistantError) as raised:
        await add(hass, MDBLIST_LIST, "Xyzzy")

    assert raised.value.translation_key == "watchlist_no_match"
    assert str(raised.value) == "No title on MDBList matches 'Xyzzy'"
    assert mdblist_listed(mdblist) == LISTED_ON_MDBLIST


# -- Plex -------------------------------------------------------------------------------------


@pytest.fixture
async def plex(hass: HomeAssistant, serve: Serve) -> tuple[PlexSim, str]:
    """A signed-in Plex account (Heat on its watchlist); Discover knows the Dunes and Dark."""
    sim = PlexSim(now=int(time.time()))
    sim.add_section("1", "movie", "Movies")
    sim.add_movie("1", "Heat", 1995, imdb="tt0113277", tmdb=949)
    sim.add_title("movie", "Dune: Part Two", 2024, imdb="tt15239678", tmdb=693134)
    sim.add_title("movie", "Dune", 2021, imdb="tt1160419", tmdb=438631)
    sim.add_title("movie", "Dune", 1984, imdb="tt0087182", tmdb=841)
    sim.add_title("show", "Dark", 2017, tvdb=334824)
    heat = next(plex for plex, title in sim.catalogue.items() if title.title == "Heat")
    sim.watchlist[heat] = sim.tick()
    apps = make_apps(sim)
    names = ("server", "plex_tv", "discover", "metadata")
    urls = {name: await serve(getattr(apps, name)) for name in names}
    sim.connections = [{"uri": urls["server"], "local": True, "relay": False}]
    entry = await sign_in_to_plex(hass, Plex(sim, urls))
    await hass.async_block_till_done(wait_background_tasks=True)
    todo = next(
        entity_id
        for entity_id in hass.states.async_entity_ids("todo")
        if entity_id.startswith("todo.plex")
    )
    assert entry.state.value == "loaded"
    return sim, todo


def plex_listed(sim: PlexSim) -> set[tuple[str, int | None]]:
    return {(sim.catalogue[plex].title, sim.catalogue[plex].year) for plex in sim.watchlist}


async def test_a_plex_list_adds_the_one_title_discover_finds(
    hass: HomeAssistant, plex: tuple[PlexSim, str]
) -> None:
    sim, todo = plex

    await add(hass, todo, "dark")

    assert plex_listed(sim) == {("Heat", 1995), ("Dark", 2017)}
    assert "Dark (2017)" in {item["summary"] for item in await items(hass, todo)}


async def test_of_several_titles_discover_finds_the_asked_year_wins(
    hass: HomeAssistant, plex: tuple[PlexSim, str]
) -> None:
    sim, todo = plex

    await add(hass, todo, "Dune 1984")

    assert plex_listed(sim) == {("Heat", 1995), ("Dune", 1984)}


async def test_a_title_discover_does_not_find_is_a_translated_error_and_changes_nothing(
    hass: HomeAssistant, plex: tuple[PlexSim, str]
) -> None:
    sim, todo = plex

    with pytest.raises(HomeAssistantError) as raised:
        await add(hass, todo, "Xyzzy")

    assert raised.value.translation_key == "watchlist_no_match"
    assert str(raised.value) == "No title on Plex matches 'Xyzzy'"
    assert plex_listed(sim) == {("Heat", 1995)}
