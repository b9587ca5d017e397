"""SIMKL's quirks through the whole engine: real clients, simulators, a Pipeline and a StateStore.

A Trakt → SIMKL watchlist pair (add only) writes to a SIMKL that answers `{"ok": true}` and
silently drops every second write; later the integration restarts (a new store on the same file,
new providers with cold caches) and SIMKL moves its activity stamps for no reason. Nothing may
be tombstoned as a user's removal, and nothing SIMKL dropped may count as synced.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunResult, RunStatus
from custom_components.crosswatch.engine.plan import PairSide, Reason
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

# The simulators listen on loopback.
pytestmark = pytest.mark.usefixtures("socket_enabled")

W = Feature.WATCHLIST
PAIR = "trakt-simkl"
SPEC = PairSpec(PAIR, SyncMode.ADD_ONLY, frozenset({W}))
LISTED = datetime(2019, 5, 1, 12, 0, tzinfo=UTC)  # long before SIMKL's clock: back-dated adds

# (title, year, imdb, tmdb, trakt id, simkl id)
MOVIES = [
    ("The Matrix", 1999, "tt0133093", 603, 1, 100),
    ("Heat", 1995, "tt0113277", 949, 2, 102),
    ("Inception", 2010, "tt1375666", 27205, 3, 101),
    ("Alien", 1979, "tt0078748", 348, 4, 103),
]


async def _no_save(tokens: Tokens) -> None:
    return None


class SimTime:
    """Fake time for a client that moves the SIMKL simulator's clock along with it."""

    def __init__(self, state: simkl_sim.SimklState) -> None:
        self.state, self.now = state, 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.state.advance(seconds)


@dataclass
class World:
    """Both services and how to reach them; providers and pipelines are made per 'process'."""

    session: aiohttp.ClientSession
    trakt: trakt_sim.TraktSim
    simkl: simkl_sim.SimklState
    trakt_base: str
    simkl_base: str
    db: Path
    clock: list[datetime]

    def simkl_provider(self) -> SimklProvider:
        time = SimTime(self.simkl)
        api = SimklApi(
            self.session,
            simkl_sim.CLIENT_ID,
            simkl_sim.TOKEN,
            base_url=self.simkl_base,
            retry=RetryPolicy(backoff=0),
            sleep=time.sleep,
            clock=time.clock,
        )
        return SimklProvider(api, SimklAccount("51", "Andrew"), now=lambda: self.simkl.now)

    def trakt_provider(self) -> TraktProvider:
        time = self.trakt.client_time()
        client = TraktClient(
            self.session,
            TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
            Tokens.from_oauth_reply(self.trakt.issue_tokens()),
            _no_save,
            base_url=self.trakt_base,
            retry=RetryPolicy(backoff=0),
            sleep=time.sleep,
            clock=time.clock,
        )
        return TraktProvider(client, slug=self.trakt.slug)


@dataclass
class Process:
    """One life of the integration: a store, a pipeline and providers with their caches."""

    world: World
    store: StateStore
    pipeline: Pipeline
    trakt: TraktProvider
    simkl: SimklProvider

    async def run(self) -> RunResult:
        self.world.clock[0] += timedelta(hours=1)
        self.world.simkl.advance(3600)
        return await self.pipeline.run(SPEC, self.trakt, self.simkl)

    def scope(self) -> Scope:
        return Scope(PAIR, W, PairSide.B.value)


def start(world: World) -> Process:
    store = StateStore(world.db)
    pipeline = Pipeline(
        store,
        run_blocking=asyncio.to_thread,
        memo=SnapshotMemo(timedelta(0)),
        clock=lambda: world.clock[0],
    )
    return Process(world, store, pipeline, world.trakt_provider(), world.simkl_provider())


@pytest.fixture
async def world(serve: Serve, session: aiohttp.ClientSession, tmp_path: Path) -> World:
    tsim = trakt_sim.TraktSim(watchlist_limit=1000)
    ssim = simkl_sim.SimklState()
    for title, year, imdb, tmdb, trakt_id, simkl_id in MOVIES:
        tsim.add_movie(trakt_id, title, year, imdb=imdb, tmdb=tmdb)
        ssim.add_title("movies", simkl_id, title, year, imdb=imdb, tmdb=str(tmdb))
    # A title only SIMKL has, listed before CrossWatch ever ran: the account has activity
    # stamps, so reads after our writes are deltas (which never show back-dated adds).
    ssim.add_title("movies", 104, "Dune", 2021, imdb="tt1160419", tmdb="438631")
    ssim.user_lists(104, "plantowatch")
    return World(
        session,
        tsim,
        ssim,
        await serve(trakt_sim.make_app(tsim)),
        await serve(simkl_sim.simkl_app(ssim)),
        tmp_path / "state.db",
        [datetime(2026, 11, 1, tzinfo=UTC)],
    )


def simkl_listed(world: World) -> set[int]:
    return {n for n, listing in world.simkl.lists.items() if listing.status == "plantowatch"}


async def test_writes_simkl_dropped_survive_a_restart_as_pending_never_as_user_removals(
    world: World,
) -> None:
    for trakt_id in (1, 2, 3, 4):
        world.trakt.seed_watchlist("movie", trakt_id, LISTED)
    world.simkl.quirks.drop_writes = True  # {"ok": true}; the 2nd and 4th adds are never stored

    first = start(world)
    try:
        wrote = await first.run()
        checked = await first.run()
        again = await first.run()
        pending_before = {w.item.key for w in first.store.pending(first.scope())}
    finally:
        first.store.close()

    stored = simkl_listed(world)

    # A restart: a new store on the same file, providers with cold caches, and SIMKL moving
    # every activity stamp (removals included) without any change.
    world.simkl.quirks.unrelated_activity = 1
    second = start(world)
    try:
        restarted = await second.run()
        after = await second.run()
        scope = second.scope()
        tombstones = second.store.tombstones(scope, world.clock[0])
        tombstones += second.store.tombstones(Scope(PAIR, W, PairSide.A.value), world.clock[0])
        pending_after = {w.item.key for w in second.store.pending(scope)}
        baseline = second.store.load_baseline(scope)
    finally:
        second.store.close()

    dropped = {f"imdb:{m[2]}" for m in MOVIES if m[5] not in stored}
    # Before the restart: SIMKL kept half of what it accepted; the rest waits, then is phantom.
    assert wrote.status is RunStatus.SUCCESS, wrote.errors
    assert wrote.features[W].applied == 4
    assert len(dropped) == 2
    # The dropped two would be planned again, but are set aside: written, not yet shown.
    assert checked.features[W].planned == checked.features[W].applied == 0
    set_aside = [n for n in checked.plan.notes if n.reason is Reason.SET_ASIDE]
    assert {n.item.key for n in set_aside} == dropped
    assert again.features[W].phantoms == 2  # never shown: phantoms, not synced
    assert pending_before == dropped
    # After it: a cold full pull shows what SIMKL holds, which is what the baseline held.
    assert tombstones == []  # nothing SIMKL dropped reads as the user's removal
    assert restarted.status is not RunStatus.FAILED, restarted.errors
    assert pending_after == dropped  # still waiting to be shown: never verified
    assert after.features[W].phantoms == 2
    assert baseline is not None
    assert set(baseline.entries) == {f"imdb:{m[2]}" for m in MOVIES if m[5] in stored} | {
        "imdb:tt1160419"
    }  # what SIMKL showed (two of ours and Dune), not what we sent
    assert simkl_listed(world) == stored  # and nothing was removed from SIMKL
