"""Plex: sign in with plex.tv (a PIN) and choose a server, or give a server URL and token.

The plex.tv sign-in is a code sign-in: plex.tv issues a PIN, the user approves it at the
sign-in URL (or by its QR code), and a background poll picks up the account token. With it,
plex.tv names the account and lists its servers; one server is chosen by itself, several are
offered as a choice, and the first of the server's connections that answers as that server is
kept. The client identifier is generated once per flow and stored: plex.tv binds tokens to it.

The entry is the user who approved the sign-in: no other user of the server is offered (Plex no
longer gives apps tokens for invited users, and switching Plex Home users is not done here). That
user need not be the server's admin; a managed or shared user's token is refused only on the
admin's play history, which setup does not need (see `PlexClient.history_access`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_TOKEN, CONF_VERIFY_SSL
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ..clients.http import HttpClient
from ..clients.plex import auth as plex_auth, client as plex_client
from ..clients.plex.auth import (
    PlexAccount,
    PlexApp,
    PlexServer,
    choose_server,
    create_pin,
    get_account,
    list_servers,
    make_plex_tv_http,
    reachable_url,
    wait_for_pin,
)
from ..clients.tokens import Tokens
from ..const import (
    CONF_DEVICE_ID,
    CONF_DISCOVER_URL,
    CONF_METADATA_URL,
    CONF_PLEX_TV_URL,
    CONF_SERVER_ID,
    CONF_SERVER_TOKEN,
    CONF_SERVER_URL,
    CONF_TOKENS,
    CONF_USER_ID,
    CONF_USER_NAME,
    Kind,
)
from ..errors import form_error
from ..providers.plex import PlexProvider
from .base import ADVANCED, CodeSignInFlow, code_sign_in_steps, form
from .mediabrowser import FLOW_RETRY, verify_ssl_field, with_verify_ssl
from .server_url import PlainHttpWarning, resolve_url

CONF_SERVER = "server"  # the server choice
# How often the background poll asks plex.tv whether the PIN was approved.
PIN_POLL_INTERVAL = plex_auth.POLL_INTERVAL


@dataclass(frozen=True, slots=True)
class PlexUrls:
    """Where plex.tv, Discover and the metadata service are (simulators move them)."""

    plex_tv: str = plex_auth.PLEX_TV_URL
    discover: str = plex_client.DISCOVER_URL
    metadata: str = plex_client.METADATA_URL

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> PlexUrls:
        """From the advanced section or an entry; the services' own where not given."""

        def url(key: str, default: str) -> str:
            return str(values.get(key) or default).strip().rstrip("/")

        return cls(
            url(CONF_PLEX_TV_URL, plex_auth.PLEX_TV_URL),
            url(CONF_DISCOVER_URL, plex_client.DISCOVER_URL),
            url(CONF_METADATA_URL, plex_client.METADATA_URL),
        )

    def as_dict(self) -> dict[str, str]:
        """As entry data."""
        return {
            CONF_PLEX_TV_URL: self.plex_tv,
            CONF_DISCOVER_URL: self.discover,
            CONF_METADATA_URL: self.metadata,
        }


