"""Stage one of a run: read both sides and judge what each read may be believed for.

Each side is read through the shared memo (afresh when a shrink is suspected or our writes await
verification), lent ids (shadows, the id map, the other side), and judged by the drop guard
(guards.judge_shrink): a read that lost items is read again, afresh, and a confirmed shrink must
also agree with the service's own count where it keeps one. What comes out says, per side, what
the read showed and whether it may count as complete.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from .backfill import IdMap, backfill
from .guards import GuardSettings, ShrinkVerdict, judge_shrink, not_confirmed, overruled
from .items import MediaItem
from .payloads import Feature
from .plan import Action, PairSide
from .planner import SyncMode
from .provider import AnyRead, AuthError, CountWitness, Provider, ProviderError, Read
from .records import PendingWrite, Scope, ShrinkSuspicion
from .run_context import RunContext
from .run_tally import FeatureOutcome, ReadFailedError
from .runs import IncompleteRead, PairSpec
from .shadow import ShadowedView, apply_shadows
from .snapshot import Semantics, Snapshot, effective_view
from .store import StateStore


async def read_sides(
    ctx: RunContext,
    providers: Mapping[PairSide, Provider],
    feature: Feature,
    scopes: Mapping[PairSide, Scope],
    fresh: Mapping[PairSide, bool],
) -> dict[PairSide, AnyRead]:
    """Both sides' reads (through the memo); a failed read raises naming its provider.

    A side in `fresh` is read afresh from the service itself, past the memo and every cache
    and ETag of the provider: only such a read may confirm a shrink or verify a write. Reads
    come as their providers hand them back, packed or not: a run that settles never unpacks.
    """
    reads = {}
    for side, provider in providers.items():
        checkpoint = await ctx.blocking(partial(ctx.store.checkpoint, scopes[side]))
        if fresh[side]:
            ctx.bust(provider, feature, everything=True)
        try:
            reads[side] = await ctx.memo.read(provider, feature, checkpoint)
        except AuthError as err:
            err.provider = err.provider or provider.key
            raise
        except ProviderError as err:
            raise ReadFailedError(provider, err) from err
    return reads


async def observe_sides(
    ctx: RunContext,
    spec: PairSpec,
    providers: Mapping[PairSide, Provider],
    scopes: Mapping[PairSide, Scope],
    reads: Mapping[PairSide, Read],
    *,
    baselines: Mapping[PairSide, Snapshot | None],
    pending: Mapping[PairSide, list[PendingWrite]],
    suspicions: Mapping[PairSide, ShrinkSuspicion | None],
    outcome: FeatureOutcome,
    now: datetime,
) -> dict[PairSide, Observed]:
    """Each side's read with lent ids, judged by the drop guard; suspicions remembered.

    A side whose read lost items is read a second time, afresh, for the drop guard to
    compare (see guards.judge_shrink): no single read removes anything.
    """
    store, blocking = ctx.store, ctx.blocking
    observed: dict[PairSide, Observed] = {}
    # A mirror's source is judged last: its absences are measured against the target as
    # observed (ids lent), because that is what the planner will remove.
    order = (PairSide.B, PairSide.A) if spec.mode is SyncMode.MIRROR else tuple(PairSide)
    for side in order:
        owed = None
        if spec.mode is SyncMode.MIRROR and side is PairSide.A:
            # Measured against the target as the planner will see it: where the target's read
            # is partial or doubted, its baseline stands in, and those items can be removed too.
            target = await blocking(
                partial(
                    effective_view, observed[side.other].verdict.snapshot, baselines[side.other]
                )
            )
            buried = [t.item for t in await blocking(partial(store.tombstones, scopes[side], now))]
            owed = await blocking(
                partial(
                    owed_to_target, store, scopes[side.other], spec.pair, target,
                    pending[side.other], lost=buried,
                )
            )  # fmt: skip
        observe = partial(
                observe_side, store, scopes[side], other=reads[side.other].snapshot,
            id_map=ctx.id_map, guards=spec.guards, baseline=baselines[side],
            pending=pending[side], suspected=suspicions[side], now=now, owed=owed,
        )  # fmt: skip
        observed[side] = await blocking(partial(observe, reads[side]))
        if baselines[side] is None and answered_nothing(observed[side]):
            # A baseline founded on an empty answer needs a second, fresh one to agree: a
            # first read has nothing to tell the classic hiccup by.
            again = await read_again(ctx, providers[side], scopes[side], reads[side])
            if isinstance(again, Read):
                observed[side] = await blocking(partial(observe, again))
                empty = answered_nothing(observed[side])
                observed[side] = replace(observed[side], founds_on_empty=empty)
        first = observed[side].verdict
        if first.unconfirmed is not None:
            second = await read_again(ctx, providers[side], scopes[side], reads[side])
            if isinstance(second, Read):
                lost = first.unconfirmed.missing
                observed[side] = await blocking(partial(observe, second, first_lost=lost))
            else:
                why = f"a second read to confirm it failed ({second})"
                observed[side] = replace(observed[side], verdict=not_confirmed(first, side, why))
        verdict = observed[side].verdict
        if verdict.confirmed is not None:
            verdict = await cross_examine(providers[side], verdict, side)
            observed[side] = replace(observed[side], verdict=verdict)
        if verdict.event is not None:
            outcome.events.append(verdict.event)
        if not spec.dry_run and verdict.suspicion != suspicions[side]:
            await blocking(partial(store.save_shrink_suspicion, scopes[side], verdict.suspicion))
        if not verdict.snapshot.complete:
            outcome.incomplete.append(incomplete_read(providers[side], verdict))
    return observed


async def read_again(
    ctx: RunContext, provider: Provider, scope: Scope, first: Read
) -> Read | ProviderError:
    """A fresh read of a side, past the memo and the provider's caches, or why it failed."""
    ctx.bust(provider, scope.feature, everything=True)
    try:
        return await ctx.read(provider, scope.feature, first.checkpoint)
    except AuthError as err:
        err.provider = err.provider or provider.key
        raise
    except ProviderError as err:
        return err


