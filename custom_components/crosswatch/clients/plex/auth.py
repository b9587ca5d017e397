"""Plex sign-in and server choice, as steps a config flow can drive.

Plex signs a device in with a PIN: we ask plex.tv for a strong PIN, send the user to
app.plex.tv with its code, and poll the PIN until plex.tv fills in `authToken`. A config flow
cannot block while the user is in a browser, so each step is its own call: create the PIN (and
its sign-in URL), poll once, or poll until done with an injectable sleep.

With the account token, plex.tv lists the user's servers (`/api/v2/resources`), each with its
own access token and connections (local, remote, relay), and names the account
(`/api/v2/user`), whose uuid keys the provider. A direct server URL and token work too.

`X-Plex-Client-Identifier` must stay the same for one installation: plex.tv ties the token to
it and lists the device under it. The caller generates it once and keeps it.

The account and server records these steps return are parsed in `models.py`, and named here
too, so that a config flow needs only this module; the PIN stays here, bound to `PlexApp`.
"""

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import time
from urllib.parse import urlencode

import aiohttp

from ..errors import (
    CrossWatchAuthenticationError,
    CrossWatchClientError,
    CrossWatchConnectionError,
    CrossWatchInvalidResponseError,
    CrossWatchResponseError,
)
from ..http import HttpClient, RetryPolicy, Sleep
from .models import (
    PlexAccount,
    PlexConnection,
    PlexServer,
    json_object,
    parse_account,
    parse_identity,
    parse_servers,
)

__all__ = [
    "AUTH_APP_URL",
    "PLEX_TV_URL",
    "POLL_INTERVAL",
    "Pin",
    "PinExpiredError",
    "PinPoll",
    "PinStatus",
    "PlexAccount",
    "PlexApp",
    "PlexConnection",
    "PlexServer",
    "check_pin",
    "choose_server",
    "create_pin",
    "get_account",
    "get_identity",
    "list_servers",
    "make_plex_tv_http",
    "reachable_url",
    "servers_by_name",
    "wait_for_pin",
]

PLEX_TV_URL = "https://plex.tv"
AUTH_APP_URL = "https://app.plex.tv/auth"
PRODUCT = "CrossWatch"
VERSION = "0.1"
# How often to ask plex.tv about a PIN while the user signs in; plex.tv's own apps poll each
# second, and a PIN lives for 30 minutes.
POLL_INTERVAL = 2.0


@dataclass(frozen=True, slots=True)
class PlexApp:
    """How this installation introduces itself to Plex."""

    client_identifier: str  # generated once by the caller and kept: tokens are bound to it
    product: str = PRODUCT
    version: str = VERSION

    def headers(self, token: str | None = None) -> dict[str, str]:
        """The headers every Plex request carries (JSON, never Plex's default XML)."""
        headers = {
            "Accept": "application/json",
            "X-Plex-Product": self.product,
            "X-Plex-Version": self.version,
            "X-Plex-Client-Identifier": self.client_identifier,
        }
        if token is not None:
            headers["X-Plex-Token"] = token
        return headers


