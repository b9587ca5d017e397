"""Connecting a Jellyfin or Emby user with the password: the same flow for both servers.

Every test runs against both flavours of the simulated server. Jellyfin's Quick Connect has its
own tests (test_jellyfin_flow.py).
"""

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.flows import mediabrowser as mediabrowser_flow
from tests.providers.conftest import Serve
from tests.simulators.mediabrowser import MediaBrowserState, mediabrowser_app

from .mediabrowser import (
    DEAD,
    EMBY,
    JELLYFIN,
    Brand,
    Server,
    check_entry,
    choose,
    password,
    server_entry,
    start_server,
)


@pytest.fixture(params=[JELLYFIN, EMBY], ids=lambda brand: brand.kind)
def brand(request: pytest.FixtureRequest) -> Brand:
    """Each test once per server kind."""
    chosen: Brand = request.param
    return chosen


@pytest.fixture
async def server(serve: Serve, brand: Brand) -> Server:
    return await start_server(serve, brand)


async def start(hass: HomeAssistant, brand: Brand) -> ConfigFlowResult:
    """A new flow at the server kind's password form."""
    return await brand.password_form(hass, await choose(hass, brand.kind))


def fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """The fields of a form's schema."""
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


async def test_a_user_signs_in_with_the_password(hass: HomeAssistant, server: Server) -> None:
    result = await start(hass, server.brand)

    # The address as users know it (Emby's without /emby: the client adds it); a trailing
    # slash is dropped.
    result = await password(hass, result["flow_id"], server.url + "/")

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    check_entry(entry, server)
    assert entry.options == {"verify_ssl": True}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_user_without_a_password_leaves_it_empty(
    hass: HomeAssistant, serve: Serve, brand: Brand
) -> None:
    state = MediaBrowserState(brand.flavour)
    state.add_user("kid", "")
    url = await serve(mediabrowser_app(state))
    result = await start(hass, brand)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": url, "username": "kid"}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data["user_name"] == "kid"


async def test_a_wrong_password_or_address_is_refused_and_can_be_corrected(
    hass: HomeAssistant, server: Server
) -> None:
    flow_id = (await start(hass, server.brand))["flow_id"]

    result = await password(hass, flow_id, server.url, "wrong")
    assert result["errors"] == {"base": "invalid_auth"}
    result = await password(hass, flow_id, DEAD)
    assert result["errors"] == {"base": "cannot_connect"}

    result = await password(hass, flow_id, server.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_an_unexpected_error_is_reported_as_unknown(
    hass: HomeAssistant, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(mediabrowser_flow, "sign_in", broken)
    result = await start(hass, server.brand)

    result = await password(hass, result["flow_id"], server.url)

    assert result["errors"] == {"base": "unknown"}


async def test_the_same_user_cannot_be_added_twice(hass: HomeAssistant, server: Server) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id=server.unique_id, data={"kind": server.brand.kind}
    ).add_to_hass(hass)
    result = await start(hass, server.brand)

    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# -- reauth and reconfigure ---------------------------------------------------------------------


async def test_reauth_with_the_password_keeps_the_entry_and_its_device(
    hass: HomeAssistant, server: Server
) -> None:
    entry = server_entry(server)
    entry.add_to_hass(hass)

    result = await server.brand.password_form(hass, await entry.start_reauth_flow(hass))
    # The form starts from the entry's server and user; TLS stays an option.
    assert "advanced" not in fields(result)
    suggested = {
        str(key): key.description["suggested_value"] for key in fields(result) if key.description
    }
    assert suggested == {"url": server.url, "username": "alice"}
    result = await password(hass, result["flow_id"], server.url, "wrong")
    assert result["errors"] == {"base": "invalid_auth"}
    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert server.state.tokens[entry.data["tokens"]["access_token"]] == server.user.id
    assert entry.data["device_id"] == "kept-device-id"


async def test_reauth_as_another_user_is_refused(hass: HomeAssistant, server: Server) -> None:
    entry = server_entry(server, user_id="bob")
    entry.add_to_hass(hass)

    result = await server.brand.password_form(hass, await entry.start_reauth_flow(hass))
    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["tokens"]["access_token"] == "revoked"


async def test_reconfigure_moves_the_server_with_the_saved_token(
    hass: HomeAssistant, serve: Serve, server: Server
) -> None:
    token = server.state.issue_token(server.user)
    entry = server_entry(server, url=DEAD, tokens={"access_token": token})
    entry.add_to_hass(hass)
    moved = await serve(mediabrowser_app(server.state))  # the same server, a new address

    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == f"reconfigure_{server.brand.kind}"
    assert result["description_placeholders"] == {"server": "Living Room"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": "http://127.0.0.1:10"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": moved})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["base_url"] == moved
    assert entry.data["tokens"]["access_token"] == token
    assert entry.data["device_id"] == "kept-device-id"


async def test_reconfigure_with_a_refused_token_says_so(
    hass: HomeAssistant, server: Server
) -> None:
    entry = server_entry(server)  # its token is not known to the server
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": server.url})

    assert result["errors"] == {"base": "invalid_auth"}


async def test_reconfigure_to_another_server_is_refused(
    hass: HomeAssistant, serve: Serve, server: Server
) -> None:
    token = server.state.issue_token(server.user)
    entry = server_entry(server, tokens={"access_token": token})
    entry.add_to_hass(hass)
    # Another server where the same user name happens to have the same token.
    other = await start_server(serve, server.brand, server_name="Cabin")
    other.state.tokens[token] = other.user.id

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": other.url})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
