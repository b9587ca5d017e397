"""Connecting a SIMKL account: the app's client id, the PIN, the background poll, the entry."""

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim

from .helpers import simkl_entry


@pytest.fixture
async def url(serve: Serve, simkl: simkl_sim.SimklState) -> str:
    simkl.pin_interval = 1  # the least SIMKL's client waits between polls
    return await serve(simkl_sim.simkl_app(simkl))


async def start(
    hass: HomeAssistant, url: str, client_id: str = simkl_sim.CLIENT_ID
) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "simkl"}
    )
    assert result["step_id"] == "simkl"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_id": client_id, "advanced": {"base_url": url}}
    )


async def wait(hass: HomeAssistant, flow_id: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done(wait_background_tasks=True)
    return await hass.config_entries.flow.async_configure(flow_id)


def pin(state: simkl_sim.SimklState) -> str:
    return list(state.pins)[-1]


async def test_a_simkl_account_is_connected_with_the_pin(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    result = await start(hass, url)
    assert result["step_id"] == "simkl_code"
    assert (result.get("description_placeholders") or {})["code"] == pin(simkl)
    simkl.approve_pin(pin(simkl))

    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "SIMKL (Andrew Masyk)"
    assert result["result"].unique_id == "simkl:51"
    assert result["result"].data["tokens"]["access_token"] == simkl_sim.TOKEN


async def test_an_unknown_app_is_refused(hass: HomeAssistant, url: str) -> None:
    result = await start(hass, url, client_id="not-my-app")

    assert result["errors"] == {"base": "invalid_auth"}


async def test_an_expired_pin_offers_a_new_one(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    result = await start(hass, url)
    simkl.quirks.pin_codes_expire = True

    result = await wait(hass, result["flow_id"])
    assert result["step_id"] == "simkl_retry"
    assert result["errors"] == {"base": "code_expired"}

    simkl.quirks.pin_codes_expire = False
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "simkl_code"
    simkl.approve_pin(pin(simkl))
    result = await wait(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_reauth_takes_a_new_pin_for_the_same_account(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    entry = simkl_entry(url, simkl)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "simkl_reauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "simkl_code"
    simkl.approve_pin(pin(simkl))
    result = await wait(hass, result["flow_id"])

    assert result["reason"] == "reauth_successful"


async def test_reauth_into_another_simkl_account_is_refused(
    hass: HomeAssistant, serve: Serve
) -> None:
    other = simkl_sim.SimklState(account_id=99, name="Someone else")
    other.pin_interval = 1
    url = await serve(simkl_sim.simkl_app(other))
    entry = simkl_entry(url, other)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "simkl_reauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    other.approve_pin(pin(other))
    result = await wait(hass, result["flow_id"])

    assert result["reason"] == "wrong_account"
