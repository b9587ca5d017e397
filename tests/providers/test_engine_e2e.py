"""End to end through the engine: real clients on real simulators over loopback HTTP.

Trakt ⇄ SIMKL watchlist (two-way) and SIMKL → Trakt history (one-way): the pipeline reads
both simulators, plans, guards, writes, verifies and persists, and the pairs converge.
"""

import asyncio
from collections.abc import AsyncIterator
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
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .conftest import Serve

W, H = Feature.WATCHLIST, Feature.HISTORY
MATRIX_WATCHED = datetime(2020, 1, 1, 20, 0, tzinfo=UTC)
DARK_1 = datetime(2021, 3, 1, 21, 0, tzinfo=UTC)
DARK_2 = datetime(2021, 3, 2, 21, 0, tzinfo=UTC)

# One catalogue, as both services know it: (title, year, imdb, tmdb, trakt id, simkl id).
MOVIES = [
    ("The Matrix", 1999, "tt0133093", 603, 1, 100),
    ("Heat", 1995, "tt0113277", 949, 2, 102),
    ("Inception", 2010, "tt1375666", 27205, 3, 101),
    ("Alien", 1979, "tt0078748", 348, 4, 103),
]


async def _no_save(tokens: Tokens) -> None:
    return None


@dataclass
class Services:
    trakt_sim: trakt_sim.TraktSim
    simkl_sim: simkl_sim.SimklState
    trakt: TraktProvider
    simkl: SimklProvider
    pipeline: Pipeline
    clock: list[datetime]

    async def run(self, spec: PairSpec, a: object, b: object) -> RunResult:
        self.clock[0] += timedelta(hours=1)
        self.simkl_sim.advance(3600)
        return await self.pipeline.run(spec, a, b)  # type: ignore[arg-type]


@pytest.fixture
async def services(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[Services]:
    tsim = trakt_sim.TraktSim(watchlist_limit=1000)
    ssim = simkl_sim.SimklState()
    for title, year, imdb, tmdb, trakt_id, simkl_id in MOVIES:
        tsim.add_movie(trakt_id, title, year, imdb=imdb, tmdb=tmdb)
        ssim.add_title("movies", simkl_id, title, year, imdb=imdb, tmdb=str(tmdb))
    tsim.add_show(10, "Dark", 2017, imdb="tt5753856", tmdb=70523, tvdb=334824)
    tsim.add_episode(10, 1, 1, 101, tvdb=5000101)
    tsim.add_episode(10, 1, 2, 102, tvdb=5000102)
    ssim.add_title(
        "shows", 200, "Dark", 2017, episodes=2, imdb="tt5753856", tvdb="334824", tmdb="70523"
    )
    trakt_time, simkl_time = tsim.client_time(), simkl_sim_time(ssim)
    trakt_client = TraktClient(
        session,
        TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
        Tokens.from_oauth_reply(tsim.issue_tokens()),
        _no_save,
        base_url=await serve(trakt_sim.make_app(tsim)),
        retry=RetryPolicy(backoff=0),
        sleep=trakt_time.sleep,
        clock=trakt_time.clock,
    )
    simkl_api = SimklApi(
        session,
        simkl_sim.CLIENT_ID,
        simkl_sim.TOKEN,
        base_url=await serve(simkl_sim.simkl_app(ssim)),
        retry=RetryPolicy(backoff=0),
        sleep=simkl_time.sleep,
        clock=simkl_time.clock,
    )
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        yield Services(
            tsim,
            ssim,
            TraktProvider(trakt_client, slug=tsim.slug),
            SimklProvider(simkl_api, SimklAccount("51", "Andrew"), now=lambda: ssim.now),
            Pipeline(
                store,
                run_blocking=asyncio.to_thread,
                memo=SnapshotMemo(timedelta(0)),
                clock=lambda: clock[0],
            ),
            clock,
        )


class simkl_sim_time:  # noqa: N801 - reads as the factory it is
    """Fake time for the SIMKL client that moves the simulator's clock along with it."""

    def __init__(self, state: simkl_sim.SimklState) -> None:
        self.state, self.now = state, 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.state.advance(seconds)


def trakt_watchlist(sim: trakt_sim.TraktSim) -> set[tuple[str, int]]:
    return {tuple(row["ref"]) for row in sim.watchlist}


def simkl_watchlist(sim: simkl_sim.SimklState) -> set[int]:
    return {simkl_id for simkl_id, listing in sim.lists.items() if listing.status == "plantowatch"}


async def test_trakt_and_simkl_watchlists_converge_two_way_and_then_plan_nothing(
    services: Services,
) -> None:
    s = services
    s.trakt_sim.seed_watchlist("movie", 1)  # The Matrix
    s.trakt_sim.seed_watchlist("show", 10)  # Dark
    s.simkl_sim.user_lists(101, "plantowatch")  # Inception
    s.simkl_sim.user_lists(102, "plantowatch")  # Heat
    spec = PairSpec("trakt-simkl", SyncMode.TWO_WAY, frozenset({W}))

    first = await s.run(spec, s.trakt, s.simkl)

    assert first.status is RunStatus.SUCCESS, first.errors
    assert first.features[W].applied == 4
    assert trakt_watchlist(s.trakt_sim) == {("movie", 1), ("movie", 2), ("movie", 3), ("show", 10)}
    assert simkl_watchlist(s.simkl_sim) == {100, 101, 102, 200}
    assert set(first.requests) == {s.trakt.name, s.simkl.name}

    second = await s.run(spec, s.trakt, s.simkl)
    assert second.plan.is_empty, second.plan.as_dict()

    # The user takes Heat off Trakt's watchlist: a quarter of a list this small is more than
    # one run's reads may prove, so the next run doubts it and the one after takes Heat off
    # SIMKL's watchlist.
    s.trakt_sim.unlist("movie", 2)
    third = await s.run(spec, s.trakt, s.simkl)
    assert third.status is RunStatus.PARTIAL, third.errors
    assert simkl_watchlist(s.simkl_sim) == {100, 101, 102, 200}
    fourth = await s.run(spec, s.trakt, s.simkl)
    assert fourth.status is RunStatus.SUCCESS, fourth.errors
    assert simkl_watchlist(s.simkl_sim) == {100, 101, 200}
    fifth = await s.run(spec, s.trakt, s.simkl)
    assert fifth.plan.is_empty, fifth.plan.as_dict()


async def test_simkl_history_reaches_trakt_once_and_never_as_a_duplicate_play(
    services: Services,
) -> None:
    s = services
    s.simkl_sim.user_lists(100, "completed", watched_at=MATRIX_WATCHED)
    s.simkl_sim.user_lists(200, "watching", episodes={(1, 1): DARK_1, (1, 2): DARK_2})
    s.trakt_sim.seed_play("movie", 1, MATRIX_WATCHED)  # Trakt already has this play
    spec = PairSpec("simkl-trakt", SyncMode.ADD_ONLY, frozenset({H}))

    first = await s.run(spec, s.simkl, s.trakt)

    assert first.status is RunStatus.SUCCESS, first.errors
    plays = sorted((tuple(row["ref"]), row["watched_at"]) for row in s.trakt_sim.history)
    assert plays == [
        (("episode", 101), trakt_sim.stamp(DARK_1)),
        (("episode", 102), trakt_sim.stamp(DARK_2)),
        (("movie", 1), trakt_sim.stamp(MATRIX_WATCHED)),
    ]
    for _ in range(2):
        again = await s.run(spec, s.simkl, s.trakt)
        assert again.plan.is_empty, again.plan.as_dict()
    assert len(s.trakt_sim.history) == 3
