"""A whole run of a pair: read, guard, plan, apply, verify, persist."""

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
import json
from pathlib import Path

import pytest

from custom_components.crosswatch.engine.guards import GuardCode
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.pipeline import (
    HEALTH_EVERY,
    PairSpec,
    Pipeline,
    RunResult,
    RunStatus,
)
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import (
    AuthError,
    ProviderError,
    RateLimitError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.snapshot import partial
from custom_components.crosswatch.engine.store import StateStore

from .factories import SIMKL, T0, TRAKT, listed, movie, rated
from .fakes import FakeProvider

W = Feature.WATCHLIST


def films(count: int, start: int = 0) -> list[Entry]:
    return [listed(movie(f"Film {n}", 2000, tmdb=1000 + n)) for n in range(start, start + count)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as opened:
        yield opened


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pipeline(store: StateStore, clock: Clock) -> Pipeline:
    # A TTL of zero: every run reads afresh, as runs an hour apart do.
    return Pipeline(
        store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(0)), clock=clock
    )


def sides(a: list[Entry], b: list[Entry], **faults: object) -> tuple[FakeProvider, FakeProvider]:
    trakt = FakeProvider("trakt:a", "Trakt", replace(TRAKT, features=frozenset({W})), {W: list(a)})
    simkl = FakeProvider("simkl:b", "SIMKL", replace(SIMKL, features=frozenset({W})), {W: list(b)})
    for fault, value in faults.items():
        setattr(simkl, fault, value)
    return trakt, simkl


def keys(provider: FakeProvider) -> set[str]:
    return {entry.key for entry in provider.inventory[W]}


async def test_two_way_converges_and_a_second_run_plans_nothing(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(4), films(4, start=2))
    runner = pipeline(store, clock)

    first = await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    clock.now += timedelta(hours=1)
    second = await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    assert first.status is RunStatus.SUCCESS
    assert (first.features[W].planned, first.features[W].applied) == (4, 4)
    assert keys(trakt) == keys(simkl) == {f"tmdb:movie:{1000 + n}" for n in range(6)}
    assert second.status is RunStatus.SUCCESS
    assert second.features[W].planned == 0
    assert second.plan.is_empty
    assert store.pending(Scope("p", W, "a")) == []  # every write was verified by run 2
    assert [run.status for run in store.runs("p")] == ["success", "success"]


async def test_verified_writes_join_the_stored_baseline_on_the_run_that_verifies_them(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(2), films(1, start=5))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    second = await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    every = {f"tmdb:movie:{n}" for n in (1000, 1001, 1005)}
    for side in "ab":
        baseline = store.load_baseline(Scope("p", W, side))
        assert baseline is not None
        assert set(baseline.entries) == every
    # Provenance says which run wrote what, and when each side first showed it.
    written = store.provenance("simkl:b", W, "tmdb:movie:1000")
    assert written is not None
    assert written.written_by_run == second.run_id - 1
    assert written.first_seen == clock.now
    own = store.provenance("simkl:b", W, "tmdb:movie:1005")
    assert own is not None
    assert own.written_by_run is None


async def test_a_run_reports_the_requests_each_provider_made_during_it(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(3), films(1))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    result = await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    # The second run only reads each side once: earlier requests are not counted again.
    assert result.requests == {"Trakt": 1, "SIMKL": 1}
    assert json.loads(store.runs("p")[0].result or "{}")["requests"] == {"Trakt": 1, "SIMKL": 1}


async def test_a_repeated_no_change_run_writes_close_to_nothing(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(50), films(50))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    changes_before = store._db.total_changes

    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    # The run record and the two baseline scopes and checkpoints: not 50 rows per side.
    assert store._db.total_changes - changes_before <= 10


async def test_a_dry_run_writes_nothing_and_stores_nothing(store: StateStore, clock: Clock) -> None:
    trakt, simkl = sides(films(3), [])

    result = await pipeline(store, clock).run(
        PairSpec("p", SyncMode.ADD_ONLY, dry_run=True), trakt, simkl
    )

    assert result.dry_run
    assert result.features[W].planned == 3
    assert simkl.batches == []
    assert sum(store.statistics().values()) == 0


async def test_a_write_never_shown_is_not_re_added_and_becomes_a_phantom(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(2), [], invisible={"tmdb:movie:1001"})
    runner = pipeline(store, clock)
    results: list[RunResult] = []
    for _ in range(4):
        results.append(await runner.run(PairSpec("p", SyncMode.ADD_ONLY), trakt, simkl))
        clock.now += timedelta(hours=1)

    written = [key for _, _, batch in simkl.batches for key in batch]
    assert written.count("tmdb:movie:1001") == 1  # the famous re-add loop, dead
    codes = [{e.code for e in r.events} for r in results]
    assert GuardCode.PENDING_VERIFICATION in codes[1]
    assert GuardCode.PHANTOM in codes[2]
    assert results[2].features[W].phantoms == 1


async def test_removals_over_the_budget_are_held_for_approval(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(20), films(20))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)
    trakt.inventory[W] = films(
        10
    )  # ten removed on the source (below the drop guard's 10 %? no: 50 %)

    result = await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)

    assert result.status is RunStatus.PARTIAL
    assert {e.code for e in result.events} == {GuardCode.SNAPSHOT_SUSPECT}
    assert len(keys(simkl)) == 20  # a halved source without activity removes nothing


