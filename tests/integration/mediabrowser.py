"""Jellyfin and Emby servers for the flow tests: one simulator, the two flavours apart."""

from dataclasses import dataclass
import re
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators.mediabrowser import Flavour, MediaBrowserState, User, mediabrowser_app

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port
PASSWORD = "correct horse"


@dataclass(frozen=True)
class Brand:
    """How a server kind's flow differs: its name, and how its password form is reached.

    Jellyfin offers a menu (password or Quick Connect) first; Emby goes straight to the form.
    """

    kind: str
    name: str
    flavour: Flavour
    password_step: str
    menu: str | None  # the menu in front of the password form, if any

    async def password_form(
        self, hass: HomeAssistant, result: ConfigFlowResult
    ) -> ConfigFlowResult:
        """From the menu (or the form itself) to the password form."""
        if self.menu is not None:
            assert result["type"] is FlowResultType.MENU
            assert result["step_id"] == self.menu
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"next_step_id": self.password_step}
            )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == self.password_step
        return result


JELLYFIN = Brand("jellyfin", "Jellyfin", Flavour.JELLYFIN, "jellyfin_password", menu="jellyfin")
EMBY = Brand("emby", "Emby", Flavour.EMBY, "emby", menu=None)


@dataclass
class Server:
    """A simulated server on loopback, with the user alice."""

    brand: Brand
    state: MediaBrowserState
    user: User
    url: str

    @property
    def unique_id(self) -> str:
        return f"{self.brand.kind}:{self.state.server_id}:{self.user.id}"


async def start_server(serve: Serve, brand: Brand, **options: Any) -> Server:
    state = MediaBrowserState(brand.flavour, **options)
    user = state.add_user("alice", PASSWORD)
    return Server(brand, state, user, await serve(mediabrowser_app(state)))


async def choose(hass: HomeAssistant, step: str) -> ConfigFlowResult:
    """A new flow, with `step` chosen in the account menu."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert step in result["menu_options"]
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})


async def password(
    hass: HomeAssistant, flow_id: str, url: str, secret: str = PASSWORD
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(
        flow_id, {"url": url, "username": "alice", "password": secret}
    )


def check_entry(entry: ConfigEntry, server: Server) -> None:
    """The entry holds the account, its token and device id, and never the password."""
    assert entry.unique_id == server.unique_id
    assert entry.title == f"{server.brand.name} (alice on Living Room)"
    token = entry.data["tokens"]["access_token"]
    assert server.state.tokens[token] == server.user.id
    assert re.fullmatch(r"[0-9a-f]{32}", entry.data["device_id"])
    assert entry.data == {
        "kind": server.brand.kind,
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


def server_entry(server: Server, url: str | None = None, **data: Any) -> MockConfigEntry:
    """A connected account of the server's kind, with a token the server does not know."""
    user_id = data.pop("user_id", server.user.id)
    kind = server.brand.kind
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"{server.brand.name} (alice on Living Room)",
        unique_id=f"{kind}:{server.state.server_id}:{user_id}",
        data={
            "kind": kind,
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
