"""A media server's URL as the user types it: https unless it cannot be, and a warning for http.

A URL typed without a scheme is tried over https first (`speaks_tls`: a GET of the address
without credentials) and gets http only when no TLS connection can be made there. Before a
flow sends a password or token to a plain http URL outside the local network, it asks: the
`plain_http` step names the address and lets the user go on or give another.
"""

from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_URL
from homeassistant.util.network import is_local
import voluptuous as vol
from yarl import URL

from ..clients.http import speaks_tls
from .base import form

# How long the https attempt may take before the address is taken to be plain http.
TLS_PROBE_TIMEOUT = 10.0
PLAIN_HTTP_STEP = "plain_http"


def clean_url(text: str) -> str:
    """A server URL as the user typed it, without surrounding blanks and a trailing slash."""
    return text.strip().rstrip("/")


async def resolve_url(session: aiohttp.ClientSession, text: str) -> str:
    """The typed URL with a scheme: the typed one, else https if it connects, else http."""
    url = clean_url(text)
    if "://" in url:
        return url
    if await speaks_tls(session, f"https://{url}", within=TLS_PROBE_TIMEOUT):
        return f"https://{url}"
    return f"http://{url}"


def is_local_host(host: str) -> bool:
    """A host on the local network: a private, loopback or link-local IP, a .local or bare name."""
    name = host.strip("[]").rstrip(".").lower()
    try:
        address = ip_address(name)
    except ValueError:
        return "." not in name or name.endswith(".local")
    return is_local(address)


def is_plain_remote(url: str) -> bool:
    """Whether what is sent to `url` crosses a network beyond the local one unencrypted."""
    parsed = URL(url)
    return parsed.scheme == "http" and not is_local_host(parsed.host or "")


@dataclass(frozen=True, slots=True)
class _Pending:
    """A form's input held while the user decides about its plain http URL."""

    step_id: str
    url_key: str
    user_input: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.user_input[self.url_key])


class PlainHttpWarning(ConfigFlow):
    """The step that warns before credentials go to a plain http URL beyond the local network.

    A form step calls `warn_plain_http` with its resolved URL before it signs in; when that
    returns a result, the step returns it. Submitting the warning runs the step again with the
    same input: with the URL as shown, accepted; with another URL, checked like a new one.
    """

    _plain_http_accepted: str = ""
    _plain_http_pending: _Pending | None = None

    def warn_plain_http(
        self, url: str, step_id: str, user_input: dict[str, Any], url_key: str = CONF_URL
    ) -> ConfigFlowResult | None:
        """The warning, when `url` is plain http beyond the local network and not yet accepted."""
        if not is_plain_remote(url) or url == self._plain_http_accepted:
            return None
        self._plain_http_pending = _Pending(step_id, url_key, {**user_input, url_key: url})
        return self._show_plain_http(url)

    def _show_plain_http(self, url: str) -> ConfigFlowResult:
        schema = self.add_suggested_values_to_schema(
            form({vol.Required(CONF_URL): str}), {CONF_URL: url}
        )
        return self.async_show_form(
            step_id=PLAIN_HTTP_STEP,
            data_schema=schema,
            description_placeholders={"url": url, "host": URL(url).host or url},
        )

    async def async_step_plain_http(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Go on over plain http with the URL as shown, or go back with another URL."""
        pending = self._plain_http_pending
        assert pending is not None
        if user_input is None:
            return self._show_plain_http(pending.url)
        url = clean_url(user_input[CONF_URL])
        if url == pending.url:
            self._plain_http_accepted = url
        self._plain_http_pending = None  # the password it may hold is not kept longer
        step = getattr(self, f"async_step_{pending.step_id}")
        result: ConfigFlowResult = await step({**pending.user_input, pending.url_key: url})
        return result
