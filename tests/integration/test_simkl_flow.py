"""Connecting a SIMKL account with AUTH V2, and V1 accounts asked to reconnect before V1 ends.

The V2 sign-in: the app's client id, the device code, the entry with its refresh token.
"""

from datetime import timedelta
from http import HTTPStatus
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.crosswatch.clients.errors import CrossWatchConnectionError
from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim

from .helpers import simkl_entry

FLOWS = "custom_components.crosswatch.flows.simkl"


@pytest.fixture
async def url(serve: Serve, simkl: simkl_sim.SimklState) -> str:
    simkl.pin_interval = 1  # the least SIMKL's client waits between polls
    return await serve(simkl_sim.simkl_app(simkl))


def v2_entry(
    url: str, state: simkl_sim.SimklState, scope: str = "media:read media:write"
) -> MockConfigEntry:
    """A SIMKL account signed in with V2 (a grant the simulator issued)."""
    grant = state.issue_grant(scope)
    return MockConfigEntry(
        domain=DOMAIN,
        title="SIMKL (Andrew)",
        unique_id="simkl:51",
        data={
            "kind": "simkl",
            "account_id": "51",
            "client_id": simkl_sim.V2_CLIENT_ID,
            "tokens": {
                "access_token": grant.access_token,
                "refresh_token": grant.refresh_token,
                "expires_at": grant.access_expires.timestamp(),
            },
            "base_url": url,
        },
    )


