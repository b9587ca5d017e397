"""The promises under combined quirks, through the real clients on the simulators.

CrossWatch promises to remove nothing without evidence and never to send a play twice. Each
guard was tested against one quirk at a time; this state machine combines them. An example draws
one pair set-up, seeds both sides, then interleaves the user's own edits on either side, quirks
switched on or off on any simulator, pipeline runs, approvals of held removals and Home
Assistant restarts. After every step:

- nothing is removed from a side unless the user removed it there, or on a side whose removals
  the pair's mode carries there (two-way, source_deletes), or, on a mirror target, the source
  lacks it;
- every held operation is a removal that the user's edits explain;
- Trakt holds no two plays of one title within a minute that the user did not both make;
- a run is never `success` when one of its reads was partial, failed, or (inferred from the
  faults that fired) answered with less than the list held.

At the end every quirk goes off, a day passes (so a provider's own fallback for stuck caches,
such as Trakt's 24 h cache age, has had its chance), and the pairs run four times, approving the
held removals the user's edits explain: then the sides agree, and every user edit (the net change
of each side between two runs) has reached the other side, except what the store reports as
pending, phantom, held or unresolved. Disagreements a live tombstone explains are asserted
separately, so that hypothesis reports them as a failure of their own.
"""

from datetime import timedelta
from itertools import pairwise
from typing import Any, ClassVar

from hypothesis import note, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from custom_components.crosswatch.engine.guards import GuardCode
from custom_components.crosswatch.engine.pipeline import RunStatus
from custom_components.crosswatch.engine.plan import Action, PairSide
from custom_components.crosswatch.engine.provider import AuthError, ProviderError

from .catalogue import MACHINE_TITLES
from .ledger import Ledger
from .quirks import QUIRK_BY_NAME, all_off, choices
from .services import H, Svc, TraktService
from .setups import SETUPS, PairDef, Setup
from .world import PairRun, Rig, World

STEPS = 25  # steps per example: enough to combine quirks, few enough for 2,000 examples
HEALING_RUNS = 4
HEALING_PAUSE = timedelta(hours=25)  # between the last quirk and the healing runs
PLAY_GAP = 60.0  # seconds: two plays of one title closer than this are one play sent twice


