"""Guards: the checks between a plan and the writes that hold back what evidence cannot justify.

Each guard is on by default, configurable per pair, and reports what it did with a reason code,
so that a run result can say why an operation did not happen.

- Drop guard (`judge_shrink`): a complete read that lost sharply against its baseline (or came
  back without any of it), beyond what our own removals explain, is suspect until a fresh read
  in a later run agrees. Until then it is downgraded to partial, so the baseline stands in for
  it (see `effective_view`) and nothing is removed or held because of it. Activity timestamps
  are never evidence for a shrink: our own writes and unrelated changes move them too.
- Mass-delete budget: at most max(5, 2 % of the baseline) removals per side per run. Removals
  beyond it are held for the user to approve or reject. It fails closed: with no baseline size
  the floor applies.
- Tombstones: an item deleted on a side is not added back to it while its tombstone lives,
  unless the user added it anew on the other side since the last sync.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
import math
from types import MappingProxyType

from .items import MediaItem, weak_key
from .payloads import Payload, dated_at
from .plan import Action, Operation, PairSide, Plan
from .records import RETRY_BACKOFF, ShrinkSuspicion
from .snapshot import Semantics, Snapshot, partial
from .wording import count_of


class GuardCode(StrEnum):
    """What a guard did."""

    SNAPSHOT_SUSPECT = "snapshot_suspect"  # a shrink one read cannot prove: nothing removed
    SHRINK_CONFIRMED = "shrink_confirmed"  # the reads of a later run agreed: the shrink is real
    READ_AGAIN = "read_again"  # a read lost items a second, fresh read showed: it was not used
    OVER_DELETE_BUDGET = "over_delete_budget"
    TOMBSTONED = "tombstoned"
    PENDING_VERIFICATION = "pending_verification"
    UNRESOLVED_BACKOFF = "unresolved_backoff"
    QUARANTINED = "quarantined"
    PHANTOM = "phantom"
    KEPT_BY_USER = "kept_by_user"
    ACCOUNT_LIMIT = "account_limit"  # the account's plan allows no more items
    RATING_AT_RISK = "rating_at_risk"  # the removal would also delete the item's rating


_HOLDOUT_TEXT = MappingProxyType(
    {
        GuardCode.PENDING_VERIFICATION: "written earlier and not yet shown by {name}",
        GuardCode.UNRESOLVED_BACKOFF: "rejected by {name} earlier; retried later",
        GuardCode.QUARANTINED: "failing on {name} repeatedly; in quarantine",
        GuardCode.PHANTOM: "accepted by {name} but never shown: phantoms",
        GuardCode.KEPT_BY_USER: "kept on {name}: their removal was rejected",
        GuardCode.ACCOUNT_LIMIT: "not added: {name} is at its account limit",
    }
)


# Why a guard kept one operation from being written, for the plan's notes (reported.py).
_KEPT_BACK_TEXT = MappingProxyType(
    {
        GuardCode.TOMBSTONED: "deleted on {name} earlier; not added back",
        GuardCode.RATING_AT_RISK: "removing it from {name} would also delete its rating",
        GuardCode.OVER_DELETE_BUDGET: "more removals from {name} than one run may make",
    }
)


def holdout_text(code: GuardCode, name: str) -> str:
    """Why an operation on the side called `name` was set aside or held, in plain words."""
    text = _HOLDOUT_TEXT.get(code) or _KEPT_BACK_TEXT.get(code) or code.value.replace("_", " ")
    return text.format(name=name)


def holdouts(items: Iterable[tuple[MediaItem, GuardCode]]) -> dict[str, GuardCode]:
    """Index items that must not be written this run by their key and every token."""
    index: dict[str, GuardCode] = {}
    for item, code in items:
        for text in (item.key, *item.tokens, *item.local_tokens):
            index.setdefault(text, code)
    return index


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """A pair's guard settings; the defaults are what a new pair gets."""

    drop_guard: bool = True
    drop_threshold: float = 0.10  # a shrink by more than this share of the baseline is suspect
    # ... when it is also at least this many items. One: a lie that hides an item of a small
    # list is no less a lie. A removal within the threshold of a list (one of ten or more items)
    # goes through once both reads of the run agree on it; anything more waits for the next run.
    drop_minimum: int = 1
    delete_budget: bool = True
    delete_floor: int = 5
    delete_share: float = 0.02
    tombstone_ttl: timedelta = timedelta(days=30)
    retry_backoff: tuple[timedelta, ...] = RETRY_BACKOFF  # waits before retrying a rejection
    quarantine_after: int = 3  # failed writes in a row that put an item in the blackbox
    quarantine_for: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class GuardEvent:
    """One thing a guard did, for the plan and the run result."""

    code: GuardCode
    side: PairSide
    count: int
    detail: str


