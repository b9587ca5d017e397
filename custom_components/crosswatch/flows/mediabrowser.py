"""Jellyfin and Emby: a server URL with a user name and password, or Jellyfin's Quick Connect.

Both servers share the steps; only the step ids, the flavour and Quick Connect differ. The
password is sent once to the server and never stored: the entry keeps the access token, the
device id the token is bound to, and which server and user it belongs to.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import voluptuous as vol

from ..accounts import VERSION
from ..clients.http import RetryPolicy
from ..clients.mediabrowser import (
    EMBY,
    JELLYFIN,
    Credentials,
    DeviceInfo,
    Flavour,
    MediaBrowserClient,
)
from ..clients.tokens import Tokens
from ..const import (
    CONF_BASE_URL,
    CONF_DEVICE_ID,
    CONF_SERVER_ID,
    CONF_SERVER_NAME,
    CONF_TOKENS,
    CONF_USER_ID,
    CONF_USER_NAME,
    Kind,
)
from ..engine.provider import AuthError
from ..errors import form_error
from ..providers.jellyfin import JellyfinQuickConnect, QuickConnectCode, QuickConnectStatus
from ..providers.mediabrowser import MediaBrowserAccount, sign_in
from .base import ADVANCED, CodeSignInFlow, code_sign_in_steps, form
from .server_url import PlainHttpWarning, resolve_url

# A config flow has a person waiting: one quick retry, then an error they can act on.
FLOW_RETRY = RetryPolicy(attempts=2, backoff=0.5, timeout=10.0)
# How often the background poll asks whether the Quick Connect code was approved.
QUICK_CONNECT_INTERVAL = 5.0

_FLAVOURS = {Kind.JELLYFIN: JELLYFIN, Kind.EMBY: EMBY}


def verify_ssl_field(enabled: bool, default: bool) -> dict[Any, Any]:
    """The TLS verification checkbox, when the flow creates an entry (else the options)."""
    return {vol.Optional(CONF_VERIFY_SSL, default=default): bool} if enabled else {}


def with_verify_ssl(result: ConfigFlowResult, verify_ssl: bool) -> ConfigFlowResult:
    """A new entry starts with the TLS choice of its flow as its options."""
    if result["type"] is FlowResultType.CREATE_ENTRY:
        result["options"] = {CONF_VERIFY_SSL: verify_ssl}
    return result


@dataclass(frozen=True, slots=True)
class _Steps:
    """Which steps a server kind uses."""

    kind: Kind
    password_step: str
    flavour: Flavour


_STEPS = {
    Kind.JELLYFIN: _Steps(Kind.JELLYFIN, "jellyfin_password", JELLYFIN),
    Kind.EMBY: _Steps(Kind.EMBY, "emby", EMBY),
}


async def _wait_for_quick_connect(
    quick: JellyfinQuickConnect, request: QuickConnectCode
) -> QuickConnectCode:
    """Poll until the user approves the code; AuthError once the server forgets it."""
    while True:
        status = await quick.poll(request)
        if status is QuickConnectStatus.AUTHORIZED:
            return request
        if status is QuickConnectStatus.EXPIRED:
            raise AuthError("the Quick Connect code expired before it was approved")
        await asyncio.sleep(QUICK_CONNECT_INTERVAL)


class MediaBrowserFlow(CodeSignInFlow, PlainHttpWarning):
    """Steps of a Jellyfin or Emby account (a user on a server)."""

    _mb_device_id: str = ""
    _mb_url: str = ""
    _mb_verify_ssl: bool = True
    _mb_username: str = ""
    _mb_quick: JellyfinQuickConnect | None = None

    # -- shared -----------------------------------------------------------------------------

    def _mb_client(self, flavour: Flavour, token: str | None = None) -> MediaBrowserClient:
        if not self._mb_device_id:
            self._mb_device_id = uuid4().hex
        return MediaBrowserClient(
            async_get_clientsession(self.hass, verify_ssl=self._mb_verify_ssl),
            flavour,
            self._mb_url,
            device=DeviceInfo(self._mb_device_id, VERSION),
            token=token,
            retry=FLOW_RETRY,
        )

    async def _mb_read(self, step_id: str, user_input: dict[str, Any]) -> ConfigFlowResult | None:
        """Take the form's URL (https unless it cannot be) and TLS choice.

        The warning to show instead of going on, when the URL is plain http beyond the local
        network: the form's step runs again once the user decides.
        """
        advanced = user_input.get(ADVANCED) or {}
        self._mb_verify_ssl = bool(advanced.get(CONF_VERIFY_SSL, self._mb_verify_ssl))
        session = async_get_clientsession(self.hass, verify_ssl=self._mb_verify_ssl)
        self._mb_url = await resolve_url(session, user_input[CONF_URL])
        return self.warn_plain_http(self._mb_url, step_id, user_input)

    def _mb_remember(self, entry_data: Mapping[str, Any], verify_ssl: bool) -> None:
        """Reauth and reconfigure start from the entry: its server, user and device id."""
        self._mb_url = entry_data[CONF_BASE_URL]
        self._mb_device_id = entry_data[CONF_DEVICE_ID]
        self._mb_username = entry_data[CONF_USER_NAME]
        self._mb_verify_ssl = verify_ssl

    def _mb_schema(self, fields: dict[Any, Any], suggested: Mapping[str, Any]) -> Any:
        """URL, the given fields, and (for a new entry) TLS verification, filled in."""
        advanced = verify_ssl_field(self.source == SOURCE_USER, self._mb_verify_ssl)
        section_field = (
            {vol.Optional(ADVANCED): section(form(advanced), {"collapsed": True})}
            if advanced
            else {}
        )
        schema = form({vol.Required(CONF_URL): str, **fields, **section_field})
        return self.add_suggested_values_to_schema(schema, {CONF_URL: self._mb_url, **suggested})

    async def _mb_finish(
        self, kind: Kind, account: MediaBrowserAccount, credentials: Credentials
    ) -> ConfigFlowResult:
        flavour = _FLAVOURS[kind]
        result = await self.async_finish_account(
            kind,
            f"{account.server_id}:{account.user_id}",
            f"{flavour.name} ({account.user_name} on {account.server_name})",
            {
                CONF_BASE_URL: self._mb_url,
                CONF_DEVICE_ID: self._mb_device_id,
                CONF_TOKENS: Tokens(credentials.access_token).as_dict(),
                CONF_SERVER_ID: account.server_id,
                CONF_SERVER_NAME: account.server_name,
                CONF_USER_ID: account.user_id,
                CONF_USER_NAME: account.user_name,
            },
        )
        return with_verify_ssl(result, self._mb_verify_ssl)

    async def _mb_password(
        self, steps: _Steps, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """The server URL, user name and password; signs in once to check them."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._mb_username = user_input[CONF_USERNAME].strip()
            if (warning := await self._mb_read(steps.password_step, user_input)) is not None:
                return warning
            try:
                account, credentials = await sign_in(
                    self._mb_client(steps.flavour),
                    self._mb_username,
                    user_input.get(CONF_PASSWORD) or "",
                )
            except Exception as err:  # noqa: BLE001 - the form shows why
                errors["base"] = form_error(err)
            else:
                return await self._mb_finish(steps.kind, account, credentials)
        schema = self._mb_schema(
            {
                vol.Required(CONF_USERNAME): str,
                vol.Optional(CONF_PASSWORD): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                ),
            },
            {CONF_USERNAME: self._mb_username},
        )
        return self.async_show_form(step_id=steps.password_step, data_schema=schema, errors=errors)

    async def _mb_reconfigure(
        self, steps: _Steps, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """A new URL for the same server: checked with the saved token, same account only."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is None:
            self._mb_remember(entry.data, entry.options.get(CONF_VERIFY_SSL, True))
        else:
            step_id = f"reconfigure_{steps.kind.value}"
            if (warning := await self._mb_read(step_id, user_input)) is not None:
                return warning
            user_id = entry.data[CONF_USER_ID]
            token = Tokens.from_dict(entry.data[CONF_TOKENS]).access_token
            client = self._mb_client(steps.flavour, token)
            try:
                server = await client.public_info()
                await client.current_user(user_id)
            except Exception as err:  # noqa: BLE001 - the form shows why
                errors["base"] = form_error(err)
            else:
                account = MediaBrowserAccount(
                    server.id, server.name, user_id, entry.data[CONF_USER_NAME]
                )
                return await self._mb_finish(
                    steps.kind, account, Credentials(token, user_id, account.user_name)
                )
        return self.async_show_form(
            step_id=f"reconfigure_{steps.kind.value}",
            data_schema=self._mb_schema({}, {}),
            errors=errors,
            description_placeholders={"server": entry.data[CONF_SERVER_NAME]},
        )

    # -- Jellyfin ---------------------------------------------------------------------------

    async def async_step_jellyfin(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Sign in with a password, or approve a Quick Connect code in another Jellyfin app."""
        return self.async_show_menu(
            step_id="jellyfin", menu_options=["jellyfin_password", "jellyfin_quick_connect"]
        )

    async def async_step_jellyfin_password(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The Jellyfin server URL, user name and password."""
        return await self._mb_password(_STEPS[Kind.JELLYFIN], user_input)

    async def async_step_jellyfin_quick_connect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The Jellyfin server URL; then a Quick Connect code to approve."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if (warning := await self._mb_read("jellyfin_quick_connect", user_input)) is not None:
                return warning
            self._mb_quick = JellyfinQuickConnect(self._mb_client(JELLYFIN))
            error = await self._mb_request_code()
            if error is None:
                return await self.async_step_jellyfin_qc_code(None)
            errors["base"] = error
        return self.async_show_form(
            step_id="jellyfin_quick_connect",
            data_schema=self._mb_schema({}, {}),
            errors=errors,
        )

    async def _mb_request_code(self) -> str | None:
        """Start a Quick Connect request and its background poll; an error key on failure."""
        assert self._mb_quick is not None
        try:
            if not await self._mb_quick.enabled():
                return "quick_connect_disabled"
            request = await self._mb_quick.initiate()
        except Exception as err:  # noqa: BLE001 - the form shows why
            return form_error(err)
        self.start_sign_in(
            f"{self._mb_url}/web/#/quickconnect",
            request.code,
            _wait_for_quick_connect(self._mb_quick, request),
        )
        return None

    async_step_jellyfin_qc_code, async_step_jellyfin_qc_wait, async_step_jellyfin_qc_retry = (
        code_sign_in_steps(
            "jellyfin_qc", request_code=_mb_request_code, finish_step="jellyfin_qc_finish"
        )
    )

    async def async_step_jellyfin_qc_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Exchange the approved code for the account and its token."""
        assert self._mb_quick is not None
        try:
            account, credentials = await self._mb_quick.authenticate(self.sign_in.task.result())
        except Exception as err:  # noqa: BLE001 - the retry form shows why
            return self.show_retry("jellyfin_qc_retry", form_error(err))
        return await self._mb_finish(Kind.JELLYFIN, account, credentials)

    async def async_step_reauth_jellyfin(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The token was refused: sign in again (password or Quick Connect), same user."""
        self._mb_remember(entry_data, self._get_reauth_entry().options.get(CONF_VERIFY_SSL, True))
        return await self.async_step_jellyfin()

    async def async_step_reconfigure_jellyfin(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new address for the Jellyfin server."""
        return await self._mb_reconfigure(_STEPS[Kind.JELLYFIN], user_input)

    # -- Emby -------------------------------------------------------------------------------

    async def async_step_emby(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The Emby server URL, user name and password."""
        return await self._mb_password(_STEPS[Kind.EMBY], user_input)

    async def async_step_reauth_emby(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The token was refused: sign in again with the password, same user."""
        self._mb_remember(entry_data, self._get_reauth_entry().options.get(CONF_VERIFY_SSL, True))
        return await self.async_step_emby()

    async def async_step_reconfigure_emby(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new address for the Emby server."""
        return await self._mb_reconfigure(_STEPS[Kind.EMBY], user_input)
