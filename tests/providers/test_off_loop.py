"""Work that grows with a reply runs in a worker thread, so the event loop keeps running."""

import threading
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.clients.off_loop import OFF_LOOP_FROM, off_loop
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.snapshot import Snapshot
from custom_components.crosswatch.providers.mediabrowser import (
    adapter as mediabrowser_adapter,
    library as mediabrowser_library,
)
from custom_components.crosswatch.providers.plex import library as plex_library
from custom_components.crosswatch.providers.trakt import adapter, entries
from tests.providers.conftest import Serve
from tests.providers.test_mediabrowser_support import make_rig as make_mediabrowser_rig
from tests.providers.test_plex_support import start_world
from tests.providers.test_simkl_support import make_rig as make_simkl_rig
from tests.reads import read_whole
from tests.simulators.mediabrowser import Flavour
from tests.simulators.plex import EPOCH, PlexSim
from tests.simulators.simkl import SimklState
from tests.simulators.trakt import TraktSim, seed_catalogue

from .test_trakt_provider import make_rig

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_large_work_runs_in_a_worker_thread_and_small_work_on_the_loop() -> None:
    loop_thread = threading.current_thread()

    small = await off_loop(threading.current_thread, size=OFF_LOOP_FROM - 1)
    large = await off_loop(threading.current_thread, size=OFF_LOOP_FROM)

    assert small is loop_thread
    assert large is not loop_thread


async def test_a_large_trakt_watchlist_is_keyed_and_indexed_off_the_event_loop(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = TraktSim(watchlist_limit=5000)
    seed_catalogue(sim)
    for number in range(OFF_LOOP_FROM):
        sim.add_movie(5000 + number, f"Film {number}", 2000, tmdb=90000 + number)
        sim.seed_watchlist("movie", 5000 + number)
    keyed_on: dict[int, threading.Thread] = {}  # records -> where they were keyed
    keying = entries.watchlist_entries

    def watched_keying(records: tuple[object, ...]) -> object:
        keyed_on[len(records)] = threading.current_thread()
        return keying(records)  # type: ignore[arg-type]

    monkeypatch.setattr(adapter, "watchlist_entries", watched_keying)
    rig = await make_rig(serve, session, sim)

    snapshot = await rig.read(Feature.WATCHLIST)

    films = max(keyed_on)
    assert films >= OFF_LOOP_FROM
    assert keyed_on[films] is not threading.current_thread()
    assert len(snapshot) >= films


async def test_a_large_simkl_library_is_keyed_and_indexed_off_the_event_loop(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = SimklState()
    for number in range(OFF_LOOP_FROM):
        state.add_title("movies", 1000 + number, f"Film {number}", 2000, tmdb=str(90000 + number))
        state.user_lists(1000 + number, "plantowatch")
    indexed_on: dict[int, threading.Thread] = {}  # entries -> where they were indexed
    build = Snapshot.build

    def watched_build(*args: Any, **kwargs: Any) -> Snapshot:
        built = build(*args, **kwargs)
        indexed_on[len(built)] = threading.current_thread()
        return built

    monkeypatch.setattr(Snapshot, "build", watched_build)
    rig = await make_simkl_rig(serve, session, state)

    read = await read_whole(rig.provider, Feature.WATCHLIST, None)

    assert len(read.snapshot) == OFF_LOOP_FROM
    assert indexed_on[OFF_LOOP_FROM] is not threading.current_thread()


async def test_a_large_plex_library_is_indexed_off_the_event_loop(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = PlexSim()
    sim.add_section("1", "movie", "Movies")
    for number in range(OFF_LOOP_FROM):
        sim.add_movie("1", f"Film {number}", 2000, tmdb=90000 + number, view_count=1,
                      last_viewed_at=EPOCH - number)  # fmt: skip
    built_on: list[threading.Thread] = []
    build = plex_library.Library.build

    def watched_build(*args: Any) -> plex_library.Library:
        built_on.append(threading.current_thread())
        return build(*args)

    monkeypatch.setattr(plex_library.Library, "build", watched_build)
    world = await start_world(serve, session, sim)

    snapshot = (await read_whole(world.provider(), Feature.HISTORY, None)).snapshot

    assert len(snapshot) == OFF_LOOP_FROM
    assert built_on
    assert threading.current_thread() not in built_on


async def test_a_large_jellyfin_library_is_indexed_for_writes_off_the_event_loop(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = await make_mediabrowser_rig(serve, session, Flavour.JELLYFIN, seeded=False)
    for number in range(OFF_LOOP_FROM):
        rig.state.add_movie(f"Film {number}", 2000, Tmdb=str(90000 + number))
    indexed_on: list[threading.Thread] = []
    index = mediabrowser_library.index

    def watched_index(*args: Any) -> object:
        indexed_on.append(threading.current_thread())
        return index(*args)

    monkeypatch.setattr(mediabrowser_adapter, "index", watched_index)

    await read_whole(
        rig.provider, Feature.RATINGS, None
    )  # a whole-library read, indexed for writes

    assert indexed_on
    assert threading.current_thread() not in indexed_on