@dataclass(frozen=True, slots=True)
class Guarded:
    """A plan after the guards: what may be written, what is held, what was set aside."""

    plan: Plan
    held: tuple[Operation, ...] = ()
    held_codes: tuple[GuardCode, ...] = ()  # why each held operation is held
    suppressed: tuple[Operation, ...] = ()
    events: tuple[GuardEvent, ...] = field(default=())
    suppressed_codes: tuple[GuardCode, ...] = ()  # why each suppressed operation is set aside


@dataclass(frozen=True, slots=True)
class ShrinkVerdict:
    """What the drop guard made of a complete read: believed, or suspect until confirmed."""

    snapshot: Snapshot  # the read to plan with: as read, or downgraded to partial
    event: GuardEvent | None
    # What to remember for the next run: the shrink that awaits a confirming read, or None.
    suspicion: ShrinkSuspicion | None
    # A shrink this read confirmed, which a second witness (the service's own count) may still
    # overrule; see `overruled`.
    confirmed: ShrinkSuspicion | None = None
    # A first read that lost items: what it lost, for a second, fresh read to agree on.
    unconfirmed: ShrinkSuspicion | None = None
    # Baseline keys a suspect read of an earlier run lacked and this believed read shows again.
    # Nobody can tell whether the side kept them or lost and regained them; the planner reads
    # them as regained (see `judge_shrink`), so that their return never removes anything.
    returned: frozenset[str] = frozenset()


