"""Jellyfin: the MediaBrowser provider in its Jellyfin flavour, and the ways to log in.

Two logins, both steps a config flow can drive:
- user name and password (`sign_in`): sent once to `/Users/AuthenticateByName`, never kept;
- Quick Connect (`JellyfinQuickConnect`): ask whether the server allows it, initiate to get the
  code to show the user, poll once per step for a typed status, then exchange the secret for a
  token. The user approves the code in another Jellyfin app that is already logged in.

Jellyfin 10.9 moved the per-user routes (`/Users/{userId}/Items` became `/Items?userId=`) and
both the 10.11 and 12.0 descriptions list only the new ones; 12.0 also drops the legacy
`X-Emby-*` headers and the `api_key` query. The client speaks only what both versions serve.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ..clients.mediabrowser import JELLYFIN, Credentials, MediaBrowserClient
from ..engine.provider import AuthError, ProviderError
from .client_errors import HttpError, translates_client_errors, translating
from .mediabrowser import MediaBrowserAccount, MediaBrowserProvider, account_for, sign_in

__all__ = [
    "JELLYFIN",
    "JellyfinProvider",
    "JellyfinQuickConnect",
    "QuickConnectCode",
    "QuickConnectStatus",
    "sign_in",
]

_UNKNOWN_SECRET: Final = 404  # Connect answers 404 for a secret it no longer knows


class JellyfinProvider(MediaBrowserProvider):
    """A Jellyfin user as the engine uses it."""

    flavour = JELLYFIN


class QuickConnectStatus(StrEnum):
    """Where a Quick Connect request stands."""

    PENDING = "pending"  # the user has not entered the code yet
    AUTHORIZED = "authorized"  # approved: `authenticate` gives the token
    EXPIRED = "expired"  # the server forgot the request: start again


@dataclass(frozen=True, slots=True)
class QuickConnectCode:
    """A Quick Connect request: the code to show the user and the secret to poll with."""

    code: str
    secret: str


class JellyfinQuickConnect:
    """The Quick Connect login, one step per call, for a config flow to drive."""

    def __init__(self, client: MediaBrowserClient) -> None:
        """Use a Jellyfin client without a token (it still names our device)."""
        if not client.flavour.quick_connect:
            raise ValueError(f"{client.flavour.name} has no Quick Connect")
        self._client = translating(client)

    @translates_client_errors
    async def enabled(self) -> bool:
        """Whether the server allows Quick Connect logins."""
        return await self._client.quick_connect_enabled()

    @translates_client_errors
    async def initiate(self) -> QuickConnectCode:
        """Start a request; show `code` to the user."""
        try:
            started = await self._client.quick_connect_initiate()
        except AuthError as err:
            # Initiate needs no login: its 401 means Quick Connect is switched off.
            raise ProviderError("Quick Connect is switched off on this server") from err
        return QuickConnectCode(started.code, started.secret)

    @translates_client_errors
    async def poll(self, request: QuickConnectCode) -> QuickConnectStatus:
        """Ask once whether the user has approved the code."""
        try:
            state = await self._client.quick_connect_state(request.secret)
        except HttpError as err:
            if err.status == _UNKNOWN_SECRET:
                return QuickConnectStatus.EXPIRED
            raise
        return QuickConnectStatus.AUTHORIZED if state.authenticated else QuickConnectStatus.PENDING

    @translates_client_errors
    async def authenticate(
        self, request: QuickConnectCode
    ) -> tuple[MediaBrowserAccount, Credentials]:
        """Exchange an approved request for the account and its token."""
        server = await self._client.public_info()
        credentials = await self._client.authenticate_with_quick_connect(request.secret)
        return account_for(server, credentials), credentials