async def start(
    hass: HomeAssistant, url: str, client_id: str = simkl_sim.V2_CLIENT_ID
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


def code(state: simkl_sim.SimklState) -> str:
    return list(state.device_codes.values())[-1].user_code


async def test_a_simkl_account_is_connected_with_a_v2_device_code(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    result = await start(hass, url)
    assert result["step_id"] == "simkl_code"
    placeholders = result.get("description_placeholders") or {}
    assert placeholders["code"] == code(simkl)
    assert placeholders["url"] == f"https://simkl.com/pin?user_code={code(simkl)}"
    assert list(simkl.device_codes.values())[-1].scope == "media:read media:write"
    simkl.approve_device(code(simkl))

    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "SIMKL (Andrew Masyk)"
    assert result["result"].unique_id == "simkl:51"
    tokens = result["result"].data["tokens"]
    assert tokens["access_token"] == simkl.grants[0].access_token
    assert tokens["refresh_token"] == simkl.grants[0].refresh_token
    assert tokens["expires_at"] is not None


async def test_a_v1_app_is_refused_by_the_v2_sign_in(hass: HomeAssistant, url: str) -> None:
    result = await start(hass, url, client_id=simkl_sim.CLIENT_ID)

    assert result["errors"] == {"base": "invalid_auth"}


async def test_a_read_only_grant_is_given_back_and_the_user_is_told_to_allow_changes(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    result = await start(hass, url)
    simkl.device_codes[list(simkl.device_codes)[-1]].scope = "media:read"  # as if misspelt
    simkl.approve_device(code(simkl))

    result = await wait(hass, result["flow_id"])

    assert result["step_id"] == "simkl_retry"
    assert result["errors"] == {"base": "read_only_grant"}
    assert simkl.grants[0].revoked
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_an_expired_code_offers_a_new_one(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    result = await start(hass, url)
    simkl.advance(900)

    result = await wait(hass, result["flow_id"])
    assert result["step_id"] == "simkl_retry"
    assert result["errors"] == {"base": "code_expired"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "simkl_code"
    simkl.approve_device(code(simkl))
    result = await wait(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_reauth_takes_a_new_code_for_the_same_account(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    entry = v2_entry(url, simkl)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "simkl_reauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "simkl_code"
    simkl.approve_device(code(simkl))
    result = await wait(hass, result["flow_id"])

    assert result["reason"] == "reauth_successful"


async def test_reauth_into_another_simkl_account_is_refused(
    hass: HomeAssistant, serve: Serve
) -> None:
    other = simkl_sim.SimklState(account_id=99, name="Someone else")
    other.pin_interval = 1
    url = await serve(simkl_sim.simkl_app(other))
    entry = v2_entry(url, other)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "simkl_reauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    other.approve_device(code(other))
    result = await wait(hass, result["flow_id"])

    assert result["reason"] == "wrong_account"


async def test_a_v1_account_keeps_syncing_and_is_asked_to_reconnect_before_the_sunset(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    url: str,
    simkl: simkl_sim.SimklState,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = simkl_entry(url, simkl)  # a V1 token: no refresh token, no expiry
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    issue_id = f"simkl_v1_sunset_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "simkl_v1_sunset"
    assert issue.translation_placeholders == {"account": entry.title, "date": "2027-03-31"}

    # The repair starts the account's reauth, which signs in with a V2 app.
    client = await hass_client()
    started = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert started.status == HTTPStatus.OK
    flow = await started.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"account": entry.title}
    done = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await done.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    [reauth] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert reauth["context"]["source"] == "reauth"
    result = await hass.config_entries.flow.async_configure(
        reauth["flow_id"], {"client_id": simkl_sim.V2_CLIENT_ID}
    )
    assert result["step_id"] == "simkl_code"
    simkl.approve_device(code(simkl))
    result = await wait(hass, result["flow_id"])
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()

    assert entry.data["client_id"] == simkl_sim.V2_CLIENT_ID
    assert entry.data["tokens"]["refresh_token"] == simkl.grants[0].refresh_token
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_a_v2_account_comes_back_after_eight_days_off_with_a_renewed_token_saved(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    entry = v2_entry(url, simkl)
    first = entry.data["tokens"]["access_token"]
    simkl.advance(timedelta(days=8).total_seconds())  # the access token died meanwhile
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)

    assert entry.state is ConfigEntryState.LOADED
    saved = entry.data["tokens"]
    assert saved["access_token"] != first
    assert saved["access_token"] == simkl.grants[0].access_token
    assert saved["refresh_token"] == simkl.grants[0].refresh_token
    assert simkl.grants[0].refreshes == 1
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"simkl_v1_sunset_{entry.entry_id}")


async def test_removing_a_v2_account_revokes_its_grant(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    entry = v2_entry(url, simkl)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    await hass.config_entries.async_remove(entry.entry_id)

    assert simkl.grants[0].revoked


async def test_a_declined_code_says_so_when_simkl_reports_it(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    simkl.quirks.device_denial_reported = True
    result = await start(hass, url)
    simkl.deny_device(code(simkl))

    result = await wait(hass, result["flow_id"])

    assert result["step_id"] == "simkl_retry"
    assert result["errors"] == {"base": "access_denied"}


async def test_a_poll_that_loses_simkl_offers_a_retry(hass: HomeAssistant, url: str) -> None:
    result = await start(hass, url)
    with patch(f"{FLOWS}.SimklOAuth.poll", side_effect=CrossWatchConnectionError("unreachable")):
        result = await wait(hass, result["flow_id"])

    assert result["step_id"] == "simkl_retry"
    assert result["errors"] == {"base": "cannot_connect"}


async def test_a_read_only_grant_is_refused_even_when_giving_it_back_fails(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    result = await start(hass, url)
    simkl.device_codes[list(simkl.device_codes)[-1]].scope = ""
    simkl.approve_device(code(simkl))

    with patch(f"{FLOWS}.SimklOAuth.revoke", side_effect=CrossWatchConnectionError("down")):
        result = await wait(hass, result["flow_id"])

    assert result["errors"] == {"base": "read_only_grant"}
    assert not simkl.grants[0].revoked  # SIMKL never heard: the user can remove it there


async def test_the_reconnect_repair_of_an_account_removed_meanwhile_just_ends(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    url: str,
    simkl: simkl_sim.SimklState,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = simkl_entry(url, simkl)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    client = await hass_client()
    started = await client.post(
        "/api/repairs/issues/fix",
        json={"handler": DOMAIN, "issue_id": f"simkl_v1_sunset_{entry.entry_id}"},
    )
    flow = await started.json()

    await hass.config_entries.async_remove(entry.entry_id)
    done = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})

    assert (await done.json())["reason"] == "account_removed"
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"simkl_v1_sunset_{entry.entry_id}")
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_removing_a_v2_account_while_simkl_is_down_still_removes_it_and_says_so(
    hass: HomeAssistant,
    url: str,
    simkl: simkl_sim.SimklState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = v2_entry(url, simkl)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    with patch(f"{FLOWS}.SimklOAuth.revoke", side_effect=CrossWatchConnectionError("down")):
        await hass.config_entries.async_remove(entry.entry_id)

    assert not hass.config_entries.async_entries(DOMAIN)
    assert "connected-apps" in caplog.text
