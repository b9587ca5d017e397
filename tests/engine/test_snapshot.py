"""Snapshots: indexing, folding copies, completeness evidence and effective views."""

from datetime import timedelta

import pytest

from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.snapshot import (
    Completeness,
    Semantics,
    content_version,
    effective_view,
    partial,
)

from .factories import T0, listed, movie, rated, snap, watched, watched_state


def test_entries_are_indexed_by_canonical_key_and_found_by_every_token() -> None:
    matrix = movie("The Matrix", 1999, imdb="tt0133093", tmdb=603, plex_key=12)
    snapshot = snap(Feature.WATCHLIST, [listed(matrix)])

    assert list(snapshot.entries) == ["imdb:tt0133093"]
    # The canonical key is found in `entries`; only the other tokens need an alias.
    assert snapshot.aliases == {"tmdb:movie:603": "imdb:tt0133093", "plex_key:12": "imdb:tt0133093"}
    for probe in (movie(None, imdb="tt0133093"), movie(None, tmdb=603)):
        assert snapshot.find(probe) is snapshot.entries["imdb:tt0133093"]


def test_copies_sharing_a_token_fold_into_one_entry_with_all_ids() -> None:
    four_k = watched_state(movie("Heat", 1995, tmdb=949, plex_key=1), 2, T0)
    hd = watched_state(
        movie("Heat", 1995, imdb="tt0113277", tmdb=949, plex_key=2), 1, T0 + timedelta(days=1)
    )

    snapshot = snap(Feature.HISTORY, [four_k, hd])

    assert len(snapshot) == 1
    (entry,) = snapshot.entries.values()
    assert entry.key == "imdb:tt0113277"
    assert set(entry.item.local_tokens) == {"plex_key:1", "plex_key:2"}
    assert entry.payload == Watched((), 2, T0 + timedelta(days=1))
    assert snapshot.aliases["tmdb:movie:949"] == "imdb:tt0113277"


def test_a_copy_linking_two_entries_folds_all_three() -> None:
    by_imdb = listed(movie("Heat", 1995, imdb="tt0113277"), T0)
    by_tmdb = listed(movie("Heat", 1995, tmdb=949), T0 - timedelta(days=3))
    both = listed(movie("Heat", 1995, imdb="tt0113277", tmdb=949), T0)

    snapshot = snap(Feature.WATCHLIST, [by_imdb, by_tmdb, both])

    assert len(snapshot) == 1
    assert snapshot.entries["imdb:tt0113277"].payload == Listed(T0 - timedelta(days=3))


def test_two_title_only_copies_fold_by_title_key() -> None:
    snapshot = snap(
        Feature.RATINGS,
        [rated(movie("Heat", 1995), 7, T0), rated(movie("heat", 1995), 9, T0 + timedelta(1))],
    )

    assert len(snapshot) == 1
    assert snapshot.entries["~movie:heat:1995"].payload == Rated(9, T0 + timedelta(1))


def test_find_uses_local_tokens_only_when_asked() -> None:
    snapshot = snap(
        Feature.WATCHLIST, [listed(movie("Heat", jellyfin="6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e"))]
    )
    probe = movie("Heat", jellyfin="6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e")

    assert snapshot.find(probe) is None
    assert snapshot.find(probe, include_local=True) is not None


@pytest.mark.parametrize(
    ("completeness", "complete", "description"),
    [
        (Completeness(all_pages=True), True, "complete"),
        (Completeness(all_pages=True, expected_total=3, seen_total=3), True, "complete"),
        (Completeness(all_pages=True, expected_total=5, seen_total=3), False, "partial: 3 of 5 announced records read"),
        (Completeness(all_pages=False), False, "partial: not every page was read"),
        (partial("HTTP 503 on page 4"), False, "partial: HTTP 503 on page 4"),
    ],
)  # fmt: skip
def test_completeness_needs_evidence(
    completeness: Completeness, complete: bool, description: str
) -> None:
    assert completeness.complete is complete
    assert completeness.describe() == description


