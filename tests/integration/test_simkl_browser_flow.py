"""Connecting a SIMKL account in the browser: AUTH V2's authorization code with PKCE.

The test is the user's browser: it opens the consent page the flow points at (the simulator),
reads SIMKL's redirect without following it, and brings SIMKL's answer to Home Assistant's
OAuth callback, `/auth/external/callback`, as the browser would.
"""

from collections.abc import AsyncIterator
from http import HTTPStatus
from unittest.mock import patch

import aiohttp
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.config_entry_oauth2_flow import MY_AUTH_CALLBACK_PATH
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.crosswatch.clients.errors import CrossWatchConnectionError
from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim

# Where Home Assistant asks SIMKL to send the browser back (`current_request_with_host`).
REDIRECT = "https://example.com/auth/external/callback"


@pytest.fixture
async def url(hass: HomeAssistant, serve: Serve, simkl: simkl_sim.SimklState) -> str:
    assert await async_setup_component(hass, "auth", {})  # serves the OAuth callback
    simkl.register_redirect_uri(REDIRECT)
    return await serve(simkl_sim.simkl_app(simkl))


@pytest.fixture
async def browser(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def start(
    hass: HomeAssistant, url: str, client_id: str = simkl_sim.PKCE_CLIENT_ID
) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "simkl"}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"client_id": client_id, "method": "browser", "advanced": {"base_url": url}},
    )


async def consent(browser: aiohttp.ClientSession, result: ConfigFlowResult) -> URL:
    """Open the consent page the flow shows; where SIMKL sends the browser back."""
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    async with browser.get(result["url"], allow_redirects=False) as page:
        assert page.status == HTTPStatus.FOUND, await page.text()
        return URL(page.headers["Location"])


async def come_back(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, back: URL, flow_id: str
) -> ConfigFlowResult:
    """The browser lands on Home Assistant's callback; the flow moves on."""
    assert back.with_query(None) == URL(REDIRECT)
    client = await hass_client_no_auth()
    reply = await client.get(URL(back.path).with_query(back.query))
    assert reply.status == HTTPStatus.OK
    return await hass.config_entries.flow.async_configure(flow_id)


