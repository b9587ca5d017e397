"""SIMKL replies off the happy path: odd bodies, odd rows, and writes for titles not yet cached."""

from datetime import UTC, datetime

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import AuthError, WriteOutcome, WriteRequest
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import find, has, make_rig
from tests.reads import read_whole
from tests.simulators.simkl import CLIENT_ID, TOKEN

# The simulators listen on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")

WHEN = datetime(2016, 2, 2, 12, 0, tzinfo=UTC)
INCEPTION = MediaItem.create(MediaType.MOVIE, title="Inception", ids={"imdb": "tt1375666"})
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", ids={"imdb": "tt0113277"})


def episode(tvdb: int, number: int) -> MediaItem:
    return MediaItem.create(
        MediaType.EPISODE, title="Show", show_ids={"tvdb": tvdb}, season=1, episode=number
    )


async def provider_on(
    serve: Serve, session: aiohttp.ClientSession, routes: dict[tuple[str, str], web.Response]
) -> SimklProvider:
    """A provider on an app that answers each (method, path) with a fixed response."""
    app = web.Application()
    for (method, path), response in routes.items():

        async def handler(request: web.Request, reply: web.Response = response) -> web.Response:
            return web.Response(
                body=reply.body, status=reply.status, content_type="application/json"
            )

        app.router.add_route(method, path, handler)
    api = SimklApi(
        session, CLIENT_ID, TOKEN, base_url=await serve(app), retry=RetryPolicy(attempts=1)
    )
    return SimklProvider(api, SimklAccount("1", "x"))


ACTIVITIES = ("GET", "/sync/activities")


async def test_watching_a_listed_movie_moves_it_from_the_watchlist_to_history(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    await rig.provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(INCEPTION, Watched.from_plays((WHEN,)))]
    )
    assert not has(
        (await read_whole(rig.provider, Feature.WATCHLIST, None)).snapshot,
        "movie",
        {"imdb": "tt1375666"},
    )
    history = (await read_whole(rig.provider, Feature.HISTORY, None)).snapshot
    assert find(history, "movie", {"imdb": "tt1375666"}).payload == Watched.from_plays((WHEN,))


async def test_episodes_of_a_new_show_are_sent_in_one_object_and_cached_under_the_show(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.add_title("shows", 202, "Show", 2020, episodes=3, tvdb="777")
    await read_whole(rig.provider, Feature.HISTORY, None)
    results = await rig.provider.write(
        Feature.HISTORY,
        Action.ADD,
        [
            WriteRequest(episode(777, 1), Watched.from_plays((WHEN,))),
            WriteRequest(episode(777, 2), Watched.from_state(1, None)),
        ],
    )
    assert [r.outcome for r in results] == [WriteOutcome.CONFIRMED] * 2
    assert set(rig.state.lists[202].episodes) == {(1, 1), (1, 2)}
    history = (await read_whole(rig.provider, Feature.HISTORY, None)).snapshot
    assert has(history, "episode", {"tvdb": "777"}, season=1, episode=1)
    assert has(history, "episode", {"tvdb": "777"}, season=1, episode=2)

    # Unmarking an episode of a show SIMKL does not list changes nothing in the cache.
    gone = await rig.provider.write(
        Feature.HISTORY, Action.REMOVE, [WriteRequest(episode(888, 1), None)]
    )
    assert gone[0].outcome is WriteOutcome.UNKNOWN
    removed = await rig.provider.write(
        Feature.RATINGS,
        Action.REMOVE,
        [WriteRequest(MediaItem.create(MediaType.MOVIE, title="x"), None)],
    )
    assert removed[0].reason == "no_usable_ids"
    watched = await rig.provider.write(
        Feature.HISTORY,
        Action.ADD,
        [WriteRequest(MediaItem.create(MediaType.MOVIE, title="x"), Watched.from_state(1, None))],
    )
    assert watched[0].reason == "no_usable_ids"


async def test_odd_rows_make_their_bucket_partial(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    stamps = {"movies": {"all": "2024-01-01T00:00:00Z"}}
    provider = await provider_on(
        serve,
        session,
        {
            ACTIVITIES: web.json_response(stamps),
            ("GET", "/sync/all-items/movies"): web.json_response({"movies": [1]}),
            ("POST", "/sync/ratings/movies"): web.json_response(
                {"movies": [{"user_rating": 11, "movie": {"title": "A", "ids": {"simkl": 1}}}]}
            ),
        },
    )
    watchlist = await read_whole(provider, Feature.WATCHLIST, None)
    assert "a SIMKL movies row is not an object" in (watchlist.snapshot.completeness.failure or "")
    # Buckets the activities do not mention and that were never read stay partial too.
    assert "shows: " in (watchlist.snapshot.completeness.failure or "")
    ratings = await read_whole(provider, Feature.RATINGS, None)
    assert "not 1-10" in (ratings.snapshot.completeness.failure or "")


async def test_rows_without_a_title_object_or_with_foreign_keys_are_handled(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    provider = await provider_on(
        serve,
        session,
        {
            ACTIVITIES: web.json_response({"movies": {}, "tv_shows": {}, "anime": {}}),
            ("GET", "/sync/all-items/movies"): web.json_response({"movies": [{"movie": "x"}]}),
            ("GET", "/sync/all-items/shows"): web.json_response({"anime": []}),
            ("GET", "/sync/all-items/anime"): web.json_response(
                {
                    "anime": [
                        {
                            "status": "plantowatch",
                            "added_to_watchlist_at": "yesterday",
                            "show": {"title": "B", "year": "2001", "ids": {"mal": "5"}},
                        }
                    ]
                }
            ),
        },
    )
    read = await read_whole(provider, Feature.WATCHLIST, None)
    failure = read.snapshot.completeness.failure or ""
    assert "movies: a SIMKL movies row has no title object" in failure
    assert "shows" not in failure  # a reply without the bucket's key lists nothing
    anime = find(read.snapshot, "anime", {"mal": "5"})
    assert anime.payload == Listed(None)  # an unreadable date is no date
    assert anime.item.year == 2001


async def test_a_reply_of_the_wrong_shape_is_a_partial_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    provider = await provider_on(serve, session, {ACTIVITIES: web.json_response([])})
    read = await read_whole(provider, Feature.HISTORY, None)
    assert "SIMKL sent list where the last activities was expected" in (
        read.snapshot.completeness.failure or ""
    )


async def test_an_auth_failure_during_a_bucket_pull_ends_the_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    provider = await provider_on(
        serve,
        session,
        {
            ACTIVITIES: web.json_response({"movies": {}}),
            ("GET", "/sync/all-items/movies"): web.json_response({}, status=401),
        },
    )
    with pytest.raises(AuthError):
        await read_whole(provider, Feature.WATCHLIST, None)


async def test_echoes_without_ids_confirm_nothing(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    provider = await provider_on(
        serve,
        session,
        {
            ("POST", "/sync/add-to-list"): web.json_response(
                {"added": {"movies": [{"title": "Heat"}]}, "not_found": {"movies": "none"}}
            ),
            ("POST", "/sync/ratings"): web.json_response(
                {"added": {"statuses": [{"request": {"ids": {"imdb": "tt0113277"}}}, "x"]}}
            ),
        },
    )
    listed = await provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(HEAT, Listed())])
    assert listed[0].outcome is WriteOutcome.UNKNOWN
    rated = await provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(HEAT, Rated(4.0))])
    assert rated[0].outcome is WriteOutcome.CONFIRMED