def judge_shrink(
    snapshot: Snapshot,
    baseline: Snapshot | None,
    *,
    ours: Iterable[MediaItem],
    suspected: ShrinkSuspicion | None,
    settings: GuardSettings,
    side: PairSide,
    now: datetime,
    first_lost: frozenset[str] | None = None,
    owed: Mapping[str, MediaItem] | None = None,
) -> ShrinkVerdict:
    """Believe a read's losses only on evidence that no provider quirk can fake alone.

    - What a read lost is measured against what it should show: the baseline less `ours`, the
      removals we sent ourselves and have not yet seen verified (after the user approves 25
      held removals, an emptied side is the result, not a hiccup). An item still shown under
      its title and year (a rescan gave it a new local id) is not lost.
    - Activity timestamps, totals and ETags are not evidence here: they move with our own
      writes and with unrelated changes, and say nothing of what was removed.
    - No loss is believed from one read. A first read that lost anything asks for a second,
      fresh read of the side in the same run (`unconfirmed`); `first_lost` is what the first
      read lost, when this is that second read. The two must agree: a second read that lost
      something the first did not makes the side partial for this run.
    - A loss the two reads agree on is believed, unless it is beyond the drop threshold or
      takes everything. Such a shrink is suspect: the read is downgraded to partial (its
      baseline stands in, so it removes nothing and holds nothing) and the loss is remembered
      in `suspicion`. It is believed when the reads of a later run miss the same items. A loss
      on top of it that is itself beyond the threshold waits for its own confirmation.
    - A read that is partial anyway keeps the suspicion as it was; a believed read clears it.
    - Items the suspect read lacked that a believed read shows again are `returned`: the side
      may have kept them all along, or the user may have removed and added them again. Read as
      kept, a removal made meanwhile on the other side would be carried here and undo the
      user's new add; read as regained, the worst case re-adds what the other side removed.
      Keeping loses nothing, so they are read as regained.
    - `owed` is what another side holds that this side's absence alone would remove (a mirror's
      target items, keyed as that side keys them, less our own removals there). An owed item
      this read lacks counts as lost: a mirror's removals rest on the source's absences, and
      a tiny answer that looks complete must not remove more than an empty one could.
    """
    if not settings.drop_guard or baseline is None or snapshot.semantics is not Semantics.PRESENT:
        return ShrinkVerdict(snapshot, None, None)
    # What an earlier suspicion lacked and this read shows is there, however the read's own
    # absences are judged: a doubted or partial read is doubted for what it lacks only.
    returned = _returned(suspected, snapshot, baseline)
    if not snapshot.completeness.complete:
        return ShrinkVerdict(snapshot, None, suspected, returned=returned)
    gone, explained = _gone(snapshot, baseline, ours)
    owed_gone, owed_beyond_baseline = _owed_absent(snapshot, baseline, owed or {})
    gone += owed_gone
    missing = _not_even_by_title(gone, snapshot) if gone else frozenset[str]()
    healed = _healed(snapshot, side, first_lost, missing)
    if not missing:
        return ShrinkVerdict(snapshot, healed, None, returned=returned)
    expected = len(baseline) - explained + owed_beyond_baseline
    # A suspicion this read raises replaces the earlier one: it carries what that one lacked
    # and this read shows again, so no later verdict forgets it came back.
    shrink = ShrinkSuspicion(missing, expected, expected - len(missing), now, returned)
    if first_lost is None:
        return ShrinkVerdict(snapshot, None, suspected, unconfirmed=shrink, returned=returned)
    if not missing <= first_lost:
        why = "while two reads of this run disagree"
        return _doubted(snapshot, shrink, side, why, suspected, returned=returned)
    if not _suspect(len(missing), expected, settings):
        return ShrinkVerdict(snapshot, healed, None, returned=returned)
    unconfirmed = missing - suspected.missing if suspected is not None else missing
    if not _suspect(len(unconfirmed), expected, settings):
        detail = (
            f"{snapshot.provider} {snapshot.feature.value}: {len(missing)} of"
            f" {count_of(expected, 'item')} {'is' if len(missing) == 1 else 'are'} gone since the"
            " last sync; the reads of two runs agree"
        )
        event = GuardEvent(GuardCode.SHRINK_CONFIRMED, side, len(missing), detail)
        return ShrinkVerdict(snapshot, event, None, shrink, returned=returned)
    why = "unless the reads of the next run agree"
    return _doubted(snapshot, shrink, side, why, shrink, returned=returned)


def _returned(
    suspected: ShrinkSuspicion | None, snapshot: Snapshot, baseline: Snapshot
) -> frozenset[str]:
    """Baseline items an earlier suspect read lacked and this read shows again, added anew.

    What the suspicions it replaced had seen come back (`regained`) counts too. An item shown
    with the very dated payload the baseline holds (listed, last played or rated at the same
    moment, by the provider's own clock) was never removed: a removal and a new add would have
    dated it anew. The suspect read hid it, so it is kept, not regained.
    """
    if suspected is None:
        return frozenset()
    return frozenset(
        key
        for key in suspected.missing | suspected.regained
        if (entry := baseline.entries.get(key)) is not None
        and (shown := snapshot.find(entry.item, include_local=True)) is not None
        and not _same_dated(entry.payload, shown.payload)
    )


def _same_dated(kept: Payload, shown: Payload) -> bool:
    """Whether `shown` is `kept` itself: equal, and dated by the provider."""
    return dated_at(kept) is not None and shown == kept


def _healed(
    snapshot: Snapshot, side: PairSide, first_lost: frozenset[str] | None, missing: frozenset[str]
) -> GuardEvent | None:
    """The note that a second read showed items the first lost, so the first was not used."""
    if first_lost is None or len(missing) >= len(first_lost):
        return None
    shown = len(first_lost) - len(missing)
    detail = (
        f"{snapshot.provider} {snapshot.feature.value}: a first read lacked {len(first_lost)}"
        f" items; a second, fresh read showed {shown} of them, so the first was not used"
    )
    return GuardEvent(GuardCode.READ_AGAIN, side, shown, detail)


