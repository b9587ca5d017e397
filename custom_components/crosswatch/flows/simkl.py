"""SIMKL: the user's AUTH V2 app (its client id), then the device sign-in, polled meanwhile.

SIMKL's V1 PIN sign-in ends on 2027-03-31 and V1 tokens cannot be converted, so every sign-in
here is V2: a "TV, devices & command line" app (no secret), the scope `media:read media:write`,
and tokens that expire after 7 days (the entry keeps the refresh token). A grant without
`media:write` is read-only: it is revoked at once and the user is told to allow changes.
"""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from ..clients.errors import CrossWatchClientError, CrossWatchResponseError
from ..clients.simkl import client as simkl_api
from ..clients.simkl.auth import DeviceFlowError, DeviceStatus, Grant, SimklOAuth
from ..clients.tokens import Tokens
from ..const import CONF_BASE_URL, CONF_CLIENT_ID, CONF_TOKENS, LOGGER, Kind
from ..engine.provider import ProviderError
from ..errors import form_error
from ..providers import simkl
from .base import (
    CodeSignInFlow,
    advanced_section,
    base_url,
    code_sign_in_steps,
    form,
    sign_in_error,
)

_RETRY_ERRORS = {
    DeviceStatus.EXPIRED: "code_expired",
    DeviceStatus.INVALID: "code_expired",
    DeviceStatus.DENIED: "access_denied",
}


def poll_error(failure: BaseException | None) -> str:
    """Why SIMKL's device sign-in ended: its own statuses, else the common reasons."""
    if isinstance(failure, DeviceFlowError):
        return _RETRY_ERRORS.get(failure.status, "unknown")
    return sign_in_error(failure)


class SimklFlow(CodeSignInFlow):
    """Steps of a SIMKL account: app client id, code, wait, finish (and retry)."""

    _simkl_client_id: str = ""
    _simkl_url: str = simkl_api.DEFAULT_BASE_URL

    async def async_step_simkl(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the client id of the user's SIMKL AUTH V2 app."""
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

    def _simkl_oauth(self) -> SimklOAuth:
        return SimklOAuth(
            async_get_clientsession(self.hass), self._simkl_client_id, base_url=self._simkl_url
        )

    async def _simkl_request_code(self) -> str | None:
        """Ask SIMKL for a device code and start polling for it; an error key on failure."""
        oauth = self._simkl_oauth()
        try:
            code = await oauth.request_device_code()
        except CrossWatchResponseError as err:
            # The service refused the app itself (unknown client id): the credentials are wrong.
            return "invalid_auth" if 400 <= err.status < 500 else form_error(err)
        except Exception as err:  # noqa: BLE001 - the flow must show an error, not crash
            return form_error(err)
        self.start_sign_in(code.verification_uri, code.user_code, oauth.wait_for_grant(code))
        return None

    async_step_simkl_code, async_step_simkl_wait, async_step_simkl_retry = code_sign_in_steps(
        "simkl",
        request_code=_simkl_request_code,
        finish_step="simkl_finish",
        failure_error=poll_error,
    )

    async def async_step_simkl_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Refuse a read-only grant; else ask SIMKL whose grant it is and keep it."""
        grant: Grant = self.sign_in.task.result()
        oauth = self._simkl_oauth()
        if not grant.can_write:
            await _revoke(oauth, grant.tokens)
            return self.show_retry("simkl_retry", "read_only_grant")
        # A token issued just now is good for 7 days: this check needs no renewal.
        api = simkl_api.SimklApi(
            async_get_clientsession(self.hass),
            self._simkl_client_id,
            grant.tokens.access_token,
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
                CONF_TOKENS: grant.tokens.as_dict(),
                CONF_BASE_URL: self._simkl_url,
            },
        )

    async def async_step_reauth_simkl(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Sign in again: with the same V2 app, or (a V1 account) a V2 app's client id."""
        self._simkl_client_id = entry_data[CONF_CLIENT_ID]
        self._simkl_url = entry_data.get(CONF_BASE_URL) or simkl_api.DEFAULT_BASE_URL
        return await self.async_step_simkl_reauth()

    async def async_step_simkl_reauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Once the user is here, take the (V2) client id and ask for a new code.

        A V1 account's client id is no V2 app (SIMKL answers `invalid_client`): the form asks
        for the V2 app's, prefilled with the one the entry has.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            self._simkl_client_id = user_input[CONF_CLIENT_ID].strip()
            error = await self._simkl_request_code()
            if error is None:
                return await self.async_step_simkl_code(None)
            errors["base"] = error
        schema = form({vol.Required(CONF_CLIENT_ID, default=self._simkl_client_id): str})
        return self.async_show_form(
            step_id="simkl_reauth",
            data_schema=schema,
            errors=errors,
            description_placeholders={"account": self._get_reauth_entry().title},
        )


async def _revoke(oauth: SimklOAuth, tokens: Tokens) -> None:
    """Revoke a grant we will not keep; SIMKL's answer says nothing, so failures are logged."""
    try:
        await oauth.revoke(tokens.refresh_token or tokens.access_token)
    except CrossWatchClientError as err:
        LOGGER.debug("SIMKL did not take back a read-only grant: %s", err)