async def test_held_removals_wait_in_the_store(store: StateStore, clock: Clock) -> None:
    trakt, simkl = sides(films(400), films(400))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)
    trakt.inventory[W] = films(380)  # 20 removed: 5 %, under the drop guard, over the budget of 8

    result = await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)

    assert result.status is RunStatus.HELD
    assert result.features[W].held == 12
    assert len(store.held("p")) == 12
    assert len(keys(simkl)) == 392


async def test_a_provider_that_fails_its_health_check_fails_the_run(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(3), [], health_error=ProviderError("server unreachable"))

    result = await pipeline(store, clock).run(PairSpec("p"), trakt, simkl)

    assert result.status is RunStatus.FAILED
    assert result.errors == ("SIMKL: server unreachable",)
    assert store.runs("p")[0].status == "failed"


async def test_a_deletion_observed_on_a_side_leaves_a_tombstone(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(30), films(30))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    trakt.inventory[W] = films(29, start=1)  # the user removed Film 0 on Trakt

    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    assert "tmdb:movie:1000" not in keys(simkl)
    assert [t.item.key for t in store.tombstones(Scope("p", W, "a"), clock.now)] == [
        "tmdb:movie:1000"
    ]
    # Our own removal from SIMKL is not a user deletion there.
    clock.now += timedelta(hours=1)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    assert store.tombstones(Scope("p", W, "b"), clock.now) == []


async def test_a_failed_read_fails_the_feature_and_a_run_with_nothing_else_fails(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(3), [])

    async def broken_read(feature: Feature, checkpoint: object) -> object:
        raise ProviderError("HTTP 503 on page 2")

    simkl.read = broken_read  # type: ignore[method-assign,assignment]
    result = await pipeline(store, clock).run(PairSpec("p"), trakt, simkl)

    assert result.status is RunStatus.FAILED
    assert result.features[W].errors == 1
    assert result.errors == ("SIMKL: HTTP 503 on page 2",)


async def test_checkpoints_are_kept_after_a_complete_run(store: StateStore, clock: Clock) -> None:
    trakt, simkl = sides(films(3), films(3))

    await pipeline(store, clock).run(PairSpec("p"), trakt, simkl)

    saved = store.checkpoint(Scope("p", W, "a"))
    assert saved is not None
    assert (saved.watermark, saved.updated_at) == ("read-1", T0)


async def test_a_dry_run_after_a_write_neither_settles_nor_replans_it(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(2), [], invisible={"tmdb:movie:1001"})
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p"), trakt, simkl)

    preview = await runner.run(PairSpec("p", dry_run=True), trakt, simkl)

    assert preview.features[W].applied == 0
    assert {e.code for e in preview.events} == {GuardCode.PENDING_VERIFICATION}
    assert len(store.pending(Scope("p", W, "b"))) == 2  # nothing settled by a preview


async def test_a_rate_limited_run_is_partial_and_says_when_to_come_back(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(3), [], fail_batches={0: RateLimitError("HTTP 429", retry_after=30)})

    result = await pipeline(store, clock).run(PairSpec("p"), trakt, simkl)

    assert result.status is RunStatus.PARTIAL
    assert result.retry_after == 30
    assert result.summary()["errors"] == ["SIMKL: HTTP 429"]