def not_confirmed(verdict: ShrinkVerdict, side: PairSide, why: str) -> ShrinkVerdict:
    """A first read's loss that no second read could be had to confirm: partial this run."""
    if verdict.unconfirmed is None:
        return verdict
    remember, returned = verdict.suspicion, verdict.returned
    return _doubted(
        verdict.snapshot, verdict.unconfirmed, side, f"while {why}", remember, returned=returned
    )


def overruled(verdict: ShrinkVerdict, side: PairSide, why: str) -> ShrinkVerdict:
    """A confirmed shrink that a second witness (the service's own count) does not back.

    It is suspect again: nothing is removed, and the next run asks both witnesses anew.
    """
    if verdict.confirmed is None:
        return verdict
    shrink = verdict.confirmed
    return _doubted(
        verdict.snapshot, shrink, side, f"while {why}", shrink, returned=verdict.returned
    )


def _doubted(
    snapshot: Snapshot,
    shrink: ShrinkSuspicion,
    side: PairSide,
    until: str,
    remember: ShrinkSuspicion | None,
    *,
    returned: frozenset[str],
) -> ShrinkVerdict:
    """The verdict on a read whose loss is not believed: partial, with `remember` kept.

    What it shows of an earlier suspicion's items is still `returned`: only its absences are
    in doubt.
    """
    detail = (
        f"{snapshot.provider} {snapshot.feature.value}: read {shrink.seen} of the"
        f" {count_of(shrink.expected, 'item')} expected from the last sync; the"
        f" {len(shrink.missing)} missing {'is' if len(shrink.missing) == 1 else 'are'} not"
        f" removed anywhere {until}"
    )
    suspect = replace(snapshot, completeness=partial(f"suspect: {detail}"))
    event = GuardEvent(GuardCode.SNAPSHOT_SUSPECT, side, len(shrink.missing), detail)
    return ShrinkVerdict(suspect, event, remember, returned=returned)


def _gone(
    snapshot: Snapshot, baseline: Snapshot, ours: Iterable[MediaItem]
) -> tuple[list[tuple[str, MediaItem]], int]:
    """Baseline items the read shows under none of their ids, less our own removals.

    Also returns how many of the baseline our own removals explain: those are expected gone.
    """
    explained = {entry.key for item in ours if (entry := baseline.find(item, include_local=True))}
    gone = [
        (key, entry.item)
        for key, entry in baseline.entries.items()
        if key not in explained and snapshot.find(entry.item, include_local=True) is None
    ]
    return gone, len(explained)


def _owed_absent(
    snapshot: Snapshot, baseline: Snapshot, owed: Mapping[str, MediaItem]
) -> tuple[list[tuple[str, MediaItem]], int]:
    """Owed items beyond the baseline that the read lacks, and how many are beyond it at all.

    Owed items the baseline holds are already measured as the baseline's: only the rest add
    to what the read should show.
    """
    absent: list[tuple[str, MediaItem]] = []
    beyond = 0
    for key, item in owed.items():
        if baseline.find(item) is not None:
            continue
        beyond += 1
        if snapshot.find(item) is None:
            absent.append((key, item))
    return absent, beyond


def _not_even_by_title(gone: list[tuple[str, MediaItem]], snapshot: Snapshot) -> frozenset[str]:
    """Of the items gone by id, those not shown under their title and year either.

    An item a server rescan gave a new local id is still there: it is not lost.
    """
    titles = {weak_key(entry.item) for entry in snapshot.entries.values()}
    return frozenset(key for key, item in gone if weak_key(item) not in titles)


def _suspect(lost: int, expected: int, settings: GuardSettings) -> bool:
    """Whether losing `lost` of `expected` items is more than one read may prove."""
    # Everything gone is the classic hiccup (an empty 200), however small the list; otherwise
    # only a sharp loss of some size.
    emptied = lost > 0 and lost >= expected
    sharp = lost >= settings.drop_minimum and lost > settings.drop_threshold * expected
    return emptied or sharp


