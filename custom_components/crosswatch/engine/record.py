"""Stage six of a run: what it observed becomes each side's baseline, and its counts.

Only a complete view replaces a baseline; a partial one only adds what it did show. Items gone
since the baseline that our own verified removals do not explain were deleted by the user and
get a tombstone. The baseline is rewritten only after the writes were applied (as Unison
rewrites its archive only after propagation), row by row, in one transaction.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial

from .applier import ApplyReport
from .cursor import Checkpoint
from .detect import Observed
from .guards import GuardSettings
from .items import MediaItem
from .payloads import Entry
from .plan import Action, PairSide, Plan
from .provider import Provider, WriteOutcome
from .reconcile import Reconciled
from .records import Scope
from .run_context import RunContext
from .runs import FeatureCounts, PairSpec
from .snapshot import Snapshot
from .store import StateStore
from .verify import Verification


async def record(  # noqa: PLR0917 - one stage's hand-offs, named at the call
    ctx: RunContext,
    spec: PairSpec,
    providers: Mapping[PairSide, Provider],
    scopes: Mapping[PairSide, Scope],
    observed: Mapping[PairSide, Observed],
    reconciled: Reconciled,
    now: datetime,
) -> bool:
    """Remember what the run observed of each side: shadows, learned ids, the baseline.

    Returns whether that changed anything the next run plans from (settle.py: a run that
    changed nothing may settle its feature).
    """
    store, blocking, views = ctx.store, ctx.blocking, reconciled.views
    changed = False
    for side in PairSide:
        shadowed = observed[side].shadowed
        changed = changed or bool(reconciled.rejoined[side] or shadowed.expired or shadowed.absent)
        if reconciled.rejoined[side]:
            await blocking(partial(forget_rejoined, store, scopes[side], reconciled.rejoined[side]))
        await blocking(
            partial(
                store.settle_shadows, scopes[side],
                expired=observed[side].shadowed.expired, absent=observed[side].shadowed.absent,
            )
        )  # fmt: skip
        unsettled = await blocking(
            partial(
                unsettled_gains, views[side], reconciled.baselines[side],
                other_read=reconciled.reads[side.other], other_view=views[side.other],
                other_lingering=bool(reconciled.lingering[side.other]),
            )
        )  # fmt: skip
        persisted = await blocking(
            partial(
                persist_side, store, scopes[side], provider=providers[side],
                baseline=reconciled.stored[side], view=views[side],
                learned=observed[side].learned, unsettled=unsettled,
                checkpoint=observed[side].read.checkpoint,
                verification=reconciled.verifications[side], guards=spec.guards, now=now,
                founds_on_empty=observed[side].founds_on_empty,
            )
        )  # fmt: skip
        changed = changed or persisted
    return changed


def forget_rejoined(store: StateStore, scope: Scope, rejoined: frozenset[str]) -> None:
    """Let a side's shrink suspicion forget items found back on both sides (in sync again).

    Left there, they would be read as regained once more when the suspicion is judged, and a
    removal the other side made since would be undone instead of carried (rule 12).
    """
    with store.transaction():
        suspicion = store.shrink_suspicion(scope)
        if suspicion is None:
            return
        settled = suspicion.missing & rejoined
        if not settled and not suspicion.regained & rejoined:
            return
        store.save_shrink_suspicion(
            scope,
            replace(
                suspicion,
                missing=suspicion.missing - rejoined,
                seen=suspicion.seen + len(settled),
                regained=suspicion.regained - rejoined,
            ),
        )


def unsettled_gains(
    view: Snapshot,
    baseline: Snapshot | None,
    *,
    other_read: Snapshot,
    other_view: Snapshot,
    other_lingering: bool = False,
) -> frozenset[str]:
    """This side's gains that the other side holds only on its baseline's word, or a stale read's.

    `baseline` is this side's as the planner saw it (with our own verified writes: those are
    not gains). `other_read` is the other side's read as planned from: less what our removals
    awaiting verification took away, though the read still shows it (`other_lingering` says
    whether there were any; see verify.still_shown_removals).

    While the other side's read is partial, its baseline stands in for what the read did not
    show, so a gain here matches a copy there that may be gone: nothing is planned for it. Were
    it recorded as synced, the other side's loss, once believed, would be carried here and
    undo the gain. The same holds for a copy there our removal took away: the gain was planned
    to it, and should that write not land, the removal's verification would read as the other
    side's loss. Left out of the baseline, the gain is still news on the next run.
    """
    if (other_read.complete and not other_lingering) or baseline is None:
        return frozenset()  # no baseline: what the side holds is where it starts, not news
    return frozenset(
        key
        for key, entry in view.entries.items()
        if baseline.find(entry.item, include_local=True) is None
        and other_read.find(entry.item) is None
        and other_view.find(entry.item) is not None
    )


def persist_side(
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
) -> bool:
    """Make what this run observed the side's baseline, incrementally, in one transaction.

    Returns whether anything the next run plans from changed (the baseline, learned ids), or
    may have: a side with no baseline, or a partial view, never counts as unchanged.

    Only a complete view replaces the baseline: a partial or suspect one leaves it standing.
    Items gone since the baseline that our own verified removals do not explain were deleted by
    the user: they get a tombstone.

    What a partial read did show of items the baseline lacks joins it (nothing ever leaves it on
    a partial read): those items were there, and whatever this run copied of them to the other
    side must not come back as news should the user remove them before a complete read (the
    drop guard judges that loss like any other).

    `unsettled` are gains (see unsettled_gains) that stay out of the baseline: they remain
    news until the other side is seen to share them or to have lost them.
    """
    if learned:
        store.save_learned_ids(scope, dict(learned))
    if baseline is None and not view.entries and not founds_on_empty:
        # No baseline is founded on one empty answer: on a first read it may be the classic
        # hiccup with nothing to compare it with. The side stays on its first run (no
        # removals) until it shows items, or a second, fresh read agrees it holds nothing.
        return True
    # An unsettled gain the stored baseline still holds (regained, rule 12: the suspect read
    # that lacked it never replaced the baseline) leaves it, without a tombstone: otherwise it
    # would read as held all along, and the other side's loss would undo it.
    stored = baseline.entries if baseline is not None else {}
    news = [stored[key].item for key in unsettled if key in stored]
    if not view.complete:
        seen = [
            entry
            for key, entry in view.entries.items()
            if key not in unsettled
            and (baseline is None or baseline.find(entry.item, include_local=True) is None)
        ]
        if seen or news:
            store.save_baseline(scope, provider.name, upserts=seen, removed=news, saved_at=now)
        return True
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
            scope,
            provider.name,
            upserts=upserts,
            removed=[*removed, *rekeyed, *news],
            saved_at=now,
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
    return bool(learned or upserts or removed or rekeyed or news or baseline is None)


def feature_counts(
    plan: Plan,
    held: tuple[object, ...],
    report: ApplyReport,
    verifications: Mapping[PairSide, Verification],
    *,
    unresolved: int,
) -> FeatureCounts:
    """What one feature planned and did, for the run's result.

    `plan` is the plan as the run reports it (reported.py): planned counts what it writes;
    `unresolved` what it could not, the target unable to take the items.
    """
    writable = [op for op in plan.operations if op.action is not Action.CONFLICT]
    return FeatureCounts(
        planned=len(writable),
        applied=report.count(WriteOutcome.CONFIRMED) + report.count(WriteOutcome.UNKNOWN),
        held=len(held),
        unresolved=unresolved,
        rejected=report.count(WriteOutcome.REJECTED),
        phantoms=sum(len(v.phantoms) for v in verifications.values()),
        errors=len(report.errors),
    )
