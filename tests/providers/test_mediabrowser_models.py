"""The MediaBrowser client's typed replies: parsed once, lenient where reads were, strict where not.

A field of the wrong type reads as absent; what a call cannot do without raises the client's
invalid-response error. UserData remembers which state fields the server sent, because Emby's
whole-user-data update must send back exactly those.
"""

from datetime import UTC, datetime

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.mediabrowser import (
    EMBY,
    JELLYFIN,
    USER_STATE_FIELDS,
    MediaBrowserClient,
    UserData,
    parse_item,
    parse_user_data,
)
from custom_components.crosswatch.clients.mediabrowser.models import (
    parse_counts,
    parse_page,
    user_data_reply,
)

from .conftest import Serve
from .test_mediabrowser_support import DEVICE


def test_provider_ids_keep_text_and_whole_numbers_and_drop_the_rest() -> None:
    item = parse_item(
        {
            "Id": "a",
            "Type": "Movie",
            "ProviderIds": {"Tmdb": 603, "Tvdb": 12.0, "Imdb": "tt0133093", "X": True, "Y": 1.5},
        }
    )

    assert dict(item.provider_ids) == {"Tmdb": "603", "Tvdb": "12", "Imdb": "tt0133093"}


def test_fields_of_the_wrong_type_read_as_absent() -> None:
    item = parse_item(
        {
            "Id": 5,
            "Type": "Episode",
            "Name": ["no"],
            "ProductionYear": True,
            "ProviderIds": "nonsense",
            "ParentIndexNumber": "1",
            "IndexNumber": 2,
            "UserData": {"Rating": 10**400, "Played": "yes", "PlayCount": 1.5},
        }
    )

    assert (item.id, item.type, item.name, item.production_year) == (None, "Episode", None, None)
    assert (item.season_number, item.episode_number, dict(item.provider_ids)) == (None, 2, {})
    assert item.user_data == UserData(present=frozenset({"Rating", "Played", "PlayCount"}))
    assert parse_item({"Id": "a", "UserData": []}).user_data is None


def test_a_page_needs_its_items_and_a_count_needs_every_type() -> None:
    page = parse_page({"Items": [{"Id": "a"}, 7], "TotalRecordCount": False}, "Emby")
    assert ([row.id for row in page.items], page.total) == (["a"], None)
    with pytest.raises(CrossWatchInvalidResponseError, match="Emby sent a page without Items"):
        parse_page({"Items": None, "TotalRecordCount": 0}, "Emby")
    with pytest.raises(CrossWatchInvalidResponseError, match="no items object"):
        parse_page([], "Emby")

    assert parse_counts({"MovieCount": 2, "SeriesCount": 3}, ("Movie", "Series"), "Emby") == 5
    with pytest.raises(CrossWatchInvalidResponseError, match="without SeriesCount"):
        parse_counts({"MovieCount": 2, "SeriesCount": True}, ("Movie", "Series"), "Emby")


def test_user_data_knows_which_state_fields_the_server_sent_null_included() -> None:
    data = parse_user_data(
        {"Played": True, "PlayCount": 2, "LastPlayedDate": None, "Key": "k", "ItemId": "i"}
    )

    assert data.present == {"Played", "PlayCount", "LastPlayedDate"}
    assert data.wire() == {"Played": True, "PlayCount": 2, "LastPlayedDate": None}


def test_newer_user_data_wins_only_where_it_carries_a_field() -> None:
    read = parse_user_data(
        {
            "Played": False,
            "IsFavorite": True,
            "LastPlayedDate": "2024-03-01T20:00:00.0000000Z",
            "PlaybackPositionTicks": 5,
        }
    )
    written = UserData(played=True, play_count=1, present=frozenset({"Played", "PlayCount"}))

    now = read.overlaid(written)

    assert now.wire() == {
        "Played": True,
        "PlayCount": 1,
        "LastPlayedDate": "2024-03-01T20:00:00.0000000Z",
        "IsFavorite": True,
        "PlaybackPositionTicks": 5,
    }
    assert now.last_played == datetime(2024, 3, 1, 20, tzinfo=UTC)


def test_a_write_answer_is_the_whole_user_data_but_the_playback_position() -> None:
    answer = user_data_reply({"Played": True, "PlayCount": 1})
    assert answer is not None

    assert answer.as_whole().wire() == {
        "Rating": None,
        "Played": True,
        "PlayCount": 1,
        "LastPlayedDate": None,
        "IsFavorite": None,
    }
    with_position = user_data_reply({"Played": False, "PlaybackPositionTicks": 0})
    assert with_position is not None
    assert with_position.as_whole().present == set(USER_STATE_FIELDS)
    assert user_data_reply({"PlayCount": 1}) is None  # no Played: not a UserItemDataDto
    assert user_data_reply([]) is None


async def test_an_item_without_user_data_is_an_invalid_reply(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def bare(request: web.Request) -> web.Response:
        return web.json_response({"Id": request.match_info["item"], "Type": "Movie"})

    app = web.Application()
    app.router.add_get("/Items/{item}", bare)
    client = MediaBrowserClient(session, JELLYFIN, await serve(app), device=DEVICE, token="t")

    assert (await client.item("u", "abc")).id == "abc"
    with pytest.raises(CrossWatchInvalidResponseError, match="no user data"):
        await client.user_data("u", "abc")


async def test_a_write_answer_that_is_not_json_teaches_nothing_and_fails_nothing(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def garbled(request: web.Request) -> web.Response:
        return web.Response(text="<html>ok</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/emby/Users/{user}/PlayedItems/{item}", garbled)
    client = MediaBrowserClient(session, EMBY, await serve(app), device=DEVICE, token="t")

    assert await client.mark_played("u", "1", None) is None
