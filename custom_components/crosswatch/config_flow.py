"""Config flow for CrossWatch."""

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DOMAIN, SYNC_ENTRY_TITLE, SYNC_ENTRY_UNIQUE_ID


class CrossWatchConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the CrossWatch sync entry, which will own the sync pairs."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm the creation of the single CrossWatch sync entry."""
        await self.async_set_unique_id(SYNC_ENTRY_UNIQUE_ID)
        self._abort_if_unique_id_configured()
        if user_input is None:
            return self.async_show_form(step_id="user")
        return self.async_create_entry(title=SYNC_ENTRY_TITLE, data={})
