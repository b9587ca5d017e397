"""The combinations the issue names, each played once through the real clients on the simulators.

Deterministic companions of the state machine: each sets a pair in sync, brings two real-world
quirks together, and checks that nothing the user did not remove is removed (or held), and that
what the user did remove reaches every other side.
"""

from datetime import timedelta

import pytest

from custom_components.crosswatch.engine.guards import GuardCode
from custom_components.crosswatch.engine.pipeline import RunResult, RunStatus
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.providers.mediabrowser import FULL_READ_EVERY
from custom_components.crosswatch.providers.plex.kept import FULL_SCAN_EVERY

from .catalogue import MACHINE_TITLES
from .gate import Fault, FaultKind
from .quirks import QUIRK_BY_NAME, all_off
from .services import H, PlexService, Svc, TraktService
from .setups import SETUPS, PairDef, Setup
from .test_combined_quirks import HEALING_PAUSE
from .world import Rig, World

TRAKT_SIMKL = next(s for s in SETUPS if s.name == "Trakt ⇄ SIMKL watchlist, two-way")
TWO_PAIRS = next(s for s in SETUPS if s.name == "two pairs on one Trakt account")
MIRROR = next(s for s in SETUPS if s.name == "Trakt → Jellyfin watchlist, mirror")
PLEX_TRAKT_MACHINE = next(s for s in SETUPS if s.name == "Plex ⇄ Trakt history, two-way")
ANILIST_SIMKL = next(s for s in SETUPS if s.name == "AniList ⇄ SIMKL watchlist, two-way")
PLEX_TRAKT = Setup(
    "Plex ⇄ Trakt history, two-way, 60 films",
    (PairDef("plex-trakt", Svc.PLEX, Svc.TRAKT, H, SyncMode.TWO_WAY),),
)


def in_sync(world: World, titles: range) -> None:
    """Every side holds `titles`, and one healthy run has made them the pairs' baselines."""
    for side in world.setup.sides:
        for index in titles:
            world.edit(side, index, add=True)
    for done in world.run():
        assert done.result is not None, done.error
        assert done.result.status is RunStatus.SUCCESS, done.result.errors
    assert all(world.holds(side) == set(titles) for side in world.setup.sides)


def only(runs: list[RunResult | None]) -> RunResult:
    (result,) = runs
    assert result is not None, "the run raised"
    return result


def held(world: World, pair: PairDef) -> list[str]:
    return [f"{h.operation.action} {h.operation.item.label()}" for h in world.store.held(pair.name)]


def toggle(world: World, side: Svc, index: int) -> bool:
    """The user lists a title on a side, or unlists it if it is there; whether it is there now."""
    world.edit(side, index, add=index not in world.user_sees(side))
    return index in world.holds(side)


def heal(world: World, runs: int = 4, *, every_run_completes: bool = False) -> None:
    """Quirks off, a day passes, then healthy runs (each of one pair that must end, if asked)."""
    for service in world.services.values():
        all_off(service)
        service.pass_time(HEALING_PAUSE.total_seconds())
    world.wall += HEALING_PAUSE
    for _ in range(runs):
        done = world.run()
        if every_run_completes:
            only([d.result for d in done])


def a_day_passes(world: World) -> None:
    """A day without a run: Plex's next read is its daily full scan, not the kept one."""
    for service in world.services.values():
        service.pass_time(FULL_SCAN_EVERY)
    world.wall += timedelta(seconds=FULL_SCAN_EVERY)


def test_an_empty_200_from_trakt_just_after_our_own_write_removes_and_holds_nothing_on_simkl(
    served: Rig,
) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(8))
        world.edit(Svc.SIMKL, 8, add=True)  # our next run writes it to Trakt
        only([d.result for d in world.run()])
        assert world.holds(Svc.TRAKT) == set(range(9))
        # Trakt's next watchlist read (forced by our own write) answers an empty 200; the
        # activities moved, because of our write.
        QUIRK_BY_NAME["empty_200"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)

        result = only([d.result for d in world.run()])

        assert world.holds(Svc.SIMKL) == set(range(9)), result.plan.as_dict()["counts"]
        assert held(world, TRAKT_SIMKL.pairs[0]) == []
        # The empty read lost everything, so Trakt was read again, afresh, in the same run; the
        # run went on with that complete read, which is why it may call itself a success.
        assert [e.code for e in result.events] == [GuardCode.READ_AGAIN]
        assert result.status is RunStatus.SUCCESS
    finally:
        world.close()


def test_a_plex_scan_returning_3_of_60_films_unwatches_nothing_on_trakt(served: Rig) -> None:
    world = World(served, PLEX_TRAKT, titles=60)
    try:
        in_sync(world, range(60))
        plex = world.services[Svc.PLEX]
        assert isinstance(plex, PlexService)
        # One library page of three films whose totals say that is the whole library, met by
        # the daily full scan (between, Plex's unchanged tallies keep the last scan).
        plex.gate.add(Fault(FaultKind.TINY, left=1, keep=3))
        a_day_passes(world)

        result = only([d.result for d in world.run()])

        assert world.holds(Svc.TRAKT) == set(range(60)), result.plan.as_dict()["counts"]
        assert held(world, PLEX_TRAKT.pairs[0]) == []
        # Plex was read again, afresh, and the run went on with that complete read.
        assert [e.code for e in result.events] == [GuardCode.READ_AGAIN]
        assert result.status is RunStatus.SUCCESS
    finally:
        world.close()


def test_plex_scans_that_agree_on_a_loss_unwatch_nothing_while_plex_counts_otherwise(
    served: Rig,
) -> None:
    world = World(served, PLEX_TRAKT, titles=60)
    try:
        in_sync(world, range(60))
        plex = world.services[Svc.PLEX]
        assert isinstance(plex, PlexService)
        # Two list-hiding faults back to back: two empty 200s, then three tiny lists. Every
        # read of two runs, the confirming ones included, agrees on a loss.
        plex.gate.add(Fault(FaultKind.EMPTY, left=2))
        plex.gate.add(Fault(FaultKind.TINY, left=3, keep=3))
        a_day_passes(world)  # the daily full scan meets them

        for _ in range(3):
            result = only([d.result for d in world.run()])
            assert world.holds(Svc.TRAKT) == set(range(60)), result.plan.as_dict()["counts"]
            assert held(world, PLEX_TRAKT.pairs[0]) == []

        assert plex.gate.faults == []
        assert world.holds(Svc.PLEX) == set(range(60))
    finally:
        world.close()


