"""Writing to SIMKL: per-item results from the replies, guarded removals, and full pulls after.

What a write does to later reads in detail, quirks included: test_simkl_honest_cache.py.
"""

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AuthError,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.engine.ratings import RatingScale
from custom_components.crosswatch.providers.simkl import CAPABILITIES, SimklAccount, SimklProvider
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import find, has, make_rig
from tests.reads import read_whole
from tests.simulators.openapi import RECORDED
from tests.simulators.simkl import SimklState

# The simulator listens on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")

WHEN = datetime(2015, 6, 1, 20, 30, tzinfo=UTC)
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"imdb": "tt0113277"})
MATRIX = MediaItem.create(MediaType.MOVIE, title="The Matrix", year=1999, ids={"tmdb": 603})
INCEPTION = MediaItem.create(MediaType.MOVIE, title="Inception", ids={"imdb": "tt1375666"})
UNKNOWN = MediaItem.create(MediaType.MOVIE, title="Nope", ids={"imdb": "tt9999999"})
TITLE_ONLY = MediaItem.create(MediaType.MOVIE, title="No Ids", year=2001)
DARK_E3 = MediaItem.create(
    MediaType.EPISODE, title="Dark", year=2017, show_ids={"tvdb": 334824}, season=1, episode=3
)
DARK_E1 = MediaItem.create(
    MediaType.EPISODE, title="Dark", year=2017, show_ids={"tvdb": 334824}, season=1, episode=1
)
SEVERANCE = MediaItem.create(
    MediaType.SHOW, title="Severance", ids={"tvdb": 371980, "plex_key": 77}
)


def rating_on_simkl(state: SimklState, simkl: int) -> int | None:
    return state.lists[simkl].rating


def test_capabilities_declare_that_a_watchlist_removal_clears_the_rating() -> None:
    assert CAPABILITIES.watchlist_removal_clears_rating is True
    assert CAPABILITIES.rating_scale is RatingScale.INTEGER_1_10
    assert CAPABILITIES.history.multiple_plays is False
    assert CAPABILITIES.history.sets_watched_at is True
    assert CAPABILITIES.history.precision == timedelta(seconds=1)
    assert CAPABILITIES.features == frozenset(Feature)
    assert CAPABILITIES.confirms_per_item is False


async def test_health_names_the_account_and_refuses_a_token_of_another_account(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await rig.provider.health()
    assert rig.provider.key == "simkl:51"
    assert rig.provider.name == "SIMKL (Andrew Masyk)"
    assert rig.provider.capabilities is CAPABILITIES
    other = SimklProvider(rig.api, SimklAccount("52", "someone"))
    with pytest.raises(AuthError, match="not 52"):
        await other.health()


async def test_health_learns_the_name_the_account_has_now(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    provider = SimklProvider(rig.api, SimklAccount("51", "51"))

    await provider.health()

    assert provider.name == "SIMKL (Andrew Masyk)"


async def test_watchlist_adds_answer_per_item_and_show_on_the_next_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    results = await rig.provider.write(
        Feature.WATCHLIST,
        Action.ADD,
        [
            WriteRequest(HEAT, Listed(WHEN)),
            WriteRequest(UNKNOWN, Listed()),
            WriteRequest(TITLE_ONLY, Listed()),
            WriteRequest(DARK_E3, Listed()),
        ],
    )
    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.CONFIRMED, None),
        (WriteOutcome.REJECTED, "not_found"),
        (WriteOutcome.REJECTED, "no_usable_ids"),
        (WriteOutcome.REJECTED, "simkl_lists_hold_titles_only"),
    ]
    # The add was back-dated, so SIMKL's delta leaves it out; the write had the movies pulled
    # in full, and that pull shows it.
    read = await read_whole(rig.provider, Feature.WATCHLIST, None)
    assert has(read.snapshot, "movie", {"imdb": "tt0113277"})
    assert find(read.snapshot, "movie", {"imdb": "tt0113277"}).payload == Listed(WHEN)
    assert rig.state.lists[102].status == "plantowatch"


async def test_a_watchlist_add_never_moves_a_title_out_of_another_list(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    results = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())]
    )
    assert results[0].outcome is WriteOutcome.REJECTED
    assert results[0].reason == "in_simkl_list:completed"
    assert rig.state.lists[100].status == "completed"  # the watched state survives


