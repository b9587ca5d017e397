"""Connecting a Plex account: plex.tv PIN and server choice, or a server URL and token."""

import asyncio
from dataclasses import dataclass
import re
import socket
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from custom_components.crosswatch.flows import plex as plex_flow
from tests.providers.conftest import Serve
from tests.simulators.openapi import RECORDED
from tests.simulators.plex import (
    ACCOUNT_TOKEN,
    MACHINE_ID,
    SERVER_TOKEN,
    PlexSim,
    make_apps,
    make_server_app,
)

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port
UNIQUE_ID = f"plex:9f8e7d6c5b4a3210@{MACHINE_ID}"


def fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """The fields of a form's schema."""
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


@pytest.fixture(autouse=True)
def quick_pin_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """plex.tv is polled without a pause between polls."""
    monkeypatch.setattr(plex_flow, "PIN_POLL_INTERVAL", 0)


@dataclass
class World:
    """The four Plex hosts on loopback, over one simulator state."""

    sim: PlexSim
    urls: dict[str, str]
    plex_tv: web.Application

    @property
    def advanced(self) -> dict[str, str]:
        return {
            "plex_tv_url": self.urls["plex_tv"],
            "discover_url": self.urls["discover"],
            "metadata_url": self.urls["metadata"],
        }

    def last_pin(self) -> Any:
        return list(self.sim.pins.values())[-1]


async def start_world(serve: Serve, **fields: Any) -> World:
    # The simulator's clock is the real one: the flow checks a PIN's expiry against it.
    sim = PlexSim(now=int(time.time()), **fields)
    apps = make_apps(sim)
    urls = {name: await serve(getattr(apps, name)) for name in ("server", "plex_tv")}
    urls |= {name: await serve(getattr(apps, name)) for name in ("discover", "metadata")}
    # A dead local address comes first: the flow must fall through to the one that answers.
    sim.connections = [
        {"uri": DEAD, "local": True, "relay": False},
        {"uri": urls["server"], "local": False, "relay": False},
    ]
    return World(sim, urls, apps.plex_tv)


@pytest.fixture
async def world(serve: Serve) -> World:
    return await start_world(serve)


async def start(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "plex" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "plex"}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["plex_sign_in", "plex_direct"]
    return result


async def choose(hass: HomeAssistant, flow_id: str, step: str) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(flow_id, {"next_step_id": step})


async def sign_in(hass: HomeAssistant, world: World, **advanced: str) -> ConfigFlowResult:
    """Up to the code: the menu, then the sign-in form with the simulator's URLs."""
    result = await choose(hass, (await start(hass))["flow_id"], "plex_sign_in")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "plex_sign_in"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"advanced": world.advanced | advanced}
    )


async def wait(hass: HomeAssistant, flow_id: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        assert result["progress_action"] == "wait_for_plex"
        await hass.async_block_till_done(wait_background_tasks=True)
        result = await hass.config_entries.flow.async_configure(flow_id)
    return result


async def test_plex_tv_sign_in_with_one_server_creates_the_entry(
    hass: HomeAssistant, world: World
) -> None:
    result = await sign_in(hass, world)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "plex_code"
    pin = world.last_pin()
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    url = placeholders["url"]
    assert url.startswith("https://app.plex.tv/auth#?")
    assert f"code={pin.code}" in url
    assert f"clientID={pin.client_identifier}" in url
    assert placeholders["code"] == pin.code
    assert "qr_code" in fields(result)
    world.sim.approve_pin(pin.id)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["title"] == "Plex (alice on Living Room)"
    entry = result["result"]
    assert entry.unique_id == UNIQUE_ID
    assert len(world.sim.pins) == 1  # one PIN, one poll: nothing was started twice
    # The client identifier plex.tv saw is the one kept, generated for this flow.
    assert re.fullmatch(r"[0-9a-f]{32}", entry.data["device_id"])
    assert entry.data["device_id"] == pin.client_identifier
    assert entry.data == {
        "kind": "plex",
        "account_id": f"9f8e7d6c5b4a3210@{MACHINE_ID}",
        "device_id": pin.client_identifier,
        "server_url": world.urls["server"],
        "server_token": SERVER_TOKEN,
        "server_id": MACHINE_ID,
        "tokens": {"access_token": ACCOUNT_TOKEN, "refresh_token": None, "expires_at": None},
        "user_id": "9f8e7d6c5b4a3210",
        "user_name": "alice",
        "plex_tv_url": world.urls["plex_tv"],
        "discover_url": world.urls["discover"],
        "metadata_url": world.urls["metadata"],
    }
    assert entry.options == {"verify_ssl": True}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_managed_user_of_someone_elses_server_signs_in_and_the_entry_loads(
    hass: HomeAssistant, world: World
) -> None:
    # The server is not theirs, and it answers their token 401 on the admin-only play history.
    world.sim.quirks.non_admin = True
    result = await sign_in(hass, world)
    world.sim.approve_pin(world.last_pin().id)

    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    assert entry.unique_id == UNIQUE_ID
    assert entry.data["server_token"] == SERVER_TOKEN
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_server_that_no_longer_takes_the_users_token_is_refused_as_a_sign_in_problem(
    hass: HomeAssistant, world: World
) -> None:
    # plex.tv still knows the account, but the server's share was withdrawn.
    world.sim.quirks.server_revoked = True
    result = await sign_in(hass, world)
    world.sim.approve_pin(world.last_pin().id)

    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}