def test_a_real_unwatch_of_half_the_plex_library_reaches_trakt_as_plex_counts_agree(
    served: Rig,
) -> None:
    world = World(served, PLEX_TRAKT, titles=60)
    try:
        in_sync(world, range(60))
        for index in range(30, 60):
            world.edit(Svc.PLEX, index, add=False)

        runs = [only([d.result for d in world.run()]) for _ in range(2)]

        # Beyond the budget the removals wait for the user's approval; the read is believed.
        pending = held(world, PLEX_TRAKT.pairs[0])
        assert len(pending) + (60 - len(world.holds(Svc.TRAKT))) == 30, pending
        assert world.holds(Svc.TRAKT) >= set(range(30))
        assert runs[-1].status is not RunStatus.FAILED
    finally:
        world.close()


def test_a_simkl_cold_start_on_an_empty_body_then_one_real_add_removes_nothing_on_trakt(
    served: Rig,
) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(10))
        world.restart()  # Home Assistant restarts: SIMKL's client starts cold
        # The cold start pulls every bucket (movies, shows, anime); each answers an empty body.
        QUIRK_BY_NAME["empty_200"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 3)
        only([d.result for d in world.run()])
        world.edit(Svc.SIMKL, 10, add=True)  # one real add: the activities move

        result = only([d.result for d in world.run()])

        assert world.holds(Svc.TRAKT) >= set(range(10)), result.plan.as_dict()["counts"]
        assert held(world, TRAKT_SIMKL.pairs[0]) == []
    finally:
        world.close()


def test_a_real_removal_of_a_fifth_of_trakt_reaches_both_pairs_sharing_the_account(
    served: Rig,
) -> None:
    world = World(served, TWO_PAIRS, titles=50)
    try:
        in_sync(world, range(50))
        removed = set(range(0, 50, 5))  # 10 of 50
        for index in sorted(removed):
            world.edit(Svc.TRAKT, index, add=False)

        # A fifth of the list is a sharp shrink: the first run doubts it, the second run's reads
        # confirm it. Ten removals are beyond one run's delete budget (5): the user approves
        # what was held.
        doubted = world.run()
        last = world.run()
        assert all(
            d.result is not None and d.result.status is RunStatus.PARTIAL for d in doubted
        ), [d.result.summary() if d.result else d.error for d in doubted]
        for pair in world.setup.pairs:
            a, b = world.providers[pair.a], world.providers[pair.b]
            world.rig.run(world.pipeline.approve_held(pair.name, a, b))

        kept = set(range(50)) - removed
        trakt = world.services[Svc.TRAKT]
        assert isinstance(trakt, TraktService)
        assert world.holds(Svc.TRAKT) == kept
        assert world.holds(Svc.SIMKL) == kept, "Trakt ⇄ SIMKL did not follow"
        events = [
            (e.code.value, e.side.value, e.count) for r in last if r.result for e in r.result.events
        ]
        assert world.holds(Svc.JELLYFIN) == kept, f"Trakt → Jellyfin did not follow: {events}"
    finally:
        world.close()


def test_a_stale_simkl_body_after_our_write_and_a_restart_cannot_hide_a_removal(
    served: Rig,
) -> None:
    """Only fresh reads verify: a cold SIMKL client must not take a stale body for the truth."""
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        QUIRK_BY_NAME["stale_body_after_write"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 1)
        world.edit(Svc.TRAKT, 0, add=True)
        world.edit(Svc.SIMKL, 1, add=True)
        only([d.result for d in world.run()])  # each side's title goes to the other
        world.restart()
        world.edit(Svc.SIMKL, 1, add=False)  # the user drops title 1 on SIMKL

        for _ in range(4):
            world.run()

        assert world.holds(Svc.SIMKL) == {0}
        assert world.holds(Svc.TRAKT) == {0}
    finally:
        world.close()


def test_an_empty_first_answer_from_the_mirror_source_clears_nothing_on_the_target(
    served: Rig,
) -> None:
    mirror = MIRROR
    world = World(served, mirror, titles=12)
    try:
        world.edit(Svc.TRAKT, 0, add=True)
        world.edit(Svc.JELLYFIN, 0, add=True)
        # Trakt's very first answer is an empty 200; its client may keep it for a while.
        QUIRK_BY_NAME["empty_200"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)

        for _ in range(2):
            world.run()

        assert world.holds(Svc.JELLYFIN) == {0}
    finally:
        world.close()


def test_a_tiny_first_answer_from_the_mirror_source_clears_nothing_on_the_target(
    served: Rig,
) -> None:
    """A mirror's removals rest on the source's absences: they need a second, fresh read too."""
    mirror = MIRROR
    world = World(served, mirror, titles=12)
    try:
        for index in range(10):
            world.edit(Svc.TRAKT, index, add=True)
            world.edit(Svc.JELLYFIN, index, add=True)
        # Trakt's very first answer is a page of two titles that says it is the whole list;
        # its client may keep that answer for a while.
        QUIRK_BY_NAME["tiny_list"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)

        for _ in range(3):
            world.run()

        assert world.holds(Svc.JELLYFIN) == set(range(10))
        assert held(world, mirror.pairs[0]) == []
    finally:
        world.close()


def test_a_mirror_still_removes_what_only_the_target_holds_once_a_fresh_read_agrees(
    served: Rig,
) -> None:
    mirror = MIRROR
    world = World(served, mirror, titles=12)
    try:
        for index in range(10):
            world.edit(Svc.TRAKT, index, add=True)
            world.edit(Svc.JELLYFIN, index, add=True)
        only([d.result for d in world.run()])  # the first run founds the baselines
        world.edit(Svc.JELLYFIN, 10, add=True)  # the user adds a title on the target only

        result = only([d.result for d in world.run()])

        assert world.holds(Svc.JELLYFIN) == set(range(10)), result.plan.as_dict()["counts"]
        assert result.status is RunStatus.SUCCESS
    finally:
        world.close()


