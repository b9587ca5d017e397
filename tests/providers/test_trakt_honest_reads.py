"""What a Trakt read may claim, and on what evidence.

Caches never hide a change, completeness is proven category by category, and a reply that is not
what it should be is a failure of the read, never an empty list.
"""

from dataclasses import replace
from datetime import timedelta
import json
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchServerError
from custom_components.crosswatch.clients.http import Response
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteRequest
from custom_components.crosswatch.providers.client_errors import ServerFaultError
from tests.providers.conftest import Serve
from tests.providers.test_trakt_provider import HEAT, MATRIX, Rig, at, episode, make_rig
from tests.reads import read_whole
from tests.simulators.trakt import TraktSim, seed_catalogue

pytestmark = pytest.mark.usefixtures("socket_enabled")

W, H, R = Feature.WATCHLIST, Feature.HISTORY, Feature.RATINGS
ACTIVITIES = "/sync/last_activities"


def conditional_requests(rig: Rig, start: int) -> list[str]:
    """The If-None-Match values sent since request `start`."""
    return [h["If-None-Match"] for h in rig.sim.headers_seen[start:] if "If-None-Match" in h]


def many_movies(count: int, *, watchlist: bool = False, plays: bool = False) -> TraktSim:
    sim = TraktSim(watchlist_limit=10_000)
    seed_catalogue(sim)
    for number in range(count):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        if watchlist:
            sim.seed_watchlist("movie", 5000 + number)
        if plays:
            sim.seed_play("movie", 5000 + number, at(number))
    return sim


def film(number: int) -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, title=f"Film {number}", ids={"tmdb": 90000 + number})


def without_headers(reply: Response, *names: str) -> Response:
    lowered = {name.lower() for name in names}
    return replace(
        reply, headers={k: v for k, v in reply.headers.items() if k.lower() not in lowered}
    )


# -- 1. caches that never hide a change ----------------------------------------------------------


async def test_a_title_added_while_the_etag_is_stale_shows_on_the_next_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(W)
    rig.sim.quirks.stale_etag = True  # any If-None-Match gets a 304, changed or not
    rig.sim.seed_watchlist("movie", 2)  # Heat, listed on the website: its activity moves
    start = len(rig.sim.headers_seen)

    snapshot = await rig.read(W)

    assert snapshot.find(HEAT) is not None
    assert snapshot.find(MATRIX) is not None
    assert snapshot.complete
    assert conditional_requests(rig, start) == []  # a moved category is read afresh


async def test_a_category_past_its_age_is_read_afresh_whatever_a_stale_etag_says(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, max_cache_age=timedelta(hours=1))
    rig.sim.quirks.frozen_activities = True
    await rig.read(W)
    rig.sim.seed_watchlist("movie", 2)  # activities do not move
    rig.sim.quirks.stale_etag = True
    rig.wall[0] += 3601
    start = len(rig.sim.headers_seen)

    snapshot = await rig.read(W)

    assert snapshot.find(HEAT) is not None
    assert conditional_requests(rig, start) == []


async def test_our_write_that_shows_late_is_never_hidden_behind_a_304(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, settle_reads=3)
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(W)
    rig.sim.quirks.frozen_activities = True
    rig.sim.quirks.visible_after_reads = 1  # the first read after the write shows the old list
    rig.sim.quirks.stale_etag_after_write = True
    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])

    lagging = await rig.read(W)
    settled = [await rig.read(W) for _ in range(4)]

    assert lagging.find(HEAT) is None
    assert all(snapshot.find(HEAT) is not None for snapshot in settled)


async def test_our_write_that_shows_later_than_the_settle_reads_still_shows(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, settle_reads=3)
    await rig.read(R)
    rig.sim.quirks.visible_after_reads = 5  # Trakt's ratings lag five reads behind the write
    await rig.provider.write(R, Action.ADD, [WriteRequest(HEAT, Rated(8.0))])

    reads = [await rig.read(R) for _ in range(7)]

    assert [snapshot.find(HEAT) is not None for snapshot in reads] == [False] * 5 + [True] * 2