def delete_budget(baseline_size: int | None, settings: GuardSettings) -> int:
    """How many removals one side may take in one run."""
    share = math.floor(settings.delete_share * baseline_size) if baseline_size else 0
    return max(settings.delete_floor, share)


def _tokens_by_side(
    items: Mapping[PairSide, Iterable[MediaItem]] | None,
) -> dict[PairSide, set[str]]:
    """Every token (and key) of each side's items, for matching an operation by any of them."""
    given = items or {}
    return {
        side: {token for item in given.get(side, ()) for token in (*item.tokens, item.key)}
        for side in PairSide
    }


def apply_guards(  # noqa: PLR0912 - one pass over the plan, one branch per guard, in order
    plan: Plan,
    *,
    settings: GuardSettings,
    baseline_sizes: Mapping[PairSide, int | None],
    tombstones: Mapping[PairSide, Iterable[MediaItem]] | None = None,
    held_out: Mapping[PairSide, Mapping[str, GuardCode]] | None = None,
    kept: Mapping[PairSide, Iterable[MediaItem]] | None = None,
    room: Mapping[PairSide, int] | None = None,
    ratings_at_risk: Mapping[PairSide, Iterable[MediaItem]] | None = None,
    last_read: Mapping[PairSide, Snapshot | None] | None = None,
    landed: Mapping[PairSide, Iterable[MediaItem]] | None = None,
    lingering: Mapping[PairSide, Iterable[MediaItem]] | None = None,
) -> Guarded:
    """Hold removals beyond the budget; set aside tombstoned adds and held-out items.

    `held_out` (see `holdouts`) names items not to write on a side this run: writes pending
    verification, rejected items waiting for their retry, quarantined items and phantoms.
    `kept` names items whose removal from a side the user rejected: they are never removed.
    `room` is how many more items a side's account may hold (Trakt's free tier): adds beyond it
    are set aside. `ratings_at_risk` names rated items whose removal from a side would also
    delete their rating (SIMKL): such removals are held for the user's approval. `last_read`
    is each side's baseline as its last complete read stored it: an add whose item the other
    side did not have then is the user's new intent, which no tombstone stops. `landed` names
    items of our writes awaiting verification that the side's read already shows: they hold
    out another write of the item, but not its removal, since what the read shows can be taken
    away (a loss of the other side must not wait for a verification a doubted read never gives).
    `lingering` is the mirror image: items of our removals awaiting verification that the
    side's read still shows. The planner took the side to lack them, so an add there (the other
    side gained the item since) is the user's, and supersedes our removal.
    """
    events: list[GuardEvent] = []
    buried = _tokens_by_side(tombstones)
    spared = _tokens_by_side(kept)
    shown = _tokens_by_side(landed)
    taken_away = _tokens_by_side(lingering)
    at_risk = _tokens_by_side(ratings_at_risk)
    adds = dict.fromkeys(PairSide, 0)
    allowed: list[Operation] = []
    held: list[Operation] = []
    held_codes: list[GuardCode] = []
    suppressed: list[tuple[Operation, GuardCode]] = []  # set aside, and why
    removals = dict.fromkeys(PairSide, 0)
    budgets = {side: delete_budget(baseline_sizes.get(side), settings) for side in PairSide}
    set_aside: dict[tuple[PairSide, GuardCode], int] = {}
    for op in plan.operations:  # in plan order, so what is held is deterministic
        if (
            op.action is Action.ADD
            and _is_buried(op.item, buried[op.side])
            and not _new_on_source(op, (last_read or {}).get(op.side.other))
        ):
            suppressed.append((op, GuardCode.TOMBSTONED))
            continue
        code = _set_aside(
            op, (held_out or {}).get(op.side), spared[op.side], shown[op.side], taken_away[op.side]
        )
        if code is None and op.action is Action.ADD and room and op.side in room:
            adds[op.side] += 1
            if adds[op.side] > room[op.side]:
                code = GuardCode.ACCOUNT_LIMIT
        if code is not None:
            suppressed.append((op, code))
            set_aside[op.side, code] = set_aside.get((op.side, code), 0) + 1
            continue
        if op.action is Action.REMOVE and _is_buried(op.item, at_risk[op.side]):
            held.append(op)
            held_codes.append(GuardCode.RATING_AT_RISK)
            continue
        if op.action is Action.REMOVE and settings.delete_budget:
            removals[op.side] += 1
            if removals[op.side] > budgets[op.side]:
                held.append(op)
                held_codes.append(GuardCode.OVER_DELETE_BUDGET)
                continue
        allowed.append(op)
    for side in PairSide:
        risky = sum(
            1
            for op, code in zip(held, held_codes, strict=True)
            if op.side is side and code is GuardCode.RATING_AT_RISK
        )
        if risky:
            events.append(
                GuardEvent(
                    GuardCode.RATING_AT_RISK,
                    side,
                    risky,
                    f"{count_of(risky, 'removal')} from {plan.name(side)} would also delete"
                    " their ratings; they wait for approval",
                )
            )
        side_held = sum(
            1
            for op, code in zip(held, held_codes, strict=True)
            if op.side is side and code is GuardCode.OVER_DELETE_BUDGET
        )
        if side_held:
            events.append(
                GuardEvent(
                    GuardCode.OVER_DELETE_BUDGET,
                    side,
                    side_held,
                    f"{count_of(removals[side], 'removal')} planned on {plan.name(side)}; the"
                    f" budget is {budgets[side]} per run, so {side_held}"
                    f" {'waits' if side_held == 1 else 'wait'} for approval",
                )
            )
        side_buried = sum(
            1 for op, code in suppressed if op.side is side and code is GuardCode.TOMBSTONED
        )
        if side_buried:
            events.append(
                GuardEvent(
                    GuardCode.TOMBSTONED,
                    side,
                    side_buried,
                    f"{count_of(side_buried, 'item')} deleted on {plan.name(side)}"
                    f" {'is' if side_buried == 1 else 'are'} not added back",
                )
            )
    for (side, code), count in sorted(set_aside.items()):
        detail = f"{count_of(count, 'item')} " + _HOLDOUT_TEXT[code].format(name=plan.name(side))
        events.append(GuardEvent(code, side, count, detail))
    guarded = Plan(plan.side_names, tuple(allowed), plan.notes)
    return Guarded(
        guarded, tuple(held), tuple(held_codes), tuple(op for op, _ in suppressed),
        tuple(events), tuple(code for _, code in suppressed),
    )  # fmt: skip