async def test_our_own_removal_is_never_read_as_the_users(store: StateStore, clock: Clock) -> None:
    trakt, simkl = sides(films(2), films(2))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    trakt.inventory[W] = films(1, start=1)  # Film 0 removed on Trakt: the run removes it from SIMKL
    clock.now += timedelta(hours=1)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    trakt.inventory[W] = films(2)  # Film 0 re-added on Trakt, while SIMKL answers an empty 200
    simkl.truncate_to = 0
    clock.now += timedelta(hours=1)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    simkl.truncate_to = None
    clock.now += timedelta(hours=1)

    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    # SIMKL lacks Film 0 because we removed it: the re-add on Trakt propagates, and Trakt keeps it.
    assert keys(trakt) == keys(simkl) == {"tmdb:movie:1000", "tmdb:movie:1001"}


async def held_pair(store: StateStore, clock: Clock) -> tuple[Pipeline, FakeProvider, FakeProvider]:
    trakt, simkl = sides(films(400), films(400))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)
    trakt.inventory[W] = films(380)  # 20 removed: 12 of them over the budget of 8
    clock.now += timedelta(hours=1)
    await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)
    return runner, trakt, simkl


async def test_approved_held_removals_are_applied(store: StateStore, clock: Clock) -> None:
    runner, trakt, simkl = await held_pair(store, clock)

    report = await runner.approve_held("p", trakt, simkl)

    assert report.count(WriteOutcome.CONFIRMED) == 12
    assert keys(simkl) == keys(trakt)
    assert store.held("p") == []
    assert json.loads(store.runs("p")[0].result or "{}")["approved"] == 12


async def test_rejected_held_removals_are_kept_and_never_held_again(
    store: StateStore, clock: Clock
) -> None:
    runner, trakt, simkl = await held_pair(store, clock)
    first = store.held("p")[0]

    assert await runner.reject_held("p", [first.id]) == 1
    assert await runner.reject_held("p") == 11
    clock.now += timedelta(hours=1)
    later = await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)

    assert len(keys(simkl)) == 392
    assert store.held("p") == []
    assert later.status is RunStatus.SUCCESS
    assert {(e.code, e.count) for e in later.events} == {(GuardCode.KEPT_BY_USER, 12)}


async def test_an_auth_failure_closes_the_run_record_and_reaches_the_caller(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(5), [], fail_batches={0: AuthError("token revoked")})

    with pytest.raises(AuthError):
        await pipeline(store, clock).run(PairSpec("p"), trakt, simkl)

    (record,) = store.runs("p")
    assert record.status == "failed"
    assert json.loads(record.result or "{}")["errors"] == ["token revoked"]
    assert store.pending(Scope("p", W, "b")) == []  # nothing was written


async def test_adds_beyond_the_accounts_limit_are_set_aside_and_reported(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(2), films(6, start=10))
    trakt.capabilities = replace(trakt.capabilities, limits={W: 4})  # a free-tier cap

    result = await pipeline(store, clock).run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    assert len(trakt.inventory[W]) == 4  # two of the six fitted
    (event,) = [e for e in result.events if e.code is GuardCode.ACCOUNT_LIMIT]
    assert (event.side.value, event.count) == ("a", 4)
    assert len(simkl.inventory[W]) == 8  # the other direction is unaffected


async def test_a_watchlist_removal_that_would_delete_a_rating_waits_for_approval(
    store: StateStore, clock: Clock
) -> None:
    both = frozenset({W, Feature.RATINGS})
    heat, alien = movie("Heat", 1995, tmdb=949), movie("Alien", 1979, tmdb=348)
    trakt = FakeProvider(
        "trakt:a", "Trakt", replace(TRAKT, features=both), {W: [listed(heat), listed(alien)]}
    )
    simkl = FakeProvider(
        "simkl:b",
        "SIMKL",
        replace(SIMKL, features=both, watchlist_removal_clears_rating=True),
        {W: [listed(heat), listed(alien)], Feature.RATINGS: [rated(heat, 8)]},
    )
    trakt.inventory[W] += films(20)
    runner = pipeline(store, clock)
    spec = PairSpec("p", SyncMode.SOURCE_DELETES, features=frozenset({W}))
    await runner.run(spec, trakt, simkl)
    trakt.inventory[W] = trakt.inventory[W][2:]  # the user took both off Trakt's watchlist

    result = await runner.run(spec, trakt, simkl)

    # Unrated Alien went; rated Heat waits.
    assert "tmdb:movie:348" not in keys(simkl)
    assert "tmdb:movie:949" in keys(simkl)
    (held,) = store.held("p")
    assert (held.operation.item.key, held.reason) == ("tmdb:movie:949", "rating_at_risk")
    assert result.status is RunStatus.HELD
    assert GuardCode.RATING_AT_RISK in {e.code for e in result.events}


