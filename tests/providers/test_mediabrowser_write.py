"""Writing to Jellyfin and Emby: resolving library items, per-item results and `stored_as`."""

from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.crosswatch.clients.errors import (
    CrossWatchResponseError,
    CrossWatchTimeoutError,
)
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AuthError,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.providers.mediabrowser import NOT_IN_LIBRARY, MediaBrowserProvider
from tests.reads import read_whole
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks

from .conftest import Serve
from .test_mediabrowser_support import FLAVOURS, WATCHED, Rig, make_rig

H, W, R = Feature.HISTORY, Feature.WATCHLIST, Feature.RATINGS
PLAYED_AT = datetime(2023, 7, 14, 21, 15, 30, tzinfo=UTC)
MATRIX = MediaItem.create(MediaType.MOVIE, title="The Matrix", year=1999, ids={"imdb": "tt0133093"})
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"tmdb": 949})
DARK_S1E2 = MediaItem.create(
    MediaType.EPISODE, title="Dark", year=2017, show_ids={"tvdb": 334824}, season=1, episode=2
)


def watched(when: datetime = PLAYED_AT) -> Watched:
    return Watched.from_state(1, when)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_history_add_marks_the_library_item_played_at_the_source_date(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(MATRIX, watched())])

    assert result.outcome is WriteOutcome.CONFIRMED
    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.played, data.play_count, data.last_played) == (True, 1, PLAYED_AT)
    # The library item, with its local id, so the engine knows what the write landed on.
    assert result.stored_as is not None
    assert result.stored_as.local_tokens == (f"{flavour}:{rig.library.matrix}",)
    assert "imdb:tt0133093" in result.stored_as.tokens


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_marking_an_item_played_that_the_server_shows_played_adds_no_play_of_our_own(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # A dated mark counts one more play on both servers: one of our own making, that a two-way
    # pair would carry back as the user's (found on Plex by the full machine; the same holds here).
    rig = await make_rig(serve, session, flavour)
    rig.state.watch(rig.user, rig.library.heat, WATCHED, count=1)

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(HEAT, watched())])

    assert result.outcome is WriteOutcome.CONFIRMED
    data = rig.state.user_data(rig.user.id, rig.library.heat)
    assert (data.played, data.play_count, data.last_played) == (True, 1, WATCHED)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_episode_is_found_by_its_series_ids_and_numbering(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(DARK_S1E2, watched())])

    assert result.outcome is WriteOutcome.CONFIRMED
    assert rig.state.user_data(rig.user.id, rig.library.dark_s1[1]).played
    assert not rig.state.user_data(rig.user.id, rig.library.dark_s1[0]).played


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_history_removal_marks_the_item_unplayed(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.watch(rig.user, rig.library.heat, WATCHED, count=4)

    (result,) = await rig.provider.write(H, Action.REMOVE, [WriteRequest(HEAT, None)])

    assert result.outcome is WriteOutcome.CONFIRMED
    data = rig.state.user_data(rig.user.id, rig.library.heat)
    assert (data.played, data.play_count, data.last_played) == (False, 0, None)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_history_add_without_a_date_lets_the_server_date_it(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    await rig.provider.write(H, Action.ADD, [WriteRequest(HEAT, Watched())])

    assert rig.state.user_data(rig.user.id, rig.library.heat).played


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_the_watchlist_adds_and_removes_favorites(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    dark = MediaItem.create(MediaType.SHOW, title="Dark", year=2017, ids={"imdb": "tt5753856"})

    added = await rig.provider.write(W, Action.ADD, [WriteRequest(dark, Listed(WATCHED))])
    assert rig.state.user_data(rig.user.id, rig.library.dark).is_favorite
    removed = await rig.provider.write(W, Action.REMOVE, [WriteRequest(dark, None)])

    assert [r.outcome for r in (*added, *removed)] == [WriteOutcome.CONFIRMED] * 2
    assert not rig.state.user_data(rig.user.id, rig.library.dark).is_favorite


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_rating_is_written_on_the_decimal_scale_and_can_be_cleared(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(7.3))])
    assert rig.state.user_data(rig.user.id, rig.library.matrix).rating == 7.3
    await rig.provider.write(R, Action.UPDATE, [WriteRequest(MATRIX, Rated(9.0))])
    assert rig.state.user_data(rig.user.id, rig.library.matrix).rating == 9.0
    (cleared,) = await rig.provider.write(R, Action.REMOVE, [WriteRequest(MATRIX, None)])

    assert cleared.outcome is WriteOutcome.CONFIRMED
    assert rig.state.user_data(rig.user.id, rig.library.matrix).rating is None


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_rating_an_item_keeps_its_played_state_and_favorite(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED, count=2)
    rig.state.favorite(rig.user, rig.library.matrix)

    await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Rated(8.0))])

    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.rating, data.played, data.play_count, data.is_favorite) == (8.0, True, 2, True)
    assert data.last_played == WATCHED


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_item_without_provider_ids_is_found_by_exact_title_and_year_as_a_weak_match(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.items[rig.library.heat].provider_ids = {}

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(HEAT, watched())])

    assert result.outcome is WriteOutcome.CONFIRMED
    assert rig.provider.weak_matches == 1
    # stored_as carries only the local id: the engine records a write-through shadow for it.
    assert result.stored_as is not None
    assert result.stored_as.tokens == ()
    assert result.stored_as.local_tokens == (f"{flavour}:{rig.library.heat}",)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_the_title_fallback_refuses_another_year_a_namesake_and_a_contradicting_id(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.items[rig.library.heat].provider_ids = {}
    rig.state.add_movie("Solaris", 1972)
    rig.state.add_movie("Solaris", 1972)  # two items with one title and year: ambiguous
    rig.state.add_movie("Dune", 1984, Imdb="tt0087182")
    requests = [
        MediaItem.create(MediaType.MOVIE, title="Heat", year=1996, ids={"tmdb": 949}),
        MediaItem.create(MediaType.MOVIE, title="Heat", ids={"tmdb": 1}),  # no year
        MediaItem.create(MediaType.MOVIE, title="Solaris", year=1972, ids={"tmdb": 593}),
        MediaItem.create(MediaType.MOVIE, title="Dune", year=1984, ids={"imdb": "tt0000001"}),
        MediaItem.create(MediaType.SHOW, title="Heat", year=1995),  # not a movie
        MediaItem.create(MediaType.MOVIE, title="Not Here", year=2001, ids={"imdb": "tt9"}),
    ]

    results = await rig.provider.write(
        H, Action.ADD, [WriteRequest(i, watched()) for i in requests]
    )

    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.REJECTED, NOT_IN_LIBRARY)
    ] * len(requests)
    assert rig.provider.weak_matches == 0
    assert not any(data.played for data in rig.state.data.values())


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_every_copy_of_a_film_is_written_and_the_first_is_reported(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    copy = rig.state.add_movie("The Matrix", 1999, Imdb="tt0133093")  # a 4K library's copy

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(MATRIX, watched())])

    assert rig.state.user_data(rig.user.id, rig.library.matrix).played
    assert rig.state.user_data(rig.user.id, copy).played
    assert result.stored_as is not None
    assert result.stored_as.local_tokens == (f"{flavour}:{rig.library.matrix}",)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_item_read_from_this_server_is_written_by_its_own_id_without_stored_as(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.items[rig.library.heat].provider_ids = {}
    rig.state.add_movie("Heat", 1995)  # a namesake: the title alone would be ambiguous
    rig.state.watch(rig.user, rig.library.heat, WATCHED)
    (own,) = (await read_whole(rig.provider, H, None)).snapshot.entries.values()

    (result,) = await rig.provider.write(H, Action.REMOVE, [WriteRequest(own.item, None)])

    assert result.outcome is WriteOutcome.CONFIRMED
    assert result.stored_as is None  # it already was the library item
    assert not rig.state.user_data(rig.user.id, rig.library.heat).played


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_local_id_of_another_server_that_names_something_else_here_is_not_trusted(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    stranger = MediaItem.create(
        MediaType.MOVIE, title="Alien", year=1979, ids={flavour.value: rig.library.heat}
    )

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(stranger, watched())])

    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)
    assert not rig.state.user_data(rig.user.id, rig.library.heat).played


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_after_a_rescan_a_stale_item_id_is_looked_up_again_once(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])  # index built
    moved = rig.state.rescan()

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(MATRIX, watched())])

    assert result.outcome is WriteOutcome.CONFIRMED
    new_id = moved[rig.library.matrix]
    assert rig.state.user_data(rig.user.id, new_id).played
    assert result.stored_as is not None
    assert result.stored_as.local_tokens == (f"{flavour}:{new_id}",)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_item_gone_after_a_rescan_is_rejected_as_not_in_the_library(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    moved = rig.state.rescan()
    del rig.state.items[moved[rig.library.matrix]]

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(MATRIX, watched())])

    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)


