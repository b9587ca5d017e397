"""Plex end to end through the engine, with Trakt on the other side, both on their simulators.

Trakt → Plex history (one-way) and Plex ⇄ Trakt watchlist (two-way): the pipeline reads both,
plans, writes, verifies against the next snapshots and persists, and a second run plans nothing.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunResult, RunStatus
from custom_components.crosswatch.engine.plan import Reason
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, start_world
from tests.simulators import trakt as trakt_sim
from tests.simulators.plex import PlexSim, seed_library

pytestmark = pytest.mark.usefixtures("socket_enabled")

W, H = Feature.WATCHLIST, Feature.HISTORY
HEAT_WATCHED = datetime(2022, 5, 1, 20, 0, tzinfo=UTC)
DARK_2 = datetime(2022, 6, 2, 21, 0, tzinfo=UTC)


async def _no_save(tokens: Tokens) -> None:
    return None


@dataclass
class Services:
    plex_world: World
    trakt_sim: trakt_sim.TraktSim
    plex: PlexProvider
    trakt: TraktProvider
    pipeline: Pipeline
    clock: list[datetime]

    async def run(self, spec: PairSpec, a: object, b: object) -> RunResult:
        self.clock[0] += timedelta(hours=1)
        return await self.pipeline.run(spec, a, b)  # type: ignore[arg-type]


@pytest.fixture
async def services(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[Services]:
    psim = PlexSim()
    seed_library(psim)
    world = await start_world(serve, session, psim)
    tsim = trakt_sim.TraktSim(watchlist_limit=1000)
    tsim.add_movie(1, "The Matrix", 1999, imdb="tt0133093", tmdb=603)
    tsim.add_movie(2, "Heat", 1995, imdb="tt0113277", tmdb=949)
    tsim.add_movie(3, "Inception", 2010, imdb="tt1375666", tmdb=27205)
    tsim.add_show(10, "Dark", 2017, imdb="tt5753856", tmdb=70523, tvdb=334824)
    tsim.add_episode(10, 1, 1, 101, tvdb=6321901)
    tsim.add_episode(10, 1, 2, 102, tvdb=6321902)
    psim.add_title("movie", "Inception", 2010, imdb="tt1375666", tmdb=27205)
    time = tsim.client_time()
    trakt_client = TraktClient(
        session,
        TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
        Tokens.from_oauth_reply(tsim.issue_tokens()),
        _no_save,
        base_url=await serve(trakt_sim.make_app(tsim)),
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
    )
    plex = world.provider(library_ttl=0)
    await plex.health()
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        yield Services(
            world,
            tsim,
            plex,
            TraktProvider(trakt_client, slug=tsim.slug),
            Pipeline(
                store,
                run_blocking=asyncio.to_thread,
                memo=SnapshotMemo(timedelta(0)),
                clock=lambda: clock[0],
            ),
            clock,
        )


async def test_trakt_plays_reach_plex_as_a_watched_state_once_and_then_nothing(
    services: Services,
) -> None:
    s = services
    psim = s.plex_world.sim
    s.trakt_sim.seed_play("movie", 2, HEAT_WATCHED)
    s.trakt_sim.seed_play("episode", 102, DARK_2)
    spec = PairSpec("trakt-plex", SyncMode.ADD_ONLY, frozenset({H}))

    first = await s.run(spec, s.trakt, s.plex)

    assert first.status is RunStatus.SUCCESS, first.errors
    assert psim.item("Heat").view_count == 1
    assert psim.item("Dark", 1, 2).view_count == 1
    # Plex dates the plays itself; the plan says so instead of chasing the dates.
    assert Reason.WATCHED_DATE_NOT_KEPT in {note.reason for note in first.plan.notes}
    scrobbles = [path for path, _ in psim.writes]
    for _ in range(2):
        again = await s.run(spec, s.trakt, s.plex)
        assert again.status is RunStatus.SUCCESS, again.errors
        assert again.plan.is_empty, again.plan.as_dict()
    assert [path for path, _ in psim.writes] == scrobbles


async def test_plex_and_trakt_watchlists_converge_two_way_and_then_plan_nothing(
    services: Services,
) -> None:
    s = services
    psim = s.plex_world.sim
    psim.watchlist[psim.item("The Matrix").plex or ""] = psim.now
    s.trakt_sim.seed_watchlist("movie", 2)  # Heat: in the Plex library
    s.trakt_sim.seed_watchlist("movie", 3)  # Inception: only in Plex's online catalogue
    spec = PairSpec("plex-trakt", SyncMode.TWO_WAY, frozenset({W}))

    first = await s.run(spec, s.plex, s.trakt)

    assert first.status is RunStatus.SUCCESS, first.errors
    assert first.features[W].applied == 3
    assert {tuple(r["ref"]) for r in s.trakt_sim.watchlist} == {
        ("movie", 1), ("movie", 2), ("movie", 3),
    }  # fmt: skip
    assert len(psim.watchlist) == 3

    second = await s.run(spec, s.plex, s.trakt)
    assert second.plan.is_empty, second.plan.as_dict()

    # Taken off the Plex watchlist: a third of a list this small is more than one run's reads
    # may prove, so the next run doubts it and the one after takes it off Trakt's.
    del psim.watchlist[psim.item("The Matrix").plex or ""]
    doubted = await s.run(spec, s.plex, s.trakt)
    assert doubted.status is RunStatus.PARTIAL, doubted.errors
    third = await s.run(spec, s.plex, s.trakt)
    assert third.status is RunStatus.SUCCESS, third.errors
    assert {tuple(r["ref"]) for r in s.trakt_sim.watchlist} == {("movie", 2), ("movie", 3)}
    fourth = await s.run(spec, s.plex, s.trakt)
    assert fourth.plan.is_empty, fourth.plan.as_dict()
