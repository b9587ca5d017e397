"""A pair's failure streak, as its run records show it (engine/failing.py)."""

from datetime import UTC, datetime
import json

from custom_components.crosswatch.engine.failing import FailureStreak, failure_streak
from custom_components.crosswatch.engine.records import RunRecord

AT = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)


def run(
    status: str | None, *, errors: tuple[str, ...] = (), rate_limited: bool = False
) -> RunRecord:
    summary = {"errors": list(errors), "rate_limited": ["Trakt (alice)"] if rate_limited else []}
    return RunRecord(1, "pair", AT, AT if status else None, status, json.dumps(summary))


def test_failed_runs_since_the_last_run_that_did_something_make_the_streak() -> None:
    records = [
        run("failed", errors=("SIMKL is down",)),
        run("failed", errors=("SIMKL answered 503",)),
        run("success"),
        run("failed"),
    ]

    assert failure_streak(records) == FailureStreak(2, "SIMKL is down")


def test_a_held_partial_or_unresolved_run_ends_the_streak() -> None:
    for status in ("held", "partial", "unresolved", "success"):
        assert failure_streak([run(status), run("failed")]) == FailureStreak(0, None)


def test_rate_limited_cancelled_and_unfinished_runs_neither_count_nor_end_the_streak() -> None:
    records = [
        run("failed", rate_limited=True, errors=("slow down",)),
        run("cancelled"),
        run(None),
        run("failed", errors=("token revoked",)),
        run("failed", rate_limited=True),
        run("failed"),
    ]

    assert failure_streak(records) == FailureStreak(2, "token revoked")


def test_a_record_without_a_readable_summary_still_counts_as_a_failure() -> None:
    unreadable = RunRecord(1, "pair", AT, AT, "failed", "not json")

    assert failure_streak([unreadable, run("failed")]) == FailureStreak(2, None)


def test_no_runs_is_no_streak() -> None:
    assert failure_streak([]) == FailureStreak()
