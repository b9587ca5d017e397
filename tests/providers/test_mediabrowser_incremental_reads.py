"""Jellyfin and Emby bring a kept read up to date with what the server saved since it began.

When the question a kept read asks (`MinDateLastSavedForUser`) lists items, the answer itself
carries their user data: they are folded onto the kept read, which then reads as a scan would,
for a request or two instead of a scan of the library. A scan still runs once a day, after our
own writes until a scan shows them, and when the engine asks for a fresh read.
"""

from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import PackedRead, Read, WriteRequest
from custom_components.crosswatch.providers.emby import EmbyProvider
from custom_components.crosswatch.providers.jellyfin import JellyfinProvider
from custom_components.crosswatch.providers.mediabrowser import (
    FULL_READ_EVERY,
    MediaBrowserAccount,
    MediaBrowserProvider,
)
from custom_components.crosswatch.providers.mediabrowser.kept import may_hold, pack_held
from tests.reads import read_whole
from tests.simulators.mediabrowser import Flavour

from .conftest import Serve
from .test_mediabrowser_kept_reads import Asked, Clocks, kept_rig, read_counting
from .test_mediabrowser_support import FLAVOURS, WATCHED, Rig, make_rig
from .test_mediabrowser_write import HEAT

H, W, R = Feature.HISTORY, Feature.WATCHLIST, Feature.RATINGS
PLAYED = datetime(2026, 12, 7, 11, tzinfo=UTC)
MATRIX, HEAT_KEY, INCEPTION = "imdb:tt0133093", "imdb:tt0113277", "tmdb:movie:27205"
DARK, DARK_1X2 = "imdb:tt5753856", "imdb:tt5753856#s01e02"
QUESTION = Asked(questions=1, scans=0)
SCAN = Asked(questions=0, scans=1)


async def small_pages_rig(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, page_size: int
) -> tuple[Rig, MediaBrowserProvider, Clocks]:
    """As `kept_rig`, with pages of `page_size` items."""
    rig = await make_rig(serve, session, flavour, page_size=page_size)
    clocks = Clocks()
    rig.state.now = lambda: clocks.server
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)
    account = MediaBrowserAccount(
        rig.state.server_id, rig.state.server_name, rig.user.id, rig.user.name
    )
    kind = JellyfinProvider if flavour is Flavour.JELLYFIN else EmbyProvider
    provider = kind(rig.client, account, clock=lambda: clocks.provider)
    clocks.pass_time(3600)
    return rig, provider, clocks


async def read_afresh(provider: MediaBrowserProvider, feature: Feature) -> Read:
    """A scan, as the engine asks for one before it believes a loss."""
    provider.forget_reads(feature, validated=True)
    return await read_whole(provider, feature, None)


def reads_alike(folded: Read, scanned: Read) -> bool:
    """Whether a folded read holds what a scan holds, under the same version."""
    return (
        folded.snapshot.complete
        and scanned.snapshot.complete
        and folded.version == scanned.version
        and dict(folded.snapshot.entries) == dict(scanned.snapshot.entries)
        and dict(folded.snapshot.aliases) == dict(scanned.snapshot.aliases)
    )


