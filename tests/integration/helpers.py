"""Account entries wired to simulators, and the sync entry with its pairs."""

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import (
    CONF_ANIME_MAP_URL,
    DOMAIN,
    SYNC_ENTRY_TITLE,
    SYNC_ENTRY_UNIQUE_ID,
)
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim
from tests.simulators.serving import Serve


def trakt_entry(url: str, sim: trakt_sim.TraktSim) -> MockConfigEntry:
    """A connected Trakt account (tokens the simulator issued)."""
    tokens = sim.issue_tokens()
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Trakt ({sim.slug})",
        unique_id=f"trakt:{sim.slug}",
        data={
            "kind": "trakt",
            "account_id": sim.slug,
            "client_id": trakt_sim.CLIENT_ID,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "tokens": {
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
                "expires_at": tokens["created_at"] + tokens["expires_in"],
            },
            "base_url": url,
        },
    )


def simkl_entry(
    url: str, state: simkl_sim.SimklState, calendar_url: str | None = None
) -> MockConfigEntry:
    """A connected SIMKL account (its calendar files at `calendar_url`, when served)."""
    calendar = {} if calendar_url is None else {"calendar_url": calendar_url}
    return MockConfigEntry(
        domain=DOMAIN,
        title="SIMKL (Andrew)",
        unique_id="simkl:51",
        data={
            "kind": "simkl",
            "account_id": "51",
            "client_id": simkl_sim.CLIENT_ID,
            "tokens": {"access_token": simkl_sim.TOKEN},
            "base_url": url,
            **calendar,
        },
    )


YUKI = 5150  # an AniList account
YUKI_TOKEN = "aa.bb.cc"


def anilist_entry(url: str) -> MockConfigEntry:
    """Yuki's AniList account on the simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="AniList (Yuki)",
        unique_id=f"anilist:{YUKI}",
        data={
            "kind": "anilist",
            "account_id": str(YUKI),
            "client_id": "12345",
            "tokens": {"access_token": YUKI_TOKEN},
            "score_format": "POINT_100",
            "base_url": url,
        },
    )


def sync_entry(anime_map_url: str | None = None) -> MockConfigEntry:
    """The CrossWatch sync entry, without pairs; AniList pairs need the anime map's URL."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=SYNC_ENTRY_TITLE,
        unique_id=SYNC_ENTRY_UNIQUE_ID,
        data={"kind": "sync"},
        options={} if anime_map_url is None else {CONF_ANIME_MAP_URL: anime_map_url},
    )


async def add_pair(hass: HomeAssistant, sync: MockConfigEntry, **fields: Any) -> Any:
    """Add a pair through the subentry flow, then wait for its first run."""
    result = await hass.config_entries.subentries.async_init(
        (sync.entry_id, "pair"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM, result
    data = {
        "name": "Movies",
        "features": ["watchlist"],
        "mode": "two_way",
        "interval_minutes": 60,
        "dry_run": False,
        "guards": {
            "delete_budget_floor": 5,
            "delete_budget_percent": 2,
            "drop_guard_percent": 10,
            "tombstone_ttl_days": 30,
        },
        **fields,
    }
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], data)
    await hass.async_block_till_done(wait_background_tasks=True)
    return result


def pair_device(hass: HomeAssistant, sync: MockConfigEntry) -> dr.DeviceEntry:
    """The device of the sync entry's (first) pair."""
    pair_id = next(iter(sync.subentries))
    (device,) = [
        device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), sync.entry_id)
        if (DOMAIN, pair_id) in device.identifiers
    ]
    return device


def state(hass: HomeAssistant, entity_id: str) -> str:
    """An entity's state; the entity must exist."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def attributes(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    """An entity's attributes; the entity must exist."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return dict(current.attributes)


def one_film_each(trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState) -> None:
    """Trakt's watchlist holds one film of its catalogue, SIMKL's another (Heat)."""
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.user_lists(102, "plantowatch")
    trakt.seed_watchlist("movie", 1)


async def set_up_accounts(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """Trakt (alice) and SIMKL (Andrew) on their simulators, connected and loaded."""
    accounts = (
        trakt_entry(await serve(trakt_sim.make_app(trakt)), trakt),
        # SIMKL's API with its calendar files, as a test server at a custom base URL serves them.
        simkl_entry(
            await serve(simkl_sim.add_calendar_routes(simkl_sim.simkl_app(simkl), simkl)), simkl
        ),
    )
    for entry in accounts:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    # Each account's to-do list reads its watchlist once, in the background, after setup.
    await hass.async_block_till_done(wait_background_tasks=True)
    return accounts
