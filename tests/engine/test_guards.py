"""Guards hold back what the evidence cannot justify, and say so."""

from custom_components.crosswatch.engine.guards import (
    GuardCode,
    GuardSettings,
    apply_guards,
    check_drop,
    delete_budget,
)
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.plan import Action, PairSide
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.snapshot import Semantics

from .factories import SIMKL, TRAKT, listed, movie, plan, snap

W = Feature.WATCHLIST
DEFAULTS = GuardSettings()


def films(count: int, start: int = 0) -> list[Entry]:
    return [listed(movie(f"Film {n}", 2000, tmdb=1000 + n)) for n in range(start, start + count)]


def test_a_sharp_shrink_without_activity_makes_the_snapshot_suspect() -> None:
    baseline = snap(W, films(200))
    tiny = snap(W, films(12), provider="Trakt")

    guarded, event = check_drop(
        tiny, baseline, checkpoint_moved=False, settings=DEFAULTS, side=PairSide.A
    )

    assert not guarded.completeness.complete
    assert "suspect" in guarded.completeness.describe()
    assert event is not None
    assert (event.code, event.side, event.count) == (GuardCode.SNAPSHOT_SUSPECT, PairSide.A, 188)
    assert "Trakt returned 12 items against 200" in event.detail


def test_two_way_never_removes_when_snapshot_shrinks_without_checkpoint_progress() -> None:
    baseline = snap(W, films(200))
    tiny, _ = check_drop(
        snap(W, films(12)), baseline, checkpoint_moved=False, settings=DEFAULTS, side=PairSide.A
    )

    result = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, tiny, baseline),
        ("SIMKL", SIMKL, snap(W, films(200)), baseline),
    )

    assert result.is_empty


def test_a_shrink_with_checkpoint_evidence_is_believed() -> None:
    baseline = snap(W, films(200))
    smaller = snap(W, films(100))

    kept, event = check_drop(
        smaller, baseline, checkpoint_moved=True, settings=DEFAULTS, side=PairSide.A
    )

    assert kept is smaller
    assert event is None


def test_small_or_minor_shrinks_pass_the_drop_guard() -> None:
    # 10 % of 200 is 20: a shrink of 20 is not "more than" it.
    assert (
        check_drop(
            snap(W, films(180)),
            snap(W, films(200)),
            checkpoint_moved=False,
            settings=DEFAULTS,
            side=PairSide.A,
        )[1]
        is None
    )
    # 9 of 20 is 45 %, but fewer than the minimum count of 10.
    assert (
        check_drop(
            snap(W, films(11)),
            snap(W, films(20)),
            checkpoint_moved=False,
            settings=DEFAULTS,
            side=PairSide.A,
        )[1]
        is None
    )


def test_the_drop_guard_ignores_first_runs_partial_reads_deltas_and_can_be_turned_off() -> None:
    tiny, baseline = snap(W, films(1)), snap(W, films(200))
    off = GuardSettings(drop_guard=False)

    for snapshot, base, settings in [
        (tiny, None, DEFAULTS),
        (snap(W, films(1), complete=False), baseline, DEFAULTS),
        (snap(W, films(1), semantics=Semantics.DELTA), baseline, DEFAULTS),
        (tiny, baseline, off),
    ]:
        assert (
            check_drop(snapshot, base, checkpoint_moved=False, settings=settings, side=PairSide.B)[
                1
            ]
            is None
        )


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


def test_an_empty_answer_is_suspect_however_small_the_library() -> None:
    baseline = snap(W, films(3))

    guarded, event = check_drop(
        snap(W, []), baseline, checkpoint_moved=False, settings=DEFAULTS, side=PairSide.B
    )

    assert not guarded.completeness.complete
    assert event is not None
    assert event.count == 3
