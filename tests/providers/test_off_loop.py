"""Work that grows with a reply runs in a worker thread, so the event loop keeps running."""

import threading
from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.clients.off_loop import OFF_LOOP_FROM, off_loop
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.snapshot import Snapshot
from custom_components.crosswatch.providers.trakt import adapter, entries
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import make_rig as make_simkl_rig
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

    read = await rig.provider.read(Feature.WATCHLIST, None)

    assert len(read.snapshot) == OFF_LOOP_FROM
    assert indexed_on[OFF_LOOP_FROM] is not threading.current_thread()
