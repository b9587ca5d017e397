"""Trakt: the user's own API app, then the device-code sign-in, polled in the background."""

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    QrCodeSelector,
    QrCodeSelectorConfig,
    QrErrorCorrectionLevel,
)
import voluptuous as vol

from ..const import CONF_BASE_URL, CONF_CLIENT_ID, CONF_CLIENT_SECRET, CONF_TOKENS, Kind
from ..engine.provider import AuthError, ProviderError
from ..providers import trakt, trakt_client
from ..providers.tokens import Tokens
from ..providers.trakt_auth import (
    DeviceCode,
    DeviceFlowError,
    PollStatus,
    TraktApp,
    request_device_code,
    wait_for_device_token,
)
from .base import AccountFlow, advanced_section, base_url, form

_RETRY_ERRORS = {
    PollStatus.EXPIRED: "code_expired",
    PollStatus.DENIED: "access_denied",
    PollStatus.INVALID: "code_expired",
    PollStatus.ALREADY_USED: "code_expired",
}


class TraktFlow(AccountFlow):
    """Steps of a Trakt account: app credentials, code, wait, finish (and retry)."""

    _trakt_app: TraktApp | None = None
    _trakt_url: str = trakt_client.DEFAULT_BASE_URL
    _trakt_code: DeviceCode | None = None
    _trakt_task: asyncio.Task[Tokens] | None = None
    _trakt_error: str | None = None

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
            self._trakt_code = await request_device_code(http, self._trakt_app)
        except AuthError:
            return "invalid_auth"
        except ProviderError as err:
            return "invalid_auth" if "HTTP 40" in str(err) else "cannot_connect"
        except Exception:  # noqa: BLE001 - the flow must show an error, not crash
            return "unknown"
        self._trakt_task = self.hass.async_create_task(
            wait_for_device_token(http, self._trakt_app, self._trakt_code, sleep=asyncio.sleep),
            "crosswatch trakt device code",
        )
        return None

    async def async_step_trakt_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the code, the URL and a QR code; the poll already runs in the background."""
        assert self._trakt_code is not None
        if user_input is not None:
            return await self.async_step_trakt_wait()
        url = self._trakt_code.verification_url
        schema = form(
            {
                vol.Optional("qr_code"): QrCodeSelector(
                    QrCodeSelectorConfig(
                        data=url, scale=6, error_correction_level=QrErrorCorrectionLevel.QUARTILE
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="trakt_code",
            data_schema=schema,
            description_placeholders={"url": url, "code": self._trakt_code.user_code},
        )

    async def async_step_trakt_wait(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Wait for the background poll to end: tokens, or a reason to start over."""
        task = self._trakt_task
        assert task is not None
        assert self._trakt_code is not None
        if not task.done():
            return self.async_show_progress(
                step_id="trakt_wait",
                progress_action="wait_for_trakt",
                description_placeholders={
                    "url": self._trakt_code.verification_url,
                    "code": self._trakt_code.user_code,
                },
                progress_task=task,
            )
        error = task.exception()
        if error is None:
            return self.async_show_progress_done(next_step_id="trakt_finish")
        if isinstance(error, DeviceFlowError):
            self._trakt_error = _RETRY_ERRORS.get(error.status, "unknown")
        else:
            self._trakt_error = "cannot_connect" if isinstance(error, ProviderError) else "unknown"
        return self.async_show_progress_done(next_step_id="trakt_retry")

    async def async_step_trakt_retry(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The code expired or was denied: say so, and offer a new code."""
        if user_input is not None:
            error = await self._trakt_request_code()
            if error is None:
                return await self.async_step_trakt_code()
            self._trakt_error = error
        return self.async_show_form(
            step_id="trakt_retry",
            data_schema=form({}),
            errors={"base": self._trakt_error or "unknown"},
        )

    async def async_step_trakt_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask Trakt whose tokens these are, then create (or update) the entry."""
        assert self._trakt_task is not None
        assert self._trakt_app is not None
        tokens = self._trakt_task.result()
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
            self._trakt_error = "cannot_connect"
            return await self.async_step_trakt_retry()
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
        error = await self._trakt_request_code()
        if error is not None:
            self._trakt_error = error
            return self.async_show_form(
                step_id="trakt_retry", data_schema=form({}), errors={"base": error}
            )
        return await self.async_step_trakt_code()