async def test_several_servers_are_offered_and_an_unreachable_choice_can_be_changed(
    hass: HomeAssistant, world: World
) -> None:
    world.sim.other_servers = [
        {
            "name": "Cabin",
            "clientIdentifier": "cabin-machine",
            "accessToken": "cabin-token",
            "connections": [{"uri": DEAD, "local": True, "relay": False}],
        }
    ]
    result = await sign_in(hass, world)
    world.sim.approve_pin(world.last_pin().id)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "plex_server"
    assert result["description_placeholders"] == {"account": "alice"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"server": "cabin-machine"}
    )
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"server": MACHINE_ID}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data["server_id"] == MACHINE_ID


async def test_a_single_server_that_is_down_is_shown_with_the_error_until_it_is_up(
    hass: HomeAssistant, world: World
) -> None:
    with socket.socket() as probe:  # a free port, where the server will come up later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    world.sim.connections = [{"uri": f"http://127.0.0.1:{port}", "local": True, "relay": False}]
    result = await sign_in(hass, world)
    world.sim.approve_pin(world.last_pin().id)

    result = await wait(hass, result["flow_id"])
    assert result["step_id"] == "plex_server"
    assert result["errors"] == {"base": "cannot_connect"}

    server = TestServer(make_server_app(world.sim), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"server": MACHINE_ID}
        )
    finally:
        await server.close()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data["server_url"] == f"http://127.0.0.1:{port}"


async def test_an_account_without_servers_is_told_so(hass: HomeAssistant, world: World) -> None:
    world.sim.server_listed = False
    result = await sign_in(hass, world)
    world.sim.approve_pin(world.last_pin().id)

    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_servers"


async def test_an_expired_pin_offers_a_new_one(hass: HomeAssistant, world: World) -> None:
    result = await sign_in(hass, world)
    world.sim.expire_pin(world.last_pin().id)

    result = await wait(hass, result["flow_id"])
    assert result["step_id"] == "plex_retry"
    assert result["errors"] == {"base": "code_expired"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "plex_code"
    assert len(world.sim.pins) == 1  # the expired PIN is gone, a new one was issued
    world.sim.approve_pin(world.last_pin().id)
    result = await wait(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_an_unreachable_plex_tv_is_a_connection_error(
    hass: HomeAssistant, world: World
) -> None:
    result = await sign_in(hass, world, plex_tv_url=DEAD)
    assert result["step_id"] == "plex_sign_in"
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"advanced": world.advanced}
    )
    assert result["step_id"] == "plex_code"


async def test_a_refused_account_token_offers_a_new_pin(hass: HomeAssistant, world: World) -> None:
    result = await sign_in(hass, world)
    world.sim.approve_pin(world.last_pin().id, token="not-a-plex-token")

    result = await wait(hass, result["flow_id"])
    assert result["step_id"] == "plex_retry"
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    world.sim.approve_pin(world.last_pin().id)
    result = await wait(hass, result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_failing_new_pin_stays_on_the_retry_form(
    hass: HomeAssistant, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await sign_in(hass, world)
    world.sim.expire_pin(world.last_pin().id)
    result = await wait(hass, result["flow_id"])

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(plex_flow, "create_pin", broken)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})

    assert result["step_id"] == "plex_retry"
    assert result["errors"] == {"base": "unknown"}


