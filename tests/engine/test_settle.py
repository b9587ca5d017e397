"""When a run may end with its reads: a settled feature read the same as when it settled."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from custom_components.crosswatch.engine.cursor import Checkpoint
from custom_components.crosswatch.engine.guards import GuardSettings
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import Action, PairSide, Plan
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import Read
from custom_components.crosswatch.engine.records import (
    PendingWrite,
    Scope,
    Settled,
    ShrinkSuspicion,
)
from custom_components.crosswatch.engine.runs import PairSpec
from custom_components.crosswatch.engine.settle import (
    SETTLED_FOR,
    marks,
    may_skip,
    settles,
    spec_digest,
)
from custom_components.crosswatch.engine.store import StateStore

from .factories import T0, listed, movie, snap

HEAT = movie("Heat", 1995, tmdb=949)
SPEC = PairSpec("trakt-simkl", SyncMode.TWO_WAY)
DIGEST = spec_digest(SPEC, 0)
A = Scope("trakt-simkl", Feature.WATCHLIST, "a")
B = Scope("trakt-simkl", Feature.WATCHLIST, "b")


def read(version: str | None, *, complete: bool = True) -> Read:
    return Read(snap(Feature.WATCHLIST, [listed(HEAT)], complete=complete), None, version)


def mark(version: str, *, valid_until: datetime = T0 + SETTLED_FOR) -> Settled:
    return Settled("trakt:alice", version, DIGEST, valid_until)


MARKS = {PairSide.A: mark("a1"), PairSide.B: mark("b1")}
READS = {PairSide.A: read("a1"), PairSide.B: read("b1")}
NOTHING_PENDING: dict[PairSide, list[PendingWrite]] = {PairSide.A: [], PairSide.B: []}
NOTHING_SUSPECTED: dict[PairSide, ShrinkSuspicion | None] = {PairSide.A: None, PairSide.B: None}


def skips(**changes: object) -> bool:
    arguments: dict[str, object] = {
        "marks": MARKS,
        "reads": READS,
        "digest": DIGEST,
        "dry_run": False,
        "pending": NOTHING_PENDING,
        "suspicions": NOTHING_SUSPECTED,
        "held": False,
        "now": T0 + timedelta(hours=1),
    }
    arguments.update(changes)
    return may_skip(**arguments)  # type: ignore[arg-type]


def test_a_settled_feature_read_as_the_same_versions_may_end_with_its_reads() -> None:
    assert skips()


@pytest.mark.parametrize(
    ("why", "changes"),
    [
        ("a side reads otherwise", {"reads": {**READS, PairSide.B: read("b2")}}),
        ("a side cannot vouch for its read", {"reads": {**READS, PairSide.A: read(None)}}),
        ("a read is partial", {"reads": {**READS, PairSide.A: read("a1", complete=False)}}),
        ("a side was never settled", {"marks": {**MARKS, PairSide.B: None}}),
        ("the pair was set up otherwise", {"digest": spec_digest(SPEC, 1)}),
        ("a dry run asks for its plan", {"dry_run": True}),
        ("operations await the user", {"held": True}),
        ("the mark has expired", {"now": T0 + SETTLED_FOR}),
        (
            "a write awaits verification",
            {
                "pending": {
                    **NOTHING_PENDING,
                    PairSide.A: [PendingWrite(A, Action.ADD, HEAT, None, "confirmed", 3, T0, 0)],
                }
            },
        ),
        (
            "a shrink is suspected",
            {
                "suspicions": {
                    **NOTHING_SUSPECTED,
                    PairSide.B: ShrinkSuspicion(frozenset({HEAT.key}), 1, 0, T0),
                }
            },
        ),
    ],
)
def test_a_run_does_its_work_when(why: str, changes: dict[str, object]) -> None:
    assert not skips(**changes), why


def test_the_pairs_settings_and_id_map_are_part_of_what_settled() -> None:
    stricter = PairSpec(SPEC.pair, SPEC.mode, guards=GuardSettings(drop_threshold=0.05))

    assert spec_digest(SPEC, 0) == spec_digest(PairSpec(SPEC.pair, SPEC.mode), 0)
    assert spec_digest(stricter, 0) != DIGEST
    assert spec_digest(PairSpec(SPEC.pair, SyncMode.MIRROR), 0) != DIGEST
    assert spec_digest(SPEC, 1) != DIGEST
    # A dry run asks for a plan, not for other settings.
    assert spec_digest(PairSpec(SPEC.pair, SPEC.mode, dry_run=True), 0) == DIGEST


def test_marks_hold_a_day_at_most_and_never_past_a_tombstones_expiry() -> None:
    soon = T0 + timedelta(hours=5)

    plain = marks(READS, {PairSide.A: "trakt:alice", PairSide.B: "simkl:1"}, digest=DIGEST,
                  now=T0, tombstone_expiries={PairSide.A: None, PairSide.B: None})  # fmt: skip
    bounded = marks(READS, {PairSide.A: "trakt:alice", PairSide.B: "simkl:1"}, digest=DIGEST,
                    now=T0, tombstone_expiries={PairSide.A: None, PairSide.B: soon})  # fmt: skip

    assert plain == {
        PairSide.A: Settled("trakt:alice", "a1", DIGEST, T0 + SETTLED_FOR),
        PairSide.B: Settled("simkl:1", "b1", DIGEST, T0 + SETTLED_FOR),
    }
    assert {m.valid_until for m in bounded.values()} == {soon}


def settled_after(**changes: object) -> bool:
    arguments: dict[str, object] = {
        "plan": Plan(("Trakt", "SIMKL")),
        "held": False,
        "errors": False,
        "pending": NOTHING_PENDING,
        "suspected": {PairSide.A: False, PairSide.B: False},
        "believed": {PairSide.A: True, PairSide.B: True},
        "recorded_changes": False,
        "reads": READS,
    }
    arguments.update(changes)
    return settles(**arguments)  # type: ignore[arg-type]


def test_a_run_settles_only_when_it_had_nothing_at_all_to_do() -> None:
    assert settled_after()
    assert not settled_after(held=True)
    assert not settled_after(errors=True)
    assert not settled_after(recorded_changes=True)
    assert not settled_after(suspected={PairSide.A: False, PairSide.B: True})
    assert not settled_after(believed={PairSide.A: False, PairSide.B: True})
    assert not settled_after(reads={**READS, PairSide.B: read(None)})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as opened:
        yield opened


def test_a_start_forgets_every_mark(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:
        store.save_settled(A, mark("a1"))
        assert store.settled(A) == mark("a1")

    with StateStore(tmp_path / "state.db") as reopened:
        assert reopened.settled(A) is None


def test_a_dropped_baseline_a_busted_provider_and_a_forgotten_pair_forget_their_marks(
    store: StateStore,
) -> None:
    store.save_settled(A, mark("a1"))
    store.save_settled(B, Settled("simkl:1", "b1", DIGEST, T0 + SETTLED_FOR))
    store.drop_baseline(A)
    assert store.settled(A) is None
    assert store.settled(B) is not None

    store.save_checkpoint(B, Checkpoint("simkl:1", Feature.WATCHLIST, "w", None, T0))
    store.clear_checkpoints("simkl:1")
    assert store.settled(B) is None

    store.save_settled(A, mark("a1"))
    store.forget_pair(A.pair)
    assert store.settled(A) is None


def test_the_next_tombstone_expiry_is_the_first_living_one(store: StateStore) -> None:
    store.add_tombstone(A, HEAT, removed_at=T0, seen_by="run 1", ttl=timedelta(days=2))
    store.add_tombstone(A, movie("Alien", 1979, tmdb=348), removed_at=T0, seen_by="run 1",
                        ttl=timedelta(days=9))  # fmt: skip

    assert store.next_tombstone_expiry(A, T0) == T0 + timedelta(days=2)
    assert store.next_tombstone_expiry(A, T0 + timedelta(days=3)) == T0 + timedelta(days=9)
    assert store.next_tombstone_expiry(B, T0) is None
