"""AniList: the user opens the PIN page of their AniList API client and pastes the token."""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import voluptuous as vol

from ..clients.anilist import client as anilist
from ..const import CONF_BASE_URL, CONF_CLIENT_ID, CONF_SCORE_FORMAT, CONF_TOKENS, Kind
from ..errors import form_error
from .base import AccountFlow, advanced_section, base_url, form

CONF_TOKEN = "token"  # noqa: S105 - a form key, not a secret


class AniListFlow(AccountFlow):
    """Steps of an AniList account: client id, then the pasted token."""

    _anilist_client_id: str = ""
    _anilist_url: str = anilist.API_URL

    async def async_step_anilist(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the id of the user's AniList API client (its redirect URL is the PIN page)."""
        if user_input is not None:
            self._anilist_client_id = str(user_input[CONF_CLIENT_ID]).strip()
            self._anilist_url = base_url(user_input, anilist.API_URL)
            return await self.async_step_anilist_token()
        schema = form({vol.Required(CONF_CLIENT_ID): str, **advanced_section()})
        return self.async_show_form(step_id="anilist", data_schema=schema)

    async def async_step_anilist_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the authorization link; take the token AniList shows after approval."""
        errors: dict[str, str] = {}
        if user_input is not None:
            token = str(user_input[CONF_TOKEN]).strip()
            try:
                viewer = await anilist.validate_token(
                    async_get_clientsession(self.hass), token, base_url=self._anilist_url
                )
            except Exception as err:  # noqa: BLE001 - the flow must show an error, not crash
                errors["base"] = form_error(err)
            else:
                return await self.async_finish_account(
                    Kind.ANILIST,
                    str(viewer.id),
                    f"AniList ({viewer.name})",
                    {
                        CONF_CLIENT_ID: self._anilist_client_id,
                        CONF_TOKENS: anilist.tokens_from_pin(token).as_dict(),
                        CONF_SCORE_FORMAT: viewer.score_format.value,
                        CONF_BASE_URL: self._anilist_url,
                    },
                )
        schema = form(
            {
                vol.Required(CONF_TOKEN): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                )
            }
        )
        return self.async_show_form(
            step_id="anilist_token",
            data_schema=schema,
            errors=errors,
            description_placeholders={"url": anilist.authorize_url(self._anilist_client_id)},
        )

    async def async_step_reauth_anilist(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """A year has passed (or the token was revoked): paste a new token."""
        self._anilist_client_id = entry_data[CONF_CLIENT_ID]
        self._anilist_url = entry_data.get(CONF_BASE_URL) or anilist.API_URL
        return await self.async_step_anilist_token()
