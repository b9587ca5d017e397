"""ID backfill: items that carry only their own provider's ids borrow the rest."""

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
import json
from pathlib import Path

import pytest

from custom_components.crosswatch.engine.backfill import (
    IdMap,
    IdMapFetch,
    IdRecord,
    backfill,
    load_id_map,
)
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline
from custom_components.crosswatch.engine.plan import Reason
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import ProviderError
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore

from .factories import ANILIST, T0, TRAKT, listed, show, snap
from .fakes import FakeProvider

W = Feature.WATCHLIST
SAMPLE = Path(__file__).with_name("id-map-sample.json")


def sample_records() -> list[IdRecord]:
    return [IdRecord(ids) for ids in json.loads(SAMPLE.read_text())]


def anime(title: str, year: int, **ids: object) -> MediaItem:
    return MediaItem.create(MediaType.ANIME, title=title, year=year, ids=ids)


BEBOP = anime("Cowboy Bebop", 1998, anilist=1, mal=1)
FMAB = anime("Fullmetal Alchemist: Brotherhood", 2009, anilist=5114, mal=5114)
AOT_S2 = anime("Shingeki no Kyojin 2", 2017, anilist=20958, mal=25777)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as opened:
        yield opened


def test_an_anilist_item_gains_the_mapped_ids_and_the_stronger_canonical_key() -> None:
    filled = backfill(
        snap(W, [listed(BEBOP)]), known={}, id_map=IdMap(sample_records()), other=None
    )

    (entry,) = filled.snapshot.entries.values()
    assert entry.key == "imdb:tt0213338"
    assert {"tvdb:show:76885", "anilist:1", "mal:1"} <= set(entry.item.tokens)
    assert filled.learned == {"anilist:1": ("imdb:tt0213338", "tvdb:show:76885")}


def test_an_id_several_records_share_lends_nothing_so_seasons_never_fold_together() -> None:
    # Every Attack on Titan season maps to one tvdb series and imdb title.
    filled = backfill(
        snap(W, [listed(AOT_S2)]), known={}, id_map=IdMap(sample_records()), other=None
    )

    (entry,) = filled.snapshot.entries.values()
    assert entry.item == AOT_S2
    assert filled.learned == {}


def test_a_record_that_contradicts_an_id_the_item_has_is_ignored() -> None:
    wrong_mal = anime("Cowboy Bebop", 1998, anilist=1, mal=999)

    filled = backfill(
        snap(W, [listed(wrong_mal)]), known={}, id_map=IdMap(sample_records()), other=None
    )

    assert next(iter(filled.snapshot.entries.values())).item == wrong_mal


def test_ids_that_point_at_two_different_records_lend_nothing() -> None:
    confused = anime("?", 2000, anilist=1, mal=5114)

    assert IdMap(sample_records()).ids_for(confused) == {}


def test_records_with_a_single_id_are_not_kept() -> None:
    assert len(IdMap([IdRecord({"anilist": "7"}), *sample_records()])) == 10


def test_the_other_side_of_the_pair_lends_ids_through_a_shared_token() -> None:
    simkl_copy = show("Cowboy Bebop", 1998, mal=1, tvdb=76885, simkl=37089)

    filled = backfill(
        snap(W, [listed(BEBOP)]), known={}, id_map=None, other=snap(W, [listed(simkl_copy)])
    )

    (entry,) = filled.snapshot.entries.values()
    assert entry.key == "tvdb:show:76885"
    assert "simkl:show:37089" in entry.item.tokens


def test_what_was_learned_before_is_applied_again_without_any_source() -> None:
    known = {"anilist:1": ("imdb:tt0213338", "tvdb:show:76885")}

    filled = backfill(snap(W, [listed(BEBOP)]), known=known, id_map=None, other=None)

    assert next(iter(filled.snapshot.entries)) == "imdb:tt0213338"
    assert filled.learned == {}  # nothing new to keep


def test_a_snapshot_with_nothing_to_lend_is_returned_as_it_is() -> None:
    snapshot = snap(W, [listed(BEBOP)], complete=False)

    assert backfill(snapshot, known={}, id_map=IdMap([]), other=None).snapshot is snapshot


def sides(anilist: list[Entry], trakt: list[Entry]) -> tuple[FakeProvider, FakeProvider]:
    features = frozenset({W})
    return (
        FakeProvider("anilist:a", "AniList", replace(ANILIST, features=features), {W: anilist}),
        FakeProvider("trakt:t", "Trakt", replace(TRAKT, features=features), {W: trakt}),
    )


def pipeline(store: StateStore, id_map: IdMap | None) -> Pipeline:
    return Pipeline(
        store,
        run_blocking=asyncio.to_thread,
        memo=SnapshotMemo(timedelta(0)),
        clock=lambda: T0,
        id_map=id_map,
    )


async def test_anilist_and_trakt_match_through_the_mapping_list_and_never_duplicate(
    store: StateStore,
) -> None:
    trakt_bebop = show("Cowboy Bebop", 1998, tvdb=76885, trakt=30991)
    anilist, trakt = sides([listed(BEBOP)], [listed(trakt_bebop)])
    runner = pipeline(store, None)
    runner.use_id_map(IdMap(sample_records()))

    first = await runner.run(PairSpec("p", SyncMode.TWO_WAY), anilist, trakt)
    second = await runner.run(PairSpec("p", SyncMode.TWO_WAY), anilist, trakt)

    assert first.plan.is_empty  # without the map this would add Bebop to both sides
    assert second.plan.is_empty
    assert trakt.batches == anilist.batches == []


