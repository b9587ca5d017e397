"""The harness's model of the user's intent, checked on its own so the machines can trust it."""

from .ledger import Ledger
from .services import Svc
from .setups import SETUPS

PLEX_TRAKT = next(s for s in SETUPS if s.name == "Plex ⇄ Trakt history, two-way")
PAIR = PLEX_TRAKT.pairs[0]
BOTH = (Svc.PLEX, Svc.TRAKT)


def test_edits_after_a_baseline_count_as_changes_though_the_next_run_failed_to_read() -> None:
    # Found by the full machine at 20,000: the user played a title on both sides, a run failed
    # (Plex asked to slow down), and the user took the play back on Plex. The edits before the
    # failed run were taken for what the first sync found, so only the unplay seemed to count.
    book = Ledger(PLEX_TRAKT, 12, {side: set() for side in BOTH})
    book.close_window(0)
    book.saw_run(PAIR, 0, read=True)  # founds both baselines
    book.record(Svc.PLEX, 0, add=True)
    book.record(Svc.TRAKT, 0, add=True)
    book.close_window(1)
    book.saw_run(PAIR, 1, read=False, founded=BOTH)
    book.record(Svc.PLEX, 0, add=False)
    book.close_window(2)
    book.saw_run(PAIR, 2, read=True, founded=BOTH)

    # One run read all three: a play on Trakt against a play undone on Plex, a true conflict.
    assert book.expectations(PAIR) == {}


def test_the_latest_of_edits_read_by_different_runs_decides() -> None:
    book = Ledger(PLEX_TRAKT, 12, {side: set() for side in BOTH})
    book.close_window(0)
    book.saw_run(PAIR, 0, read=True)
    book.record(Svc.TRAKT, 0, add=True)
    book.close_window(1)
    book.saw_run(PAIR, 1, read=True, founded=BOTH)  # copies the play to Plex
    book.record(Svc.PLEX, 0, add=False)  # the user undoes our copy on Plex
    book.close_window(2)
    book.saw_run(PAIR, 2, read=True, founded=BOTH)

    assert book.expectations(PAIR) == {0: False}
