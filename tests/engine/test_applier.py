"""The applier writes in chunks and records every outcome, one transaction per chunk."""

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from custom_components.crosswatch.engine.applier import ApplyReport, RunBlocking, apply_plan
from custom_components.crosswatch.engine.guards import GuardSettings
from custom_components.crosswatch.engine.payloads import Entry, Feature
from custom_components.crosswatch.engine.plan import Action, PairSide, Plan
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    ProviderError,
    RateLimitError,
    WriteOutcome,
)
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore

from .factories import SIMKL, T0, TRAKT, listed, movie, plan, rated, snap
from .fakes import FakeProvider

W = Feature.WATCHLIST
PAIR = "trakt-simkl"


def films(count: int) -> list[Entry]:
    return [listed(movie(f"Film {n}", 2000, tmdb=1000 + n)) for n in range(count)]


def adds_to_b(count: int) -> Plan:
    return plan(
        SyncMode.ADD_ONLY,
        ("Trakt", TRAKT, snap(W, films(count)), None),
        ("SIMKL", SIMKL, snap(W, []), None),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as opened:
        yield opened


def providers(batch_size: int = 2, **faults: object) -> tuple[FakeProvider, FakeProvider]:
    trakt = FakeProvider("trakt:a", "Trakt", replace(TRAKT, batch_size=batch_size))
    simkl = FakeProvider("simkl:b", "SIMKL", replace(SIMKL, batch_size=batch_size), **faults)  # type: ignore[arg-type]
    return trakt, simkl


async def run(
    result: Plan,
    store: StateStore,
    sides: tuple[FakeProvider, FakeProvider],
    *,
    run_blocking: RunBlocking = asyncio.to_thread,
    dry_run: bool = False,
    guards: GuardSettings | None = None,
) -> ApplyReport:
    return await apply_plan(
        result,
        pair=PAIR,
        providers={PairSide.A: sides[0], PairSide.B: sides[1]},
        store=store,
        run_blocking=run_blocking,
        run_id=1,
        now=T0,
        dry_run=dry_run,
        guards=guards,
    )


async def test_writes_go_out_in_chunks_of_the_providers_batch_size(store: StateStore) -> None:
    sides = providers(batch_size=2)

    report = await run(adds_to_b(5), store, sides)

    assert [len(keys) for _, _, keys in sides[1].batches] == [2, 2, 1]
    assert all((feature, action) == (W, Action.ADD) for feature, action, _ in sides[1].batches)
    assert report.count(WriteOutcome.CONFIRMED) == 5
    assert sides[0].batches == []


async def test_accepted_writes_wait_in_pending_until_a_snapshot_shows_them(
    store: StateStore,
) -> None:
    await run(adds_to_b(3), store, providers())

    pending = store.pending(Scope(PAIR, W, "b"))
    assert [(p.action, p.outcome, p.run_id, p.misses) for p in pending] == [
        (Action.ADD, "confirmed", 1, 0)
    ] * 3


async def test_a_reply_without_per_item_answers_leaves_outcomes_unknown(store: StateStore) -> None:
    report = await run(adds_to_b(3), store, providers(answer_counts_only=True))

    assert report.count(WriteOutcome.UNKNOWN) == 3
    assert {p.outcome for p in store.pending(Scope(PAIR, W, "b"))} == {"unknown"}


async def test_rejected_items_become_unresolved_and_are_not_pending(store: StateStore) -> None:
    report = await run(adds_to_b(3), store, providers(reject={"tmdb:movie:1001"}))

    assert report.count(WriteOutcome.REJECTED) == 1
    assert [(u.item.key, u.reason) for u in store.unresolved(PAIR)] == [
        ("tmdb:movie:1001", "not_found")
    ]
    assert len(store.pending(Scope(PAIR, W, "b"))) == 2


async def test_a_failing_chunk_does_not_abort_the_run_and_counts_toward_the_blackbox(
    store: StateStore,
) -> None:
    report = await run(adds_to_b(5), store, providers(fail_batches={1: ProviderError("HTTP 502")}))

    assert report.count(WriteOutcome.CONFIRMED) == 3
    assert report.count(None) == 2
    assert report.errors == ("SIMKL: HTTP 502",)
    assert [(q.item.key, q.failures) for q in store.blackbox(PAIR)] == [
        ("tmdb:movie:1002", 1),
        ("tmdb:movie:1003", 1),
    ]


async def test_a_rate_limit_stops_writes_to_that_provider_for_the_run(store: StateStore) -> None:
    sides = providers(fail_batches={0: RateLimitError("HTTP 429", retry_after=30)})

    report = await run(adds_to_b(5), store, sides)

    assert len(sides[1].batches) == 1
    assert report.count(None) == 5
    assert report.retry_after == 30
    assert store.blackbox(PAIR) == []


async def test_an_auth_failure_stops_the_run_after_recording_what_was_written(
    store: StateStore,
) -> None:
    with pytest.raises(AuthError):
        await run(adds_to_b(5), store, providers(fail_batches={1: AuthError("token revoked")}))

    assert len(store.pending(Scope(PAIR, W, "b"))) == 2


async def test_a_crash_between_chunks_keeps_the_chunks_already_written(store: StateStore) -> None:
    calls = 0

    async def crash_on_second_record[T](function: Callable[[], T]) -> T:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise asyncio.CancelledError
        return await asyncio.to_thread(function)

    with pytest.raises(asyncio.CancelledError):
        await run(adds_to_b(5), store, providers(), run_blocking=crash_on_second_record)

    assert [p.item.key for p in store.pending(Scope(PAIR, W, "b"))] == [
        "tmdb:movie:1000",
        "tmdb:movie:1001",
    ]


async def test_a_dry_run_writes_and_records_nothing(store: StateStore) -> None:
    sides = providers()

    report = await run(adds_to_b(3), store, sides, dry_run=True)

    assert sides[1].batches == []
    assert {a.reason for a in report.applied} == {"dry run"}
    assert store.statistics()["pending"] == 0


async def test_conflict_operations_are_never_written(store: StateStore) -> None:
    heat = movie("Heat", 1995, tmdb=949)
    baseline = snap(Feature.RATINGS, [rated(heat, 5, T0)])
    conflicting = plan(
        SyncMode.TWO_WAY,
        ("Trakt", TRAKT, snap(Feature.RATINGS, [rated(heat, 9, T0 + timedelta(days=2))]), baseline),
        ("SIMKL", SIMKL, snap(Feature.RATINGS, [rated(heat, 3, T0 + timedelta(days=1))]), baseline),
    )
    sides = providers()

    report = await run(conflicting, store, sides)

    assert [action for _, action, _ in sides[1].batches] == [Action.UPDATE]
    assert len(report.applied) == 1


async def test_the_fake_provider_reads_what_it_holds_as_a_complete_snapshot() -> None:
    trakt = FakeProvider("trakt:a", "Trakt", TRAKT, inventory={W: films(3)})

    read = await trakt.read(W, None)
    await trakt.health()

    assert read.snapshot.complete
    assert len(read.snapshot) == 3


async def test_a_pairs_own_retry_backoff_and_quarantine_threshold_are_used(
    store: StateStore,
) -> None:
    guards = GuardSettings(
        retry_backoff=(timedelta(minutes=5),), quarantine_after=1, quarantine_for=timedelta(hours=2)
    )
    rejecting = providers(reject={"tmdb:movie:1000"})
    await run(adds_to_b(1), store, rejecting, guards=guards)
    (unresolved,) = store.unresolved(PAIR)
    assert unresolved.next_attempt_at == T0 + timedelta(minutes=5)

    failing = providers(fail_batches={0: ProviderError("HTTP 500")})
    await run(adds_to_b(1), store, failing, guards=guards)

    (quarantined,) = store.blackbox(PAIR)
    assert quarantined.quarantined_until == T0 + timedelta(hours=2)  # after one failure


@pytest.mark.parametrize(
    "error",
    [AccountLimitError("watchlist is full", limit=100), AccountLockedError("account locked")],
)
async def test_an_account_limit_or_lock_stops_writes_to_that_side_without_blaming_items(
    store: StateStore, error: ProviderError
) -> None:
    sides = providers(batch_size=1, fail_batches={0: error})

    report = await run(adds_to_b(3), store, sides)

    assert len(sides[1].batches) == 1  # no further chunk was tried
    assert len(report.errors) == 1
    assert report.account_limited == (("SIMKL",) if isinstance(error, AccountLimitError) else ())
    assert store.blackbox(PAIR) == []
    assert store.unresolved(PAIR) == []