async def test_a_change_on_trakt_that_its_lists_show_late_still_shows(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(W)
    # The user lists Heat on the website; activities move at once, the list shows it 3 reads on.
    rig.sim.quirks.visible_after_reads = 3
    rig.sim._before_write("watchlist")
    rig.sim.seed_watchlist("movie", 2)

    reads = [await rig.read(W) for _ in range(5)]

    assert [snapshot.find(HEAT) is not None for snapshot in reads] == [False] * 3 + [True] * 2


async def test_a_stamp_that_moved_over_an_unchanged_body_is_trusted_once_it_settled(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, settle_reads=2, settle_time=timedelta(hours=1))
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(W)
    rig.sim._moved("movies", "watchlisted_at")  # e.g. listed and unlisted again
    movies = "GET /sync/watchlist/movies"

    def read_movies() -> int:
        return rig.paths(start).count(movies)

    start = len(rig.app_requests)
    await rig.read(W)
    await rig.read(W)
    rig.wall[0] += 3600
    await rig.read(W)  # two reads and an hour since it moved: the body is what it is
    settled = read_movies()
    await rig.read(W)

    assert settled == 3
    assert read_movies() == 3  # from the cache again


async def test_a_watchlist_write_rereads_only_the_categories_it_touched(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    rig.sim.seed_watchlist("show", 10)
    await rig.read(W)
    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    start = len(rig.app_requests)

    snapshot = await rig.read(W)

    assert rig.paths(start) == [f"GET {ACTIVITIES}", "GET /sync/watchlist/movies"]
    assert {snapshot.find(HEAT) is not None, snapshot.find(MATRIX) is not None} == {True}


async def test_an_episode_play_rereads_its_history_and_the_watchlist_it_clears_only(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    rig.sim.seed_play("movie", 1, at(0))
    await rig.read(W)
    await rig.read(H)
    await rig.provider.write(
        H, Action.ADD, [WriteRequest(episode(1, 1), Watched.from_plays([at(5)]))]
    )
    start = len(rig.app_requests)

    history = await rig.read(H)
    read_history = rig.paths(start)
    await rig.read(W)

    assert read_history == [f"GET {ACTIVITIES}", "GET /sync/history/episodes"]
    assert history.find(episode(1, 1)) is not None
    assert history.find(MATRIX) is not None  # the movie plays, from the cache
    # Watching an episode takes its show, season and episode off the watchlist; movies stay.
    assert rig.paths(start)[len(read_history) :] == [
        f"GET {ACTIVITIES}",
        "GET /sync/watchlist/shows",
        "GET /sync/watchlist/seasons",
        "GET /sync/watchlist/episodes",
    ]


async def test_a_shrunken_category_is_read_again_before_its_cache_is_trusted(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, many_movies(6, watchlist=True))
    assert len(await rig.read(W)) == 6
    rig.sim.seed_watchlist("movie", 2)  # the user lists Heat: the movies are read again ...
    rig.sim.quirks.tiny_replies = 1  # ... and Trakt answers with 3 rows, claiming that is all

    shrunk = await rig.read(W)
    again = await rig.read(W)

    # Reported as read (the engine's drop guard judges a shrink), never reused as the truth.
    assert len(shrunk) == 3
    assert len(again) == 7
    assert again.complete


async def test_a_moved_category_whose_content_did_not_change_is_read_in_full(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    first = await read_whole(rig.provider, W, None)
    rig.sim.quirks.unrelated_activity = True  # every stamp moves, no list changes
    start, sent = len(rig.app_requests), len(rig.sim.headers_seen)

    second = await read_whole(rig.provider, W, first.checkpoint)

    assert conditional_requests(rig, sent) == []
    assert len(rig.paths(start)) == 5  # the activities and all four categories
    assert set(second.snapshot.entries) == set(first.snapshot.entries)
    assert second.snapshot.complete
    assert second.checkpoint is not None
    assert first.checkpoint is not None
    assert second.checkpoint.etag == first.checkpoint.etag  # the same bodies


# -- 2. completeness, category by category ---------------------------------------------------


async def test_plays_short_of_their_total_are_partial_when_another_category_has_no_total(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, many_movies(300, plays=True))
    rig.sim.seed_play("episode", 101, at(0))
    original = rig.client.request

    async def lossy(method: str, path: str, **kwargs: object) -> Response:
        reply = await original(method, path, **kwargs)  # type: ignore[arg-type]
        params = kwargs.get("params") or {}
        if path == "/sync/history/movies" and params.get("page") == 2:  # type: ignore[attr-defined]
            return replace(reply, body=b"[]")  # the last page lost its 50 plays, quietly
        if path == "/sync/history/episodes":
            return without_headers(reply, "X-Pagination-Item-Count")
        return reply

    rig.client.request = lossy  # type: ignore[method-assign]
    snapshot = await rig.read(H)

    assert not snapshot.complete
    assert snapshot.completeness.failure == "movies: 250 of 300 announced records read"
    assert snapshot.completeness.seen_total == 251
    assert len(snapshot) == 251  # what was read, for the engine to use as partial


async def test_pagination_proves_a_category_that_comes_without_its_total(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, many_movies(260, plays=True))
    rig.sim.quirks.no_total_header = True

    snapshot = await rig.read(H)

    assert snapshot.complete  # two pages announced, both read, the first one full
    assert snapshot.completeness.expected_total == snapshot.completeness.seen_total == 260


async def test_a_category_without_any_pagination_headers_cannot_prove_it_is_whole(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    # A paged list (the watchlist); /sync/ratings is unpaged since 2026 (see below).
    rig = await make_rig(serve, session, TraktSim(watchlist_limit=1000))
    rig.sim.seed_watchlist("movie", 1)
    rig.sim.seed_watchlist("show", 10)
    rig.sim.quirks.no_total_header = True
    original = rig.client.request

    async def headless(method: str, path: str, **kwargs: object) -> Response:
        reply = await original(method, path, **kwargs)  # type: ignore[arg-type]
        if path == "/sync/watchlist/shows":
            return without_headers(reply, "X-Pagination-Page-Count")
        return reply

    rig.client.request = headless  # type: ignore[method-assign]
    snapshot = await rig.read(W)

    assert not snapshot.complete
    assert snapshot.completeness.failure == (
        "shows: 1 records read, and no X-Pagination-Item-Count or X-Pagination-Page-Count"
        " to show that was all of them"
    )
    rig.client.request = original  # type: ignore[method-assign]
    again = await rig.read(W)
    assert again.complete  # the unproven category was not kept in the cache
    assert len(again) == 2


async def test_an_unpaged_ratings_reply_is_the_whole_list_in_one_request(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    # 2026: /sync/ratings is unpaged again; it answers every rating and no pagination headers.
    sim = TraktSim()
    seed_catalogue(sim)
    for number in range(300):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_rating("movie", 5000 + number, 1 + number % 10, at(number))
    rig = await make_rig(serve, session, sim)

    snapshot = await rig.read(R)

    assert snapshot.complete
    assert len(snapshot) == 300
    assert rig.paths().count("GET /sync/ratings/movies") == 1


async def test_ratings_that_trakt_pages_after_all_are_followed_page_by_page(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    seed_catalogue(sim)
    for number in range(300):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_rating("movie", 5000 + number, 1 + number % 10, at(number))
    rig = await make_rig(serve, session, sim)
    original = rig.client.request

    async def paged(method: str, path: str, **kwargs: Any) -> Response:
        # Trakt changed its mind once already (trakt/trakt-api#924): ratings paged at 250.
        if path != "/sync/ratings/movies":
            return await original(method, path, **kwargs)
        reply = await original(method, path, **kwargs)
        rows = reply.json()
        assert isinstance(rows, list)
        page = int(kwargs["params"]["page"])
        body = json.dumps(rows[(page - 1) * 250 : page * 250]).encode()
        headers = {**reply.headers, "X-Pagination-Page-Count": "2",
                   "X-Pagination-Item-Count": str(len(rows)), "X-Pagination-Limit": "250"}  # fmt: skip
        return replace(reply, body=body, headers=headers)

    rig.client.request = paged  # type: ignore[method-assign]
    snapshot = await rig.read(R)

    assert snapshot.complete
    assert len(snapshot) == 300
    assert rig.paths().count("GET /sync/ratings/movies") == 2


async def test_a_list_that_changes_between_its_pages_makes_the_read_partial(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, many_movies(260, watchlist=True))
    original = rig.client.request

    async def busy(method: str, path: str, **kwargs: object) -> Response:
        reply = await original(method, path, **kwargs)  # type: ignore[arg-type]
        params = kwargs.get("params") or {}
        if path == "/sync/watchlist/movies" and params.get("page") == 1:  # type: ignore[attr-defined]
            rig.sim.unlist("movie", 5000)  # the user unlists a film before page 2 is read
        return reply

    rig.client.request = busy  # type: ignore[method-assign]
    snapshot = await rig.read(W)

    assert not snapshot.complete
    assert snapshot.completeness.failure == (
        "movies: page 2 announced 259 items, page 1 260 (250 of 260 announced records read)"
    )


# -- 3. replies that are not what they should be ---------------------------------------------


async def test_list_replies_that_are_not_json_lists_make_the_read_partial(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    for kind, trakt_id in (("movie", 1), ("show", 10), ("season", 1002), ("episode", 101)):
        rig.sim.seed_watchlist(kind, trakt_id)
    # One for each category: not JSON, an object, null, {}.
    rig.sim.quirks.malformed_replies = 4

    snapshot = await rig.read(W)

    assert not snapshot.complete
    failure = snapshot.completeness.failure or ""
    assert [part.split(":")[0] for part in failure.split("; ")] == [
        "movies", "shows", "seasons", "episodes",
    ]  # fmt: skip
    assert "not JSON" in failure
    assert failure.count("is not a list") == 3
    again = await rig.read(W)
    assert again.complete
    assert len(again) == 4  # nothing malformed was kept as an empty list


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b"null",
        b"[]",
        b"<html>Bad gateway</html>",
        b'{"movies": null, "shows": [], "seasons": {"watchlisted_at": 5}, "episodes": {}}',
    ],
)
async def test_unreadable_activities_read_every_category_in_full(
    serve: Serve, session: aiohttp.ClientSession, body: bytes
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    first = await read_whole(rig.provider, W, None)
    rig.sim.seed_watchlist("movie", 2)  # Heat, listed on the website
    rig.sim.quirks.stale_etag = True
    original = rig.client.request

    async def garbled(method: str, path: str, **kwargs: object) -> Response:
        reply = await original(method, path, **kwargs)  # type: ignore[arg-type]
        return replace(reply, body=body) if path == ACTIVITIES else reply

    rig.client.request = garbled  # type: ignore[method-assign]
    start, sent = len(rig.app_requests), len(rig.sim.headers_seen)
    second = await read_whole(rig.provider, W, first.checkpoint)

    assert rig.paths(start) == [
        f"GET {ACTIVITIES}",
        "GET /sync/watchlist/movies",
        "GET /sync/watchlist/shows",
        "GET /sync/watchlist/seasons",
        "GET /sync/watchlist/episodes",
    ]
    assert conditional_requests(rig, sent) == []
    assert second.snapshot.find(HEAT) is not None
    assert second.snapshot.complete  # because every category was read in full
    assert second.checkpoint is not None
    assert second.checkpoint.watermark is None  # no stamps to vouch for what was read


async def test_reads_during_and_after_activities_without_stamps_are_complete(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    first = await read_whole(rig.provider, W, None)
    original = rig.client.request

    async def empty(method: str, path: str, **kwargs: object) -> Response:
        reply = await original(method, path, **kwargs)  # type: ignore[arg-type]
        return replace(reply, body=b"{}") if path == ACTIVITIES else reply

    rig.client.request = empty  # type: ignore[method-assign]
    second = await read_whole(rig.provider, W, first.checkpoint)
    rig.client.request = original  # type: ignore[method-assign]
    third = await read_whole(rig.provider, W, second.checkpoint)

    assert second.snapshot.complete
    assert third.snapshot.complete


async def test_unreadable_activities_and_a_failed_category_give_a_partial_snapshot(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(W)
    original = rig.client.request

    async def empty(method: str, path: str, **kwargs: object) -> Response:
        reply = await original(method, path, **kwargs)  # type: ignore[arg-type]
        return replace(reply, body=b"null") if path == ACTIVITIES else reply

    rig.client.request = empty  # type: ignore[method-assign]
    rig.sim.quirks.malformed_replies = 1  # the movies

    snapshot = await rig.read(W)

    assert not snapshot.complete
    assert (snapshot.completeness.failure or "").startswith("movies: page 1:")


async def test_activities_that_get_no_answer_fail_the_read_instead_of_reading_everything(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    original = rig.client.request

    async def down(method: str, path: str, **kwargs: object) -> Response:
        if path == ACTIVITIES:
            raise CrossWatchServerError(503, "Trakt is having trouble")
        return await original(method, path, **kwargs)  # type: ignore[arg-type]

    rig.client.request = down  # type: ignore[method-assign]
    start = len(rig.app_requests)

    with pytest.raises(ServerFaultError):  # the engine's: outcome unknown, as the 5xx was
        await rig.read(W)
    assert rig.paths(start) == []  # no list hammered while Trakt is down