async def test_without_the_mapping_list_the_same_pair_cannot_tell_they_are_one_show(
    store: StateStore,
) -> None:
    trakt_bebop = show("Cowboy Bebop", 1998, tvdb=76885, trakt=30991)
    anilist, trakt = sides([listed(BEBOP)], [listed(trakt_bebop)])

    result = await pipeline(store, None).run(PairSpec("p", SyncMode.ADD_ONLY), anilist, trakt)

    # Only the weak title match keeps it from being added: nothing strong links them.
    assert result.plan.is_empty
    assert {note.reason for note in result.plan.notes} == {Reason.WEAK_MATCH}


async def test_learned_ids_stay_in_their_pair_scope_and_survive_the_other_side_losing_the_item(
    store: StateStore,
) -> None:
    simkl_bebop = show("Cowboy Bebop", 1998, mal=1, tvdb=76885)
    anilist, other = sides([listed(BEBOP)], [listed(simkl_bebop)])
    runner = pipeline(store, None)

    await runner.run(PairSpec("p1", SyncMode.ADD_ONLY), anilist, other)

    scope = Scope("p1", W, "a")
    assert store.learned_ids(scope) == {"anilist:1": ("tvdb:show:76885",)}
    assert store.learned_ids(Scope("p2", W, "a")) == {}
    baseline = store.load_baseline(scope)
    assert baseline is not None
    assert list(baseline.entries) == ["tvdb:show:76885"]
    # The other side forgets the show: the AniList item keeps the key it had.
    other.inventory[W] = []
    await runner.run(PairSpec("p1", SyncMode.ADD_ONLY), anilist, other)
    baseline = store.load_baseline(scope)
    assert baseline is not None
    assert list(baseline.entries) == ["tvdb:show:76885"]


class Loader:
    source = "sample"

    def __init__(self) -> None:
        self.calls: list[str | None] = []
        self.fail = False
        self.unchanged = False

    async def fetch(self, validator: str | None) -> IdMapFetch:
        self.calls.append(validator)
        if self.fail:
            raise ProviderError("HTTP 503")
        if self.unchanged and validator is not None:
            return IdMapFetch(None, validator)
        return IdMapFetch(sample_records(), f'"v{len(self.calls)}"')


async def test_the_mapping_list_is_fetched_once_then_served_from_the_store_for_a_week(
    store: StateStore,
) -> None:
    loader = Loader()

    first = await load_id_map(loader, store, run_blocking=asyncio.to_thread, now=T0)
    later = await load_id_map(
        loader, store, run_blocking=asyncio.to_thread, now=T0 + timedelta(days=6)
    )

    assert first.id_map is not None
    assert len(first.id_map) == 10
    assert later.id_map is not None
    assert len(later.id_map) == 10
    assert loader.calls == [None]


async def test_a_week_old_list_is_revalidated_and_an_unchanged_source_keeps_the_copy(
    store: StateStore,
) -> None:
    loader = Loader()
    await load_id_map(loader, store, run_blocking=asyncio.to_thread, now=T0)
    loader.unchanged = True

    status = await load_id_map(
        loader, store, run_blocking=asyncio.to_thread, now=T0 + timedelta(days=7)
    )

    assert loader.calls == [None, '"v1"']
    assert status.id_map is not None
    copy = store.id_map_copy("sample")
    assert copy is not None
    assert (copy.fetched_at, copy.checked_at) == (T0, T0 + timedelta(days=7))


async def test_an_unreachable_source_keeps_the_cached_copy_with_a_warning(
    store: StateStore,
) -> None:
    loader = Loader()
    await load_id_map(loader, store, run_blocking=asyncio.to_thread, now=T0)
    loader.fail = True

    status = await load_id_map(
        loader, store, run_blocking=asyncio.to_thread, now=T0 + timedelta(days=8)
    )

    assert status.id_map is not None
    assert status.warning is not None
    assert "HTTP 503" in status.warning


async def test_an_unreachable_source_with_nothing_cached_means_no_map_and_a_warning(
    store: StateStore,
) -> None:
    loader = Loader()
    loader.fail = True

    status = await load_id_map(loader, store, run_blocking=asyncio.to_thread, now=T0)

    assert status.id_map is None
    assert status.warning is not None


async def test_a_trakt_show_borrows_its_anilist_id_from_the_mapping_list_so_anilist_can_list_it(
    store: StateStore,
) -> None:
    trakt_fmab = show("Fullmetal Alchemist: Brotherhood", 2009, tvdb=85249, imdb="tt1355642")
    anilist, trakt = sides([listed(BEBOP)], [listed(trakt_fmab)])
    runner = pipeline(store, IdMap(sample_records()))

    first = await runner.run(PairSpec("p", SyncMode.TWO_WAY), anilist, trakt)
    second = await runner.run(PairSpec("p", SyncMode.TWO_WAY), anilist, trakt)

    assert first.features[W].unresolved == 0
    written = {entry.item.ids().get("anilist") for entry in anilist.inventory[W]}
    assert written == {"1", "5114"}  # AniList writes by its own id, which only the list knew
    assert second.plan.is_empty
