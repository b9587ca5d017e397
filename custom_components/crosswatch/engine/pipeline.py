"""The run pipeline: one sync run of one pair, step by step.

For each feature both sides support: read (through the shared memo), check the drop guard,
verify pending writes, plan, guard, apply, and persist what was observed. The result is an
immutable `RunResult`. Store access and every step that walks a whole inventory (shadows,
effective views, verification, planning, guards, persisting) go through `run_blocking`, so
nothing here blocks the event loop at a million items, and a cancelled run leaves the store as
its last committed chunk left it.
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
import json

from .applier import ApplyReport, RunBlocking, apply_plan
from .backfill import IdMap, backfill
from .cursor import Checkpoint
from .guards import (
    GuardCode,
    Guarded,
    GuardEvent,
    GuardSettings,
    ShrinkVerdict,
    apply_guards,
    holdouts,
    judge_shrink,
    not_confirmed,
    overruled,
)
from .items import MediaItem
from .memo import SnapshotMemo
from .payloads import Entry, Feature
from .plan import Action, PairSide, Plan
from .planner import PairPolicy, SideState, SyncMode, plan_feature
from .provider import (
    AuthError,
    CountWitness,
    Provider,
    ProviderError,
    RateLimitError,
    Read,
    WriteOutcome,
)
from .records import PendingWrite, Scope, ShrinkSuspicion
from .shadow import ShadowedView, apply_shadows
from .snapshot import Semantics, Snapshot, effective_view, with_changes
from .store import StateStore
from .verify import Verification, own_writes, shown_by_partial_read, verify_pending


class RunStatus(StrEnum):
    """How a run ended."""

    SUCCESS = "success"
    PARTIAL = "partial"  # something was skipped or failed; what could be done was done
    FAILED = "failed"  # nothing could be done
    HELD = "held"  # removals wait for the user's decision
    CANCELLED = "cancelled"  # stopped midway; what was committed stays, the rest is replanned


@dataclass(frozen=True, slots=True)
class PairSpec:
    """What a pair syncs and how carefully."""

    pair: str
    mode: SyncMode = SyncMode.ADD_ONLY
    features: frozenset[Feature] = frozenset(Feature)
    guards: GuardSettings = field(default_factory=GuardSettings)
    dry_run: bool = False
    phantom_after: int = 2


@dataclass(frozen=True, slots=True)
class FeatureCounts:
    """What one feature of a run planned and did."""

    planned: int = 0
    applied: int = 0
    held: int = 0
    unresolved: int = 0
    phantoms: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class IncompleteRead:
    """A side whose read failed or did not prove it saw everything.

    Nothing was removed on its account, and the run cannot claim success.
    """

    provider: str
    feature: Feature
    reason: str
    expected: int | None = None  # how many items the read should have shown, where known
    seen: int | None = None  # how many it showed

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "provider": self.provider,
            "feature": self.feature.value,
            "reason": self.reason,
            "expected": self.expected,
            "seen": self.seen,
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything a run did, for entities, events and diagnostics."""

    pair: str
    run_id: int
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    features: Mapping[Feature, FeatureCounts]
    plan: Plan
    events: tuple[GuardEvent, ...] = ()
    errors: tuple[str, ...] = ()
    retry_after: float | None = None  # the longest Retry-After a provider asked for
    dry_run: bool = False
    requests: Mapping[str, int] = field(default_factory=dict)  # provider name -> HTTP requests
    account_limited: tuple[str, ...] = ()  # providers that refused writes at a plan limit
    rate_limited: tuple[str, ...] = ()  # providers that asked us to slow down (read or write)
    incomplete: tuple[IncompleteRead, ...] = ()  # reads that failed or could not prove completeness

    @property
    def duration(self) -> float:
        """Seconds the run took."""
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> dict[str, object]:
        """A JSON-ready summary (counts, not item lists)."""
        return {
            "pair": self.pair,
            "run_id": self.run_id,
            "status": self.status.value,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "duration": round(self.duration, 3),
            "features": {
                feature.value: {
                    "planned": c.planned,
                    "applied": c.applied,
                    "held": c.held,
                    "unresolved": c.unresolved,
                    "phantoms": c.phantoms,
                    "errors": c.errors,
                }
                for feature, c in self.features.items()
            },
            "events": [
                {"code": e.code.value, "side": e.side.value, "count": e.count, "detail": e.detail}
                for e in self.events
            ],
            "errors": list(self.errors),
            "incomplete_reads": [read.as_dict() for read in self.incomplete],
            "requests": dict(self.requests),
        }


@dataclass(frozen=True, slots=True)
class _RequestMeter:
    """Counts the requests each provider makes during one run."""

    providers: tuple[Provider, ...]
    at_start: tuple[int, ...]

    @classmethod
    def start(cls, *providers: Provider) -> _RequestMeter:
        return cls(providers, tuple(p.requests_made for p in providers))

    def used(self) -> dict[str, int]:
        return {
            p.name: p.requests_made - start
            for p, start in zip(self.providers, self.at_start, strict=True)
        }


