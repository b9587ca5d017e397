"""The config flow creates the single CrossWatch sync entry."""

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.crosswatch.const import DOMAIN, SYNC_ENTRY_TITLE, SYNC_ENTRY_UNIQUE_ID


async def test_user_confirms_and_gets_the_sync_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == SYNC_ENTRY_TITLE
    assert result["result"].unique_id == SYNC_ENTRY_UNIQUE_ID


async def test_second_sync_entry_is_refused(hass: HomeAssistant) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=SYNC_ENTRY_UNIQUE_ID).add_to_hass(hass)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
