"""System health: each service's reachability and each pair's last run."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_system_health_info

from custom_components.crosswatch.const import DOMAIN, Kind
from custom_components.crosswatch.system_health import DEFAULT_URLS, account_url
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, simkl_entry, sync_entry, trakt_entry


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path) -> Iterator[None]:
    """Each test gets its own state store, not the shared testing config's."""
    with patch(
        "custom_components.crosswatch.runtime.store_path", return_value=tmp_path / "state.db"
    ):
        yield


async def resolved(info: dict[str, Any]) -> dict[str, Any]:
    """System health info with its pending checks awaited, as the info page shows it."""
    return {
        key: await value if hasattr(value, "__await__") else value for key, value in info.items()
    }


@pytest.fixture
async def accounts(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """Trakt and SIMKL connected on their simulators, with system health set up."""
    assert await async_setup_component(hass, "system_health", {})
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.user_lists(102, "plantowatch")
    trakt.seed_watchlist("movie", 1)
    trakt_url = await serve(trakt_sim.make_app(trakt))
    simkl_url = await serve(simkl_sim.simkl_app(simkl))
    entries = (trakt_entry(trakt_url, trakt), simkl_entry(simkl_url, simkl))
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entries


async def test_reachable_services_and_the_last_run_of_each_pair(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    coordinator = next(iter(sync.runtime_data.coordinators.values()))
    finished = coordinator.data.last_run
    assert finished is not None

    info = await resolved(await get_system_health_info(hass, DOMAIN))

    assert info == {
        "accounts": 2,
        "accounts_loaded": 2,
        "can_reach_trakt": "ok",
        "can_reach_simkl": "ok",
        "pairs": 1,
        # SIMKL does not know The Matrix (its add was rejected): the run did not do all it planned.
        "last_runs": f"Movies: partial at {finished.isoformat()}",
    }


async def test_an_unreachable_service_fails_its_check_and_a_waiting_pair_says_so(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry], serve: Serve
) -> None:
    trakt_account, simkl_account = accounts
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    assert await hass.config_entries.async_unload(simkl_account.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    # Nothing listens at the SIMKL account's server any more.
    hass.config_entries.async_update_entry(
        simkl_account, data={**simkl_account.data, "base_url": "http://127.0.0.1:9"}
    )

    info = await resolved(await get_system_health_info(hass, DOMAIN))

    assert info["accounts"] == 2
    assert info["accounts_loaded"] == 1
    assert info["can_reach_trakt"] == "ok"
    assert info["can_reach_simkl"] == {"type": "failed", "error": "unreachable"}
    assert info["last_runs"] == "Movies: skipped, no completed run"
    assert trakt_account.state.value == "loaded"


async def test_without_pairs_or_a_sync_entry_only_accounts_are_reported(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    info = await resolved(await get_system_health_info(hass, DOMAIN))

    assert info == {
        "accounts": 2,
        "accounts_loaded": 2,
        "can_reach_trakt": "ok",
        "can_reach_simkl": "ok",
        "pairs": 0,
    }


def test_an_account_is_checked_at_its_own_server_else_at_its_service() -> None:
    own = MockConfigEntry(domain=DOMAIN, data={"kind": "jellyfin", "base_url": "http://jf:8096"})
    plex = MockConfigEntry(
        domain=DOMAIN, data={"kind": "plex", "server_url": "https://pms:32400", "base_url": "x"}
    )
    trakt = MockConfigEntry(domain=DOMAIN, data={"kind": "trakt"})
    emby = MockConfigEntry(domain=DOMAIN, data={"kind": "emby"})
    unknown = MockConfigEntry(domain=DOMAIN, data={"kind": "nonesuch"})

    assert account_url(own) == "http://jf:8096"
    assert account_url(plex) == "https://pms:32400"
    assert account_url(trakt) == "https://api.trakt.tv" == DEFAULT_URLS[Kind.TRAKT]
    assert account_url(emby) is None
    assert account_url(unknown) is None
