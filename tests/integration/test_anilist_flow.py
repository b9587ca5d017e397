"""Connecting an AniList account: the client id, then the token pasted from the PIN page."""

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN
from tests.providers.conftest import Serve
from tests.simulators import anilist as anilist_sim

TOKEN = "aa.bb.cc"


@pytest.fixture
async def url(serve: Serve) -> str:
    state = anilist_sim.AniListState()
    state.add_user(5150, "Yuki", TOKEN, score_format="POINT_100")
    return await serve(anilist_sim.build_app(state))


async def start(hass: HomeAssistant, url: str) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "anilist"}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_id": "12345", "advanced": {"base_url": url}}
    )


async def test_a_pasted_token_connects_the_account_it_belongs_to(
    hass: HomeAssistant, url: str
) -> None:
    result = await start(hass, url)
    assert result["step_id"] == "anilist_token"
    assert "client_id=12345" in (result.get("description_placeholders") or {})["url"]

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"token": TOKEN})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "AniList (Yuki)"
    assert result["result"].unique_id == "anilist:5150"
    assert result["result"].data["score_format"] == "POINT_100"


async def test_a_wrong_token_is_refused_and_can_be_corrected(hass: HomeAssistant, url: str) -> None:
    result = await start(hass, url)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"token": "nope"})
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"token": TOKEN})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_an_unreachable_anilist_is_a_connection_error(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    result = await start(hass, "http://127.0.0.1:9")

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"token": TOKEN})

    assert result["errors"] == {"base": "cannot_connect"}


async def test_reauth_pastes_a_new_token_for_the_same_account(
    hass: HomeAssistant, url: str
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AniList (Yuki)",
        unique_id="anilist:5150",
        data={"kind": "anilist", "account_id": "5150", "client_id": "12345", "base_url": url},
    )
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "anilist_token"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"token": TOKEN})

    assert result["reason"] == "reauth_successful"
    assert entry.data["tokens"]["access_token"] == TOKEN