@pytest.mark.usefixtures("current_request_with_host")
async def test_a_simkl_account_is_connected_in_the_browser_with_pkce(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    url: str,
    simkl: simkl_sim.SimklState,
    browser: aiohttp.ClientSession,
) -> None:
    result = await start(hass, url)
    assert result["step_id"] == "simkl_auth"
    assert result["url"].startswith(f"{url}/oauth2/authorize?")

    back = await consent(browser, result)
    [asked] = simkl.authorize_requests
    assert asked["scope"] == "media:read media:write"
    assert asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == REDIRECT
    assert back.query["iss"] == "https://simkl.com"
    result = await come_back(hass, hass_client_no_auth, back, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "SIMKL (Andrew Masyk)"
    assert result["result"].unique_id == "simkl:51"
    data = result["result"].data
    assert data["client_id"] == simkl_sim.PKCE_CLIENT_ID
    assert data["tokens"]["access_token"] == simkl.grants[0].access_token
    assert data["tokens"]["refresh_token"] == simkl.grants[0].refresh_token
    assert data["tokens"]["expires_at"] is not None
    assert all(code.used for code in simkl.auth_codes.values())


@pytest.mark.usefixtures("current_request_with_host")
async def test_a_declined_consent_says_so_and_submit_opens_the_page_again(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    url: str,
    simkl: simkl_sim.SimklState,
    browser: aiohttp.ClientSession,
) -> None:
    simkl.consent_declined = True
    result = await start(hass, url)
    back = await consent(browser, result)
    assert back.query["error"] == "access_denied"

    result = await come_back(hass, hass_client_no_auth, back, result["flow_id"])
    assert result["step_id"] == "simkl_auth_retry"
    assert result["errors"] == {"base": "access_denied"}
    assert not simkl.grants

    simkl.consent_declined = False  # the user thinks again
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    back = await consent(browser, result)
    first, second = simkl.authorize_requests
    assert first["code_challenge"] != second["code_challenge"]  # a new verifier
    result = await come_back(hass, hass_client_no_auth, back, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("current_request_with_host")
async def test_a_read_only_grant_from_the_browser_is_given_back(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    url: str,
    simkl: simkl_sim.SimklState,
    browser: aiohttp.ClientSession,
) -> None:
    result = await start(hass, url)
    back = await consent(browser, result)
    simkl.auth_codes[back.query["code"]].scope = "media:read"  # the user allowed reading only

    result = await come_back(hass, hass_client_no_auth, back, result["flow_id"])

    assert result["step_id"] == "simkl_auth_retry"
    assert result["errors"] == {"base": "read_only_grant"}
    assert simkl.grants[0].revoked
    assert not hass.config_entries.async_entries(DOMAIN)


@pytest.mark.usefixtures("current_request_with_host")
async def test_a_code_simkl_refuses_is_not_tried_again(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    url: str,
    simkl: simkl_sim.SimklState,
    browser: aiohttp.ClientSession,
) -> None:
    result = await start(hass, url)
    back = await consent(browser, result)
    simkl.auth_codes[back.query["code"]].used = True  # spent already (e.g. a second tab)

    result = await come_back(hass, hass_client_no_auth, back, result["flow_id"])

    assert result["step_id"] == "simkl_auth_retry"
    assert result["errors"] == {"base": "sign_in_refused"}
    assert not simkl.grants


@pytest.mark.usefixtures("current_request_with_host")
async def test_an_exchange_that_loses_simkl_says_so(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    url: str,
    browser: aiohttp.ClientSession,
) -> None:
    result = await start(hass, url)
    back = await consent(browser, result)

    with patch(
        "custom_components.crosswatch.flows.simkl.SimklOAuth.exchange_code",
        side_effect=CrossWatchConnectionError("unreachable"),
    ):
        result = await come_back(hass, hass_client_no_auth, back, result["flow_id"])

    assert result["step_id"] == "simkl_auth_retry"
    assert result["errors"] == {"base": "cannot_connect"}


@pytest.mark.usefixtures("current_request")
async def test_without_a_redirect_uri_the_form_says_to_use_my_home_assistant_or_a_code(
    hass: HomeAssistant, url: str, simkl: simkl_sim.SimklState
) -> None:
    result = await start(hass, url)  # a request without the frontend's address, no `my`

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "simkl"
    assert result["errors"] == {"base": "no_redirect_uri"}
    assert not simkl.authorize_requests


async def test_with_my_home_assistant_simkl_sends_the_browser_to_my_redirect(
    hass: HomeAssistant, url: str
) -> None:
    hass.config.components.add("my")

    result = await start(hass, url)

    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert URL(result["url"]).query["redirect_uri"] == MY_AUTH_CALLBACK_PATH


@pytest.mark.usefixtures("current_request_with_host")
async def test_reauth_can_sign_in_in_the_browser(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    url: str,
    simkl: simkl_sim.SimklState,
    browser: aiohttp.ClientSession,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="SIMKL (Andrew)",
        unique_id="simkl:51",
        data={
            "kind": "simkl",
            "account_id": "51",
            "client_id": simkl_sim.PKCE_CLIENT_ID,
            "tokens": {"access_token": "simkl_at_dead", "refresh_token": None},
            "base_url": url,
        },
    )
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "simkl_reauth"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_id": simkl_sim.PKCE_CLIENT_ID, "method": "browser"}
    )
    back = await consent(browser, result)
    result = await come_back(hass, hass_client_no_auth, back, result["flow_id"])

    assert result["reason"] == "reauth_successful"
    assert entry.data["tokens"]["refresh_token"] == simkl.grants[0].refresh_token