def unplay(rig: Rig, item_id: str) -> None:
    """The user marks an item unplayed, as the servers store it."""
    data = rig.state.user_data(rig.user.id, item_id)
    data.played, data.play_count, data.last_played = False, 0, None


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(("played", "requests"), [("heat", 1), ("dark 1x2", 2)])
async def test_one_new_play_is_read_for_a_request_or_two_and_reads_as_a_scan_would(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour, played: str, requests: int
) -> None:
    # A film: the question's answer is the read. An episode: and its series, for the show's ids.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    clocks.pass_time(3600)
    item_id = rig.library.heat if played == "heat" else rig.library.dark_s1[1]
    rig.state.watch(rig.user, item_id, PLAYED)
    clocks.pass_time(3600)
    before = provider.requests_made

    folded, asked = await read_counting(rig, provider, H)

    assert provider.requests_made - before == requests
    assert asked.questions == 1
    assert set(folded.snapshot.entries) == {MATRIX, HEAT_KEY if played == "heat" else DARK_1X2}
    assert reads_alike(folded, await read_afresh(provider, H))


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_unplay_leaves_the_folded_read_and_the_fresh_read_that_confirms_it_is_a_scan(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    rig.state.watch(rig.user, rig.library.heat, WATCHED)
    await read_whole(provider, H, None)
    clocks.pass_time(3600)
    unplay(rig, rig.library.matrix)
    clocks.pass_time(3600)

    folded, asked = await read_counting(rig, provider, H)
    # The engine believes no loss from one read: it asks for a fresh one.
    provider.forget_reads(H, validated=True)
    confirmed, confirming = await read_counting(rig, provider, H)

    assert asked == QUESTION
    assert set(folded.snapshot.entries) == {HEAT_KEY}
    assert confirming == SCAN
    assert reads_alike(folded, confirmed)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_favourites_and_ratings_given_and_taken_back_fold_as_a_scan_reads_them(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)  # the Matrix a favourite
    rig.state.rate(rig.user, rig.library.matrix, 7.0)
    rig.state.rate(rig.user, rig.library.heat, 6.0)
    await read_whole(provider, W, None)
    await read_whole(provider, R, None)
    clocks.pass_time(3600)
    rig.state.user_data(rig.user.id, rig.library.matrix).is_favorite = False
    rig.state.favorite(rig.user, rig.library.dark)
    rig.state.rate(rig.user, rig.library.matrix, None)
    rig.state.rate(rig.user, rig.library.heat, 9.0)
    rig.state.rate(rig.user, rig.library.inception, 8.0)
    clocks.pass_time(3600)

    watchlist, asked_w = await read_counting(rig, provider, W)
    ratings, asked_r = await read_counting(rig, provider, R)

    assert (asked_w, asked_r) == (QUESTION, QUESTION)
    assert set(watchlist.snapshot.entries) == {DARK}
    assert {key: entry.payload for key, entry in ratings.snapshot.entries.items()} == {
        HEAT_KEY: Rated(9.0),
        INCEPTION: Rated(8.0),
    }
    assert reads_alike(watchlist, await read_afresh(provider, W))
    assert reads_alike(ratings, await read_afresh(provider, R))


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_item_deleted_from_the_library_leaves_only_with_the_daily_scan(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # A deletion changes no user data: no answer lists it, and folds do not make a read younger.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    del rig.state.items[rig.library.matrix]
    clocks.pass_time(FULL_READ_EVERY - 3600)
    rig.state.watch(rig.user, rig.library.heat, PLAYED)
    folded, asked = await read_counting(rig, provider, H)
    clocks.pass_time(3600)

    scanned, scanning = await read_counting(rig, provider, H)

    assert asked == QUESTION
    assert set(folded.snapshot.entries) == {MATRIX, HEAT_KEY}
    assert scanning == SCAN
    assert set(scanned.snapshot.entries) == {HEAT_KEY}


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_after_our_write_a_scan_shows_it_and_the_users_next_change_is_folded(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, W, None)
    await provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    clocks.pass_time(3600)
    shown, showing = await read_counting(rig, provider, W)
    rig.state.favorite(rig.user, rig.library.inception)
    clocks.pass_time(3600)

    folded, asked = await read_counting(rig, provider, W)

    assert showing == SCAN
    assert set(shown.snapshot.entries) == {MATRIX, HEAT_KEY}
    assert asked == QUESTION
    assert set(folded.snapshot.entries) == {MATRIX, HEAT_KEY, INCEPTION}
    assert reads_alike(folded, await read_afresh(provider, W))


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_late_write_of_ours_an_empty_answer_and_the_users_play_lose_nothing(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # Our write shows only reads later, the user plays an episode meanwhile, and the next list
    # answers empty: no question is asked before a scan shows our write, and nothing is lost.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    rig.state.quirks.visible_after_reads = 3
    await read_whole(provider, H, None)
    await provider.write(H, Action.ADD, [WriteRequest(HEAT, Watched.from_state(1, PLAYED))])
    rig.state.watch(rig.user, rig.library.dark_s1[0], PLAYED)
    rig.state.quirks.empty_replies = 1
    reads = []
    for _ in range(6):
        clocks.pass_time(3600)
        read, asked = await read_counting(rig, provider, H)
        reads.append((set(read.snapshot.entries), asked))

    everything = {MATRIX, HEAT_KEY, f"{DARK}#s01e01"}
    first_whole = next(n for n, (held, _) in enumerate(reads) if held == everything)
    assert first_whole >= 1  # our write did lag
    assert all(asked.questions == 0 for _, asked in reads[: first_whole + 1])  # scans
    assert reads[first_whole + 1 :] == [(everything, QUESTION)] * (5 - first_whole)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_answer_short_of_some_changes_is_made_good_by_the_next_one(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # A server answers the question with its first three items and a count to match: the next
    # question asks from before that answer, so the items it left out are folded then.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    clocks.pass_time(3600)
    for item_id in (rig.library.heat, rig.library.inception, *rig.library.dark_s1):
        rig.state.watch(rig.user, item_id, PLAYED)
    rig.state.quirks.tiny_replies = 1
    clocks.pass_time(3600)
    short, _ = await read_counting(rig, provider, H)
    clocks.pass_time(3600)

    whole, asked = await read_counting(rig, provider, H)

    assert len(short.snapshot) < 6
    assert asked.questions == 1
    assert len(whole.snapshot) == 6
    assert reads_alike(whole, await read_afresh(provider, H))


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_answer_with_nothing_new_serves_the_kept_read_as_it_is(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # The question after a fold asks from before it, so it lists the same play again: that is
    # nothing to fold, and the run after that asks past it and hears of nothing.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    clocks.pass_time(3600)
    rig.state.watch(rig.user, rig.library.heat, PLAYED)
    clocks.pass_time(3600)
    folded = await read_whole(provider, H, None)
    served = []
    for _ in range(2):
        clocks.pass_time(3600)
        before = provider.requests_made
        again = await provider.read(H, None)
        served.append((type(again), again.version, provider.requests_made - before))

    assert served == [(PackedRead, folded.version, 1)] * 2


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_answer_of_several_pages_is_read_page_by_page(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # Ratings read the whole library (seven items), so three changes are worth reading apart.
    rig, provider, clocks = await small_pages_rig(serve, session, flavour, page_size=2)
    await read_whole(provider, R, None)
    clocks.pass_time(3600)
    for item_id, rating in ((rig.library.heat, 6.0), (rig.library.inception, 7.0)):
        rig.state.rate(rig.user, item_id, rating)
    rig.state.rate(rig.user, rig.library.dark, 8.0)
    clocks.pass_time(3600)
    before = provider.requests_made

    folded, asked = await read_counting(rig, provider, R)

    assert asked == Asked(questions=2, scans=0)
    assert provider.requests_made - before == 2
    assert reads_alike(folded, await read_afresh(provider, R))


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_more_changes_than_are_worth_reading_apart_make_the_read_a_scan(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await small_pages_rig(serve, session, flavour, page_size=2)
    await read_whole(provider, H, None)
    clocks.pass_time(3600)
    for item_id in (rig.library.heat, rig.library.inception, rig.library.dark_s1[0]):
        rig.state.watch(rig.user, item_id, PLAYED)
    clocks.pass_time(3600)

    scanned, asked = await read_counting(rig, provider, H)

    # The question's first page, then the scan: its two pages and the episode's series.
    assert asked == Asked(questions=1, scans=3)
    assert len(scanned.snapshot) == 4
    assert scanned.snapshot.complete


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_unplayed_copy_of_a_film_leaves_the_read_only_with_its_last_played_copy(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # Two copies of one film are one entry of the read: each copy leaves on its own.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    copy = rig.state.add_movie("Heat", 1995, Imdb="tt0113277", Tmdb="949")
    rig.state.watch(rig.user, rig.library.heat, WATCHED)
    rig.state.watch(rig.user, copy, WATCHED)
    await read_whole(provider, H, None)
    clocks.pass_time(3600)
    unplay(rig, rig.library.heat)
    clocks.pass_time(3600)
    one_copy_left = await read_whole(provider, H, None)
    clocks.pass_time(3600)
    unplay(rig, copy)
    clocks.pass_time(3600)

    none_left, asked = await read_counting(rig, provider, H)

    assert HEAT_KEY in one_copy_left.snapshot.entries
    assert asked == QUESTION
    assert set(none_left.snapshot.entries) == {MATRIX}
    assert reads_alike(none_left, await read_afresh(provider, H))


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_play_of_an_item_the_watchlist_does_not_hold_serves_the_kept_watchlist_as_it_is(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # The watchlist's question lists every item whose user data changed, a play too: an item
    # that is no favourite, and that the kept read does not hold, changes nothing to fold.
    rig, provider, clocks = await kept_rig(serve, session, flavour)  # the Matrix a favourite
    kept = await read_whole(provider, W, None)
    clocks.pass_time(3600)
    rig.state.watch(rig.user, rig.library.heat, PLAYED)
    clocks.pass_time(3600)
    before = provider.requests_made

    served = await provider.read(W, None)

    assert isinstance(served, PackedRead)  # as kept: nothing unpacked, nothing folded
    assert served.version == kept.version
    assert provider.requests_made - before == 1


def test_the_filter_of_held_ids_never_calls_a_held_item_not_held() -> None:
    # "Not held" folds nothing, so it must be sure; "held" may be wrong now and then (a fold).
    def entry(n: int) -> tuple[str, Entry]:
        item = MediaItem.create(
            MediaType.MOVIE, title=f"Film {n}", year=2000, ids={"jellyfin": f"{n:032x}"}
        )
        return f"{n:032x}", Entry(item, Listed())

    rows = pack_held(entry(n) for n in range(5_000))
    others = [f"{n:032x}" for n in range(5_000, 10_000)]

    assert all(may_hold(rows, f"{n:032x}") for n in range(5_000))
    assert sum(may_hold(rows, other) for other in others) < len(others) * 0.05
