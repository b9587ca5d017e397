"""Verification: which accepted writes a complete snapshot now shows.

A provider that answered "ok" (or that is eventually consistent) may not show a write for a
while. Pending writes wait; each complete snapshot either shows a write (verified) or does not
(a miss). After `phantom_after` misses a write is a phantom: the provider accepted it but never
shows it, so it is reported and no longer re-added, which ends the "same adds every run" loop.
Partial snapshots verify nothing and count no misses: absence from them is not evidence.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .history import unmatched_plays
from .payloads import Rated, Watched, dated_at
from .plan import Action
from .ratings import RatingScale, same_rating
from .records import PendingWrite
from .snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Verification:
    """The verdict on a scope's pending writes after one snapshot."""

    verified: tuple[PendingWrite, ...] = ()
    missed: tuple[PendingWrite, ...] = ()
    phantoms: tuple[PendingWrite, ...] = ()  # missed at least `phantom_after` times, now included


def verify_pending(
    pending: Iterable[PendingWrite],
    view: Snapshot,
    scale: RatingScale,
    *,
    phantom_after: int = 2,
    play_precision: timedelta | None = None,
) -> Verification:
    """Check pending writes against the view of the side they were written to.

    `play_precision` is given for a side that keeps individual plays (Trakt): there a history
    write is shown only when every play it sent is, since the item itself was often there
    before. Releasing it on sight would plan the lagging plays again, and Trakt would store
    them twice.
    """
    writes = tuple(pending)
    if not view.complete:
        return Verification(phantoms=tuple(w for w in writes if w.misses >= phantom_after))
    verified: list[PendingWrite] = []
    missed: list[PendingWrite] = []
    for write in writes:
        (verified if _shows(view, write, scale, play_precision) else missed).append(write)
    phantoms = tuple(w for w in missed if w.misses + 1 >= phantom_after)
    return Verification(tuple(verified), tuple(missed), phantoms)


def shown_by_partial_read(
    pending: Iterable[PendingWrite],
    read: Snapshot,
    scale: RatingScale,
    *,
    play_precision: timedelta | None = None,
) -> tuple[PendingWrite, ...]:
    """Adds and updates that a partial read itself shows (not what a baseline stood in for).

    They have landed, so the copy is ours, not the side's news. They are not verified: a
    later stale read could still lack them, and released, a history write would be sent twice.
    """
    if read.complete:
        return ()
    return tuple(
        w
        for w in pending
        if w.action is not Action.REMOVE and _shows(read, w, scale, play_precision)
    )


def still_shown_removals(
    pending: Iterable[PendingWrite], view: Snapshot, verification: Verification
) -> tuple[PendingWrite, ...]:
    """Our removals awaiting verification whose item the side's view still shows.

    The read may predate the removal (a stale body, a lagging index) or the removal may not
    have landed: nothing tells the two apart until a fresh complete read verifies it, or it
    turns phantom. So what the read shows of such an item is no evidence the side holds it.
    For planning the side is taken to lack it, as our accepted write says: the other side's
    later gain of it is then carried back, and no match against a stale copy records it as
    synced (a later verification would read as the side's loss, and undo the gain).
    """
    settled = {(w.item.key, w.action) for w in (*verification.verified, *verification.phantoms)}
    return tuple(
        w
        for w in pending
        if w.action is Action.REMOVE
        and (w.item.key, w.action) not in settled
        and view.find(w.item, include_local=True) is not None
    )


# How far a service's date for our write may run past our own clock: its clock may differ
# from ours, and it stamps the write when it processes it.
OWN_WRITE_SLACK = timedelta(minutes=5)


def own_writes(
    shown: Iterable[PendingWrite],
    view: Snapshot,
    *,
    play_precision: timedelta | None = None,
    earlier_runs: Sequence[datetime] = (),
) -> tuple[PendingWrite, ...]:
    """Those of our writes that `view` shows which are ours, not the user's own doing since.

    The dates decide where the item carries them: each play we sent at the source's time (on a
    side that keeps plays, `play_precision`), or the service's date for it (listed, rated, last
    watched) no later than our write. A later date is the user's own doing after ours only
    when one of the pair's `earlier_runs` started between our write and that date: a redo by
    hand after that read missed our write, or a new listing or play after the user removed our
    copy, unseen when that read was too doubted to count as a miss. With no run between, the
    user's removal and new listing fell in one window, which changed nothing the pair could
    see, and the copy is ours (a run after the date has nothing to add: it saw the same item
    with the same date). Without a date, a write the first complete read after it shows (no
    misses) is ours; shown only after a read missed it, nothing tells ours from the user's
    redo, and the item counts as the side's news.
    """
    return tuple(write for write in shown if _ours(view, write, play_precision, earlier_runs))


def _ours(
    view: Snapshot,
    write: PendingWrite,
    play_precision: timedelta | None,
    earlier_runs: Sequence[datetime],
) -> bool:
    if write.action is Action.REMOVE:
        return write.misses == 0  # an absence carries no date
    found = view.find(write.item, include_local=True)
    if found is None:
        return write.misses == 0
    if play_precision is not None and isinstance(write.payload, Watched) and write.payload.plays:
        return True  # _shows matched every play we sent, at the source's timestamps
    date = dated_at(found.payload)
    if date is not None and _no_later(date, write):
        return True
    users_own = date is not None and any(write.written_at < run < date for run in earlier_runs)
    return write.misses == 0 and not users_own


def _no_later(date: datetime, write: PendingWrite) -> bool:
    return date <= write.written_at + OWN_WRITE_SLACK


def _shows(
    view: Snapshot, write: PendingWrite, scale: RatingScale, play_precision: timedelta | None
) -> bool:
    found = view.find(write.item, include_local=True)
    if write.action is Action.REMOVE:
        return found is None
    if found is None:
        return False
    if isinstance(write.payload, Rated) and isinstance(found.payload, Rated):
        return same_rating(write.payload.value, found.payload.value, scale, scale)
    if (
        play_precision is not None
        and isinstance(write.payload, Watched)
        and isinstance(found.payload, Watched)
    ):
        tolerance = play_precision.total_seconds()
        return not unmatched_plays(write.payload.plays, found.payload.plays, tolerance)
    return True
