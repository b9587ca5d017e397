"""Entries over their life: setup failures, restarts, reconfiguring a pair, unload, removal."""

from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.crosswatch.const import DOMAIN, MEMO_TTL
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .helpers import add_pair, pair_device, simkl_entry, state, sync_entry, trakt_entry


@pytest.fixture
async def urls(
    serve: Serve, trakt: trakt_sim.TraktSim, simkl: simkl_sim.SimklState
) -> tuple[str, str]:
    simkl.add_title("movies", 100, "The Matrix", 1999, imdb="tt0133093", tmdb="603")
    trakt.seed_watchlist("movie", 1)
    return (
        await serve(trakt_sim.make_app(trakt)),
        await serve(simkl_sim.simkl_app(simkl)),
    )


async def test_an_account_that_refuses_its_token_asks_for_reauthentication(
    hass: HomeAssistant, urls: tuple[str, str], simkl: simkl_sim.SimklState
) -> None:
    entry = simkl_entry(urls[1], simkl)
    entry.add_to_hass(hass)
    simkl.quirks.token_revoked = True

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_an_unreachable_account_is_retried_later(
    hass: HomeAssistant, socket_enabled: None, simkl: simkl_sim.SimklState
) -> None:
    entry = simkl_entry("http://127.0.0.1:9", simkl)
    entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(entry.entry_id)

    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_a_pair_remembers_its_last_run_across_a_restart(
    hass: HomeAssistant,
    urls: tuple[str, str],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    for entry in (trakt_entry(urls[0], trakt), simkl_entry(urls[1], simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    last_run = state(hass, "sensor.movies_last_run")

    # Reload without letting the first run happen: the store still knows the last one.
    assert await hass.config_entries.async_unload(sync.entry_id)
    assert sync.state is ConfigEntryState.NOT_LOADED
    sync.runtime_data = None
    hass.config_entries.async_update_entry(sync, options={})
    assert await hass.config_entries.async_setup(sync.entry_id)

    assert state(hass, "sensor.movies_last_result") == "success"
    assert state(hass, "sensor.movies_last_run") == last_run
    # And the next run plans nothing: the baselines survived.
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert state(hass, "sensor.movies_planned_adds") == "0"


async def test_reconfiguring_a_pair_changes_its_mode_and_keeps_its_store(
    hass: HomeAssistant,
    urls: tuple[str, str],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    for entry in (trakt_entry(urls[0], trakt), simkl_entry(urls[1], simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    subentry_id = next(iter(sync.subentries))

    result: Any = await sync.start_subentry_reconfigure_flow(hass, subentry_id)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Movies",
            "source": "trakt:alice",
            "target": "simkl:51",
            "features": ["watchlist"],
            "mode": "mirror",
            "interval_minutes": 30,
            "dry_run": False,
            "guards": {
                "delete_budget_floor": 3,
                "delete_budget_percent": 1,
                "drop_guard_percent": 20,
                "tombstone_ttl_days": 7,
            },
        },
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert sync.subentries[subentry_id].data["mode"] == "mirror"
    assert sync.subentries[subentry_id].data["delete_budget_floor"] == 3
    coordinator = sync.runtime_data.coordinators[subentry_id]
    assert coordinator.pair.guards.delete_floor == 3
    assert coordinator.update_interval is not None
    assert coordinator.update_interval.total_seconds() == 1800


async def test_a_pair_needs_two_connected_accounts(hass: HomeAssistant) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)

    result: Any = await hass.config_entries.subentries.async_init(
        (sync.entry_id, "pair"), context={"source": "user"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "need_two_accounts"


async def test_a_waiting_pair_runs_as_soon_as_its_account_is_back(
    hass: HomeAssistant,
    urls: tuple[str, str],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    accounts = [trakt_entry(urls[0], trakt), simkl_entry(urls[1], simkl)]
    for entry in accounts:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    assert await hass.config_entries.async_unload(accounts[1].entry_id)
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert state(hass, "sensor.movies_last_result") == "skipped"

    assert await hass.config_entries.async_setup(accounts[1].entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, "sensor.movies_last_result") == "success"
    pair_id = next(iter(sync.subentries))
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pair_waiting_{pair_id}") is None


async def test_removing_the_sync_entry_removes_its_state(
    hass: HomeAssistant, own_state_store: Path
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    path = own_state_store
    assert path.exists()

    await hass.config_entries.async_remove(sync.entry_id)
    await hass.async_block_till_done()

    assert not path.exists()


async def test_removing_a_pair_forgets_its_store_rows_and_its_device(
    hass: HomeAssistant,
    urls: tuple[str, str],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    for entry in (trakt_entry(urls[0], trakt), simkl_entry(urls[1], simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    pair_id = next(iter(sync.subentries))
    assert pair_id in sync.runtime_data.store.pairs()
    assert pair_device(hass, sync)

    assert hass.config_entries.async_remove_subentry(sync, pair_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert pair_id not in sync.runtime_data.store.pairs()
    assert hass.states.get("sensor.movies_last_result") is None
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), sync.entry_id)
    assert not [device for device in devices if (DOMAIN, pair_id) in device.identifiers]


async def test_removing_an_account_removes_its_device_and_leaves_its_pairs_waiting(
    hass: HomeAssistant,
    urls: tuple[str, str],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    accounts = (trakt_entry(urls[0], trakt), simkl_entry(urls[1], simkl))
    for entry in accounts:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    registry = dr.async_get(hass)
    assert dr.async_entries_for_config_entry(registry, accounts[1].entry_id)

    await hass.config_entries.async_remove(accounts[1].entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert not dr.async_entries_for_config_entry(registry, accounts[1].entry_id)
    assert pair_device(hass, sync)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pair_waiting_{next(iter(sync.subentries))}")


async def test_the_store_refuses_calls_once_closed_instead_of_crashing(
    hass: HomeAssistant,
) -> None:
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    runtime = sync.runtime_data
    assert await runtime.async_use_store(hass, runtime.store.pairs) == []

    assert await hass.config_entries.async_unload(sync.entry_id)

    with pytest.raises(HomeAssistantError) as refused:
        await runtime.async_use_store(hass, runtime.store.pairs)
    assert refused.value.translation_key == "store_closed"


async def test_reads_shared_by_the_pairs_are_let_go_once_the_memo_ttl_has_passed(
    hass: HomeAssistant,
    urls: tuple[str, str],
    trakt: trakt_sim.TraktSim,
    simkl: simkl_sim.SimklState,
) -> None:
    for entry in (trakt_entry(urls[0], trakt), simkl_entry(urls[1], simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, source="trakt:alice", target="simkl:51")
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    shared_after_the_run = sync.runtime_data.pipeline.shared_reads

    async_fire_time_changed(hass, dt_util.utcnow() + MEMO_TTL)
    await hass.async_block_till_done()

    assert shared_after_the_run > 0
    assert sync.runtime_data.pipeline.shared_reads == 0  # nothing held between runs