class _ReadFailedError(Exception):
    """A side could not be read (or checked); the feature (or the run) is skipped."""

    def __init__(self, provider: Provider, err: ProviderError) -> None:
        super().__init__(f"{provider.name}: {err}")
        self.rate_limited = isinstance(err, RateLimitError)
        self.provider = provider.name
        self.retry_after = err.retry_after if isinstance(err, RateLimitError) else None


async def _health(a: Provider, b: Provider) -> _ReadFailedError | None:
    """Why the run cannot start, or None; a refusal of credentials is raised, naming who."""
    for provider in (a, b):
        try:
            await provider.health()
        except AuthError as err:
            err.provider = err.provider or provider.key
            raise
        except ProviderError as err:
            return _ReadFailedError(provider, err)
    return None


@dataclass(slots=True)
class _Run:
    """What a run has done so far, feature by feature."""

    spec: PairSpec
    run_id: int
    started: datetime
    meter: _RequestMeter
    plan: Plan
    features: dict[Feature, FeatureCounts] = field(default_factory=dict)
    events: list[GuardEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retry_after: float | None = None
    account_limited: tuple[str, ...] = ()
    rate_limited: tuple[str, ...] = ()
    held: bool = False
    incomplete: list[IncompleteRead] = field(default_factory=list)

    def slow_down(self, provider: str, retry_after: float | None) -> None:
        """Note that `provider` asked us to slow down (waiting `retry_after` s, when it said)."""
        if provider not in self.rate_limited:
            self.rate_limited += (provider,)
        if retry_after:
            self.retry_after = max(self.retry_after or 0.0, retry_after)

    def add(self, feature: Feature, outcome: _FeatureRun) -> None:
        self.features[feature] = outcome.counts
        if outcome.plan is not None:
            self.plan = self.plan.combine(outcome.plan)
        self.events.extend(outcome.events)
        self.errors.extend(outcome.errors)
        self.held = self.held or outcome.held
        self.incomplete.extend(outcome.incomplete)
        for provider in outcome.rate_limited:
            self.slow_down(provider, None)
        if outcome.retry_after:
            self.retry_after = max(self.retry_after or 0.0, outcome.retry_after)
        self.account_limited += outcome.account_limited

    def status(self) -> RunStatus:
        counts = self.features.values()
        if counts and all(c.errors and c.planned == 0 for c in counts) and self.errors:
            return RunStatus.FAILED
        if self.held:
            return RunStatus.HELD
        # Adds set aside because the account is at its plan's cap were skipped, not done.
        capped = any(e.code is GuardCode.ACCOUNT_LIMIT for e in self.events)
        # A read that failed or could not prove completeness: nothing was removed on its
        # account, so the run did not do all it would have.
        if self.errors or self.incomplete or capped:
            return RunStatus.PARTIAL
        return RunStatus.SUCCESS


@dataclass(slots=True)
class _FeatureRun:
    counts: FeatureCounts = field(default_factory=FeatureCounts)
    plan: Plan | None = None
    events: list[GuardEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    held: bool = False
    incomplete: list[IncompleteRead] = field(default_factory=list)
    retry_after: float | None = None
    account_limited: tuple[str, ...] = ()
    rate_limited: tuple[str, ...] = ()


class Pipeline:
    """Runs pairs against one store, sharing one snapshot memo."""

    def __init__(
        self,
        store: StateStore,
        *,
        run_blocking: RunBlocking,
        memo: SnapshotMemo,
        clock: Callable[[], datetime],
        id_map: IdMap | None = None,
    ) -> None:
        """Run against `store`, calling blocking work through `run_blocking`."""
        self._id_map = id_map
        self._store = store
        self._blocking = run_blocking
        self._memo = memo
        self._clock = clock

    async def run(self, spec: PairSpec, a: Provider, b: Provider) -> RunResult:
        """One run of a pair: side A is the source in one-way modes."""
        started = self._clock()
        run_id = (
            0
            if spec.dry_run
            else await self._blocking(partial(self._store.start_run, spec.pair, started))
        )
        providers = {PairSide.A: a, PairSide.B: b}
        run = _Run(spec, run_id, started, _RequestMeter.start(a, b), Plan((a.name, b.name)))
        try:
            failure = await _health(a, b)
            if failure is not None:
                run.errors.append(str(failure))
                if failure.rate_limited:
                    run.slow_down(failure.provider, failure.retry_after)
                return await self._finish(run, RunStatus.FAILED)
            shared = spec.features & a.capabilities.features & b.capabilities.features
            for feature in sorted(shared, key=list(Feature).index):
                run.add(feature, await self._run_feature(spec, feature, providers, run_id, started))
        except AuthError as err:
            # The account needs reauthentication: close the run record, then let the caller
            # start reauth. What earlier chunks wrote is already committed.
            run.errors.append(str(err))
            await self._finish(run, RunStatus.FAILED)
            raise
        except asyncio.CancelledError:
            # Home Assistant is stopping or the user cancelled: every applied chunk is already
            # committed, so the next run plans exactly what is left. Close the record so the
            # history does not show a run that never ended.
            run.errors.append("the run was cancelled")
            await asyncio.shield(self._finish(run, RunStatus.CANCELLED))
            raise
        return await self._finish(run, run.status())

    def bust(
        self, provider: Provider, feature: Feature | None = None, *, everything: bool = False
    ) -> None:
        """Make the next run read a provider's feature (None: every feature) afresh.

        Forgets the read other pairs share and what the provider would reuse unchecked; with
        `everything`, also what it revalidates (ETags, activity stamps), for a full read.
        """
        self._memo.bust(provider.key, feature)
        provider.forget_reads(feature, validated=everything)

    def use_id_map(self, id_map: IdMap | None) -> None:
        """Lend ids from `id_map` from the next run on (see backfill.py)."""
        self._id_map = id_map

    async def approve_held(
        self, pair: str, a: Provider, b: Provider, ids: Iterable[int] | None = None
    ) -> ApplyReport:
        """Apply held operations the user approved (all of the pair's, or the given ids)."""
        now = self._clock()
        released = await self._blocking(partial(self._store.release_held, pair, ids))
        approved = Plan.of((a.name, b.name), [h.operation for h in released])
        run_id = await self._blocking(partial(self._store.start_run, pair, now))
        providers = {PairSide.A: a, PairSide.B: b}
        report = await apply_plan(
            approved, pair=pair, providers=providers, store=self._store,
            run_blocking=self._blocking, run_id=run_id, now=now,
        )  # fmt: skip
        for op in approved.operations:
            self._memo.bust(providers[op.side].key, op.feature)
        status = RunStatus.PARTIAL if report.errors else RunStatus.SUCCESS
        summary = {"approved": len(released), "errors": list(report.errors)}
        await self._blocking(
            partial(
                self._store.finish_run, run_id, finished_at=self._clock(),
                status=status.value, result=json.dumps(summary),
            )
        )  # fmt: skip
        return report

    async def requeue_phantoms(
        self, spec: PairSpec, a: Provider, b: Provider
    ) -> list[PendingWrite]:
        """Give the pair's phantoms another chance; returns them.

        A phantom is a write the service accepted but no read has shown since. Forgetting it
        lets the next run plan its item afresh, from reads of the service itself (memo, caches
        and ETags forgotten here), so an item that did arrive after all is not written twice.
        """
        phantoms = await self._blocking(
            partial(self._store.phantoms, spec.pair, spec.phantom_after)
        )
        await self._blocking(partial(self._store.forget_pending, phantoms))
        providers = {PairSide.A: a, PairSide.B: b}
        for scope in {write.scope for write in phantoms}:
            self.bust(providers[PairSide(scope.side)], scope.feature, everything=True)
        return phantoms

    async def reject_held(self, pair: str, ids: Iterable[int] | None = None) -> int:
        """Drop held operations the user rejected; their items are kept where they are."""
        released = await self._blocking(partial(self._store.release_held, pair, ids))
        await self._blocking(
            partial(self._store.keep, pair, [h.operation for h in released], self._clock())
        )
        return len(released)

    async def _finish(self, run: _Run, status: RunStatus) -> RunResult:
        spec = run.spec
        result = RunResult(
            spec.pair, run.run_id, status, run.started, self._clock(), run.features, run.plan,
            tuple(run.events), tuple(run.errors), run.retry_after, spec.dry_run,
            run.meter.used(), run.account_limited, run.rate_limited, tuple(run.incomplete),
        )  # fmt: skip
        if not spec.dry_run:
            await self._blocking(
                partial(
                    self._store.finish_run,
                    run.run_id,
                    finished_at=result.finished_at,
                    status=status.value,
                    result=json.dumps(result.summary()),
                )
            )
        return result

    async def _ratings_at_risk(
        self, provider: Provider, plan: Plan, scope: Scope
    ) -> list[MediaItem]:
        """Items whose planned watchlist removal would also delete their rating (SIMKL)."""
        caps = provider.capabilities
        removals = [
            op.item
            for op in plan.operations
            if op.side.value == scope.side
            and op.action is Action.REMOVE
            and op.feature is Feature.WATCHLIST
        ]
        if not removals or not caps.watchlist_removal_clears_rating:
            return []
        if Feature.RATINGS not in caps.features:
            return []
        try:
            ratings_scope = Scope(scope.pair, Feature.RATINGS, scope.side)
            checkpoint = await self._blocking(partial(self._store.checkpoint, ratings_scope))
            ratings = (await self._memo.read(provider, Feature.RATINGS, checkpoint)).snapshot
        except AuthError as err:
            # The account needs signing in again: the run ends and says so, rather than
            # holding removals for approval that could not be written anyway.
            err.provider = err.provider or provider.key
            raise
        except ProviderError:
            return removals  # fails closed: any of them might be rated
        if not ratings.complete:
            return removals
        return [item for item in removals if ratings.find(item) is not None]

    async def _guard(
        self,
        spec: PairSpec,
        feature: Feature,
        plan: Plan,
        *,
        providers: Mapping[PairSide, Provider],
        scopes: Mapping[PairSide, Scope],
        pending: Mapping[PairSide, list[PendingWrite]],
        verifications: Mapping[PairSide, Verification],
        baselines: Mapping[PairSide, Snapshot | None],
        last_read: Mapping[PairSide, Snapshot | None],
        views: Mapping[PairSide, Snapshot],
        landed: Mapping[PairSide, Iterable[PendingWrite]],
        now: datetime,
    ) -> Guarded:
        """Run the plan through every guard, with what the store remembers about each side.

        `baselines` include our own writes a read has since verified; `last_read` are the
        baselines as the last complete reads left them (less items that may since have been
        regained).
        """
        store, blocking = self._store, self._blocking
        held_out: dict[PairSide, dict[str, GuardCode]] = {}
        tombstones: dict[PairSide, list[MediaItem]] = {}
        kept = {side: await blocking(partial(store.kept, scopes[side])) for side in PairSide}
        for side in PairSide:
            held_out[side] = holdouts(
                await blocking(
                    partial(_holdouts, store, scopes[side], pending[side], verifications[side], now)
                )
            )
            if spec.mode is not SyncMode.MIRROR:
                # A mirror puts back whatever its target lacks, the user's deletions there
                # included: no tombstone may stop it.
                tombstones[side] = [
                    t.item for t in await blocking(partial(store.tombstones, scopes[side], now))
                ]
        sizes = {side: _size(baselines[side]) for side in PairSide}
        room = {
            side: max(0, limit - len(views[side]))
            for side in PairSide
            if (limit := providers[side].capabilities.limits.get(feature)) is not None
        }
        at_risk = {
            side: await self._ratings_at_risk(providers[side], plan, scopes[side])
            for side in PairSide
        }
        return await blocking(
            partial(
                apply_guards, plan, settings=spec.guards, baseline_sizes=sizes,
                tombstones=tombstones, held_out=held_out, kept=kept, room=room,
                ratings_at_risk=at_risk, last_read=last_read,
                landed={side: [w.item for w in writes] for side, writes in landed.items()},
            )
        )  # fmt: skip

    async def _read_sides(
        self,
        providers: Mapping[PairSide, Provider],
        feature: Feature,
        scopes: Mapping[PairSide, Scope],
        fresh: Mapping[PairSide, bool],
    ) -> dict[PairSide, Read]:
        """Both sides' reads (through the memo); a failed read raises naming its provider.

        A side in `fresh` is read afresh from the service itself, past the memo and every cache
        and ETag of the provider: only such a read may confirm a shrink or verify a write.
        """
        reads = {}
        for side, provider in providers.items():
            checkpoint = await self._blocking(partial(self._store.checkpoint, scopes[side]))
            if fresh[side]:
                self.bust(provider, feature, everything=True)
            try:
                reads[side] = await self._memo.read(provider, feature, checkpoint)
            except AuthError as err:
                err.provider = err.provider or provider.key
                raise
            except ProviderError as err:
                raise _ReadFailedError(provider, err) from err
        return reads

    async def _observe_sides(
        self,
        spec: PairSpec,
        providers: Mapping[PairSide, Provider],
        scopes: Mapping[PairSide, Scope],
        reads: Mapping[PairSide, Read],
        *,
        baselines: Mapping[PairSide, Snapshot | None],
        pending: Mapping[PairSide, list[PendingWrite]],
        suspicions: Mapping[PairSide, ShrinkSuspicion | None],
        outcome: _FeatureRun,
        now: datetime,
    ) -> dict[PairSide, _Observed]:
        """Each side's read with lent ids, judged by the drop guard; suspicions remembered.

        A side whose read lost items is read a second time, afresh, for the drop guard to
        compare (see guards.judge_shrink): no single read removes anything.
        """
        store, blocking = self._store, self._blocking
        observed: dict[PairSide, _Observed] = {}
        # A mirror's source is judged last: its absences are measured against the target as
        # observed (ids lent), because that is what the planner will remove.
        order = (PairSide.B, PairSide.A) if spec.mode is SyncMode.MIRROR else tuple(PairSide)
        for side in order:
            owed = None
            if spec.mode is SyncMode.MIRROR and side is PairSide.A:
                owed = await blocking(
                    partial(
                        _owed_to_target, store, scopes[side.other], spec.pair,
                        observed[side.other].verdict.snapshot, pending[side.other],
                    )
                )  # fmt: skip
            observe = partial(
                _observe, store, scopes[side], other=reads[side.other].snapshot,
                id_map=self._id_map, guards=spec.guards, baseline=baselines[side],
                pending=pending[side], suspected=suspicions[side], now=now, owed=owed,
            )  # fmt: skip
            observed[side] = await blocking(partial(observe, reads[side]))
            if baselines[side] is None and _answered_nothing(observed[side]):
                # A baseline founded on an empty answer needs a second, fresh one to agree: a
                # first read has nothing to tell the classic hiccup by.
                again = await self._read_again(providers[side], scopes[side], reads[side])
                if isinstance(again, Read):
                    observed[side] = await blocking(partial(observe, again))
                    empty = _answered_nothing(observed[side])
                    observed[side] = replace(observed[side], founds_on_empty=empty)
            first = observed[side].verdict
            if first.unconfirmed is not None:
                second = await self._read_again(providers[side], scopes[side], reads[side])
                if isinstance(second, Read):
                    lost = first.unconfirmed.missing
                    observed[side] = await blocking(partial(observe, second, first_lost=lost))
                else:
                    why = f"a second read to confirm it failed ({second})"
                    observed[side] = replace(
                        observed[side], verdict=not_confirmed(first, side, why)
                    )
            verdict = observed[side].verdict
            if verdict.confirmed is not None:
                verdict = await _cross_examine(providers[side], verdict, side)
                observed[side] = replace(observed[side], verdict=verdict)
            if verdict.event is not None:
                outcome.events.append(verdict.event)
            if not spec.dry_run and verdict.suspicion != suspicions[side]:
                await blocking(
                    partial(store.save_shrink_suspicion, scopes[side], verdict.suspicion)
                )
            if not verdict.snapshot.complete:
                outcome.incomplete.append(_incomplete(providers[side], verdict))
        return observed

    async def _landed_writes(
        self,
        providers: Mapping[PairSide, Provider],
        pending: Mapping[PairSide, list[PendingWrite]],
        snapshots: Mapping[PairSide, Snapshot],
    ) -> dict[PairSide, tuple[PendingWrite, ...]]:
        """Our unverified adds and updates that each side's partial read itself shows.

        They have landed: for planning they are what the side held (our copy is not its news),
        and the item may be removed again (guards.apply_guards). Unverified, they are neither
        released nor recorded as synced.
        """
        landed: dict[PairSide, tuple[PendingWrite, ...]] = {}
        for side in PairSide:
            landed[side] = await self._blocking(
                partial(
                    shown_by_partial_read, pending[side], snapshots[side],
                    providers[side].capabilities.rating_scale,
                    play_precision=_play_precision(providers[side]),
                )
            )  # fmt: skip
        return landed

    async def _read_again(
        self, provider: Provider, scope: Scope, first: Read
    ) -> Read | ProviderError:
        """A fresh read of a side, past the memo and the provider's caches, or why it failed."""
        self.bust(provider, scope.feature, everything=True)
        try:
            return await self._memo.read(provider, scope.feature, first.checkpoint)
        except AuthError as err:
            err.provider = err.provider or provider.key
            raise
        except ProviderError as err:
            return err

    async def _run_feature(
        self,
        spec: PairSpec,
        feature: Feature,
        providers: Mapping[PairSide, Provider],
        run_id: int,
        now: datetime,
    ) -> _FeatureRun:
        store, blocking, outcome = self._store, self._blocking, _FeatureRun()
        scopes = {side: Scope(spec.pair, feature, side.value) for side in PairSide}
        suspicions = {
            side: await blocking(partial(store.shrink_suspicion, scopes[side])) for side in PairSide
        }
        pending = {side: await blocking(partial(store.pending, scopes[side])) for side in PairSide}
        # Only fresh reads verify: a provider's cache may predate our write, or hold a stale body
        # it took for the truth. Phantoms no longer wait, so they ask for no fresh read.
        fresh = {
            side: suspicions[side] is not None
            or any(w.misses < spec.phantom_after for w in pending[side])
            for side in PairSide
        }
        try:
            reads = await self._read_sides(providers, feature, scopes, fresh)
        except _ReadFailedError as err:
            outcome.incomplete.append(IncompleteRead(err.provider, feature, str(err)))
            outcome.errors.append(str(err))
            outcome.counts = FeatureCounts(errors=1)
            if err.rate_limited:
                outcome.rate_limited = (err.provider,)
                outcome.retry_after = err.retry_after
            return outcome
        baselines = {
            side: await blocking(partial(store.load_baseline, scopes[side])) for side in PairSide
        }
        observed = await self._observe_sides(
            spec, providers, scopes, reads, baselines=baselines, pending=pending,
            suspicions=suspicions, outcome=outcome, now=now,
        )  # fmt: skip
        snapshots = {side: observed[side].verdict.snapshot for side in PairSide}
        views = {
            side: await blocking(partial(effective_view, snapshots[side], baselines[side]))
            for side in PairSide
        }
        verifications: dict[PairSide, Verification] = {}
        for side in PairSide:
            scale = providers[side].capabilities.rating_scale
            verifications[side] = await blocking(
                partial(
                    verify_pending,
                    pending[side],
                    views[side],
                    scale,
                    phantom_after=spec.phantom_after,
                    play_precision=_play_precision(providers[side]),
                )
            )
            if not spec.dry_run:
                await blocking(
                    partial(
                        store.settle_pending,
                        scopes[side],
                        verified=verifications[side].verified,
                        missed=verifications[side].missed,
                    )
                )
        stored = dict(baselines)  # as saved: persisting diffs against this, row by row
        # What each side's last complete read held, less what a suspect read since lacked and
        # this read shows again: such items may have been regained, and a removal on the other
        # side must not undo that, nor a tombstone stop their way back (guards.judge_shrink).
        last_read = {
            side: await blocking(partial(_without, stored[side], observed[side].verdict.returned))
            for side in PairSide
        }
        precision = {side: _play_precision(providers[side]) for side in PairSide}
        # Our own writes, now verified, are part of what the pair held at the last sync:
        # without them, our removal would read as the user's and our add as news.
        baselines = await blocking(
            partial(_synced_with_own_writes, last_read, verifications, views, precision)
        )
        landed = await self._landed_writes(providers, pending, snapshots)
        planned_from = await blocking(
            partial(_planned_from, baselines, landed, snapshots, precision)
        )
        policy = PairPolicy(spec.mode)
        sides = [
            SideState(
                providers[side].name,
                providers[side].capabilities,
                snapshots[side],
                planned_from[side],
            )
            for side in PairSide
        ]
        plan = await blocking(partial(plan_feature, policy, sides[0], sides[1]))
        guarded = await self._guard(
            spec, feature, plan, providers=providers, scopes=scopes, pending=pending,
            verifications=verifications, baselines=baselines, last_read=last_read, views=views,
            landed=landed, now=now,
        )  # fmt: skip
        outcome.events.extend(guarded.events)
        outcome.plan = plan
        if guarded.held and not spec.dry_run:
            for code in dict.fromkeys(guarded.held_codes):
                ops = [
                    op
                    for op, why in zip(guarded.held, guarded.held_codes, strict=True)
                    if why is code
                ]
                await blocking(partial(store.hold, spec.pair, ops, reason=code.value, now=now))
        outcome.held = bool(guarded.held)
        report = await apply_plan(
            guarded.plan, pair=spec.pair, providers=providers, store=store,
            run_blocking=blocking, run_id=run_id, now=now, dry_run=spec.dry_run,
            guards=spec.guards,
        )  # fmt: skip
        for side in {a.operation.side for a in report.applied if a.outcome is not None}:
            self._memo.bust(providers[side].key, feature)
        if not spec.dry_run:
            for side in PairSide:
                await blocking(
                    partial(
                        store.settle_shadows,
                        scopes[side],
                        expired=observed[side].shadowed.expired,
                        absent=observed[side].shadowed.absent,
                    )
                )
                unsettled = await blocking(
                    partial(
                        _unsettled_gains, views[side], baselines[side],
                        other_read=snapshots[side.other], other_view=views[side.other],
                    )
                )  # fmt: skip
                await blocking(
                    partial(
                        _persist_side, store, scopes[side], provider=providers[side],
                        baseline=stored[side], view=views[side], learned=observed[side].learned,
                        unsettled=unsettled,
                        checkpoint=observed[side].read.checkpoint,
                        verification=verifications[side],
                        guards=spec.guards, now=now,
                        founds_on_empty=observed[side].founds_on_empty,
                    )
                )  # fmt: skip
        outcome.errors.extend(report.errors)
        outcome.retry_after = report.retry_after
        outcome.account_limited = report.account_limited
        outcome.rate_limited = report.rate_limited
        outcome.counts = _counts(plan, guarded.held, report, verifications)
        return outcome


@dataclass(frozen=True, slots=True)
class _Observed:
    """One side's read, with shadows and backfilled ids applied and the drop guard's verdict."""

    read: Read  # as the provider gave it (the second one, when the side was read twice)
    shadowed: ShadowedView
    learned: Mapping[str, tuple[str, ...]]
    verdict: ShrinkVerdict
    # A side with no baseline yet whose two fresh reads both answered nothing: its baseline
    # may be founded on that (see _persist_side).
    founds_on_empty: bool = False


def _answered_nothing(observed: _Observed) -> bool:
    """Whether a read is complete, present and empty."""
    snapshot = observed.verdict.snapshot
    return snapshot.complete and snapshot.semantics is Semantics.PRESENT and not snapshot.entries


def _observe(
    store: StateStore,
    scope: Scope,
    read: Read,
    *,
    other: Snapshot,
    id_map: IdMap | None,
    guards: GuardSettings,
    baseline: Snapshot | None,
    pending: Iterable[PendingWrite],
    suspected: ShrinkSuspicion | None,
    now: datetime,
    first_lost: frozenset[str] | None = None,
    owed: Mapping[str, MediaItem] | None = None,
) -> _Observed:
    # Shadows lend source ids to destination items that have none (see shadow.py); the backfill
    # lends ids from the mapping table and the other side (see backfill.py).
    shadowed = apply_shadows(read.snapshot, store.shadows(scope))
    filled = backfill(shadowed.snapshot, known=store.learned_ids(scope), id_map=id_map, other=other)
    verdict = judge_shrink(
        filled.snapshot, baseline, ours=[w.item for w in pending if w.action is Action.REMOVE],
        suspected=suspected, settings=guards, side=PairSide(scope.side), now=now,
        first_lost=first_lost, owed=owed,
    )  # fmt: skip
    return _Observed(read, shadowed, filled.learned, verdict)


def _without(baseline: Snapshot | None, keys: frozenset[str]) -> Snapshot | None:
    """A baseline less the entries under `keys`."""
    if baseline is None or not keys:
        return baseline
    return with_changes(baseline, removed=[baseline.entries[k].item for k in keys])


def _owed_to_target(
    store: StateStore,
    target: Scope,
    pair: str,
    snapshot: Snapshot,
    pending: Iterable[PendingWrite],
) -> dict[str, MediaItem]:
    """What a mirror's target holds that the source's absence alone would remove.

    Only items linked by external ids can be removed; what our own decisions already explain
    is left out: removals we sent and have not seen verified, removals held for the user's
    approval, and removals the user rejected. Else a side waiting on the user would be judged
    anew, and found suspect, on every run.
    """
    decided = [w.item for w in pending if w.action is Action.REMOVE]
    decided += [
        h.operation.item
        for h in store.held(pair)
        if h.operation.side.value == target.side and h.operation.action is Action.REMOVE
    ]
    decided += store.kept(target)
    explained = {
        entry.key for item in decided if (entry := snapshot.find(item, include_local=True))
    }
    return {
        key: entry.item
        for key, entry in snapshot.entries.items()
        if key not in explained and entry.item.has_external_ids
    }


async def _cross_examine(
    provider: Provider, verdict: ShrinkVerdict, side: PairSide
) -> ShrinkVerdict:
    """Ask the service's own count, where it keeps one, before a confirmed shrink is believed.

    A count that disagrees, or cannot be had, leaves the shrink suspect (it fails closed).
    """
    if not isinstance(provider, CountWitness):
        return verdict
    try:
        agrees = await provider.count_agrees(verdict.snapshot)
    except AuthError as err:
        err.provider = err.provider or provider.key
        raise
    except ProviderError as err:
        return overruled(verdict, side, f"{provider.name}'s own count could not be read ({err})")
    if agrees is False:
        return overruled(verdict, side, f"{provider.name}'s own count disagrees with the read")
    return verdict


def _incomplete(provider: Provider, verdict: ShrinkVerdict) -> IncompleteRead:
    """How to tell the user that a side's read did not count as complete."""
    snapshot, suspicion = verdict.snapshot, verdict.suspicion
    if suspicion is not None and verdict.event is not None:
        return IncompleteRead(
            provider.name, snapshot.feature, verdict.event.detail, suspicion.expected,
            suspicion.seen,
        )  # fmt: skip
    evidence = snapshot.completeness
    return IncompleteRead(
        provider.name, snapshot.feature, evidence.describe(), evidence.expected_total,
        evidence.seen_total,
    )  # fmt: skip


def _play_precision(provider: Provider) -> timedelta | None:
    history = provider.capabilities.history
    return history.precision if history.multiple_plays else None


def _synced_with_own_writes(
    last_read: Mapping[PairSide, Snapshot | None],
    verifications: Mapping[PairSide, Verification],
    views: Mapping[PairSide, Snapshot],
    play_precision: Mapping[PairSide, timedelta | None],
) -> dict[PairSide, Snapshot | None]:
    """What the pair held at the last sync: each side's last read with our verified writes."""
    return {
        side: _with_own_writes(
            last_read[side],
            own_writes(
                verifications[side].verified, views[side], play_precision=play_precision[side]
            ),
        )
        for side in PairSide
    }


def _planned_from(
    baselines: Mapping[PairSide, Snapshot | None],
    landed: Mapping[PairSide, tuple[PendingWrite, ...]],
    snapshots: Mapping[PairSide, Snapshot],
    play_precision: Mapping[PairSide, timedelta | None],
) -> dict[PairSide, Snapshot | None]:
    """The baselines to plan from: with our writes that a partial read shows (they landed)."""
    return {
        side: _with_own_writes(
            baselines[side],
            own_writes(landed[side], snapshots[side], play_precision=play_precision[side]),
        )
        if landed[side]
        else baselines[side]
        for side in PairSide
    }


def _with_own_writes(baseline: Snapshot | None, ours: Iterable[PendingWrite]) -> Snapshot | None:
    """The baseline with our own writes (see verify.own_writes): the pair held them at the sync.

    A write shown only after a complete read missed it, with nothing to tell it from the user's
    redo by hand, is not taken in: the item counts as the side's news. That is harmless for our
    lagging write (the other side has what we copied from it) and right for the user's.
    """
    ours = list(ours)
    if baseline is None or not ours:
        return baseline
    # The written item as the destination holds it: the source's local ids are not its own.
    upserts = [
        Entry(replace(w.item, local_tokens=(), key=(w.item.tokens or (w.item.key,))[0]), w.payload)
        for w in ours
        if w.action is not Action.REMOVE and w.payload is not None
    ]
    removed = [w.item for w in ours if w.action is Action.REMOVE]
    return with_changes(baseline, upserts=upserts, removed=removed)


def _size(baseline: Snapshot | None) -> int | None:
    return len(baseline) if baseline is not None else None


def _holdouts(
    store: StateStore,
    scope: Scope,
    pending: Iterable[PendingWrite],
    verification: Verification,
    now: datetime,
) -> list[tuple[MediaItem, GuardCode]]:
    """Items not to write on a side this run, each with the reason."""
    verified = {(w.item.key, w.action) for w in verification.verified}
    phantoms = {(w.item.key, w.action) for w in verification.phantoms}
    items: list[tuple[MediaItem, GuardCode]] = []
    for write in pending:
        if (write.item.key, write.action) in verified:
            continue
        phantom = (write.item.key, write.action) in phantoms
        items.append((write.item, GuardCode.PHANTOM if phantom else GuardCode.PENDING_VERIFICATION))
    items.extend(
        (item, GuardCode.UNRESOLVED_BACKOFF) for item in store.waiting_for_retry(scope, now)
    )
    items.extend((item, GuardCode.QUARANTINED) for item in store.quarantined(scope, now))
    return items


def _unsettled_gains(
    view: Snapshot, baseline: Snapshot | None, *, other_read: Snapshot, other_view: Snapshot
) -> frozenset[str]:
    """This side's gains that the other side holds only on its baseline's word.

    `baseline` is this side's as the planner saw it (with our own verified writes: those are
    not gains).

    While the other side's read is partial, its baseline stands in for what the read did not
    show, so a gain here matches a copy there that may be gone: nothing is planned for it. Were
    it recorded as synced, the other side's loss, once believed, would be carried here and
    undo the gain. Left out of the baseline, it is still news on the next run.
    """
    if other_read.complete or baseline is None:
        return frozenset()  # no baseline: what the side holds is where it starts, not news
    return frozenset(
        key
        for key, entry in view.entries.items()
        if baseline.find(entry.item, include_local=True) is None
        and other_read.find(entry.item) is None
        and other_view.find(entry.item) is not None
    )


def _persist_side(
    store: StateStore,
    scope: Scope,
    *,
    provider: Provider,
    baseline: Snapshot | None,
    view: Snapshot,
    learned: Mapping[str, tuple[str, ...]],
    checkpoint: Checkpoint | None,
    verification: Verification,
    guards: GuardSettings,
    now: datetime,
    founds_on_empty: bool = False,
    unsettled: frozenset[str] = frozenset(),
) -> None:
    """Make what this run observed the side's baseline, incrementally, in one transaction.

    Only a complete view replaces the baseline: a partial or suspect one leaves it standing.
    Items gone since the baseline that our own verified removals do not explain were deleted by
    the user: they get a tombstone.

    What a partial read did show of items the baseline lacks joins it (nothing ever leaves it on
    a partial read): those items were there, and whatever this run copied of them to the other
    side must not come back as news should the user remove them before a complete read (the
    drop guard judges that loss like any other).

    `unsettled` are gains (see _unsettled_gains) that stay out of the baseline: they remain
    news until the other side is seen to share them or to have lost them.
    """
    if learned:
        store.save_learned_ids(scope, dict(learned))
    if baseline is None and not view.entries and not founds_on_empty:
        # No baseline is founded on one empty answer: on a first read it may be the classic
        # hiccup with nothing to compare it with. The side stays on its first run (no
        # removals) until it shows items, or a second, fresh read agrees it holds nothing.
        return
    if not view.complete:
        seen = [
            entry
            for key, entry in view.entries.items()
            if key not in unsettled
            and (baseline is None or baseline.find(entry.item, include_local=True) is None)
        ]
        if seen:
            store.save_baseline(scope, provider.name, upserts=seen, removed=(), saved_at=now)
        return
    ours = {w.item.key for w in verification.verified if w.action is Action.REMOVE}
    upserts: list[Entry] = []
    removed: list[MediaItem] = []
    with store.transaction():
        old_entries = baseline.entries if baseline is not None else {}
        for key, entry in view.entries.items():
            if old_entries.get(key) != entry and key not in unsettled:
                upserts.append(entry)
        rekeyed: list[MediaItem] = []  # items kept under a new key: their old rows go
        for key, old in old_entries.items():
            if key in view.entries:
                continue
            if view.find(old.item, include_local=True) is not None:
                rekeyed.append(old.item)
                continue
            removed.append(old.item)
            if key not in ours:
                store.add_tombstone(
                    scope,
                    old.item,
                    removed_at=now,
                    seen_by=f"{provider.name} snapshot",
                    ttl=guards.tombstone_ttl,
                )
        store.save_baseline(
            scope, provider.name, upserts=upserts, removed=[*removed, *rekeyed], saved_at=now
        )
        gone = [item.key for item in removed]
        store.record_provenance(provider.key, scope.feature, seen=upserts, gone=gone, now=now)
        store.record_written(
            provider.key,
            scope.feature,
            [(w.item.key, w.run_id) for w in verification.verified],
            now,
        )
        if checkpoint is not None:
            store.save_checkpoint(
                scope,
                Checkpoint(
                    checkpoint.provider,
                    checkpoint.feature,
                    checkpoint.watermark,
                    checkpoint.etag,
                    now,
                ),
            )


def _counts(
    plan: Plan,
    held: tuple[object, ...],
    report: ApplyReport,
    verifications: Mapping[PairSide, Verification],
) -> FeatureCounts:
    writable = [op for op in plan.operations if op.action is not Action.CONFLICT]
    return FeatureCounts(
        planned=len(writable),
        applied=report.count(WriteOutcome.CONFIRMED) + report.count(WriteOutcome.UNKNOWN),
        held=len(held),
        unresolved=report.count(WriteOutcome.REJECTED),
        phantoms=sum(len(v.phantoms) for v in verifications.values()),
        errors=len(report.errors),
    )
