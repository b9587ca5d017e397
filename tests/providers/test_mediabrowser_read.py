"""Reading Jellyfin and Emby: snapshots per feature, ids in any casing, and honest completeness."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

import aiohttp
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.http import JsonValue
from custom_components.crosswatch.clients.mediabrowser import ItemPage, parse_date, parse_item
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.provider import AuthError, ProviderError
from tests.reads import read_whole
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks

from .conftest import Serve
from .test_mediabrowser_support import FLAVOURS, WATCHED, Rig, make_rig

H, W, R = Feature.HISTORY, Feature.WATCHLIST, Feature.RATINGS
LATER = datetime(2024, 4, 2, 21, 30, tzinfo=UTC)


def keys(rig_read: object) -> set[str]:
    return set(rig_read.snapshot.entries)  # type: ignore[attr-defined]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_history_is_the_played_state_with_play_count_and_last_played_date(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    lib = rig.library
    rig.state.watch(rig.user, lib.matrix, WATCHED, count=3)
    rig.state.watch(rig.user, lib.dark_s1[0], LATER)
    rig.state.favorite(rig.user, lib.heat)  # a favourite that was never played

    read = await read_whole(rig.provider, H, None)

    snapshot = read.snapshot
    assert snapshot.complete
    assert read.checkpoint is None
    assert set(snapshot.entries) == {"imdb:tt0133093", "imdb:tt5753856#s01e01"}
    matrix = snapshot.entries["imdb:tt0133093"]
    assert matrix.payload == Watched.from_state(3, WATCHED)
    assert matrix.item.local_tokens == (f"{flavour}:{lib.matrix}",)
    episode = snapshot.entries["imdb:tt5753856#s01e01"].item
    assert (episode.title, episode.year, episode.season, episode.episode) == ("Dark", 2017, 1, 1)
    assert "tvdb:show:334824#s01e01" in episode.tokens
    assert "tvdb:episode:5000101" in episode.tokens  # its own id too


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_the_watchlist_is_the_users_favorites(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    rig.state.favorite(rig.user, rig.library.heat)
    rig.state.favorite(rig.user, rig.library.dark)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)

    read = await read_whole(rig.provider, W, None)

    assert set(read.snapshot.entries) == {"imdb:tt0113277", "imdb:tt5753856"}
    assert all(e.payload == Listed() for e in read.snapshot.entries.values())
    assert rig.provider.capabilities.rating_scale.value == "decimal_0_10"


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_the_servers_count_of_favourites_witnesses_a_watchlist_read(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    for item in (rig.library.heat, rig.library.dark, rig.library.matrix, rig.library.inception):
        rig.state.favorite(rig.user, item)

    whole = (await read_whole(rig.provider, W, None)).snapshot
    rig.state.quirks.tiny_replies = 1  # three favourites, the totals saying that is all
    rig.provider.forget_reads(W, validated=True)  # a scan, not the kept read
    short = (await read_whole(rig.provider, W, None)).snapshot

    assert await rig.provider.count_agrees(whole) is True
    assert short.complete
    assert len(short) == 3
    assert await rig.provider.count_agrees(short) is False
    # Played state and ratings have no count of their own on these servers.
    assert (
        await rig.provider.count_agrees((await read_whole(rig.provider, H, None)).snapshot) is None
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_count_reply_without_a_count_asked_for_is_a_provider_error(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    # A type the server does not count is a count reply without it: never taken as zero.
    with pytest.raises(CrossWatchInvalidResponseError, match="without NothingCount"):
        await rig.client.favorite_count(rig.user.id, ("Movie", "Nothing"))


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_ratings_read_the_decimal_user_rating_and_skip_unrated_and_impossible_values(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    lib = rig.library
    rig.state.rate(rig.user, lib.matrix, 7.5)
    rig.state.rate(rig.user, lib.heat, 0.0)  # zero is "unrated"
    rig.state.rate(rig.user, lib.inception, 12.0)  # not on the scale: never trusted
    rig.state.rate(rig.user, lib.dark_s1[2], 0.4)  # rated, below the normalized floor

    read = await read_whole(rig.provider, R, None)

    entries = read.snapshot.entries
    assert set(entries) == {"imdb:tt0133093", "imdb:tt5753856#s01e03"}
    assert entries["imdb:tt0133093"].payload == Rated(7.5)
    assert entries["imdb:tt5753856#s01e03"].payload == Rated(1.0)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_provider_ids_in_any_casing_give_the_same_items(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    plain = await make_rig(serve, session, flavour)
    odd = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(varied_casing=True))
    for rig in (plain, odd):
        for item_id in (rig.library.matrix, rig.library.heat, rig.library.inception):
            rig.state.watch(rig.user, item_id, WATCHED)
        for item_id in rig.library.dark_s1:
            rig.state.watch(rig.user, item_id, WATCHED)

    got = [await read_whole(rig.provider, H, None) for rig in (plain, odd)]

    assert keys(got[0]) == keys(got[1])
    assert "tmdb:movie:27205" in keys(got[1])  # TmdbCollection was never read as a movie id
    assert "tmdb:movie:435" not in str(got[1].snapshot.aliases)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_items_without_provider_ids_keep_their_title_and_local_id(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(
        serve, session, flavour, quirks=MediaBrowserQuirks(missing_provider_ids=1.0)
    )
    rig.state.watch(rig.user, rig.library.heat, WATCHED)

    (entry,) = (await read_whole(rig.provider, H, None)).snapshot.entries.values()

    assert entry.item.tokens == ()
    assert entry.key == f"{flavour}:{rig.library.heat}"
    assert (entry.item.title, entry.item.year) == ("Heat", 1995)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_timeout_in_mid_pagination_makes_the_snapshot_partial(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(
        serve,
        session,
        flavour,
        quirks=MediaBrowserQuirks(hang_at_start_index=2, hang_seconds=1.0),
        page_size=2,
        request_timeout=0.1,
        attempts=2,
    )
    for item_id in (rig.library.matrix, rig.library.heat, rig.library.inception):
        rig.state.watch(rig.user, item_id, WATCHED)

    read = await read_whole(rig.provider, H, None)

    snapshot = read.snapshot
    assert not snapshot.complete
    assert "the page at 2 failed" in snapshot.completeness.describe()
    assert set(snapshot.entries) == {"imdb:tt0133093", "imdb:tt0113277"}  # what was read stays


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_one_slow_page_is_retried_and_the_read_stays_complete(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(
        serve,
        session,
        flavour,
        quirks=MediaBrowserQuirks(hang_at_start_index=2, hangs=1, hang_seconds=1.0),
        page_size=2,
        request_timeout=0.1,
    )
    for item_id in (rig.library.matrix, rig.library.heat, rig.library.inception):
        rig.state.watch(rig.user, item_id, WATCHED)

    read = await read_whole(rig.provider, H, None)

    assert read.snapshot.complete
    assert len(read.snapshot) == 3


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_slow_pages_still_give_a_complete_snapshot(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(
        serve, session, flavour, quirks=MediaBrowserQuirks(slow_pages=0.02), page_size=1
    )
    for item_id in rig.library.dark_s1:
        rig.state.watch(rig.user, item_id, WATCHED)

    read = await read_whole(rig.provider, H, None)

    assert read.snapshot.complete
    assert len(read.snapshot) == 3
    assert read.snapshot.completeness.expected_total == 3


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_revoked_token_in_a_read_is_an_auth_error_not_a_partial_read(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour, quirks=MediaBrowserQuirks(token_revoked=True))

    with pytest.raises(AuthError):
        await read_whole(rig.provider, H, None)


def fake_pages(rig: Rig, pages: Sequence[ItemPage | Exception], *, series: bool = True) -> None:
    """Make the client answer item queries from `pages` (series lookups go to the server)."""
    original = rig.client.items_page
    answers = iter(pages)

    async def items_page(user_id: str, **query: object) -> ItemPage:
        if series and query.get("types") == ("Series",):
            return await original(user_id, **query)  # type: ignore[arg-type]
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    rig.client.items_page = items_page  # type: ignore[method-assign]


def page(rows: Sequence[Mapping[str, object]], total: int | None) -> ItemPage:
    """A page of the given rows, parsed as the client parses the server's."""
    # The rows are the test's JSON literals, as the server would send them.
    return ItemPage(tuple(parse_item(cast("Mapping[str, JsonValue]", row)) for row in rows), total)


