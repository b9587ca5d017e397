"""How long a pair has been failing: the streak of failed runs its run records show.

A pair that fails run after run (a revoked app, a server that moved) should stop trying and
say so once, rather than fail every interval. What counts, newest run first:
- a failed run extends the streak, unless it failed because a provider asked us to slow down
  (that clears by itself, and the run is retried when the provider said);
- a cancelled run (Home Assistant stopping) and a run that never finished say nothing either way;
- any other run (it did something, or was held for a decision) ends the streak.
Targeted runs (one played item) are not in the records this reads (`StateStore.runs(full_only=)`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
import json

from .records import RunRecord
from .runs import RunStatus


@dataclass(frozen=True, slots=True)
class FailureStreak:
    """The failed runs since the pair last did something, and the newest one's error."""

    runs: int = 0
    last_error: str | None = None


def failure_streak(records: Iterable[RunRecord]) -> FailureStreak:
    """The streak the records show (newest first, as `StateStore.runs` lists them)."""
    runs, last_error = 0, None
    for record in records:
        if record.status is None or record.status == RunStatus.CANCELLED.value:
            continue
        if record.status != RunStatus.FAILED.value:
            break
        summary = _summary(record.result)
        if summary.get("rate_limited"):
            continue
        runs += 1
        if last_error is None:
            errors = summary.get("errors")
            if isinstance(errors, list) and errors:
                last_error = str(errors[0])
    return FailureStreak(runs, last_error)


def _summary(result: str | None) -> dict[str, object]:
    try:
        summary = json.loads(result or "{}")
    except ValueError:
        return {}
    return summary if isinstance(summary, dict) else {}
