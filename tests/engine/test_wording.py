"""The engine's messages count in words that agree with the number."""

from custom_components.crosswatch.engine.guards import (
    GuardCode,
    GuardSettings,
    apply_guards,
    holdouts,
)
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import PairSide
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.wording import count_of

from .factories import SIMKL, TRAKT, listed, movie, plan, snap


def test_one_item_two_items() -> None:
    assert [count_of(n, "item") for n in (0, 1, 2)] == ["0 items", "1 item", "2 items"]
    assert count_of(1, "entry", "entries") == "1 entry"
    assert count_of(3, "entry", "entries") == "3 entries"


def test_a_single_item_set_aside_is_one_item_in_the_event() -> None:
    heat = movie("Heat", 1995, tmdb=949)
    planned = plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, snap(Feature.WATCHLIST, [listed(heat)]), None),
        ("SIMKL", SIMKL, snap(Feature.WATCHLIST, []), None),
    )

    guarded = apply_guards(
        planned,
        settings=GuardSettings(),
        baseline_sizes={},
        held_out={PairSide.B: holdouts([(heat, GuardCode.UNRESOLVED_BACKOFF)])},
    )

    (event,) = guarded.events
    assert event.detail == "1 item rejected by SIMKL earlier; retried later"
