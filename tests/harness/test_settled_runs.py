"""A pair with nothing to do skips its planning, and never at the cost of a user's edit.

Through the real Trakt and SIMKL clients on the simulators: once a run found nothing to do,
the next ones ask each side for its activities only and stop there while the reads
are the same versions; any edit, any quirk that changes a read, and any restart makes a run do
its work again.
"""

from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import RunResult, RunStatus

from .quirks import QUIRK_BY_NAME
from .services import Svc
from .test_scenarios import (
    ANILIST_SIMKL,
    MIRROR,
    PLEX_TRAKT_MACHINE,
    TRAKT_SIMKL,
    heal,
    in_sync,
    only,
)
from .world import Rig, World


def settle(world: World, runs: int = 3) -> RunResult:
    """Healthy runs until one is settled (our writes' reads must settle first)."""
    for _ in range(runs):
        result = only([d.result for d in world.run()])
        assert result.status is RunStatus.SUCCESS, result.errors
        if result.settled:
            return result
    raise AssertionError(f"no run of {runs} was settled")


def test_a_pair_in_sync_skips_planning_and_asks_each_side_only_for_its_activities(
    served: Rig,
) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(6))

        result = settle(world)
        again = only([d.result for d in world.run()])

        assert result.settled == again.settled == (Feature.WATCHLIST,)
        assert again.status is RunStatus.SUCCESS
        assert again.summary()["settled"] == ["watchlist"]
        # Each side's activities, and nothing else: no list, and no account check (the runs
        # before it, an hour apart, all succeeded since the first checked both accounts).
        assert sorted(again.requests.values()) == [1, 1], again.requests
    finally:
        world.close()


def test_a_title_listed_on_a_settled_pair_reaches_the_other_side(served: Rig) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(6))
        settle(world)

        world.edit(Svc.TRAKT, 7, add=True)
        result = only([d.result for d in world.run()])

        assert result.settled == ()
        assert 7 in world.holds(Svc.SIMKL)
    finally:
        world.close()


def test_a_title_removed_on_a_settled_pair_is_removed_from_the_other_side(served: Rig) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(6))
        settle(world)

        world.edit(Svc.SIMKL, 2, add=False)
        heal(world, runs=3)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == {0, 1, 3, 4, 5}
    finally:
        world.close()


def test_an_empty_answer_on_a_settled_pair_is_judged_not_skipped(served: Rig) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(6))
        settle(world)
        QUIRK_BY_NAME["empty_200"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)
        world.edit(Svc.TRAKT, 8, add=True)  # activities move: Trakt's list is read again

        result = only([d.result for d in world.run()])

        assert result.settled == ()
        assert world.holds(Svc.SIMKL) >= set(range(6))
        assert world.holds(Svc.TRAKT) >= set(range(6))
    finally:
        world.close()


def test_a_restart_makes_the_next_run_plan_in_full(served: Rig) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(6))
        settle(world)

        world.restart()
        first = only([d.result for d in world.run()])
        second = settle(world)

        assert first.settled == ()
        assert second.settled == (Feature.WATCHLIST,)
    finally:
        world.close()


def test_a_new_id_map_makes_the_next_run_plan_in_full(served: Rig) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(6))
        settle(world)

        world.pipeline.use_id_map(None)  # a refreshed map may match items otherwise
        result = only([d.result for d in world.run()])

        assert result.settled == ()
    finally:
        world.close()


def test_a_play_on_plex_reaches_trakt_though_the_pair_was_settled(served: Rig) -> None:
    world = World(served, PLEX_TRAKT_MACHINE, titles=12)
    try:
        in_sync(world, range(4))
        assert settle(world).settled == (Feature.HISTORY,)

        world.edit(Svc.PLEX, 6, add=True)  # the user watches a film on Plex
        result = only([d.result for d in world.run()])

        assert result.settled == ()
        assert 6 in world.holds(Svc.TRAKT)
    finally:
        world.close()


def test_a_settled_mirror_still_puts_back_what_the_user_removes_on_its_target(
    served: Rig,
) -> None:
    world = World(served, MIRROR, titles=12)
    try:
        in_sync(world, range(4))
        settle(world)

        world.edit(Svc.JELLYFIN, 1, add=False)
        heal(world, runs=3)

        assert world.holds(Svc.JELLYFIN) == world.holds(Svc.TRAKT) == set(range(4))
    finally:
        world.close()


def test_a_title_anilist_lists_on_a_settled_pair_reaches_simkl(served: Rig) -> None:
    world = World(served, ANILIST_SIMKL, titles=12)
    try:
        in_sync(world, range(4))
        settle(world)

        world.edit(Svc.ANILIST, 5, add=True)
        heal(world, runs=2)

        assert 5 in world.holds(Svc.SIMKL)
    finally:
        world.close()
