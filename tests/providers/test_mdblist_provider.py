"""MDBList through the engine's eyes: what a read shows, how complete it is, what a write did."""

from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import QuotaReporter, RateLimit
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AuthError,
    RateLimitError,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.engine.ratings import RatingScale, to_normalized
from custom_components.crosswatch.providers.mdblist import CAPABILITIES
from tests.providers.conftest import Serve
from tests.providers.test_mdblist_support import DARK_E1, MATRIX_WATCHED, make_rig, seeded_state
from tests.simulators.mdblist import Title
from tests.simulators.openapi import RECORDED

pytestmark = pytest.mark.usefixtures("socket_enabled")

WHEN = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)


def movie(**ids: str) -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, ids=ids)


def show(**ids: str) -> MediaItem:
    return MediaItem.create(MediaType.SHOW, ids=ids)


def dark_episode(number: int) -> MediaItem:
    return MediaItem.create(MediaType.EPISODE, show_ids={"tmdb": "70523"}, season=1, episode=number)


def test_mdblist_keeps_one_watched_state_and_rates_1_to_10() -> None:
    assert CAPABILITIES.history.multiple_plays is False
    assert CAPABILITIES.history.sets_watched_at is True
    assert CAPABILITIES.rating_scale is RatingScale.INTEGER_1_10
    assert CAPABILITIES.confirms_per_item is False


