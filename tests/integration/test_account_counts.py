"""An account's item counts: counted by reads made anyway, the account only shows them.

The account never reads the sync entry's store; the pairs' counts reach it after each run of a
pair on it, and whenever the account or the sync entry loads. Its watchlist to-do list counts
the watchlist at its first read, right after setup: a healthy account shows its watchlist count
before any pair has run. What nobody has counted stays unknown, never 0.
"""

from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.engine.provider import ProviderError
from custom_components.crosswatch.providers.trakt.adapter import TraktProvider
from custom_components.crosswatch.todo import WatchlistCoordinator as TodoCoordinator
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, one_film_each, pair_device, set_up_accounts, state, sync_entry

TRAKT_WATCHLIST = "sensor.trakt_alice_watchlist_items"
TRAKT_HISTORY = "sensor.trakt_alice_watched_items"
TRAKT_RATINGS = "sensor.trakt_alice_rated_items"
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


async def test_a_healthy_account_shows_its_watchlist_count_right_after_setup(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    # No pair yet: the to-do lists' first reads counted the watchlists.
    assert state(hass, TRAKT_WATCHLIST) == "1"
    assert state(hass, SIMKL_WATCHLIST) == "1"
    # Trakt's statistics counted the rest at setup (test_account_counts_at_setup.py).
    assert state(hass, TRAKT_HISTORY) == "0"
    assert state(hass, TRAKT_RATINGS) == "0"


async def test_a_watchlist_the_service_fails_to_serve_is_not_counted(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    one_film_each(trakt, simkl)
    refused = ProviderError("Trakt is down for maintenance")

    with patch.object(TraktProvider, "read", side_effect=refused):
        await set_up_accounts(hass, serve, trakt, simkl)

    assert state(hass, "todo.trakt_alice_watchlist") == "unavailable"
    assert state(hass, TRAKT_WATCHLIST) == "unknown"  # never 0 for a list nobody could read
    assert state(hass, SIMKL_WATCHLIST) == "1"


async def test_a_watchlist_read_in_part_is_not_counted(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> None:
    one_film_each(trakt, simkl)
    # The first category read (the films, where the one listed film is) fails; the rest answer.
    trakt.quirks.server_error_on_page = 1
    trakt.quirks.server_errors = 4

    await set_up_accounts(hass, serve, trakt, simkl)

    assert state(hass, TRAKT_WATCHLIST) == "unknown"  # a short list is no count


async def test_each_run_tells_both_accounts_what_the_pair_read_of_them(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    sync = await set_up_pair(hass)
    # The first run read one film on each side and gave each the other's: the to-do lists read
    # the watchlists again after the run (the pair's own count is from before its writes).
    # (SIMKL's catalogue lacks Trakt's film: SIMKL still lists one.)
    assert state(hass, TRAKT_WATCHLIST) == "2"
    assert state(hass, SIMKL_WATCHLIST) == "1"

    await sync_now(hass, sync)

    assert state(hass, TRAKT_WATCHLIST) == "2"
    assert state(hass, SIMKL_WATCHLIST) == "1"


async def test_the_pairs_count_stands_in_when_the_list_cannot_be_read(
    hass: HomeAssistant,
    accounts: tuple[MockConfigEntry, MockConfigEntry],
    trakt: trakt_sim.TraktSim,
) -> None:
    sync = await set_up_pair(hass)
    trakt.add_movie(3, "Dune", 1984, imdb="tt0087182", tmdb=841, slug="dune-1984")
    trakt.seed_watchlist("movie", 3)  # listed in Trakt's own app: Trakt holds three films now

    # The pair reads all three; the to-do list's read after it fails.
    with patch.object(TodoCoordinator, "_read", side_effect=ProviderError("gone")):
        await sync_now(hass, sync)
        await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, "todo.trakt_alice_watchlist") == "unavailable"
    assert state(hass, TRAKT_WATCHLIST) == "3"


async def test_an_account_that_loads_again_gets_its_counts_at_once(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    trakt_account, _ = accounts
    await sync_now(hass, await set_up_pair(hass))

    # Reloaded (as after a reauth), with its list unreadable: the sync side tells it, no run
    # and no health check needed.
    with patch.object(TodoCoordinator, "_read", side_effect=ProviderError("gone")):
        assert await hass.config_entries.async_reload(trakt_account.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, TRAKT_WATCHLIST) == "2"


async def test_the_sync_entry_tells_the_accounts_when_it_loads(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    sync = await set_up_pair(hass)
    await sync_now(hass, sync)
    # A restart of Home Assistant, in short, with the lists unreadable: the accounts come back
    # knowing nothing...
    for entry in (*accounts, sync):
        assert await hass.config_entries.async_unload(entry.entry_id)
    with patch.object(TodoCoordinator, "_read", side_effect=ProviderError("gone")):
        for entry in accounts:
            assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert state(hass, TRAKT_WATCHLIST) == "unknown"

        # ...until the sync entry loads; it tells them before its pairs run again.
        assert await hass.config_entries.async_setup(sync.entry_id)

        assert state(hass, TRAKT_WATCHLIST) == "2"


async def test_a_title_added_on_the_to_do_list_is_counted_at_once(
    hass: HomeAssistant, accounts: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    await hass.services.async_call(
        "todo",
        "add_item",
        {"entity_id": "todo.trakt_alice_watchlist", "item": "Heat"},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    # The list read the watchlist again after the add: no pair, no health check needed.
    assert state(hass, TRAKT_WATCHLIST) == "2"
