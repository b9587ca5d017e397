"""Shared rig for the Jellyfin and Emby tests: a simulator on loopback and a provider on it."""

from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.mediabrowser.client import (
    EMBY,
    JELLYFIN,
    DeviceInfo,
    MediaBrowserClient,
)
from custom_components.crosswatch.providers.emby import EmbyProvider
from custom_components.crosswatch.providers.jellyfin import JellyfinProvider
from custom_components.crosswatch.providers.mediabrowser import (
    MediaBrowserAccount,
    MediaBrowserProvider,
)
from tests.simulators.mediabrowser import (
    Flavour,
    MediaBrowserQuirks,
    MediaBrowserState,
    User,
    mediabrowser_app,
)

from .conftest import Serve

DEVICE = DeviceInfo(device_id="cw-test-device", version="0.1.0")
WATCHED = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)
FLAVOURS = (Flavour.JELLYFIN, Flavour.EMBY)


@dataclass
class Library:
    """The ids of the standard catalogue on one simulator."""

    matrix: str
    heat: str
    inception: str
    dark: str
    dark_s1: tuple[str, str, str]


def seed(state: MediaBrowserState) -> Library:
    """Three films and a series of three episodes, with ProviderIds as the servers store them."""
    matrix = state.add_movie("The Matrix", 1999, Imdb="tt0133093", Tmdb="603")
    heat = state.add_movie("Heat", 1995, Imdb="tt0113277", Tmdb="949")
    inception = state.add_movie("Inception", 2010, Tmdb="27205", TmdbCollection="435")
    dark = state.add_series("Dark", 2017, Tvdb="334824", Imdb="tt5753856")
    episodes = tuple(state.add_episode(dark, 1, n, Tvdb=str(5000100 + n)) for n in (1, 2, 3))
    return Library(matrix, heat, inception, dark, episodes)  # type: ignore[arg-type]


@dataclass
class Rig:
    """A simulator, its app, the user and a provider logged in as that user."""

    state: MediaBrowserState
    app: web.Application
    base: str
    user: User
    client: MediaBrowserClient
    provider: MediaBrowserProvider
    library: Library

    def anonymous(self, session: aiohttp.ClientSession) -> MediaBrowserClient:
        """A client of the same flavour without a token (for logins)."""
        return MediaBrowserClient(
            session, self.client.flavour, self.base, device=DEVICE, retry=RetryPolicy(backoff=0)
        )


async def make_rig(
    serve: Serve,
    session: aiohttp.ClientSession,
    flavour: Flavour,
    *,
    quirks: MediaBrowserQuirks | None = None,
    page_size: int = 200,
    request_timeout: float = 30.0,
    attempts: int = 4,
    seeded: bool = True,
) -> Rig:
    """A seeded simulator on loopback and a provider for its user."""
    state = MediaBrowserState(flavour, quirks=quirks)
    library = seed(state) if seeded else Library("", "", "", "", ("", "", ""))
    user = state.add_user("alice", "correct horse")
    app = mediabrowser_app(state)
    base = await serve(app)
    client = MediaBrowserClient(
        session,
        JELLYFIN if flavour is Flavour.JELLYFIN else EMBY,
        base,
        device=DEVICE,
        token=state.issue_token(user),
        retry=RetryPolicy(attempts=attempts, backoff=0, timeout=request_timeout),
        page_size=page_size,
    )
    account = MediaBrowserAccount(state.server_id, state.server_name, user.id, user.name)
    provider: MediaBrowserProvider = (
        JellyfinProvider(client, account)
        if flavour is Flavour.JELLYFIN
        else EmbyProvider(client, account)
    )
    return Rig(state, app, base, user, client, provider, library)