async def test_the_watchlist_read_is_complete_and_counts_what_mdblist_announced(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    read = await rig.provider.read(Feature.WATCHLIST, None)
    snapshot = read.snapshot
    assert snapshot.complete
    assert (snapshot.completeness.expected_total, snapshot.completeness.seen_total) == (2, 2)
    inception = snapshot.find(movie(imdb="tt1375666"))
    assert inception is not None
    assert inception.payload == Listed(datetime(2024, 5, 1, tzinfo=UTC))
    assert snapshot.find(show(tmdb="70523")) is not None
    assert read.checkpoint is not None
    assert read.checkpoint.watermark == "2026-11-01T12:00:00.000Z"


async def test_history_holds_watched_movies_and_episodes_not_the_show_roll_ups(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    snapshot = (await rig.provider.read(Feature.HISTORY, None)).snapshot
    assert snapshot.complete
    assert len(snapshot) == 2
    matrix = snapshot.find(movie(tmdb="603"))
    episode = snapshot.find(dark_episode(1))
    assert matrix is not None
    assert episode is not None
    assert matrix.payload == Watched.from_plays((MATRIX_WATCHED,))
    assert episode.payload == Watched.from_plays((DARK_E1,))
    assert snapshot.find(show(tmdb="70523")) is None


async def test_ratings_read_on_the_1_to_10_scale(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    snapshot = (await rig.provider.read(Feature.RATINGS, None)).snapshot
    dark = snapshot.find(show(tvdb="334824"))
    assert dark is not None
    assert dark.payload == Rated(to_normalized(RatingScale.INTEGER_1_10, 8) or 0, DARK_E1)


async def test_a_watchlist_of_several_pages_is_read_to_its_end(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    for number in range(1, 251):
        title = state.add(
            Title("movie", f"Film {number}", 2000, f"f{number}", tmdb=100_000 + number)
        )
        state.watchlist[title.mdblist] = WHEN
    rig = await make_rig(serve, session, state)
    snapshot = (await rig.provider.read(Feature.WATCHLIST, None)).snapshot
    assert snapshot.complete
    assert len(snapshot) == 252
    pages = [r for r in rig.app[RECORDED] if r.path == "/watchlist/items"]
    assert len(pages) == 2


async def test_a_read_that_breaks_after_its_first_page_is_partial_not_short(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    for number in range(1, 251):
        title = state.add(
            Title("movie", f"Film {number}", 2000, f"f{number}", tmdb=100_000 + number)
        )
        state.watchlist[title.mdblist] = WHEN
    state.quirks.failing_later_pages = True
    rig = await make_rig(serve, session, state)
    read = await rig.provider.read(Feature.WATCHLIST, None)
    assert not read.snapshot.complete
    assert len(read.snapshot) == 200
    assert read.checkpoint is None


async def test_an_exhausted_daily_quota_stops_the_read_with_the_wait_until_midnight(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    state.day = state.now.replace(hour=0)
    state.used_today = 1000
    rig = await make_rig(serve, session, state)
    with pytest.raises(RateLimitError) as caught:
        await rig.provider.read(Feature.WATCHLIST, None)
    assert caught.value.retry_after == 12 * 3600 + 1


async def test_a_wrong_api_key_needs_the_user_to_enter_it_again(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.api_key = "a-new-key"  # the user regenerated the key on mdblist.com
    with pytest.raises(AuthError):
        await rig.provider.health()


async def test_a_watchlist_add_without_imdb_or_tmdb_ids_is_rejected_before_sending(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    heat_by_trakt = MediaItem.create(MediaType.MOVIE, title="Heat", ids={"trakt": "1"})
    [result] = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(heat_by_trakt, Listed(WHEN))]
    )
    assert result.outcome is WriteOutcome.REJECTED
    assert result.reason == "mdblist_watchlist_needs_imdb_or_tmdb"
    assert not [r for r in rig.app[RECORDED] if r.method == "POST"]


async def test_a_watchlist_add_is_confirmed_when_mdblist_counts_it_added(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    [result] = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(movie(imdb="tt0113277"), Listed(WHEN))]
    )
    assert result.outcome is WriteOutcome.CONFIRMED
    snapshot = (await rig.provider.read(Feature.WATCHLIST, None)).snapshot
    assert snapshot.find(movie(tmdb="949")) is not None


async def test_a_title_mdblist_does_not_know_is_rejected_as_not_found(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    [result] = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(movie(imdb="tt9999999"), Listed(WHEN))]
    )
    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, "not_found")


async def test_a_batch_with_one_unknown_title_leaves_both_unknown_since_mdblist_only_counts(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    requests = [
        WriteRequest(movie(imdb="tt0113277"), Listed(WHEN)),
        WriteRequest(movie(imdb="tt9999999"), Listed(WHEN)),
    ]
    results = await rig.provider.write(Feature.WATCHLIST, Action.ADD, requests)
    assert [r.outcome for r in results] == [WriteOutcome.UNKNOWN, WriteOutcome.UNKNOWN]


async def test_a_watched_episode_is_written_under_its_show_and_read_back(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    results = await rig.provider.write(
        Feature.HISTORY,
        Action.ADD,
        [
            WriteRequest(dark_episode(2), Watched.from_plays((WHEN,))),
            WriteRequest(dark_episode(3), Watched.from_plays((WHEN,))),
        ],
    )
    assert [r.outcome for r in results] == [WriteOutcome.CONFIRMED] * 2
    posts = [r for r in rig.app[RECORDED] if r.path == "/sync/watched" and r.method == "POST"]
    assert len(posts) == 1
    assert len(posts[0].body["shows"]) == 1  # both episodes under one show object
    snapshot = (await rig.provider.read(Feature.HISTORY, None)).snapshot
    entry = snapshot.find(dark_episode(3))
    assert entry is not None
    assert entry.payload == Watched.from_plays((WHEN,))


async def test_an_episode_mdblist_does_not_have_is_rejected_as_not_found(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    [result] = await rig.provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(dark_episode(9), Watched.from_plays((WHEN,)))]
    )
    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, "not_found")


async def test_an_unwatch_removes_the_watched_state(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    [result] = await rig.provider.write(
        Feature.HISTORY, Action.REMOVE, [WriteRequest(movie(imdb="tt0133093"), None)]
    )
    assert result.outcome is WriteOutcome.CONFIRMED
    snapshot = (await rig.provider.read(Feature.HISTORY, None)).snapshot
    assert snapshot.find(movie(imdb="tt0133093")) is None


async def test_a_rating_is_written_on_mdblists_scale_and_read_back(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    value = to_normalized(RatingScale.INTEGER_1_10, 7)
    assert value is not None
    [result] = await rig.provider.write(
        Feature.RATINGS, Action.ADD, [WriteRequest(movie(imdb="tt0113277"), Rated(value, WHEN))]
    )
    assert result.outcome is WriteOutcome.CONFIRMED
    assert rig.state.ratings["c1hz"] == (7, WHEN)


async def test_an_episode_rating_is_refused_before_sending(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    [result] = await rig.provider.write(
        Feature.RATINGS, Action.ADD, [WriteRequest(dark_episode(1), Rated(0.8, WHEN))]
    )
    assert (result.outcome, result.reason) == (
        WriteOutcome.REJECTED,
        "mdblist_ratings_take_titles_only",
    )


async def test_a_sync_write_names_what_it_could_not_find_so_the_rest_is_confirmed(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    value = to_normalized(RatingScale.INTEGER_1_10, 6)
    assert value is not None
    unknown = movie(imdb="tt9999999")
    results = await rig.provider.write(
        Feature.RATINGS,
        Action.ADD,
        [
            WriteRequest(movie(imdb="tt0113277"), Rated(value, WHEN)),
            WriteRequest(unknown, Rated(value, WHEN)),
        ],
    )
    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.CONFIRMED, None),
        (WriteOutcome.REJECTED, "not_found"),
    ]


async def test_the_daily_quota_is_what_mdblist_last_reported_and_refills_at_midnight_utc(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    assert isinstance(rig.provider, QuotaReporter)
    assert rig.provider.rate_limit is None  # nothing reported yet
    rig.state.day = rig.state.now.replace(hour=0)
    rig.state.used_today = 400  # the account made 400 requests earlier today

    await rig.provider.health()

    # /user counts itself: 401 used of 1,000.
    assert rig.provider.rate_limit == RateLimit(
        remaining=599,
        limit=1000,
        resets_at=datetime(2026, 11, 2, tzinfo=UTC),
        bucket="daily",
    )
