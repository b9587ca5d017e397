"""SIMKL: the user's AUTH V2 app (its client id), then a device code or the browser sign-in.

SIMKL's V1 PIN sign-in ends on 2027-03-31 and V1 tokens cannot be converted, so every sign-in
here is V2, with the scope `media:read media:write` and tokens that expire after 7 days (the
entry keeps the refresh token). Two ways in, one per kind of SIMKL app (auth-v2.md §3):
- the device code (the default): a "TV, devices & command line" app, polled meanwhile;
- in the browser: a "Mobile, desktop & browser apps" app, authorization code with PKCE (§8).
  Home Assistant's own OAuth machinery makes the consent page's URL (its signed `state`, its
  redirect URI: My Home Assistant's, else this instance's `/auth/external/callback`) and brings
  SIMKL's answer back; the code is exchanged by CrossWatch's SIMKL client. Home Assistant's
  callback passes on only `code`, `state` and `error`, so SIMKL's `iss` cannot be checked here;
  the `state` is Home Assistant's signed token, checked by its callback.
Either way a grant without `media:write` is read-only: it is revoked at once and the user is
told to allow changes.
"""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import LocalOAuth2ImplementationWithPkce
from homeassistant.helpers.selector import SelectSelector, SelectSelectorConfig
import voluptuous as vol

from ..clients.errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchResponseError,
)
from ..clients.simkl import client as simkl_api
from ..clients.simkl.auth import (
    SCOPE,
    DeviceFlowError,
    DeviceStatus,
    Grant,
    SimklOAuth,
    authorize_url_for,
    new_code_verifier,
)
from ..clients.tokens import Tokens
from ..const import CONF_BASE_URL, CONF_CLIENT_ID, CONF_TOKENS, DOMAIN, LOGGER, Kind
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

CONF_METHOD = "method"
DEVICE = "device"  # a device code typed at simkl.com/pin (a "TV, devices" app)
BROWSER = "browser"  # the consent page in the browser (a "Mobile, desktop & browser" app)

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


def exchange_error(failure: BaseException) -> str:
    """Why SIMKL did not trade the browser sign-in's code for a grant."""
    if isinstance(failure, CrossWatchAuthenticationError):
        return "sign_in_refused"
    return form_error(failure)


def _method_field(default: str) -> dict[Any, Any]:
    return {
        vol.Required(CONF_METHOD, default=default): SelectSelector(
            SelectSelectorConfig(options=[DEVICE, BROWSER], translation_key="simkl_method")
        )
    }


class _SimklConsentPage(LocalOAuth2ImplementationWithPkce):
    """Home Assistant's PKCE implementation, used for the consent page's URL alone.

    It adds Home Assistant's signed `state` and redirect URI; the scope is SIMKL's, the
    verifier CrossWatch's. Its token requests are never used: the SIMKL client exchanges the
    code (the form, the app's name in the URL, SIMKL's errors).
    """

    def __init__(self, hass: HomeAssistant, client_id: str, api_url: str) -> None:
        super().__init__(
            hass, DOMAIN, client_id, authorize_url_for(api_url), f"{api_url}/oauth2/token"
        )
        self.code_verifier = new_code_verifier()

    @property
    def extra_authorize_data(self) -> dict[str, Any]:
        """The scope, with the PKCE challenge Home Assistant adds."""
        return {"scope": SCOPE, **super().extra_authorize_data}