def movie_row(n: int, played: bool = True) -> dict[str, object]:
    return {
        "Id": f"{n:032x}",
        "Type": "Movie",
        "Name": f"Film {n}",
        "ProductionYear": 2000 + n,
        "ProviderIds": {"Tmdb": str(n)},
        "UserData": {"Played": played, "PlayCount": 1},
    }


async def test_a_library_that_changes_while_it_is_read_gives_a_partial_snapshot(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN, page_size=1)
    fake_pages(rig, [page((movie_row(1),), 2), page((movie_row(2),), 3)])

    read = await read_whole(rig.provider, H, None)

    assert not read.snapshot.complete
    assert "changed while it was read (2 -> 3)" in read.snapshot.completeness.describe()


async def test_a_page_without_a_total_cannot_prove_completeness(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    fake_pages(rig, [page((movie_row(1),), None)])

    read = await read_whole(rig.provider, H, None)

    assert not read.snapshot.complete
    assert "did not say how many" in read.snapshot.completeness.describe()


async def test_a_short_answer_is_partial_even_when_pagination_ends(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN, page_size=5)
    fake_pages(rig, [page((movie_row(1), movie_row(2)), 4), page((), 4)])

    read = await read_whole(rig.provider, H, None)

    assert read.snapshot.completeness.describe() == "partial: 2 of 4 announced records read"


async def test_episodes_whose_series_cannot_be_read_are_left_out_and_the_read_is_partial(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)
    rig.state.watch(rig.user, rig.library.dark_s1[0], WATCHED)
    original = rig.client.items_page

    async def items_page(user_id: str, **query: object) -> ItemPage:
        if query.get("types") == ("Series",):
            raise ProviderError("Jellyfin did not answer in time")
        return await original(user_id, **query)  # type: ignore[arg-type]

    rig.client.items_page = items_page  # type: ignore[method-assign]

    read = await read_whole(rig.provider, H, None)

    assert set(read.snapshot.entries) == {"imdb:tt0133093"}
    assert "series of some episodes" in read.snapshot.completeness.describe()


async def test_series_lookups_raise_auth_errors_rather_than_hiding_them(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.EMBY)
    rig.state.watch(rig.user, rig.library.dark_s1[0], WATCHED)
    original = rig.client.items_page

    async def items_page(user_id: str, **query: object) -> ItemPage:
        if query.get("types") == ("Series",):
            raise AuthError("revoked")
        return await original(user_id, **query)  # type: ignore[arg-type]

    rig.client.items_page = items_page  # type: ignore[method-assign]

    with pytest.raises(AuthError):
        await read_whole(rig.provider, H, None)


async def test_rows_the_engine_cannot_identify_are_left_out(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN, page_size=10)
    odd_rows = (
        movie_row(1),
        {"Type": "Movie", "Name": "no id"},
        {"Id": "9" * 32, "Name": "no type", "UserData": {"Played": True}},
        {"Id": "a" * 32, "Type": "BoxSet", "Name": "a collection", "UserData": {"Played": True}},
        {"Id": "b" * 32, "Type": "Movie", "UserData": {"Played": True}},  # only its own id
        {"Id": "not-a-guid", "Type": "Movie", "UserData": {"Played": True}},  # nothing usable
        {
            "Id": "c" * 32,
            "Type": "Episode",
            "SeriesName": "Unnumbered",
            "UserData": {"Played": True},
        },
        {"Id": "f" * 32, "Type": "Movie", "Name": "Odd data", "UserData": "nonsense"},
    )
    fake_pages(rig, [page(odd_rows, len(odd_rows))])

    read = await read_whole(rig.provider, H, None)

    assert read.snapshot.complete
    entries = {e.item.title: e for e in read.snapshot.entries.values()}
    assert set(entries) == {"Film 1", None}
    assert entries[None].key == f"jellyfin:{'b' * 32}"


async def test_an_episode_whose_series_the_server_does_not_return_is_left_out_and_partial(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """Keyed by its local id alone, it would look like another item, its old key like a removal."""
    rig = await make_rig(serve, session, Flavour.JELLYFIN, page_size=10)
    lost = {
        "Id": "d" * 32,
        "Type": "Episode",
        "SeriesName": "Lost Series",
        "SeriesId": "e" * 32,
        "ParentIndexNumber": 1,
        "IndexNumber": 2,
        "UserData": {"Played": True, "LastPlayedDate": "2024-05-01T20:00:00.1234567Z"},
    }
    fake_pages(rig, [page((movie_row(1), lost), 2)])

    read = await read_whole(rig.provider, H, None)

    assert [e.item.title for e in read.snapshot.entries.values()] == ["Film 1"]
    assert read.snapshot.completeness.failure == ("1 series asked for by id were not returned")


def test_server_dates_parse_with_ticks_offsets_or_nothing_at_all() -> None:
    assert parse_date("2024-05-01T20:00:00.0000000Z") == datetime(2024, 5, 1, 20, tzinfo=UTC)
    assert parse_date("2024-05-01T22:00:00+02:00") == datetime(2024, 5, 1, 20, tzinfo=UTC)
    assert parse_date("2024-05-01T20:00:00") == datetime(2024, 5, 1, 20, tzinfo=UTC)
    assert parse_date("yesterday") is None
    assert parse_date("") is None
    assert parse_date(None) is None


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_page_without_items_is_an_error_and_the_read_partial(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    async def answer(*args: object, **kwargs: object) -> object:
        raise ProviderError(f"{rig.client.flavour.name} sent a page without Items")

    rig.client.items_page = answer  # type: ignore[method-assign,assignment]

    read = await read_whole(rig.provider, W, None)

    assert not read.snapshot.complete
    assert len(read.snapshot) == 0


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_jellyfin_counts_the_library_on_the_first_and_last_page_only(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # A count is a query of its own on a large Jellyfin library (jellyfin/jellyfin#16003).
    rig = await make_rig(serve, session, flavour, page_size=1)
    for item_id in rig.library.dark_s1:
        rig.state.watch(rig.user, item_id, WATCHED)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)
    rig.state.counted_lists = 0

    read = await read_whole(rig.provider, H, None)

    assert read.snapshot.complete
    assert read.snapshot.completeness.expected_total == 4
    # Emby counts every list whatever it is asked (four pages and the episodes' series);
    # Jellyfin only when asked.
    assert rig.state.counted_lists == (2 if flavour is Flavour.JELLYFIN else 5)


async def test_a_library_that_grows_between_uncounted_pages_shows_in_the_last_count(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_rig(serve, session, Flavour.JELLYFIN, page_size=1)
    # Jellyfin says 0 on the page it was told not to count; the last page counts 4, not 3.
    fake_pages(
        rig, [page((movie_row(1),), 3), page((movie_row(2),), None), page((movie_row(3),), 4)]
    )

    read = await read_whole(rig.provider, H, None)

    assert not read.snapshot.complete
    assert "changed while it was read (3 -> 4)" in read.snapshot.completeness.describe()
