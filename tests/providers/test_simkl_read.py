"""Reading SIMKL: activities first, deltas only for buckets that moved, a cache that survives faults."""

from datetime import UTC, datetime, timedelta
import json

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.provider import AuthError, RateLimitError
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import (
    DARK_E1,
    HXH_E1,
    WATCHED_MATRIX,
    find,
    has,
    make_rig,
)
from tests.reads import read_whole
from tests.simulators.simkl import CLIENT_ID, TOKEN, Call

MATRIX = {"imdb": "tt0133093"}
INCEPTION = {"imdb": "tt1375666"}
DARK = {"tvdb": "334824"}

# The simulator listens on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_a_cold_start_pulls_each_bucket_once_in_full_with_episode_dates(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    read = await read_whole(rig.provider, Feature.WATCHLIST, None)

    assert rig.state.activity_calls == 1
    assert [(c.type, c.status) for c in rig.state.all_items_calls()] == [
        ("movies", None), ("shows", None), ("anime", None),
    ]  # fmt: skip
    for call in rig.state.all_items_calls():
        assert call.query == {
            "extended": "full",
            "episode_watched_at": "yes",
            "include_all_episodes": "yes",
        }
    assert read.snapshot.complete
    assert [e.item.title for e in read.snapshot.entries.values()] == ["Inception"]
    assert isinstance(find(read.snapshot, "movie", INCEPTION).payload, Listed)
    assert read.checkpoint is not None
    assert read.checkpoint.provider == "simkl:51"
    assert read.checkpoint.etag is None
    assert json.loads(read.checkpoint.watermark or "")["movies"]["plantowatch"]