def _set_aside(
    op: Operation,
    held_out: Mapping[str, GuardCode] | None,
    spared: set[str],
    shown: set[str],
    taken_away: set[str],
) -> GuardCode | None:
    """Why `op` may not be written this run, by what the store remembers of its item."""
    code = _held_out(op.item, held_out)
    if op.action is Action.ADD:
        if code is GuardCode.PENDING_VERIFICATION and _is_buried(op.item, taken_away):
            return None  # our removal still awaits a read: the add is the later intent
        return code
    if op.action is not Action.REMOVE:
        return code
    if code is GuardCode.PENDING_VERIFICATION and _is_buried(op.item, shown):
        # Our add is there for the read to show: it can be taken away before it is verified.
        code = None
    if code is None and _is_buried(op.item, spared):
        code = GuardCode.KEPT_BY_USER
    return code


def _new_on_source(op: Operation, last_read: Snapshot | None) -> bool:
    """Whether the other side gained the item since its last complete read (`last_read`).

    A tombstone stops a stale copy, one the other side held all along, from bringing back what
    the user deleted; it must not stop the user's own later add there.
    """
    return last_read is not None and last_read.find(op.item, include_local=True) is None


def _is_buried(item: MediaItem, buried: set[str]) -> bool:
    return item.key in buried or not buried.isdisjoint(item.tokens)


def _held_out(item: MediaItem, index: Mapping[str, GuardCode] | None) -> GuardCode | None:
    if not index:
        return None
    for text in (item.key, *item.tokens, *item.local_tokens):
        code = index.get(text)
        if code is not None:
            return code
    return None