async def alien_unlisted_while_ratings_fail(
    store: StateStore, clock: Clock, error: ProviderError
) -> tuple[Pipeline, PairSpec, FakeProvider, FakeProvider]:
    """Alien synced to SIMKL, then taken off Trakt; SIMKL's rating list now answers `error`."""
    both = frozenset({W, Feature.RATINGS})
    alien = movie("Alien", 1979, tmdb=348)
    trakt = FakeProvider(
        "trakt:a", "Trakt", replace(TRAKT, features=both), {W: [listed(alien), *films(20)]}
    )
    simkl = FakeProvider(
        "simkl:b",
        "SIMKL",
        replace(SIMKL, features=both, watchlist_removal_clears_rating=True),
        {W: [listed(alien)]},
    )
    runner = pipeline(store, clock)
    spec = PairSpec("p", SyncMode.SOURCE_DELETES, features=frozenset({W}))
    await runner.run(spec, trakt, simkl)
    trakt.inventory[W] = trakt.inventory[W][1:]
    original_read = simkl.read

    async def ratings_fail(feature: Feature, checkpoint: object) -> object:
        if feature is Feature.RATINGS:
            raise error
        return await original_read(feature, None)

    simkl.read = ratings_fail  # type: ignore[assignment,method-assign]
    return runner, spec, trakt, simkl


async def test_an_unreadable_rating_list_holds_every_rating_destroying_removal(
    store: StateStore, clock: Clock
) -> None:
    runner, spec, trakt, simkl = await alien_unlisted_while_ratings_fail(
        store, clock, ProviderError("HTTP 502")
    )

    await runner.run(spec, trakt, simkl)

    assert "tmdb:movie:348" in keys(simkl)
    assert [h.reason for h in store.held("p")] == ["rating_at_risk"]


async def test_a_rating_list_refusing_the_credentials_asks_for_reauth_and_holds_nothing(
    store: StateStore, clock: Clock
) -> None:
    runner, spec, trakt, simkl = await alien_unlisted_while_ratings_fail(
        store, clock, AuthError("SIMKL refused the credentials (HTTP 401)")
    )

    with pytest.raises(AuthError) as raised:
        await runner.run(spec, trakt, simkl)

    assert raised.value.provider == "simkl:b"
    assert store.held("p") == []
    assert "tmdb:movie:348" in keys(simkl)


