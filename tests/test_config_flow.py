"""The config flow creates the single CrossWatch sync entry."""

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN, SYNC_ENTRY_TITLE, SYNC_ENTRY_UNIQUE_ID


async def test_user_confirms_and_gets_the_sync_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert "sync" in result["menu_options"]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "sync"}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == SYNC_ENTRY_TITLE
    assert result["result"].unique_id == SYNC_ENTRY_UNIQUE_ID


async def test_the_sync_entry_is_offered_only_once(hass: HomeAssistant) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=SYNC_ENTRY_UNIQUE_ID).add_to_hass(hass)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})

    assert result["type"] is FlowResultType.MENU
    assert "sync" not in result["menu_options"]


async def test_a_second_sync_entry_started_in_parallel_is_refused(hass: HomeAssistant) -> None:
    waiting = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "sync" in waiting["menu_options"]
    other = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    await hass.config_entries.flow.async_configure(other["flow_id"], {"next_step_id": "sync"})
    created = await hass.config_entries.flow.async_configure(other["flow_id"], {})
    assert created["type"] is FlowResultType.CREATE_ENTRY

    refused = await hass.config_entries.flow.async_configure(
        waiting["flow_id"], {"next_step_id": "sync"}
    )

    assert refused["type"] is FlowResultType.ABORT
    assert refused["reason"] == "already_configured"
