"""The demo world's Plex and Trakt as engine providers, served on loopback (for tests)."""

import aiohttp

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import start_world
from tests.simulators import trakt as trakt_sim

from . import simulators as server
from .world import World


async def plex_and_trakt(
    serve: Serve, session: aiohttp.ClientSession, world: World
) -> tuple[PlexProvider, TraktProvider]:
    """Serve the world's Plex and Trakt; providers signed in to both (Plex scans every read)."""
    server.prepare(world)
    plex = (await start_world(serve, session, world.plex)).provider(library_ttl=0)
    await plex.health()

    async def keep(tokens: Tokens) -> None:
        del tokens

    client = TraktClient(
        session, TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
        Tokens.from_oauth_reply(world.trakt.issue_tokens()), keep,
        base_url=await serve(trakt_sim.make_app(world.trakt)), retry=RetryPolicy(backoff=0),
    )  # fmt: skip
    return plex, TraktProvider(client, slug=world.trakt.slug)
