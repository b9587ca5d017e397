"""Options: a media server account's TLS verification; the sync entry's anime id map URL."""

from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow, OptionsFlowWithReload
from homeassistant.const import CONF_VERIFY_SSL
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol
from yarl import URL

from ..backups import DEFAULT_BACKUPS_KEPT
from ..const import CONF_ANIME_MAP_URL, CONF_BACKUPS_KEPT, Kind
from ..providers.anime_lists import DEFAULT_URL
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


class SyncOptionsFlow(OptionsFlow):
    """Where the anime id mapping list comes from; the sync entry reloads with the new URL.

    The sync entry reloads on any change already (its update listener), so this flow does not.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The options of the sync entry (named apart from the server options' step)."""
        return await self.async_step_sync(user_input)

    async def async_step_sync(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The list's URL: an http(s) address; left empty, the default list."""
        errors: dict[str, str] = {}
        current = str(self.config_entry.options.get(CONF_ANIME_MAP_URL) or DEFAULT_URL)
        if user_input is not None:
            wanted = str(user_input.get(CONF_ANIME_MAP_URL) or "").strip() or DEFAULT_URL
            if _is_web_address(wanted):
                kept = int(user_input.get(CONF_BACKUPS_KEPT, DEFAULT_BACKUPS_KEPT))
                return self.async_create_entry(
                    data={
                        **self.config_entry.options,
                        CONF_ANIME_MAP_URL: wanted,
                        CONF_BACKUPS_KEPT: kept,
                    }
                )
            errors[CONF_ANIME_MAP_URL] = "invalid_url"
            current = wanted
        schema = form(
            {
                vol.Optional(CONF_ANIME_MAP_URL, default=current): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.URL)
                ),
                vol.Optional(
                    CONF_BACKUPS_KEPT,
                    default=int(
                        self.config_entry.options.get(CONF_BACKUPS_KEPT, DEFAULT_BACKUPS_KEPT)
                    ),
                ): NumberSelector(
                    NumberSelectorConfig(min=1, max=100, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(step_id="sync", data_schema=schema, errors=errors)


def _is_web_address(text: str) -> bool:
    """Whether `text` is an absolute http(s) URL with a host."""
    try:
        url = URL(text)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)
