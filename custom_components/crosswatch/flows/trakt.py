"""Trakt: the user's own API app, then the device-code sign-in, polled in the background."""

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from ..clients import trakt as trakt_client
from ..clients.errors import CrossWatchClientError, CrossWatchResponseError
from ..clients.tokens import Tokens
from ..clients.trakt.auth import (
    DeviceFlowError,
    PollStatus,
    TraktApp,
    request_device_code,
    wait_for_device_token,
)
from ..const import (
    CONF_AUTH_URL,
    CONF_BASE_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_TOKENS,
    Kind,
)
from ..engine.provider import ProviderError
from ..errors import form_error
from ..providers import trakt
from .base import (
    ADVANCED,
    CodeSignInFlow,
    base_url,
    code_sign_in_steps,
    form,
    sign_in_error,
)

_RETRY_ERRORS = {
    PollStatus.EXPIRED: "code_expired",
    PollStatus.DENIED: "access_denied",
    PollStatus.INVALID: "code_expired",
    PollStatus.ALREADY_USED: "code_expired",
}


def poll_error(failure: BaseException | None) -> str:
    """Why Trakt's device-code poll ended: its own statuses, else the common reasons."""
    if isinstance(failure, DeviceFlowError):
        return _RETRY_ERRORS.get(failure.status, "unknown")
    return sign_in_error(failure)


class TraktFlow(CodeSignInFlow):
    """Steps of a Trakt account: app credentials, code, wait, finish (and retry)."""

    _trakt_app: TraktApp | None = None
    _trakt_url: str = trakt_client.DEFAULT_BASE_URL
    _trakt_auth_url: str = trakt_client.DEFAULT_AUTH_URL

    async def async_step_trakt(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the user's Trakt API app (client id and secret)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._trakt_app = TraktApp(
                user_input[CONF_CLIENT_ID].strip(), user_input[CONF_CLIENT_SECRET].strip()
            )
            self._trakt_url = base_url(user_input, trakt_client.DEFAULT_BASE_URL)
            self._trakt_auth_url = trakt_client.auth_url_for(
                self._trakt_url, (user_input.get(ADVANCED) or {}).get(CONF_AUTH_URL)
            )
            error = await self._trakt_request_code()
            if error is None:
                return await self.async_step_trakt_code(None)
            errors["base"] = error
        schema = form(
            {
                vol.Required(CONF_CLIENT_ID): str,
                vol.Required(CONF_CLIENT_SECRET): str,
                vol.Optional(ADVANCED): section(
                    form({vol.Optional(CONF_BASE_URL): str, vol.Optional(CONF_AUTH_URL): str}),
                    {"collapsed": True},
                ),
            }
        )
        return self.async_show_form(step_id="trakt", data_schema=schema, errors=errors)

    async def _trakt_request_code(self) -> str | None:
        """Ask Trakt for a device code and start polling for it; an error key on failure."""
        assert self._trakt_app is not None
        # The device flow is OAuth: Trakt's auth host, not the API's.
        http = trakt_client.make_http(
            async_get_clientsession(self.hass), self._trakt_app, base_url=self._trakt_auth_url
        )
        try:
            code = await request_device_code(http, self._trakt_app)
        except CrossWatchResponseError as err:
            # The service refused the app itself (unknown client id): the credentials are wrong.
            return "invalid_auth" if 400 <= err.status < 500 else form_error(err)
        except Exception as err:  # noqa: BLE001 - the flow must show an error, not crash
            return form_error(err)
        self.start_sign_in(
            code.verification_url,
            code.user_code,
            wait_for_device_token(http, self._trakt_app, code, sleep=asyncio.sleep),
        )
        return None

    async_step_trakt_code, async_step_trakt_wait, async_step_trakt_retry = code_sign_in_steps(
        "trakt",
        request_code=_trakt_request_code,
        finish_step="trakt_finish",
        failure_error=poll_error,
    )

    async def async_step_trakt_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask Trakt whose tokens these are, then create (or update) the entry."""
        assert self._trakt_app is not None
        tokens: Tokens = self.sign_in.task.result()
        saved: list[Tokens] = []

        async def keep(new: Tokens) -> None:
            saved.append(new)

        client = trakt_client.TraktClient(
            async_get_clientsession(self.hass),
            self._trakt_app,
            tokens,
            keep,
            base_url=self._trakt_url,
            auth_url=self._trakt_auth_url,
        )
        provider = trakt.TraktProvider(client)
        try:
            await provider.health()
        except (ProviderError, CrossWatchClientError) as err:
            return self.show_retry("trakt_retry", form_error(err))
        slug = provider.key.removeprefix("trakt:")
        return await self.async_finish_account(
            Kind.TRAKT,
            slug,
            f"Trakt ({slug})",
            {
                CONF_CLIENT_ID: self._trakt_app.client_id,
                CONF_CLIENT_SECRET: self._trakt_app.client_secret,
                CONF_TOKENS: (saved[-1] if saved else client.tokens).as_dict(),
                CONF_BASE_URL: self._trakt_url,
                CONF_AUTH_URL: self._trakt_auth_url,
            },
        )

    async def async_step_reauth_trakt(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Sign in again with the same app: a new device code."""
        self._trakt_app = TraktApp(entry_data[CONF_CLIENT_ID], entry_data[CONF_CLIENT_SECRET])
        self._trakt_url = entry_data.get(CONF_BASE_URL) or trakt_client.DEFAULT_BASE_URL
        self._trakt_auth_url = trakt_client.auth_url_for(
            self._trakt_url, entry_data.get(CONF_AUTH_URL)
        )
        return await self.async_step_trakt_reauth()

    async def async_step_trakt_reauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Trakt refused our tokens: once the user is here, ask for a new code."""
        if user_input is None:
            return self.confirm_reauth("trakt_reauth")
        error = await self._trakt_request_code()
        if error is not None:
            return self.show_retry("trakt_retry", error)
        return await self.async_step_trakt_code(None)