def make_plex_tv_http(
    session: aiohttp.ClientSession,
    app: PlexApp,
    *,
    base_url: str = PLEX_TV_URL,
    token: str | None = None,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> HttpClient:
    """An HttpClient for plex.tv, with the account token when there is one."""
    return HttpClient(
        session,
        base_url,
        service="plex.tv",
        headers=app.headers(token),
        retry=retry,
        sleep=sleep,
    )


# -- the PIN flow ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pin:
    """A PIN plex.tv issued: its id (to poll), its code (for the sign-in URL) and its expiry."""

    id: int
    code: str
    expires_at: float  # seconds since the epoch

    def auth_url(self, app: PlexApp) -> str:
        """Where the user signs in to approve this PIN."""
        query = urlencode(
            {
                "clientID": app.client_identifier,
                "code": self.code,
                "context[device][product]": app.product,
            }
        )
        # app.plex.tv reads its parameters from the fragment, not the query string.
        return f"{AUTH_APP_URL}#?{query}"


class PinStatus(StrEnum):
    """What one poll of a PIN said."""

    AUTHORIZED = "authorized"  # authToken is set
    PENDING = "pending"  # the user has not signed in yet
    EXPIRED = "expired"  # plex.tv no longer knows the PIN, or its time is up: start again


@dataclass(frozen=True, slots=True)
class PinPoll:
    """One poll's outcome; the account token once authorized."""

    status: PinStatus
    token: str | None = None


class PinExpiredError(CrossWatchAuthenticationError):
    """The PIN expired before the user approved it."""


async def create_pin(http: HttpClient, *, now: Callable[[], float] = time.time) -> Pin:
    """Ask plex.tv for a strong PIN (the kind the app.plex.tv sign-in approves)."""
    reply = await http.request("POST", "/api/v2/pins", params={"strong": "true"})
    return _pin(reply.json(), now())


async def check_pin(http: HttpClient, pin: Pin, *, now: Callable[[], float] = time.time) -> PinPoll:
    """Poll the PIN once."""
    if now() >= pin.expires_at:
        return PinPoll(PinStatus.EXPIRED)
    try:
        reply = await http.request("GET", f"/api/v2/pins/{pin.id}")
    except CrossWatchResponseError as err:
        # plex.tv forgets a PIN once it expires and answers 404 for it.
        if err.status == 404:
            return PinPoll(PinStatus.EXPIRED)
        raise
    data = json_object(reply.json(), "PIN")
    token = data.get("authToken")
    if isinstance(token, str) and token:
        return PinPoll(PinStatus.AUTHORIZED, token)
    expires_in = data.get("expiresIn")
    if isinstance(expires_in, int) and not isinstance(expires_in, bool) and expires_in <= 0:
        return PinPoll(PinStatus.EXPIRED)
    return PinPoll(PinStatus.PENDING)


async def wait_for_pin(
    http: HttpClient,
    pin: Pin,
    *,
    interval: float = POLL_INTERVAL,
    sleep: Sleep = asyncio.sleep,
    now: Callable[[], float] = time.time,
) -> str:
    """Poll until the user approves the PIN; the account token. PinExpiredError when it expires."""
    while True:
        poll = await check_pin(http, pin, now=now)
        if poll.status is PinStatus.AUTHORIZED and poll.token is not None:
            return poll.token
        if poll.status is PinStatus.EXPIRED:
            raise PinExpiredError("the Plex PIN expired before it was approved; start again")
        await sleep(interval)


def _pin(body: object, issued_at: float) -> Pin:
    data = json_object(body, "PIN")
    pin_id, code = data.get("id"), data.get("code")
    if not isinstance(pin_id, int) or isinstance(pin_id, bool) or not isinstance(code, str):
        raise CrossWatchInvalidResponseError("plex.tv sent a PIN without its id or code")
    expires_in = data.get("expiresIn")
    lifetime = float(expires_in) if isinstance(expires_in, int) else 1800.0
    expires_at = _epoch(data.get("expiresAt"))
    return Pin(pin_id, code, expires_at if expires_at is not None else issued_at + lifetime)


def _epoch(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


# -- the account and its servers -----------------------------------------------------------


async def get_account(http: HttpClient) -> PlexAccount:
    """The account the token belongs to (`GET /api/v2/user`); an auth error for a bad token."""
    return parse_account((await http.request("GET", "/api/v2/user")).json())


async def list_servers(http: HttpClient) -> list[PlexServer]:
    """The servers the account can reach (`GET /api/v2/resources`), owned ones first."""
    reply = await http.request(
        "GET", "/api/v2/resources", params={"includeHttps": 1, "includeRelay": 1}
    )
    return parse_servers(reply.json())


def choose_server(
    servers: Sequence[PlexServer], machine_identifier: str | None = None
) -> PlexServer:
    """The server with that machine identifier, else the first owned one, else the first.

    CrossWatchInvalidResponseError when the account has no server (or not that one).
    """
    if machine_identifier is not None:
        for server in servers:
            if server.machine_identifier == machine_identifier:
                return server
        raise CrossWatchInvalidResponseError(f"the Plex account has no server {machine_identifier}")
    if not servers:
        raise CrossWatchInvalidResponseError("the Plex account has no server")
    return servers[0]


async def reachable_url(
    session: aiohttp.ClientSession,
    app: PlexApp,
    server: PlexServer,
    *,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> str:
    """The first of the server's connections that answers `/identity` as that server."""
    # One quick try per connection: a dead local address should not hold up the remote one.
    policy = retry or RetryPolicy(attempts=1, timeout=5.0)
    problems: list[str] = []
    for url in server.urls():
        http = HttpClient(
            session, url, service=server.name, headers=app.headers(server.access_token),
            retry=policy, sleep=sleep,
        )  # fmt: skip
        try:
            identity = await get_identity(http)
        except CrossWatchAuthenticationError:
            raise
        except CrossWatchClientError as err:
            problems.append(f"{url}: {err}")
            continue
        if identity == server.machine_identifier:
            return url
        problems.append(f"{url}: another server ({identity}) answers there")
    raise CrossWatchConnectionError(
        f"no connection to {server.name} answers: {'; '.join(problems)}"
    )


async def get_identity(http: HttpClient) -> str:
    """A server's machine identifier (`GET /identity`)."""
    return parse_identity((await http.request("GET", "/identity")).json())


def servers_by_name(servers: Iterable[PlexServer]) -> dict[str, str]:
    """Machine identifier -> name, for a config flow's choice of server."""
    return {server.machine_identifier: server.name for server in servers}
