"""Connecting a Jellyfin user: server URL with user name and password, or Quick Connect."""

import asyncio
from dataclasses import dataclass
import re
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.flows import mediabrowser as mediabrowser_flow
from tests.providers.conftest import Serve
from tests.simulators.mediabrowser import (
    Flavour,
    MediaBrowserQuirks,
    MediaBrowserState,
    User,
    mediabrowser_app,
)
from tests.simulators.openapi import RECORDED

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port
PASSWORD = "correct horse"


def fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """The fields of a form's schema."""
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick Connect is polled without a pause between polls."""
    monkeypatch.setattr(mediabrowser_flow, "QUICK_CONNECT_INTERVAL", 0)


@dataclass
class Server:
    """A simulated Jellyfin server on loopback, with the user alice."""

    state: MediaBrowserState
    user: User
    url: str

    @property
    def unique_id(self) -> str:
        return f"jellyfin:{self.state.server_id}:{self.user.id}"


async def start_server(serve: Serve, **options: Any) -> Server:
    state = MediaBrowserState(Flavour.JELLYFIN, **options)
    user = state.add_user("alice", PASSWORD)
    return Server(state, user, await serve(mediabrowser_app(state)))


@pytest.fixture
async def server(serve: Serve) -> Server:
    return await start_server(serve)


async def start(hass: HomeAssistant, step: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "jellyfin" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin"}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["jellyfin_password", "jellyfin_quick_connect"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return result


async def password(
    hass: HomeAssistant, flow_id: str, url: str, secret: str = PASSWORD, **extra: Any
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(
        flow_id, {"url": url, "username": "alice", "password": secret, **extra}
    )


def check_entry(entry: Any, server: Server) -> None:
    """The entry holds the account, its token and device id, and never the password."""
    assert entry.unique_id == server.unique_id
    assert entry.title == "Jellyfin (alice on Living Room)"
    token = entry.data["tokens"]["access_token"]
    assert server.state.tokens[token] == server.user.id
    assert re.fullmatch(r"[0-9a-f]{32}", entry.data["device_id"])
    assert entry.data == {
        "kind": "jellyfin",
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


async def test_a_jellyfin_user_signs_in_with_the_password(
    hass: HomeAssistant, server: Server
) -> None:
    result = await start(hass, "jellyfin_password")

    result = await password(hass, result["flow_id"], server.url + "/")

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    check_entry(entry, server)
    assert entry.options == {"verify_ssl": True}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_wrong_password_or_address_is_refused_and_can_be_corrected(
    hass: HomeAssistant, server: Server
) -> None:
    flow_id = (await start(hass, "jellyfin_password"))["flow_id"]

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
    result = await start(hass, "jellyfin_password")

    result = await password(hass, result["flow_id"], server.url)

    assert result["errors"] == {"base": "unknown"}


async def test_the_same_jellyfin_user_cannot_be_added_twice(
    hass: HomeAssistant, server: Server
) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id=server.unique_id, data={"kind": "jellyfin"}
    ).add_to_hass(hass)
    result = await start(hass, "jellyfin_password")

    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# -- Quick Connect ----------------------------------------------------------------------------


async def request_code(hass: HomeAssistant, flow_id: str, url: str) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(flow_id, {"url": url})


async def wait(hass: HomeAssistant, flow_id: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        assert result["progress_action"] == "wait_for_jellyfin_qc"
        await hass.async_block_till_done(wait_background_tasks=True)
        result = await hass.config_entries.flow.async_configure(flow_id)
    return result


def last_code(server: Server) -> str:
    return list(server.state.quick_connect.values())[-1].code


async def test_quick_connect_shows_a_code_and_creates_the_entry_once_approved(
    hass: HomeAssistant, server: Server
) -> None:
    result = await start(hass, "jellyfin_quick_connect")

    result = await request_code(hass, result["flow_id"], server.url)
    assert result["step_id"] == "jellyfin_qc_code"
    code = last_code(server)
    assert result["description_placeholders"] == {
        "url": f"{server.url}/web/#/quickconnect",
        "code": code,
    }
    assert "qr_code" in fields(result)
    server.state.approve_quick_connect(code, server.user)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    check_entry(result["result"], server)
    assert len(server.state.tokens) == 1  # one request, one token


async def test_closing_the_flow_stops_the_quick_connect_poll(
    hass: HomeAssistant, serve: Serve
) -> None:
    state = MediaBrowserState(Flavour.JELLYFIN)
    app = mediabrowser_app(state)
    url = await serve(app)
    result = await start(hass, "jellyfin_quick_connect")
    result = await request_code(hass, result["flow_id"], url)
    assert result["step_id"] == "jellyfin_qc_code"

    hass.config_entries.flow.async_abort(result["flow_id"])
    await asyncio.sleep(0.05)
    polls = len(app[RECORDED])
    await asyncio.sleep(0.05)

    assert len(app[RECORDED]) == polls  # nothing polls the server any more


async def test_quick_connect_switched_off_is_told_and_the_server_can_be_changed(
    hass: HomeAssistant, serve: Serve, server: Server
) -> None:
    off = await start_server(serve, quirks=MediaBrowserQuirks(quick_connect=False))
    flow_id = (await start(hass, "jellyfin_quick_connect"))["flow_id"]

    result = await request_code(hass, flow_id, off.url)
    assert result["errors"] == {"base": "quick_connect_disabled"}
    result = await request_code(hass, flow_id, DEAD)
    assert result["errors"] == {"base": "cannot_connect"}

    result = await request_code(hass, flow_id, server.url)
    assert result["step_id"] == "jellyfin_qc_code"


async def test_an_expired_quick_connect_code_offers_a_new_one(
    hass: HomeAssistant, server: Server
) -> None:
    result = await start(hass, "jellyfin_quick_connect")
    result = await request_code(hass, result["flow_id"], server.url)
    server.state.quick_connect.clear()  # the server forgets the request

    result = await wait(hass, result["flow_id"])
    assert result["step_id"] == "jellyfin_qc_retry"
    assert result["errors"] == {"base": "code_expired"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "jellyfin_qc_code"
    server.state.approve_quick_connect(last_code(server), server.user)
    result = await wait(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_new_code_that_cannot_be_had_stays_on_the_retry_form(
    hass: HomeAssistant, server: Server
) -> None:
    result = await start(hass, "jellyfin_quick_connect")
    result = await request_code(hass, result["flow_id"], server.url)
    server.state.quick_connect.clear()
    result = await wait(hass, result["flow_id"])

    server.state.quirks.quick_connect = False  # switched off meanwhile
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})

    assert result["step_id"] == "jellyfin_qc_retry"
    assert result["errors"] == {"base": "quick_connect_disabled"}


async def test_an_approved_code_the_server_then_refuses_offers_a_new_one(
    hass: HomeAssistant, server: Server
) -> None:
    result = await start(hass, "jellyfin_quick_connect")
    result = await request_code(hass, result["flow_id"], server.url)
    server.state.approve_quick_connect(last_code(server), server.user)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done(wait_background_tasks=True)

    server.state.quick_connect.clear()  # gone before the exchange for a token
    result = await hass.config_entries.flow.async_configure(result["flow_id"])

    assert result["step_id"] == "jellyfin_qc_retry"
    # The server answered (it refused the forgotten code): reachable, so not "cannot connect".
    assert result["errors"] == {"base": "invalid_response"}


# -- reauth and reconfigure ---------------------------------------------------------------------


def jellyfin_entry(server: Server, url: str | None = None, **data: Any) -> MockConfigEntry:
    user_id = data.pop("user_id", server.user.id)
    return MockConfigEntry(
        domain=DOMAIN,
        title="Jellyfin (alice on Living Room)",
        unique_id=f"jellyfin:{server.state.server_id}:{user_id}",
        data={
            "kind": "jellyfin",
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


async def test_reauth_with_the_password_keeps_the_entry_and_its_device(
    hass: HomeAssistant, server: Server
) -> None:
    entry = jellyfin_entry(server)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin_password"}
    )
    # The form starts from the entry's server and user; TLS stays an option.
    assert "advanced" not in fields(result)
    suggested = {
        str(key): key.description["suggested_value"] for key in fields(result) if key.description
    }
    assert suggested == {"url": server.url, "username": "alice"}
    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert server.state.tokens[entry.data["tokens"]["access_token"]] == server.user.id
    assert entry.data["device_id"] == "kept-device-id"


async def test_reauth_with_quick_connect(hass: HomeAssistant, server: Server) -> None:
    entry = jellyfin_entry(server)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin_quick_connect"}
    )
    result = await request_code(hass, result["flow_id"], server.url)
    server.state.approve_quick_connect(last_code(server), server.user)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert server.state.tokens[entry.data["tokens"]["access_token"]] == server.user.id


async def test_reauth_as_another_user_is_refused(hass: HomeAssistant, server: Server) -> None:
    entry = jellyfin_entry(server, user_id="bob")
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin_password"}
    )
    result = await password(hass, result["flow_id"], server.url)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["tokens"]["access_token"] == "revoked"


async def test_reconfigure_moves_the_server_with_the_saved_token(
    hass: HomeAssistant, serve: Serve, server: Server
) -> None:
    token = server.state.issue_token(server.user)
    entry = jellyfin_entry(server, url=DEAD, tokens={"access_token": token})
    entry.add_to_hass(hass)
    moved = await serve(mediabrowser_app(server.state))  # the same server, a new address

    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_jellyfin"
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
    entry = jellyfin_entry(server)  # its token is not known to the server
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": server.url})

    assert result["errors"] == {"base": "invalid_auth"}


async def test_reconfigure_to_another_server_is_refused(
    hass: HomeAssistant, serve: Serve, server: Server
) -> None:
    token = server.state.issue_token(server.user)
    entry = jellyfin_entry(server, tokens={"access_token": token})
    entry.add_to_hass(hass)
    # Another server where the same user name happens to have the same token.
    other = await start_server(serve, server_name="Cabin")
    other.state.tokens[token] = other.user.id

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"url": other.url})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["base_url"] == server.url