class SimklFlow(CodeSignInFlow):
    """Steps of a SIMKL account: app client id, code or browser, finish (and retry)."""

    _simkl_client_id: str = ""
    _simkl_url: str = simkl_api.DEFAULT_BASE_URL
    _simkl_consent: _SimklConsentPage | None = None
    _simkl_consent_url: str = ""
    _simkl_answer: dict[str, Any] | None = None  # what SIMKL's consent page sent back

    async def async_step_simkl(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the client id of the user's SIMKL AUTH V2 app and how to sign in."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._simkl_client_id = user_input[CONF_CLIENT_ID].strip()
            self._simkl_url = base_url(user_input, simkl_api.DEFAULT_BASE_URL)
            method = user_input.get(CONF_METHOD, DEVICE)
            error = await self._simkl_begin(method)
            if error is None:
                return await self._simkl_next(method)
            errors["base"] = error
        schema = form(
            {
                vol.Required(CONF_CLIENT_ID): str,
                **_method_field(DEVICE),
                **advanced_section(),
            }
        )
        return self.async_show_form(step_id="simkl", data_schema=schema, errors=errors)

    async def _simkl_begin(self, method: str) -> str | None:
        """Start the chosen sign-in; an error key when it cannot start."""
        if method == BROWSER:
            return await self._simkl_open_consent()
        return await self._simkl_request_code()

    async def _simkl_next(self, method: str) -> ConfigFlowResult:
        if method == BROWSER:
            return await self.async_step_simkl_auth()
        return await self.async_step_simkl_code(None)

    async def _simkl_open_consent(self) -> str | None:
        """The consent page's URL with a new verifier; an error without a redirect URI.

        Home Assistant knows where SIMKL may send the browser back only with My Home
        Assistant, or from the address the user's browser has for it (a frontend request).
        """
        page = _SimklConsentPage(self.hass, self._simkl_client_id, self._simkl_url)
        try:
            self._simkl_consent_url = await page.async_generate_authorize_url(self.flow_id)
        except RuntimeError:
            return "no_redirect_uri"
        self._simkl_consent, self._simkl_answer = page, None
        return None

    async def async_step_simkl_auth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Send the user to SIMKL's consent page; its answer comes back through the callback."""
        if user_input is None:
            return self.async_external_step(step_id="simkl_auth", url=self._simkl_consent_url)
        self._simkl_answer = user_input
        return self.async_external_step_done(next_step_id="simkl_auth_finish")

    async def async_step_simkl_auth_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Trade the code for a grant (once: a code is spent even by a failed exchange)."""
        answer = self._simkl_answer or {}
        code, state = answer.get("code"), answer.get("state")
        if self._simkl_consent is None or not code or not isinstance(state, dict):
            error = "access_denied" if answer.get("error") == "access_denied" else "sign_in_refused"
            return self.show_retry("simkl_auth_retry", error)
        try:
            grant = await self._simkl_oauth().exchange_code(
                str(code), self._simkl_consent.code_verifier, str(state["redirect_uri"])
            )
        except Exception as err:  # noqa: BLE001 - the flow must show an error, not crash
            return self.show_retry("simkl_auth_retry", exchange_error(err))
        return await self._simkl_keep(grant, "simkl_auth_retry")

    async def async_step_simkl_auth_retry(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Submit opens the consent page again, with a new verifier."""
        error = await self._simkl_open_consent()
        if error is not None:
            return self.show_retry("simkl_auth_retry", error)
        return await self.async_step_simkl_auth()

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
        """The device code was approved: keep its grant."""
        return await self._simkl_keep(self.sign_in.task.result(), "simkl_retry")

    async def _simkl_keep(self, grant: Grant, retry_step: str) -> ConfigFlowResult:
        """Refuse a read-only grant; else ask SIMKL whose grant it is and keep it."""
        oauth = self._simkl_oauth()
        if not grant.can_write:
            await _revoke(oauth, grant.tokens)
            return self.show_retry(retry_step, "read_only_grant")
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
            return self.show_retry(retry_step, form_error(err))
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
        """Once the user is here, take the (V2) client id and sign in the chosen way.

        A V1 account's client id is no V2 app (SIMKL answers `invalid_client`): the form asks
        for the V2 app's, prefilled with the one the entry has.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            self._simkl_client_id = user_input[CONF_CLIENT_ID].strip()
            method = user_input.get(CONF_METHOD, DEVICE)
            error = await self._simkl_begin(method)
            if error is None:
                return await self._simkl_next(method)
            errors["base"] = error
        schema = form(
            {
                vol.Required(CONF_CLIENT_ID, default=self._simkl_client_id): str,
                **_method_field(DEVICE),
            }
        )
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
