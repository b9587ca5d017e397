"""A run reports only what it writes as planned, and its status never says more than it did."""

from datetime import UTC, datetime

from custom_components.crosswatch.engine.applier import Applied, ApplyReport
from custom_components.crosswatch.engine.guards import (
    GuardCode,
    GuardSettings,
    apply_guards,
    holdouts,
)
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import PairSide, Plan, Reason
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import WriteOutcome
from custom_components.crosswatch.engine.reported import reported_plan, unresolved_count
from custom_components.crosswatch.engine.run_tally import FeatureOutcome, RequestMeter, RunTally
from custom_components.crosswatch.engine.runs import FeatureCounts, PairSpec, RunStatus

from .factories import SIMKL, TRAKT, listed, movie, plan, snap

W = Feature.WATCHLIST
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _five_adds_to_simkl() -> Plan:
    films = [listed(movie(f"Film {n}", 2000 + n, tmdb=1000 + n)) for n in range(5)]
    return plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, snap(W, films), None),
        ("SIMKL", SIMKL, snap(W, []), None),
    )


def test_items_the_target_rejected_or_waits_to_retry_are_unresolved_notes_not_planned() -> None:
    planned = _five_adds_to_simkl()
    backing_off = planned.operations[0].item
    guarded = apply_guards(
        planned,
        settings=GuardSettings(),
        baseline_sizes={},
        held_out={PairSide.B: holdouts([(backing_off, GuardCode.UNRESOLVED_BACKOFF)])},
    )
    written = guarded.plan.operations
    report = ApplyReport(
        (
            Applied(written[0], WriteOutcome.REJECTED, "not_found"),  # SIMKL does not know it
            *(Applied(op, WriteOutcome.CONFIRMED) for op in written[1:]),
        )
    )

    reported = reported_plan(planned, guarded, report)

    assert reported.operations == written[1:]
    unresolved = [n for n in reported.notes if n.reason is Reason.UNRESOLVED]
    assert {n.item.key for n in unresolved} == {backing_off.key, written[0].item.key}
    assert any("not_found" in reported.describe(n) for n in unresolved)
    assert unresolved_count(guarded, report) == 2


def test_a_write_awaiting_verification_is_set_aside_not_planned() -> None:
    planned = _five_adds_to_simkl()
    in_flight = planned.operations[0].item
    guarded = apply_guards(
        planned,
        settings=GuardSettings(),
        baseline_sizes={},
        held_out={PairSide.B: holdouts([(in_flight, GuardCode.PENDING_VERIFICATION)])},
    )

    reported = reported_plan(planned, guarded, ApplyReport(()))

    assert len(reported.operations) == 4
    (note,) = [n for n in reported.notes if n.reason is Reason.SET_ASIDE]
    assert note.item == in_flight
    assert "not yet shown by SIMKL" in reported.describe(note)


def _status(*counts: FeatureCounts) -> RunStatus:
    names = ("Trakt", "SIMKL")
    tally = RunTally(PairSpec("pair"), 1, NOW, RequestMeter.start(), Plan(names))
    for feature, count in zip(Feature, counts, strict=False):
        tally.add(feature, FeatureOutcome(counts=count, plan=Plan(names)))
    return tally.status()


def test_a_run_whose_every_item_is_unresolved_says_so_not_success() -> None:
    assert _status(FeatureCounts(unresolved=22, rejected=22)) is RunStatus.UNRESOLVED
    assert _status(FeatureCounts(unresolved=22)) is RunStatus.UNRESOLVED  # all backing off


def test_a_run_the_target_refused_part_of_did_not_do_what_it_planned() -> None:
    partly = FeatureCounts(planned=8, applied=8, unresolved=22, rejected=22)
    assert _status(partly) is RunStatus.PARTIAL


def test_a_run_that_wrote_all_it_planned_succeeds_beside_items_waiting_for_their_retry() -> None:
    assert _status(FeatureCounts(planned=3, applied=3, unresolved=22)) is RunStatus.SUCCESS
    assert _status(FeatureCounts()) is RunStatus.SUCCESS
