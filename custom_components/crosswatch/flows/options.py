"""Options of a media server account (Plex, Jellyfin, Emby): TLS certificate verification."""

from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import CONF_VERIFY_SSL
import voluptuous as vol

from ..const import Kind
from .base import form

SERVER_KINDS: Final = frozenset({Kind.PLEX, Kind.JELLYFIN, Kind.EMBY})


class ServerOptionsFlow(OptionsFlowWithReload):
    """Whether to verify the server's certificate; the entry reloads with the new choice."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One checkbox, showing the current choice."""
        if user_input is not None:
            return self.async_create_entry(
                data={**self.config_entry.options, CONF_VERIFY_SSL: user_input[CONF_VERIFY_SSL]}
            )
        current = self.config_entry.options.get(CONF_VERIFY_SSL, True)
        schema = form({vol.Required(CONF_VERIFY_SSL, default=current): bool})
        return self.async_show_form(step_id="init", data_schema=schema)
