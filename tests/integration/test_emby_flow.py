"""Connecting an Emby user: server URL, user name and password."""

from dataclasses import dataclass
import re
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators.mediabrowser import Flavour, MediaBrowserState, User, mediabrowser_app

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port
PASSWORD = "correct horse"


@dataclass
class Server:
    """A simulated Emby server on loopback (its API under /emby), with the user alice."""

    state: MediaBrowserState
    user: User
    url: str

    @property
    def unique_id(self) -> str:
        return f"emby:{self.state.server_id}:{self.user.id}"


async def start_server(serve: Serve, **options: Any) -> Server:
    state = MediaBrowserState(Flavour.EMBY, **options)
    user = state.add_user("alice", PASSWORD)
    return Server(state, user, await serve(mediabrowser_app(state)))


@pytest.fixture
async def server(serve: Serve) -> Server:
    return await start_server(serve)


async def start(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "emby" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "emby"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "emby"
    return result


async def password(
    hass: HomeAssistant, flow_id: str, url: str, secret: str = PASSWORD
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(
        flow_id, {"url": url, "username": "alice", "password": secret}
    )


async def test_an_emby_user_signs_in_with_the_password(hass: HomeAssistant, server: Server) -> None:
    result = await start(hass)

    # The address as users know it, without /emby: the client adds it.
    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["title"] == "Emby (alice on Living Room)"
    entry = result["result"]
    assert entry.unique_id == server.unique_id
    token = entry.data["tokens"]["access_token"]
    assert server.state.tokens[token] == server.user.id
    assert re.fullmatch(r"[0-9a-f]{32}", entry.data["device_id"])
    assert entry.data == {
        "kind": "emby",
        "account_id": f"{server.state.server_id}:{server.user.id}",
        "base_url": server.url,
        "device_id": entry.data["device_id"],
        "tokens": {"access_token": token, "refresh_token": None, "expires_at": None},
        "server_id": server.state.server_id,
        "server_name": "Living Room",
        "user_id": server.user.id,
        "user_name": "alice",
    }
    assert PASSWORD not in repr(dict(entry.data))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_user_without_a_password_leaves_it_empty(hass: HomeAssistant, serve: Serve) -> None:
    state = MediaBrowserState(Flavour.EMBY)
    state.add_user("kid", "")
    url = await serve(mediabrowser_app(state))
    result = await start(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": url, "username": "kid"}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data["user_name"] == "kid"


async def test_a_wrong_password_or_address_is_refused_and_can_be_corrected(
    hass: HomeAssistant, server: Server
) -> None:
    flow_id = (await start(hass))["flow_id"]

    result = await password(hass, flow_id, server.url, "wrong")
    assert result["errors"] == {"base": "invalid_auth"}
    result = await password(hass, flow_id, DEAD)
    assert result["errors"] == {"base": "cannot_connect"}

    result = await password(hass, flow_id, server.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_the_same_emby_user_cannot_be_added_twice(
    hass: HomeAssistant, server: Server
) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=server.unique_id, data={"kind": "emby"}).add_to_hass(
        hass
    )
    result = await password(hass, (await start(hass))["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


def emby_entry(server: Server, url: str | None = None, **data: Any) -> MockConfigEntry:
    user_id = data.pop("user_id", server.user.id)
    return MockConfigEntry(
        domain=DOMAIN,
        title="Emby (alice on Living Room)",
        unique_id=f"emby:{server.state.server_id}:{user_id}",
        data={
            "kind": "emby",
            "account_id": f"{server.state.server_id}:{user_id}",
            "base_url": url or server.url,
            "device_id": "kept-device-id",
            "tokens": {"access_token": "revoked"},
            "server_id": server.state.server_id,
            "server_name": "Living Room",
            "user_id": user_id,
            "user_name": "alice",
            **data,
        },
    )


async def test_reauth_signs_in_again_and_keeps_the_device(
    hass: HomeAssistant, server: Server
) -> None:
    entry = emby_entry(server)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "emby"
    result = await password(hass, result["flow_id"], server.url, "wrong")
    assert result["errors"] == {"base": "invalid_auth"}
    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert server.state.tokens[entry.data["tokens"]["access_token"]] == server.user.id
    assert entry.data["device_id"] == "kept-device-id"


async def test_reauth_as_another_user_is_refused(hass: HomeAssistant, server: Server) -> None:
    entry = emby_entry(server, user_id="bob")
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["tokens"]["access_token"] == "revoked"


async def test_reconfigure_moves_the_server_with_the_saved_token(
    hass: HomeAssistant, serve: Serve, server: Server
) -> None:
    token = server.state.issue_token(server.user)
    entry = emby_entry(server, url=DEAD, tokens={"access_token": token})
    entry.add_to_hass(hass)
    moved = await serve(mediabrowser_app(server.state))

    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_emby"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": moved})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["base_url"] == moved
    assert entry.data["tokens"]["access_token"] == token


async def test_reconfigure_to_another_server_is_refused(
    hass: HomeAssistant, serve: Serve, server: Server
) -> None:
    token = server.state.issue_token(server.user)
    entry = emby_entry(server, tokens={"access_token": token})
    entry.add_to_hass(hass)
    other = await start_server(serve, server_name="Cabin")
    other.state.tokens[token] = other.user.id

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": other.url})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
