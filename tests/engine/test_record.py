"""Which gains a run records as synced, and which stay news for the next run."""

from datetime import UTC, datetime
from pathlib import Path

from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.record import forget_rejoined, unsettled_gains
from custom_components.crosswatch.engine.records import Scope, ShrinkSuspicion
from custom_components.crosswatch.engine.snapshot import without
from custom_components.crosswatch.engine.store import StateStore

from .factories import listed, movie, snap

W = Feature.WATCHLIST
HEAT = listed(movie("Heat", 1995, imdb="tt0113277", tmdb=949))
ALIEN = listed(movie("Alien", 1979, tmdb=348))


def test_a_gain_matched_only_by_a_copy_our_removal_took_away_stays_news() -> None:
    # Trakt listed Heat again; SIMKL's stale read still shows the copy our removal took away.
    stale_simkl = snap(W, [HEAT, ALIEN])

    unsettled = unsettled_gains(
        snap(W, [HEAT, ALIEN]),
        snap(W, [ALIEN]),
        other_read=without(stale_simkl, [HEAT.item]),
        other_view=stale_simkl,
        other_lingering=True,
    )

    assert unsettled == {HEAT.key}


def test_a_gain_the_other_sides_complete_read_shows_is_synced() -> None:
    simkl = snap(W, [HEAT, ALIEN])

    unsettled = unsettled_gains(
        snap(W, [HEAT, ALIEN]), snap(W, [ALIEN]), other_read=simkl, other_view=simkl
    )

    assert unsettled == frozenset()


def test_a_suspicion_forgets_what_both_sides_were_seen_to_hold_again(tmp_path: Path) -> None:
    scope = Scope("trakt-simkl", W, "a")
    noticed = datetime(2026, 12, 1, tzinfo=UTC)
    with StateStore(tmp_path / "state.db") as store:
        store.save_shrink_suspicion(
            scope, ShrinkSuspicion(frozenset({"a", "b"}), 10, 8, noticed, frozenset({"c", "d"}))
        )

        forget_rejoined(store, scope, frozenset({"b", "c"}))

        assert store.shrink_suspicion(scope) == ShrinkSuspicion(
            frozenset({"a"}), 10, 9, noticed, frozenset({"d"})
        )
