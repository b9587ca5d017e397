"""Jellyfin's Quick Connect: a code the user approves in another Jellyfin app.

The password sign-in, reauth and reconfigure are the same for Jellyfin and Emby
(test_mediabrowser_flow.py).
"""

import asyncio
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.crosswatch.flows import mediabrowser as mediabrowser_flow
from tests.providers.conftest import Serve
from tests.simulators.mediabrowser import (
    Flavour,
    MediaBrowserQuirks,
    MediaBrowserState,
    mediabrowser_app,
)
from tests.simulators.openapi import RECORDED

from .mediabrowser import DEAD, JELLYFIN, Server, check_entry, choose, server_entry, start_server


def fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """The fields of a form's schema."""
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick Connect is polled without a pause between polls."""
    monkeypatch.setattr(mediabrowser_flow, "QUICK_CONNECT_INTERVAL", 0)


@pytest.fixture
async def server(serve: Serve) -> Server:
    return await start_server(serve, JELLYFIN)


async def start(hass: HomeAssistant) -> ConfigFlowResult:
    """A new flow at the Quick Connect form (the server's URL)."""
    result = await choose(hass, "jellyfin")
    assert result["menu_options"] == ["jellyfin_password", "jellyfin_quick_connect"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "jellyfin_quick_connect"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "jellyfin_quick_connect"
    return result


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
    result = await start(hass)

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
    result = await start(hass)
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
    off = await start_server(serve, JELLYFIN, quirks=MediaBrowserQuirks(quick_connect=False))
    flow_id = (await start(hass))["flow_id"]

    result = await request_code(hass, flow_id, off.url)
    assert result["errors"] == {"base": "quick_connect_disabled"}
    result = await request_code(hass, flow_id, DEAD)
    assert result["errors"] == {"base": "cannot_connect"}

    result = await request_code(hass, flow_id, server.url)
    assert result["step_id"] == "jellyfin_qc_code"


async def test_an_expired_quick_connect_code_offers_a_new_one(
    hass: HomeAssistant, server: Server
) -> None:
    result = await start(hass)
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
    result = await start(hass)
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
    result = await start(hass)
    result = await request_code(hass, result["flow_id"], server.url)
    server.state.approve_quick_connect(last_code(server), server.user)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done(wait_background_tasks=True)

    server.state.quick_connect.clear()  # gone before the exchange for a token
    result = await hass.config_entries.flow.async_configure(result["flow_id"])

    assert result["step_id"] == "jellyfin_qc_retry"
    # The server answered (it refused the forgotten code): reachable, so not "cannot connect".
    assert result["errors"] == {"base": "invalid_response"}


async def test_reauth_with_quick_connect(hass: HomeAssistant, server: Server) -> None:
    entry = server_entry(server)
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
