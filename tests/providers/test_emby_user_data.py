"""User-data writes on Jellyfin and Emby change only what they mean to change.

Played, favorite and rating removal have endpoints of their own on both servers. A numeric
rating is written through the UserData body: Jellyfin's fields are all nullable (absent means
unchanged), so it gets the rating alone; Emby's body is the whole user data, so it must carry the
played state and favorite as they are now, never as a lagging read shows them.
"""

import aiohttp
import pytest

from custom_components.crosswatch.clients.mediabrowser import UserData, parse_user_data
from custom_components.crosswatch.engine.payloads import Listed, Rated
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import WriteOutcome, WriteRequest
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks
from tests.simulators.openapi import RECORDED

from .conftest import Serve
from .test_mediabrowser_support import FLAVOURS, WATCHED, Rig, make_rig
from .test_mediabrowser_write import HEAT, MATRIX, PLAYED_AT, H, R, W, watched


async def test_emby_resets_what_a_bare_user_data_body_leaves_out(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """Why the Emby flavour sends the whole user data back: the simulator's model of Emby."""
    rig = await make_rig(serve, session, Flavour.EMBY)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)
    rig.state.favorite(rig.user, rig.library.matrix)

    await rig.client.call(
        "POST",
        f"/Users/{rig.user.id}/Items/{rig.library.matrix}/UserData",
        json_body={"Rating": 5.0},
    )

    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.rating, data.played, data.is_favorite) == (5.0, False, False)


# -- every user-data write changes only what it means to change ------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_item_marked_played_then_rated_in_one_run_stays_played_while_reads_lag(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    """The regression: Emby's rating write sent back the lagging read's `Played=false`."""
    rig = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(visible_after_reads=5))

    (played,) = await rig.provider.write(H, Action.ADD, [WriteRequest(MATRIX, watched())])
    await rig.provider.read(R, None)  # the run reads ratings before writing them; it lags
    (rated,) = await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(8.0))])

    assert (played.outcome, rated.outcome) == (WriteOutcome.CONFIRMED, WriteOutcome.CONFIRMED)
    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.played, data.play_count, data.last_played) == (True, 1, PLAYED_AT)
    assert data.rating == 8.0


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_favoriting_then_rating_while_reads_lag_keeps_the_favorite(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(visible_after_reads=5))
    rig.state.watch(rig.user, rig.library.heat, WATCHED, count=3)

    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    await rig.provider.write(R, Action.ADD, [WriteRequest(HEAT, Rated(6.0))])

    data = rig.state.user_data(rig.user.id, rig.library.heat)
    assert (data.is_favorite, data.rating) == (True, 6.0)
    assert (data.played, data.play_count, data.last_played) == (True, 3, WATCHED)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_unplaying_then_rating_while_reads_lag_does_not_mark_the_item_played_again(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(visible_after_reads=5))
    rig.state.watch(rig.user, rig.library.heat, WATCHED, count=2)

    await rig.provider.write(H, Action.REMOVE, [WriteRequest(HEAT, None)])
    await rig.provider.write(R, Action.ADD, [WriteRequest(HEAT, Rated(4.0))])

    data = rig.state.user_data(rig.user.id, rig.library.heat)
    assert (data.played, data.play_count, data.last_played, data.rating) == (False, 0, None, 4.0)


def user_data_bodies(rig: Rig) -> list[object]:
    """The bodies of every UserData update the server received."""
    return [
        r.body for r in rig.app[RECORDED] if r.method == "POST" and r.path.endswith("/UserData")
    ]


async def test_jellyfin_rating_writes_send_the_rating_alone(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED, count=2)

    await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(7.5))])

    assert user_data_bodies(rig) == [{"Rating": 7.5}]


async def test_emby_rating_writes_send_the_state_fields_as_the_server_holds_them_now(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED, count=2)
    rig.state.user_data(rig.user.id, rig.library.matrix).position = 1234

    await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(7.5))])

    # Only the state fields of UserItemDataDto: nothing the server computes (Key, ItemId,
    # ServerId, PlayedPercentage), and every value as the server holds it.
    assert user_data_bodies(rig) == [
        {
            "Rating": 7.5,
            "Played": True,
            "PlayCount": 2,
            "LastPlayedDate": "2024-03-01T20:00:00.0000000Z",
            "IsFavorite": False,
            "PlaybackPositionTicks": 1234,
        }
    ]
    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.played, data.play_count, data.last_played, data.position) == (
        True,
        2,
        WATCHED,
        1234,
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_played_favorite_and_rating_removal_use_their_own_endpoints_and_no_user_data_body(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.rate(rig.user, rig.library.heat, 6.0)

    await rig.provider.write(H, Action.ADD, [WriteRequest(HEAT, watched())])
    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    await rig.provider.write(R, Action.REMOVE, [WriteRequest(HEAT, None)])
    await rig.provider.write(H, Action.REMOVE, [WriteRequest(HEAT, None)])
    await rig.provider.write(W, Action.REMOVE, [WriteRequest(HEAT, None)])

    assert user_data_bodies(rig) == []
    writes = [(r.method, r.path.rsplit("/", 2)[-2]) for r in rig.app[RECORDED] if r.method != "GET"]
    played, favorite = (
        ("UserPlayedItems", "UserFavoriteItems")
        if flavour is Flavour.JELLYFIN
        else ("PlayedItems", "FavoriteItems")
    )
    assert writes == [
        ("POST", played),
        ("POST", favorite),
        ("DELETE", rig.library.heat),  # .../{item}/Rating
        ("DELETE", played),
        ("DELETE", favorite),
    ]


# -- the simulator's user data bodies, as the descriptions define them ---------------------------


async def test_a_jellyfin_user_data_body_replaces_what_it_carries_and_leaves_the_rest(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED, count=2)
    rig.state.rate(rig.user, rig.library.matrix, 9.0)
    path = f"/UserItems/{rig.library.matrix}/UserData"

    await rig.client.call("POST", path, params={"userId": rig.user.id}, json_body={"Rating": None})
    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.rating, data.played, data.play_count) == (9.0, True, 2)  # null: unchanged

    await rig.client.call(
        "POST", path, params={"userId": rig.user.id}, json_body={"PlayCount": 5, "IsFavorite": True}
    )
    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.rating, data.played, data.play_count, data.is_favorite) == (9.0, True, 5, True)
    assert data.last_played == WATCHED


async def test_an_emby_user_data_body_is_the_whole_new_user_data(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED, count=2)
    rig.state.rate(rig.user, rig.library.matrix, 9.0)

    await rig.client.call(
        "POST",
        f"/Users/{rig.user.id}/Items/{rig.library.matrix}/UserData",
        json_body={"Played": True, "IsFavorite": True, "PlayCount": 2},
    )

    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.played, data.is_favorite, data.play_count) == (True, True, 2)
    assert (data.rating, data.last_played) == (None, None)  # left out: null


async def test_an_emby_rating_is_not_written_when_the_played_state_cannot_be_known(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)

    async def no_state(user_id: str, item_id: str) -> UserData:
        # An item read whose user data lacks Played and IsFavorite.
        return parse_user_data({"Rating": 3.0})

    rig.client.user_data = no_state  # type: ignore[method-assign]

    (result,) = await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(8.0))])

    assert result.outcome is not WriteOutcome.CONFIRMED
    assert user_data_bodies(rig) == []
    assert rig.state.user_data(rig.user.id, rig.library.matrix).played
