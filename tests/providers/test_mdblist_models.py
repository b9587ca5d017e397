"""MDBList's replies are parsed at the edge, in each shape the spec folder says MDBList uses."""

import pytest

from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.http import JsonValue
from custom_components.crosswatch.clients.mdblist.models import (
    NotFound,
    parse_watched,
    parse_watchlist,
    parse_write_reply,
)


def test_removals_count_under_deleted_or_removed_alike() -> None:
    deleted = parse_write_reply({"deleted": {"movies": 2, "shows": 0}})
    removed = parse_write_reply({"removed": {"movies": 2, "shows": 0}})
    assert deleted.done == removed.done == {"movies": 2, "shows": 0}


def test_not_found_may_list_the_items_or_only_count_them() -> None:
    listed = parse_write_reply(
        {
            "updated": {"movies": 1},
            "not_found": {"movies": [], "episodes": [{"ids": {"tmdb": 1359983}}]},
        }
    )
    counted = parse_write_reply({"added": {"movies": 0}, "not_found": {"movies": 1, "shows": 0}})
    assert listed.not_found["episodes"] == NotFound(({"tmdb": "1359983"},), 1)
    assert counted.not_found["movies"] == NotFound(count=1, itemized=False)


def test_a_removal_answered_204_with_no_body_says_nothing_per_item() -> None:
    reply = parse_write_reply(None)
    assert (dict(reply.done), dict(reply.not_found)) == ({}, {})


def test_a_watchlist_rows_id_is_its_tmdb_id() -> None:
    page = parse_watchlist(
        {
            "shows": [{"id": 70523, "title": "Dark", "imdb_id": "tt5753856", "tvdb_id": 334824,
                       "mediatype": "show", "release_year": 2017,
                       "watchlist_at": "2024-05-02T00:00:00Z"}],
            "pagination": {"has_more": False, "total_movies": 0, "total_shows": 1},
        }
    )  # fmt: skip
    [row] = page.rows
    assert dict(row.ids) == {"tmdb": "70523", "imdb": "tt5753856", "tvdb": "334824"}
    assert (page.has_more, page.total) == (False, 1)


def test_show_and_season_roll_ups_of_the_watched_list_are_left_out() -> None:
    page = parse_watched(
        {
            "shows": [{"show": {"title": "Dark", "ids": {"tmdb": 70523}}, "last_watched_at": None}],
            "seasons": [{"season": {"number": 1, "show": {"ids": {"tmdb": 70523}}}}],
            "episodes": [{"episode": {"season": 1, "number": 2, "show": {"ids": {"tmdb": 70523}}},
                          "last_watched_at": "2021-03-02T21:00:00Z"}],
        }
    )  # fmt: skip
    assert [(r.season, r.number) for r in page.rows] == [(1, 2)]


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"movies": "none"},
        {"movies": [], "pagination": {"next_cursor": None}},
        {"episodes": [{"episode": {"number": 2, "show": {"ids": {}}}}]},
        {"movies": [{"movie": {"ids": {}}, "last_watched_at": "yesterday"}]},
    ],
)
def test_a_watched_page_of_another_shape_is_an_invalid_reply(body: JsonValue) -> None:
    with pytest.raises(CrossWatchInvalidResponseError):
        parse_watched(body)
