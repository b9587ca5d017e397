"""Edges of the engine that real providers reach only when something is off."""

from datetime import timedelta

import pytest

from custom_components.crosswatch.engine.history import missing_plays
from custom_components.crosswatch.engine.payloads import (
    Feature,
    Listed,
    Rated,
    Watched,
    merge_payloads,
)
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.snapshot import Semantics, effective_view

from .factories import PLEX, T0, TRAKT, listed, movie, plan, rated, snap, watched, watched_state

HEAT = movie("Heat", 1995, tmdb=949)


def test_planning_two_different_features_is_refused() -> None:
    with pytest.raises(ValueError, match="same feature"):
        plan(
            SyncMode.ADD_ONLY,
            ("Trakt", TRAKT, snap(Feature.WATCHLIST, []), None),
            ("Plex", PLEX, snap(Feature.RATINGS, []), None),
        )


@pytest.mark.parametrize(
    ("feature", "wrong"),
    [(Feature.HISTORY, rated(HEAT, 7)), (Feature.RATINGS, listed(HEAT))],
)
def test_a_snapshot_holding_the_wrong_payloads_is_a_bug_not_a_plan(
    feature: Feature, wrong: object
) -> None:
    good = watched(HEAT, T0) if feature is Feature.HISTORY else rated(HEAT, 5)
    with pytest.raises(TypeError, match="payloads"):
        plan(
            SyncMode.ADD_ONLY,
            ("Trakt", TRAKT, snap(feature, [wrong]), None),  # type: ignore[list-item]
            ("Plex", PLEX, snap(feature, [good]), None),
        )


def test_payloads_of_different_features_never_merge() -> None:
    with pytest.raises(TypeError, match="cannot merge Listed with Rated"):
        merge_payloads(Listed(T0), Rated(5, T0))


def test_the_most_recent_of_two_ratings_wins_a_merge() -> None:
    older, newer = Rated(5, T0), Rated(8, T0 + timedelta(days=1))

    assert older.merge(newer) == newer
    assert newer.merge(older) == newer
    assert Rated(3, None).merge(older) == older


def test_a_new_undated_play_on_a_watched_state_source_is_added_undated() -> None:
    undated_rewatch = Watched.from_state(3, None)
    trakt = Watched.from_plays([T0])

    assert missing_plays(undated_rewatch, PLEX.history, trakt, TRAKT.history) == ()


def test_an_undated_play_is_written_as_a_watched_state() -> None:
    result = plan(
        SyncMode.ADD_ONLY,
        ("Plex", PLEX, snap(Feature.HISTORY, [watched_state(HEAT, 2, None)]), None),
        ("Trakt", TRAKT, snap(Feature.HISTORY, []), None),
    )

    (add,) = result.operations
    assert add.payload == Watched((), 1, None)


def test_a_delta_removing_an_unknown_item_changes_nothing() -> None:
    baseline = snap(Feature.WATCHLIST, [listed(HEAT)])
    delta = snap(Feature.WATCHLIST, [], semantics=Semantics.DELTA, removed=["tmdb:movie:1"])

    assert set(effective_view(delta, baseline).entries) == {"tmdb:movie:949"}