def test_a_title_removed_on_both_sides_then_added_again_on_one_is_kept_on_both(
    served: Rig,
) -> None:
    """Items a suspect read lacked and a later read shows again may be the user's new add."""
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        in_sync(world, range(5))
        world.edit(Svc.TRAKT, 4, add=False)
        world.edit(Svc.SIMKL, 4, add=False)
        # One of five is a sharp shrink on each side: both reads are doubted for a run.
        assert only([d.result for d in world.run()]).status is RunStatus.PARTIAL
        world.edit(Svc.TRAKT, 4, add=True)  # the user changes their mind on Trakt

        for _ in range(2):
            result = only([d.result for d in world.run()])

        assert world.holds(Svc.TRAKT) == set(range(5)), result.plan.as_dict()["counts"]
        assert world.holds(Svc.SIMKL) == set(range(5))
    finally:
        world.close()


def test_a_mirror_whose_source_is_truly_empty_clears_the_target_once_reads_agree(
    served: Rig,
) -> None:
    mirror = MIRROR
    world = World(served, mirror, titles=12)
    try:
        world.edit(Svc.JELLYFIN, 0, add=True)
        world.edit(Svc.JELLYFIN, 1, add=True)

        # First run: two empty answers found Trakt's baseline, and a first run removes nothing.
        # Second: the target's titles are absent from the source, all of them: suspect. Third:
        # the next run's fresh reads agree, and the mirror follows.
        statuses = [only([d.result for d in world.run()]).status for _ in range(3)]

        assert statuses == [RunStatus.SUCCESS, RunStatus.PARTIAL, RunStatus.SUCCESS]
        assert world.holds(Svc.JELLYFIN) == set()
    finally:
        world.close()


def test_a_one_way_source_that_gains_a_title_as_the_target_drops_it_adds_it_back(
    served: Rig,
) -> None:
    """The source's new add is news; the target's removal of a copy it held is not carried."""
    setup = next(s for s in SETUPS if s.name == "SIMKL → Trakt watchlist, source_deletes")
    world = World(served, setup, titles=12)
    try:
        for index in range(4):
            world.edit(Svc.SIMKL, index, add=True)
        world.edit(Svc.TRAKT, 9, add=True)  # a title only the target holds
        only([d.result for d in world.run()])
        # Between two runs, the user lists title 9 on SIMKL and unlists it on Trakt.
        world.edit(Svc.SIMKL, 9, add=True)
        world.edit(Svc.TRAKT, 9, add=False)

        for _ in range(3):
            world.run()

        assert 9 in world.holds(Svc.TRAKT)
    finally:
        world.close()


def test_a_removal_reaches_a_side_whose_first_read_was_partial_and_took_our_copy(
    served: Rig,
) -> None:
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        world.edit(Svc.SIMKL, 0, add=True)
        # Trakt's first page is malformed: its read is partial, so it founds no baseline; the
        # run still copies title 0 there.
        QUIRK_BY_NAME["malformed_200"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)
        only([d.result for d in world.run()])
        world.edit(Svc.SIMKL, 0, add=False)  # the user drops it on SIMKL

        for _ in range(3):
            world.run()

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_removal_set_aside_while_our_copy_awaits_verification_still_arrives(
    served: Rig,
) -> None:
    """A loss stays news until it is carried: no baseline lets it go while it is set aside."""
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        for index in (0, 4, 5, 7, 8):
            world.edit(Svc.TRAKT, index, add=True)
        for index in (0, 1, 3, 6, 9):
            world.edit(Svc.SIMKL, index, add=True)
        only([d.result for d in world.run()])  # each side's titles go to the other
        world.edit(Svc.TRAKT, 0, add=False)  # one of five of Trakt's own: doubted for a run
        world.edit(Svc.SIMKL, 2, add=True)
        only([d.result for d in world.run()])
        # SIMKL drops title 1, which we copied to Trakt and Trakt's doubted reads never verified:
        # its removal there waits for that verification. Trakt loses one more: doubted again.
        world.edit(Svc.SIMKL, 1, add=False)
        world.edit(Svc.TRAKT, 3, add=False)

        for _ in range(4):
            world.run()

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == {2, 4, 5, 6, 7, 8, 9}
    finally:
        world.close()


def test_our_copy_shown_by_a_doubted_read_is_ours_not_the_sides_news(served: Rig) -> None:
    """What a partial read shows of our own writes verifies them; its silence proves nothing."""
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        for index in (1, 2):
            world.edit(Svc.TRAKT, index, add=True)
        world.edit(Svc.SIMKL, 0, add=True)
        only([d.result for d in world.run()])  # title 0 is copied to Trakt, 1 and 2 to SIMKL
        world.edit(Svc.TRAKT, 2, add=False)
        world.edit(Svc.SIMKL, 0, add=False)
        only([d.result for d in world.run()])  # both sides doubted: sharp shrinks
        world.edit(Svc.TRAKT, 1, add=False)

        for _ in range(4):
            world.run()

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_title_removed_on_one_side_then_added_again_on_the_other_reaches_both(
    served: Rig,
) -> None:
    setup = ANILIST_SIMKL
    world = World(served, setup, titles=3)
    try:
        world.edit(Svc.ANILIST, 0, add=True)
        for _ in range(2):
            world.run()
        assert world.holds(Svc.SIMKL) == {0}
        world.edit(Svc.SIMKL, 0, add=False)
        runs = [only([d.result for d in world.run()]) for _ in range(3)]
        assert world.holds(Svc.ANILIST) == set(), [r.status for r in runs]

        world.edit(Svc.ANILIST, 0, add=True)  # the user changed their mind, on the other side
        for _ in range(2):
            result = only([d.result for d in world.run()])

        assert world.holds(Svc.SIMKL) == {0}, [e.detail for e in result.events]
    finally:
        world.close()


def test_a_mirror_target_whose_favourites_lie_in_two_runs_running_is_not_called_a_success(
    served: Rig,
) -> None:
    world = World(served, MIRROR, titles=12)
    try:
        in_sync(world, range(8))
        jellyfin = world.services[Svc.JELLYFIN]
        results = []
        for _ in range(2):
            # A day passes, so Jellyfin's library is scanned, not asked whether it changed.
            jellyfin.pass_time(FULL_READ_EVERY)
            # Both reads of the run, the confirming one too, answer two of eight favourites.
            jellyfin.gate.add(Fault(FaultKind.TINY, left=2, keep=2))
            results.append(only([d.result for d in world.run()]))

        # The reads of two runs agree, but Jellyfin's own count of favourites does not.
        assert [r.status for r in results] == [RunStatus.PARTIAL, RunStatus.PARTIAL]
        assert world.holds(Svc.JELLYFIN) == world.holds(Svc.TRAKT) == set(range(8))
        assert only([d.result for d in world.run()]).status is RunStatus.SUCCESS
    finally:
        world.close()


