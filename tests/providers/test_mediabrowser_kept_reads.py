"""Jellyfin and Emby serve a complete read again while the server saw no change since it began.

A no-change run then asks the server one question per feature (`MinDateLastSavedForUser`)
instead of scanning the whole library. It scans again after a write of ours, when the engine asks
for a fresh read, when the question fails, and once a day; what the user changed is folded on
(test_mediabrowser_incremental_reads.py).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from custom_components.crosswatch.engine.payloads import Feature, Listed
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import Read, WriteRequest
from custom_components.crosswatch.providers.emby import EmbyProvider
from custom_components.crosswatch.providers.jellyfin import JellyfinProvider
from custom_components.crosswatch.providers.mediabrowser import (
    FULL_READ_EVERY,
    MediaBrowserAccount,
    MediaBrowserProvider,
)
from tests.reads import read_whole, same_snapshots
from tests.simulators.mediabrowser import Flavour
from tests.simulators.openapi import RECORDED

from .conftest import Serve
from .test_mediabrowser_support import FLAVOURS, WATCHED, Rig, make_rig
from .test_mediabrowser_write import HEAT

H, W = Feature.HISTORY, Feature.WATCHLIST
NOON = datetime(2026, 12, 7, 12, tzinfo=UTC)


@dataclass
class Clocks:
    """The server's clock and the provider's, moved together by the test."""

    server: datetime = NOON
    provider: float = 1_000.0

    def pass_time(self, seconds: float) -> None:
        self.server += timedelta(seconds=seconds)
        self.provider += seconds


async def kept_rig(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> tuple[Rig, MediaBrowserProvider, Clocks]:
    rig = await make_rig(serve, session, flavour)
    clocks = Clocks()
    rig.state.now = lambda: clocks.server
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)
    rig.state.favorite(rig.user, rig.library.matrix)
    account = MediaBrowserAccount(
        rig.state.server_id, rig.state.server_name, rig.user.id, rig.user.name
    )
    kind = JellyfinProvider if flavour is Flavour.JELLYFIN else EmbyProvider
    provider = kind(rig.client, account, clock=lambda: clocks.provider)
    clocks.pass_time(3600)  # the seeding is an hour old when the first read begins
    return rig, provider, clocks


@dataclass(frozen=True)
class Asked:
    """What one read asked the server: questions (`MinDateLastSavedForUser`) and other lists."""

    questions: int
    scans: int


def item_lists(rig: Rig) -> Asked:
    lists = [r for r in rig.app[RECORDED] if r.method == "GET" and r.path.endswith("/Items")]
    questions = sum(any(k.lower() == "mindatelastsavedforuser" for k in r.query) for r in lists)
    return Asked(questions, len(lists) - questions)


async def read_counting(
    rig: Rig, provider: MediaBrowserProvider, feature: Feature
) -> tuple[Read, Asked]:
    """A read, and what it asked the server."""
    before = item_lists(rig)
    read = await read_whole(provider, feature, None)
    after = item_lists(rig)
    return read, Asked(after.questions - before.questions, after.scans - before.scans)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_read_with_nothing_saved_since_it_began_is_served_again_for_one_request(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    first, scanned = await read_counting(rig, provider, H)
    clocks.pass_time(3600)
    before = provider.requests_made

    again, asked = await read_counting(rig, provider, H)

    assert scanned == Asked(questions=0, scans=1)
    assert asked == Asked(questions=1, scans=0)
    assert provider.requests_made - before == 1
    assert again.version == first.version  # the run may settle
    assert same_snapshots(again.snapshot, first.snapshot)
    assert set(again.snapshot.entries) == {"imdb:tt0133093"}


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_change_the_user_makes_after_a_read_is_in_the_next_read(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    await read_whole(provider, W, None)
    clocks.pass_time(3600)
    rig.state.watch(rig.user, rig.library.heat, WATCHED)  # played on the server
    rig.state.user_data(rig.user.id, rig.library.matrix).is_favorite = False  # unfavourited
    clocks.pass_time(3600)

    history = (await read_whole(provider, H, None)).snapshot
    watchlist = (await read_whole(provider, W, None)).snapshot

    assert set(history.entries) == {"imdb:tt0133093", "imdb:tt0113277"}
    assert set(watchlist.entries) == set()


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_change_saved_in_the_second_a_read_began_is_not_lost(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # The server's Date header has whole seconds: the next question asks from the one before.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    clocks.server = clocks.server.replace(microsecond=900_000)
    await read_whole(provider, H, None)
    rig.state.watch(rig.user, rig.library.heat, WATCHED)  # the same second, after the read
    clocks.pass_time(3600)

    history = (await read_whole(provider, H, None)).snapshot

    assert "imdb:tt0113277" in history.entries


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_our_own_write_makes_the_next_read_of_its_feature_a_scan(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, W, None)
    await provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    rig.state.now = lambda: NOON  # even a server whose clock went back shows our write
    clocks.pass_time(3600)

    watchlist, asked = await read_counting(rig, provider, W)

    assert "imdb:tt0113277" in watchlist.snapshot.entries
    assert asked == Asked(questions=0, scans=1)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_fresh_read_the_engine_asks_for_scans_the_library(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    clocks.pass_time(3600)
    provider.forget_reads(H)  # only what is reused unasked: the kept read still needs asking
    _, asked = await read_counting(rig, provider, H)
    provider.forget_reads(H, validated=True)  # before believing a loss, or to verify a write

    _, scanned = await read_counting(rig, provider, H)

    assert asked == Asked(questions=1, scans=0)
    assert scanned == Asked(questions=0, scans=1)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_kept_read_a_day_old_is_read_again_in_full(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # Items deleted from the library change no user data: only a scan sees them go.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    del rig.state.items[rig.library.matrix]
    clocks.pass_time(FULL_READ_EVERY - 1)
    kept = (await read_whole(provider, H, None)).snapshot
    clocks.pass_time(1)

    scanned = (await read_whole(provider, H, None)).snapshot

    assert "imdb:tt0133093" in kept.entries
    assert "imdb:tt0133093" not in scanned.entries


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_when_the_question_fails_the_library_is_scanned(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    await read_whole(provider, H, None)
    rig.state.watch(rig.user, rig.library.heat, WATCHED)
    clocks.pass_time(3600)
    rig.state.quirks.malformed_replies = 1  # the question's reply cannot be read

    history, asked = await read_counting(rig, provider, H)

    assert history.snapshot.complete
    assert "imdb:tt0113277" in history.snapshot.entries
    assert asked == Asked(questions=1, scans=1)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_partial_read_is_never_served_again(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    rig.state.quirks.malformed_replies = 1  # the first page of the scan cannot be read
    partial = (await read_whole(provider, H, None)).snapshot
    clocks.pass_time(3600)

    again, scanned = await read_counting(rig, provider, H)

    assert not partial.complete
    assert again.snapshot.complete
    assert set(again.snapshot.entries) == {"imdb:tt0133093"}
    assert scanned == Asked(questions=0, scans=1)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_write_of_ours_that_shows_only_reads_later_is_never_hidden_by_a_kept_read(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    # Found by the harness: a server behind a cache shows our write late, dated when we made
    # it, so before the scan a kept read would come from; no question would ever find it.
    rig, provider, clocks = await kept_rig(serve, session, flavour)
    rig.state.quirks.visible_after_reads = 3
    await read_whole(provider, W, None)
    await provider.write(W, Action.ADD, [WriteRequest(HEAT, Listed())])
    reads = []
    for _ in range(6):
        clocks.pass_time(3600)
        read, asked = await read_counting(rig, provider, W)
        reads.append(("imdb:tt0113277" in read.snapshot.entries, asked))

    first_shown = next(n for n, (shown, _) in enumerate(reads) if shown)
    scan, question = Asked(questions=0, scans=1), Asked(questions=1, scans=0)
    assert first_shown >= 1  # it did lag
    # Scans until one shows it, then that read is kept: questions, and it stays shown.
    assert reads == [(False, scan)] * first_shown + [(True, scan)] + [(True, question)] * (
        5 - first_shown
    )
