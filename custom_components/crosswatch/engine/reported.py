"""What a feature's run reports: the operations it writes, and why it writes no others.

The planner's plan names every difference between the sides. Not all of it is written: the
guards set some operations aside (a write awaiting verification, an item in backoff after the
target rejected it, a phantom, a tombstone, the account's cap) or hold them for the user's
approval, and the target may reject an item it cannot take (no id it can use, not in its
library). Counting those as planned would claim more than the run will do: a pair whose items
can never be written would show planned adds forever. So the plan a run reports holds only the
operations it writes (or, dry, would write) and that were not rejected; every other operation
becomes a note that says why.
"""

from collections.abc import Iterable

from .applier import ApplyReport
from .guards import GuardCode, Guarded, holdout_text
from .plan import Note, Operation, Plan, Reason
from .provider import WriteOutcome

# Set aside because the target rejected the item before: unresolved, not planned.
_UNRESOLVED_CODES = frozenset({GuardCode.UNRESOLVED_BACKOFF})


def reported_plan(plan: Plan, guarded: Guarded, report: ApplyReport) -> Plan:
    """The plan as the run reports it: what it writes, with notes for what it does not."""
    rejected = {
        id(applied.operation): applied.reason or "rejected"
        for applied in report.applied
        if applied.outcome is WriteOutcome.REJECTED
    }
    written = tuple(op for op in guarded.plan.operations if id(op) not in rejected)
    notes = [
        *plan.notes,
        *(
            _note(op, Reason.UNRESOLVED, rejected[id(op)])
            for op in guarded.plan.operations
            if id(op) in rejected
        ),
        *_set_aside_notes(plan, guarded.suppressed, guarded.suppressed_codes),
        *(
            _note(op, Reason.AWAITS_APPROVAL, holdout_text(code, plan.name(op.side)))
            for op, code in zip(guarded.held, guarded.held_codes, strict=True)
        ),
    ]
    return Plan(plan.side_names, written, tuple(notes))


def unresolved_count(guarded: Guarded, report: ApplyReport) -> int:
    """Operations the run could not write because the target cannot take their items."""
    set_aside = sum(1 for code in guarded.suppressed_codes if code in _UNRESOLVED_CODES)
    return set_aside + report.count(WriteOutcome.REJECTED)


def _set_aside_notes(
    plan: Plan, ops: Iterable[Operation], codes: Iterable[GuardCode]
) -> Iterable[Note]:
    for op, code in zip(ops, codes, strict=True):
        detail = holdout_text(code, plan.name(op.side))
        reason = Reason.UNRESOLVED if code in _UNRESOLVED_CODES else Reason.SET_ASIDE
        yield _note(op, reason, detail)


def _note(op: Operation, reason: Reason, detail: str) -> Note:
    return Note(op.side, op.feature, reason, op.item, detail)
