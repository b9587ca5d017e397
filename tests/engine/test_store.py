"""The state store: durable, transactional, incremental and versioned."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
import sqlite3
import zlib

import pytest

from custom_components.crosswatch.engine import store as store_module
from custom_components.crosswatch.engine.codec import (
    decode_item,
    decode_payload,
    encode_item,
    encode_payload,
)
from custom_components.crosswatch.engine.cursor import Checkpoint
from custom_components.crosswatch.engine.payloads import Feature, Listed, Rated, Watched
from custom_components.crosswatch.engine.plan import Action, Plan
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.records import Scope, ShrinkSuspicion
from custom_components.crosswatch.engine.schema import SCHEMA_VERSION
from custom_components.crosswatch.engine.store import StateStore, StoreError

from .factories import SIMKL, T0, TRAKT, episode, listed, movie, plan, rated, snap

HEAT = movie("Heat", 1995, imdb="tt0113277", tmdb=949, plex_key=7)
ALIEN = movie("Alien", 1979, tmdb=348)
WATCHLIST_A = Scope("plex-trakt", Feature.WATCHLIST, "a")
WATCHLIST_B = Scope("plex-trakt", Feature.WATCHLIST, "b")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "crosswatch" / "state.db") as opened:
        yield opened


@pytest.mark.parametrize(
    "item",
    [
        HEAT,
        movie("Untitled", 2001),
        episode(
            "Dark",
            1,
            3,
            year=2017,
            show_ids={"tvdb": 334824},
            jellyfin="6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e",
        ),
    ],
)
def test_items_survive_the_codec_unchanged(item: object) -> None:
    assert decode_item(encode_item(item)) == item  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "payload",
    [
        Listed(T0),
        Listed(None),
        Watched.from_plays([T0, T0 + timedelta(days=2)]),
        Watched.from_state(3, None),
        Rated(7.5, T0),
        Rated(4, None),
    ],
)
def test_payloads_survive_the_codec_unchanged(payload: object) -> None:
    assert decode_payload(encode_payload(payload)) == payload  # type: ignore[arg-type]


def test_a_new_store_is_created_at_the_current_schema_in_wal_mode(store: StateStore) -> None:
    assert store.path.exists()
    assert store.schema_version == SCHEMA_VERSION
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_store_written_by_a_newer_crosswatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()

    with pytest.raises(StoreError, match="knows up to"):
        StateStore(path)


def test_an_older_store_is_migrated_forward_keeping_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    old = StateStore(path)
    old.save_checkpoint(
        WATCHLIST_A, Checkpoint("trakt", Feature.WATCHLIST, "2026-01-01T00:00:00Z", None, T0)
    )
    old.close()
    next_step = ("CREATE TABLE mapping_cache (name TEXT PRIMARY KEY, body TEXT)",)
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, next_step))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)

    with StateStore(path) as upgraded:
        assert upgraded.schema_version == SCHEMA_VERSION + 1
        assert "mapping_cache" in upgraded.statistics()
        assert upgraded.checkpoint(WATCHLIST_A) is not None


def test_no_baseline_is_not_an_empty_baseline(store: StateStore) -> None:
    assert store.load_baseline(WATCHLIST_A) is None

    store.save_baseline(WATCHLIST_A, "Plex", upserts=[], removed=[], saved_at=T0)

    empty = store.load_baseline(WATCHLIST_A)
    assert empty is not None
    assert len(empty) == 0
    assert empty.complete


def test_a_baseline_round_trips_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = StateStore(path)
    first.save_baseline(
        WATCHLIST_A, "Plex", upserts=[listed(HEAT), listed(ALIEN)], removed=[], saved_at=T0
    )
    first.close()

    with StateStore(path) as reopened:
        baseline = reopened.load_baseline(WATCHLIST_A)

    assert baseline is not None
    assert baseline.provider == "Plex"
    assert dict(baseline.entries) == {
        "imdb:tt0113277": listed(HEAT),
        "tmdb:movie:348": listed(ALIEN),
    }
    assert baseline.find(movie(None, plex_key=7), include_local=True) == listed(HEAT)


def test_a_baseline_loaded_beside_the_sides_read_holds_the_reads_unchanged_entries(
    store: StateStore,
) -> None:
    # Every object a run keeps alive lengthens each pass of the cycle collector; a baseline
    # that copied the read's unchanged entries would double a large inventory's.
    store.save_baseline(
        WATCHLIST_A, "Plex", upserts=[listed(HEAT), listed(ALIEN)], removed=[], saved_at=T0
    )
    read = snap(Feature.WATCHLIST, [listed(HEAT), listed(ALIEN, at=T0 + timedelta(days=1))])

    baseline = store.load_baseline(WATCHLIST_A, like=read)

    assert baseline is not None
    assert baseline.entries["imdb:tt0113277"] is read.entries["imdb:tt0113277"]
    changed = baseline.entries["tmdb:movie:348"]
    assert changed == listed(ALIEN)  # what the baseline recorded, not what the read says now
    assert changed is not read.entries["tmdb:movie:348"]
    alone = store.load_baseline(WATCHLIST_A)
    assert alone is not None
    assert dict(alone.entries) == dict(baseline.entries)
    assert dict(alone.aliases) == dict(baseline.aliases)


def test_baseline_writes_are_incremental(store: StateStore) -> None:
    many = [listed(movie(f"Film {n}", 2000, tmdb=1000 + n)) for n in range(500)]
    assert store.save_baseline(WATCHLIST_A, "Plex", upserts=many, removed=[], saved_at=T0) == 500

    written = store.save_baseline(
        WATCHLIST_A,
        "Plex",
        upserts=[listed(HEAT)],
        removed=[movie("Film 0", 2000, tmdb=1000), movie("Unknown", 2000, tmdb=9)],
        saved_at=T0,
    )

    assert written == 2  # one upsert, one delete; the unknown item deleted nothing
    baseline = store.load_baseline(WATCHLIST_A)
    assert baseline is not None
    assert len(baseline) == 500


def test_an_item_saved_under_a_new_key_with_its_old_self_removed_keeps_one_row(
    store: StateStore,
) -> None:
    # An item keyed by its tmdb id learns an imdb id from the other side, and is keyed by that.
    before = movie("Heat", 1995, tmdb=949)
    after = before.merged(movie("Heat", 1995, imdb="tt0113277"))
    assert after.key != before.key
    store.save_baseline(WATCHLIST_A, "Plex", upserts=[listed(before)], removed=[], saved_at=T0)
    store.save_baseline(WATCHLIST_A, "Plex", upserts=[listed(after)], removed=[before], saved_at=T0)
    stored = store.load_baseline(WATCHLIST_A)
    assert stored is not None
    assert list(stored.entries) == [after.key]

    store.save_baseline(WATCHLIST_A, "Plex", upserts=[], removed=[after], saved_at=T0)

    baseline = store.load_baseline(WATCHLIST_A)
    assert baseline is not None
    assert len(baseline) == 0


def test_removing_an_item_clears_a_row_left_under_an_old_key_by_an_earlier_version(
    store: StateStore,
) -> None:
    before = movie("Heat", 1995, tmdb=949)
    after = before.merged(movie("Heat", 1995, imdb="tt0113277"))
    store.save_baseline(WATCHLIST_A, "Plex", upserts=[listed(before)], removed=[], saved_at=T0)
    # What earlier versions did: the new key's row was added beside the old one.
    with store.transaction() as db:
        db.execute(
            "INSERT INTO baseline_entry VALUES (?, ?, ?, ?, ?, ?)",
            (
                *WATCHLIST_A.params(),
                after.key,
                encode_item(after),
                encode_payload(listed(after).payload),
            ),
        )

    store.save_baseline(WATCHLIST_A, "Plex", upserts=[], removed=[after], saved_at=T0)

    baseline = store.load_baseline(WATCHLIST_A)
    assert baseline is not None
    assert len(baseline) == 0


def test_scopes_never_see_each_others_baselines(store: StateStore) -> None:
    other_pair = Scope("trakt-simkl", Feature.WATCHLIST, "a")
    other_side = Scope("plex-trakt", Feature.WATCHLIST, "b")
    store.save_baseline(WATCHLIST_A, "Plex", upserts=[listed(HEAT)], removed=[], saved_at=T0)

    assert store.load_baseline(other_pair) is None
    assert store.load_baseline(other_side) is None


def test_a_failed_transaction_writes_nothing(store: StateStore) -> None:
    def crash_between_chunks() -> None:
        with store.transaction():
            store.save_baseline(
                WATCHLIST_A, "Plex", upserts=[listed(HEAT)], removed=[], saved_at=T0
            )
            raise RuntimeError("crash between chunks")

    with pytest.raises(RuntimeError):
        crash_between_chunks()

    assert store.load_baseline(WATCHLIST_A) is None


def test_dropping_a_baseline_makes_the_next_run_a_first_run(store: StateStore) -> None:
    store.save_baseline(WATCHLIST_A, "Plex", upserts=[listed(HEAT)], removed=[], saved_at=T0)

    store.drop_baseline(WATCHLIST_A)

    assert store.load_baseline(WATCHLIST_A) is None


def test_checkpoints_belong_to_the_pair_side_that_read_them_and_can_be_busted(
    store: StateStore,
) -> None:
    other_pair = Scope("other", Feature.WATCHLIST, "a")
    history = Scope("plex-trakt", Feature.HISTORY, "a")
    store.save_checkpoint(WATCHLIST_A, Checkpoint("trakt", Feature.WATCHLIST, "w1", '"e1"', T0))
    store.save_checkpoint(other_pair, Checkpoint("trakt", Feature.WATCHLIST, "w0", None, T0))
    store.save_checkpoint(history, Checkpoint("trakt", Feature.HISTORY, "h1", None, T0))
    store.save_checkpoint(WATCHLIST_B, Checkpoint("simkl", Feature.WATCHLIST, "s1", None, T0))

    assert store.checkpoint(WATCHLIST_A) == Checkpoint("trakt", Feature.WATCHLIST, "w1", '"e1"', T0)
    saved = store.checkpoint(other_pair)
    assert saved is not None
    assert saved.watermark == "w0"  # each pair where it last stood
    assert store.clear_checkpoints("trakt", Feature.WATCHLIST) == 2
    assert store.checkpoint(WATCHLIST_A) is None
    assert store.clear_checkpoints("trakt") == 1
    assert store.checkpoint(WATCHLIST_B) is not None


def test_a_shrink_suspicion_is_kept_per_pair_side_until_it_is_settled(store: StateStore) -> None:
    suspicion = ShrinkSuspicion(frozenset({"tmdb:movie:1", "imdb:tt2"}), 40, 0, T0)

    store.save_shrink_suspicion(WATCHLIST_A, suspicion)

    assert store.shrink_suspicion(WATCHLIST_A) == suspicion
    assert store.shrink_suspicion(WATCHLIST_B) is None
    store.save_shrink_suspicion(WATCHLIST_A, None)
    assert store.shrink_suspicion(WATCHLIST_A) is None


def test_a_shrink_suspicion_keeps_what_earlier_suspicions_saw_come_back(
    store: StateStore,
) -> None:
    suspicion = ShrinkSuspicion(frozenset({"tmdb:movie:1"}), 2, 1, T0, frozenset({"tmdb:movie:2"}))

    store.save_shrink_suspicion(WATCHLIST_A, suspicion)

    assert store.shrink_suspicion(WATCHLIST_A) == suspicion


def test_a_shrink_suspicion_saved_before_regained_keys_were_kept_reads_as_none_regained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    # The schema before the regained column (and the settled marks that came after it).
    older = store_module.MIGRATIONS[:-2]
    monkeypatch.setattr(store_module, "MIGRATIONS", older)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(older))
    monkeypatch.setattr(StateStore, "unsettle_everything", lambda self: None)
    with StateStore(path) as old:
        old._db.execute(
            "INSERT INTO shrink_suspicion VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*WATCHLIST_A.params(), zlib.compress(b'["tmdb:movie:1"]'), 2, 1, T0.isoformat()),
        )
        old._db.commit()
    monkeypatch.undo()

    with StateStore(path) as upgraded:
        assert upgraded.shrink_suspicion(WATCHLIST_A) == ShrinkSuspicion(
            frozenset({"tmdb:movie:1"}), 2, 1, T0
        )


def test_tombstones_expire_after_their_ttl_and_can_be_cleared(store: StateStore) -> None:
    store.add_tombstone(
        WATCHLIST_A, HEAT, removed_at=T0, seen_by="run 4 (Plex snapshot)", ttl=timedelta(days=30)
    )
    store.add_tombstone(
        WATCHLIST_A, ALIEN, removed_at=T0, seen_by="run 4 (Plex snapshot)", ttl=timedelta(days=5)
    )

    live = store.tombstones(WATCHLIST_A, T0 + timedelta(days=10))

    assert [t.item for t in live] == [HEAT]
    assert live[0].seen_by == "run 4 (Plex snapshot)"
    assert live[0].expires_at == T0 + timedelta(days=30)
    assert store.clear_tombstones("plex-trakt", expired_before=T0 + timedelta(days=10)) == 1
    assert store.clear_tombstones("plex-trakt") == 1
    assert store.tombstones(WATCHLIST_A, T0) == []


def test_only_the_last_runs_of_a_pair_are_kept(store: StateStore) -> None:
    for n in range(5):
        run_id = store.start_run("plex-trakt", T0 + timedelta(hours=n))
        store.finish_run(
            run_id,
            finished_at=T0 + timedelta(hours=n, minutes=1),
            status="success",
            result=f'{{"n": {n}}}',
            keep=3,
        )
    other = store.start_run("trakt-simkl", T0)

    runs = store.runs("plex-trakt")

    assert [run.result for run in runs] == ['{"n": 4}', '{"n": 3}', '{"n": 2}']
    assert runs[0].status == "success"
    assert runs[0].finished_at == T0 + timedelta(hours=4, minutes=1)
    assert store.runs("trakt-simkl")[0].id == other
    assert store.runs("trakt-simkl")[0].finished_at is None


def test_only_runs_that_read_and_kept_the_sides_count_as_reads_between(store: StateStore) -> None:
    short = (
        '{"dry_run": false, "incomplete_reads": [{"provider": "SIMKL", "feature": "watchlist"}]}'
    )
    doubted = (
        '{"dry_run": false, "incomplete_reads":'
        ' [{"provider": "SIMKL", "feature": "watchlist", "suspect": true}]}'
    )
    runs = [
        ("success", '{"dry_run": false}'),
        ("failed", '{"dry_run": false}'),  # read nothing it could keep
        ("partial", short),  # read SIMKL only in part
        ("success", '{"dry_run": true}'),  # keeps nothing
        ("success", '{"approved": 2, "errors": []}'),  # reads nothing
        ("partial", doubted),  # read SIMKL whole, but too shrunken to believe
    ]
    for n, (status, result) in enumerate(runs):
        run_id = store.start_run("plex-trakt", T0 + timedelta(hours=n))
        store.finish_run(run_id, finished_at=T0 + timedelta(hours=n), status=status, result=result)
    store.start_run("plex-trakt", T0 + timedelta(hours=6))  # never finished

    reading = store.run_starts("plex-trakt", T0 + timedelta(days=1))

    assert [run.started_at for run in reading] == [T0 + timedelta(hours=n) for n in (5, 2, 0)]
    whole = [run.started_at for run in reading if run.read_whole("SIMKL", Feature.WATCHLIST)]
    assert whole == [T0 + timedelta(hours=5), T0]
    assert all(run.read_whole("Trakt", Feature.WATCHLIST) for run in reading)
    assert [run.started_at for run in store.run_starts("plex-trakt", T0 + timedelta(hours=2))] == [
        T0
    ]


def test_the_last_run_that_changed_something_is_found_among_later_ones(store: StateStore) -> None:
    changed = '{"changes": {"added": 1, "removed": 0, "updated": 0, "titles": [{"title": "Heat"}]}}'
    for n, result in enumerate((changed, '{"changes": {"titles": []}}', "{}")):
        run_id = store.start_run("plex-trakt", T0 + timedelta(hours=n))
        store.finish_run(
            run_id, finished_at=T0 + timedelta(hours=n), status="success", result=result
        )

    found = store.last_changing_run("plex-trakt")

    assert found is not None
    assert (found.started_at, found.result) == (T0, changed)
    assert store.last_changing_run("trakt-simkl") is None


def test_forgetting_a_pair_removes_everything_it_left(store: StateStore) -> None:
    store.save_baseline(WATCHLIST_A, "Plex", upserts=[listed(HEAT)], removed=[], saved_at=T0)
    store.add_tombstone(WATCHLIST_A, ALIEN, removed_at=T0, seen_by="run 1", ttl=timedelta(days=30))
    store.start_run("plex-trakt", T0)
    store.save_baseline(
        Scope("other", Feature.RATINGS, "a"),
        "Trakt",
        upserts=[rated(HEAT, 7)],
        removed=[],
        saved_at=T0,
    )

    store.save_learned_ids(WATCHLIST_A, {"anilist:1": ("tvdb:show:76885",)})
    store.keep("plex-trakt", [], T0)

    store.forget_pair("plex-trakt")

    stats = store.statistics()
    assert stats["baseline_entry"] == stats["baseline_scope"] == 1
    assert stats["tombstone"] == stats["run"] == stats["learned_ids"] == 0
    assert {"pending", "shadow", "kept", "learned_ids"} <= set(store_module._PAIR_TABLES)


# -- provenance ---------------------------------------------------------------------------------


def test_provenance_keeps_first_and_last_seen_the_last_value_and_who_wrote_it(
    store: StateStore,
) -> None:
    later = T0 + timedelta(days=2)
    store.record_provenance("trakt:a", Feature.RATINGS, seen=[rated(HEAT, 7)], gone=[], now=T0)
    store.record_provenance("trakt:a", Feature.RATINGS, seen=[rated(HEAT, 9)], gone=[], now=later)
    store.record_written("trakt:a", Feature.RATINGS, [(HEAT.key, 12)], later)

    seen = store.provenance("trakt:a", Feature.RATINGS, HEAT.key)
    assert seen is not None
    assert (seen.first_seen, seen.last_seen, seen.present) == (T0, later, True)
    assert seen.value == Rated(9, T0)
    assert seen.written_by_run == 12
    assert store.provenance("trakt:a", Feature.WATCHLIST, HEAT.key) is None

    store.record_provenance("trakt:a", Feature.RATINGS, seen=[], gone=[HEAT.key], now=later)
    gone = store.provenance("trakt:a", Feature.RATINGS, HEAT.key)
    assert gone is not None
    assert (gone.present, gone.value, gone.last_seen) == (False, None, later)


# -- held operations, unresolved items, the blackbox -------------------------------------------


def held_removals() -> Plan:
    baseline = snap(Feature.WATCHLIST, [listed(HEAT), listed(ALIEN)])
    return plan(
        SyncMode.MIRROR,
        ("Trakt", TRAKT, snap(Feature.WATCHLIST, []), baseline),
        ("SIMKL", SIMKL, baseline, baseline),
    )


def test_held_operations_wait_intact_and_are_never_held_twice(store: StateStore) -> None:
    removals = held_removals().operations
    assert len(removals) == 2

    assert store.hold("plex-trakt", removals, reason="over_delete_budget", now=T0) == 2
    assert store.hold("plex-trakt", removals, reason="over_delete_budget", now=T0) == 0

    held = store.held("plex-trakt")
    assert [h.operation for h in held] == list(removals)
    assert held[0].reason == "over_delete_budget"
    assert held[0].held_at == T0
    assert store.held("other") == []


def test_whether_a_pair_holds_operations_is_asked_without_decoding_them(
    store: StateStore,
) -> None:
    assert not store.holds_any("plex-trakt")

    store.hold("plex-trakt", held_removals().operations, reason="over_delete_budget", now=T0)

    assert store.holds_any("plex-trakt")
    assert not store.holds_any("other")


def test_releasing_held_operations_takes_them_out(store: StateStore) -> None:
    store.hold("plex-trakt", held_removals().operations, reason="over_delete_budget", now=T0)
    first, second = store.held("plex-trakt")

    assert store.release_held("plex-trakt", [first.id]) == [first]
    assert store.held("plex-trakt") == [second]
    assert store.release_held("plex-trakt") == [second]
    assert store.held("plex-trakt") == []


def test_rejected_items_are_retried_with_backoff_not_every_run(store: StateStore) -> None:
    scope = Scope("plex-trakt", Feature.HISTORY, "b")
    delays = []
    for attempt in range(5):
        record = store.record_rejection(scope, HEAT, reason="not_found", now=T0)
        assert record.attempts == attempt + 1
        delays.append(record.next_attempt_at - T0)

    assert delays == [
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(hours=24),
        timedelta(days=7),
        timedelta(days=7),
    ]
    assert store.waiting_for_retry(scope, T0 + timedelta(days=1)) == [HEAT]
    assert store.waiting_for_retry(scope, T0 + timedelta(days=8)) == []
    (listed_item,) = store.unresolved("plex-trakt")
    assert (listed_item.item, listed_item.reason, listed_item.first_failed_at) == (
        HEAT,
        "not_found",
        T0,
    )


def test_unresolved_items_can_be_retried_now_or_resolved(store: StateStore) -> None:
    scope = Scope("plex-trakt", Feature.HISTORY, "b")
    store.record_rejection(scope, HEAT, reason="not_found", now=T0)
    store.record_rejection(scope, ALIEN, reason="not_found", now=T0)

    assert store.retry_unresolved("plex-trakt", T0) == 2
    assert store.waiting_for_retry(scope, T0) == []
    store.resolve(scope, HEAT.key)
    assert [u.item for u in store.unresolved("plex-trakt")] == [ALIEN]


def test_three_failures_in_a_row_quarantine_an_item_until_its_cooldown_ends(
    store: StateStore,
) -> None:
    scope = Scope("plex-trakt", Feature.WATCHLIST, "b")
    first = store.record_write_failure(scope, HEAT, error="HTTP 500", now=T0)
    store.record_write_failure(scope, HEAT, error="HTTP 500", now=T0)
    assert first.quarantined_until is None
    assert store.quarantined(scope, T0) == []

    third = store.record_write_failure(scope, HEAT, error="HTTP 502", now=T0)

    assert third.quarantined_until == T0 + timedelta(days=7)
    assert store.quarantined(scope, T0 + timedelta(days=6)) == [HEAT]
    assert store.quarantined(scope, T0 + timedelta(days=7)) == []
    assert [(q.item, q.failures, q.last_error) for q in store.blackbox("plex-trakt")] == [
        (HEAT, 3, "HTTP 502")
    ]


def test_a_success_ends_the_failure_streak_and_the_blackbox_can_be_cleared(
    store: StateStore,
) -> None:
    scope = Scope("plex-trakt", Feature.WATCHLIST, "b")
    store.record_write_failure(scope, HEAT, error="HTTP 500", now=T0)
    store.record_write_success(scope, HEAT.key)
    assert store.record_write_failure(scope, HEAT, error="HTTP 500", now=T0).failures == 1

    for _ in range(3):
        store.record_write_failure(scope, ALIEN, error="timeout", now=T0)
    assert store.clear_blackbox("plex-trakt") == 2
    assert store.blackbox("plex-trakt") == []


def test_a_write_supersedes_our_pending_write_of_the_opposite_action(store: StateStore) -> None:
    scope = Scope("trakt-simkl", Feature.WATCHLIST, "b")
    store.record_pending(
        scope, Action.ADD, HEAT, listed(HEAT).payload, outcome="ok", run_id=1, now=T0
    )
    store.record_pending(scope, Action.REMOVE, HEAT, None, outcome="ok", run_id=2, now=T0)

    (latest,) = store.pending(scope)
    assert (latest.action, latest.run_id) == (Action.REMOVE, 2)

    store.record_pending(
        scope, Action.ADD, HEAT, listed(HEAT).payload, outcome="ok", run_id=3, now=T0
    )
    (latest,) = store.pending(scope)
    assert (latest.action, latest.run_id) == (Action.ADD, 3)


def test_pending_writes_are_settled_by_what_a_complete_snapshot_shows(store: StateStore) -> None:
    scope = Scope("plex-trakt", Feature.RATINGS, "b")
    for item in (HEAT, ALIEN):
        store.record_pending(
            scope, Action.ADD, item, Rated(8, T0), outcome="unknown", run_id=3, now=T0
        )
    heat, alien = sorted(store.pending(scope), key=lambda p: p.item.title or "", reverse=True)
    assert (heat.item, heat.payload, heat.outcome, heat.run_id, heat.misses) == (
        HEAT,
        Rated(8, T0),
        "unknown",
        3,
        0,
    )

    store.settle_pending(scope, verified=[heat], missed=[alien])
    store.settle_pending(scope, verified=[], missed=store.pending(scope))

    (still,) = store.pending(scope)
    assert still.item == alien.item
    assert still.misses == 2