@dataclass(frozen=True, slots=True)
class Observed:
    """One side's read, with shadows and backfilled ids applied and the drop guard's verdict."""

    read: Read  # as the provider gave it (the second one, when the side was read twice)
    shadowed: ShadowedView
    learned: Mapping[str, tuple[str, ...]]
    verdict: ShrinkVerdict
    # A side with no baseline yet whose two fresh reads both answered nothing: its baseline
    # may be founded on that (see record.persist_side).
    founds_on_empty: bool = False


def answered_nothing(observed: Observed) -> bool:
    """Whether a read is complete, present and empty."""
    snapshot = observed.verdict.snapshot
    return snapshot.complete and snapshot.semantics is Semantics.PRESENT and not snapshot.entries


def observe_side(
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
) -> Observed:
    """One read with shadows and lent ids applied, judged by the drop guard."""
    # Shadows lend source ids to destination items that have none (see shadow.py); the backfill
    # lends ids from the mapping table and the other side (see backfill.py).
    shadowed = apply_shadows(read.snapshot, store.shadows(scope))
    filled = backfill(shadowed.snapshot, known=store.learned_ids(scope), id_map=id_map, other=other)
    verdict = judge_shrink(
        filled.snapshot, baseline, ours=[w.item for w in pending if w.action is Action.REMOVE],
        suspected=suspected, settings=guards, side=PairSide(scope.side), now=now,
        first_lost=first_lost, owed=owed,
    )  # fmt: skip
    return Observed(read, shadowed, filled.learned, verdict)


def owed_to_target(
    store: StateStore,
    target: Scope,
    pair: str,
    snapshot: Snapshot,
    pending: Iterable[PendingWrite],
    *,
    lost: Iterable[MediaItem] = (),
) -> dict[str, MediaItem]:
    """What a mirror's target holds that the source's absence alone would remove.

    Only items linked by external ids can be removed; what our own decisions already explain
    is left out: removals we sent and have not seen verified, removals held for the user's
    approval, and removals the user rejected. Else a side waiting on the user would be judged
    anew, and found suspect, on every run. So are items the source's `lost` (its tombstones)
    name: their loss was believed on an earlier complete read, and our copy of one that shows
    only now (it was in flight) is not a new absence to doubt the source for.
    """
    decided = [w.item for w in pending if w.action is Action.REMOVE]
    decided += lost
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


async def cross_examine(
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


def incomplete_read(provider: Provider, verdict: ShrinkVerdict) -> IncompleteRead:
    """How to tell the user that a side's read did not count as complete."""
    snapshot, suspicion = verdict.snapshot, verdict.suspicion
    if suspicion is not None and verdict.event is not None:
        return IncompleteRead(
            provider.name, snapshot.feature, verdict.event.detail, suspicion.expected,
            suspicion.seen, suspect=True,
        )  # fmt: skip
    evidence = snapshot.completeness
    return IncompleteRead(
        provider.name, snapshot.feature, evidence.describe(), evidence.expected_total,
        evidence.seen_total,
    )  # fmt: skip
