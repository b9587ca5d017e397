"""Stage two of a run: what the pair held at its last sync, and which of our writes landed.

Each side's read (with the baseline standing in where it is partial) is its effective view.
Pending writes are verified against it (only fresh, complete reads verify) and settled in the
store, our own verified writes taken into the stored baseline at once (see settle). The
baselines the planner compares against are the last complete reads, with our own writes that
reads now show taken in: without them, our removal would read as the user's and our add as the
side's news (see verify.own_writes for when a lagging write counts as ours).

A copy of ours that shows only after the user removed its item from the side we copied it from
(the loss believed, so tombstoned, while the copy was in flight) is planned as a copy of what
that side has since lost: the item joins that side's planned-from baseline, so the loss reaches
the copy too (see withdrawn_sources).

What a read still shows of our removal awaiting verification is no evidence the side holds it
(the read may predate the removal): for planning, the side lacks it, in its read and in its
baseline, so the other side's gain of it is carried back rather than matched against a stale
copy and recorded as synced (see verify.still_shown_removals).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from .detect import Observed
from .payloads import Entry
from .plan import Action, PairSide
from .provider import Provider
from .records import PendingWrite, Scope, Tombstone
from .run_context import RunContext
from .runs import PairSpec
from .snapshot import Completeness, Snapshot, effective_view, with_changes, without
from .store import StateStore
from .verify import (
    Verification,
    own_writes,
    shown_by_partial_read,
    still_shown_removals,
    verify_pending,
)


@dataclass(frozen=True, slots=True)
class Reconciled:
    """Per side: what the run knows of it once its read is judged and our writes settled."""

    views: Mapping[PairSide, Snapshot]  # the read, with the baseline where the read is partial
    verifications: Mapping[PairSide, Verification]
    stored: Mapping[PairSide, Snapshot | None]  # the baselines as saved, for diffing
    # What each side's last complete read held, less what a suspect read since lacked and this
    # read shows again: such items may have been regained, and a removal on the other side must
    # not undo that, nor a tombstone stop their way back (guards.judge_shrink).
    last_read: Mapping[PairSide, Snapshot | None]
    baselines: Mapping[PairSide, Snapshot | None]  # last_read with our verified writes
    landed: Mapping[PairSide, tuple[PendingWrite, ...]]  # unverified, yet a partial read shows
    lingering: Mapping[PairSide, tuple[PendingWrite, ...]]  # unverified removals a read shows
    reads: Mapping[PairSide, Snapshot]  # the reads to plan from: less the lingering items
    planned_from: Mapping[PairSide, Snapshot | None]  # baselines with landed, less lingering
    # Regained items (rule 12) the other side's read showed too: in sync, no longer news. The
    # record stage lets the side's shrink suspicion forget them.
    rejoined: Mapping[PairSide, frozenset[str]]


async def reconcile(
    ctx: RunContext,
    spec: PairSpec,
    providers: Mapping[PairSide, Provider],
    scopes: Mapping[PairSide, Scope],
    observed: Mapping[PairSide, Observed],
    *,
    baselines: Mapping[PairSide, Snapshot | None],
    pending: Mapping[PairSide, list[PendingWrite]],
    now: datetime,
) -> Reconciled:
    """Verify and settle pending writes, and work out the baselines to plan from."""
    blocking = ctx.blocking
    snapshots = {side: observed[side].verdict.snapshot for side in PairSide}
    precision = {side: play_precision(providers[side]) for side in PairSide}
    views = {
        side: await blocking(partial(effective_view, snapshots[side], baselines[side]))
        for side in PairSide
    }
    # When the pair's earlier runs read each side whole (verify.own_writes dates our copies by
    # them): a partial read saw too little to have seen our copy go.
    runs = await blocking(partial(ctx.store.run_starts, spec.pair, now))
    earlier_runs = {
        side: tuple(
            run.started_at
            for run in runs
            if run.read_whole(providers[side].name, scopes[side].feature)
        )
        for side in PairSide
    }
    verifications: dict[PairSide, Verification] = {}
    withdrawn: dict[PairSide, list[tuple[PendingWrite, Entry]]] = {}
    held_back: dict[PairSide, tuple[PendingWrite, ...]] = {}
    for side in PairSide:
        verification = await blocking(
            partial(
                verify_pending, pending[side], views[side],
                providers[side].capabilities.rating_scale, phantom_after=spec.phantom_after,
                play_precision=precision[side],
            )
        )  # fmt: skip
        withdrawn[side] = await _withdrawn(
            ctx, verification, views=views, source_scope=scopes[side.other],
            source_baseline=baselines[side.other], play_precision=precision[side], side=side,
            earlier_runs=earlier_runs[side], now=now,
        )  # fmt: skip
        # Only a complete read of the source may carry its loss to our copy (rule 15): until
        # then the copy stays pending, landed (what the side holds when planning, so no news a
        # tombstone would let through). Settled now, it would be the side's own from then on,
        # and the loss would never reach it.
        held_back[side] = (
            () if snapshots[side.other].complete else tuple(w for w, _ in withdrawn[side])
        )
        verifications[side] = replace(
            verification,
            verified=tuple(w for w in verification.verified if w not in held_back[side]),
        )
        if not spec.dry_run:
            ours = own_writes(
                verifications[side].verified, views[side], play_precision=precision[side],
                earlier_runs=earlier_runs[side],
            )  # fmt: skip
            await blocking(
                partial(
                    settle, ctx.store, scopes[side], provider=providers[side].name,
                    verification=verifications[side], ours=ours, view=views[side],
                    founded=baselines[side] is not None, now=now,
                )
            )  # fmt: skip
    # And the mirror image: what a read still shows of our unverified removals, the side is
    # taken to lack, in its read and in its baseline alike (verify.still_shown_removals).
    lingering = {
        side: await blocking(
            partial(still_shown_removals, pending[side], views[side], verifications[side])
        )
        for side in PairSide
    }
    reads = {
        side: await blocking(partial(without, snapshots[side], [w.item for w in lingering[side]]))
        if lingering[side]
        else snapshots[side]
        for side in PairSide
    }
    # Items a side regained (rule 12) that the other side's read shows too: the pair holds them
    # both, so they are in sync, no longer news; a later loss on either side is then carried.
    rejoined = {
        side: await blocking(
            partial(_held_by, observed[side].verdict.returned, baselines[side], reads[side.other])
        )
        for side in PairSide
    }
    last_read = {
        side: await blocking(
            partial(_without, baselines[side], observed[side].verdict.returned - rejoined[side])
        )
        for side in PairSide
    }
    synced = await blocking(
        partial(
            _synced_with_own_writes,
            last_read,
            verifications,
            views,
            precision,
            earlier_runs=earlier_runs,
        )
    )
    # Our unverified adds and updates that a side's partial read itself shows have landed: for
    # planning they are what the side held (our copy is not its news), and the item may be
    # removed again (guards.apply_guards). Unverified, they are neither released nor recorded.
    landed = {
        side: await blocking(
            partial(
                shown_by_partial_read,
                pending[side],
                snapshots[side],
                providers[side].capabilities.rating_scale,
                play_precision=precision[side],
            )
        )
        + held_back[side]
        for side in PairSide
    }
    planned_from = await blocking(
        partial(
            _planned_from,
            synced,
            landed,
            lingering,
            snapshots,
            precision,
            earlier_runs=earlier_runs,
        )
    )
    for side in PairSide:
        source = side.other
        carried = [entry for _, entry in withdrawn[side]] if snapshots[source].complete else []
        if carried and (source_baseline := planned_from[source]) is not None:
            planned_from[source] = with_changes(source_baseline, upserts=carried)
    return Reconciled(
        views, verifications, baselines, last_read, synced, landed, lingering, reads,
        planned_from, rejoined,
    )  # fmt: skip


def settle(
    store: StateStore,
    scope: Scope,
    *,
    provider: str,
    verification: Verification,
    ours: Iterable[PendingWrite],
    view: Snapshot,
    founded: bool,
    now: datetime,
) -> None:
    """Settle a side's pending writes, and take our own verified ones into its stored baseline.

    One transaction, before anything is applied: a read that showed our write is evidence that
    must outlive a run failing after it (a refused sign-in while applying). Were the write
    only released, our copy would be the side's news on the next run, carried back to the
    side the user removed it from; were it only kept pending, a user's removal of it before
    the next read would look like a write that never landed, and be undone.
    """
    with store.transaction():
        store.settle_pending(scope, verified=verification.verified, missed=verification.missed)
        if not founded:
            return  # the side's first baseline is founded by the record stage
        ours = list(ours)
        upserts = [
            shown
            for write in ours
            if write.action is not Action.REMOVE
            and (shown := view.find(write.item, include_local=True)) is not None
        ]
        removed = [write.item for write in ours if write.action is Action.REMOVE]
        if upserts or removed:
            store.save_baseline(scope, provider, upserts=upserts, removed=removed, saved_at=now)


async def _withdrawn(
    ctx: RunContext,
    verification: Verification,
    *,
    views: Mapping[PairSide, Snapshot],
    source_scope: Scope,
    source_baseline: Snapshot | None,
    play_precision: timedelta | None,
    side: PairSide,
    earlier_runs: Sequence[datetime],
    now: datetime,
) -> list[tuple[PendingWrite, Entry]]:
    """Our copies on `side`, shown now, whose source lost the item since we sent them (rule 15).

    Lagging copies (complete reads missed them), and copies no complete read could show until
    now (the side's reads since were partial): either way the source's loss was believed while
    the copy was out of sight. And copies of a gain the source lost before any run settled it.
    """
    shown = own_writes(
        verification.verified, views[side], play_precision=play_precision,
        earlier_runs=earlier_runs,
    )  # fmt: skip
    if not shown:
        return []
    tombstones = await ctx.blocking(partial(ctx.store.tombstones, source_scope, now))
    return await ctx.blocking(
        partial(
            withdrawn_sources, shown, tombstones, views[side.other], source_baseline=source_baseline
        )
    )


def withdrawn_sources(
    shown_now: Iterable[PendingWrite],
    tombstones: Iterable[Tombstone],
    source_view: Snapshot,
    *,
    source_baseline: Snapshot | None,
) -> list[tuple[PendingWrite, Entry]]:
    """What the source side held of our copies shown only now, and has lost since we sent them.

    `shown_now` are our own writes to one side shown only now (verify.own_writes), after complete
    reads missed them or partial reads could not show them; `tombstones` are the other side's,
    the side we copied them from, and `source_baseline` its baseline as stored. Two ways the
    source lost an item while our copy of it was in flight, and its baseline moved on without
    it, so that nothing would carry the loss to the copy:
    - its loss was believed (a tombstone dated after our write): then the destination lacked
      the item, so nothing was planned there;
    - the gain we copied was never settled into its baseline (record.unsettled_gains: our
      removal of the item on the destination still awaited verification), and the source lost
      it before a run could settle it. Without this, the copy would read as the destination's
      own news, and be carried back to the source the user removed it from.
    Planned from again as the source's (with the payload we copied), the loss is carried to the
    copy, as for any item both sides held at the sync. A copy that never shows changes nothing.
    """
    loss_by_token: dict[str, Tombstone] = {}
    for tombstone in tombstones:
        for text in (tombstone.item.key, *tombstone.item.tokens):
            loss_by_token[text] = tombstone
    withdrawn: list[tuple[PendingWrite, Entry]] = []
    for write in shown_now:
        if write.action is Action.REMOVE or write.payload is None:
            continue
        if source_view.find(write.item, include_local=True) is not None:
            continue  # the source holds it (again): nothing was lost
        loss = next(
            (t for text in (write.item.key, *write.item.tokens) if (t := loss_by_token.get(text))),
            None,
        )
        if loss is not None and loss.removed_at >= write.written_at:
            withdrawn.append((write, Entry(loss.item, write.payload)))
        elif (
            source_baseline is not None
            and source_baseline.find(write.item, include_local=True) is None
        ):
            withdrawn.append((write, Entry(write.item, write.payload)))
    return withdrawn


def _held_by(
    returned: frozenset[str], baseline: Snapshot | None, other_read: Snapshot
) -> frozenset[str]:
    """Those of a side's returned baseline keys whose items the other side's read shows."""
    if not returned or baseline is None:
        return frozenset()
    return frozenset(
        key
        for key in returned
        if (entry := baseline.entries.get(key)) is not None
        and other_read.find(entry.item) is not None
    )


def _without(baseline: Snapshot | None, keys: frozenset[str]) -> Snapshot | None:
    """A baseline less the entries under `keys`."""
    if baseline is None or not keys:
        return baseline
    return with_changes(baseline, removed=[baseline.entries[k].item for k in keys])


def play_precision(provider: Provider) -> timedelta | None:
    """How closely a side that keeps every play matches play times (None: it keeps none)."""
    history = provider.capabilities.history
    return history.precision if history.multiple_plays else None


def _synced_with_own_writes(
    last_read: Mapping[PairSide, Snapshot | None],
    verifications: Mapping[PairSide, Verification],
    views: Mapping[PairSide, Snapshot],
    play_precision: Mapping[PairSide, timedelta | None],
    *,
    earlier_runs: Mapping[PairSide, Sequence[datetime]],
) -> dict[PairSide, Snapshot | None]:
    """What the pair held at the last sync: each side's last read with our verified writes.

    A side no complete read has founded a baseline for yet still held our copies that show on
    it now: they were written there at the sync, so a loss the other side made since reaches
    them (rule 15), and they are not taken for the side's own news.
    """
    synced: dict[PairSide, Snapshot | None] = {}
    for side in PairSide:
        ours = own_writes(
            verifications[side].verified, views[side], play_precision=play_precision[side],
            earlier_runs=earlier_runs[side],
        )  # fmt: skip
        baseline = last_read[side]
        if baseline is None and any(w.action is not Action.REMOVE for w in ours):
            view = views[side]
            baseline = Snapshot.build(view.provider, view.feature, (), Completeness(all_pages=True))
        synced[side] = _with_own_writes(baseline, ours)
    return synced


def _planned_from(
    baselines: Mapping[PairSide, Snapshot | None],
    landed: Mapping[PairSide, tuple[PendingWrite, ...]],
    lingering: Mapping[PairSide, tuple[PendingWrite, ...]],
    snapshots: Mapping[PairSide, Snapshot],
    play_precision: Mapping[PairSide, timedelta | None],
    *,
    earlier_runs: Mapping[PairSide, Sequence[datetime]],
) -> dict[PairSide, Snapshot | None]:
    """The baselines to plan from: with our landed writes, less what our removals took away.

    Landed: our writes a partial read shows. Taken away: what a read still shows of our
    removals awaiting verification (no news of the side's, see verify.still_shown_removals).
    """
    planned: dict[PairSide, Snapshot | None] = {}
    for side in PairSide:
        baseline = baselines[side]
        if landed[side]:
            baseline = _with_own_writes(
                baseline,
                own_writes(
                    landed[side],
                    snapshots[side],
                    play_precision=play_precision[side],
                    earlier_runs=earlier_runs[side],
                ),
            )
        if lingering[side] and baseline is not None:
            baseline = with_changes(baseline, removed=[w.item for w in lingering[side]])
        planned[side] = baseline
    return planned


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
