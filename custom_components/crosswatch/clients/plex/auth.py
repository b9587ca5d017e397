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
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import time
from typing import Any
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
    data = _object(reply.json(), "PIN")
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


def _pin(data: Any, issued_at: float) -> Pin:
    data = _object(data, "PIN")
    pin_id, code = data.get("id"), data.get("code")
    if not isinstance(pin_id, int) or isinstance(pin_id, bool) or not isinstance(code, str):
        raise CrossWatchInvalidResponseError("plex.tv sent a PIN without its id or code")
    expires_in = data.get("expiresIn")
    lifetime = float(expires_in) if isinstance(expires_in, int) else 1800.0
    expires_at = _epoch(data.get("expiresAt"))
    return Pin(pin_id, code, expires_at if expires_at is not None else issued_at + lifetime)


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


# -- the account and its servers -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlexAccount:
    """The signed-in plex.tv account: `uuid` is what keys it, `username` what names it."""

    id: int
    uuid: str
    username: str


async def get_account(http: HttpClient) -> PlexAccount:
    """The account the token belongs to (`GET /api/v2/user`); an auth error for a bad token."""
    data = _object((await http.request("GET", "/api/v2/user")).json(), "account")
    account_id, uuid = data.get("id"), data.get("uuid")
    name = data.get("username") or data.get("title")
    if not isinstance(account_id, int) or not isinstance(uuid, str) or not uuid:
        raise CrossWatchInvalidResponseError("plex.tv sent an account without its id or uuid")
    return PlexAccount(account_id, uuid, str(name) if name else uuid)


@dataclass(frozen=True, slots=True)
class PlexConnection:
    """One way to reach a server."""

    uri: str
    local: bool
    relay: bool


@dataclass(frozen=True, slots=True)
class PlexServer:
    """A server the account can use, with the token for it and the ways to reach it."""

    name: str
    machine_identifier: str
    access_token: str
    owned: bool
    connections: tuple[PlexConnection, ...]

    def urls(self) -> list[str]:
        """Connection URIs, best first: local, then remote, then Plex's slow relay."""
        ranked = sorted(self.connections, key=lambda c: (c.relay, not c.local))
        return [connection.uri for connection in ranked]


async def list_servers(http: HttpClient) -> list[PlexServer]:
    """The servers the account can reach (`GET /api/v2/resources`), owned ones first."""
    reply = await http.request(
        "GET", "/api/v2/resources", params={"includeHttps": 1, "includeRelay": 1}
    )
    body = reply.json()
    if not isinstance(body, list):
        raise CrossWatchInvalidResponseError("plex.tv sent resources that are not a list")
    servers = [
        server
        for resource in body
        if isinstance(resource, dict) and (server := _server(resource)) is not None
    ]
    return sorted(servers, key=lambda s: (not s.owned, s.name.casefold()))


def _server(resource: Mapping[str, Any]) -> PlexServer | None:
    provides = str(resource.get("provides") or "").split(",")
    token, machine = resource.get("accessToken"), resource.get("clientIdentifier")
    if "server" not in provides or not isinstance(token, str) or not isinstance(machine, str):
        return None
    connections = tuple(
        PlexConnection(str(c["uri"]), bool(c.get("local")), bool(c.get("relay")))
        for c in resource.get("connections") or []
        if isinstance(c, dict) and isinstance(c.get("uri"), str)
    )
    return PlexServer(
        str(resource.get("name") or machine), machine, token, bool(resource.get("owned")),
        connections,
    )  # fmt: skip


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
    body = _object((await http.request("GET", "/identity")).json(), "identity")
    container = body.get("MediaContainer")
    machine = container.get("machineIdentifier") if isinstance(container, dict) else None
    if not isinstance(machine, str) or not machine:
        raise CrossWatchInvalidResponseError("the Plex server did not say which server it is")
    return machine


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise CrossWatchInvalidResponseError(f"Plex sent a {what} that is not an object")
    return data


def servers_by_name(servers: Iterable[PlexServer]) -> dict[str, str]:
    """Machine identifier -> name, for a config flow's choice of server."""
    return {server.machine_identifier: server.name for server in servers}
