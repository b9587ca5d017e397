"""Connecting a Trakt account: app credentials, device code, background poll, entry."""

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import trakt as trakt_sim


async def start(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "trakt" in result["menu_options"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "trakt"}
    )


async def credentials(
    hass: HomeAssistant, flow_id: str, url: str, client_id: str = trakt_sim.CLIENT_ID
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(
        flow_id,
        {
            "client_id": client_id,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "advanced": {"base_url": url},
        },
    )


async def wait(hass: HomeAssistant, flow_id: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done(wait_background_tasks=True)
        result = await hass.config_entries.flow.async_configure(flow_id)
    return result


def user_code(sim: trakt_sim.TraktSim) -> str:
    return list(sim.device_codes.values())[-1].user_code


async def test_a_trakt_account_is_connected_with_the_device_code(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    result = await start(hass)
    assert result["step_id"] == "trakt"

    result = await credentials(hass, result["flow_id"], url)
    assert result["step_id"] == "trakt_code"
    code = user_code(trakt)
    assert result["description_placeholders"] == {
        "url": trakt_sim.VERIFICATION_URL,
        "code": code,
    }
    trakt.approve(code)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Trakt (alice)"
    entry = result["result"]
    assert entry.unique_id == "trakt:alice"
    assert entry.data["kind"] == "trakt"
    assert entry.data["base_url"] == url
    assert entry.data["tokens"]["access_token"] in trakt.access_tokens


async def test_an_unknown_app_is_refused_and_can_be_corrected(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    result = await start(hass)

    result = await credentials(hass, result["flow_id"], url, client_id="not-my-app")
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await credentials(hass, result["flow_id"], url)
    assert result["step_id"] == "trakt_code"


async def test_an_unreachable_trakt_is_a_connection_error(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    result = await start(hass)

    result = await credentials(hass, result["flow_id"], "http://127.0.0.1:9")

    assert result["errors"] == {"base": "cannot_connect"}


async def test_a_denied_code_offers_a_new_one(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    result = await credentials(hass, (await start(hass))["flow_id"], url)
    trakt.deny(user_code(trakt))

    result = await wait(hass, result["flow_id"])
    assert result["step_id"] == "trakt_retry"
    assert result["errors"] == {"base": "access_denied"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "trakt_code"
    trakt.approve(user_code(trakt))
    result = await wait(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_an_expired_code_offers_a_new_one(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    result = await credentials(hass, (await start(hass))["flow_id"], url)
    trakt.expire(user_code(trakt))

    result = await wait(hass, result["flow_id"])

    assert result["errors"] == {"base": "code_expired"}


async def test_the_same_trakt_account_cannot_be_added_twice(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id="trakt:alice", data={"kind": "trakt"}).add_to_hass(
        hass
    )
    url = await serve(trakt_sim.make_app(trakt))
    result = await credentials(hass, (await start(hass))["flow_id"], url)
    trakt.approve(user_code(trakt))

    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


def trakt_entry(url: str, tokens: dict[str, Any], slug: str = "alice") -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Trakt ({slug})",
        unique_id=f"trakt:{slug}",
        data={
            "kind": "trakt",
            "account_id": slug,
            "client_id": trakt_sim.CLIENT_ID,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "tokens": {"access_token": tokens["access_token"], "refresh_token": None},
            "base_url": url,
        },
    )


async def test_reauth_signs_in_again_and_keeps_the_entry(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    entry = trakt_entry(url, {"access_token": "revoked"})
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "trakt_reauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "trakt_code"
    trakt.approve(user_code(trakt))
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["tokens"]["access_token"] in trakt.access_tokens


async def test_reauth_with_another_account_is_refused(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    entry = trakt_entry(url, {"access_token": "revoked"}, slug="bob")
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "trakt_reauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    trakt.approve(user_code(trakt))
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["tokens"]["access_token"] == "revoked"