class GatedProvider(FakeProvider):
    """Blocks inside its second write until released: a run cut off mid-apply."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.entered = asyncio.Event()
        self.gate: asyncio.Event | None = asyncio.Event()

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        if self.gate is not None and len(self.batches) == 1:
            self.entered.set()
            await self.gate.wait()
        return await super().write(feature, action, requests)


async def test_a_cancelled_run_loses_nothing_and_the_next_run_writes_only_what_is_left(
    store: StateStore, clock: Clock
) -> None:
    trakt = FakeProvider("trakt:a", "Trakt", replace(TRAKT, features=frozenset({W})), {W: films(6)})
    simkl = GatedProvider(
        "simkl:b", "SIMKL", replace(SIMKL, features=frozenset({W}), batch_size=2), {W: []}
    )
    runner = pipeline(store, clock)
    task = asyncio.create_task(runner.run(PairSpec("p", SyncMode.ADD_ONLY), trakt, simkl))
    await simkl.entered.wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert [run.status for run in store.runs("p")] == ["cancelled"]
    assert len(store.pending(Scope("p", W, "b"))) == 2  # the first chunk was committed
    simkl.gate = None
    clock.now += timedelta(hours=1)
    result = await runner.run(PairSpec("p", SyncMode.ADD_ONLY), trakt, simkl)

    written = [key for _, _, keys in simkl.batches for key in keys]
    # The cut-off chunk never reached the provider, so each film was written exactly once.
    assert sorted(written) == [f"tmdb:movie:{1000 + n}" for n in range(6)]
    assert result.features[W].applied == 4
    assert keys(simkl) == keys(trakt)
    assert store.pending(Scope("p", W, "b")) != []


async def test_a_run_cancelled_before_any_write_leaves_the_store_as_it_was(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(3), [])
    started = asyncio.Event()
    original = simkl.read

    async def slow_read(feature: Feature, checkpoint: object) -> object:
        started.set()
        await asyncio.sleep(3600)
        return await original(feature, None)

    simkl.read = slow_read  # type: ignore[assignment,method-assign]
    task = asyncio.create_task(pipeline(store, clock).run(PairSpec("p"), trakt, simkl))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert store.load_baseline(Scope("p", W, "a")) is None
    assert store.pending(Scope("p", W, "b")) == []
    assert [run.status for run in store.runs("p")] == ["cancelled"]


async def test_a_partial_rating_list_holds_every_rating_destroying_removal(
    store: StateStore, clock: Clock
) -> None:
    both = frozenset({W, Feature.RATINGS})
    alien = movie("Alien", 1979, tmdb=348)
    trakt = FakeProvider(
        "trakt:a", "Trakt", replace(TRAKT, features=both), {W: [listed(alien), *films(20)]}
    )
    simkl = FakeProvider(
        "simkl:b",
        "SIMKL",
        replace(SIMKL, features=both, watchlist_removal_clears_rating=True),
        {W: [listed(alien)], Feature.RATINGS: [rated(movie("Heat", 1995, tmdb=949), 7)]},
    )
    runner = pipeline(store, clock)
    spec = PairSpec("p", SyncMode.SOURCE_DELETES, features=frozenset({W}))
    await runner.run(spec, trakt, simkl)
    trakt.inventory[W] = trakt.inventory[W][1:]
    original_read = simkl.read

    async def ratings_partial(feature: Feature, checkpoint: object) -> Read:
        read = await original_read(feature, None)
        if feature is Feature.RATINGS:
            return replace(read, snapshot=replace(read.snapshot, completeness=partial("cut")))
        return read

    simkl.read = ratings_partial  # type: ignore[method-assign]

    await runner.run(spec, trakt, simkl)

    assert "tmdb:movie:348" in keys(simkl)
    assert [h.reason for h in store.held("p")] == ["rating_at_risk"]


async def test_a_provider_without_ratings_has_no_rating_to_lose(
    store: StateStore, clock: Clock
) -> None:
    alien = movie("Alien", 1979, tmdb=348)
    trakt, simkl = sides([listed(alien), *films(20)], [listed(alien)])
    simkl.capabilities = replace(simkl.capabilities, watchlist_removal_clears_rating=True)
    runner = pipeline(store, clock)
    spec = PairSpec("p", SyncMode.SOURCE_DELETES)
    await runner.run(spec, trakt, simkl)
    trakt.inventory[W] = trakt.inventory[W][1:]

    await runner.run(spec, trakt, simkl)

    assert "tmdb:movie:348" not in keys(simkl)
    assert store.held("p") == []


async def test_a_passed_health_check_stands_for_the_successful_runs_of_the_next_hours(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(2), films(2))
    runner, spec = pipeline(store, clock), PairSpec("p", SyncMode.TWO_WAY)
    for _ in range(3):
        assert (await runner.run(spec, trakt, simkl)).status is RunStatus.SUCCESS
        clock.now += timedelta(hours=1)
    assert (trakt.health_checks, simkl.health_checks) == (1, 1)

    clock.now += HEALTH_EVERY
    await runner.run(spec, trakt, simkl)

    assert (trakt.health_checks, simkl.health_checks) == (2, 2)


async def test_after_a_run_that_did_not_succeed_the_next_run_checks_health_first(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(2), films(2))
    runner, spec = pipeline(store, clock), PairSpec("p", SyncMode.TWO_WAY)
    await runner.run(spec, trakt, simkl)
    reads = simkl.read

    async def unreachable(feature: Feature, checkpoint: object) -> Read:
        raise ProviderError("server unreachable")

    simkl.read = unreachable  # type: ignore[method-assign]
    failed = await runner.run(spec, trakt, simkl)
    simkl.read = reads  # type: ignore[method-assign]
    simkl.health_error = ProviderError("still unreachable")
    checked = await runner.run(spec, trakt, simkl)

    assert failed.status is RunStatus.FAILED
    assert checked.status is RunStatus.FAILED
    assert checked.errors == ("SIMKL: still unreachable",)
    assert (trakt.health_checks, simkl.health_checks) == (2, 2)


@pytest.mark.parametrize("where", ["health", "read", "write"])
async def test_an_auth_failure_names_the_account_that_refused(
    store: StateStore, clock: Clock, where: str
) -> None:
    trakt, simkl = sides(films(2), [])
    refusal = AuthError("token revoked")
    if where == "health":
        simkl.health_error = refusal
    elif where == "read":

        async def refuse(feature: Feature, checkpoint: object) -> Read:
            raise refusal

        simkl.read = refuse  # type: ignore[method-assign]
    else:
        simkl.fail_batches = {0: refusal}

    with pytest.raises(AuthError) as caught:
        await pipeline(store, clock).run(PairSpec("p"), trakt, simkl)

    assert caught.value.provider == "simkl:b"
    assert [run.status for run in store.runs("p")] == ["failed"]


async def test_busting_a_provider_reads_it_afresh_however_recent_the_shared_read(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(3), films(3))
    runner = Pipeline(
        store, run_blocking=asyncio.to_thread, memo=SnapshotMemo(timedelta(hours=1)), clock=clock
    )
    spec = PairSpec("p", SyncMode.TWO_WAY)
    await runner.run(spec, trakt, simkl)
    await runner.run(spec, trakt, simkl)
    assert (trakt.reads, simkl.reads) == (1, 1)  # the second run shared the first one's reads

    runner.bust(trakt, W)
    await runner.run(spec, trakt, simkl)
    runner.bust(simkl, everything=True)
    await runner.run(spec, trakt, simkl)

    assert (trakt.reads, simkl.reads) == (2, 2)
    # What the providers keep themselves goes too: unchecked reuse, or everything on request.
    assert trakt.forgotten == [(W, False)]
    assert simkl.forgotten == [(None, True)]


async def test_a_mirror_removes_what_only_the_target_holds_after_one_confirming_run(
    store: StateStore, clock: Clock
) -> None:
    # The source lacks half of what the target holds: a mirror's removals rest on the source's
    # absences, so that is a sharp shrink of what the source should show, believed a run later.
    trakt, simkl = sides(films(10), films(20))
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)  # the first run removes nothing
    clock.now += timedelta(hours=1)

    doubted = await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)
    clock.now += timedelta(hours=1)
    believed = await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)

    assert doubted.status is RunStatus.PARTIAL
    assert {e.code for e in doubted.events} == {GuardCode.SNAPSHOT_SUSPECT}
    assert GuardCode.SHRINK_CONFIRMED in {e.code for e in believed.events}
    removed = believed.features[W].applied
    held = len(store.held("p"))
    assert removed > 0
    assert removed + held == 10
    assert len(keys(simkl)) == 20 - removed


async def test_a_mirror_keeping_what_the_user_rejected_is_not_judged_anew_every_run(
    store: StateStore, clock: Clock
) -> None:
    trakt, simkl = sides(films(400), films(420))  # 20 only on the target: 5 %, within the guard
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)
    clock.now += timedelta(hours=1)
    first = await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl)
    assert first.status is RunStatus.HELD, first.summary()
    assert await runner.reject_held("p") == 12  # over the budget of 8: the user keeps them

    results = []
    for _ in range(3):
        clock.now += timedelta(hours=1)
        results.append(await runner.run(PairSpec("p", SyncMode.MIRROR), trakt, simkl))

    # The target holds 12 items the source lacks, for good, because the user said so: that is
    # our own decision, not a shrink to doubt on every run.
    assert [r.status for r in results] == [RunStatus.SUCCESS] * 3, results[0].summary()
    assert len(keys(simkl)) == 412


async def test_an_item_that_learns_a_better_id_keeps_one_baseline_row_and_can_still_be_removed(
    store: StateStore, clock: Clock
) -> None:
    heat = movie("Heat", 1995, tmdb=949)
    trakt, simkl = sides([listed(heat)], [listed(heat)])
    runner = pipeline(store, clock)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    # Trakt now answers with Heat's imdb id too, and the item is keyed by that from then on.
    known = heat.merged(movie("Heat", 1995, imdb="tt0113277"))
    assert known.key != heat.key
    trakt.inventory[W] = [listed(known)]
    clock.now += timedelta(hours=1)
    await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)

    baseline = store.load_baseline(Scope("p", W, "a"))
    assert baseline is not None
    assert list(baseline.entries) == [known.key]
    assert store.item_counts("Trakt") == {W: 1}  # no row left under the old key to count

    trakt.inventory[W] = []  # the user removes it on Trakt: it goes from SIMKL too
    for _ in range(2):
        clock.now += timedelta(hours=1)
        await runner.run(PairSpec("p", SyncMode.TWO_WAY), trakt, simkl)
    assert keys(simkl) == set()
