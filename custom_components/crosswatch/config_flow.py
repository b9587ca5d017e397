"""Config flow for CrossWatch: accounts from a menu, the sync entry, and pairs as subentries.

Each service's steps live in `flows/`; this class composes them. Entries of one domain are
either accounts (one per service account) or the single "CrossWatch sync" entry, whose
subentries are the sync pairs.
"""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import UnknownHandler

from .const import CONF_KIND, DOMAIN, SUBENTRY_PAIR, SYNC_ENTRY_TITLE, SYNC_ENTRY_UNIQUE_ID, Kind
from .flows.anilist import AniListFlow
from .flows.mdblist import MdblistFlow
from .flows.mediabrowser import MediaBrowserFlow
from .flows.options import SERVER_KINDS, ServerOptionsFlow, SyncOptionsFlow
from .flows.pair import PairFlow
from .flows.plex import PlexFlow
from .flows.simkl import SimklFlow
from .flows.trakt import TraktFlow

ACCOUNT_MENU = ["plex", "jellyfin", "emby", "trakt", "simkl", "anilist", "mdblist"]


class CrossWatchConfigFlow(
    PlexFlow, MediaBrowserFlow, TraktFlow, SimklFlow, AniListFlow, MdblistFlow, domain=DOMAIN
):
    """Add an account (Plex, Jellyfin, Emby, Trakt, SIMKL, AniList, MDBList) or the sync entry."""

    VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """The sync entry holds pairs; account entries hold nothing."""
        if Kind(config_entry.data.get(CONF_KIND, Kind.SYNC)) is Kind.SYNC:
            return {SUBENTRY_PAIR: PairFlow}
        return {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to add: an account, or (once) the sync entry that holds the pairs."""
        has_sync = any(
            entry.unique_id == SYNC_ENTRY_UNIQUE_ID for entry in self._async_current_entries()
        )
        options = [*ACCOUNT_MENU, *([] if has_sync else ["sync"])]
        return self.async_show_menu(step_id="user", menu_options=options)

    async def async_step_sync(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm the creation of the single CrossWatch sync entry."""
        await self.async_set_unique_id(SYNC_ENTRY_UNIQUE_ID)
        self._abort_if_unique_id_configured()
        if user_input is None:
            return self.async_show_form(step_id="sync")
        return self.async_create_entry(title=SYNC_ENTRY_TITLE, data={CONF_KIND: Kind.SYNC.value})

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Sign in again to the account that refused us (each service its own way)."""
        kind = Kind(entry_data[CONF_KIND])
        step = getattr(self, f"async_step_reauth_{kind.value}")
        result: ConfigFlowResult = await step(entry_data)
        return result

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a media server's address (each server kind its own way); nothing else."""
        kind = Kind(self._get_reconfigure_entry().data.get(CONF_KIND, Kind.SYNC))
        if kind not in SERVER_KINDS:
            return self.async_abort(reason="reconfigure_not_supported")
        step = getattr(self, f"async_step_reconfigure_{kind.value}")
        result: ConfigFlowResult = await step(user_input)
        return result

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Media server accounts (TLS verification) and the sync entry (the anime id map)."""
        kind = Kind(config_entry.data.get(CONF_KIND, Kind.SYNC))
        return kind in SERVER_KINDS or kind is Kind.SYNC

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """The options of a media server account, or of the sync entry."""
        kind = Kind(config_entry.data.get(CONF_KIND, Kind.SYNC))
        if kind is Kind.SYNC:
            return SyncOptionsFlow()
        if kind not in SERVER_KINDS:
            raise UnknownHandler
        return ServerOptionsFlow()
