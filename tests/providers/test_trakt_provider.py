"""The Trakt adapter against the stateful simulator: snapshots, deltas, writes and every quirk."""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
import json

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchAccountLimitError
from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt import client as trakt_client, models, sync
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    ProviderError,
    RateLimitError,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.engine.ratings import RatingScale
from custom_components.crosswatch.engine.snapshot import Snapshot
from custom_components.crosswatch.providers import trakt
from custom_components.crosswatch.providers.trakt import TraktProvider, entries, writes
from tests.providers.conftest import Serve
from tests.reads import read_whole
from tests.simulators.openapi import RECORDED, RecordedRequest
from tests.simulators.trakt import (
    CLIENT_ID,
    CLIENT_SECRET,
    EPOCH,
    FakeTime,
    TraktSim,
    make_app,
    seed_catalogue,
)

# The simulator listens on 127.0.0.1; Home Assistant's plugin still refuses any other host.
pytestmark = pytest.mark.usefixtures("socket_enabled")

NOW = EPOCH.timestamp() + 3600
MATRIX = MediaItem.create(MediaType.MOVIE, title="The Matrix", year=1999, ids={"imdb": "tt0133093"})
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"tmdb": 949})
UNKNOWN = MediaItem.create(MediaType.MOVIE, title="Nothing", year=2001, ids={"imdb": "tt9999999"})
DARK = MediaItem.create(MediaType.SHOW, title="Dark", year=2017, ids={"tvdb": 334824})
DARK_IDS = {"tmdb": 70523}


def episode(season: int, number: int, show_ids: Mapping[str, object] | None = None) -> MediaItem:
    return MediaItem.create(
        MediaType.EPISODE,
        title="Dark",
        year=2017,
        show_ids=DARK_IDS if show_ids is None else show_ids,
        season=season,
        episode=number,
    )


def at(minutes: int) -> datetime:
    return datetime(2023, 5, 1, 20, 0, tzinfo=UTC) + timedelta(minutes=minutes)


@dataclass
class Rig:
    sim: TraktSim
    provider: TraktProvider
    client: TraktClient
    time: FakeTime
    saved: list[Tokens] = field(default_factory=list)
    wall: list[float] = field(default_factory=lambda: [NOW])

    app: web.Application = field(default_factory=web.Application)

    @property
    def app_requests(self) -> list[RecordedRequest]:
        return self.app[RECORDED]

    def paths(self, start: int = 0) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.app_requests[start:]]

    async def read(self, feature: Feature) -> Snapshot:
        return (await read_whole(self.provider, feature, None)).snapshot


async def make_rig(
    serve: Serve,
    session: aiohttp.ClientSession,
    sim: TraktSim | None = None,
    *,
    tokens: Tokens | None = None,
    saver_fails: int = 0,
    retry: RetryPolicy | None = None,
    **options: object,
) -> Rig:
    sim = sim or TraktSim()
    if not sim.movies:
        seed_catalogue(sim)
    app = make_app(sim)
    base = await serve(app)
    time = sim.client_time()  # the simulator counts its rate limits on the client's clock
    rig_saved: list[Tokens] = []
    failures = [saver_fails]

    async def saver(new: Tokens) -> None:
        if failures[0]:
            failures[0] -= 1
            raise OSError("disk full")
        rig_saved.append(new)

    wall = [NOW]
    client = TraktClient(
        session,
        TraktApp(CLIENT_ID, CLIENT_SECRET),
        tokens or Tokens.from_oauth_reply(sim.issue_tokens()),
        saver,
        base_url=base,
        retry=retry or RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
        now=lambda: wall[0],
    )
    provider = TraktProvider(client, now=lambda: wall[0], **options)  # type: ignore[arg-type]
    return Rig(sim, provider, client, time, rig_saved, wall, app)


def keys(snapshot: Snapshot) -> set[str]:
    return set(snapshot.entries)


# -- health, identity, headers -----------------------------------------------------------------


async def test_health_names_the_account_and_exposes_the_watchlist_cap(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, TraktSim(slug="alice", watchlist_limit=100))
    assert (rig.provider.key, rig.provider.name) == ("trakt", "Trakt")
    assert rig.provider.capabilities.limits == {}
    await rig.provider.health()
    assert (rig.provider.key, rig.provider.name) == ("trakt:alice", "Trakt (alice)")
    caps = rig.provider.capabilities
    # The watchlist's cap as Trakt reports it; the ratings' by the plan (free: 10,000 in 2026).
    assert caps.limits == {Feature.WATCHLIST: 100, Feature.RATINGS: 10_000}
    assert caps.rating_scale is RatingScale.INTEGER_1_10
    assert caps.history.multiple_plays
    assert caps.history.sets_watched_at
    assert caps.history.precision == timedelta(minutes=1)
    assert caps.confirms_per_item
    assert caps.batch_size == 100
    assert caps.features == frozenset(Feature)
    assert rig.provider.requests_made == 1


