"""An AniList ⇄ SIMKL watchlist pair in Home Assistant: anime matched by their MAL ids."""

from homeassistant.core import HomeAssistant

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import anilist as anilist_sim, anime_lists, simkl as simkl_sim
from tests.simulators.anime_lists import AnimeListsState

from .helpers import add_pair, anilist_entry, simkl_entry, state, sync_entry

TOKEN = "aa.bb.cc"
YUKI = 5150


async def test_an_anilist_and_simkl_watchlist_pair_converges_two_way(
    hass: HomeAssistant, serve: Serve, simkl: simkl_sim.SimklState
) -> None:
    anilist = anilist_sim.AniListState()
    anilist.add_user(YUKI, "Yuki", TOKEN, score_format="POINT_100")
    anilist.add_media(1, "Cowboy Bebop", year=1998, episodes=26, id_mal=1)
    anilist.add_media(5114, "Hagane no Renkinjutsushi", year=2009, episodes=64, id_mal=5114)
    anilist.add_entry(YUKI, 1, "PLANNING")
    simkl.add_title(
        "anime", 300, "Cowboy Bebop", 1998, episodes=26, anime_type="tv", mal="1", anilist="1"
    )
    simkl.add_title(
        "anime", 301, "Fullmetal Alchemist: Brotherhood", 2009, episodes=64, anime_type="tv",
        mal="5114", anilist="5114",
    )  # fmt: skip
    simkl.user_lists(301, "plantowatch")
    anilist_url = await serve(anilist_sim.build_app(anilist))
    entries = [
        anilist_entry(anilist_url),
        simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl),
    ]
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    # SIMKL knows AniList's ids: this pair needs no mapping list, but AniList pairs load it.
    listing = AnimeListsState()
    listing.add(type="TV", anilist_id=1, mal_id=1, tvdb_id=76885)
    sync = sync_entry(anime_lists.url(await serve(anime_lists.make_app(listing))))
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)

    await add_pair(hass, sync, name="Anime", source=f"anilist:{YUKI}", target="simkl:51")

    assert state(hass, "sensor.anime_last_result") == "success"
    assert state(hass, "sensor.anime_planned_adds") == "2"
    planned = {
        e.media_id for e in anilist.entries.values() if e.user_id == YUKI and e.status == "PLANNING"
    }
    assert planned == {1, 5114}
    assert {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"} == {
        300,
        301,
    }
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert state(hass, "sensor.anime_planned_adds") == "0"
    assert state(hass, "sensor.anime_planned_removals") == "0"
