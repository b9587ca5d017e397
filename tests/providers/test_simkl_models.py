"""SIMKL's replies parse once in the client: what is empty, what fails, and what write bodies say."""

from datetime import UTC, datetime
import re

import pytest

from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.http import JsonValue
from custom_components.crosswatch.clients.simkl.models import (
    SyncEpisode,
    SyncObject,
    SyncSeason,
    parse_activities,
    parse_listed,
    parse_rated,
    parse_settings,
    parse_stats,
    parse_write_reply,
    write_body,
)


@pytest.mark.parametrize("body", [None, {}, {"shows": []}, {"movies": []}])
def test_null_or_a_reply_without_the_bucket_is_no_rows(body: JsonValue) -> None:
    assert parse_listed(body, "movies") == ()
    assert parse_rated(body, "movies") == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "SIMKL sent list where the movies list was expected"),
        ({"movies": None}, "SIMKL's movies list is not a list (it is NoneType)"),
        ({"movies": [1]}, "a SIMKL movies row is not an object"),
        ({"movies": [{"show": {}}]}, "a SIMKL movies row has no title object"),
        ({"movies": [{"movie": {"year": "²"}}]}, "a SIMKL movies row names no title"),
    ],
)
def test_bodies_of_another_shape_are_invalid(body: JsonValue, message: str) -> None:
    with pytest.raises(CrossWatchInvalidResponseError, match=re.escape(message)):
        parse_listed(body, "movies")


def test_episodes_come_from_the_row_and_its_numbered_seasons() -> None:
    row: JsonValue = {
        "show": {"title": "S", "year": 2001, "ids": {"tvdb": 7, "tmdb": 8.0, "x": 1.5, "y": True}},
        "episodes": [{"number": 1, "watched_at": "2020-01-01T00:00:00"}],
        "seasons": [{"number": 2, "episodes": [{"number": 3}]}, {"episodes": [{"number": 9}]}],
    }
    (listed,) = parse_listed({"shows": [row]}, "shows")
    assert listed.media.ids == {"tvdb": "7", "tmdb": "8"}
    assert [(e.season, e.number) for e in listed.episodes] == [(1, 1), (2, 3)]
    assert listed.episodes[0].watched_at == datetime(2020, 1, 1, tzinfo=UTC)
    odds: tuple[dict[str, JsonValue], ...] = (
        {"episodes": 5},
        {"seasons": True},
        {"seasons": [{"number": 1, "episodes": 2}]},
    )
    for odd in odds:
        with pytest.raises(CrossWatchInvalidResponseError, match="are not a list"):
            parse_listed({"shows": [{"show": {"title": "S"}, **odd}]}, "shows")
    # A movie's episodes are never read.
    (movie,) = parse_listed(
        {"anime": [{"anime": {}, "anime_type": "movie", "episodes": 5}]}, "anime"
    )
    assert movie.media.movie
    assert movie.episodes == ()


@pytest.mark.parametrize(
    ("value", "rating"), [(None, None), (0, None), ("8", 8), (7.0, 7), (10, 10)]
)
def test_ratings_are_whole_numbers_from_1_to_10(value: JsonValue, rating: int | None) -> None:
    (row,) = parse_rated({"movies": [{"movie": {"title": "A"}, "user_rating": value}]}, "movies")
    assert row.rating == rating


@pytest.mark.parametrize("value", [11, -1, 7.5, "x", True, [1], float("nan")])
def test_other_ratings_are_invalid(value: JsonValue) -> None:
    with pytest.raises(CrossWatchInvalidResponseError, match="not 1-10"):
        parse_rated({"movies": [{"movie": {"title": "A"}, "user_rating": value}]}, "movies")


def test_account_activities_and_stats() -> None:
    assert parse_settings({"account": {"id": 5}, "user": {"name": ""}}).name is None
    with pytest.raises(CrossWatchInvalidResponseError, match="did not name the account"):
        parse_settings({"account": {"id": True}})
    activities = parse_activities({"movies": {"all": "t", "x": 1}, "tv_shows": {}, "anime": None})
    assert activities.buckets == {"movies": {"all": "t", "x": None}}
    with pytest.raises(CrossWatchInvalidResponseError, match="activities for shows"):
        parse_activities({"tv_shows": []})
    stats = parse_stats({"movies": {"plantowatch": {"count": 2}}, "tv": []})
    assert stats.plan_to_watch == {"movies": 2, "tv": 0, "anime": 0}
    with pytest.raises(CrossWatchInvalidResponseError, match="the anime watchlist"):
        parse_stats({"anime": {"plantowatch": {"count": "2"}}})


def test_write_replies_and_bodies() -> None:
    assert parse_write_reply(None) == parse_write_reply([])
    reply = parse_write_reply(
        {
            "added": {
                "movies": 1,
                "shows": [{"ids": {"tvdb": 7, "x": None}}, "x"],
                "statuses": [{"request": {"ids": {"simkl": 1}}}, 3],
            },
            "not_found": {"movies": [{"ids": {"imdb": "tt1"}}], "shows": "none"},
        }
    )
    assert reply.counts == {"movies": 1}
    assert [e.ids for e in reply.added["shows"]] == [{"tvdb": "7"}, {}]
    assert [e.ids for e in reply.statuses] == [{"simkl": "1"}]
    assert [e.ids for e in reply.not_found["movies"]] == [{"imdb": "tt1"}]
    when = datetime(2020, 1, 1, 12, tzinfo=UTC)
    show = SyncObject(
        {"tvdb": 7},
        title="S",
        seasons=(SyncSeason(1, (SyncEpisode(2, when),)), SyncSeason(None, watched_at=when)),
    )
    assert write_body({"shows": [show]}) == {
        "shows": [
            {
                "title": "S",
                "ids": {"tvdb": 7},
                "seasons": [
                    {
                        "number": 1,
                        "episodes": [{"number": 2, "watched_at": "2020-01-01T12:00:00Z"}],
                    },
                    {"number": None, "watched_at": "2020-01-01T12:00:00Z"},
                ],
            }
        ]
    }