async def test_a_watchlist_add_is_refused_for_a_title_simkl_lists_could_not_be_read_for(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    # add-to-list moves a title between lists: into an unread bucket, it may move a completed
    # title to the watchlist, taking its watched state with it.
    rig = await make_rig(serve, session)
    rig.state.quirks.server_errors = 100
    read = await read_whole(rig.provider, Feature.WATCHLIST, None)
    assert not read.snapshot.completeness.complete
    rig.state.quirks.server_errors = 0

    results = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(MATRIX, Listed())]
    )

    assert (results[0].outcome, results[0].reason) == (
        WriteOutcome.REJECTED,
        "simkl_lists_unreadable",
    )
    assert rig.state.lists[100].status == "completed"  # the watched state survives


async def test_a_watchlist_removal_is_sent_only_for_titles_on_the_watchlist_and_clears_the_rating(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.user_rates(101, 6)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    await read_whole(rig.provider, Feature.RATINGS, None)

    results = await rig.provider.write(
        Feature.WATCHLIST,
        Action.REMOVE,
        [WriteRequest(INCEPTION, None), WriteRequest(MATRIX, None), WriteRequest(UNKNOWN, None)],
    )

    # The blueprint's removal reply is an empty 200: nothing per item.
    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.UNKNOWN, None),
        (WriteOutcome.REJECTED, "not_on_simkl_watchlist"),  # removing would delete its history
        (WriteOutcome.REJECTED, "not_on_simkl_watchlist"),
    ]
    assert 101 not in rig.state.lists
    assert 100 in rig.state.lists
    watchlist = await read_whole(rig.provider, Feature.WATCHLIST, None)
    ratings = await read_whole(rig.provider, Feature.RATINGS, None)
    assert not has(watchlist.snapshot, "movie", {"imdb": "tt1375666"})
    assert not has(ratings.snapshot, "movie", {"imdb": "tt1375666"})


async def test_a_watchlist_removal_reads_fresh_lists_before_deciding(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    results = await rig.provider.write(
        Feature.WATCHLIST, Action.REMOVE, [WriteRequest(INCEPTION, None)]
    )
    assert rig.state.activity_calls == 1
    assert results[0].outcome is WriteOutcome.UNKNOWN
    assert 101 not in rig.state.lists


async def test_a_watchlist_removal_refuses_titles_when_simkl_lists_cannot_be_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    rig.state.quirks.server_errors = 12
    results = await rig.provider.write(
        Feature.WATCHLIST, Action.REMOVE, [WriteRequest(INCEPTION, None)]
    )
    assert results[0].reason == "simkl_lists_unreadable"
    assert 101 in rig.state.lists


async def test_history_adds_group_episodes_per_show_confirm_from_statuses_and_show_next(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.HISTORY, None)
    results = await rig.provider.write(
        Feature.HISTORY,
        Action.ADD,
        [
            WriteRequest(DARK_E3, Watched.from_plays((WHEN,))),
            WriteRequest(HEAT, Watched.from_plays((WHEN,))),
            WriteRequest(UNKNOWN, Watched.from_state(1, None)),
            WriteRequest(
                MediaItem.create(
                    MediaType.SEASON, title="Dark", show_ids={"tvdb": 334824}, season=2
                ),
                Watched.from_state(1, None),
            ),
        ],
    )
    assert [r.outcome for r in results] == [
        WriteOutcome.CONFIRMED,
        WriteOutcome.CONFIRMED,
        WriteOutcome.REJECTED,
        WriteOutcome.CONFIRMED,
    ]
    bodies = [r.body for r in rig.app[RECORDED] if r.path == "/sync/history"]
    assert bodies == [
        {
            "shows": [
                {
                    "title": "Dark",
                    "year": 2017,
                    "ids": {"tvdb": 334824},
                    "seasons": [
                        {
                            "number": 1,
                            "episodes": [{"number": 3, "watched_at": "2015-06-01T20:30:00Z"}],
                        },
                        {"number": 2},
                    ],
                }
            ],
            "movies": [
                {
                    "title": "Heat",
                    "year": 1995,
                    "ids": {"imdb": "tt0113277"},
                    "watched_at": "2015-06-01T20:30:00Z",
                },
                {"title": "Nope", "ids": {"imdb": "tt9999999"}},
            ],
        }
    ]
    read = await read_whole(rig.provider, Feature.HISTORY, None)
    assert find(read.snapshot, "episode", {"tvdb": "334824"}, season=1, episode=3).payload == (
        Watched.from_plays((WHEN,))
    )
    assert find(read.snapshot, "movie", {"imdb": "tt0113277"}).payload == Watched.from_plays(
        (WHEN,)
    )


async def test_history_removals_unmark_episodes_and_remove_titles(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.HISTORY, None)
    await read_whole(rig.provider, Feature.RATINGS, None)
    results = await rig.provider.write(
        Feature.HISTORY,
        Action.REMOVE,
        [WriteRequest(DARK_E1, None), WriteRequest(MATRIX, None)],
    )
    assert [r.outcome for r in results] == [WriteOutcome.UNKNOWN, WriteOutcome.UNKNOWN]
    assert (1, 1) not in rig.state.lists[200].episodes
    assert 100 not in rig.state.lists
    history = (await read_whole(rig.provider, Feature.HISTORY, None)).snapshot
    ratings = (await read_whole(rig.provider, Feature.RATINGS, None)).snapshot
    assert not has(history, "episode", {"tvdb": "334824"}, season=1, episode=1)
    assert has(history, "episode", {"tvdb": "334824"}, season=1, episode=2)
    assert not has(history, "movie", {"imdb": "tt0133093"})
    assert not has(ratings, "movie", {"imdb": "tt0133093"})  # SIMKL deleted it with the title


async def test_ratings_are_written_for_titles_only_and_show_on_the_next_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.RATINGS, None)
    results = await rig.provider.write(
        Feature.RATINGS,
        Action.UPDATE,
        [
            WriteRequest(INCEPTION, Rated(7.4, WHEN)),
            WriteRequest(DARK_E1, Rated(5.0)),
            WriteRequest(UNKNOWN, Rated(3.0)),
            WriteRequest(HEAT, Listed()),
        ],
    )
    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.CONFIRMED, None),
        (WriteOutcome.REJECTED, "simkl_rates_titles_only"),
        (WriteOutcome.REJECTED, "not_found"),
        (WriteOutcome.REJECTED, "no_rating_given"),
    ]
    assert rating_on_simkl(rig.state, 101) == 7
    read = await read_whole(rig.provider, Feature.RATINGS, None)
    assert find(read.snapshot, "movie", {"imdb": "tt1375666"}).payload == Rated(7.0, WHEN)

    removed = await rig.provider.write(
        Feature.RATINGS, Action.REMOVE, [WriteRequest(INCEPTION, None)]
    )
    assert removed[0].outcome is WriteOutcome.UNKNOWN
    assert rating_on_simkl(rig.state, 101) is None
    assert not has(
        (await read_whole(rig.provider, Feature.RATINGS, None)).snapshot,
        "movie",
        {"imdb": "tt1375666"},
    )