def test_a_delta_on_its_own_is_never_complete() -> None:
    delta = snap(Feature.WATCHLIST, [listed(movie("Heat", tmdb=949))], semantics=Semantics.DELTA)

    assert delta.completeness.complete
    assert not delta.complete


def test_a_delta_merges_onto_the_baseline() -> None:
    heat, alien, dune = (
        movie("Heat", tmdb=949),
        movie("Alien", tmdb=348),
        movie("Dune", tmdb=438631),
    )
    baseline = snap(Feature.WATCHLIST, [listed(heat), listed(alien)])
    delta = snap(
        Feature.WATCHLIST,
        [listed(dune)],
        semantics=Semantics.DELTA,
        removed=["tmdb:movie:348"],
        watermark="2026-01-11T00:00:00Z",
    )

    view = effective_view(delta, baseline)

    assert view.semantics is Semantics.PRESENT
    assert view.complete
    assert set(view.entries) == {"tmdb:movie:949", "tmdb:movie:438631"}


def test_a_delta_replaces_the_baseline_copy_of_an_item_it_carries() -> None:
    heat = movie("Heat", tmdb=949)
    baseline = snap(Feature.RATINGS, [rated(heat, 6)])
    delta = snap(
        Feature.RATINGS,
        [rated(movie("Heat", imdb="tt0113277", tmdb=949), 9)],
        semantics=Semantics.DELTA,
    )

    view = effective_view(delta, baseline)

    assert len(view) == 1
    assert view.entries["imdb:tt0113277"].payload == Rated(9, T0)


def test_a_delta_without_a_baseline_is_partial() -> None:
    delta = snap(Feature.WATCHLIST, [listed(movie("Heat", tmdb=949))], semantics=Semantics.DELTA)

    view = effective_view(delta, None)

    assert not view.complete
    assert "no stored baseline" in view.completeness.describe()


def test_the_baseline_stands_in_for_what_a_partial_read_missed() -> None:
    heat, alien = movie("Heat", tmdb=949), movie("Alien", tmdb=348)
    baseline = snap(Feature.HISTORY, [watched(heat, T0), watched(alien, T0)])
    truncated = snap(Feature.HISTORY, [watched(heat, T0, T0 + timedelta(days=2))], complete=False)

    view = effective_view(truncated, baseline)

    assert not view.complete
    assert view.stand_ins == 1
    assert set(view.entries) == {"tmdb:movie:949", "tmdb:movie:348"}
    # What the partial read did see wins over the baseline.
    assert view.entries["tmdb:movie:949"].payload == Watched.from_plays(
        [T0, T0 + timedelta(days=2)]
    )


def test_a_complete_present_snapshot_is_used_as_it_is() -> None:
    snapshot = snap(Feature.WATCHLIST, [listed(movie("Heat", tmdb=949))])

    assert effective_view(snapshot, snap(Feature.WATCHLIST, [])) is snapshot


def test_a_content_version_names_everything_a_complete_snapshot_holds() -> None:
    heat, alien = movie("Heat", 1995, tmdb=949), movie("Alien", 1979, tmdb=348)
    one = snap(Feature.WATCHLIST, [listed(heat), listed(alien)])

    same = content_version(
        snap(Feature.WATCHLIST, [listed(alien), listed(heat)])
    )  # read in another order
    relisted = content_version(
        snap(Feature.WATCHLIST, [listed(heat, T0 + timedelta(days=1)), listed(alien)])
    )
    more_ids = content_version(
        snap(
            Feature.WATCHLIST,
            [listed(movie("Heat", 1995, tmdb=949, imdb="tt0113277")), listed(alien)],
        )
    )

    assert content_version(one) == same
    assert len({content_version(one), relisted, more_ids}) == 3
    assert content_version(snap(Feature.WATCHLIST, [listed(heat)], complete=False)) is None
