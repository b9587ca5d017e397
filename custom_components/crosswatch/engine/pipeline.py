"""The run pipeline: one sync run of one pair, as a short sequence of stages.

For each feature both sides support, `Pipeline._run_feature` hands each stage's result to the
next, and nothing flows back:

1. detect (detect.py): read both sides, lend ids, judge what each read may be believed for;
2. reconcile (reconcile.py): verify our pending writes, and work out what the pair held at its
   last sync;
3. plan (planner.py): every difference, as an operation with its reason;
4. guard (guarding.py): hold or set aside what the evidence does not support;
5. apply (applier.py): write, chunk by chunk, recording each outcome;
6. record (record.py): what was observed becomes the baselines.

A feature whose last run had nothing to do, and whose reads both came back the same versions,
ends after step 1 (settle.py): the same inputs would plan the same nothing.

Store access and every step that walks a whole inventory go through `run_blocking`, so nothing
here blocks the event loop at a million items, and a cancelled run leaves the store as its last
committed chunk left it. The result is an immutable `RunResult` (runs.py).
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
import json

from .applier import ApplyReport, RunBlocking, apply_plan
from .backfill import IdMap
from .backup import Backup, BackupError, BackupReason, Backups, SideCopy, due
from .detect import observe_sides, read_sides
from .guarding import guard
from .guards import GuardCode
from .items import MediaItem
from .memo import SnapshotMemo
from .payloads import Feature, Watched
from .plan import Action, Operation, PairSide, Plan
from .planner import PairPolicy, SideState, plan_feature
from .provider import (
    AnyRead,
    AuthError,
    Provider,
    ProviderError,
    Read,
    Rests,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from .reconcile import play_precision, reconcile
from .record import feature_counts, record
from .records import SCROBBLED, PendingWrite, Scope, Settled, ShrinkSuspicion
from .reported import reported_plan, unresolved_count
from .restore import BackupCopy, Restored, restore_plan
from .run_context import RunContext
from .run_tally import (
    FeatureOutcome,
    HealthChecks,
    ReadFailedError,
    RequestMeter,
    RunTally,
    health_failure,
)
from .runs import FeatureCounts, IncompleteRead, PairSpec, RunChanges, RunResult, RunStatus
from .settle import marks, may_skip, settles, spec_digest
from .snapshot import Snapshot
from .store import StateStore
from .targeted import ItemSource, focused
from .verify import verify_pending

__all__ = [
    "FeatureCounts",
    "IncompleteRead",
    "PairSpec",
    "Pipeline",
    "RunResult",
    "RunStatus",
]


# How long a passed health check stands for the runs after it (see HealthChecks): the reads
# find a refused token or a service that is down just as well, and Home Assistant checks each
# account on its own schedule besides (account_coordinator.py).
HEALTH_EVERY = timedelta(hours=6)


async def _rest(a: Provider, b: Provider) -> None:
    """Let each provider of a pair rest once; resting never changes how the run ended.

    What a provider keeps stays live when it cannot rest (an executor that is shutting down
    refuses new work with a RuntimeError): the next run finds it as it was.
    """
    for provider in (a,) if a is b else (a, b):
        if isinstance(provider, Rests):
            with contextlib.suppress(RuntimeError):
                await provider.rest()


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
        health_every: timedelta = HEALTH_EVERY,
        backups: Backups | None = None,
    ) -> None:
        """Run against `store`, calling blocking work through `run_blocking`.

        A provider whose health check passed within `health_every`, with every run since a
        success, is not checked again (see HealthChecks).
        """
        self._id_map = id_map
        self._health = HealthChecks(health_every)
        self._lending = 0  # id maps handed over since: settled marks name the one they used
        self._store = store
        self._blocking = run_blocking
        self._memo = memo
        self._clock = clock
        self._backups = backups

    async def run(self, spec: PairSpec, a: Provider, b: Provider) -> RunResult:
        """One run of a pair: side A is the source in one-way modes.

        However it ends (unless it was cancelled: Home Assistant is stopping), both providers
        then rest (`Rests`): what they keep until the next run is held compactly.
        """
        cancelled = False
        try:
            return await self._run(spec, a, b)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            if not cancelled:
                await _rest(a, b)

    async def _run(self, spec: PairSpec, a: Provider, b: Provider) -> RunResult:
        started = self._clock()
        run_id = (
            0
            if spec.dry_run
            else await self._blocking(partial(self._store.start_run, spec.pair, started))
        )
        providers = {PairSide.A: a, PairSide.B: b}
        run = RunTally(spec, run_id, started, RequestMeter.start(a, b), Plan((a.name, b.name)))
        succeeded = False
        try:
            failure = await health_failure(a, b, checks=self._health, now=started)
            if failure is not None:
                run.errors.append(str(failure))
                if failure.rate_limited:
                    run.slow_down(failure.provider, failure.retry_after)
                return await self._finish(run, RunStatus.FAILED)
            shared = spec.features & a.capabilities.features & b.capabilities.features
            for feature in sorted(shared, key=list(Feature).index):
                run.add(feature, await self._run_feature(spec, feature, providers, run_id, started))
            result = await self._finish(run, run.status())
            succeeded = result.status in (RunStatus.SUCCESS, RunStatus.TARGETED)
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
        finally:
            if not succeeded:
                self._health.forget(a, b)  # whatever went wrong, the next run checks first
        return result

    async def run_item(
        self, spec: PairSpec, a: Provider, b: Provider, read: Read
    ) -> RunResult | None:
        """A targeted run (targeted.py): side A's history is `read`, one played item.

        Only history runs, and only side B's operations on that item are written; the run is
        never dry. Its status is `targeted` where a full run's would be `success`. None, and
        nothing done, while side A has no history baseline: a first baseline would be founded
        on the one item, so a pair that never read its source whole waits for its full run.
        """
        tokens = frozenset(
            token
            for entry in read.snapshot.entries.values()
            for token in (*entry.item.tokens, *entry.item.local_tokens)
        )
        if not tokens or read.complete or Feature.HISTORY not in spec.features:
            raise ValueError("a targeted run needs a partial history read of one item")
        scope = Scope(spec.pair, Feature.HISTORY, PairSide.A.value)
        if not await self._blocking(partial(self._store.has_baseline, scope)):
            return None
        focus = replace(spec, features=frozenset({Feature.HISTORY}), dry_run=False, focus=tokens)
        # A complete read of A kept for the pairs to share must not stand in for the item's.
        self._memo.bust(a.key, Feature.HISTORY)
        return await self.run(focus, ItemSource(a, read), b)

    async def record_scrobbled_play(
        self, pair: str, b: Provider, item: MediaItem, watched_at: datetime
    ) -> None:
        """Record a play side B's service recorded itself from a live scrobble (scrobble.py).

        It is awaited as the pair's writes are (pending, outcome `SCROBBLED`): until a fresh
        complete read of B shows it, any add of the item to B is held out of every plan (so
        neither the targeted run of the play nor a full run sends it a second time while B's
        history lags). It is no copy of ours: once shown, it is B's own play, planned as B's
        news (a two-way pair may carry it to A; nothing ever removes it on its account). Run
        id 0: no run wrote it. B's history is read afresh next.
        """
        scope = Scope(pair, Feature.HISTORY, PairSide.B.value)
        await self._blocking(
            partial(
                self._store.record_pending, scope, Action.ADD, item,
                Watched.from_plays((watched_at,)), outcome=SCROBBLED, run_id=0,
                now=self._clock(),
            )
        )  # fmt: skip
        self._memo.bust(b.key, Feature.HISTORY)

    def bust(
        self, provider: Provider, feature: Feature | None = None, *, everything: bool = False
    ) -> None:
        """Make the next run read a provider's feature (None: every feature) afresh.

        See RunContext.bust; with `everything`, ETags and activity stamps go too.
        """
        self._context().bust(provider, feature, everything=everything)

    def forget_shared_reads(self) -> None:
        """Forget the reads the memo keeps for pairs to share (none is needed between runs)."""
        self._memo.clear()

    @property
    def shared_reads(self) -> int:
        """How many reads the memo keeps for pairs to share."""
        return len(self._memo)

    def _context(self) -> RunContext:
        """What each stage of a run works with, as the pipeline stands now."""
        return RunContext(self._store, self._blocking, self._memo, self._id_map)

    def use_id_map(self, id_map: IdMap | None) -> None:
        """Lend ids from `id_map` from the next run on (see backfill.py)."""
        self._id_map = id_map
        self._lending += 1

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

    async def restore(
        self,
        spec: PairSpec,
        a: Provider,
        b: Provider,
        backup: BackupCopy,
        *,
        side: PairSide,
        dry_run: bool,
    ) -> Restored:
        """Add back to `side` what its copy in `backup` holds and a fresh complete read lacks.

        The adds are written as the user's own (restore.py) and recorded as a run of the pair;
        what the service refused is in the result, not kept as unresolved. Raises ValueError
        when the backup has no copy of the side, or the side's read is partial (it cannot tell
        missing from unseen).
        """
        feature, backed_up = backup.feature, backup.side(side)
        if backed_up is None:
            raise ValueError(f"the backup holds no copy of side {side.value}")
        providers = {PairSide.A: a, PairSide.B: b}
        provider = providers[side]
        self.bust(provider, feature)
        read = await self._context().unpacked(await provider.read(feature, None))
        plan = await self._blocking(
            partial(restore_plan, (a.name, b.name), side, feature, backed_up.entries, read.snapshot)
        )
        if dry_run or not plan.operations:
            return Restored(plan, None, None)
        # The user wants these back: the pair's memory of them (that both sides had them, that
        # one side deleted them) must not take them away again. Written as the user's own adds
        # (no pending copies of the other side's: restore.py), in the service's batches.
        items = [op.item for op in plan.operations]
        await self._blocking(partial(self._store.forget_presence, spec.pair, feature.value, items))
        now = self._clock()
        run_id = await self._blocking(partial(self._store.start_run, spec.pair, now))
        results: list[WriteResult] = []
        error: str | None = None
        size = max(1, provider.capabilities.batch_size)
        requests = [WriteRequest(op.item, op.payload) for op in plan.operations]
        try:
            for start in range(0, len(requests), size):
                batch = requests[start : start + size]
                results.extend(await provider.write(feature, Action.ADD, batch))
        except ProviderError as err:
            error = f"{provider.name} stopped the restore after {len(results)} items: {err}"
        finally:
            self.bust(provider, feature)
        status = RunStatus.PARTIAL if error is not None else RunStatus.SUCCESS
        summary = {"restored": len(results), "errors": [error] if error else []}
        await self._blocking(
            partial(
                self._store.finish_run, run_id, finished_at=self._clock(),
                status=status.value, result=json.dumps(summary),
            )
        )  # fmt: skip
        return Restored(plan, tuple(results), error)

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

    async def _finish(self, run: RunTally, status: RunStatus) -> RunResult:
        spec = run.spec
        result = RunResult(
            spec.pair, run.run_id, status, run.started, self._clock(), run.features, run.plan,
            tuple(run.events), tuple(run.errors), run.retry_after, spec.dry_run,
            run.meter.used(), run.account_limited, run.rate_limited, tuple(run.incomplete),
            tuple(run.settled), RunChanges.of(run.written, run.plan),
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

    async def _run_feature(
        self,
        spec: PairSpec,
        feature: Feature,
        providers: Mapping[PairSide, Provider],
        run_id: int,
        now: datetime,
    ) -> FeatureOutcome:
        """One feature: detect, reconcile, plan, guard, apply, record (see the module doc)."""
        ctx = self._context()
        store, blocking, outcome = self._store, self._blocking, FeatureOutcome()
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
            packed_reads = await read_sides(ctx, providers, feature, scopes, fresh)
        except ReadFailedError as err:
            return FeatureOutcome.of_failed_read(feature, err)
        marks = {side: await blocking(partial(store.settled, scopes[side])) for side in PairSide}
        if await self._still_settled(spec, marks, packed_reads, pending, suspicions, now):
            await self._keep_checkpoints(scopes, packed_reads, now)
            names = (providers[PairSide.A].name, providers[PairSide.B].name)
            return FeatureOutcome(plan=Plan(names), settled=True)
        reads = {side: await ctx.unpacked(read) for side, read in packed_reads.items()}
        if not spec.dry_run:
            # This run does its work: whatever it leaves, the old marks no longer vouch for it.
            for side in PairSide:
                if marks[side] is not None:
                    await blocking(partial(store.unsettle, scopes[side]))
        baselines = {
            side: await blocking(
                partial(store.load_baseline, scopes[side], like=reads[side].snapshot)
            )
            for side in PairSide
        }
        # The plays a side's service recorded from live scrobbles are awaited, and hold out
        # adds of their items (guard), but are no writes of ours (records.SCROBBLED).
        ours = {side: [w for w in pending[side] if w.outcome != SCROBBLED] for side in PairSide}
        observed = await observe_sides(
            ctx, spec, providers, scopes, reads, baselines=baselines, pending=ours,
            suspicions=suspicions, outcome=outcome, now=now,
        )  # fmt: skip
        reconciled = await reconcile(
            ctx, spec, providers, scopes, observed, baselines=baselines, pending=ours, now=now
        )
        await self._await_scrobbles(spec, providers, scopes, pending, reconciled.views)
        sides = [
            SideState(
                providers[side].name,
                providers[side].capabilities,
                reconciled.reads[side],
                reconciled.planned_from[side],
            )
            for side in PairSide
        ]
        plan = await blocking(partial(plan_feature, PairPolicy(spec.mode), *sides))
        if spec.focus:
            plan = focused(plan, spec.focus)  # a targeted run writes its one item only
        guarded = await guard(
            ctx, spec, feature, plan, providers=providers, scopes=scopes, pending=pending,
            reconciled=reconciled, now=now,
        )  # fmt: skip
        if guarded.held and not spec.dry_run:
            await self._hold(spec.pair, guarded.held, guarded.held_codes, now)
        removes = any(op.action is Action.REMOVE for op in guarded.plan.operations)
        backup_failure = await self._back_up(spec, feature, removes, reads, now)
        if backup_failure is not None and removes:
            # No copy of both sides, no removal: nothing of the feature is written or recorded,
            # and the next run plans it all again (engine/backup.py).
            return FeatureOutcome(counts=FeatureCounts(errors=1), errors=[backup_failure])
        report = await apply_plan(
            guarded.plan,
            pair=spec.pair,
            providers=providers,
            store=store,
            run_blocking=blocking,
            run_id=run_id,
            now=now,
            dry_run=spec.dry_run,
            guards=spec.guards,
        )
        for side in {a.operation.side for a in report.applied if a.outcome is not None}:
            self._memo.bust(providers[side].key, feature)
        if not spec.dry_run:
            changed = await record(ctx, spec, providers, scopes, observed, reconciled, now)
            if settles(
                plan=plan, held=bool(guarded.held), errors=bool(report.errors),
                pending=pending, recorded_changes=changed, reads=reads,
                suspected={side: observed[side].verdict.suspicion is not None for side in PairSide},
                believed={
                    side: observed[side].verdict.snapshot.complete
                    and observed[side].verdict.event is None
                    for side in PairSide
                },
            ):  # fmt: skip
                await self._settle(spec, providers, scopes, reads, now)
        # What the run writes, and notes for what it sets aside, holds or had rejected.
        outcome.plan, outcome.held = reported_plan(plan, guarded, report), bool(guarded.held)
        outcome.events.extend(guarded.events)
        outcome.errors.extend(report.errors)
        if backup_failure is not None:
            outcome.errors.append(backup_failure)
        outcome.retry_after = report.retry_after
        outcome.account_limited = report.account_limited
        outcome.rate_limited = report.rate_limited
        outcome.written = tuple(
            applied.operation
            for applied in report.applied
            if applied.outcome in (WriteOutcome.CONFIRMED, WriteOutcome.UNKNOWN)
        )
        outcome.counts = feature_counts(
            outcome.plan, guarded.held, report, reconciled.verifications,
            unresolved=unresolved_count(guarded, report),
        )  # fmt: skip
        return outcome

    async def _back_up(
        self,
        spec: PairSpec,
        feature: Feature,
        removes: bool,
        reads: Mapping[PairSide, Read],
        now: datetime,
    ) -> str | None:
        """Back both sides up before removals, and weekly; why it could not, if it could not.

        A dry run backs nothing up: it writes nothing.
        """
        if self._backups is None or spec.dry_run:
            return None
        if not removes and not due(await self._backups.last_taken(spec.pair, feature), now):
            return None
        reason = BackupReason.BEFORE_REMOVALS if removes else BackupReason.WEEKLY
        copies = tuple(
            SideCopy(side, reads[side].snapshot.provider, reads[side].snapshot) for side in PairSide
        )
        try:
            await self._backups.keep(Backup(spec.pair, feature, now, reason, copies))
        except BackupError as err:
            if removes:
                return (
                    f"nothing of {feature.value} was written: no backup could be made first: {err}"
                )
            return f"the weekly backup of {feature.value} could not be written: {err}"
        return None

    async def _await_scrobbles(
        self,
        spec: PairSpec,
        providers: Mapping[PairSide, Provider],
        scopes: Mapping[PairSide, Scope],
        pending: Mapping[PairSide, list[PendingWrite]],
        views: Mapping[PairSide, Snapshot],
    ) -> None:
        """Release the scrobbled plays a complete read now shows; count a miss for the rest.

        A dry run changes no record.
        """
        if spec.dry_run:
            return
        for side in PairSide:
            scrobbled = [w for w in pending[side] if w.outcome == SCROBBLED]
            if not scrobbled:
                continue
            verification = verify_pending(
                scrobbled, views[side], providers[side].capabilities.rating_scale,
                phantom_after=spec.phantom_after, play_precision=play_precision(providers[side]),
            )  # fmt: skip
            await self._blocking(
                partial(
                    self._store.settle_pending, scopes[side],
                    verified=verification.verified, missed=verification.missed,
                )
            )  # fmt: skip

    async def _still_settled(  # noqa: PLR0917 - the run's state, named at the call
        self,
        spec: PairSpec,
        marks: Mapping[PairSide, Settled | None],
        reads: Mapping[PairSide, AnyRead],
        pending: Mapping[PairSide, list[PendingWrite]],
        suspicions: Mapping[PairSide, ShrinkSuspicion | None],
        now: datetime,
    ) -> bool:
        """Whether the feature's settled marks hold for these reads (see settle.py)."""
        if any(mark is None for mark in marks.values()):
            return False
        held = await self._blocking(partial(self._store.holds_any, spec.pair))
        return may_skip(
            marks, reads, digest=spec_digest(spec, self._lending), dry_run=spec.dry_run,
            pending=pending, suspicions=suspicions, held=held, now=now,
        )  # fmt: skip

    async def _keep_checkpoints(
        self, scopes: Mapping[PairSide, Scope], reads: Mapping[PairSide, AnyRead], now: datetime
    ) -> None:
        """Where each side's read stood, as a run that records it would keep it."""
        for side, read in reads.items():
            if read.checkpoint is not None:
                kept = replace(read.checkpoint, updated_at=now)
                await self._blocking(partial(self._store.save_checkpoint, scopes[side], kept))

    async def _settle(
        self,
        spec: PairSpec,
        providers: Mapping[PairSide, Provider],
        scopes: Mapping[PairSide, Scope],
        reads: Mapping[PairSide, Read],
        now: datetime,
    ) -> None:
        """Mark both sides settled with the reads this run had nothing to do with."""
        expiry = self._store.next_tombstone_expiry
        expiries = {
            side: await self._blocking(partial(expiry, scopes[side], now)) for side in PairSide
        }
        keys = {side: providers[side].key for side in PairSide}
        digest = spec_digest(spec, self._lending)
        settled = marks(reads, keys, digest=digest, now=now, tombstone_expiries=expiries)
        for side, mark in settled.items():
            await self._blocking(partial(self._store.save_settled, scopes[side], mark))

    async def _hold(
        self, pair: str, held: Iterable[Operation], codes: Iterable[GuardCode], now: datetime
    ) -> None:
        """Keep held operations in the store for the user's decision, grouped by reason."""
        held, codes = list(held), list(codes)
        for code in dict.fromkeys(codes):
            ops = [op for op, why in zip(held, codes, strict=True) if why is code]
            await self._blocking(partial(self._store.hold, pair, ops, reason=code.value, now=now))
