"""Guards hold back what the evidence cannot justify, and say so."""

from collections.abc import Iterable
from datetime import UTC, datetime

from custom_components.crosswatch.engine.guards import (
    GuardCode,
    GuardSettings,
    ShrinkVerdict,
    apply_guards,
    delete_budget,
    holdouts,
    judge_shrink,
)
from custom_components.crosswatch.engine.items import MediaItem
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.plan import Action, PairSide
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.records import ShrinkSuspicion
from custom_components.crosswatch.engine.snapshot import Semantics, Snapshot

from .factories import SIMKL, TRAKT, listed, movie, plan, snap

W = Feature.WATCHLIST
DEFAULTS = GuardSettings()
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def films(count: int, start: int = 0) -> list[Entry]:
    return [listed(movie(f"Film {n}", 2000, tmdb=1000 + n)) for n in range(start, start + count)]


def listed_again(n: int, at: datetime | None = NOW) -> Entry:
    """Film `n` of `films`, listed anew at `at` (a provider dates a new listing)."""
    return listed(movie(f"Film {n}", 2000, tmdb=1000 + n), at)


def judge(
    snapshot: Snapshot,
    baseline: Snapshot | None,
    *,
    ours: Iterable[MediaItem] = (),
    suspected: ShrinkSuspicion | None = None,
    settings: GuardSettings = DEFAULTS,
    first_lost: frozenset[str] | None = None,
) -> ShrinkVerdict:
    """The drop guard's verdict on one read (`first_lost`: what the run's first read lost)."""
    return judge_shrink(
        snapshot, baseline, ours=ours, suspected=suspected, settings=settings, side=PairSide.A,
        now=NOW, first_lost=first_lost,
    )  # fmt: skip


def read_twice(
    snapshot: Snapshot,
    baseline: Snapshot,
    *,
    ours: Iterable[MediaItem] = (),
    suspected: ShrinkSuspicion | None = None,
    second: Snapshot | None = None,
) -> ShrinkVerdict:
    """The verdict on a run that read a side twice: `second` (or the same answer) again."""
    first = judge(snapshot, baseline, ours=ours, suspected=suspected)
    if first.unconfirmed is None:
        return first
    return judge(
        second or snapshot, baseline, ours=ours, suspected=suspected,
        first_lost=first.unconfirmed.missing,
    )  # fmt: skip


def test_one_read_that_lost_anything_asks_for_a_second_read_and_decides_nothing() -> None:
    baseline = snap(W, films(20))

    first = judge(snap(W, films(19)), baseline)

    assert first.unconfirmed is not None
    assert len(first.unconfirmed.missing) == 1
    assert (first.event, first.suspicion, first.confirmed) == (None, None, None)


def test_a_small_loss_two_reads_agree_on_is_believed_at_once() -> None:
    verdict = read_twice(snap(W, films(19)), snap(W, films(20)))

    assert verdict.snapshot.completeness.complete
    assert (verdict.event, verdict.suspicion) == (None, None)


def test_a_tiny_first_answer_is_overruled_by_a_second_read_that_shows_everything() -> None:
    baseline = snap(W, films(12))

    verdict = read_twice(snap(W, films(3)), baseline, second=snap(W, films(12)))

    assert verdict.snapshot.completeness.complete
    assert len(verdict.snapshot) == 12
    assert verdict.suspicion is None
    assert verdict.event is not None
    assert (verdict.event.code, verdict.event.count) == (GuardCode.READ_AGAIN, 9)


def test_two_reads_that_disagree_on_what_is_gone_make_the_side_partial() -> None:
    baseline = snap(W, films(12))
    earlier = judge(snap(W, []), baseline)
    first_lost = frozenset({"tmdb:movie:1000"})

    verdict = judge(
        snap(W, films(3, start=9)), baseline, suspected=earlier.suspicion, first_lost=first_lost
    )

    assert not verdict.snapshot.completeness.complete
    assert verdict.event is not None
    assert "two reads of this run disagree" in verdict.event.detail
    assert verdict.suspicion == earlier.suspicion