def test_a_mirror_puts_back_what_the_user_removes_on_its_target_every_time(
    served: Rig,
) -> None:
    world = World(served, MIRROR, titles=12)
    try:
        in_sync(world, range(8))
        for attempt in range(2):
            world.edit(Svc.JELLYFIN, 4, add=False)
            runs = [only([d.result for d in world.run()]) for _ in range(3)]
            assert world.holds(Svc.JELLYFIN) == set(range(8)), (
                attempt, [(r.status, [e.detail for e in r.events]) for r in runs],
            )  # fmt: skip
    finally:
        world.close()


def test_a_mirror_target_answering_empty_loses_only_what_the_source_lacks_once_reads_agree(
    served: Rig,
) -> None:
    world = World(served, MIRROR, titles=12)
    try:
        world.edit(Svc.JELLYFIN, 0, add=True)  # only on the mirror's target
        only([d.result for d in world.run()])
        jellyfin = world.services[Svc.JELLYFIN]
        jellyfin.pass_time(FULL_READ_EVERY)  # Jellyfin's library is scanned, not asked
        jellyfin.gate.add(Fault(FaultKind.EMPTY, left=2))
        world.edit(Svc.TRAKT, 1, add=True)
        second = only([d.result for d in world.run()])  # Jellyfin's reads are doubted
        # 1 is added by the mirror. 0 stays: Jellyfin's baseline stands in for its doubted
        # read, and the source's lack of what the target holds waits for the next run's reads.
        assert world.holds(Svc.JELLYFIN) == {0, 1}
        assert second.status is RunStatus.PARTIAL
        jellyfin.gate.add(Fault(FaultKind.EMPTY, left=1))

        third = only([d.result for d in world.run()])

        # The empty answer hid 0 and our pending add of 1: a fresh read showed them, so it was
        # not used, and the source's lack of 0, confirmed, removes it from the target.
        assert third.status is RunStatus.SUCCESS
        assert [e.code for e in third.events] == [
            GuardCode.READ_AGAIN,
            GuardCode.SHRINK_CONFIRMED,
        ]
        assert world.holds(Svc.JELLYFIN) == world.holds(Svc.TRAKT) == {1}
        assert only([d.result for d in world.run()]).events == ()
    finally:
        world.close()


def test_anilist_answering_every_read_of_two_runs_empty_removes_nothing_from_simkl(
    served: Rig,
) -> None:
    setup = ANILIST_SIMKL
    world = World(served, setup, titles=6)
    try:
        in_sync(world, range(4))
        for new in (4, 5):
            # The user lists a title, so AniList's list mark moves and the list is read whole;
            # both reads of the run, the fresh confirming one too, answer an empty list.
            world.edit(Svc.ANILIST, new, add=True)
            QUIRK_BY_NAME["empty_200"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 2)
            result = only([d.result for d in world.run()])
            # The reads of two runs agree, but AniList's own statistics do not.
            assert result.status is RunStatus.PARTIAL
            assert world.holds(Svc.SIMKL) == set(range(4))
            assert held(world, setup.pairs[0]) == []
    finally:
        world.close()


def test_a_real_clean_up_on_anilist_reaches_simkl_as_its_statistics_agree(served: Rig) -> None:
    setup = ANILIST_SIMKL
    world = World(served, setup, titles=6)
    try:
        in_sync(world, range(4))
        for index in (1, 2):
            world.edit(Svc.ANILIST, index, add=False)

        for _ in range(2):  # a sharp shrink waits for the next run's reads to agree
            only([d.result for d in world.run()])

        assert world.holds(Svc.SIMKL) == world.holds(Svc.ANILIST) == {0, 3}
    finally:
        world.close()


def test_our_lagging_play_on_trakt_is_sent_once_though_a_restart_and_an_empty_answer_follow(
    served: Rig,
) -> None:
    # Found by the safety machine: Trakt shows our play one read late; the run whose read
    # first shows it is partial (a malformed Plex answer), so nothing is planned; Home
    # Assistant restarts; then Trakt answers an empty list once.
    world = World(served, PLEX_TRAKT, titles=12)
    try:
        QUIRK_BY_NAME["visible_after_reads"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)
        world.edit(Svc.PLEX, 0, add=True)
        only([d.result for d in world.run()])  # the play is copied, not yet shown on Trakt
        only([d.result for d in world.run()])  # a complete Trakt read misses it
        QUIRK_BY_NAME["malformed_200"].switch[Svc.PLEX](world.services[Svc.PLEX], 1)
        a_day_passes(world)  # Plex's daily full scan meets the malformed answer
        partial_run = only([d.result for d in world.run()])  # Trakt shows our play now
        world.restart()
        QUIRK_BY_NAME["empty_200"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)

        only([d.result for d in world.run()])

        trakt = world.services[Svc.TRAKT]
        assert isinstance(trakt, TraktService)
        assert partial_run.status is RunStatus.PARTIAL
        assert [len(stamps) for stamps in trakt.plays().values()] == [1], trakt.plays()
    finally:
        world.close()


def test_a_play_undone_before_our_copy_of_it_shows_is_undone_on_the_copy_too(
    served: Rig,
) -> None:
    world = World(served, PLEX_TRAKT, titles=12)
    try:
        in_sync(world, range(4))
        QUIRK_BY_NAME["visible_after_reads"].switch[Svc.PLEX](world.services[Svc.PLEX], 3)
        world.edit(Svc.TRAKT, 4, add=True)
        only([d.result for d in world.run()])  # the play is copied to Plex, not yet shown there
        world.edit(Svc.TRAKT, 4, add=False)  # the user takes it back on Trakt

        runs = [only([d.result for d in world.run()]) for _ in range(5)]

        assert world.holds(Svc.PLEX) == world.holds(Svc.TRAKT) == set(range(4)), [
            (r.status, [e.detail for e in r.events]) for r in runs
        ]
    finally:
        world.close()