class CombinedQuirks(RuleBasedStateMachine):
    """One pair set-up under the user's edits, combined quirks, runs and restarts."""

    rig: Rig  # set by the test before hypothesis builds machines
    # Whether statuses and convergence are checked too, not only the safety promises.
    everything: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.world: World | None = None
        self.ledger: Ledger | None = None
        self.settled = True  # False while a step runs: a failed step leaves it False

    # -- set-up -------------------------------------------------------------------------------

    @initialize(
        setup=st.sampled_from(SETUPS),
        seeds=st.lists(st.sets(st.integers(0, MACHINE_TITLES - 1), max_size=8), min_size=3,
                       max_size=3),
    )  # fmt: skip
    def start(self, setup: Setup, seeds: list[set[int]]) -> None:
        self.settled = False
        world = self.world = World(self.rig, setup, titles=MACHINE_TITLES)
        for side, titles in zip(setup.sides, seeds, strict=False):
            for index in sorted(titles):
                world.edit(side, index, add=True)
        self.ledger = Ledger(setup, MACHINE_TITLES, {s: world.holds(s) for s in setup.sides})
        for side, titles in zip(setup.sides, seeds, strict=False):
            for index in sorted(titles):
                self.ledger.record(side, index, add=True)
        self.settled = True

    @property
    def w(self) -> World:
        assert self.world is not None
        return self.world

    @property
    def book(self) -> Ledger:
        assert self.ledger is not None
        return self.ledger

    # -- steps --------------------------------------------------------------------------------

    @rule(data=st.data())
    def user_edits(self, data: st.DataObject) -> None:
        """The user lists or unlists (plays or unplays) a title on one side, on the service."""
        self.settled = False
        side = data.draw(st.sampled_from(self.w.setup.sides), label="side")
        index = data.draw(st.integers(0, MACHINE_TITLES - 1), label="title")
        add = index not in self.w.user_sees(side)
        self.w.edit(side, index, add=add)
        self.book.record(side, index, add=add)
        self.settled = True

    @rule(data=st.data())
    def switch_quirk(self, data: st.DataObject) -> None:
        """A quirk goes on (strength 1-3) or off (0) on one of the set-up's simulators."""
        self.settled = False
        svc, name = data.draw(st.sampled_from(choices(self.w.setup.sides)), label="quirk")
        strength = data.draw(st.integers(0, 3), label="strength")
        QUIRK_BY_NAME[name].switch[svc](self.w.services[svc], strength)
        self.settled = True

    @rule()
    def run(self) -> None:
        """Every pair of the set-up runs once; no run may call a partial read a success."""
        self.settled = False
        window = self.w.runs  # one window per run step: a pair that did not read keeps its epoch
        self.book.close_window(window)
        for done in self.w.run():
            self.book.saw_run(
                done.pair,
                window,
                read=_read(done),
                founded=done.founded,
                lied=done.lied,
                misread=done.misread,
            )
            self._check_status(done)
        self.settled = True

    @rule()
    def restart(self) -> None:
        """Home Assistant restarts: store reopened on the same file, every client rebuilt."""
        self.settled = False
        self.w.restart()
        self.settled = True

    @rule()
    def approve_explained(self) -> None:
        """The user approves the held removals that their own edits explain."""
        self.settled = False
        self._approve()
        self.settled = True

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def promises_hold(self) -> None:
        if self.world is None:
            return
        self.settled = False
        self._check_promises()
        self.settled = True

    def _check_promises(self) -> None:
        world, book = self.w, self.book
        unexplained = book.observe({side: world.holds(side) for side in world.setup.sides})
        assert not unexplained, f"removed without the user removing them: {unexplained}"
        for pair in world.setup.pairs:
            for held in world.store.held(pair.name):
                op = held.operation
                side = pair.a if op.side is PairSide.A else pair.b
                index = book.index(op.item)
                explained = (
                    op.action is Action.REMOVE and index is not None and book.may_lose(side, index)
                )
                assert explained, (
                    f"{pair.name} holds {op.action} of {op.item.label()} on {side} ({held.reason})"
                    " though the user removed nothing that explains it"
                )
        trakt = world.services.get(Svc.TRAKT)
        if isinstance(trakt, TraktService) and any(p.feature is H for p in world.setup.pairs):
            doubled = _doubled_plays(trakt)
            assert not doubled, f"Trakt holds a play twice that the user made once: {doubled}"

    def _check_status(self, done: PairRun) -> None:
        if not self.everything:
            return
        result = done.result
        note(
            f"run {self.w.runs} {done.pair.name}: "
            + (f"{result.status} errors={list(result.errors)}" if result else f"{done.error}")
            + (f" lies={list(done.lies)}" if done.lies else "")
        )
        if result is None:
            return
        suspect = any(e.code is GuardCode.SNAPSHOT_SUSPECT for e in result.events)
        partial = [r for r in done.reads if not r.complete or r.failed]
        assert not (result.status is RunStatus.SUCCESS and (suspect or partial)), (
            f"{done.pair.name}: status success with a partial read: {partial} suspect={suspect}"
        )
        assert not (result.status is RunStatus.SUCCESS and done.lies), (
            f"{done.pair.name}: status success though a read answered less than the list held:"
            f" {list(done.lies)}"
        )

    # -- approvals and healing ----------------------------------------------------------------

    def _approve(self) -> None:
        world, book = self.w, self.book
        for pair in world.setup.pairs:
            ids = [
                held.id
                for held in world.store.held(pair.name)
                if held.operation.action is Action.REMOVE
                and (index := book.index(held.operation.item)) is not None
                and book.may_lose(pair.a if held.operation.side is PairSide.A else pair.b, index)
            ]
            if not ids:
                continue
            a, b = world.providers[pair.a], world.providers[pair.b]
            try:
                world.rig.run(world.pipeline.approve_held(pair.name, a, b, ids))
            except (AuthError, ProviderError) as err:
                note(f"approving {pair.name}: {err}")

    def teardown(self) -> None:
        try:
            if self.world is not None and self.settled:
                self._heal_and_check()
        finally:
            if self.world is not None:
                self.world.close()

    def _heal_and_check(self) -> None:
        """Quirks off, four healthy runs (approving what the user's edits explain), then agree."""
        world, book = self.w, self.book
        for service in world.services.values():
            all_off(service)
            # A day passes: what a provider re-reads only after a day (Trakt's cache age) has.
            service.pass_time(HEALING_PAUSE.total_seconds())
        world.wall += HEALING_PAUSE
        book.close_window(world.runs)
        for number in range(HEALING_RUNS):
            window = world.runs
            for done in world.run():
                book.saw_run(
                    done.pair,
                    window,
                    read=_read(done),
                    founded=done.founded,
                    lied=done.lied,
                    misread=done.misread,
                )
                self._check_status(done)
            self._check_promises()
            if number == 1:
                self._approve()
        if not self.everything:
            return
        for pair in world.setup.pairs:
            self._check_converged(pair)

    def _check_converged(self, pair: PairDef) -> None:
        world, book = self.w, self.book
        a, b = world.holds(pair.a), world.holds(pair.b)
        excused = book.excused(world.store, pair) | book.kept_off_target(pair)
        tombs = book.tombstoned(world.store, pair, world.wall)
        differ = (a - b) if pair.mode.value == "source_deletes" else (a ^ b)
        assert not (differ - excused - tombs), (
            f"{pair.name} disagrees after healing on {sorted(differ - excused - tombs)}:"
            f" {pair.a}={sorted(a)} {pair.b}={sorted(b)}; store excuses {sorted(excused)}"
        )
        assert not ((differ & tombs) - excused), (
            f"{pair.name} disagrees after healing on tombstoned {sorted((differ & tombs) - excused)}:"
            f" {pair.a}={sorted(a)} {pair.b}={sorted(b)}"
        )
        missed = {
            index: wanted
            for index, wanted in book.expectations(pair).items()
            if index not in excused
            and (
                (index in b) != wanted or (pair.mode.value == "two_way" and (index in a) != wanted)
            )
        }
        assert not {i: w for i, w in missed.items() if i not in tombs}, (
            f"{pair.name}: the user's latest edits did not reach the other side after healing:"
            f" {missed} (title: should be held); {pair.a}={sorted(a)} {pair.b}={sorted(b)}"
        )
        assert not missed, (
            f"{pair.name}: tombstones kept the user's latest edits from the other side: {missed}"
        )


