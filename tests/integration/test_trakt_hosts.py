"""A Trakt account signs in on Trakt's auth host and syncs on its API host."""

from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchConnectionError
from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import trakt as trakt_sim
from tests.simulators.openapi import RECORDED

from .test_trakt_flow import start, user_code, wait


async def test_a_trakt_account_signs_in_on_the_auth_host_and_keeps_both_addresses(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    apps = trakt_sim.make_apps(trakt)
    api, auth = await serve(apps.api), await serve(apps.auth)
    result = await start(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "client_id": trakt_sim.CLIENT_ID,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "advanced": {"base_url": api, "auth_url": auth},
        },
    )
    assert result["step_id"] == "trakt_code"
    trakt.approve(user_code(trakt))
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (result["data"]["base_url"], result["data"]["auth_url"]) == (api, auth)
    assert {r.path for r in apps.auth[RECORDED]} == {"/oauth/device/code", "/oauth/device/token"}
    api_paths = {r.path for r in apps.api[RECORDED]}
    # The sign-in's check, and whatever the new account's calendar and watchlist to-do list
    # have read since (they read in the background, so maybe not yet): never the auth host's.
    assert "/users/settings" in api_paths
    assert not {path for path in api_paths if path.startswith("/oauth")}

    # The account refreshes its tokens on the auth host too.
    trakt.revoke_access_tokens()
    assert await hass.config_entries.async_reload(result["result"].entry_id)
    assert [r.path for r in apps.auth[RECORDED]][-1] == "/oauth/token"


async def test_removing_a_trakt_account_revokes_its_authorization_on_the_auth_host(
    hass: HomeAssistant, serve: Serve, trakt: trakt_sim.TraktSim
) -> None:
    apps = trakt_sim.make_apps(trakt)
    api, auth = await serve(apps.api), await serve(apps.auth)
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "client_id": trakt_sim.CLIENT_ID,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "advanced": {"base_url": api, "auth_url": auth},
        },
    )
    trakt.approve(user_code(trakt))
    entry = (await wait(hass, result["flow_id"]))["result"]
    token = entry.data["tokens"]["access_token"]

    await hass.config_entries.async_remove(entry.entry_id)

    assert trakt.revoked == [token]
    assert token not in trakt.access_tokens
    assert [r.path for r in apps.auth[RECORDED]][-1] == "/oauth/revoke"


async def test_removing_a_trakt_account_while_trakt_is_down_still_removes_it_and_says_so(
    hass: HomeAssistant,
    serve: Serve,
    trakt: trakt_sim.TraktSim,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = await serve(trakt_sim.make_app(trakt))
    result = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "client_id": trakt_sim.CLIENT_ID,
            "client_secret": trakt_sim.CLIENT_SECRET,
            "advanced": {"base_url": url},
        },
    )
    trakt.approve(user_code(trakt))
    entry = (await wait(hass, result["flow_id"]))["result"]

    with patch(
        "custom_components.crosswatch.clients.trakt.revoke_token",
        side_effect=CrossWatchConnectionError("down"),
    ):
        await hass.config_entries.async_remove(entry.entry_id)

    assert not hass.config_entries.async_entries(DOMAIN)
    assert "authorized_applications" in caplog.text
    assert not trakt.revoked
