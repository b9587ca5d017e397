"""Stage four of a run: the plan through every guard, with what the store remembers.

Tombstones (not on a mirror, which puts back whatever its target lacks), items the user kept,
writes awaiting verification, items waiting for a retry or quarantined, an account's room,
ratings a watchlist removal would delete, and the delete budget (see guards.apply_guards).
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import partial

from .guards import GuardCode, Guarded, apply_guards, holdouts
from .items import MediaItem
from .payloads import Feature
from .plan import Action, PairSide, Plan
from .planner import SyncMode
from .provider import AuthError, Provider, ProviderError
from .reconcile import Reconciled
from .records import PendingWrite, Scope
from .run_context import RunContext
from .runs import PairSpec
from .snapshot import Snapshot
from .store import StateStore
from .verify import Verification


async def guard(
    ctx: RunContext,
    spec: PairSpec,
    feature: Feature,
    plan: Plan,
    *,
    providers: Mapping[PairSide, Provider],
    scopes: Mapping[PairSide, Scope],
    pending: Mapping[PairSide, list[PendingWrite]],
    reconciled: Reconciled,
    now: datetime,
) -> Guarded:
    """Run the plan through every guard, with what the store remembers about each side.

    The budget is measured against the baselines with our own verified writes; an add whose
    item the other side's last complete read lacked is the user's new intent, which no
    tombstone stops (see Reconciled.last_read). Our own writes there (verified, or shown by a
    partial read) are no intent of the user's: they count as held, as the planner counts them
    (`Reconciled.planned_from`), so a tombstone stops our copy from bringing back what the
    user removed while it was in flight.
    """
    store, blocking = ctx.store, ctx.blocking
    held_out: dict[PairSide, dict[str, GuardCode]] = {}
    tombstones: dict[PairSide, list[MediaItem]] = {}
    kept = {side: await blocking(partial(store.kept, scopes[side])) for side in PairSide}
    for side in PairSide:
        held_out[side] = holdouts(
            await blocking(
                partial(
                    _holdouts,
                    store,
                    scopes[side],
                    pending[side],
                    reconciled.verifications[side],
                    now,
                )
            )
        )
        if spec.mode is not SyncMode.MIRROR:
            # A mirror puts back whatever its target lacks, the user's deletions there
            # included: no tombstone may stop it.
            tombstones[side] = [
                t.item for t in await blocking(partial(store.tombstones, scopes[side], now))
            ]
    sizes = {side: _size(reconciled.baselines[side]) for side in PairSide}
    room = {
        side: max(0, limit - len(reconciled.views[side]))
        for side in PairSide
        if (limit := providers[side].capabilities.limits.get(feature)) is not None
    }
    at_risk = {
        side: await _ratings_at_risk(ctx, providers[side], plan, scopes[side]) for side in PairSide
    }
    return await blocking(
        partial(
            apply_guards, plan, settings=spec.guards, baseline_sizes=sizes,
            tombstones=tombstones, held_out=held_out, kept=kept, room=room,
            ratings_at_risk=at_risk, last_read=reconciled.planned_from,
            landed={
                side: [w.item for w in writes] for side, writes in reconciled.landed.items()
            },
            lingering={
                side: [w.item for w in writes] for side, writes in reconciled.lingering.items()
            },
        )
    )  # fmt: skip


async def _ratings_at_risk(
    ctx: RunContext, provider: Provider, plan: Plan, scope: Scope
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
        checkpoint = await ctx.blocking(partial(ctx.store.checkpoint, ratings_scope))
        ratings = (await ctx.read(provider, Feature.RATINGS, checkpoint)).snapshot
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