async def test_health_fails_when_the_settings_lack_the_account_slug(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, TraktSim(slug=""))
    with pytest.raises(ProviderError, match="slug"):
        await rig.provider.health()


async def test_a_known_slug_keeps_the_key_stable_before_health(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, slug="bob")
    assert rig.provider.key == "trakt:bob"


async def test_every_api_call_carries_the_required_headers(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await rig.provider.health()
    await rig.read(Feature.WATCHLIST)
    assert rig.sim.headers_seen
    for headers in rig.sim.headers_seen:
        assert headers["trakt-api-key"] == CLIENT_ID
        assert headers["trakt-api-version"] == "2"
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"].startswith("CrossWatch/")
        assert headers["Authorization"] == f"Bearer {rig.client.tokens.access_token}"


# -- reads ---------------------------------------------------------------------------------------


async def test_cold_watchlist_read_maps_every_kind_with_its_listing_date(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1, at(0))
    rig.sim.seed_watchlist("show", 10, at(1))
    rig.sim.seed_watchlist("season", 1002, at(2))
    rig.sim.seed_watchlist("episode", 101, at(3))
    read = await read_whole(rig.provider, Feature.WATCHLIST, None)
    snapshot = read.snapshot
    assert snapshot.complete
    assert snapshot.completeness.expected_total == snapshot.completeness.seen_total == 4
    assert snapshot.find(MATRIX).payload == Listed(at(0))  # type: ignore[union-attr]
    assert snapshot.find(DARK).payload == Listed(at(1))  # type: ignore[union-attr]
    season = MediaItem.create(MediaType.SEASON, show_ids={"imdb": "tt5753856"}, season=2)
    assert snapshot.find(season).payload == Listed(at(2))  # type: ignore[union-attr]
    found = snapshot.find(episode(1, 1))
    assert found is not None
    assert (found.item.title, found.item.year, found.item.season, found.item.episode) == (
        "Dark", 2017, 1, 1,
    )  # fmt: skip
    assert "imdb:tt5000101" in found.item.tokens
    assert read.checkpoint is not None
    assert read.checkpoint.provider == rig.provider.key
    assert read.checkpoint.updated_at == datetime.fromtimestamp(NOW, UTC)
    assert set(json.loads(read.checkpoint.watermark or "")) == {
        "movies", "shows", "seasons", "episodes",
    }  # fmt: skip
    assert read.checkpoint.etag is not None


async def test_history_groups_one_play_per_row_and_keeps_duplicate_dates(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_play("movie", 1, at(0))
    rig.sim.seed_play("movie", 1, at(60))
    rig.sim.seed_play("movie", 1, at(60))
    rig.sim.seed_play("episode", 102, at(5))
    snapshot = await rig.read(Feature.HISTORY)
    assert snapshot.complete
    assert snapshot.completeness.seen_total == 4
    matrix = snapshot.find(MATRIX)
    assert matrix is not None
    assert matrix.payload == Watched.from_plays([at(0), at(60), at(60)])
    assert snapshot.find(episode(1, 2)).payload == Watched.from_plays([at(5)])  # type: ignore[union-attr]


async def test_ratings_are_normalized_with_their_dates(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_rating("movie", 2, 8, at(0))
    rig.sim.seed_rating("show", 10, 10, at(1))
    rig.sim.seed_rating("episode", 201, 3, at(2))
    snapshot = await rig.read(Feature.RATINGS)
    assert snapshot.find(HEAT).payload == Rated(8.0, at(0))  # type: ignore[union-attr]
    assert snapshot.find(DARK).payload == Rated(10.0, at(1))  # type: ignore[union-attr]
    assert snapshot.find(episode(2, 1)).payload == Rated(3.0, at(2))  # type: ignore[union-attr]


async def test_reads_page_by_250_and_follow_the_page_count(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim(watchlist_limit=1000)
    seed_catalogue(sim)
    for number in range(300):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_watchlist("movie", 5000 + number)
    rig = await make_rig(serve, session, sim)
    snapshot = await rig.read(Feature.WATCHLIST)
    assert len(snapshot) == 300
    assert snapshot.complete
    assert snapshot.completeness.expected_total == 300
    pages = [r for r in rig.app_requests if r.path == "/sync/watchlist/movies"]
    assert len(pages) == 2
    assert all(set(r.query) == {"page", "limit"} for r in pages)


async def test_an_unchanged_account_is_answered_from_the_cache_after_one_activity_call(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    start = len(rig.app_requests)
    second = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    assert rig.paths(start) == ["GET /sync/last_activities"]
    assert keys(second.snapshot) == keys(first.snapshot)
    assert second.snapshot.complete


async def test_only_categories_whose_activity_moved_are_read_again(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    first = await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.sim.seed_watchlist("show", 10)
    start = len(rig.app_requests)
    second = await read_whole(rig.provider, Feature.WATCHLIST, first.checkpoint)
    assert rig.paths(start) == ["GET /sync/last_activities", "GET /sync/watchlist/shows"]
    assert second.snapshot.find(DARK) is not None
    assert second.snapshot.find(MATRIX) is not None  # kept from the cache


async def test_a_stale_cache_is_read_again_once_it_is_older_than_the_limit(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, max_cache_age=timedelta(hours=1))
    rig.sim.quirks.frozen_activities = True
    await rig.read(Feature.WATCHLIST)
    rig.sim.seed_watchlist("movie", 2)  # activities do not move
    assert (await rig.read(Feature.WATCHLIST)).find(HEAT) is None
    rig.wall[0] += 3601
    assert (await rig.read(Feature.WATCHLIST)).find(HEAT) is not None


# -- read faults -----------------------------------------------------------------------------


async def test_a_5xx_midway_gives_a_partial_snapshot_and_leaves_the_cache_alone(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim(watchlist_limit=1000)
    seed_catalogue(sim)
    for number in range(260):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_play("movie", 5000 + number, at(number))
    rig = await make_rig(serve, session, sim)
    sim.quirks.server_error_on_page, sim.quirks.server_errors = 2, 10
    snapshot = await rig.read(Feature.HISTORY)
    assert not snapshot.complete
    assert snapshot.completeness.failure is not None
    assert "movies: page 2" in snapshot.completeness.failure
    assert not snapshot.completeness.all_pages
    assert len(snapshot) == 250  # what was read, not nothing
    sim.quirks.server_errors = 0
    again = await rig.read(Feature.HISTORY)
    assert again.complete
    assert len(again) == 260


async def test_a_truncated_page_is_partial_however_quietly_it_fails(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    # A paged list (the watchlist): /sync/ratings is unpaged since 2026 and announces no count.
    rig = await make_rig(serve, session, TraktSim(watchlist_limit=1000))
    rig.sim.seed_watchlist("movie", 1)
    rig.sim.seed_watchlist("movie", 2)
    rig.sim.quirks.truncate_page = 1
    snapshot = await rig.read(Feature.WATCHLIST)
    assert not snapshot.complete
    assert "1 of 2 announced" in snapshot.completeness.describe()
    rig.sim.quirks.truncate_page = None
    assert len(await rig.read(Feature.WATCHLIST)) == 2  # the short read was not cached


async def test_a_short_page_before_the_last_one_is_a_failure(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim(watchlist_limit=1000)
    seed_catalogue(sim)
    for number in range(260):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_watchlist("movie", 5000 + number)
    sim.quirks.truncate_page = 1
    rig = await make_rig(serve, session, sim)
    snapshot = await rig.read(Feature.WATCHLIST)
    assert not snapshot.complete
    assert "page 1 of 2 held 249 items" in (snapshot.completeness.failure or "")


async def test_an_empty_200_is_reported_honestly_but_not_trusted_for_later_reads(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(Feature.WATCHLIST)
    rig.sim._moved("movies", "watchlisted_at")
    rig.sim.quirks.empty_replies = 1
    empty = await read_whole(rig.provider, Feature.WATCHLIST, None)
    assert empty.snapshot.complete
    assert len(empty.snapshot) == 0
    again = await rig.read(Feature.WATCHLIST)
    assert again.find(MATRIX) is not None


async def test_records_that_cannot_be_read_make_the_snapshot_partial() -> None:
    rows = [
        {"type": "person", "person": {}},
        {"type": "movie"},
        {"type": "episode", "episode": {"number": 1, "ids": {}}, "show": {"title": "X"}},
        {"type": "movie", "movie": {"title": "Heat", "year": 1995, "ids": {"tmdb": 949}}},
    ]
    listed, unreadable = read_records(rows, models.watchlist_row, entries.watchlist_entries)
    assert (len(listed), unreadable) == (1, 3)
    plays = [
        {"type": "movie", "movie": {"title": "Heat", "ids": {"tmdb": 949}}, "watched_at": "bad"},
        {"type": "movie", "watched_at": "2020-01-01T00:00:00.000Z"},
        {"type": "movie", "movie": {"ids": {}}, "watched_at": "2020-01-01T00:00:00.000Z"},
    ]
    assert read_records(plays, models.history_row, entries.history_entries) == ([], 3)
    no_rating = [
        {"type": "movie", "movie": {"title": "Heat", "ids": {"tmdb": 949}}},
        {"type": "movie", "movie": {"ids": {}}, "rating": 8},
        {"type": "movie", "movie": {"title": "Heat", "ids": {}}, "rating": 7.5},
    ]
    assert read_records(no_rating, models.rating_row, entries.rating_entries) == ([], 3)


def read_records[R](
    rows: list[object],
    parse: Callable[[object], R | None],
    to_entries: Callable[[list[R]], tuple[list[Entry], int]],
) -> tuple[list[Entry], int]:
    """Entries of raw records as the client and adapter read them, and how many could not be."""
    records = [record for record in map(parse, rows) if record is not None]
    found, unreadable = to_entries(records)
    return found, unreadable + len(rows) - len(records)


async def test_rate_limit_storms_are_waited_out_as_retry_after_asks(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    rig.sim.quirks.rate_limit_storm, rig.sim.quirks.retry_after = 2, 7
    snapshot = await rig.read(Feature.WATCHLIST)
    assert snapshot.complete
    assert rig.time.sleeps.count(7) == 2


async def test_a_long_retry_after_is_handed_to_the_engine(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.rate_limit_storm, rig.sim.quirks.retry_after = 1, 600
    with pytest.raises(RateLimitError) as caught:
        await rig.read(Feature.WATCHLIST)
    assert caught.value.retry_after == 600


async def test_a_locked_account_says_so(serve: Serve, session: aiohttp.ClientSession) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.locked = True
    with pytest.raises(AccountLockedError, match="Trakt support"):
        await rig.provider.health()


async def test_rate_limits_during_pagination_are_raised_not_hidden(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    first = await read_whole(rig.provider, Feature.HISTORY, None)
    assert first.snapshot.complete
    rig.sim.seed_play("movie", 1, at(0))
    rig.sim.quirks.retry_after = 3600
    # The storm starts once last_activities has answered, in the middle of the read.
    original = rig.client.request

    calls = 0

    async def storm(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:
            rig.sim.quirks.rate_limit_storm = 1
        return await original(*args, **kwargs)

    rig.client.request = storm  # type: ignore[method-assign]
    with pytest.raises(RateLimitError):
        await rig.read(Feature.HISTORY)


# -- writes ----------------------------------------------------------------------------------


async def test_watchlist_writes_answer_per_item_and_show_on_the_next_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await rig.read(Feature.WATCHLIST)
    results = await rig.provider.write(
        Feature.WATCHLIST,
        Action.ADD,
        [WriteRequest(item, Listed()) for item in (MATRIX, UNKNOWN, DARK, episode(1, 2))],
    )
    assert [(r.item, r.outcome, r.reason) for r in results] == [
        (MATRIX, WriteOutcome.CONFIRMED, None),
        (UNKNOWN, WriteOutcome.REJECTED, "not_found"),
        (DARK, WriteOutcome.CONFIRMED, None),
        (episode(1, 2), WriteOutcome.CONFIRMED, None),
    ]
    snapshot = await rig.read(Feature.WATCHLIST)
    assert {e.item.type for e in snapshot.entries.values()} == {
        MediaType.MOVIE, MediaType.SHOW, MediaType.EPISODE,
    }  # fmt: skip
    again = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())]
    )
    assert again[0].outcome is WriteOutcome.CONFIRMED  # "existing" is stored
    removed = await rig.provider.write(
        Feature.WATCHLIST, Action.REMOVE, [WriteRequest(MATRIX, None), WriteRequest(UNKNOWN, None)]
    )
    assert [r.outcome for r in removed] == [WriteOutcome.CONFIRMED, WriteOutcome.REJECTED]
    assert (await rig.read(Feature.WATCHLIST)).find(MATRIX) is None


async def test_writes_are_seen_even_when_activities_freeze_and_etags_go_stale(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(Feature.WATCHLIST)
    await rig.read(Feature.WATCHLIST)
    rig.sim.quirks.frozen_activities = True
    rig.sim.quirks.stale_etag_after_write = True
    await rig.provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(HEAT, Listed())])
    start = len(rig.app_requests)
    snapshot = await rig.read(Feature.WATCHLIST)
    assert snapshot.find(HEAT) is not None
    assert snapshot.complete
    assert all(
        "If-None-Match" not in headers for headers in rig.sim.headers_seen[start:]
    )  # the write busted every ETag


async def test_busting_everything_reads_in_full_what_frozen_activities_hide(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    await rig.read(Feature.WATCHLIST)
    rig.sim.quirks.frozen_activities = True
    rig.sim.seed_watchlist("show", 10)  # Dark, listed on the website

    hidden = await rig.read(Feature.WATCHLIST)
    rig.provider.forget_reads(Feature.WATCHLIST)  # unchecked reuse only: there is none
    still_hidden = await rig.read(Feature.WATCHLIST)
    rig.provider.forget_reads(Feature.WATCHLIST, validated=True)
    start = len(rig.sim.headers_seen)
    busted = await rig.read(Feature.WATCHLIST)

    assert hidden.find(DARK) is None
    assert still_hidden.find(DARK) is None
    assert busted.find(DARK) is not None
    assert busted.find(MATRIX) is not None
    assert busted.complete
    assert all("If-None-Match" not in headers for headers in rig.sim.headers_seen[start:])


async def test_writes_that_show_late_are_read_again_until_they_settle(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, settle_reads=3)
    await rig.read(Feature.RATINGS)
    rig.sim.quirks.visible_after_reads = 2
    rig.sim.quirks.frozen_activities = True
    await rig.provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(HEAT, Rated(8.0))])
    assert (await rig.read(Feature.RATINGS)).find(HEAT) is None
    assert (await rig.read(Feature.RATINGS)).find(HEAT) is None
    assert (await rig.read(Feature.RATINGS)).find(HEAT) is not None


async def test_history_writes_send_exactly_the_given_plays(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_play("movie", 1, at(0))
    plays = Watched.from_plays([at(10), at(20)])
    start = len(rig.app_requests)
    results = await rig.provider.write(
        Feature.HISTORY,
        Action.UPDATE,
        [
            WriteRequest(MATRIX, plays),
            WriteRequest(episode(1, 1), Watched.from_plays([at(30)])),
            WriteRequest(episode(1, 2), Watched.from_state(1, at(40))),
            WriteRequest(episode(2, 1), Watched.from_state(1, None)),
        ],
    )
    assert all(r.outcome is WriteOutcome.CONFIRMED for r in results)
    [sent] = [r.body for r in rig.app_requests[start:] if r.method == "POST"]
    assert sent["movies"] == [
        {"ids": {"imdb": "tt0133093"}, "watched_at": "2023-05-01T20:10:00.000Z"},
        {"ids": {"imdb": "tt0133093"}, "watched_at": "2023-05-01T20:20:00.000Z"},
    ]
    [show] = sent["shows"]
    assert show["ids"] == {"tmdb": 70523}
    assert show["seasons"] == [
        {"number": 1, "episodes": [
            {"number": 1, "watched_at": "2023-05-01T20:30:00.000Z"},
            {"number": 2, "watched_at": "2023-05-01T20:40:00.000Z"},
        ]},
        {"number": 2, "episodes": [{"number": 1}]},
    ]  # fmt: skip
    snapshot = await rig.read(Feature.HISTORY)
    assert snapshot.find(MATRIX).payload.plays == (at(0), at(10), at(20))  # type: ignore[union-attr]
    assert len(rig.sim.history) == 6


async def test_a_history_add_whose_reply_is_lost_is_never_sent_twice(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.write_errors = 1
    with pytest.raises(ProviderError):
        await rig.provider.write(
            Feature.HISTORY, Action.ADD, [WriteRequest(MATRIX, Watched.from_plays([at(0)]))]
        )
    assert len(rig.sim.history) == 1  # applied once, not retried
    assert [r.path for r in rig.app_requests if r.method == "POST"] == ["/sync/history"]
    snapshot = await rig.read(Feature.HISTORY)
    assert snapshot.find(MATRIX) is not None  # the next read shows what landed


async def test_a_history_add_refused_with_429_is_sent_again_after_the_wait(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.rate_limit_storm, rig.sim.quirks.retry_after = 2, 2
    results = await rig.provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(MATRIX, Watched.from_plays([at(0)]))]
    )
    assert results[0].outcome is WriteOutcome.CONFIRMED
    assert len(rig.sim.history) == 1
    assert rig.time.sleeps.count(2) >= 2
    rig.sim.quirks.rate_limit_storm = 5
    with pytest.raises(RateLimitError):
        await rig.provider.write(
            Feature.HISTORY, Action.ADD, [WriteRequest(HEAT, Watched.from_plays([at(0)]))]
        )
    rig.sim.quirks.rate_limit_storm, rig.sim.quirks.retry_after = 1, 3600
    with pytest.raises(RateLimitError):
        await rig.provider.write(
            Feature.HISTORY, Action.ADD, [WriteRequest(HEAT, Watched.from_plays([at(0)]))]
        )
    assert len(rig.sim.history) == 1


async def test_an_idempotent_write_whose_reply_is_lost_is_retried(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.write_errors = 1
    results = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(HEAT, Listed())]
    )
    assert results[0].outcome is WriteOutcome.CONFIRMED


async def test_watching_takes_items_off_the_watchlist_and_the_next_read_sees_it(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("show", 10)
    assert (await rig.read(Feature.WATCHLIST)).find(DARK) is not None
    rig.sim.quirks.frozen_activities = True
    await rig.provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(episode(1, 1), Watched.from_plays([at(0)]))]
    )
    assert (await rig.read(Feature.WATCHLIST)).find(DARK) is None


async def test_history_removal_takes_every_play_of_the_item(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_play("movie", 1, at(0))
    rig.sim.seed_play("movie", 1, at(1))
    rig.sim.seed_play("movie", 2, at(2))
    results = await rig.provider.write(Feature.HISTORY, Action.REMOVE, [WriteRequest(MATRIX, None)])
    assert results[0].outcome is WriteOutcome.CONFIRMED
    snapshot = await rig.read(Feature.HISTORY)
    assert snapshot.find(MATRIX) is None
    assert snapshot.find(HEAT) is not None


async def test_ratings_are_written_on_trakts_scale_with_their_dates_and_removed(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    season = MediaItem.create(MediaType.SEASON, show_ids=DARK_IDS, season=1)
    results = await rig.provider.write(
        Feature.RATINGS,
        Action.ADD,
        [
            WriteRequest(HEAT, Rated(7.5, at(0))),
            WriteRequest(DARK, Rated(9.0)),
            WriteRequest(season, Rated(6.0)),
            WriteRequest(episode(1, 1), Rated(2.0)),
        ],
    )
    assert all(r.outcome is WriteOutcome.CONFIRMED for r in results)
    [sent] = [r.body for r in rig.app_requests if r.method == "POST"]
    assert sent["movies"] == [
        {"ids": {"tmdb": 949}, "rating": 8, "rated_at": "2023-05-01T20:00:00.000Z"}
    ]
    snapshot = await rig.read(Feature.RATINGS)
    assert snapshot.find(HEAT).payload == Rated(8.0, at(0))  # type: ignore[union-attr]
    assert snapshot.find(DARK).payload.value == 9.0  # type: ignore[union-attr]
    assert snapshot.find(season).payload.value == 6.0  # type: ignore[union-attr]
    assert snapshot.find(episode(1, 1)).payload.value == 2.0  # type: ignore[union-attr]
    removed = await rig.provider.write(Feature.RATINGS, Action.REMOVE, [WriteRequest(HEAT, None)])
    assert removed[0].outcome is WriteOutcome.CONFIRMED
    assert (await rig.read(Feature.RATINGS)).find(HEAT) is None
    with pytest.raises(ProviderError, match="needs the rating"):
        await rig.provider.write(Feature.RATINGS, Action.ADD, [WriteRequest(HEAT, None)])


async def test_episodes_and_seasons_without_show_ids_go_by_their_own_ids(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    own_episode = MediaItem.create(MediaType.EPISODE, ids={"tvdb": 5000102}, season=1, episode=2)
    own_season = MediaItem.create(MediaType.SEASON, ids={"trakt": 1001}, season=1)
    lost = MediaItem.create(MediaType.EPISODE, ids={"tvdb": 1}, season=1, episode=9)
    results = await rig.provider.write(
        Feature.RATINGS,
        Action.ADD,
        [WriteRequest(i, Rated(5.0)) for i in (own_episode, own_season, lost)],
    )
    assert [r.outcome for r in results] == [
        WriteOutcome.CONFIRMED, WriteOutcome.CONFIRMED, WriteOutcome.REJECTED,
    ]  # fmt: skip
    [sent] = [r.body for r in rig.app_requests if r.method == "POST"]
    assert sent == {
        "seasons": [{"ids": {"trakt": 1001}, "rating": 5}],
        "episodes": [{"ids": {"tvdb": 5000102}, "rating": 5}, {"ids": {"tvdb": 1}, "rating": 5}],
    }


async def test_not_found_nested_episodes_reject_only_what_trakt_could_not_find(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    ghost_show = {"tvdb": 1}
    requests = [
        WriteRequest(episode(1, 1), Listed()),
        WriteRequest(episode(1, 7), Listed()),
        WriteRequest(episode(9, 1), Listed()),
        WriteRequest(episode(1, 1, ghost_show), Listed()),
        WriteRequest(MediaItem.create(MediaType.SEASON, show_ids=DARK_IDS, season=8), Listed()),
    ]
    results = await rig.provider.write(Feature.WATCHLIST, Action.ADD, requests)
    assert [r.outcome for r in results] == [
        WriteOutcome.CONFIRMED,
        WriteOutcome.REJECTED,
        WriteOutcome.REJECTED,
        WriteOutcome.REJECTED,
        WriteOutcome.REJECTED,
    ]


async def test_items_trakt_cannot_match_are_rejected_without_a_request(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    titled = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995)
    anime = MediaItem.create(MediaType.ANIME, title="Frieren", ids={"anilist": 154587})
    orphan = MediaItem.create(MediaType.EPISODE, title="X", season=1, episode=1)
    results = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(i, Listed()) for i in (titled, anime, orphan)]
    )
    assert {r.reason for r in results} == {trakt.NO_USABLE_ID}
    assert rig.provider.requests_made == 0
    conflict = await rig.provider.write(
        Feature.RATINGS, Action.CONFLICT, [WriteRequest(HEAT, Rated(5.0))]
    )
    assert conflict[0].outcome is WriteOutcome.REJECTED


async def test_replies_without_per_item_detail_leave_outcomes_unknown(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.quirks.ok_only_replies = True
    results = await rig.provider.write(
        Feature.WATCHLIST,
        Action.ADD,
        [WriteRequest(HEAT, Listed()), WriteRequest(UNKNOWN, Listed())],
    )
    assert [r.outcome for r in results] == [WriteOutcome.UNKNOWN, WriteOutcome.UNKNOWN]


async def test_the_watchlist_cap_raises_an_account_limit_error_with_the_limit(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, TraktSim(watchlist_limit=1))
    await rig.provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())])
    with pytest.raises(AccountLimitError, match="VIP") as caught:
        await rig.provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(HEAT, Listed())])
    assert caught.value.limit == 1


async def test_an_account_limit_without_a_header_borrows_the_cap_from_the_settings(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, TraktSim(watchlist_limit=1))
    await rig.provider.health()
    rig.sim.vip = True

    original = rig.client.sync

    async def no_header(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await original(*args, **kwargs)
        except CrossWatchAccountLimitError as err:
            raise CrossWatchAccountLimitError(str(err)) from err

    rig.client.sync = no_header  # type: ignore[method-assign]
    with pytest.raises(AccountLimitError) as caught:
        await rig.provider.write(
            Feature.WATCHLIST,
            Action.ADD,
            [WriteRequest(MATRIX, Listed()), WriteRequest(HEAT, Listed())],
        )
    assert caught.value.limit == 1
    rig.provider._limits.clear()
    with pytest.raises(AccountLimitError) as bare:
        await rig.provider.write(
            Feature.WATCHLIST,
            Action.ADD,
            [WriteRequest(MATRIX, Listed()), WriteRequest(HEAT, Listed())],
        )
    assert bare.value.limit is None


# -- tokens mid-run --------------------------------------------------------------------------


async def test_a_revoked_access_token_is_refreshed_saved_and_the_call_retried(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    old = rig.client.tokens
    rig.sim.revoke_access_tokens()
    await rig.provider.health()
    assert len(rig.saved) == 1
    assert rig.saved[0] == rig.client.tokens != old
    assert rig.sim.headers_seen[-1]["Authorization"] == f"Bearer {rig.saved[0].access_token}"
    assert old.refresh_token not in rig.sim.refresh_tokens


async def test_a_401_after_a_refused_refresh_is_an_auth_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.revoke_access_tokens()
    rig.sim.refresh_tokens.clear()
    with pytest.raises(AuthError):
        await rig.provider.health()
    assert rig.saved == []


async def test_a_401_with_fresh_tokens_is_an_auth_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.revoke_access_tokens()
    original = rig.sim.issue_tokens

    def revoked_at_once() -> dict[str, object]:
        tokens = original()
        rig.sim.access_tokens.clear()
        return tokens

    rig.sim.issue_tokens = revoked_at_once  # type: ignore[method-assign]
    with pytest.raises(AuthError, match="refreshed credentials"):
        await rig.provider.health()


async def test_tokens_near_expiry_are_refreshed_before_the_call(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = TraktSim()
    pair = Tokens.from_oauth_reply(sim.issue_tokens())
    soon = Tokens(pair.access_token, pair.refresh_token, expires_at=NOW + 60)
    rig = await make_rig(serve, session, sim, tokens=soon)
    await rig.provider.health()
    assert [r.path for r in rig.app_requests] == ["/oauth/token", "/users/settings"]
    assert rig.saved == [rig.client.tokens]


async def test_an_expired_token_without_a_refresh_token_needs_reauthentication(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, tokens=Tokens("gone", None, expires_at=NOW - 1))
    with pytest.raises(AuthError, match="no refresh token"):
        await rig.provider.health()


async def test_concurrent_401s_spend_the_single_use_refresh_token_once(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.revoke_access_tokens()
    await asyncio.gather(
        rig.provider.health(), rig.read(Feature.RATINGS), rig.read(Feature.HISTORY)
    )
    assert len(rig.saved) == 1
    assert [r.path for r in rig.app_requests].count("/oauth/token") == 1


async def test_a_new_pair_that_could_not_be_saved_is_not_used_until_it_is(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, saver_fails=1)
    old = rig.client.tokens
    rig.sim.revoke_access_tokens()
    with pytest.raises(OSError, match="disk full"):
        await rig.provider.health()
    assert rig.client.tokens == old  # never used unsaved
    await rig.provider.health()
    assert len(rig.saved) == 1
    assert rig.client.tokens == rig.saved[0]
    assert [r.path for r in rig.app_requests].count("/oauth/token") == 1


async def test_a_refresh_waiting_on_an_unsaved_pair_saves_it_instead_of_refreshing(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    stale = rig.client.tokens
    fresh = Tokens.from_oauth_reply(rig.sim.issue_tokens())
    rig.client._unsaved = fresh
    await rig.client._refresh(stale)
    assert rig.client.tokens == fresh
    assert rig.saved == [fresh]


# -- defensive parsing -----------------------------------------------------------------------


async def test_settings_without_a_user_are_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)

    original = rig.client.request

    async def bare(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
        reply = await original(method, path, **kwargs)
        if path == "/users/settings":
            return replace(reply, body=b'{"limits": {"watchlist": {"item_count": true}}}')
        return reply

    rig.client.request = bare  # type: ignore[method-assign]
    with pytest.raises(ProviderError, match="slug"):
        await rig.provider.health()


async def test_unreadable_records_in_a_read_make_it_partial_and_uncached(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    original = rig.client.request

    async def with_garbage(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
        reply = await original(method, path, **kwargs)
        if path == "/sync/watchlist/movies":
            rows = [*json.loads(reply.body), {"type": "movie"}]
            headers = {**reply.headers, "X-Pagination-Item-Count": "2"}
            return replace(reply, body=json.dumps(rows).encode(), headers=headers)
        return reply

    rig.client.request = with_garbage  # type: ignore[method-assign]
    snapshot = await rig.read(Feature.WATCHLIST)
    assert not snapshot.complete
    assert snapshot.completeness.failure == "movies: 1 records could not be read"
    assert snapshot.find(MATRIX) is not None


async def test_a_page_that_is_not_a_list_ends_the_read_as_partial(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    original = rig.client.request

    async def odd(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
        reply = await original(method, path, **kwargs)
        if path == "/sync/ratings/shows":
            return replace(reply, body=b'{"oops": 1}', headers={"X-Pagination-Page-Count": "x"})
        return reply

    rig.client.request = odd  # type: ignore[method-assign]
    snapshot = await rig.read(Feature.RATINGS)
    assert "shows: page 1" in (snapshot.completeness.failure or "")
    assert (
        trakt_client._int_header({"X-Pagination-Page-Count": "x"}, "X-Pagination-Page-Count")
        is None
    )


def test_trakt_times_parse_as_aware_datetimes_and_format_in_utc_to_the_millisecond() -> None:
    assert trakt.parse_time("2024-01-01T00:00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert trakt.parse_time("yesterday") is None
    paris = timezone(timedelta(hours=2))
    assert (
        trakt.format_time(datetime(2024, 1, 1, 14, 0, 0, 123456, paris))
        == "2024-01-01T12:00:00.123Z"
    )


def test_not_found_entries_are_matched_to_requests_by_their_ids() -> None:
    movie = writes.Placement("movies", {"imdb": "tt0133093", "tmdb": 603})
    nested = writes.Placement("shows", {"tvdb": 334824}, 1, 2)
    show = writes.Placement("shows", {"tvdb": 334824})
    assert not listed({"movies": "none"}, movie)
    assert listed({"movies": [{"ids": {"imdb": "tt0133093", "tmdb": None}}]}, movie)
    assert not listed({"movies": [{"ids": {"imdb": "tt0000001"}}]}, movie)
    assert not listed({"movies": [{"ids": {"tvdb": 5}}, {"ids": {}}, "x"]}, movie)
    # a nested miss names a season of the show, not the show itself
    partial_miss = {"shows": [{"ids": {"tvdb": 334824}, "seasons": [{"number": 3}]}]}
    assert not listed(partial_miss, show)
    assert not listed(partial_miss, nested)
    assert listed({"shows": [{"ids": {"tvdb": 334824}}]}, nested)
    assert listed({"shows": [{"ids": {"tvdb": 334824}, "seasons": None}]}, nested)
    episodes = {
        "shows": [
            {"ids": {"tvdb": 334824}, "seasons": [{"number": 1, "episodes": [{"number": 2}]}]}
        ]
    }
    assert listed(episodes, nested)
    assert not listed(episodes, writes.Placement("shows", {"tvdb": 334824}, 1, 3))


def listed(not_found: object, placement: writes.Placement) -> bool:
    """Whether a reply with this `not_found` (as sent) names the item sent at `placement`."""
    reply = sync.parse_sync_reply({"not_found": not_found})
    assert reply.not_found is not None
    return writes.listed(reply.not_found, placement)
