"""Trakt's paging as of 2026: at most 250 a page (clamped), 100 by default, ratings unpaged.

The simulator is checked over HTTP with no client of ours in between, then the client against
it (../shared/research/provider-facts-2026.md, Trakt; trakt/trakt-api#924, PR #925).
"""

import json
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import Response
from custom_components.crosswatch.engine.payloads import Feature
from tests.providers.conftest import Serve
from tests.providers.test_trakt_provider import at, make_rig
from tests.providers.test_trakt_simulator_quirks import Api
from tests.simulators.trakt import TraktSim, make_app, seed_catalogue

pytestmark = pytest.mark.usefixtures("socket_enabled")


def crowded(count: int) -> TraktSim:
    """An account whose watchlist, plays and ratings each hold `count` films."""
    sim = TraktSim(watchlist_limit=10_000)
    seed_catalogue(sim)
    for number in range(count):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_watchlist("movie", 5000 + number)
        sim.seed_play("movie", 5000 + number, at(number))
        sim.seed_rating("movie", 5000 + number, 1 + number % 10, at(number))
    return sim


@pytest.fixture
async def api(serve: Serve, session: aiohttp.ClientSession) -> Api:
    sim = crowded(600)
    return Api(sim, await serve(make_app(sim)), session, sim.issue_tokens()["access_token"])


@pytest.mark.parametrize(
    "path", ["/sync/watchlist/movies", "/sync/history/movies", "/sync/watched/movies"]
)
async def test_a_paged_list_serves_100_by_default_and_clamps_a_limit_above_250(
    api: Api, path: str
) -> None:
    status, headers, body = await api.call("GET", path)
    assert status == 200
    assert len(json.loads(body)) == 100
    assert (headers["X-Pagination-Limit"], headers["X-Pagination-Page-Count"]) == ("100", "6")

    _, headers, body = await api.call("GET", path, query={"page": "3", "limit": "1000"})
    assert len(json.loads(body)) == 100  # the last 100 of 600, at 250 a page
    assert headers["X-Pagination-Limit"] == "250"
    assert (headers["X-Pagination-Page"], headers["X-Pagination-Page-Count"]) == ("3", "3")
    assert headers["X-Pagination-Item-Count"] == "600"


async def test_ratings_are_unpaged_whatever_page_and_limit_say(api: Api) -> None:
    for query in ({}, {"page": "2", "limit": "10"}):
        _, headers, body = await api.call("GET", "/sync/ratings/movies", query=query)
        assert len(json.loads(body)) == 600
        assert not {name for name in headers if name.lower().startswith("x-pagination")}


async def test_the_client_never_asks_for_more_than_250_and_reads_every_page(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, crowded(600))
    asked: list[object] = []
    original = rig.client.request

    async def noting(method: str, path: str, **kwargs: Any) -> Response:
        asked.append((kwargs.get("params") or {}).get("limit"))
        return await original(method, path, **kwargs)

    rig.client.request = noting  # type: ignore[method-assign]
    for feature in Feature:
        snapshot = await rig.read(feature)
        assert snapshot.complete, feature
        assert snapshot.completeness.seen_total == 600

    assert {limit for limit in asked if limit is not None} == {250}
    assert rig.paths().count("GET /sync/watchlist/movies") == 3
    assert rig.paths().count("GET /sync/history/movies") == 3
    assert rig.paths().count("GET /sync/ratings/movies") == 1


async def test_pages_smaller_than_asked_are_followed_by_the_size_trakt_said_it_served(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = crowded(260)
    sim.max_limit = 100  # should Trakt lower its cap again, it says so in X-Pagination-Limit
    rig = await make_rig(serve, session, sim)

    snapshot = await rig.read(Feature.WATCHLIST)

    assert snapshot.complete
    assert len(snapshot) == 260
    assert rig.paths().count("GET /sync/watchlist/movies") == 3