def _read(done: PairRun) -> bool:
    """Whether a run read its pair's sides (a failed run read nothing it could keep)."""
    return done.result is not None and done.result.status is not RunStatus.FAILED


def _doubled_plays(trakt: TraktService) -> list[tuple[int, str, str]]:
    """Plays of one title within a minute of each other, not both made by the user."""
    from custom_components.crosswatch.providers.trakt import parse_time  # noqa: PLC0415

    doubled = []
    for index, stamps in trakt.plays().items():
        ordered = sorted(stamps)
        for first, second in pairwise(ordered):
            one, two = parse_time(first), parse_time(second)
            assert one is not None
            assert two is not None
            mine = {(index, first), (index, second)} <= trakt.user_plays
            if (two - one).total_seconds() < PLAY_GAP and not mine:
                doubled.append((index, first, second))
    return doubled


class SafetyPromises(CombinedQuirks):
    """The same machine, checking only what must never happen.

    Removals, held operations and plays that no user edit explains; statuses and convergence
    are left to the full machine.
    """

    everything = False


def run_machine(rig: Rig, machine: type[CombinedQuirks] = CombinedQuirks, **options: Any) -> None:
    """Play `machine` on `rig`; `options` are hypothesis settings beyond the profile's."""
    machine.rig = rig
    run_state_machine_as_test(machine, settings=settings(stateful_step_count=STEPS, **options))


def test_removes_nothing_without_evidence_and_never_sends_a_play_twice_under_combined_quirks(
    served: Rig,
) -> None:
    # The profile (HYPOTHESIS_PROFILE: ci 2,000 examples, thorough 20,000) sets the examples.
    run_machine(served, SafetyPromises)


def test_statuses_are_honest_and_every_edit_arrives_once_quirks_stop(served: Rig) -> None:
    run_machine(served, CombinedQuirks)