def test_a_sharp_shrink_makes_the_snapshot_suspect_and_is_remembered() -> None:
    baseline = snap(W, films(200))
    tiny = snap(W, films(12), provider="Trakt")

    verdict = read_twice(tiny, baseline)

    assert not verdict.snapshot.completeness.complete
    assert "suspect" in verdict.snapshot.completeness.describe()
    assert verdict.event is not None
    assert (verdict.event.code, verdict.event.side, verdict.event.count) == (
        GuardCode.SNAPSHOT_SUSPECT,
        PairSide.A,
        188,
    )
    assert "Trakt watchlist: read 12 of the 200 items expected" in verdict.event.detail
    assert verdict.suspicion is not None
    assert (verdict.suspicion.expected, verdict.suspicion.seen) == (200, 12)
    assert len(verdict.suspicion.missing) == 188


def test_two_way_never_removes_when_a_snapshot_shrinks_in_one_run() -> None:
    baseline = snap(W, films(200))
    tiny = read_twice(snap(W, films(12)), baseline).snapshot

    result = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, tiny, baseline),
        ("SIMKL", SIMKL, snap(W, films(200)), baseline),
    )

    assert result.is_empty


def test_a_shrink_is_believed_when_the_reads_of_the_next_run_miss_the_same_items() -> None:
    baseline = snap(W, films(200))
    first = read_twice(snap(W, films(100)), baseline)

    confirmed = read_twice(snap(W, films(100)), baseline, suspected=first.suspicion)

    assert confirmed.snapshot.completeness.complete
    assert confirmed.suspicion is None
    assert confirmed.event is not None
    assert (confirmed.event.code, confirmed.event.count) == (GuardCode.SHRINK_CONFIRMED, 100)
    assert confirmed.confirmed is not None  # for the service's own count to witness


def test_a_healthy_read_after_a_suspect_one_clears_the_suspicion() -> None:
    baseline = snap(W, films(200))
    first = read_twice(snap(W, []), baseline)

    healthy = judge(snap(W, films(200)), baseline, suspected=first.suspicion)

    assert healthy.snapshot.completeness.complete
    assert (healthy.event, healthy.suspicion) == (None, None)


def test_a_second_sharp_loss_on_top_of_a_confirmed_one_waits_for_its_own_confirmation() -> None:
    baseline = snap(W, films(200))
    first = read_twice(snap(W, films(150, start=50)), baseline)  # films 0-49 missing

    worse = read_twice(snap(W, films(50, start=150)), baseline, suspected=first.suspicion)

    assert not worse.snapshot.completeness.complete
    assert worse.suspicion is not None
    assert len(worse.suspicion.missing) == 150


def test_activity_is_no_evidence_but_our_own_removals_explain_a_shrink() -> None:
    baseline = snap(W, films(30))
    ours = [entry.item for entry in films(25)]  # the user approved 25 held removals

    emptied_by_us = judge(snap(W, films(5, start=25)), baseline, ours=ours)

    assert emptied_by_us.snapshot.completeness.complete
    assert (emptied_by_us.event, emptied_by_us.suspicion, emptied_by_us.unconfirmed) == (
        None,
        None,
        None,
    )
    # Of the 5 we did not remove, losing all of them is the classic hiccup again.
    assert read_twice(snap(W, []), baseline, ours=ours).suspicion is not None


def test_losses_within_the_threshold_pass_the_drop_guard_once_two_reads_agree() -> None:
    # 10 % of 200 is 20: a shrink of 20 is not "more than" it.
    assert read_twice(snap(W, films(180)), snap(W, films(200))).event is None
    # One of 10 is not more than 10 % either.
    assert read_twice(snap(W, films(9)), snap(W, films(10))).event is None


def test_one_item_of_a_small_list_is_a_sharp_loss() -> None:
    verdict = read_twice(snap(W, films(4)), snap(W, films(5)))

    assert verdict.event is not None
    assert verdict.event.code is GuardCode.SNAPSHOT_SUSPECT


def test_the_drop_guard_ignores_first_runs_partial_reads_deltas_and_can_be_turned_off() -> None:
    tiny, baseline = snap(W, films(1)), snap(W, films(200))
    off = GuardSettings(drop_guard=False)

    for snapshot, base, settings in [
        (tiny, None, DEFAULTS),
        (snap(W, films(1), complete=False), baseline, DEFAULTS),
        (snap(W, films(1), semantics=Semantics.DELTA), baseline, DEFAULTS),
        (tiny, baseline, off),
    ]:
        verdict = judge(snapshot, base, settings=settings)
        assert (verdict.event, verdict.unconfirmed) == (None, None)