async def test_a_404_that_persists_after_a_fresh_library_read_is_a_rejection(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)

    async def gone(*args: object) -> None:
        raise CrossWatchResponseError(404, "Jellyfin refused the request")

    rig.client.set_favorite = gone  # type: ignore[method-assign,assignment]

    (result,) = await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])

    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (CrossWatchResponseError(400, "Emby refused the request"), WriteOutcome.REJECTED),
        (CrossWatchResponseError(500, "Emby is having trouble"), WriteOutcome.UNKNOWN),
        (CrossWatchTimeoutError("Emby did not answer in time"), WriteOutcome.UNKNOWN),
    ],
)
async def test_a_refused_write_is_rejected_and_an_unanswered_one_unknown(
    serve: Serve, session: aiohttp.ClientSession, error: Exception, outcome: WriteOutcome
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)

    async def fail(*args: object) -> None:
        raise error

    rig.client.mark_played = fail  # type: ignore[method-assign,assignment]

    results = await rig.provider.write(
        H, Action.ADD, [WriteRequest(MATRIX, watched()), WriteRequest(HEAT, watched())]
    )

    assert [r.outcome for r in results] == [outcome, outcome]
    assert results[0].reason == str(error)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_revoked_token_during_writes_is_an_auth_error(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    rig.state.quirks.token_revoked = True

    with pytest.raises(AuthError):
        await rig.provider.write(W, Action.ADD, [WriteRequest(MATRIX, Listed())])


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_conflicts_and_ratings_without_a_rating_are_never_written(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    conflict = await rig.provider.write(R, Action.CONFLICT, [WriteRequest(MATRIX, Rated(3.0))])
    bare = await rig.provider.write(R, Action.ADD, [WriteRequest(MATRIX, Listed())])

    assert [r.outcome for r in (*conflict, *bare)] == [WriteOutcome.REJECTED] * 2
    assert rig.state.user_data(rig.user.id, rig.library.matrix).rating is None


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_write_seen_only_after_later_reads_is_still_confirmed_once(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(visible_after_reads=2))

    (result,) = await rig.provider.write(H, Action.ADD, [WriteRequest(MATRIX, watched())])
    first = await read_whole(rig.provider, H, None)
    second = await read_whole(rig.provider, H, None)
    third = await read_whole(rig.provider, H, None)

    assert result.outcome is WriteOutcome.CONFIRMED
    assert len(first.snapshot) == 0
    assert len(second.snapshot) == 0
    assert set(third.snapshot.entries) == {"imdb:tt0133093"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def on_clock(rig: Rig, clock: Clock) -> MediaBrowserProvider:
    """The rig's provider, keeping its library index for a minute of `clock`."""
    return type(rig.provider)(rig.client, rig.provider._account, clock=clock, library_ttl=60)


async def test_the_library_index_is_reused_within_its_lifetime_and_read_again_after(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    clock = Clock()
    provider = on_clock(rig, clock)

    await provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    scans = rig.state.item_reads
    clock.now = 59
    await provider.write(W, Action.ADD, [WriteRequest(MATRIX, Listed())])
    assert rig.state.item_reads == scans
    clock.now = 121
    await provider.write(W, Action.REMOVE, [WriteRequest(MATRIX, None)])
    assert rig.state.item_reads > scans


async def test_a_forgotten_library_index_is_read_again_before_the_next_write(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    clock = Clock()
    provider = on_clock(rig, clock)
    await provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    scans = rig.state.item_reads

    provider.forget_reads(H)
    await provider.write(W, Action.ADD, [WriteRequest(MATRIX, Listed())])

    assert rig.state.item_reads > scans


async def test_a_ratings_read_doubles_as_the_library_index_for_writes(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    await read_whole(rig.provider, R, None)
    reads = rig.state.item_reads

    await rig.provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])

    assert rig.state.item_reads == reads


async def test_a_partial_library_read_says_so_when_an_item_is_not_found(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(
        serve,
        session,
        Flavour.JELLYFIN,
        quirks=MediaBrowserQuirks(hang_at_start_index=2, hang_seconds=1.0),
        page_size=2,
        request_timeout=0.1,
        attempts=1,
    )
    late = MediaItem.create(MediaType.SHOW, title="Dark", year=2017, ids={"tvdb": 334824})

    results = await rig.provider.write(
        W, Action.ADD, [WriteRequest(MATRIX, Listed()), WriteRequest(late, Listed())]
    )

    assert results[0].outcome is WriteOutcome.CONFIRMED  # on the first page
    assert results[1].reason == f"{NOT_IN_LIBRARY} (library read partial)"


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_local_id_naming_an_item_of_another_type_is_not_trusted(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    show = MediaItem.create(
        MediaType.SHOW, title="Heat", year=1995, ids={flavour.value: rig.library.heat}
    )

    (result,) = await rig.provider.write(W, Action.ADD, [WriteRequest(show, Listed())])

    assert (result.outcome, result.reason) == (WriteOutcome.REJECTED, NOT_IN_LIBRARY)