async def test_closing_the_flow_stops_the_pin_poll(hass: HomeAssistant, world: World) -> None:
    result = await sign_in(hass, world)
    assert result["step_id"] == "plex_code"

    hass.config_entries.flow.async_abort(result["flow_id"])
    await asyncio.sleep(0.05)
    polls = len(world.plex_tv[RECORDED])
    await asyncio.sleep(0.05)

    assert len(world.plex_tv[RECORDED]) == polls  # nothing polls plex.tv any more


async def test_the_same_account_and_server_cannot_be_added_twice(
    hass: HomeAssistant, world: World
) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=UNIQUE_ID, data={"kind": "plex"}).add_to_hass(hass)
    result = await sign_in(hass, world)
    world.sim.approve_pin(world.last_pin().id)

    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# -- a server URL and token -------------------------------------------------------------------


async def direct(
    hass: HomeAssistant, world: World, flow_id: str, url: str, token: str, **extra: Any
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(
        flow_id, {"server_url": url, "token": token, "advanced": world.advanced | extra}
    )


async def test_a_server_url_and_token_create_an_entry_keyed_by_the_server(
    hass: HomeAssistant, world: World
) -> None:
    result = await choose(hass, (await start(hass))["flow_id"], "plex_direct")
    assert result["step_id"] == "plex_direct"

    # Typed without the scheme, with a trailing slash.
    address = world.urls["server"].removeprefix("http://") + "/"
    result = await direct(hass, world, result["flow_id"], address, ACCOUNT_TOKEN)

    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["title"] == "Plex (alice)"
    entry = result["result"]
    assert entry.unique_id == f"plex:{MACHINE_ID}"
    assert re.fullmatch(r"[0-9a-f]{32}", entry.data["device_id"])
    assert entry.data == {
        "kind": "plex",
        "account_id": MACHINE_ID,
        "device_id": entry.data["device_id"],
        "server_url": world.urls["server"],
        "server_token": ACCOUNT_TOKEN,
        "server_id": MACHINE_ID,
        "plex_tv_url": world.urls["plex_tv"],
        "discover_url": world.urls["discover"],
        "metadata_url": world.urls["metadata"],
    }
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_wrong_token_or_address_is_refused_and_can_be_corrected(
    hass: HomeAssistant, world: World
) -> None:
    flow_id = (await choose(hass, (await start(hass))["flow_id"], "plex_direct"))["flow_id"]

    result = await direct(hass, world, flow_id, world.urls["server"], "wrong-token")
    assert result["errors"] == {"base": "invalid_auth"}
    result = await direct(hass, world, flow_id, DEAD, ACCOUNT_TOKEN)
    assert result["errors"] == {"base": "cannot_connect"}

    result = await direct(hass, world, flow_id, world.urls["server"], ACCOUNT_TOKEN)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_the_same_server_cannot_be_added_twice_by_url(
    hass: HomeAssistant, world: World
) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id=f"plex:{MACHINE_ID}", data={"kind": "plex"}
    ).add_to_hass(hass)
    flow_id = (await choose(hass, (await start(hass))["flow_id"], "plex_direct"))["flow_id"]

    result = await direct(hass, world, flow_id, world.urls["server"], ACCOUNT_TOKEN)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# -- reauth and reconfigure ---------------------------------------------------------------------


def plex_entry(world: World, **data: Any) -> MockConfigEntry:
    """A Plex entry signed in with plex.tv, on the simulator's server."""
    user_id = data.pop("user_id", "9f8e7d6c5b4a3210")
    server_id = data.pop("server_id", MACHINE_ID)
    return MockConfigEntry(
        domain=DOMAIN,
        title="Plex (alice on Living Room)",
        unique_id=f"plex:{user_id}@{server_id}",
        data={
            "kind": "plex",
            "account_id": f"{user_id}@{server_id}",
            "device_id": "kept-device-id",
            "server_url": world.urls["server"],
            "server_token": SERVER_TOKEN,
            "server_id": server_id,
            "tokens": {"access_token": "revoked"},
            "user_id": user_id,
            "user_name": "alice",
            **world.advanced,
            **data,
        },
    )