def test_a_partial_read_keeps_an_earlier_suspicion_for_the_confirming_read() -> None:
    baseline = snap(W, films(200))
    first = read_twice(snap(W, []), baseline)

    partial_read = judge(snap(W, films(3), complete=False), baseline, suspected=first.suspicion)

    assert partial_read.suspicion == first.suspicion


def test_a_doubted_read_still_shows_what_an_earlier_suspicion_lacked() -> None:
    baseline = snap(W, films(5))
    first = read_twice(snap(W, films(4)), baseline)  # film 4 missing: one of five is sharp
    assert first.suspicion is not None

    # Film 4 is back (the user listed it again), and films 0-1 are missing now.
    again = read_twice(
        snap(W, [*films(2, start=2), listed_again(4)]), baseline, suspected=first.suspicion
    )

    assert not again.snapshot.completeness.complete  # its own loss is doubted
    assert again.returned == first.suspicion.missing  # but what it shows is there


def test_a_suspicion_that_replaces_another_carries_what_that_one_lacked_and_came_back() -> None:
    baseline = snap(W, films(5))
    first = read_twice(snap(W, films(4)), baseline)
    assert first.suspicion is not None
    replacing = read_twice(
        snap(W, [*films(2, start=2), listed_again(4)]), baseline, suspected=first.suspicion
    )
    assert replacing.suspicion is not None

    believed = read_twice(
        snap(W, [*films(2, start=2), listed_again(4)]), baseline, suspected=replacing.suspicion
    )

    assert believed.confirmed is not None
    assert believed.returned == first.suspicion.missing  # still read as regained


def test_a_partial_read_shows_what_an_earlier_suspicion_lacked_as_returned() -> None:
    baseline = snap(W, films(5))
    first = read_twice(snap(W, films(4)), baseline)
    assert first.suspicion is not None

    partial_read = judge(
        snap(W, [listed_again(4)], complete=False), baseline, suspected=first.suspicion
    )

    assert partial_read.suspicion == first.suspicion
    assert partial_read.returned == first.suspicion.missing


def test_what_an_earlier_suspicion_lacked_shown_with_its_own_listing_date_was_kept() -> None:
    # Listed at the very moment the baseline says, by the provider's own clock: no removal and
    # new add happened in between, so the suspect read hid it, and it is no news of the side.
    baseline = snap(W, films(5))
    first = read_twice(snap(W, films(4)), baseline)
    assert first.suspicion is not None

    shown_again = read_twice(snap(W, films(5)), baseline, suspected=first.suspicion)

    assert shown_again.returned == frozenset()


def test_what_an_earlier_suspicion_lacked_shown_again_undated_may_have_been_listed_again() -> None:
    # Jellyfin's favourites carry no date: nothing tells a kept item from one listed again.
    baseline = snap(W, [listed_again(n, at=None) for n in range(5)])
    first = read_twice(snap(W, [listed_again(n, at=None) for n in range(4)]), baseline)
    assert first.suspicion is not None

    shown_again = read_twice(baseline, baseline, suspected=first.suspicion)

    assert shown_again.returned == first.suspicion.missing


def test_the_delete_budget_is_five_or_two_percent_of_the_baseline() -> None:
    assert delete_budget(None, DEFAULTS) == 5
    assert delete_budget(100, DEFAULTS) == 5
    assert delete_budget(1000, DEFAULTS) == 20
    assert delete_budget(1000, GuardSettings(delete_floor=1, delete_share=0.001)) == 1


def test_removals_beyond_the_budget_are_held_not_applied() -> None:
    baseline = snap(W, films(100))
    source = snap(W, films(90, start=10))  # ten removed on the source
    result = plan(
        SyncMode.MIRROR, ("Trakt", TRAKT, source, baseline), ("SIMKL", SIMKL, baseline, baseline)
    )
    assert len(result.operations) == 10

    guarded = apply_guards(
        result, settings=DEFAULTS, baseline_sizes={PairSide.A: 100, PairSide.B: 100}
    )

    assert len(guarded.plan.operations) == 5
    assert len(guarded.held) == 5
    assert all(op.action is Action.REMOVE for op in guarded.held)
    # The plan order decides what is held, so the same plan always holds the same items.
    assert list(guarded.plan.operations) + list(guarded.held) == list(result.operations)
    (event,) = guarded.events
    assert (event.code, event.side, event.count) == (GuardCode.OVER_DELETE_BUDGET, PairSide.B, 5)
    assert "10 removals planned on SIMKL; the budget is 5 per run" in event.detail