async def test_ok_only_replies_give_unknown_results_and_the_next_full_pull_shows_them(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    await read_whole(rig.provider, Feature.WATCHLIST, None)
    rig.state.add_title("shows", 201, "Severance", 2022, tvdb="371980")
    rig.state.quirks.ok_only_replies = True
    results = await rig.provider.write(
        Feature.WATCHLIST, Action.ADD, [WriteRequest(SEVERANCE, Listed())]
    )
    assert results[0].outcome is WriteOutcome.UNKNOWN
    read = await read_whole(rig.provider, Feature.WATCHLIST, None)
    entry = find(read.snapshot, "show", {"tvdb": "371980"})
    assert entry.item.local_tokens == ()  # another server's local ids are not SIMKL's


async def test_writes_before_any_read_are_sent_and_shown_by_the_first_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session)
    results = await rig.provider.write(
        Feature.HISTORY, Action.ADD, [WriteRequest(DARK_E3, Watched.from_state(1, None))]
    )
    assert results[0].outcome is WriteOutcome.CONFIRMED
    ratings = await rig.provider.write(
        Feature.RATINGS, Action.ADD, [WriteRequest(HEAT, Rated(6.0))]
    )
    assert ratings[0].outcome is WriteOutcome.CONFIRMED
    assert rig.state.lists[102].status == "completed"  # SIMKL lists a movie it is asked to rate
    read = await read_whole(rig.provider, Feature.HISTORY, None)
    assert has(read.snapshot, "episode", {"tvdb": "334824"}, season=1, episode=3)


async def test_conflicts_are_never_written(serve: Serve, session: aiohttp.ClientSession) -> None:
    rig = await make_rig(serve, session)
    results = await rig.provider.write(
        Feature.RATINGS, Action.CONFLICT, [WriteRequest(HEAT, Rated(5.0))]
    )
    assert results[0].outcome is WriteOutcome.REJECTED
    assert rig.provider.requests_made == 0
