"""Plex catches its kept scan up with what moved a tally, when that explains it (kept.py).

Through the real provider and client against the simulator. A tally that moved forward (a play,
a rating) costs the three tallies and one list per moved type, of the items dated at or after
the kept date, and the read is what a full scan would show. Whatever the list cannot explain
(an unplay, a count that a play and an unplay left standing, a play the server's clock dated
before the kept date, a list that fails) is a full scan, as before; a caught-up scan never shows
a loss, and goes a day after the full scan behind it.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.clients.plex import TalliedState
from custom_components.crosswatch.clients.plex.client import TYPE_MOVIE
from custom_components.crosswatch.engine.payloads import Feature, Rated, Watched
from custom_components.crosswatch.engine.provider import PackedRead, Read
from custom_components.crosswatch.engine.snapshot import Snapshot
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.plex.kept import FULL_SCAN_EVERY
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, start_world
from tests.reads import read_whole, same_snapshots
from tests.simulators.openapi import RECORDED
from tests.simulators.plex import EPOCH, Item, ListFault, Malformed, PlexSim, seed_library

pytestmark = pytest.mark.usefixtures("socket_enabled")

H, R = Feature.HISTORY, Feature.RATINGS
TALLIES = 3  # one request per tallied type: movies, shows, episodes
CAUGHT_UP = TALLIES + 1  # and the list of the one type that moved
LATER = 3600.0  # past the library TTL, as from one run to the next


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(serve: Serve, session: aiohttp.ClientSession) -> World:
    sim = PlexSim()
    seed_library(sim)
    return await start_world(serve, session, sim)


def provider(world: World, clock: Clock, **options: Any) -> PlexProvider:
    return world.provider(library_ttl=60, now=clock, **options)


async def full_scan(world: World, feature: Feature) -> Snapshot:
    """What a provider that keeps nothing reads now: a scan of the whole library."""
    return (await read_whole(world.provider(), feature, None)).snapshot


def changes_listed(world: World) -> Iterator[tuple[str, ...]]:
    """The query of every list of changes since a date the server was asked for so far."""
    for request in world.apps.server[RECORDED]:
        if request.path == "/library/all" and any(
            name in request.query for name in ("lastViewedAt>>", "lastRatedAt>>")
        ):
            yield request.query


def play(item: Item, at: int) -> None:
    item.view_count, item.last_viewed_at = item.view_count + 1, at


async def read_and_count(plex: PlexProvider, feature: Feature) -> tuple[Read, int]:
    asked = plex.requests_made
    read = await read_whole(plex, feature, None)
    return read, plex.requests_made - asked


async def test_one_new_play_is_read_with_four_requests_and_reads_as_a_full_scan(
    world: World,
) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    world.sim.finish_play(world.sim.item("Dark", 1, 2))  # the show itself is not listed
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert requests == CAUGHT_UP
    assert same_snapshots(read.snapshot, await full_scan(world, H))
    # The episode's show lent it its ids as in the full scan, though only the episode was listed.
    episode = next(e for e in read.snapshot.entries.values() if e.item.episode == 2)
    assert episode.item.show_ids().get("tvdb") == "334824"
    assert isinstance(episode.payload, Watched)
    # Episodes only, played after the second before the kept date (paged by headers).
    assert list(changes_listed(world)) == [("type", "lastViewedAt>>")]


async def test_a_caught_up_scan_is_kept_with_its_new_tallies(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    world.sim.finish_play(world.sim.item("Heat"))
    clock.now += LATER
    caught_up = await read_whole(plex, H, None)
    clock.now += LATER
    asked = plex.requests_made

    again = await plex.read(H, None)

    assert plex.requests_made - asked == TALLIES
    assert isinstance(again, PackedRead)  # the snapshot built for the caught-up scan
    assert again.version == caught_up.version
    assert same_snapshots(again.unpacked().snapshot, await full_scan(world, H))


async def test_a_play_stamped_in_the_same_second_as_the_kept_date_is_read(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    # Dark 1x1 holds the latest play, EPOCH - 500; 1x2 is played within the same second.
    play(world.sim.item("Dark", 1, 2), EPOCH - 500)
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert requests == CAUGHT_UP
    assert same_snapshots(read.snapshot, await full_scan(world, H))


async def test_plays_in_two_movie_sections_are_read_in_one_list(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    world.sim.finish_play(world.sim.item("Heat"))  # section 1
    world.sim.finish_play(world.sim.items[_matrix_4k(world)])  # section 3
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert requests == CAUGHT_UP
    assert same_snapshots(read.snapshot, await full_scan(world, H))


async def test_changes_that_fill_several_pages_are_read_page_by_page(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock, client=world.client(page_size=1))
    await read_whole(plex, H, None)
    world.sim.finish_play(world.sim.item("Heat"))
    world.sim.finish_play(world.sim.items[_matrix_4k(world)])
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    # Two films played, and the Matrix, whose play is the kept date itself: three pages of one.
    assert requests == TALLIES + 3
    assert same_snapshots(read.snapshot, await full_scan(world, H))


def _matrix_4k(world: World) -> str:
    return next(k for k, item in world.sim.items.items() if item.section == "3")


async def test_a_play_of_a_film_already_watched_is_caught_up(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    world.sim.finish_play(world.sim.item("The Matrix"))  # a third play: the count stands
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert requests == CAUGHT_UP
    assert same_snapshots(read.snapshot, await full_scan(world, H))


async def test_a_new_rating_is_caught_up_and_the_history_snapshot_is_still_served(
    world: World,
) -> None:
    clock = Clock()
    plex = provider(world, clock)
    history = await read_whole(plex, H, None)
    await read_whole(plex, R, None)
    heat = world.sim.item("Heat")
    heat.user_rating, heat.last_rated_at = 6.0, EPOCH + 10
    clock.now += LATER

    rated, requests = await read_and_count(plex, R)
    again = await plex.read(H, None)

    assert requests == CAUGHT_UP
    assert same_snapshots(rated.snapshot, await full_scan(world, R))
    assert any(
        isinstance(e.payload, Rated) and e.payload.value == 6.0
        for e in rated.snapshot.entries.values()
    )
    # Catching the ratings up changed no watched state: history's snapshot is handed back.
    assert isinstance(again, PackedRead)
    assert again.version == history.version


async def test_an_unplay_hidden_behind_a_play_in_the_count_is_read_by_a_full_scan(
    world: World,
) -> None:
    # The Matrix unplayed and Heat played: one film watched before and after, but a later date.
    # The list shows Heat only; the count it leaves (two) does not explain the tally (one).
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    matrix = world.sim.item("The Matrix")
    matrix.view_count, matrix.last_viewed_at = 0, None
    world.sim.finish_play(world.sim.item("Heat"))
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert requests > CAUGHT_UP + TALLIES  # the list, then the other tallies and a full scan
    assert same_snapshots(read.snapshot, await full_scan(world, H))
    assert not any(e.item.title == "The Matrix" for e in read.snapshot.entries.values())


async def test_an_unplay_is_read_by_a_full_scan_without_listing_changes(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    episode = world.sim.item("Dark", 1, 1)
    episode.view_count, episode.last_viewed_at = 0, None
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert requests > 2 * TALLIES
    assert list(changes_listed(world)) == []
    assert same_snapshots(read.snapshot, await full_scan(world, H))


async def test_an_unplayed_item_listed_with_its_old_date_is_a_loss_only_a_full_scan_shows(
    world: World,
) -> None:
    # A server that keeps the date of an item unplayed lists it with the changes; Heat's play
    # keeps the count where it was. Catching up would take the Matrix's play away: it scans.
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    world.sim.item("The Matrix").view_count = 0  # its lastViewedAt (the kept date) stays
    world.sim.finish_play(world.sim.item("Heat"))
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert len(list(changes_listed(world))) == 1
    assert requests > CAUGHT_UP + TALLIES
    assert same_snapshots(read.snapshot, await full_scan(world, H))


async def test_a_play_the_servers_clock_dated_before_the_kept_date_forces_a_full_scan(
    world: World,
) -> None:
    # Heat played after the scan, but stamped before the Matrix's play: the count moved, the
    # latest date did not, and the list of changes since that date cannot show it.
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    play(world.sim.item("Heat"), EPOCH - 90000)
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert requests > CAUGHT_UP + TALLIES
    assert same_snapshots(read.snapshot, await full_scan(world, H))
    assert any(e.item.title == "Heat" for e in read.snapshot.entries.values())


@pytest.mark.parametrize("fault", [ListFault.EMPTY, ListFault.MALFORMED])
async def test_a_list_of_changes_that_comes_back_wrong_forces_a_full_scan(
    world: World, fault: ListFault
) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    world.sim.finish_play(world.sim.item("Heat"))
    quirks = world.sim.quirks
    quirks.fault_path = "/library/all"  # the tallies are no list: only the changes take it
    if fault is ListFault.EMPTY:
        quirks.empty_replies = 1
    else:
        quirks.malformed_replies, quirks.malformed_shape = 1, Malformed.NULL_LIST
    clock.now += LATER

    read, requests = await read_and_count(plex, H)

    assert len(list(changes_listed(world))) == 1
    assert requests > CAUGHT_UP + TALLIES
    assert read.snapshot.complete
    assert same_snapshots(read.snapshot, await full_scan(world, H))


async def test_a_caught_up_scan_goes_a_day_after_its_full_scan(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    clock.now += FULL_SCAN_EVERY - LATER
    world.sim.finish_play(world.sim.item("Heat"))
    _, caught_up = await read_and_count(plex, H)
    clock.now += LATER

    _, requests = await read_and_count(plex, H)

    assert caught_up == CAUGHT_UP
    assert requests > 2 * TALLIES  # a day after the full scan: scanned again


async def test_a_fresh_read_the_engine_asks_for_after_catching_up_scans(world: World) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    world.sim.finish_play(world.sim.item("Heat"))
    clock.now += LATER
    await read_whole(plex, H, None)
    plex.forget_reads(H, validated=True)

    _, requests = await read_and_count(plex, H)

    assert requests > 2 * TALLIES


async def test_a_scan_packed_between_runs_is_caught_up_and_rests_packed_again(
    world: World,
) -> None:
    clock = Clock()
    plex = provider(world, clock)
    await read_whole(plex, H, None)
    for title in ("Heat", "The Matrix"):
        await plex.rest()
        world.sim.finish_play(world.sim.item(title))
        clock.now += LATER

        read, requests = await read_and_count(plex, H)

        assert requests == CAUGHT_UP
        assert same_snapshots(read.snapshot, await full_scan(world, H))
    await plex.rest()
    clock.now += LATER
    # The second catch-up's scan, packed: served again on its tallies alone.
    assert isinstance(await plex.read(H, None), PackedRead)


async def test_the_changes_since_a_date_list_the_items_dated_in_its_second_and_after(
    world: World,
) -> None:
    client = world.client()

    def at(epoch: int) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    # The Matrix's play is dated EPOCH - 86400; the 4K copy is unwatched and undated.
    same_second = await client.changed_since(TYPE_MOVIE, TalliedState.WATCHED, at(EPOCH - 86400))
    after = await client.changed_since(TYPE_MOVIE, TalliedState.WATCHED, at(EPOCH - 86399))

    assert [row.title for row in same_second.items] == ["The Matrix"]
    assert (same_second.all_pages, same_second.failure) == (True, None)
    assert after.items == ()
    # A date knows only "after" and "before" (`>>=`, `<<=`): the server refuses `>=`.
    async with world.session.get(
        f"{world.urls['server']}/library/all",
        params={"type": "1", "lastViewedAt>": str(EPOCH)},
        headers={"X-Plex-Token": world.sim.server_token, "Accept": "application/json"},
    ) as reply:
        assert reply.status == 400
