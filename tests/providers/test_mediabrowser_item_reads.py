"""Jellyfin and Emby read one played item by its id, keyed exactly as a library scan keys it.

The real clients against the simulator (`/Items/{id}` on Jellyfin, `/Users/{userId}/Items/{id}`
on Emby); then a targeted run from Jellyfin to Emby writes that one play, once.
"""

import asyncio
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunStatus
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import Read
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.engine.targeted import read_played
from tests.simulators.mediabrowser import Flavour

from .conftest import Serve
from .test_mediabrowser_support import FLAVOURS, WATCHED, make_rig

pytestmark = pytest.mark.usefixtures("socket_enabled")
H = Feature.HISTORY


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_one_item_read_keys_a_played_episode_and_film_as_the_full_read_does(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)
    episode, film = rig.library.dark_s1[1], rig.library.heat
    rig.state.watch(rig.user, episode, WATCHED)
    rig.state.watch(rig.user, film, WATCHED, count=2)
    read = await rig.provider.read(H, None)
    assert isinstance(read, Read)  # a first read is never packed
    full = read.snapshot

    for item_id in (episode, film):
        one = (await rig.provider.read_item(H, item_id)).snapshot
        assert not one.complete
        (entry,) = one.entries.values()
        assert full.entries[entry.item.key] == entry


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_unknown_or_unplayed_item_reads_as_an_empty_partial_read(
    serve: Serve, session: aiohttp.ClientSession, flavour: Flavour
) -> None:
    rig = await make_rig(serve, session, flavour)

    for item_id in ("0123456789abcdef0123456789abcdef", rig.library.matrix):
        read = await rig.provider.read_item(H, item_id)
        assert not read.snapshot.entries
        assert not read.complete


async def test_a_play_finished_on_jellyfin_reaches_emby_once_through_a_targeted_run(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    jellyfin = await make_rig(serve, session, Flavour.JELLYFIN)
    emby = await make_rig(serve, session, Flavour.EMBY)
    spec = PairSpec("jellyfin-emby", SyncMode.ADD_ONLY, frozenset({H}))
    with StateStore(tmp_path / "state.db") as store:
        pipeline = Pipeline(
            store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(0)),
            clock=lambda: WATCHED + timedelta(days=1),
        )  # fmt: skip
        assert (await pipeline.run(spec, jellyfin.provider, emby.provider)).status is (
            RunStatus.SUCCESS
        )
        jellyfin.state.watch(jellyfin.user, jellyfin.library.heat, WATCHED)
        played = await read_played(
            jellyfin.provider, jellyfin.library.heat, since=WATCHED, sleep=_no_sleep
        )
        assert played.read is not None

        result = await pipeline.run_item(spec, jellyfin.provider, emby.provider, played.read)

        assert result is not None
        assert result.status is RunStatus.TARGETED
        heat_on_emby = emby.state.user_data(emby.user.id, emby.library.heat)
        assert heat_on_emby.played is True
        assert heat_on_emby.play_count == 1
        await pipeline.run(spec, jellyfin.provider, emby.provider)
        assert emby.state.user_data(emby.user.id, emby.library.heat).play_count == 1
