"""The simulator and the client speak SIMKL's published API.

Paths, methods and query parameter names are looked up in the OpenAPI document derived from the
official blueprint. Where the derived document is wrong against the blueprint, the blueprint's
truth is listed below with the reason.
"""

from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.crosswatch.clients.simkl.auth import SimklOAuth
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteRequest
from custom_components.crosswatch.engine.scrobble import ScrobbleAction
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import make_rig
from tests.simulators.openapi import RECORDED, OpenApiDescription, app_routes, specs_dir
from tests.simulators.simkl import APP_PARAMS, CLIENT_ID, TOKEN, V2_CLIENT_ID

# The simulator listens on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")

# Routes the blueprint documents that the derived document lacks.
BLUEPRINT_ONLY_ROUTES = {
    # "Last Activities" is declared [GET], but the blueprint's own how-to and examples call it
    # with POST ("POST https://api.simkl.com/sync/activities"); the live service takes both.
    ("POST", "/sync/activities"),
}
# AUTH V2 came after the blueprint: its routes follow `shared/specs/simkl/auth-v2.md` instead.
AUTH_V2_ROUTES = {
    ("GET", "/oauth2/authorize"),
    ("POST", "/oauth2/device"),
    ("POST", "/oauth2/token"),
    ("POST", "/oauth2/revoke"),
}

# The derived schemas were inferred from examples and so require every field an example had.
# The blueprint's standard media objects say otherwise: "Example when only id is known:
# {"ids": {"simkl": 53536}}", so title and year are optional.
INFERRED_REQUIRED = ("'title' is a required property", "'year' is a required property")

# The blueprint predates SIMKL's current docs, which ask every request for `app-name` and
# `app-version` in the URL and accept `client_id` there (research/provider-facts-2026.md):
# parameters of every endpoint, so no endpoint of the blueprint declares them.
# Nor does it know `include_all_episodes`, without which the rows of shows marked completed
# come without their episodes (the same facts page).
NEWER_QUERY = {("/sync/all-items/", "include_all_episodes")}


def description() -> OpenApiDescription:
    # The converter did not mark SIMKL's optional trailing path parameters
    # (/sync/all-items/{type}/{status}, /sync/ratings/{type}/{rating}) as optional.
    return OpenApiDescription.load(
        specs_dir() / "simkl" / "openapi.derived-from-apib.json", optional_trailing_params=True
    )


async def test_every_simulator_route_is_in_the_description(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    routes = [r for r in app_routes(rig.app) if r not in BLUEPRINT_ONLY_ROUTES | AUTH_V2_ROUTES]
    assert description().route_problems(routes) == []
    # The allow-lists stay honest: each entry is served and really missing from the document.
    for method, path in BLUEPRINT_ONLY_ROUTES | AUTH_V2_ROUTES:
        assert (method, path) in app_routes(rig.app)
        assert description().find(method, path) is None


async def test_every_request_the_client_sends_is_in_the_description(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    when = datetime(2015, 6, 1, tzinfo=UTC)
    movie = MediaItem.create(MediaType.MOVIE, title="Heat", ids={"imdb": "tt0113277"})
    episode = MediaItem.create(MediaType.EPISODE, show_ids={"tvdb": 334824}, season=1, episode=3)
    provider = rig.provider
    await provider.health()
    for feature in Feature:
        first = await provider.read(feature, None)
        rig.state.user_lists(102, "plantowatch")
        await provider.read(feature, first.checkpoint)
    await provider.write(Feature.WATCHLIST, Action.REMOVE, [WriteRequest(movie, None)])
    await provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(movie, Listed(when))])
    await provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(episode, Watched.from_plays((when,)))]
    )
    await provider.write(Feature.HISTORY, Action.REMOVE, [WriteRequest(episode, None)])
    await provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(movie, Rated(8.0, when))])
    await provider.write(Feature.RATINGS, Action.REMOVE, [WriteRequest(movie, None)])
    await provider.search_titles("heat")  # the watchlist to-do list's search
    await provider.scrobble(ScrobbleAction.START, episode, 0.0)  # live scrobbles
    await provider.scrobble(ScrobbleAction.PAUSE, episode, 40.0)
    await provider.scrobble(ScrobbleAction.STOP, episode, 95.0)

    recorded = [
        replace(
            r,
            query=tuple(
                q
                for q in r.query
                if q not in APP_PARAMS
                and not any(r.path.startswith(path) and q == name for path, name in NEWER_QUERY)
            ),
        )
        for r in rig.app[RECORDED]
    ]
    sent = {(r.method, r.path) for r in recorded}
    assert {
        ("GET", "/sync/activities"),
        ("GET", "/sync/all-items/movies"),
        ("POST", "/sync/ratings/shows"),
        ("POST", "/sync/add-to-list"),
        ("POST", "/sync/history"),
        ("POST", "/sync/history/remove"),
        ("POST", "/sync/ratings"),
        ("POST", "/sync/ratings/remove"),
        ("POST", "/users/settings"),
        ("GET", "/search/movie"),
        ("GET", "/search/tv"),
        ("GET", "/search/anime"),
        ("POST", "/scrobble/start"),
        ("POST", "/scrobble/pause"),
        ("POST", "/scrobble/stop"),
    } <= sent
    problems = [
        p for p in description().request_problems(recorded) if not p.endswith(INFERRED_REQUIRED)
    ]
    assert problems == []


def test_the_description_knows_the_endpoints_the_client_relies_on() -> None:
    spec = description()
    for method, path, query in [
        ("GET", "/sync/all-items/shows", {"date_from", "extended", "episode_watched_at"}),
        ("POST", "/sync/ratings/movies", {"date_from"}),
        ("POST", "/users/settings", set()),
    ]:
        operation = spec.find(method, path)
        assert operation is not None, (method, path)
        assert query <= operation.query


async def test_every_request_names_the_app_and_its_key_in_the_url(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    movie = MediaItem.create(MediaType.MOVIE, title="Heat", ids={"imdb": "tt0113277"})
    await rig.provider.health()
    await rig.provider.read(Feature.WATCHLIST, None)
    await rig.provider.write(Feature.WATCHLIST, Action.REMOVE, [WriteRequest(movie, None)])
    auth = SimklOAuth(session, V2_CLIENT_ID, base_url=rig.base)
    await auth.poll(await auth.request_device_code())

    recorded = rig.app[RECORDED]
    assert {r.method for r in recorded} == {"GET", "POST"}
    for request in recorded:
        # The /oauth2 calls carry the client id in their form (auth-v2.md), not the URL.
        named = {"app-name", "app-version"} if request.path.startswith("/oauth2/") else APP_PARAMS
        assert set(named) <= set(request.query), request


async def test_simkl_answers_412_to_a_request_that_does_not_name_the_app_in_its_url(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    headers = {
        "simkl-api-key": CLIENT_ID,
        "Authorization": f"Bearer {TOKEN}",
        # In the headers, as older docs asked: not where SIMKL looks now.
        "app-name": "crosswatch",
        "app-version": "1.0",
    }
    url = f"{rig.base}/sync/activities"

    for params in ({}, {"app-name": "crosswatch"}, {"app-version": "1.0"}):
        async with session.get(url, params=params, headers=headers) as reply:
            assert reply.status == 412, params
    # The key may come in the URL as well.
    named = {"app-name": "crosswatch", "app-version": "1.0", "client_id": CLIENT_ID}
    async with session.get(
        url, params=named, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as reply:
        assert reply.status == 200