class PlexFlow(CodeSignInFlow, PlainHttpWarning):
    """Steps of a Plex account on one of its servers."""

    _plex_device_id: str = ""
    _plex_urls: PlexUrls = PlexUrls()
    _plex_verify_ssl: bool = True
    _plex_account: PlexAccount | None = None
    _plex_token: str = ""
    _plex_servers: tuple[PlexServer, ...] = ()
    _plex_server_url: str = ""

    # -- shared -----------------------------------------------------------------------------

    def _plex_app(self) -> PlexApp:
        if not self._plex_device_id:
            self._plex_device_id = uuid4().hex
        return PlexApp(self._plex_device_id)

    def _plex_tv(self, token: str | None = None) -> HttpClient:
        return make_plex_tv_http(
            async_get_clientsession(self.hass),
            self._plex_app(),
            base_url=self._plex_urls.plex_tv,
            token=token,
            retry=FLOW_RETRY,
        )

    def _plex_advanced(self) -> dict[Any, Any]:
        """The collapsed section: the plex.tv, Discover and metadata URLs, TLS verification."""
        urls = self._plex_urls
        fields = {
            vol.Optional(CONF_PLEX_TV_URL, default=urls.plex_tv): str,
            vol.Optional(CONF_DISCOVER_URL, default=urls.discover): str,
            vol.Optional(CONF_METADATA_URL, default=urls.metadata): str,
            **verify_ssl_field(self.source == SOURCE_USER, self._plex_verify_ssl),
        }
        return {vol.Optional(ADVANCED): section(form(fields), {"collapsed": True})}

    def _plex_read(self, user_input: dict[str, Any]) -> None:
        advanced = user_input.get(ADVANCED) or {}
        self._plex_urls = PlexUrls.read({**self._plex_urls.as_dict(), **advanced})
        self._plex_verify_ssl = bool(advanced.get(CONF_VERIFY_SSL, self._plex_verify_ssl))

    async def _plex_read_server_url(
        self, step_id: str, user_input: dict[str, Any]
    ) -> ConfigFlowResult | None:
        """Take the form's server URL (https unless it cannot be); or the plain http warning."""
        session = async_get_clientsession(self.hass, verify_ssl=self._plex_verify_ssl)
        self._plex_server_url = await resolve_url(session, user_input[CONF_SERVER_URL])
        return self.warn_plain_http(
            self._plex_server_url, step_id, user_input, url_key=CONF_SERVER_URL
        )

    def _plex_remember(self, entry_data: Mapping[str, Any], verify_ssl: bool) -> None:
        """Reauth and reconfigure keep the entry's client identifier, URLs and TLS choice."""
        self._plex_device_id = entry_data[CONF_DEVICE_ID]
        self._plex_urls = PlexUrls.read(entry_data)
        self._plex_server_url = entry_data[CONF_SERVER_URL]
        self._plex_verify_ssl = verify_ssl

    async def _plex_check(
        self, server_url: str, server_token: str, account_token: str | None
    ) -> tuple[str, PlexProvider]:
        """Check the server and tokens as the entry will use them: its machine id, provider."""
        client = plex_client.PlexClient(
            async_get_clientsession(self.hass, verify_ssl=self._plex_verify_ssl),
            self._plex_app(),
            server_url=server_url,
            server_token=server_token,
            account_token=account_token,
            plex_tv_url=self._plex_urls.plex_tv,
            discover_url=self._plex_urls.discover,
            metadata_url=self._plex_urls.metadata,
            retry=FLOW_RETRY,
        )
        machine = await client.machine_identifier()
        provider = PlexProvider(client, server_id=machine)
        await provider.health()
        return machine, provider

    async def _plex_finish(
        self, account_id: str, title: str, data: dict[str, Any]
    ) -> ConfigFlowResult:
        result = await self.async_finish_account(
            Kind.PLEX,
            account_id,
            title,
            {CONF_DEVICE_ID: self._plex_device_id, **self._plex_urls.as_dict(), **data},
        )
        return with_verify_ssl(result, self._plex_verify_ssl)

    async def async_step_plex(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sign in with plex.tv, or give a server's URL and token."""
        return self.async_show_menu(step_id="plex", menu_options=["plex_sign_in", "plex_direct"])

    # -- plex.tv sign-in --------------------------------------------------------------------

    async def async_step_plex_sign_in(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Explain the sign-in; Submit asks plex.tv for a PIN."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._plex_read(user_input)
            error = await self._plex_request_pin()
            if error is None:
                return await self.async_step_plex_code(None)
            errors["base"] = error
        return self.async_show_form(
            step_id="plex_sign_in", data_schema=form(self._plex_advanced()), errors=errors
        )

    async def _plex_request_pin(self) -> str | None:
        """Ask plex.tv for a PIN and start polling it; an error key on failure."""
        http = self._plex_tv()
        try:
            pin = await create_pin(http)
        except Exception as err:  # noqa: BLE001 - the form shows why
            return form_error(err)
        self.start_sign_in(
            pin.auth_url(self._plex_app()),
            pin.code,
            wait_for_pin(http, pin, interval=PIN_POLL_INTERVAL),
        )
        return None

    async_step_plex_code, async_step_plex_wait, async_step_plex_retry = code_sign_in_steps(
        "plex", request_code=_plex_request_pin, finish_step="plex_account"
    )

    async def async_step_plex_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask plex.tv whose token this is and which servers it reaches."""
        token: str = self.sign_in.task.result()
        http = self._plex_tv(token)
        try:
            account = await get_account(http)
            servers = await list_servers(http)
        except Exception as err:  # noqa: BLE001 - the retry form shows why
            return self.show_retry("plex_retry", form_error(err))
        if self.source == SOURCE_REAUTH:
            # The entry's server, whichever connection reaches it now.
            wanted = self._get_reauth_entry().data[CONF_SERVER_ID]
            servers = [server for server in servers if server.machine_identifier == wanted]
            if not servers:
                return self.async_abort(reason="wrong_account")
        if not servers:
            return self.async_abort(reason="no_servers")
        self._plex_token, self._plex_account, self._plex_servers = token, account, tuple(servers)
        return await self.async_step_plex_server()

    async def async_step_plex_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the server (one is chosen by itself) and find a connection that answers."""
        assert self._plex_account is not None
        servers = self._plex_servers
        errors: dict[str, str] = {}
        if user_input is not None or len(servers) == 1:
            chosen = user_input[CONF_SERVER] if user_input else servers[0].machine_identifier
            server = choose_server(servers, chosen)
            try:
                url = await reachable_url(
                    async_get_clientsession(self.hass, verify_ssl=self._plex_verify_ssl),
                    self._plex_app(),
                    server,
                )
                machine, _ = await self._plex_check(url, server.access_token, self._plex_token)
            except Exception as err:  # noqa: BLE001 - the form shows why
                errors["base"] = form_error(err)
            else:
                account = self._plex_account
                return await self._plex_finish(
                    f"{account.uuid}@{machine}",
                    f"Plex ({account.username} on {server.name})",
                    {
                        CONF_SERVER_URL: url,
                        CONF_SERVER_TOKEN: server.access_token,
                        CONF_SERVER_ID: machine,
                        CONF_TOKENS: Tokens(self._plex_token).as_dict(),
                        CONF_USER_ID: account.uuid,
                        CONF_USER_NAME: account.username,
                    },
                )
        options = [
            SelectOptionDict(value=server.machine_identifier, label=server.name)
            for server in servers
        ]
        schema = form(
            {
                vol.Required(CONF_SERVER, default=servers[0].machine_identifier): SelectSelector(
                    SelectSelectorConfig(options=options)
                )
            }
        )
        return self.async_show_form(
            step_id="plex_server",
            data_schema=schema,
            errors=errors,
            description_placeholders={"account": self._plex_account.username},
        )

    # -- a server URL and token -------------------------------------------------------------

    async def async_step_plex_direct(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A server's URL and an X-Plex-Token, without the plex.tv sign-in."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._plex_read(user_input)
            if (warning := await self._plex_read_server_url("plex_direct", user_input)) is not None:
                return warning
            token = str(user_input[CONF_TOKEN]).strip()
            try:
                machine, provider = await self._plex_check(self._plex_server_url, token, None)
            except Exception as err:  # noqa: BLE001 - the form shows why
                errors["base"] = form_error(err)
            else:
                # Without the sign-in the entry is keyed by the server alone.
                return await self._plex_finish(
                    machine,
                    provider.name,
                    {
                        CONF_SERVER_URL: self._plex_server_url,
                        CONF_SERVER_TOKEN: token,
                        CONF_SERVER_ID: machine,
                    },
                )
        schema = form(
            {
                vol.Required(CONF_SERVER_URL): str,
                vol.Required(CONF_TOKEN): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.PASSWORD)
                ),
                **self._plex_advanced(),
            }
        )
        return self.async_show_form(
            step_id="plex_direct",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_SERVER_URL: self._plex_server_url}
            ),
            errors=errors,
        )

    # -- reauth and reconfigure -------------------------------------------------------------

    async def async_step_reauth_plex(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Signed in with plex.tv: sign in again. With a direct token: the token form again."""
        self._plex_remember(entry_data, self._get_reauth_entry().options.get(CONF_VERIFY_SSL, True))
        if not entry_data.get(CONF_TOKENS):
            return await self.async_step_plex_direct()
        # Nothing is asked of plex.tv until the user opens the flow and submits: a PIN
        # requested now would be polled, unseen, until it expires.
        return await self.async_step_plex_sign_in()

    async def async_step_reconfigure_plex(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new address for the server, checked with the saved tokens; same server only."""
        entry = self._get_reconfigure_entry()
        data = entry.data
        errors: dict[str, str] = {}
        if user_input is None:
            self._plex_remember(data, entry.options.get(CONF_VERIFY_SSL, True))
        else:
            warning = await self._plex_read_server_url("reconfigure_plex", user_input)
            if warning is not None:
                return warning
            account_token = (data.get(CONF_TOKENS) or {}).get("access_token")
            try:
                machine, _ = await self._plex_check(
                    self._plex_server_url, data[CONF_SERVER_TOKEN], account_token
                )
            except Exception as err:  # noqa: BLE001 - the form shows why
                errors["base"] = form_error(err)
            else:
                user_id = data.get(CONF_USER_ID)
                kept = {
                    key: data[key]
                    for key in (CONF_SERVER_TOKEN, CONF_TOKENS, CONF_USER_ID, CONF_USER_NAME)
                    if key in data
                }
                return await self._plex_finish(
                    f"{user_id}@{machine}" if user_id else machine,
                    entry.title,
                    {**kept, CONF_SERVER_URL: self._plex_server_url, CONF_SERVER_ID: machine},
                )
        schema = form({vol.Required(CONF_SERVER_URL): str})
        return self.async_show_form(
            step_id="reconfigure_plex",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_SERVER_URL: self._plex_server_url}
            ),
            errors=errors,
        )