async def test_a_read_with_no_activity_makes_one_activities_call_and_no_all_items_call(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    before = len(rig.state.calls)

    again = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    history = await read_whole(rig.provider, Feature.HISTORY, None)

    assert rig.state.activity_calls == 3
    assert len(rig.state.calls) == before  # no blind polling, not even for another feature
    assert again.snapshot.complete
    assert set(again.snapshot.entries) == set(first.snapshot.entries)
    assert len(history.snapshot) > 0


async def test_history_has_dated_episode_plays_dated_movies_and_undated_states(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    snapshot = (await read_whole(rig.provider, Feature.HISTORY, None)).snapshot

    assert find(snapshot, "movie", MATRIX).payload == Watched.from_plays((WATCHED_MATRIX,))
    assert find(snapshot, "episode", DARK, season=1, episode=1).payload == Watched.from_plays(
        (DARK_E1,)
    )
    assert has(snapshot, "episode", DARK, season=1, episode=2)
    assert not has(snapshot, "episode", DARK, season=1, episode=3)
    # A watched episode SIMKL gives no date for is a watched state without a date.
    undated = find(snapshot, "episode", {"mal": "11061"}, season=1, episode=2)
    assert undated.payload == Watched.from_state(1, None)
    assert find(snapshot, "episode", {"mal": "11061"}, season=1, episode=1).payload == (
        Watched.from_plays((HXH_E1,))
    )
    # An anime film is a movie, with every id; a completed film has no date here.
    film = find(snapshot, "movie", {"imdb": "tt8652818"})
    assert film.payload == Watched.from_state(1, None)
    # Listed-only and unwatched titles are not history.
    assert not has(snapshot, "movie", INCEPTION)


async def test_anime_series_keep_only_anime_native_ids(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    snapshot = (await read_whole(rig.provider, Feature.HISTORY, None)).snapshot
    episode = find(snapshot, "episode", {"mal": "11061"}, season=1, episode=1).item
    # SIMKL's tvdb/imdb of an anime season name the whole show; they would match the wrong
    # episode elsewhere.
    assert not any(t.startswith(("tvdb:", "imdb:", "slug:")) for t in episode.tokens)
    assert any(t.startswith("anidb:8550#") for t in episode.tokens)
    movie = find(snapshot, "movie", MATRIX).item
    assert not any(t.startswith("slug:") for t in movie.tokens)


async def test_a_moved_bucket_is_pulled_as_a_delta_from_the_previous_watermark(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    previous_all = json.loads(first.checkpoint.watermark or "")["movies"]["all"]  # type: ignore[union-attr]
    rig.state.user_lists(102, "plantowatch")
    before = len(rig.state.calls)

    read = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)

    assert rig.state.calls[before:] == [
        Call(
            "all-items", "movies", None,
            {
                "extended": "full",
                "episode_watched_at": "yes",
                "include_all_episodes": "yes",
                "date_from": previous_all,
            },
        )
    ]  # fmt: skip
    assert read.snapshot.complete
    assert has(read.snapshot, "movie", {"imdb": "tt0113277"})
    assert has(read.snapshot, "movie", INCEPTION)


async def test_a_status_change_moves_the_title_out_of_the_watchlist(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.user_lists(101, "completed", watched_at=datetime(2024, 1, 1, 5, tzinfo=UTC))

    watchlist = (await read_whole(rig.provider, Feature.WATCHLIST, None)).snapshot
    history = (await read_whole(rig.provider, Feature.HISTORY, None)).snapshot

    assert not has(watchlist, "movie", INCEPTION)
    assert has(history, "movie", INCEPTION)


async def test_a_removal_signal_re_pulls_only_that_bucket_in_full(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.user_removes(101)
    before = len(rig.state.calls)

    read = await read_whole(rig.provider, Feature.WATCHLIST, None)

    new_calls = rig.state.calls[before:]
    assert [(c.type, c.query.get("date_from")) for c in new_calls] == [("movies", None)]
    assert read.snapshot.complete
    assert len(read.snapshot) == 0


async def test_ratings_come_from_the_ratings_endpoint_and_follow_rated_at(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.RATINGS, None)

    assert [(c.endpoint, c.type, c.query) for c in rig.state.calls] == [
        ("ratings", "movies", {}), ("ratings", "shows", {}), ("ratings", "anime", {}),
    ]  # fmt: skip
    matrix = find(first.snapshot, "movie", MATRIX).payload
    assert isinstance(matrix, Rated)
    assert matrix.value == 9.0
    assert matrix.rated_at is not None
    # Dark was rated one simulated second after The Matrix.
    assert find(first.snapshot, "show", DARK).payload == Rated(
        8.0, matrix.rated_at + timedelta(seconds=1)
    )
    assert len(first.snapshot) == 2

    rig.state.user_rates(100, None)
    rig.state.user_rates(200, 10)
    before = len(rig.state.calls)
    again = await read_whole(rig.provider, Feature.RATINGS, first.checkpoint)

    # No anime is rated: that bucket's empty cold pull is confirmed by a second full pull.
    assert [(c.type, "date_from" in c.query) for c in rig.state.calls[before:]] == [
        ("movies", True), ("shows", True), ("anime", False),
    ]  # fmt: skip
    assert not has(again.snapshot, "movie", MATRIX)
    assert find(again.snapshot, "show", DARK).payload.value == 10.0  # type: ignore[union-attr]


async def test_a_server_error_mid_read_gives_a_partial_snapshot_and_keeps_the_cache(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.user_lists(102, "plantowatch")
    rig.state.quirks.server_errors = 4  # every retry of the delta fails

    failed = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)

    assert not failed.snapshot.complete
    assert "movies" in (failed.snapshot.completeness.failure or "")
    assert failed.checkpoint is first.checkpoint  # the stored checkpoint is not advanced
    assert has(failed.snapshot, "movie", INCEPTION)  # what is known is still there

    recovered = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    assert recovered.snapshot.complete
    assert has(recovered.snapshot, "movie", {"imdb": "tt0113277"})


async def test_a_truncated_body_is_a_partial_read_not_an_empty_one(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.quirks.truncated_bodies = 1

    read = await read_whole(rig.provider, Feature.WATCHLIST, None)

    assert not read.snapshot.complete
    assert "not JSON" in (read.snapshot.completeness.failure or "")
    assert read.checkpoint is None
    again = await read_whole(rig.provider, Feature.WATCHLIST, None)
    assert again.snapshot.complete
    assert has(again.snapshot, "movie", INCEPTION)


async def test_an_activities_failure_gives_a_partial_snapshot_from_the_cache(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.activity_errors = 4

    read = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)

    assert not read.snapshot.complete
    assert "activities" in (read.snapshot.completeness.failure or "")
    assert has(read.snapshot, "movie", INCEPTION)
    assert read.checkpoint is first.checkpoint


async def test_an_empty_200_on_a_full_pull_is_returned_honestly_for_the_drop_guard(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    stored = await read_whole(rig.provider, Feature.WATCHLIST, None)
    # A restart loses the cache; SIMKL then answers the full pull with an empty 200.
    fresh = SimklProvider(rig.api, SimklAccount("51", "Andrew Masyk"))
    rig.state.quirks.empty_bodies = 3

    read = await read_whole(fresh, Feature.WATCHLIST, stored.checkpoint)

    assert read.snapshot.complete
    assert len(read.snapshot) == 0


async def test_a_malformed_row_or_activities_make_the_read_partial(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    from aiohttp import web  # noqa: PLC0415

    async def activities(request: web.Request) -> web.Response:
        return web.json_response({"movies": "yesterday"})

    async def rows(request: web.Request) -> web.Response:
        bad = {
            "movies": [{"movie": {"ids": {}}}],
            "shows": [
                {
                    "show": {"title": "X", "ids": {"simkl": 1}},
                    "seasons": [{"number": 1, "episodes": [{}]}],
                }
            ],
            "anime": {"not": "a list"},
        }
        return web.json_response({request.match_info["type"]: bad[request.match_info["type"]]})

    app = web.Application()
    app.router.add_get("/sync/activities", activities)
    app.router.add_get("/sync/all-items/{type}", rows)
    base = await serve(app)
    api = SimklApi(session, CLIENT_ID, TOKEN, base_url=base, retry=RetryPolicy(backoff=0))
    provider = SimklProvider(api, SimklAccount("1", "x"))

    read = await read_whole(provider, Feature.WATCHLIST, None)
    assert "activities for movies are not an object" in (read.snapshot.completeness.failure or "")

    async def good_activities(request: web.Request) -> web.Response:
        return web.json_response({"movies": {}, "tv_shows": {}, "anime": {}})

    app2 = web.Application()
    app2.router.add_get("/sync/activities", good_activities)
    app2.router.add_get("/sync/all-items/{type}", rows)
    api2 = SimklApi(
        session, CLIENT_ID, TOKEN, base_url=await serve(app2), retry=RetryPolicy(backoff=0)
    )
    failure = (
        await read_whole(SimklProvider(api2, SimklAccount("1", "x")), Feature.HISTORY, None)
    ).snapshot.completeness.failure or ""
    assert "movies: a SIMKL movies row names no title" in failure
    assert "shows: a SIMKL shows episode has no number" in failure
    assert "anime: SIMKL's anime list is not a list" in failure


async def test_a_revoked_token_raises_auth_error_instead_of_a_partial_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.token_revoked = True

    with pytest.raises(AuthError):
        await read_whole(rig.provider, Feature.WATCHLIST, None)
    with pytest.raises(AuthError):
        await rig.provider.health()


async def test_a_short_429_storm_is_waited_out_and_a_long_one_raises(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.quirks.rate_limit_storm = 2
    rig.state.quirks.retry_after = "3"

    read = await read_whole(rig.provider, Feature.WATCHLIST, None)

    assert read.snapshot.complete
    assert 3.0 in rig.time.slept  # Retry-After was honoured through the throttle

    rig.state.quirks.rate_limit_storm = 1
    rig.state.quirks.retry_after = "600"
    with pytest.raises(RateLimitError) as caught:
        await read_whole(rig.provider, Feature.WATCHLIST, None)
    assert caught.value.retry_after == 600.0


async def test_frozen_activities_mean_no_pulls_even_when_the_account_changed(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.quirks.frozen_activities = True
    rig.state.user_lists(102, "plantowatch")
    before = len(rig.state.calls)

    read = await read_whole(rig.provider, Feature.WATCHLIST, None)

    # Without activity evidence we never poll: the change waits until activities move.
    assert len(rig.state.calls) == before
    assert not has(read.snapshot, "movie", {"imdb": "tt0113277"})


async def test_busting_everything_pulls_in_full_what_frozen_activities_hide(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    for _ in range(2):  # twice: no anime is rated, and an empty full pull is kept once confirmed
        await read_whole(rig.provider, Feature.RATINGS, None)
    rig.state.quirks.frozen_activities = True
    rig.state.user_lists(102, "plantowatch")

    rig.provider.forget_reads(Feature.WATCHLIST)  # unchecked reuse only: there is none
    still_hidden = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.provider.forget_reads(Feature.WATCHLIST, validated=True)
    before = len(rig.state.calls)
    busted = await read_whole(rig.provider, Feature.WATCHLIST, None)
    ratings_pulls = len(rig.state.calls)
    await read_whole(rig.provider, Feature.RATINGS, None)

    assert not has(still_hidden.snapshot, "movie", {"imdb": "tt0113277"})
    assert has(busted.snapshot, "movie", {"imdb": "tt0113277"})
    assert busted.snapshot.complete
    assert len(rig.state.calls) > before  # the lists were pulled ...
    assert len(rig.state.calls) == ratings_pulls  # ... the ratings' cache was left alone


async def test_reads_are_paced_within_ten_gets_a_second(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    for _ in range(6):
        await read_whole(rig.provider, Feature.WATCHLIST, None)
    # 9 GETs so far (6 activities + 3 cold pulls) fit in one second; the 11th waits.
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    assert rig.time.slept
    assert rig.provider.requests_made == 11


async def test_a_bucket_of_70000_listed_anime_is_read_whole_past_the_shared_32_mb_cap(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    # SIMKL sends a bucket in one body, about 480 bytes a listed title at extended=full.
    def row(n: int) -> dict[str, object]:
        return {
            "added_to_watchlist_at": "2026-12-07T05:07:17Z", "last_watched_at": None,
            "user_rated_at": None, "user_rating": None, "status": "plantowatch",
            "last_watched": None, "next_to_watch": None, "watched_episodes_count": 0,
            "total_episodes_count": 12, "not_aired_episodes_count": 0, "anime_type": "tv",
            "show": {"title": f"Bench Anime {n}", "poster": "00/000000", "year": 1950,
                     "runtime": 45, "ids": {"simkl": 3_000_000 + n, "slug": f"bench-anime-{n}",
                                            "anilist": str(100_000 + n), "mal": str(200_000 + n)}},
        }  # fmt: skip

    body = json.dumps({"anime": [row(n) for n in range(70_000)]}).encode()
    assert len(body) > 32 * 1024 * 1024

    async def all_items(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/sync/all-items/anime", all_items)
    api = SimklApi(session, CLIENT_ID, TOKEN, base_url=await serve(app))

    rows = await api.all_items("anime", None)

    assert len(rows) == 70_000
