"""A read's version names what it showed: equal versions, equal snapshots; any change, a new one.

The engine skips planning a settled pair while both reads keep their versions (engine/settle.py),
so a version that stayed the same over a change would hide the user's edit. Trakt names a read by
its records as received; SIMKL by the state of its cache, which only a pull changes.
"""

import aiohttp
import pytest

from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.provider import PackedRead
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import make_rig as make_simkl_rig, seeded_state
from tests.providers.test_trakt_provider import HEAT, make_rig as make_trakt_rig
from tests.reads import read_whole, same_snapshots

pytestmark = pytest.mark.usefixtures("socket_enabled")

W = Feature.WATCHLIST


async def test_trakt_reads_with_nothing_moved_are_one_version_and_one_snapshot(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    first = await read_whole(rig.provider, W, None)
    start = len(rig.app_requests)

    again = await rig.provider.read(W, None)

    assert first.version is not None
    assert isinstance(again, PackedRead)  # built once, handed back packed
    assert again.version == first.version
    assert same_snapshots(again.unpacked().snapshot, first.snapshot)
    assert rig.paths(start) == ["GET /sync/last_activities"]


async def test_a_title_listed_on_trakt_makes_a_new_version(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    first = await read_whole(rig.provider, W, None)

    rig.sim.seed_watchlist("movie", 2)  # Heat, listed on the website
    again = await read_whole(rig.provider, W, None)

    assert again.snapshot.find(HEAT) is not None
    assert again.version not in (None, first.version)


async def test_a_trakt_read_that_failed_midway_vouches_for_nothing(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_trakt_rig(serve, session)
    rig.sim.seed_watchlist("movie", 1)
    await read_whole(rig.provider, W, None)
    rig.provider.forget_reads(W, validated=True)
    rig.sim.quirks.server_error_on_page = 1
    rig.sim.quirks.server_errors = 100

    failed = await read_whole(rig.provider, W, None)

    assert not failed.snapshot.complete
    assert failed.version is None


async def test_simkl_reads_with_nothing_moved_are_one_version_and_one_snapshot(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_simkl_rig(serve, session)
    first = await read_whole(rig.provider, W, None)
    calls = len(rig.state.calls)

    again = await rig.provider.read(W, None)

    assert first.version is not None
    assert isinstance(again, PackedRead)
    assert again.version == first.version
    assert same_snapshots(again.unpacked().snapshot, first.snapshot)
    assert rig.state.calls[calls:] == []  # the activities only: no list was pulled


async def test_a_title_listed_on_simkl_makes_a_new_version(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_simkl_rig(serve, session)
    first = await read_whole(rig.provider, W, None)

    rig.state.user_lists(102, "plantowatch")
    again = await read_whole(rig.provider, W, None)

    assert again.version not in (None, first.version)
    assert again.snapshot is not first.snapshot


async def test_an_empty_simkl_body_not_kept_is_a_version_of_its_own(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rig = await make_simkl_rig(serve, session)
    first = await read_whole(rig.provider, W, None)
    rig.provider.forget_reads(W, validated=True)
    await read_whole(rig.provider, W, None)  # the cache anew, as a restart would leave it
    kept = await read_whole(rig.provider, W, None)
    rig.state.user_lists(102, "plantowatch")
    rig.state.quirks.empty_bodies = 1  # the full pull the move calls for answers nothing

    emptied = await read_whole(rig.provider, W, None)

    assert kept.version is not None
    assert emptied.version not in (None, kept.version, first.version)


async def test_a_simkl_provider_made_anew_never_repeats_a_version(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    state = seeded_state()
    one = await make_simkl_rig(serve, session, state)
    two = await make_simkl_rig(serve, session, state)

    assert (await read_whole(one.provider, W, None)).version != (
        await read_whole(two.provider, W, None)
    ).version
