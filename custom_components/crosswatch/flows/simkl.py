"""SIMKL: the user's own API app (client id), then the PIN sign-in, polled in the background."""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from ..const import CONF_BASE_URL, CONF_CLIENT_ID, CONF_TOKENS, Kind
from ..engine.provider import AuthError, ProviderError
from ..providers import simkl, simkl_api
from ..providers.http import HttpError
from ..providers.simkl_auth import SimklPinAuth
from ..providers.tokens import Tokens
from .base import CodeSignIn, CodeSignInFlow, advanced_section, base_url, form, sign_in_error


class SimklFlow(CodeSignInFlow):
    """Steps of a SIMKL account: app client id, PIN, wait, finish (and retry)."""

    _simkl_client_id: str = ""
    _simkl_url: str = simkl_api.DEFAULT_BASE_URL
    _simkl_sign_in: CodeSignIn | None = None

    async def async_step_simkl(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the user's SIMKL API app (its client id)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._simkl_client_id = user_input[CONF_CLIENT_ID].strip()
            self._simkl_url = base_url(user_input, simkl_api.DEFAULT_BASE_URL)
            error = await self._simkl_request_code()
            if error is None:
                return await self.async_step_simkl_code()
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
        except AuthError:
            return "invalid_auth"
        except HttpError as err:
            # The service refused the app itself (unknown client id): the credentials are wrong.
            return "invalid_auth" if 400 <= err.status < 500 else "cannot_connect"
        except ProviderError:
            return "cannot_connect"
        except Exception:  # noqa: BLE001 - the flow must show an error, not crash
            return "unknown"
        self._simkl_sign_in = self.start_sign_in(
            code.verification_url, code.user_code, auth.wait_for_token(code)
        )
        return None

    async def async_step_simkl_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the PIN, the URL and a QR code; the poll already runs in the background."""
        assert self._simkl_sign_in is not None
        if user_input is not None:
            return await self.async_step_simkl_wait()
        return self.show_code("simkl_code", self._simkl_sign_in)

    async def async_step_simkl_wait(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Wait for the background poll to end: a token, or a reason to start over."""
        assert self._simkl_sign_in is not None
        return self.wait_for_code(
            "simkl_wait", self._simkl_sign_in, finish_step="simkl_finish", retry_step="simkl_retry"
        )

    async def async_step_simkl_retry(
        self, user_input: dict[str, Any] | None = None, error: str | None = None
    ) -> ConfigFlowResult:
        """The PIN expired: say so, and offer a new one."""
        if user_input is not None:
            error = await self._simkl_request_code()
            if error is None:
                return await self.async_step_simkl_code()
        elif error is None and self._simkl_sign_in is not None:
            error = sign_in_error(self._simkl_sign_in.task.exception())
        return self.show_retry("simkl_retry", error or "unknown")

    async def async_step_simkl_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask SIMKL whose token this is, then create (or update) the entry."""
        assert self._simkl_sign_in is not None
        tokens: Tokens = self._simkl_sign_in.task.result()
        api = simkl_api.SimklApi(
            async_get_clientsession(self.hass),
            self._simkl_client_id,
            tokens.access_token,
            base_url=self._simkl_url,
        )
        try:
            account = await simkl.fetch_account(api)
        except ProviderError:
            return await self.async_step_simkl_retry(error="cannot_connect")
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
        return await self.async_step_simkl_code()