def test_a_title_removed_while_our_copy_of_it_is_in_flight_is_removed_from_the_copy_too(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 examples (thorough profile).
    world = World(served, ANILIST_SIMKL, titles=12)
    try:
        QUIRK_BY_NAME["visible_after_reads"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 3)
        world.edit(Svc.SIMKL, 11, add=True)
        for _ in range(2):
            only([d.result for d in world.run()])  # copied to AniList, not yet shown there
        world.edit(Svc.SIMKL, 11, add=False)  # the user takes it back on SIMKL

        heal(world, every_run_completes=True)

        assert world.holds(Svc.ANILIST) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_mirror_source_lying_since_its_first_read_clears_nothing_while_the_target_answers_empty(
    served: Rig,
) -> None:
    # Found by the safety machine in a CI run: Trakt's first read (no baseline yet) was a short
    # list that looked complete, and it founded Trakt's baseline without Heat; the next run,
    # Jellyfin answered empty twice, so its baseline stood in for Heat, and the mirror removed
    # Heat because Trakt's short list still lacked it.
    world = World(served, MIRROR, titles=12)
    try:
        world.edit(Svc.TRAKT, 0, add=True)
        world.edit(Svc.TRAKT, 1, add=True)
        world.edit(Svc.JELLYFIN, 1, add=True)
        QUIRK_BY_NAME["tiny_list"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)
        only([d.result for d in world.run()])
        QUIRK_BY_NAME["empty_200"].switch[Svc.JELLYFIN](world.services[Svc.JELLYFIN], 2)

        result = only([d.result for d in world.run()])

        assert 1 in world.holds(Svc.JELLYFIN), result.plan.as_dict()["counts"]
        assert held(world, MIRROR.pairs[0]) == []
        assert result.status is RunStatus.PARTIAL  # Jellyfin's read was doubted
    finally:
        world.close()


def test_a_title_the_user_lists_again_after_removing_it_on_both_sides_reaches_both(
    served: Rig,
) -> None:
    # Found by the full machine: the re-listing on Trakt was dated by the simulator's own
    # clock, years before our write, and so taken for our lagging copy. A service dates the
    # user's listing when it happens, after our write.
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        for index in (0, 1, 2):
            world.edit(Svc.SIMKL, index, add=True)
        only([d.result for d in world.run()])  # copied to Trakt
        world.edit(Svc.TRAKT, 2, add=False)
        world.edit(Svc.SIMKL, 2, add=False)
        only([d.result for d in world.run()])
        world.edit(Svc.TRAKT, 2, add=True)  # the user's last word

        for _ in range(3):
            only([d.result for d in world.run()])

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == {0, 1, 2}
    finally:
        world.close()


def test_a_title_removed_while_the_other_side_refuses_our_sign_in_is_removed_there_too(
    served: Rig,
) -> None:
    # Found by the full machine (ci profile): the user removed on SIMKL a title we had copied
    # to AniList; the next run verified our copy, then AniList refused the sign-in before the
    # run ended. The verification had been settled, the baseline not, so our copy became
    # AniList's news and came back to SIMKL.
    world = World(served, ANILIST_SIMKL, titles=12)
    try:
        for index in (0, 1):
            world.edit(Svc.ANILIST, index, add=True)
        for index in (0, 1, 2, 3, 4, 6, 8, 9):
            world.edit(Svc.SIMKL, index, add=True)
        only([d.result for d in world.run()])  # SIMKL's titles copied to AniList
        world.edit(Svc.SIMKL, 4, add=False)
        world.edit(Svc.SIMKL, 5, add=True)
        QUIRK_BY_NAME["token_expires"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 1)
        assert world.run()[0].result is None  # AniList refuses the sign-in mid-run

        heal(world, every_run_completes=True)

        assert world.holds(Svc.ANILIST) == world.holds(Svc.SIMKL) == {0, 1, 2, 3, 5, 6, 8, 9}
    finally:
        world.close()


def test_removals_on_both_sides_while_one_refuses_our_sign_in_twice_reach_the_other_side(
    served: Rig,
) -> None:
    # Found by the full machine (ci profile) beside the case above: with AniList showing our
    # copies two reads late and refusing the sign-in for two runs, the user's removals on
    # either side came back from the other.
    world = World(served, ANILIST_SIMKL, titles=12)
    try:
        for index in (0, 9):
            world.edit(Svc.ANILIST, index, add=True)
        for index in (0, 1, 2, 3, 4, 6, 8, 9):
            world.edit(Svc.SIMKL, index, add=True)
        only([d.result for d in world.run()])  # SIMKL's titles copied to AniList
        world.edit(Svc.SIMKL, 4, add=False)
        QUIRK_BY_NAME["visible_after_reads"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 2)
        world.edit(Svc.SIMKL, 5, add=True)
        QUIRK_BY_NAME["token_expires"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 2)
        world.restart()
        assert world.run()[0].result is None
        world.edit(Svc.ANILIST, 11, add=True)
        QUIRK_BY_NAME["rate_limited"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 3)
        world.restart()
        assert world.run()[0].result is None
        world.edit(Svc.ANILIST, 8, add=False)
        QUIRK_BY_NAME["stale_body_after_write"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 2)

        heal(world, every_run_completes=True)

        assert world.holds(Svc.ANILIST) == world.holds(Svc.SIMKL) == {0, 1, 2, 3, 5, 6, 9, 11}
    finally:
        world.close()


def test_a_play_undone_after_our_copy_of_it_lost_its_reply_is_undone_on_the_copy_too(
    served: Rig,
) -> None:
    # Found by the full machine in CI's minimum Home Assistant lane: our copy of a Trakt play
    # to Plex lost its reply, and the user then took the play back on Trakt.
    world = World(served, PLEX_TRAKT_MACHINE, titles=12)
    try:
        QUIRK_BY_NAME["lost_reply"].switch[Svc.PLEX](world.services[Svc.PLEX], 1)
        world.edit(Svc.TRAKT, 0, add=True)
        only([d.result for d in world.run()])  # the play copied to Plex, its reply lost
        world.edit(Svc.TRAKT, 0, add=False)

        heal(world, every_run_completes=True)

        assert world.holds(Svc.PLEX) == world.holds(Svc.TRAKT) == set()
    finally:
        world.close()


@pytest.mark.parametrize("first_edit_on", [Svc.SIMKL, Svc.ANILIST])
def test_edits_on_either_side_around_a_run_anilist_refused_for_its_rate_reach_both_sides(
    served: Rig, first_edit_on: Svc
) -> None:
    # Found by the full machine at 20,000 (thorough): our copy to SIMKL shows one read late,
    # the next run fails as AniList keeps answering 429, and the user edits the title twice.
    world = World(served, ANILIST_SIMKL, titles=12)
    try:
        world.edit(Svc.ANILIST, 0, add=True)
        world.restart()
        QUIRK_BY_NAME["visible_after_reads"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 1)
        world.run()
        world.restart()
        QUIRK_BY_NAME["rate_limited"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 2)
        toggle(world, first_edit_on, 0)
        world.run()
        wanted = toggle(world, Svc.SIMKL, 0)

        heal(world)

        assert (0 in world.holds(Svc.ANILIST), 0 in world.holds(Svc.SIMKL)) == (wanted, wanted)
    finally:
        world.close()


def test_a_title_listed_and_unlisted_on_simkl_while_jellyfin_lags_leaves_the_mirror_too(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (thorough): Trakt answers stale 304s, Jellyfin shows
    # writes three reads late; the user lists a title on SIMKL and unlists it a run later.
    world = World(served, TWO_PAIRS, titles=12)
    try:
        QUIRK_BY_NAME["stale_etag_304"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 3)
        world.run()
        world.restart()
        QUIRK_BY_NAME["visible_after_reads"].switch[Svc.JELLYFIN](world.services[Svc.JELLYFIN], 3)
        toggle(world, Svc.SIMKL, 5)
        world.run()
        wanted = toggle(world, Svc.SIMKL, 5)

        heal(world)

        holds = {svc: 5 in world.holds(svc) for svc in (Svc.TRAKT, Svc.SIMKL, Svc.JELLYFIN)}
        assert holds == dict.fromkeys(holds, wanted)
    finally:
        world.close()


def test_a_tiny_list_hiding_only_what_our_pending_removal_explains_is_no_telling_lie(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (thorough), at 743b17c: the mirror's removal of Heat
    # from Jellyfin awaited verification, the user listed Heat there again, and a tiny list
    # hid it. The engine verified its removal by that read, which nothing could tell from
    # the truth; the harness called the read a telling lie and the success dishonest. The
    # next run sees Heat as the target's own add, which the mirror removes.
    world = World(served, TWO_PAIRS, titles=12)
    try:
        for index in (0, 1, 2):
            world.edit(Svc.JELLYFIN, index, add=True)
        toggle(world, Svc.TRAKT, 0)
        for _ in range(5):
            world.restart()
        for _ in range(3):
            world.run()
        toggle(world, Svc.JELLYFIN, 1)
        world.restart()
        QUIRK_BY_NAME["tiny_list"].switch[Svc.JELLYFIN](world.services[Svc.JELLYFIN], 1)

        mirror = world.run()[1]

        assert mirror.result is not None
        assert not (mirror.lies and mirror.result.status is RunStatus.SUCCESS), (
            mirror.result.status,
            mirror.lies,
            world.holds(Svc.JELLYFIN),
        )
    finally:
        world.close()


SIMKL_TRAKT = next(s for s in SETUPS if s.name == "SIMKL → Trakt watchlist, source_deletes")


@pytest.mark.parametrize("setup", [TRAKT_SIMKL, SIMKL_TRAKT], ids=lambda s: s.name)
def test_a_title_listed_again_while_a_second_shrink_is_doubted_reaches_the_other_side(
    served: Rig, setup: Setup
) -> None:
    # Found by the full machine (ci profile) in a fresh-clone CI run, with no quirk at all:
    # the user unlists a title on both sides (a sharp shrink, doubted for a run), then unlists
    # the other title and lists the first again on the source. The second doubted shrink
    # replaced the first, which forgot that the first title had come back.
    world = World(served, setup, titles=12)
    try:
        in_sync(world, range(2))
        source = setup.pairs[0].a
        for side in setup.sides:
            toggle(world, side, 1)
        assert only([d.result for d in world.run()]).status is RunStatus.PARTIAL
        toggle(world, source, 0)
        toggle(world, source, 1)

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == {1}
    finally:
        world.close()


@pytest.mark.parametrize("lie_on_the_last_read", [True, False])
def test_a_play_undone_while_our_copy_lags_is_not_brought_back_by_a_partial_read_of_the_copy(
    served: Rig, lie_on_the_last_read: bool
) -> None:
    # Found by the full machine at 20,000 (at 9f3f188): our copy of a Plex play showed on Trakt
    # two reads late, after the user's unplay on Plex was believed. First in a partial read of
    # Trakt: the tombstone guard took our copy for Trakt's news and the play came back to Plex.
    # Or in a complete read while Plex's read was partial: settled then, the copy was Trakt's
    # own and the unplay never reached it.
    world = World(served, PLEX_TRAKT_MACHINE, titles=12)
    try:
        for index in (0, 2):
            world.edit(Svc.PLEX, index, add=True)
        QUIRK_BY_NAME["visible_after_reads"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 2)
        world.run()  # both plays copied to Trakt, not yet shown there
        toggle(world, Svc.PLEX, 2)
        world.run()
        world.run()
        if lie_on_the_last_read:
            QUIRK_BY_NAME["server_error_mid_read"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 2)
            world.restart()
        else:
            toggle(world, Svc.PLEX, 0)
        world.run()

        heal(world)

        wanted = {0} if lie_on_the_last_read else set()
        assert world.holds(Svc.PLEX) == world.holds(Svc.TRAKT) == wanted
    finally:
        world.close()


def test_a_title_listed_again_while_a_stale_body_still_shows_our_removal_reaches_both(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (at d1aea1c).
    world = World(served, TRAKT_SIMKL, titles=12)
    try:
        world.edit(Svc.SIMKL, 0, add=True)
        world.run()
        world.run()
        QUIRK_BY_NAME["stale_body_after_write"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 1)
        toggle(world, Svc.TRAKT, 0)
        world.run()  # Trakt's loss doubted
        world.run()  # believed: removed from SIMKL too
        wanted = toggle(world, Svc.TRAKT, 0)  # the user lists it again on Trakt

        heal(world)

        assert wanted
        assert 0 in world.holds(Svc.TRAKT)
        assert 0 in world.holds(Svc.SIMKL)
    finally:
        world.close()


def test_a_title_listed_again_then_removed_on_the_other_side_is_removed_from_both(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (at 07ded35), with no quirk at all: the user's own
    # sharp removals on Trakt are doubted twice, and between them the title comes back.
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        for index in (0, 1, 2):
            world.edit(Svc.SIMKL, index, add=True)
        world.run()
        world.run()
        toggle(world, Svc.TRAKT, 2)
        world.run()  # Trakt's loss of the title doubted
        toggle(world, Svc.TRAKT, 0)
        toggle(world, Svc.TRAKT, 2)  # listed again: both sides hold it, in sync
        world.run()  # Trakt's loss of another title doubted; the title came back
        toggle(world, Svc.TRAKT, 1)
        toggle(world, Svc.SIMKL, 2)  # the user's latest word on the title: removed

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_title_removed_while_the_other_sides_reads_fail_leaves_our_copy_there_too(
    served: Rig,
) -> None:
    # Found by the full machine (replayed at 174326d): our copy to SIMKL is in flight, the user
    # removes the title on Trakt, and SIMKL answers malformed bodies until the loss is believed.
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.TRAKT, 3, add=True)
        world.run()  # copied to SIMKL
        malformed = QUIRK_BY_NAME["malformed_200"].switch[Svc.SIMKL]
        malformed(world.services[Svc.SIMKL], 1)
        toggle(world, Svc.TRAKT, 3)
        world.run()  # Trakt's loss doubted; SIMKL's read partial
        malformed(world.services[Svc.SIMKL], 1)
        world.run()  # Trakt's loss believed while SIMKL still cannot show our copy

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_title_removed_before_the_other_side_was_ever_read_leaves_our_copy_there_too(
    served: Rig,
) -> None:
    # Found by the full machine (replayed at 07ded35). The variant where SIMKL had a baseline
    # is the scenario above.
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.TRAKT, 3, add=True)
        malformed = QUIRK_BY_NAME["malformed_200"].switch[Svc.SIMKL]
        malformed(world.services[Svc.SIMKL], 1)
        world.run()  # copied to SIMKL, whose read failed: no baseline founded
        malformed(world.services[Svc.SIMKL], 1)
        toggle(world, Svc.TRAKT, 3)
        world.run()  # Trakt's loss doubted
        malformed(world.services[Svc.SIMKL], 1)
        world.run()  # believed, while SIMKL still cannot show our copy

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_title_listed_again_while_the_other_sides_loss_is_doubted_reaches_it(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (at a2dd446): SIMKL regains the title while Trakt's
    # removal of it is still doubted. Believed a run later, that removal must not undo the
    # user's later listing on SIMKL.
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        for index in (0, 1, 2):
            world.edit(Svc.TRAKT, index, add=True)
        world.run()
        toggle(world, Svc.TRAKT, 2)
        world.run()  # Trakt's loss doubted
        toggle(world, Svc.TRAKT, 0)
        toggle(world, Svc.SIMKL, 2)
        QUIRK_BY_NAME["malformed_200"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)
        world.run()  # Trakt's read malformed; SIMKL's loss doubted
        wanted = toggle(world, Svc.SIMKL, 2)  # the user's latest word: listed on SIMKL

        heal(world)

        assert wanted
        assert 2 in world.holds(Svc.TRAKT)
        assert 2 in world.holds(Svc.SIMKL)
    finally:
        world.close()


def test_a_play_undone_after_an_empty_first_answer_from_the_other_side_is_undone_there_too(
    served: Rig,
) -> None:
    # Found by the full machine in CI (at dddaf1b): Plex's first two answers are empty, so the
    # first run copies Trakt's plays to a Plex that already held one of them; the user then
    # unplays that title on Trakt, and the unplay must reach Plex.
    world = World(served, PLEX_TRAKT_MACHINE, titles=MACHINE_TITLES)
    try:
        for index in (5, 9):
            world.edit(Svc.PLEX, index, add=True)
        for index in (0, 9):
            world.edit(Svc.TRAKT, index, add=True)
        QUIRK_BY_NAME["empty_200"].switch[Svc.PLEX](world.services[Svc.PLEX], 2)
        only([d.result for d in world.run()])
        toggle(world, Svc.TRAKT, 9)

        heal(world)

        assert world.holds(Svc.PLEX) == world.holds(Svc.TRAKT) == {0, 5}
    finally:
        world.close()


def test_a_tiny_first_page_of_plex_that_hides_its_later_pages_is_a_lie_the_harness_sees(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (at 17bed20), a false alarm: a cut of Plex's first
    # page (one watched film of five listed) rewrote the totals, so the page holding the user's
    # other play was never asked for. The gate counted only the watched rows of the page it
    # cut and called that no lie; the ledger then expected an unplay of the hidden title to
    # reach Trakt, though no read could have shown the play it undid.
    world = World(served, PLEX_TRAKT_MACHINE, titles=MACHINE_TITLES)
    try:
        for index in (0, 5):
            world.edit(Svc.PLEX, index, add=True)
        for index in (0, 1, 2, 5):
            world.edit(Svc.TRAKT, index, add=True)
        QUIRK_BY_NAME["tiny_list"].switch[Svc.PLEX](world.services[Svc.PLEX], 1)

        (done,) = world.run()
        toggle(world, Svc.PLEX, 5)
        heal(world)

        assert done.lied == {Svc.PLEX}
        assert world.holds(Svc.PLEX) == world.holds(Svc.TRAKT)
    finally:
        world.close()


def test_a_title_listed_again_and_unlisted_while_our_removal_of_it_awaits_verification_goes(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (at f41f7ac): the user lists a title again on Trakt,
    # and on SIMKL, while our removal of it from SIMKL awaits verification; we copy Trakt's
    # gain, keeping it out of Trakt's baseline; the user then unlists it on Trakt. The copy
    # read as SIMKL's own news, held off Trakt by the older tombstone: the pair never agreed.
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        in_sync(world, range(1))
        QUIRK_BY_NAME["empty_200"].switch[Svc.TRAKT](world.services[Svc.TRAKT], 1)
        toggle(world, Svc.TRAKT, 0)
        world.run()  # Trakt's loss doubted
        world.run()  # believed: removed from SIMKL, awaiting verification
        toggle(world, Svc.TRAKT, 0)
        toggle(world, Svc.SIMKL, 0)
        world.restart()
        world.run()  # Trakt's gain copied to SIMKL
        toggle(world, Svc.TRAKT, 0)

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_title_removed_while_the_other_side_answers_empty_and_refuses_our_sign_in_goes(
    served: Rig,
) -> None:
    # Found by the full machine at thorough (at e14dad5): AniList answers empty 200s while the
    # user removes on SIMKL a title we had copied to AniList; SIMKL then refuses our sign-in
    # mid-run. The run kept AniList's empty answer as its baseline, so the next healthy read
    # showed our copy as AniList's news and brought it back to SIMKL.
    world = World(served, ANILIST_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.SIMKL, 0, add=True)
        for _ in range(3):
            only([d.result for d in world.run()])
        assert world.holds(Svc.ANILIST) == {0}
        QUIRK_BY_NAME["empty_200"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 3)
        world.edit(Svc.SIMKL, 0, add=False)
        QUIRK_BY_NAME["token_expires"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 1)
        assert world.run()[0].result is None  # SIMKL refuses the sign-in mid-run

        heal(world)

        assert world.holds(Svc.ANILIST) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_title_listed_again_on_one_side_after_both_sides_removed_it_reaches_the_other(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (thorough, at 24fd3c2), with no quirk at all: the
    # user empties Trakt (so its loss is doubted) and removes a title on SIMKL too, then lists
    # that title again on Trakt.
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.TRAKT, 0, add=True)
        world.edit(Svc.SIMKL, 4, add=True)
        only([d.result for d in world.run()])
        toggle(world, Svc.TRAKT, 0)
        toggle(world, Svc.TRAKT, 4)
        toggle(world, Svc.SIMKL, 4)
        only([d.result for d in world.run()])  # Trakt's loss of everything is doubted
        toggle(world, Svc.TRAKT, 4)

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == {4}
    finally:
        world.close()


def test_a_title_played_again_on_plex_after_both_sides_unplayed_it_reaches_trakt(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (thorough, at 4bd8dcc): the history form of the case
    # above. Plex answers empty 200s while the user unplays on both sides a title we had
    # marked on Plex, then plays it again on Plex: that play is the user's, not our mark.
    world = World(served, PLEX_TRAKT_MACHINE, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.PLEX, 0, add=True)
        world.edit(Svc.TRAKT, 4, add=True)
        only([d.result for d in world.run()])
        QUIRK_BY_NAME["empty_200"].switch[Svc.PLEX](world.services[Svc.PLEX], 2)
        toggle(world, Svc.PLEX, 4)
        toggle(world, Svc.TRAKT, 4)
        world.run()  # Plex's empty answers are doubted
        toggle(world, Svc.PLEX, 4)

        heal(world)

        assert world.holds(Svc.PLEX) == world.holds(Svc.TRAKT) == {0, 4}
    finally:
        world.close()


def test_a_copy_removed_and_listed_again_in_one_window_is_no_edit_against_the_other_sides(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (thorough, at 09d6b1d): between two runs, the user
    # removes our copy on Trakt and lists the title again (dated after our copy), and removes
    # it on SIMKL, toggling it a few times on each. No run saw Trakt without it: Trakt's net
    # change is none, so SIMKL's removal is the user's only edit, and reaches Trakt.
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.SIMKL, 0, add=True)
        only([d.result for d in world.run()])  # copied to Trakt
        for side in (Svc.TRAKT, Svc.TRAKT, Svc.TRAKT, Svc.SIMKL, Svc.SIMKL, Svc.TRAKT, Svc.SIMKL):
            toggle(world, side, 0)

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_title_toggled_on_both_sides_between_two_runs_ends_as_the_users_last_edit_left_it(
    served: Rig,
) -> None:
    # Between two runs the user empties Trakt's baseline, removes our copy there, lists another
    # title, and toggles the copied title on both sides, SIMKL last (removed there).
    world = World(served, TRAKT_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.TRAKT, 0, add=True)
        world.edit(Svc.SIMKL, 1, add=True)
        only([d.result for d in world.run()])
        for side, index in (
            (Svc.TRAKT, 0), (Svc.TRAKT, 1), (Svc.TRAKT, 2), (Svc.SIMKL, 1), (Svc.SIMKL, 1),
            (Svc.TRAKT, 1), (Svc.SIMKL, 1),
        ):  # fmt: skip
            toggle(world, side, index)

        heal(world)

        assert world.holds(Svc.TRAKT) == world.holds(Svc.SIMKL) == {2}
    finally:
        world.close()


def test_a_copy_removed_and_listed_again_while_the_run_between_failed_is_no_edit_against_the_other_side(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (thorough, at e6716d8). Our copy reached AniList;
    # the next run failed (AniList sent a malformed list), so it read nothing; then the user
    # removed the title on SIMKL, and removed and listed our copy again on AniList. No run
    # read AniList between, so AniList's net change is none, and SIMKL's removal reaches it.
    world = World(served, ANILIST_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.SIMKL, 10, add=True)
        only([d.result for d in world.run()])
        QUIRK_BY_NAME["malformed_200"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 3)
        assert only([d.result for d in world.run()]).status is RunStatus.FAILED
        for side in (Svc.SIMKL, Svc.ANILIST, Svc.ANILIST):
            toggle(world, side, 10)

        heal(world)

        assert world.holds(Svc.ANILIST) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()


def test_a_copy_removed_and_listed_again_after_a_read_of_it_stopped_short_is_no_edit(
    served: Rig,
) -> None:
    # Found by the full machine at 20,000 (thorough, after 39bbe15). Our copy reached SIMKL;
    # the next run's read of SIMKL was malformed (partial: it saw nothing); the user removed
    # the title on AniList, a run failed on AniList, and the user removed and listed our copy
    # again on SIMKL. No read saw SIMKL whole in between, so SIMKL's net change is none, and
    # AniList's removal reaches it.
    world = World(served, ANILIST_SIMKL, titles=MACHINE_TITLES)
    try:
        world.edit(Svc.ANILIST, 0, add=True)
        only([d.result for d in world.run()])
        QUIRK_BY_NAME["malformed_200"].switch[Svc.SIMKL](world.services[Svc.SIMKL], 3)
        assert only([d.result for d in world.run()]).status is RunStatus.PARTIAL
        QUIRK_BY_NAME["malformed_200"].switch[Svc.ANILIST](world.services[Svc.ANILIST], 1)
        toggle(world, Svc.ANILIST, 0)
        assert only([d.result for d in world.run()]).status is RunStatus.FAILED
        for _ in range(2):
            toggle(world, Svc.SIMKL, 0)

        heal(world)

        assert world.holds(Svc.ANILIST) == world.holds(Svc.SIMKL) == set()
    finally:
        world.close()
