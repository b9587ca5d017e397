"""The demo world's services as engine providers, served on loopback (for tests)."""

import asyncio

import aiohttp

from custom_components.crosswatch.clients.anilist.client import AniListClient, tokens_from_pin
from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.providers.anilist_provider import AniListProvider
from custom_components.crosswatch.providers.anime_lists import AnimeListLoader
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import start_world
from tests.simulators import anilist as anilist_sim, anime_lists, trakt as trakt_sim

from . import simulators as server
from .world import ANILIST_SCORE_FORMAT, ANILIST_TOKEN, ANILIST_USER_ID, USER, World


async def plex_and_trakt(
    serve: Serve, session: aiohttp.ClientSession, world: World
) -> tuple[PlexProvider, TraktProvider]:
    """Serve the world's Plex and Trakt; providers signed in to both (Plex scans every read)."""
    server.prepare(world)
    plex = (await start_world(serve, session, world.plex)).provider(library_ttl=0)
    await plex.health()
    return plex, await trakt_provider(serve, session, world)


async def trakt_provider(
    serve: Serve, session: aiohttp.ClientSession, world: World
) -> TraktProvider:
    """Serve the world's Trakt; a provider signed in to it."""

    async def keep(tokens: Tokens) -> None:
        del tokens

    client = TraktClient(
        session, TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
        Tokens.from_oauth_reply(world.trakt.issue_tokens()), keep,
        base_url=await serve(trakt_sim.make_app(world.trakt)), retry=RetryPolicy(backoff=0),
    )  # fmt: skip
    return TraktProvider(client, slug=world.trakt.slug)


async def anilist_and_trakt(
    serve: Serve, session: aiohttp.ClientSession, world: World
) -> tuple[AniListProvider, TraktProvider, AnimeListLoader]:
    """Serve the world's AniList, Trakt and anime id mapping list; providers and the list's loader."""
    server.prepare(world)
    client = AniListClient(
        session, tokens_from_pin(ANILIST_TOKEN),
        base_url=await serve(anilist_sim.build_app(world.anilist)), retry=RetryPolicy(backoff=0),
    )  # fmt: skip
    anilist = AniListProvider(
        client, user_id=ANILIST_USER_ID, user_name=USER, score_format=ANILIST_SCORE_FORMAT
    )
    loader = AnimeListLoader(
        session,
        run_blocking=asyncio.to_thread,
        url=anime_lists.url(await serve(anime_lists.make_app(world.anime_lists))),
        retry=RetryPolicy(backoff=0),
    )
    return anilist, await trakt_provider(serve, session, world), loader
