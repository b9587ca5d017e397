"""Forgetting one item: every record of it on the side the user names, and nothing else."""

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.crosswatch.engine.forgetting import ItemMatch
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed
from custom_components.crosswatch.engine.records import Scope, Settled
from custom_components.crosswatch.engine.shadow import Shadow
from custom_components.crosswatch.engine.store import StateStore

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
W = Feature.WATCHLIST
MATRIX = MediaItem.create(
    MediaType.MOVIE, title="The Matrix", year=1999, ids={"imdb": "tt0133093", "tmdb": 603}
)
HEAT = MediaItem.create(MediaType.MOVIE, title="Heat", year=1995, ids={"imdb": "tt0113277"})
LOCAL = MediaItem.create(MediaType.MOVIE, title="The Matrix", year=1999, ids={"plex_key": 7})


@pytest.fixture
def store() -> StateStore:
    """Both sides of a watchlist pair remember the Matrix and Heat in every way they can."""
    store = StateStore(":memory:")
    for side in ("a", "b"):
        scope = Scope("pair", W, side)
        store.save_baseline(
            scope, f"provider-{side}",
            upserts=[Entry(MATRIX, Listed(NOW)), Entry(HEAT, Listed(NOW))], removed=[],
            saved_at=NOW,
        )  # fmt: skip
        for item in (MATRIX, HEAT):
            store.add_tombstone(scope, item, removed_at=NOW, seen_by="test", ttl=timedelta(days=30))
            store.record_rejection(scope, item, reason="not_in_library", now=NOW)
        store.record_shadow(scope, Shadow("plex_key:7", MATRIX.tokens), NOW)
        store.save_learned_ids(scope, {"plex_key:7": MATRIX.tokens, HEAT.key: ("tmdb:movie:949",)})
        store.save_settled(scope, Settled(f"provider-{side}", "v1", "spec", NOW))
    return store


def remembered(store: StateStore, side: str) -> dict[str, object]:
    scope = Scope("pair", W, side)
    baseline = store.load_baseline(scope)
    assert baseline is not None
    return {
        "baseline": sorted(baseline.entries),
        "tombstones": sorted(t.item.key for t in store.tombstones(scope, NOW)),
        "unresolved": sorted(u.item.key for u in store.unresolved("pair") if u.scope == scope),
        "shadows": [s.local_token for s in store.shadows(scope)],
        "learned_ids": sorted(store.learned_ids(scope)),
        "settled": store.settled(scope) is not None,
    }


def test_forgetting_an_item_by_id_on_one_side_forgets_every_record_of_it_there_only(
    store: StateStore,
) -> None:
    before_a = remembered(store, "a")

    forgotten = store.forget_item("pair", ItemMatch.parse("tmdb:603"), side="b")

    assert forgotten.items == ("The Matrix (1999)",)
    assert forgotten.records["baseline"] == 1
    assert forgotten.records["tombstones"] == 1
    assert forgotten.records["unresolved"] == 1
    assert forgotten.records["shadows"] == 1
    assert forgotten.records["learned_ids"] == 1
    assert remembered(store, "b") == {
        "baseline": [HEAT.key],
        "tombstones": [HEAT.key],
        "unresolved": [HEAT.key],
        "shadows": [],
        "learned_ids": [HEAT.key],
        "settled": False,  # its next run plans
    }
    assert remembered(store, "a") == before_a


def test_forgetting_an_item_by_its_label_forgets_it_on_both_sides(store: StateStore) -> None:
    forgotten = store.forget_item("pair", ItemMatch.parse("the matrix (1999)"))

    assert forgotten.items == ("The Matrix (1999)",)
    assert forgotten.records["baseline"] == 2
    for side in ("a", "b"):
        assert remembered(store, side)["baseline"] == [HEAT.key]


def test_an_item_of_another_pair_or_another_feature_is_not_touched(store: StateStore) -> None:
    other = Scope("other", W, "b")
    store.save_baseline(other, "p", upserts=[Entry(MATRIX, Listed(NOW))], removed=[], saved_at=NOW)

    store.forget_item("pair", ItemMatch.parse("imdb:tt0133093"), feature=Feature.HISTORY.value)

    assert remembered(store, "b")["baseline"] == sorted([MATRIX.key, HEAT.key])
    kept = store.load_baseline(other)
    assert kept is not None
    assert list(kept.entries) == [MATRIX.key]


def test_a_name_that_matches_nothing_forgets_nothing(store: StateStore) -> None:
    before = remembered(store, "b")

    forgotten = store.forget_item("pair", ItemMatch.parse("Dune (2021)"))

    assert not forgotten.any
    assert forgotten.items == ()
    assert remembered(store, "b") == before  # settled marks too


def test_an_empty_name_is_refused() -> None:
    with pytest.raises(ValueError, match="name an item"):
        ItemMatch.parse("  ")
