"""Write-through shadows end the re-add loop for destinations without ids."""

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.shadow import Shadow, apply_shadows, shadow_for
from custom_components.crosswatch.engine.store import StateStore

from .factories import JELLYFIN, PLEX, T0, movie, snap, watched_state
from .fakes import FakeProvider

H = Feature.HISTORY
JELLY_ID = "6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e"
HEAT_ON_PLEX = movie("Heat", 1995, imdb="tt0113277", tmdb=949, plex_key=7)
HEAT_ON_JELLYFIN = movie("Heat", 1995, jellyfin=JELLY_ID)


def test_a_write_to_an_id_less_destination_item_records_a_shadow() -> None:
    shadow = shadow_for(HEAT_ON_JELLYFIN, HEAT_ON_PLEX)

    assert shadow == Shadow(f"jellyfin:{JELLY_ID}", ("imdb:tt0113277", "tmdb:movie:949"))
    assert shadow_for(movie("Heat", 1995, tmdb=949, jellyfin=JELLY_ID), HEAT_ON_PLEX) is None
    assert shadow_for(HEAT_ON_JELLYFIN, movie("Heat", 1995)) is None


def test_a_shadow_lends_its_tokens_to_the_live_item_without_ids() -> None:
    live = snap(H, [watched_state(HEAT_ON_JELLYFIN, 1, T0)])
    shadow = Shadow(f"jellyfin:{JELLY_ID}", ("imdb:tt0113277", "tmdb:movie:949"))

    view = apply_shadows(live, [shadow])

    (entry,) = view.snapshot.entries.values()
    assert entry.key == "imdb:tt0113277"
    assert entry.item.local_tokens == (f"jellyfin:{JELLY_ID}",)
    assert view.used == (shadow,)


def test_live_ids_win_and_retire_the_shadow() -> None:
    live = snap(H, [watched_state(movie("Heat", 1995, tmdb=949, jellyfin=JELLY_ID), 1, T0)])
    shadow = Shadow(f"jellyfin:{JELLY_ID}", ("imdb:tt0113277",))

    view = apply_shadows(live, [shadow])

    assert view.snapshot is live
    assert view.expired == (shadow,)


def test_a_shadow_absent_from_complete_snapshots_expires_after_k_runs() -> None:
    shadow = Shadow("jellyfin:ffffffffffffffffffffffffffffffff", ("tmdb:movie:1",), absent_runs=1)

    assert apply_shadows(snap(H, []), [shadow], expire_after=3).absent == (shadow,)
    assert apply_shadows(snap(H, []), [replace(shadow, absent_runs=2)], expire_after=3).expired
    assert apply_shadows(snap(H, [], complete=False), [shadow]).absent == ()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as opened:
        yield opened


def test_shadows_survive_in_the_store_and_settle(store: StateStore) -> None:
    scope = Scope("plex-jellyfin", H, "b")
    kept, gone = Shadow("jellyfin:a", ("tmdb:movie:1",)), Shadow("jellyfin:b", ("tmdb:movie:2",))
    store.record_shadow(scope, kept, T0)
    store.record_shadow(scope, gone, T0)

    store.settle_shadows(scope, expired=[gone], absent=[kept])

    assert store.shadows(scope) == [replace(kept, absent_runs=1)]


async def test_plex_to_jellyfin_history_second_run_plans_no_adds(store: StateStore) -> None:
    """The famous "re-add forever" loop, with 40 % of Jellyfin items lacking ProviderIds."""
    plex_entries: list[Entry] = []
    library = []
    for n in range(10):
        title, year, imdb = f"Film {n}", 1990 + n, f"tt{2000000 + n}"
        plex_entries.append(watched_state(movie(title, year, imdb=imdb, plex_key=n + 1), 1, T0))
        jellyfin_id = f"{n + 1:032x}"
        if n % 5 < 2:  # no ProviderIds, and a year one off Plex's: no weak match either
            library.append(movie(title, year + 1, jellyfin=jellyfin_id))
        else:
            library.append(movie(title, year, imdb=imdb, jellyfin=jellyfin_id))
    plex = FakeProvider("plex:a", "Plex", replace(PLEX, features=frozenset({H})), {H: plex_entries})
    jellyfin = FakeProvider(
        "jellyfin:b",
        "Jellyfin",
        replace(JELLYFIN, features=frozenset({H})),
        {H: []},
        library=library,
    )
    clock = [T0]
    runner = Pipeline(
        store,
        run_blocking=asyncio.to_thread,
        memo=SnapshotMemo(timedelta(0)),
        clock=lambda: clock[0],
    )

    first = await runner.run(PairSpec("plex-jellyfin", SyncMode.ADD_ONLY), plex, jellyfin)
    clock[0] = T0 + timedelta(hours=1)
    second = await runner.run(PairSpec("plex-jellyfin", SyncMode.ADD_ONLY), plex, jellyfin)
    clock[0] = T0 + timedelta(hours=2)
    third = await runner.run(PairSpec("plex-jellyfin", SyncMode.ADD_ONLY), plex, jellyfin)

    assert first.features[H].applied == 10
    assert len(store.shadows(Scope("plex-jellyfin", H, "b"))) == 4
    assert second.features[H].planned == 0, second.plan.to_json()
    assert third.features[H].planned == 0
    assert len(jellyfin.batches) == 1  # every film written once, never again
