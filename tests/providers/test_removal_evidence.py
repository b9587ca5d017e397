"""Removals need evidence: through the real Trakt and SIMKL clients against their simulators.

Each scenario combines two real-world quirks, or two pairs on one account, and runs a real
`Pipeline` on a real `StateStore` several times. Activity timestamps move for many reasons (our
own writes above all), so they never make a shrink believable: a shrink beyond the drop
threshold is believed only when a fresh read in a later run agrees.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.simkl.client import SimklApi
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.engine.guards import GuardCode
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunResult, RunStatus
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import Provider
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.providers.simkl import SimklAccount, SimklProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.simulators import simkl as simkl_sim, trakt as trakt_sim

from .conftest import Serve
from .test_engine_e2e import _no_save, simkl_sim_time

W = Feature.WATCHLIST
FILMS = 40  # the library each side starts with: beyond the drop guard's minimum


@dataclass
class World:
    """One Trakt account, two SIMKL accounts, one store and one pipeline."""

    serve: Serve
    session: aiohttp.ClientSession
    path: Path
    trakt_sim: trakt_sim.TraktSim = field(
        default_factory=lambda: trakt_sim.TraktSim(watchlist_limit=1000)
    )
    simkl_sims: tuple[simkl_sim.SimklState, ...] = field(
        default_factory=lambda: (simkl_sim.SimklState(), simkl_sim.SimklState(account_id=52))
    )
    clock: list[datetime] = field(default_factory=lambda: [datetime(2026, 11, 1, tzinfo=UTC)])
    trakt: TraktProvider | None = None
    simkl: list[SimklProvider] = field(default_factory=list)
    store: StateStore | None = None
    pipeline: Pipeline | None = None

    async def start(self) -> None:
        """Seed both services with one catalogue and connect the real clients."""
        for number in range(1, FILMS + 6):  # a few films beyond the lists, for the user to add
            imdb, tmdb = f"tt{9000000 + number}", 5000 + number
            self.trakt_sim.add_movie(
                number, f"Film {number}", 1990 + number % 30, imdb=imdb, tmdb=tmdb
            )
            for sim in self.simkl_sims:
                sim.add_title(
                    "movies",
                    100 + number,
                    f"Film {number}",
                    1990 + number % 30,
                    imdb=imdb,
                    tmdb=str(tmdb),
                )
        trakt_time = self.trakt_sim.client_time()
        client = TraktClient(
            self.session,
            TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
            Tokens.from_oauth_reply(self.trakt_sim.issue_tokens()),
            _no_save,
            base_url=await self.serve(trakt_sim.make_app(self.trakt_sim)),
            retry=RetryPolicy(backoff=0),
            sleep=trakt_time.sleep,
            clock=trakt_time.clock,
        )
        self.trakt = TraktProvider(client, slug=self.trakt_sim.slug)
        for sim in self.simkl_sims:
            fake = simkl_sim_time(sim)
            api = SimklApi(
                self.session,
                simkl_sim.CLIENT_ID,
                simkl_sim.TOKEN,
                base_url=await self.serve(simkl_sim.simkl_app(sim)),
                retry=RetryPolicy(backoff=0),
                sleep=fake.sleep,
                clock=fake.clock,
            )
            account = SimklAccount(str(sim.account_id), f"user {sim.account_id}")
            self.simkl.append(SimklProvider(api, account, now=partial(getattr, sim, "now")))
        self.store = StateStore(self.path)
        self.pipeline = Pipeline(
            self.store,
            run_blocking=asyncio.to_thread,
            memo=SnapshotMemo(timedelta(0)),
            clock=lambda: self.clock[0],
        )

    async def run(self, spec: PairSpec, a: Provider, b: Provider) -> RunResult:
        """One run an hour after the last one."""
        assert self.pipeline is not None
        self.clock[0] += timedelta(hours=1)
        for sim in self.simkl_sims:
            sim.advance(3600)
        return await self.pipeline.run(spec, a, b)

    def trakt_films(self) -> set[int]:
        return {ref[1] for row in self.trakt_sim.watchlist if (ref := row["ref"])[0] == "movie"}

    def simkl_films(self, which: int = 0) -> set[int]:
        lists = self.simkl_sims[which].lists
        return {simkl - 100 for simkl, listing in lists.items() if listing.status == "plantowatch"}


@pytest.fixture
async def world(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[World]:
    built = World(serve, session, tmp_path / "state.db")
    await built.start()
    yield built
    assert built.store is not None
    built.store.close()


TWO_WAY = PairSpec("trakt-simkl", SyncMode.TWO_WAY, frozenset({W}))


async def _converged_two_way(world: World) -> None:
    """Both watchlists hold every film, and a run plans nothing."""
    for number in range(1, FILMS + 1):
        world.trakt_sim.seed_watchlist("movie", number)
    assert world.trakt is not None
    first = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert first.status is RunStatus.SUCCESS, first.errors
    assert world.simkl_films() == set(range(1, FILMS + 1))
    settled = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert settled.plan.is_empty, settled.plan.as_dict()


async def test_two_way_never_removes_when_an_empty_answer_follows_our_own_write(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    # The user adds a film on SIMKL; our run writes it to Trakt, which moves Trakt's activities.
    world.simkl_sims[0].user_lists(100 + FILMS + 1, "plantowatch")
    wrote = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert FILMS + 1 in world.trakt_films(), wrote.plan.as_dict()
    listed = set(range(1, FILMS + 2))

    # Right after our own write, Trakt answers the movies list it re-reads with an empty 200.
    world.trakt_sim.quirks.empty_replies = 1
    hiccup = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert world.trakt_sim.quirks.empty_replies == 0, "the hiccup was one read of this run"

    # The empty read lost every film, so Trakt was read a second time, afresh: that read showed
    # them all, and the run went on with it. Nothing is removed or held anywhere.
    assert world.simkl_films() == listed
    assert world.store is not None
    assert world.store.held(TWO_WAY.pair) == []
    assert hiccup.plan.is_empty, hiccup.plan.as_dict()
    (again,) = hiccup.events
    assert again.code is GuardCode.READ_AGAIN
    # Film 41 is our own add, not yet seen by a read: the baseline expects the other 40.
    assert again.detail.startswith(f"{world.trakt.name} watchlist: a first read lacked 40 items")
    assert hiccup.status is RunStatus.SUCCESS  # the run planned from a complete, agreeing read


async def test_two_way_never_removes_when_empty_answers_span_two_reads_of_a_run(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    # Trakt's activities move for an unrelated reason, and both reads of the run answer empty.
    world.trakt_sim.quirks.unrelated_activity = True
    world.trakt_sim.quirks.empty_replies = 8

    hiccup = await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert world.simkl_films() == set(range(1, FILMS + 1))
    assert world.store is not None
    assert world.store.held(TWO_WAY.pair) == []
    assert hiccup.status is RunStatus.PARTIAL
    (suspect,) = hiccup.events
    assert suspect.code is GuardCode.SNAPSHOT_SUSPECT
    assert suspect.detail.startswith(f"{world.trakt.name} watchlist: read 0 of the 40")
    incomplete = hiccup.summary()["incomplete_reads"]
    assert isinstance(incomplete, list)
    assert [(r["provider"], r["expected"], r["seen"]) for r in incomplete] == [
        (world.trakt.name, 40, 0)
    ]
    world.trakt_sim.quirks.empty_replies = 0
    world.trakt_sim.quirks.unrelated_activity = False
    after = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert after.plan.is_empty, after.plan.as_dict()
    assert after.status is RunStatus.SUCCESS
    assert world.simkl_films() == set(range(1, FILMS + 1))


async def test_a_real_clean_up_is_followed_after_one_confirming_read(world: World) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    gone = set(range(1, 13))  # 12 of 40: beyond the drop threshold
    for number in gone:
        world.trakt_sim.unlist("movie", number)

    doubted = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert world.simkl_films() == set(range(1, FILMS + 1)), "one read is not evidence enough"
    assert doubted.status is RunStatus.PARTIAL

    confirmed = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert confirmed.features[W].applied == 5  # the delete budget of a 40-item baseline
    assert len(world.simkl_films() & gone) == len(gone) - 5
    assert world.store is not None
    held = world.store.held(TWO_WAY.pair)
    assert len(held) == len(gone) - 5
    assert world.pipeline is not None
    await world.pipeline.approve_held(TWO_WAY.pair, world.trakt, world.simkl[0])
    assert world.simkl_films() == set(range(1, FILMS + 1)) - gone
    # The emptied films on SIMKL are the result of approved removals, not a hiccup.
    quiet = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert quiet.status is RunStatus.SUCCESS, (quiet.errors, quiet.events)
    assert quiet.plan.is_empty, quiet.plan.as_dict()


async def test_every_pair_on_one_trakt_account_follows_a_real_clean_up(world: World) -> None:
    """Watermarks belong to the pair side that read them: the second pair is not left behind."""
    assert world.trakt is not None
    first = PairSpec("trakt-simkl-1", SyncMode.SOURCE_DELETES, frozenset({W}))
    second = PairSpec("trakt-simkl-2", SyncMode.SOURCE_DELETES, frozenset({W}))
    for number in range(1, FILMS + 1):
        world.trakt_sim.seed_watchlist("movie", number)
    for spec, simkl in ((first, world.simkl[0]), (second, world.simkl[1])):
        await world.run(spec, world.trakt, simkl)
    assert world.simkl_films(0) == world.simkl_films(1) == set(range(1, FILMS + 1))
    gone = set(range(1, 11))  # 10 of 40: beyond the drop threshold, within reach of approval
    for number in gone:
        world.trakt_sim.unlist("movie", number)

    for _ in range(2):
        for spec, simkl in ((first, world.simkl[0]), (second, world.simkl[1])):
            await world.run(spec, world.trakt, simkl)
    assert world.pipeline is not None
    for spec, simkl in ((first, world.simkl[0]), (second, world.simkl[1])):
        await world.pipeline.approve_held(spec.pair, world.trakt, simkl)

    assert world.simkl_films(0) == set(range(1, FILMS + 1)) - gone
    assert world.simkl_films(1) == set(range(1, FILMS + 1)) - gone
    for spec, simkl in ((first, world.simkl[0]), (second, world.simkl[1])):
        settled = await world.run(spec, world.trakt, simkl)
        assert settled.status is RunStatus.SUCCESS, (spec.pair, settled.errors, settled.events)


async def test_a_read_that_failed_midway_makes_the_run_partial_and_names_the_side(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    # Trakt's first page of every list answers 503, however often the client retries.
    world.trakt_sim.quirks.server_error_on_page = 1
    world.trakt_sim.quirks.server_errors = 100
    world.trakt_sim.unlist("movie", 1)  # activities move: the movies category is read again

    result = await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert result.status is RunStatus.PARTIAL, result.summary()
    summary = result.summary()
    incomplete = summary["incomplete_reads"]
    assert isinstance(incomplete, list)
    assert incomplete
    assert incomplete[0]["provider"] == world.trakt.name
    assert incomplete[0]["feature"] == "watchlist"
    assert world.simkl_films() == set(range(1, FILMS + 1))


async def test_a_phantom_can_be_requeued_and_then_reaches_the_service_once(world: World) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    assert world.store is not None
    assert world.pipeline is not None
    late = FILMS + 2
    world.simkl_sims[0].user_lists(100 + late, "plantowatch")
    await world.run(TWO_WAY, world.trakt, world.simkl[0])
    # Trakt said it stored the film, then lost it without a trace.
    world.trakt_sim.watchlist = [r for r in world.trakt_sim.watchlist if r["ref"][1] != late]
    for _ in range(3):
        await world.run(TWO_WAY, world.trakt, world.simkl[0])
    (phantom,) = world.store.phantoms(TWO_WAY.pair, TWO_WAY.phantom_after)
    assert (phantom.item.title, phantom.scope.side) == (f"Film {late}", "a")
    assert late not in world.trakt_films(), "a phantom is not written again on its own"

    requeued = await world.pipeline.requeue_phantoms(TWO_WAY, world.trakt, world.simkl[0])
    retried = await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert [w.item.title for w in requeued] == [f"Film {late}"]
    assert retried.features[W].applied == 1
    assert [r["ref"][1] for r in world.trakt_sim.watchlist].count(late) == 1
    assert world.store.phantoms(TWO_WAY.pair, TWO_WAY.phantom_after) == []


async def test_requeued_phantoms_that_arrived_after_all_are_not_written_again(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    assert world.store is not None
    assert world.pipeline is not None
    late = FILMS + 3
    world.simkl_sims[0].user_lists(100 + late, "plantowatch")
    await world.run(TWO_WAY, world.trakt, world.simkl[0])
    hidden = [r for r in world.trakt_sim.watchlist if r["ref"][1] == late]
    world.trakt_sim.watchlist = [r for r in world.trakt_sim.watchlist if r["ref"][1] != late]
    for _ in range(3):
        await world.run(TWO_WAY, world.trakt, world.simkl[0])
    world.trakt_sim.watchlist.extend(hidden)  # it did arrive, very late

    await world.pipeline.requeue_phantoms(TWO_WAY, world.trakt, world.simkl[0])
    retried = await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert retried.features[W].applied == 0, retried.plan.as_dict()
    assert [r["ref"][1] for r in world.trakt_sim.watchlist].count(late) == 1


async def test_two_agreeing_empty_reads_are_not_believed_while_simkls_own_count_disagrees(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    simkl = world.simkl_sims[0]
    # Every pull answers an empty 200, run after run, and activities keep moving, so SIMKL's
    # lists are pulled again each time.
    simkl.quirks.empty_bodies = 1000
    simkl.quirks.unrelated_activity = 1000

    for _ in range(3):
        doubted = await world.run(TWO_WAY, world.trakt, world.simkl[0])
        assert doubted.status is RunStatus.PARTIAL
        assert [e.code for e in doubted.events] == [GuardCode.SNAPSHOT_SUSPECT]
    assert "own count disagrees" in doubted.events[0].detail
    assert world.trakt_films() == set(range(1, FILMS + 1))
    assert world.store is not None
    assert world.store.held(TWO_WAY.pair) == []

    simkl.quirks.empty_bodies = simkl.quirks.unrelated_activity = 0
    healed = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert healed.status is RunStatus.SUCCESS, healed.summary()
    assert healed.plan.is_empty


async def test_a_watchlist_really_emptied_on_simkl_is_followed_once_its_count_agrees(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    for number in range(1, FILMS + 1):
        world.simkl_sims[0].user_removes(100 + number)

    doubted = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    confirmed = await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert doubted.status is RunStatus.PARTIAL
    assert GuardCode.SHRINK_CONFIRMED in {e.code for e in confirmed.events}
    assert len(world.trakt_films()) == FILMS - 5  # the delete budget; the rest wait for approval
    assert world.store is not None
    assert len(world.store.held(TWO_WAY.pair)) == FILMS - 5


async def test_the_users_new_add_is_not_blocked_by_the_tombstone_of_an_earlier_removal(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    world.simkl_sims[0].user_removes(101)  # Film 1 leaves SIMKL's watchlist...
    await world.run(TWO_WAY, world.trakt, world.simkl[0])
    assert 1 not in world.trakt_films()  # ...and Trakt's
    await world.run(TWO_WAY, world.trakt, world.simkl[0])

    world.trakt_sim.seed_watchlist("movie", 1)  # later the user lists it again, on Trakt
    again = await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert 1 in world.simkl_films(), again.plan.as_dict()
    assert [e.code for e in again.events] == []


async def test_a_stale_copy_does_not_bring_back_what_the_user_removed(world: World) -> None:
    """Add-only Trakt → SIMKL: the user removes a film on SIMKL; Trakt still lists it."""
    spec = PairSpec("trakt-simkl-add", SyncMode.ADD_ONLY, frozenset({W}))
    assert world.trakt is not None
    for number in range(1, FILMS + 1):
        world.trakt_sim.seed_watchlist("movie", number)
    await world.run(spec, world.trakt, world.simkl[0])
    world.simkl_sims[0].user_removes(101)

    for _ in range(3):
        await world.run(spec, world.trakt, world.simkl[0])

    assert 1 not in world.simkl_films()


async def test_a_removal_made_while_simkls_activities_were_frozen_follows_within_a_day(
    world: World,
) -> None:
    await _converged_two_way(world)
    assert world.trakt is not None
    simkl = world.simkl_sims[0]
    simkl.quirks.frozen_activities = True
    simkl.user_removes(101)  # SIMKL's activities do not say so
    await world.run(TWO_WAY, world.trakt, world.simkl[0])
    simkl.quirks.frozen_activities = False

    for _ in range(24):  # hourly runs for a day
        await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert 1 not in world.trakt_films()


@pytest.mark.parametrize("synced_before", [False, True], ids=["first run", "later run"])
async def test_a_removal_right_after_a_partial_read_is_not_undone_by_our_own_copy(
    world: World, synced_before: bool
) -> None:
    """A read of Trakt fails on its movies but shows Dark; the user then drops Dark."""
    assert world.trakt is not None
    if synced_before:  # both watchlists empty and in sync: a baseline that lacks Dark
        await world.run(TWO_WAY, world.trakt, world.simkl[0])
        world.trakt_sim.quirks.unrelated_activity = True  # every category is read again
    world.trakt_sim.add_show(10, "Dark", 2017, imdb="tt5753856", tmdb=70523, tvdb=334824)
    world.simkl_sims[0].add_title("shows", 200, "Dark", 2017, imdb="tt5753856", tmdb="70523")
    world.trakt_sim.seed_watchlist("show", 10)
    world.trakt_sim.quirks.server_error_on_page = 1
    world.trakt_sim.quirks.server_errors = 4  # every try at the first list (movies) fails
    first = await world.run(TWO_WAY, world.trakt, world.simkl[0])
    world.trakt_sim.quirks.unrelated_activity = False
    assert first.status is RunStatus.PARTIAL
    assert 200 in world.simkl_sims[0].lists  # Dark, copied from Trakt's partial read

    world.trakt_sim.unlist("show", 10)  # the user takes Dark off Trakt's watchlist
    for _ in range(3):
        await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert not any(row["ref"] == ("show", 10) for row in world.trakt_sim.watchlist)
    assert 200 not in world.simkl_sims[0].lists


async def test_the_users_last_word_wins_when_they_readd_on_one_side_what_they_removed_on_both(
    world: World,
) -> None:
    assert world.trakt is not None
    simkl = world.simkl_sims[0]
    simkl.user_lists(101, "plantowatch")
    await world.run(TWO_WAY, world.trakt, world.simkl[0])  # our copy of Film 1 goes to Trakt
    world.trakt_sim.unlist("movie", 1)  # the user removes it on both sides...
    simkl.user_removes(101)
    await world.run(TWO_WAY, world.trakt, world.simkl[0])
    # ...then lists it again on Trakt, which dates the listing now: after our copy's write.
    world.trakt_sim.seed_watchlist("movie", 1, listed_at=world.clock[0] + timedelta(minutes=10))

    for _ in range(3):
        await world.run(TWO_WAY, world.trakt, world.simkl[0])

    assert world.trakt_films() == {1}
    assert world.simkl_films() == {1}
