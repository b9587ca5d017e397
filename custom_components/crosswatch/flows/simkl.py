"""SIMKL: the user's own API app (client id), then the PIN sign-in, polled in the background."""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from ..clients.errors import CrossWatchClientError, CrossWatchResponseError
from ..clients.simkl import client as simkl_api
from ..clients.simkl.auth import SimklPinAuth
from ..clients.tokens import Tokens
from ..const import CONF_BASE_URL, CONF_CLIENT_ID, CONF_TOKENS, Kind
from ..engine.provider import ProviderError
from ..errors import form_error
from ..providers import simkl
from .base import CodeSignInFlow, advanced_section, base_url, code_sign_in_steps, form


class SimklFlow(CodeSignInFlow):
    """Steps of a SIMKL account: app client id, PIN, wait, finish (and retry)."""

    _simkl_client_id: str = ""
    _simkl_url: str = simkl_api.DEFAULT_BASE_URL

    async def async_step_simkl(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the user's SIMKL API app (its client id)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._simkl_client_id = user_input[CONF_CLIENT_ID].strip()
            self._simkl_url = base_url(user_input, simkl_api.DEFAULT_BASE_URL)
            error = await self._simkl_request_code()
            if error is None:
                return await self.async_step_simkl_code(None)
            errors["base"] = error
        schema = form({vol.Required(CONF_CLIENT_ID): str, **advanced_section()})
        return self.async_show_form(step_id="simkl", data_schema=schema, errors=errors)

    async def _simkl_request_code(self) -> str | None:
        """Ask SIMKL for a PIN and start polling for it; an error key on failure."""
        auth = SimklPinAuth(
            async_get_clientsession(self.hass), self._simkl_client_id, base_url=self._simkl_url
        )
        try:
            code = await auth.request_code()
        except CrossWatchResponseError as err:
            # The service refused the app itself (unknown client id): the credentials are wrong.
            return "invalid_auth" if 400 <= err.status < 500 else form_error(err)
        except Exception as err:  # noqa: BLE001 - the flow must show an error, not crash
            return form_error(err)
        self.start_sign_in(code.verification_url, code.user_code, auth.wait_for_token(code))
        return None

    async_step_simkl_code, async_step_simkl_wait, async_step_simkl_retry = code_sign_in_steps(
        "simkl", request_code=_simkl_request_code, finish_step="simkl_finish"
    )

    async def async_step_simkl_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask SIMKL whose token this is, then create (or update) the entry."""
        tokens: Tokens = self.sign_in.task.result()
        api = simkl_api.SimklApi(
            async_get_clientsession(self.hass),
            self._simkl_client_id,
            tokens.access_token,
            base_url=self._simkl_url,
        )
        try:
            account = await simkl.fetch_account(api)
        except (ProviderError, CrossWatchClientError) as err:
            return self.show_retry("simkl_retry", form_error(err))
        return await self.async_finish_account(
            Kind.SIMKL,
            account.id,
            f"SIMKL ({account.name})",
            {
                CONF_CLIENT_ID: self._simkl_client_id,
                CONF_TOKENS: tokens.as_dict(),
                CONF_BASE_URL: self._simkl_url,
            },
        )

    async def async_step_reauth_simkl(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Sign in again with the same app: a new PIN."""
        self._simkl_client_id = entry_data[CONF_CLIENT_ID]
        self._simkl_url = entry_data.get(CONF_BASE_URL) or simkl_api.DEFAULT_BASE_URL
        return await self.async_step_simkl_reauth()

    async def async_step_simkl_reauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """SIMKL refused our token: once the user is here, ask for a new PIN."""
        if user_input is None:
            return self.confirm_reauth("simkl_reauth")
        error = await self._simkl_request_code()
        if error is not None:
            return self.show_retry("simkl_retry", error)
        return await self.async_step_simkl_code(None)