def test_the_budget_can_be_turned_off_per_pair() -> None:
    baseline = snap(W, films(100))
    result = plan(
        SyncMode.MIRROR,
        ("Trakt", TRAKT, snap(W, films(50)), baseline),
        ("SIMKL", SIMKL, baseline, baseline),
    )

    guarded = apply_guards(result, settings=GuardSettings(delete_budget=False), baseline_sizes={})

    assert guarded.held == ()
    assert len(guarded.plan.operations) == 50


def test_a_tombstoned_item_is_not_added_back() -> None:
    deleted = movie("Film 3", 2000, tmdb=1003)
    result = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, snap(W, films(5)), None),
        ("SIMKL", SIMKL, snap(W, []), None),
    )

    guarded = apply_guards(
        result, settings=DEFAULTS, baseline_sizes={}, tombstones={PairSide.B: [deleted]}
    )

    assert [op.item.key for op in guarded.suppressed] == ["tmdb:movie:1003"]
    assert len(guarded.plan.operations) == 4
    (event,) = guarded.events
    assert (event.code, event.side, event.count) == (GuardCode.TOMBSTONED, PairSide.B, 1)


def test_our_add_a_read_shows_may_be_removed_before_it_is_verified_but_not_added_again() -> None:
    ours = films(2)  # copied to SIMKL last run; SIMKL's doubted reads never verified them
    result = plan(
        SyncMode.TWO_WAY,
        # Trakt lost Film 0 (the user removed it) and changed nothing else.
        ("Trakt", TRAKT, snap(W, ours[1:]), snap(W, ours)),
        ("SIMKL", SIMKL, snap(W, ours), snap(W, ours)),
    )
    (removal,) = result.operations
    pending = holdouts((e.item, GuardCode.PENDING_VERIFICATION) for e in ours)

    shown = apply_guards(
        result, settings=DEFAULTS, baseline_sizes={}, held_out={PairSide.B: pending},
        landed={PairSide.B: [e.item for e in ours]},
    )  # fmt: skip
    unseen = apply_guards(
        result, settings=DEFAULTS, baseline_sizes={}, held_out={PairSide.B: pending}
    )

    assert shown.plan.operations == (removal,)
    assert unseen.plan.operations == ()
    assert unseen.suppressed == (removal,)


def test_an_add_over_our_removal_a_stale_read_still_shows_supersedes_it() -> None:
    # We removed Film 0 from SIMKL (Trakt lost it); the user listed it on Trakt again while
    # SIMKL's stale body still showed it. The planner took SIMKL to lack it, as our removal says.
    (again,) = films(1)
    result = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, snap(W, [again]), snap(W, [])),
        ("SIMKL", SIMKL, snap(W, []), snap(W, [])),
    )
    (add,) = result.operations
    pending = holdouts([(again.item, GuardCode.PENDING_VERIFICATION)])

    taken_away = apply_guards(
        result, settings=DEFAULTS, baseline_sizes={}, held_out={PairSide.B: pending},
        lingering={PairSide.B: [again.item]},
    )  # fmt: skip
    in_flight = apply_guards(
        result, settings=DEFAULTS, baseline_sizes={}, held_out={PairSide.B: pending}
    )

    assert (add.side, add.action) == (PairSide.B, Action.ADD)
    assert taken_away.plan.operations == (add,)
    assert in_flight.suppressed == (add,)


def test_an_empty_answer_is_suspect_however_small_the_library() -> None:
    verdict = read_twice(snap(W, []), snap(W, films(3)))

    assert not verdict.snapshot.completeness.complete
    assert verdict.event is not None
    assert verdict.event.count == 3


def test_items_a_rescan_gave_new_local_ids_are_not_lost() -> None:
    before = [listed(movie(f"Film {n}", 2000, emby=100 + n)) for n in range(30)]
    after = [listed(movie(f"Film {n}", 2000, emby=200 + n)) for n in range(30)]
    assert before[0].item.local_tokens != after[0].item.local_tokens

    verdict = judge(snap(W, after), snap(W, before))

    assert verdict.snapshot.completeness.complete
    assert (verdict.event, verdict.suspicion, verdict.unconfirmed) == (None, None, None)
