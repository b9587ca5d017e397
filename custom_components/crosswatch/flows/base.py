"""What every account flow shares: finishing an entry, reauth checks, common errors."""

from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.data_entry_flow import section
import voluptuous as vol

from ..const import CONF_ACCOUNT_ID, CONF_BASE_URL, CONF_KIND, Kind

ADVANCED = "advanced"


def advanced_section(default_url: str | None = None) -> dict[Any, Any]:
    """A collapsed section for the base URL (tests and the demo point it at simulators)."""
    field = (
        vol.Optional(CONF_BASE_URL, default=default_url)
        if default_url
        else vol.Optional(CONF_BASE_URL)
    )
    return {vol.Optional(ADVANCED): section(form({field: str}), {"collapsed": True})}


def form(fields: dict[Any, Any]) -> Any:
    """A form's schema.

    Typed Any: Home Assistant swaps voluptuous for probatio between the releases we support,
    and each release's stubs accept only its own schema class.
    """
    return vol.Schema(fields)


def base_url(user_input: dict[str, Any], default: str) -> str:
    """The base URL from the advanced section, or the service's own."""
    url = str((user_input.get(ADVANCED) or {}).get(CONF_BASE_URL) or default)
    return url.rstrip("/")


class AccountFlow(ConfigFlow):
    """Shared steps of the account flows (a mixin of the CrossWatch config flow)."""

    async def async_finish_account(
        self, kind: Kind, account_id: str, title: str, data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Create the account entry, or update it on reauth or reconfigure.

        The unique id is the service plus the account's stable id: the same account cannot
        be added twice, and reauth must sign in to the same account.
        """
        await self.async_set_unique_id(f"{kind.value}:{account_id}")
        full = {**data, CONF_KIND: kind.value, CONF_ACCOUNT_ID: account_id}
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reauth_entry(), data=full)
        if self.source == SOURCE_RECONFIGURE:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reconfigure_entry(), data=full)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=title, data=full)