async def reauth(hass: HomeAssistant, sim: PlexSim, entry: MockConfigEntry) -> ConfigFlowResult:
    """Open the reauth flow and ask for a PIN (nothing is asked of plex.tv before)."""
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "plex_sign_in"
    assert "verify_ssl" not in fields(result)["advanced"].schema.schema  # that is an option
    assert not any(pin.client_identifier == "kept-device-id" for pin in sim.pins.values())
    return await hass.config_entries.flow.async_configure(result["flow_id"], {})


def direct_entry(world: World, url: str, token: str = ACCOUNT_TOKEN) -> MockConfigEntry:
    """A Plex entry by server URL and token."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Plex (alice)",
        unique_id=f"plex:{MACHINE_ID}",
        data={
            "kind": "plex",
            "account_id": MACHINE_ID,
            "device_id": "kept-device-id",
            "server_url": url,
            "server_token": token,
            "server_id": MACHINE_ID,
            **world.advanced,
        },
    )


async def test_reauth_signs_in_again_with_the_same_client_identifier(
    hass: HomeAssistant, world: World
) -> None:
    entry = plex_entry(world)
    entry.add_to_hass(hass)

    result = await reauth(hass, world.sim, entry)
    assert result["step_id"] == "plex_code"
    assert world.last_pin().client_identifier == "kept-device-id"
    world.sim.approve_pin(world.last_pin().id)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["tokens"]["access_token"] == ACCOUNT_TOKEN
    assert entry.data["device_id"] == "kept-device-id"


async def test_reauth_with_an_account_without_the_server_is_refused(
    hass: HomeAssistant, world: World
) -> None:
    entry = plex_entry(world, server_id="another-machine")
    entry.add_to_hass(hass)

    result = await reauth(hass, world.sim, entry)
    world.sim.approve_pin(world.last_pin().id)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["tokens"]["access_token"] == "revoked"


async def test_reauth_with_another_account_on_the_same_server_is_refused(
    hass: HomeAssistant, world: World
) -> None:
    entry = plex_entry(world, user_id="someone-else")
    entry.add_to_hass(hass)

    result = await reauth(hass, world.sim, entry)
    world.sim.approve_pin(world.last_pin().id)
    result = await wait(hass, result["flow_id"])

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["tokens"]["access_token"] == "revoked"


async def test_reauth_when_plex_tv_is_unreachable_says_so_and_can_be_corrected(
    hass: HomeAssistant, world: World
) -> None:
    entry = plex_entry(world, plex_tv_url=DEAD)
    entry.add_to_hass(hass)

    result = await reauth(hass, world.sim, entry)
    assert result["step_id"] == "plex_sign_in"
    assert result["errors"] == {"base": "cannot_connect"}

    # The form starts from the entry's URLs; corrected, the sign-in goes on.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"advanced": world.advanced}
    )
    assert result["step_id"] == "plex_code"


async def test_reauth_of_a_direct_entry_asks_for_a_new_token(
    hass: HomeAssistant, world: World
) -> None:
    entry = direct_entry(world, world.urls["server"], token="revoked")
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "plex_direct"
    # The form starts from the entry: its address, and no TLS choice (that is an option).
    advanced = fields(result)["advanced"].schema.schema
    assert "verify_ssl" not in advanced
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"server_url": world.urls["server"], "token": ACCOUNT_TOKEN}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["server_token"] == ACCOUNT_TOKEN
    assert entry.data["plex_tv_url"] == world.urls["plex_tv"]


async def test_reconfigure_moves_the_server_and_keeps_the_account(
    hass: HomeAssistant, serve: Serve, world: World
) -> None:
    entry = plex_entry(world, server_url=DEAD, tokens={"access_token": ACCOUNT_TOKEN})
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_plex"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"server_url": "http://127.0.0.1:10"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"server_url": world.urls["server"]}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["server_url"] == world.urls["server"]
    assert entry.data["account_id"] == f"9f8e7d6c5b4a3210@{MACHINE_ID}"
    assert entry.data["tokens"] == {"access_token": ACCOUNT_TOKEN}
    assert entry.data["device_id"] == "kept-device-id"


async def test_reconfigure_to_another_server_is_refused(
    hass: HomeAssistant, serve: Serve, world: World
) -> None:
    entry = direct_entry(world, world.urls["server"])
    entry.add_to_hass(hass)
    other = await start_world(serve, machine_id="another-machine")

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"server_url": other.urls["server"]}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data["server_url"] == world.urls["server"]
