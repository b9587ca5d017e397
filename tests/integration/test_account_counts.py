"""An account's item counts: the sync side publishes them, the account only shows them.

The account never reads the sync entry's store; the counts reach it after each run of a pair
on it, and whenever the account or the sync entry loads.
"""

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, one_film_each, pair_device, set_up_accounts, state, sync_entry

TRAKT_WATCHLIST = "sensor.trakt_alice_watchlist_items"
SIMKL_WATCHLIST = "sensor.simkl_andrew_watchlist_items"


@pytest.fixture
async def accounts(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """Trakt (one film on the watchlist) and SIMKL (another), both loaded."""
    one_film_each(trakt, simkl)
    return await set_up_accounts(hass, serve, trakt, simkl)


async def set_up_pair(hass: HomeAssistant) -> MockConfigEntry:
    """The sync entry with a two-way watchlist pair of the two accounts, run once."""
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51", mode="two_way")
    return sync


async def sync_now(hass: HomeAssistant, sync: MockConfigEntry) -> None:
    await hass.services.async_call(
        DOMAIN, "sync", {"pair": pair_device(hass, sync).id}, blocking=True
    )


async def test_each_run_tells_both_accounts_what_the_pair_read_of_them(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    assert state(hass, TRAKT_WATCHLIST) == "unknown"  # no pair has read it yet

    sync = await set_up_pair(hass)
    # The first run read one film on each side (and gave Trakt SIMKL's film).
    assert state(hass, TRAKT_WATCHLIST) == "1"
    assert state(hass, SIMKL_WATCHLIST) == "1"

    await sync_now(hass, sync)

    # The second run read the film it gave Trakt: at once, not at Trakt's next health check.
    assert state(hass, TRAKT_WATCHLIST) == "2"
    assert state(hass, SIMKL_WATCHLIST) == "1"


async def test_an_account_that_loads_again_gets_its_counts_at_once(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    trakt_account, _ = accounts
    await sync_now(hass, await set_up_pair(hass))

    # Reloaded (as after a reauth): the sync side tells it, no run and no health check needed.
    assert await hass.config_entries.async_reload(trakt_account.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, TRAKT_WATCHLIST) == "2"


async def test_the_sync_entry_tells_the_accounts_when_it_loads(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    sync = await set_up_pair(hass)
    await sync_now(hass, sync)
    # A restart of Home Assistant, in short: the accounts come back knowing nothing...
    for entry in (*accounts, sync):
        assert await hass.config_entries.async_unload(entry.entry_id)
    for entry in accounts:
        assert await hass.config_entries.async_setup(entry.entry_id)
    assert state(hass, TRAKT_WATCHLIST) == "unknown"

    # ...until the sync entry loads; it tells them before its pairs run again.
    assert await hass.config_entries.async_setup(sync.entry_id)

    assert state(hass, TRAKT_WATCHLIST) == "2"
