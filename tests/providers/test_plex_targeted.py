"""A play finished on Plex reaches Trakt through a targeted run of that one item.

The real Plex and Trakt clients against their simulators, through the engine's pipeline and a
real state store (engine/targeted.py): the play is sent once across the targeted run, a full
run and a restart; the server's lagging watched flag is waited for, never invented; a lost
write reply is pending, never synced; the source's library is not read and its baseline not
replaced.
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
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import Read, WriteOutcome
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.engine.targeted import PlayedRead, read_played
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.providers.conftest import Serve
from tests.providers.test_plex_support import World, start_world
from tests.simulators import trakt as trakt_sim
from tests.simulators.plex import EPOCH, PlexSim, seed_library

pytestmark = pytest.mark.usefixtures("socket_enabled")

H = Feature.HISTORY
SPEC = PairSpec("plex-trakt", SyncMode.ADD_ONLY, frozenset({H}))
A = Scope("plex-trakt", H, "a")
B = Scope("plex-trakt", H, "b")


async def _no_save(tokens: Tokens) -> None:
    return None


async def _no_sleep(seconds: float) -> None:
    return None


@dataclass
class Home:
    """Plex and Trakt on their simulators, and a pipeline over a store that can restart."""

    world: World
    tsim: trakt_sim.TraktSim
    serve_url: str
    session: aiohttp.ClientSession
    path: Path
    clock: list[datetime]
    store: StateStore | None = None
    plex: PlexProvider | None = None
    trakt: TraktProvider | None = None
    pipeline: Pipeline | None = None

    def start(self) -> None:
        """(Re)start: a new store connection, new providers with cold caches, a new pipeline."""
        if self.store is not None:
            self.store.close()
        time = self.tsim.client_time()
        client = TraktClient(
            self.session,
            TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
            Tokens.from_oauth_reply(self.tsim.issue_tokens()),
            _no_save,
            base_url=self.serve_url,
            retry=RetryPolicy(backoff=0),
            sleep=time.sleep,
            clock=time.clock,
        )
        self.trakt = TraktProvider(client, slug=self.tsim.slug)
        self.plex = self.world.provider(library_ttl=0)
        self.store = StateStore(self.path)
        self.pipeline = Pipeline(
            self.store,
            run_blocking=asyncio.to_thread,
            memo=SnapshotMemo(timedelta(0)),
            clock=lambda: self.clock[0],
        )

    @property
    def heat_plays(self) -> int:
        return sum(1 for play in self.tsim.history if play["ref"] == ("movie", 2))

    async def full_run(self, spec: PairSpec = SPEC) -> RunResult:
        assert self.pipeline
        assert self.plex
        assert self.trakt
        self.clock[0] += timedelta(hours=1)
        return await self.pipeline.run(spec, self.plex, self.trakt)

    async def played(self, rating_key: str, since: datetime, attempts: int = 4) -> PlayedRead:
        assert self.plex
        return await read_played(
            self.plex, rating_key, since=since, attempts=attempts, sleep=_no_sleep
        )

    async def targeted_run(self, read: Read, spec: PairSpec = SPEC) -> RunResult | None:
        assert self.pipeline
        assert self.plex
        assert self.trakt
        self.clock[0] += timedelta(minutes=1)
        return await self.pipeline.run_item(spec, self.plex, self.trakt, read)


@pytest.fixture
async def home(serve: Serve, session: aiohttp.ClientSession, tmp_path: Path) -> AsyncIterator[Home]:
    psim = PlexSim()
    seed_library(psim)
    world = await start_world(serve, session, psim)
    tsim = trakt_sim.TraktSim(watchlist_limit=1000)
    tsim.add_movie(1, "The Matrix", 1999, imdb="tt0133093", tmdb=603)
    tsim.add_movie(2, "Heat", 1995, imdb="tt0113277", tmdb=949)
    tsim.add_show(10, "Dark", 2017, imdb="tt5753856", tmdb=70523, tvdb=334824)
    tsim.add_episode(10, 1, 1, 101, tvdb=6321901)
    tsim.add_episode(10, 1, 2, 102, tvdb=6321902)
    url = await serve(trakt_sim.make_app(tsim))
    h = Home(world, tsim, url, session, tmp_path / "state.db", [datetime(2026, 11, 1, tzinfo=UTC)])
    h.start()
    try:
        yield h
    finally:
        if h.store is not None:
            h.store.close()


def plex_time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def test_a_finished_play_reaches_trakt_once_across_a_targeted_run_a_full_run_and_a_restart(
    home: Home,
) -> None:
    assert (await home.full_run()).status is RunStatus.SUCCESS
    heat = home.world.sim.item("Heat")
    assert home.heat_plays == 0
    started = plex_time(home.world.sim.now)
    home.world.sim.finish_play(heat)

    played = await home.played(heat.rating_key, since=started)
    assert played.read is not None
    assert played.attempts == 1
    result = await home.targeted_run(played.read)

    assert result is not None
    assert result.status is RunStatus.TARGETED, (result.errors, result.incomplete)
    assert home.heat_plays == 1
    assert [t.title for t in result.changes.titles] == ["Heat (1995)"]
    for _ in range(2):
        assert (await home.full_run()).status is RunStatus.SUCCESS
    home.start()  # a restart: a new store connection, providers with cold caches
    for _ in range(2):
        await home.full_run()
    assert home.heat_plays == 1


async def test_a_targeted_run_reads_the_one_item_not_the_source_library(home: Home) -> None:
    await home.full_run()
    sim = home.world.sim
    e2 = sim.item("Dark", 1, 2)
    since = plex_time(sim.now)
    sim.finish_play(e2)
    scans, item_reads, plays = sim.section_reads, len(sim.item_reads), len(home.tsim.history)

    played = await home.played(e2.rating_key, since=since)
    assert played.read is not None
    result = await home.targeted_run(played.read)

    assert result is not None
    assert result.status is RunStatus.TARGETED
    assert sim.section_reads == scans  # no section was listed
    # The episode and its show (whose ids the episode keys by).
    assert sim.item_reads[item_reads:] == [e2.rating_key, sim.item("Dark").rating_key]
    assert [p["ref"] for p in home.tsim.history[plays:]] == [("episode", 102)]


async def test_the_targeted_run_writes_only_the_played_item_and_only_to_the_target(
    home: Home,
) -> None:
    two_way = PairSpec("plex-trakt", SyncMode.TWO_WAY, frozenset({H}))
    await home.full_run(two_way)
    plays = len(home.tsim.history)
    sim = home.world.sim
    heat, e2 = sim.item("Heat"), sim.item("Dark", 1, 2)
    # A play on Trakt's website that Plex lacks: the next full run's to carry, not this one's.
    home.tsim.seed_play("episode", 102, datetime(2026, 10, 30, 20, 0, tzinfo=UTC))
    scrobbles = len(sim.writes)
    since = plex_time(sim.now)
    sim.finish_play(heat)
    played = await home.played(heat.rating_key, since=since)
    assert played.read is not None

    result = await home.targeted_run(played.read, two_way)

    assert result is not None
    assert result.status is RunStatus.TARGETED
    assert [(op.side.value, op.item.title) for op in result.plan.operations] == [("b", "Heat")]
    assert len(sim.writes) == scrobbles  # nothing written to Plex
    assert e2.view_count == 0
    assert [p["ref"] for p in home.tsim.history[plays:]] == [("episode", 102), ("movie", 2)]
    await home.full_run(two_way)
    assert e2.view_count == 1  # the full run carries it
    assert home.heat_plays == 1


async def test_the_targeted_run_leaves_the_source_baseline_standing_and_is_no_success(
    home: Home,
) -> None:
    await home.full_run()
    assert home.store is not None
    before = home.store.load_baseline(A)
    assert before is not None
    sim = home.world.sim
    matrix = sim.item("The Matrix")  # watched before: in the baseline already
    since = plex_time(sim.now)
    sim.finish_play(matrix)
    played = await home.played(matrix.rating_key, since=since)
    assert played.read is not None

    result = await home.targeted_run(played.read)

    assert result is not None
    assert result.status is RunStatus.TARGETED
    assert result.status is not RunStatus.SUCCESS
    after = home.store.load_baseline(A)
    assert after is not None
    assert sorted(after.entries) == sorted(before.entries)  # not replaced by a one-item read
    assert home.store.settled(A) is None
    assert home.store.settled(B) is None
    assert home.store.runs("plex-trakt", 1)[0].status == "targeted"


async def test_a_pair_that_never_read_its_source_whole_waits_for_its_full_run(home: Home) -> None:
    sim = home.world.sim
    heat = sim.item("Heat")
    sim.finish_play(heat)
    played = await home.played(heat.rating_key, since=plex_time(EPOCH))
    assert played.read is not None

    assert await home.targeted_run(played.read) is None
    assert home.heat_plays == 0
    assert home.store is not None
    assert home.store.load_baseline(A) is None


async def test_the_servers_lagging_watched_flag_is_waited_for_in_a_few_item_reads(
    home: Home,
) -> None:
    await home.full_run()
    sim = home.world.sim
    heat = sim.item("Heat")
    since = plex_time(sim.now)
    sim.finish_play(heat, shown_after_item_reads=2)

    played = await home.played(heat.rating_key, since=since)

    assert played.read is not None
    assert played.attempts == 3
    result = await home.targeted_run(played.read)
    assert result is not None
    assert result.status is RunStatus.TARGETED
    assert home.heat_plays == 1
    await home.full_run()
    assert home.heat_plays == 1


async def test_a_play_the_server_never_shows_is_not_synced(home: Home) -> None:
    await home.full_run()
    sim = home.world.sim
    heat = sim.item("Heat")
    since = plex_time(sim.now)
    sim.finish_play(heat, shown_after_item_reads=10)
    reads = len(sim.item_reads)

    played = await home.played(heat.rating_key, since=since, attempts=4)

    assert played.read is None
    assert played.attempts == 4
    assert len(sim.item_reads) - reads == 4  # bounded
    assert home.heat_plays == 0


async def test_an_old_play_of_the_item_is_not_taken_for_the_new_one(home: Home) -> None:
    await home.full_run()
    sim = home.world.sim
    matrix = sim.item("The Matrix")  # watched a day before the epoch
    played = await home.played(matrix.rating_key, since=plex_time(sim.now + 3600), attempts=2)
    assert played.read is None


async def test_a_lost_write_reply_is_pending_never_synced_and_never_sent_again(
    home: Home,
) -> None:
    await home.full_run()
    sim = home.world.sim
    heat = sim.item("Heat")
    since = plex_time(sim.now)
    sim.finish_play(heat)
    played = await home.played(heat.rating_key, since=since)
    assert played.read is not None
    home.tsim.quirks.write_errors = 1  # applied, then a 503: the reply is lost

    result = await home.targeted_run(played.read)

    assert result is not None
    assert result.status is RunStatus.PARTIAL  # a write whose outcome is unknown: not done
    assert home.heat_plays == 1
    assert home.store is not None
    pending = home.store.pending(B)
    assert [(w.item.title, w.action) for w in pending] == [("Heat", Action.ADD)]
    assert pending[0].outcome == WriteOutcome.UNKNOWN.value
    for _ in range(2):
        await home.full_run()
    home.start()
    await home.full_run()
    assert home.heat_plays == 1
    assert home.store.pending(B) == []
