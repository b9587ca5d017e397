"""The clients' title searches: what each service's search reply becomes, faults included."""

from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.anilist.client import AniListClient, tokens_from_pin
from custom_components.crosswatch.clients.anilist.models import FoundMedia, parse_found_media
from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.simkl.models import Media, SearchResult, parse_search
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.clients.trakt.models import RecordType, search_hit
from custom_components.crosswatch.engine.items import MediaType
from custom_components.crosswatch.engine.provider import ProviderError, TitleSearch
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.simulators import trakt as trakt_sim

from .test_trakt_provider import NOW, make_rig

pytestmark = pytest.mark.usefixtures("socket_enabled")


def test_a_trakt_hit_is_a_movie_or_show_with_its_score() -> None:
    hit = search_hit(
        {
            "type": "movie",
            "score": 26.5,
            "movie": {"title": "Tron", "year": 1982, "ids": {"trakt": 1}},
        }
    )
    assert hit is not None
    assert (hit.media.type, hit.media.title, hit.score) == (RecordType.MOVIE, "Tron", 26.5)


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "person", "score": 1, "person": {"name": "Jeff Bridges", "ids": {"trakt": 1}}},
        {
            "type": "episode",
            "episode": {"season": 1, "number": 1, "ids": {"trakt": 7}},
            "show": {"title": "Tron: Uprising", "year": 2012, "ids": {"trakt": 3}},
        },
        {"type": "movie", "movie": {"title": "Tron"}},  # no ids
        "not an object",
    ],
)
def test_what_trakt_finds_besides_movies_and_shows_is_left_out(raw: object) -> None:
    assert search_hit(raw) is None


def test_a_trakt_hit_without_a_score_ranks_last() -> None:
    hit = search_hit({"type": "show", "show": {"title": "Dark", "ids": {"trakt": 10}}})
    assert hit is not None
    assert hit.score == 0.0


async def test_trakt_searches_literal_text_and_ranks_movies_and_shows_by_score(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = trakt_sim.TraktSim()
    trakt_sim.seed_catalogue(sim)
    sim.add_movie(5, "Dark: Part Two", 2020, tmdb=5)
    rig = await make_rig(serve, session, sim)

    assert isinstance(rig.provider, TitleSearch)
    assert rig.provider.search_name == "Trakt"
    found = await rig.provider.search_titles("dark")
    assert [(i.type, i.title) for i in found] == [
        (MediaType.SHOW, "Dark"),  # the whole title scores first
        (MediaType.MOVIE, "Dark: Part Two"),
    ]
    # Unescaped, the colon would name a field and Trakt would find nothing.
    assert [i.title for i in await rig.provider.search_titles("Dark: Part Two")] == [
        "Dark: Part Two"
    ]
    with pytest.raises(ValueError, match="not episode"):
        await rig.client.search(RecordType.EPISODE, "dark")


async def test_a_trakt_search_reply_that_is_not_a_list_fails_the_search(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def maintenance(request: web.Request) -> web.Response:
        return web.json_response({"error": "maintenance"})

    app = web.Application()
    app.router.add_get("/search/{type}", maintenance)
    client = TraktClient(
        session,
        TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
        Tokens("token", "refresh", expires_at=NOW + 30 * 86400),
        _ignore_saved,
        base_url=await serve(app),
        now=lambda: NOW,
    )

    with pytest.raises(ProviderError, match="not a list"):
        await TraktProvider(client).search_titles("dune")


async def _ignore_saved(tokens: Tokens) -> None:
    del tokens


def test_simkl_search_results_file_each_title_where_the_lists_would() -> None:
    body: Any = [
        {"title": "John Wick", "year": 2014, "endpoint_type": "movies", "ids": {"simkl_id": 1}},
        {"title": "Dark", "year": 2017, "endpoint_type": "tv", "ids": {"simkl_id": 2, "tmdb": "7"}},
        {
            "title": "Akira",
            "year": 1988,
            "endpoint_type": "anime",
            "anime_type": "movie",
            "ids": {"simkl_id": 3},
        },
        {"title": "Bebop", "year": "1998", "endpoint_type": "anime", "ids": {"simkl_id": 4}},
        {"title": None, "endpoint_type": "movies", "ids": {"simkl_id": 5}},
        {"title": "Odd", "endpoint_type": "music", "ids": {"simkl_id": 6}},
        "not an object",
    ]

    assert parse_search(body, "movie") == (
        SearchResult(Media("John Wick", 2014, {"simkl": "1"}, movie=True), "movies"),
        SearchResult(Media("Dark", 2017, {"simkl": "2", "tmdb": "7"}, movie=False), "shows"),
        SearchResult(Media("Akira", 1988, {"simkl": "3"}, movie=True), "anime"),
        SearchResult(Media("Bebop", None, {"simkl": "4"}, movie=False), "anime"),
    )


def test_a_simkl_search_without_results_is_none_and_a_bad_one_fails() -> None:
    assert parse_search(None, "tv") == ()
    with pytest.raises(CrossWatchInvalidResponseError):
        parse_search({"error": "x"}, "tv")


def test_an_anilist_search_media_needs_its_id() -> None:
    assert parse_found_media({"idMal": 1}) is None
    assert parse_found_media(
        {"id": 1, "title": {"romaji": " ", "english": "Cowboy Bebop"}, "format": 5}
    ) == FoundMedia(1, None, "Cowboy Bebop", None, None)


async def test_an_anilist_search_without_its_media_fails(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"data": {"Page": {"media": None}}})

    app = web.Application()
    app.router.add_post("/", answer)
    client = AniListClient(session, tokens_from_pin("token"), base_url=await serve(app))

    with pytest.raises(CrossWatchInvalidResponseError, match="without its media"):
        await client.search("bebop")
