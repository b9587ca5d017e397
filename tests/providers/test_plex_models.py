"""Plex's replies parsed into records: strict about a reply's shape, lenient about a field."""

from datetime import UTC, datetime

import pytest

from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.plex import (
    Metadata,
    PlexConnection,
    parse_first_characters,
    parse_matches,
    parse_metadata,
    parse_page,
    parse_servers,
)
from custom_components.crosswatch.engine.items import MediaType
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.providers.plex import LibraryRecord, library


def test_a_full_record_reads_every_field() -> None:
    row = parse_metadata(
        {
            "ratingKey": "12", "type": "episode", "title": "Secrets", "year": 2017,
            "guid": "plex://episode/1", "Guid": [{"id": "tvdb://6"}, {"id": 7}, "imdb://x"],
            "grandparentRatingKey": 11, "grandparentGuid": "plex://show/2",
            "grandparentTitle": "Dark", "parentIndex": 1, "index": 2, "viewCount": 3,
            "lastViewedAt": 1_600_000_000, "userRating": "7.5", "lastRatedAt": 1_600_000_001.5,
            "watchlistedAt": 1_600_000_002,
        }
    )  # fmt: skip
    assert row == Metadata(
        rating_key="12",
        type="episode",
        title="Secrets",
        year=2017,
        guids=("plex://episode/1", "tvdb://6"),
        grandparent_rating_key="11",
        grandparent_guid="plex://show/2",
        grandparent_title="Dark",
        parent_index=1,
        index=2,
        view_count=3,
        last_viewed_at=datetime.fromtimestamp(1_600_000_000, UTC),
        user_rating="7.5",
        last_rated_at=datetime.fromtimestamp(1_600_000_001.5, UTC),
        watchlisted_at=datetime.fromtimestamp(1_600_000_002, UTC),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, Metadata(None, None, None, None, ())),
        ({"ratingKey": None, "year": True, "title": 1984}, Metadata(None, None, None, None, ())),
        ({"ratingKey": True, "Guid": "imdb://tt1"}, Metadata(None, None, None, None, ())),
        ({"ratingKey": 5, "Guid": {"id": "imdb://tt1"}}, Metadata("5", None, None, None, ())),
        ({"guid": "plex://movie/1", "Guid": 5}, Metadata(None, None, None, None, None)),
        (
            {"guid": "plex://movie/1", "Guid": 0},
            Metadata(None, None, None, None, ("plex://movie/1",)),
        ),
    ],
)
def test_a_field_of_the_wrong_type_reads_as_missing(
    raw: dict[str, object], expected: Metadata
) -> None:
    assert parse_metadata(raw) == expected


@pytest.mark.parametrize("stamp", [True, 0, -5, "1600000000", float("nan"), 1e300])
def test_a_date_that_is_no_date_reads_as_missing(stamp: object) -> None:
    row = parse_metadata({"lastViewedAt": stamp, "lastRatedAt": stamp, "watchlistedAt": stamp})
    assert (row.last_viewed_at, row.last_rated_at, row.watchlisted_at) == (None, None, None)


@pytest.mark.parametrize("rating", [True, None, [7], {"value": 7}])
def test_a_rating_that_is_neither_number_nor_text_reads_as_missing(rating: object) -> None:
    assert parse_metadata({"userRating": rating}).user_rating is None


def test_a_page_takes_its_total_from_the_header_when_the_container_has_none() -> None:
    body = {"MediaContainer": {"size": 1, "offset": "0", "Metadata": [{"ratingKey": "1"}]}}
    page = parse_page(body, {"X-Plex-Container-Total-Size": "9"})
    assert (len(page.items), page.offset, page.total) == (1, 0, 9)
    assert parse_page(body, {}).total is None


@pytest.mark.parametrize(
    ("container", "problem"),
    [
        ({"size": 2, "Metadata": [{"ratingKey": "1"}, "2"]}, "1 non-records"),
        ({"size": 2, "Metadata": [{"ratingKey": "1"}]}, "1 Metadata records in a container of 2"),
        ({"Metadata": None}, "Metadata that is not a list"),
        ({"size": 1}, "without its Metadata"),
    ],
)
def test_a_list_reply_that_is_not_one_is_an_invalid_response(
    container: dict[str, object], problem: str
) -> None:
    with pytest.raises(CrossWatchInvalidResponseError, match=problem):
        parse_matches({"MediaContainer": container})


def test_a_first_character_group_without_its_size_is_an_invalid_response() -> None:
    body = {"MediaContainer": {"Directory": [{"size": "3"}, {"title": "B"}]}}
    with pytest.raises(CrossWatchInvalidResponseError, match="without its size"):
        parse_first_characters(body)
    assert parse_first_characters({"MediaContainer": {"Directory": [{"size": "3"}]}}) == (3,)


def test_a_server_whose_connections_are_not_a_list_has_none() -> None:
    resource = {"provides": "server", "accessToken": "t", "clientIdentifier": "m", "name": "S"}
    [bare] = parse_servers([{**resource, "connections": 5}])
    assert bare.connections == ()
    [listed] = parse_servers([{**resource, "connections": [{"uri": "http://a"}, {"uri": 1}]}])
    assert listed.connections == (PlexConnection("http://a", local=False, relay=False),)


def test_a_library_record_whose_ids_cannot_be_read_counts_against_what_it_held() -> None:
    records: list[LibraryRecord] = []
    unreadable = {Feature.HISTORY: 0, Feature.RATINGS: 0}
    rows = [
        parse_metadata({"ratingKey": "1", "title": "Heat", "Guid": 5, "viewCount": 1}),
        parse_metadata({"title": "Alien", "userRating": 8}),
        parse_metadata({"ratingKey": "3", "title": "Dune", "Guid": [{"id": "imdb://tt1160419"}]}),
    ]
    library._collect(records, unreadable, rows, MediaType.MOVIE, {})
    assert [r.rating_key for r in records] == ["3"]
    assert unreadable == {Feature.HISTORY: 1, Feature.RATINGS: 1}
