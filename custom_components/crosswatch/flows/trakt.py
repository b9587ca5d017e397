"""Trakt: the user's own API app, then the device-code sign-in, polled in the background."""

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from ..const import CONF_BASE_URL, CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_TOKENS, Kind
from ..engine.provider import AuthError, ProviderError
from ..providers import trakt, trakt_client
from ..providers.http import HttpError
from ..providers.tokens import Tokens
from ..providers.trakt_auth import (
    DeviceFlowError,
    PollStatus,
    TraktApp,
    request_device_code,
    wait_for_device_token,
)
from .base import CodeSignIn, CodeSignInFlow, advanced_section, base_url, form, sign_in_error

_RETRY_ERRORS = {
    PollStatus.EXPIRED: "code_expired",
    PollStatus.DENIED: "access_denied",
    PollStatus.INVALID: "code_expired",
    PollStatus.ALREADY_USED: "code_expired",
}


class TraktFlow(CodeSignInFlow):
    """Steps of a Trakt account: app credentials, code, wait, finish (and retry)."""

    _trakt_app: TraktApp | None = None
    _trakt_url: str = trakt_client.DEFAULT_BASE_URL
    _trakt_sign_in: CodeSignIn | None = None

    async def async_step_trakt(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the user's Trakt API app (client id and secret)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._trakt_app = TraktApp(
                user_input[CONF_CLIENT_ID].strip(), user_input[CONF_CLIENT_SECRET].strip()
            )
            self._trakt_url = base_url(user_input, trakt_client.DEFAULT_BASE_URL)
            error = await self._trakt_request_code()
            if error is None:
                return await self.async_step_trakt_code()
            errors["base"] = error
        schema = form(
            {
                vol.Required(CONF_CLIENT_ID): str,
                vol.Required(CONF_CLIENT_SECRET): str,
                **advanced_section(),
            }
        )
        return self.async_show_form(step_id="trakt", data_schema=schema, errors=errors)

    async def _trakt_request_code(self) -> str | None:
        """Ask Trakt for a device code and start polling for it; an error key on failure."""
        assert self._trakt_app is not None
        http = trakt_client.make_http(
            async_get_clientsession(self.hass), self._trakt_app, base_url=self._trakt_url
        )
        try:
            code = await request_device_code(http, self._trakt_app)
        except AuthError:
            return "invalid_auth"
        except HttpError as err:
            # The service refused the app itself (unknown client id): the credentials are wrong.
            return "invalid_auth" if 400 <= err.status < 500 else "cannot_connect"
        except ProviderError:
            return "cannot_connect"
        except Exception:  # noqa: BLE001 - the flow must show an error, not crash
            return "unknown"
        self._trakt_sign_in = self.start_sign_in(
            code.verification_url,
            code.user_code,
            wait_for_device_token(http, self._trakt_app, code, sleep=asyncio.sleep),
        )
        return None

    async def async_step_trakt_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the code, the URL and a QR code; the poll already runs in the background."""
        assert self._trakt_sign_in is not None
        if user_input is not None:
            return await self.async_step_trakt_wait()
        return self.show_code("trakt_code", self._trakt_sign_in)

    async def async_step_trakt_wait(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Wait for the background poll to end: tokens, or a reason to start over."""
        assert self._trakt_sign_in is not None
        return self.wait_for_code(
            "trakt_wait", self._trakt_sign_in, finish_step="trakt_finish", retry_step="trakt_retry"
        )

    async def async_step_trakt_retry(
        self, user_input: dict[str, Any] | None = None, error: str | None = None
    ) -> ConfigFlowResult:
        """The code expired or was denied: say so, and offer a new code."""
        if user_input is not None:
            error = await self._trakt_request_code()
            if error is None:
                return await self.async_step_trakt_code()
        elif error is None and self._trakt_sign_in is not None:
            failure = self._trakt_sign_in.task.exception()
            error = (
                _RETRY_ERRORS.get(failure.status, "unknown")
                if isinstance(failure, DeviceFlowError)
                else sign_in_error(failure)
            )
        return self.show_retry("trakt_retry", error or "unknown")

    async def async_step_trakt_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask Trakt whose tokens these are, then create (or update) the entry."""
        assert self._trakt_sign_in is not None
        assert self._trakt_app is not None
        tokens: Tokens = self._trakt_sign_in.task.result()
        saved: list[Tokens] = []

        async def keep(new: Tokens) -> None:
            saved.append(new)

        client = trakt_client.TraktClient(
            async_get_clientsession(self.hass),
            self._trakt_app,
            tokens,
            keep,
            base_url=self._trakt_url,
        )
        provider = trakt.TraktProvider(client)
        try:
            await provider.health()
        except ProviderError:
            return await self.async_step_trakt_retry(error="cannot_connect")
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
            },
        )

    async def async_step_reauth_trakt(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Sign in again with the same app: a new device code."""
        self._trakt_app = TraktApp(entry_data[CONF_CLIENT_ID], entry_data[CONF_CLIENT_SECRET])
        self._trakt_url = entry_data.get(CONF_BASE_URL) or trakt_client.DEFAULT_BASE_URL
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
        return await self.async_step_trakt_code()
