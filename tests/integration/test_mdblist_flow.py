"""Connecting an MDBList account by its API key, and using it in a sync pair."""

import json
import logging

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.coordinator import PairCoordinator
from tests.providers.conftest import Serve
from tests.providers.test_mdblist_support import seeded_state
from tests.simulators import mdblist as mdblist_sim, simkl as simkl_sim

from .helpers import add_pair, attributes, simkl_entry, state, sync_entry


@pytest.fixture
def mdblist() -> mdblist_sim.MdblistState:
    return seeded_state()


@pytest.fixture
async def url(serve: Serve, mdblist: mdblist_sim.MdblistState) -> str:
    return await serve(mdblist_sim.mdblist_app(mdblist))


async def start(hass: HomeAssistant, url: str, key: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "mdblist" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "mdblist"}
    )
    assert result["step_id"] == "mdblist"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": key, "advanced": {"base_url": url}}
    )


def mdblist_entry(url: str, key: str = mdblist_sim.API_KEY) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="MDBList (andrea)",
        unique_id="mdblist:4242",
        data={
            "kind": "mdblist",
            "account_id": "4242",
            "api_key": key,
            "base_url": url,
            "user_name": "andrea",
        },
    )


async def test_an_api_key_connects_the_account_it_belongs_to(hass: HomeAssistant, url: str) -> None:
    result = await start(hass, url, f"  {mdblist_sim.API_KEY} ")

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "MDBList (andrea)"
    assert result["result"].unique_id == "mdblist:4242"
    assert result["result"].data["api_key"] == mdblist_sim.API_KEY


async def test_a_wrong_api_key_is_refused_and_can_be_corrected(
    hass: HomeAssistant, url: str
) -> None:
    result = await start(hass, url, "not-my-key")
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": mdblist_sim.API_KEY, "advanced": {"base_url": url}}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_an_unreachable_mdblist_is_a_connection_error(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    result = await start(hass, "http://127.0.0.1:9", mdblist_sim.API_KEY)

    assert result["errors"] == {"base": "cannot_connect"}


async def test_a_regenerated_key_is_entered_again_for_the_same_account(
    hass: HomeAssistant, url: str, mdblist: mdblist_sim.MdblistState
) -> None:
    entry = mdblist_entry(url, key="the-old-key")
    entry.add_to_hass(hass)
    mdblist.api_key = "the-new-key"

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "mdblist"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_key": "the-new-key"}
    )

    assert result["reason"] == "reauth_successful"
    assert entry.data["api_key"] == "the-new-key"
    assert entry.data["base_url"] == url


async def test_an_mdblist_and_simkl_watchlist_pair_converges_two_way(
    hass: HomeAssistant,
    serve: Serve,
    url: str,
    mdblist: mdblist_sim.MdblistState,
    simkl: simkl_sim.SimklState,
) -> None:
    # MDBList lists Inception and Dark; SIMKL lists Heat.
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.add_title("movies", 101, "Inception", 2010, imdb="tt1375666", tmdb="27205")
    simkl.add_title("shows", 200, "Dark", 2017, episodes=3, imdb="tt5753856", tmdb="70523")
    simkl.user_lists(102, "plantowatch")
    for entry in (mdblist_entry(url), simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)

    await add_pair(hass, sync, name="Lists", source="mdblist:4242", target="simkl:51")

    assert state(hass, "sensor.lists_last_result") == "success"
    assert set(mdblist.watchlist) == {"b7xq", "d4rk", "c1hz"}
    listed = {sid for sid, listing in simkl.lists.items() if listing.status == "plantowatch"}
    assert listed == {101, 102, 200}
    await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    assert state(hass, "sensor.lists_planned_adds") == "0"


async def test_a_pair_whose_mdblist_quota_is_used_up_waits_until_midnight_utc(
    hass: HomeAssistant,
    serve: Serve,
    url: str,
    mdblist: mdblist_sim.MdblistState,
    simkl: simkl_sim.SimklState,
) -> None:
    simkl.add_title("movies", 102, "Heat", 1995, imdb="tt0113277", tmdb="949")
    simkl.user_lists(102, "plantowatch")
    for entry in (mdblist_entry(url), simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    # Every request of today's free quota is spent (it is 12:00 UTC on the simulator).
    mdblist.day = mdblist.now.replace(hour=0)
    mdblist.used_today = mdblist.daily_limit
    listed_before = dict(mdblist.watchlist)

    await add_pair(hass, sync, name="Lists", source="mdblist:4242", target="simkl:51")

    coordinator: PairCoordinator = next(iter(sync.runtime_data.coordinators.values()))
    failure = coordinator.last_exception
    assert isinstance(failure, UpdateFailed)
    assert failure.translation_key == "rate_limited"
    assert failure.retry_after == 12 * 3600 + 1
    assert mdblist.watchlist == listed_before
    assert set(simkl.lists) == {102}


async def test_the_api_key_never_reaches_diagnostics_or_logs(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    serve: Serve,
    url: str,
    mdblist: mdblist_sim.MdblistState,
    simkl: simkl_sim.SimklState,
) -> None:
    caplog.set_level(logging.DEBUG)
    account = mdblist_entry(url)
    for entry in (account, simkl_entry(await serve(simkl_sim.simkl_app(simkl)), simkl)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    sync = sync_entry()
    sync.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sync.entry_id)
    await add_pair(hass, sync, name="Lists", source="mdblist:4242", target="simkl:51")
    mdblist.api_key = "a-regenerated-key"  # a failing run leaves error text behind too
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "sync", {}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    dumps = [
        json.dumps(dict(await get_diagnostics_for_config_entry(hass, hass_client, entry)))
        for entry in (account, sync)
    ]
    # The simulator's own access log stands for MDBList's server log: not ours to keep clean.
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]
    logs = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in ours)
    assert any(r.name.startswith("custom_components.crosswatch") for r in ours)
    for dump in dumps:
        assert mdblist_sim.API_KEY not in dump
    assert mdblist_sim.API_KEY not in logs


async def test_an_mdblist_account_has_a_sensor_of_its_daily_quota(
    hass: HomeAssistant, url: str, mdblist: mdblist_sim.MdblistState
) -> None:
    account = mdblist_entry(url)
    account.add_to_hass(hass)
    assert await hass.config_entries.async_setup(account.entry_id)
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, "mdblist:4242_rate_limit_remaining")
    assert entity_id is not None
    registry.async_update_entity(entity_id, disabled_by=None)  # disabled by default
    assert await hass.config_entries.async_reload(account.entry_id)
    await hass.async_block_till_done()

    assert state(hass, entity_id) == str(mdblist.daily_limit - mdblist.used_today)
    assert attributes(hass, entity_id)["limit"] == 1000
