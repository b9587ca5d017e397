"""MDBList: the user pastes the API key from mdblist.com/preferences; `/user` checks it.

MDBList also has an OAuth device sign-in (`shared/specs/mdblist/README.md` §1), but every app
that uses it carries a client id MDBList issued to it, and no public way to register one is
known. The API key is what MDBList documents for everyone, so that is what this flow asks.
"""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_API_KEY
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import voluptuous as vol

from ..clients.mdblist import client as mdblist_api
from ..const import CONF_BASE_URL, CONF_USER_NAME, Kind
from ..errors import form_error
from ..providers import mdblist
from .base import AccountFlow, advanced_section, base_url, form


class MdblistFlow(AccountFlow):
    """Steps of an MDBList account: the API key (and, in tests, the API's address)."""

    _mdblist_url: str = mdblist_api.DEFAULT_BASE_URL

    async def async_step_mdblist(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the API key and check it against MDBList's `/user`."""
        errors: dict[str, str] = {}
        if user_input is not None:
            key = str(user_input[CONF_API_KEY]).strip()
            url = base_url(user_input, self._mdblist_url)
            api = mdblist_api.MdblistApi(async_get_clientsession(self.hass), key, base_url=url)
            try:
                account = await mdblist.fetch_account(api)
            except Exception as err:  # noqa: BLE001 - the flow must show an error, not crash
                errors["base"] = form_error(err)
            else:
                return await self.async_finish_account(
                    Kind.MDBLIST,
                    account.id,
                    f"MDBList ({account.name})",
                    {CONF_API_KEY: key, CONF_BASE_URL: url, CONF_USER_NAME: account.name},
                )
        key_field = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
        schema = form({vol.Required(CONF_API_KEY): key_field, **advanced_section()})
        return self.async_show_form(step_id="mdblist", data_schema=schema, errors=errors)

    async def async_step_reauth_mdblist(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """MDBList refused the key (the user regenerated it): ask for the current one."""
        self._mdblist_url = entry_data.get(CONF_BASE_URL) or mdblist_api.DEFAULT_BASE_URL
        return await self.async_step_mdblist()
