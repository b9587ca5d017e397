"""Skipping the planning of a feature that had nothing to do and reads the same as then.

Most runs find nothing to do, and finding it costs the most: both baselines decoded from the
store and a plan made over every item (seconds of CPU at 100,000 items per side on a small
machine, every few minutes). Planning is a pure function of both reads, both baselines, what
the store keeps of the pair (pending writes, shrink suspicions, held operations, shadows,
learned ids, tombstones), the pair's settings, and the id map. So when none of those changed,
the plan is the same nothing, and the run may end as soon as both reads are in.

A run **settles** a feature (`settles`) when it planned no operation, held nothing and wrote
nothing; nothing was pending or suspected on either side, before or after; both reads were
complete and believed, and each carries a version its provider vouches for (`Read.version`);
and recording the run changed nothing (each baseline already was what its read showed, no id
was learned, no shadow aged). Both sides are then marked settled with their read versions.

The next run reads both sides as always: the reads are the evidence, and they are what a
provider's caches and activities decide. It skips the rest (`may_skip`) only when both versions
are those of the marks, nothing is pending, suspected or held, the settings are the same and the
marks have not expired. Whatever else could change the inputs takes the marks away: every run
that does its work (before it starts), a dropped baseline, a busted provider, a new id map, and
every start. Time is bounded by `valid_until`: the first tombstone expiry on either side, and a
day at most, so a settled pair still plans in full daily.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
import hashlib

from .plan import PairSide, Plan
from .provider import AnyRead, Read
from .records import PendingWrite, Settled, ShrinkSuspicion
from .runs import PairSpec

# How long a mark may stand in for planning: a settled pair still plans in full once a day.
SETTLED_FOR = timedelta(days=1)


def spec_digest(spec: PairSpec, lending: int) -> str:
    """What a pair was configured to do and which id map lent ids, as a short digest.

    `lending` counts the id maps the pipeline was handed since it started: a new one may lend
    ids that match items differently.
    """
    described = repr(
        (spec.pair, spec.mode.value, sorted(f.value for f in spec.features), spec.guards,
         spec.phantom_after, lending)
    )  # fmt: skip
    return hashlib.sha256(described.encode()).hexdigest()[:32]


def may_skip(
    marks: Mapping[PairSide, Settled | None],
    reads: Mapping[PairSide, AnyRead],
    *,
    digest: str,
    dry_run: bool,
    pending: Mapping[PairSide, list[PendingWrite]],
    suspicions: Mapping[PairSide, ShrinkSuspicion | None],
    held: bool,
    now: datetime,
) -> bool:
    """Whether this run of a feature may end with its reads: the marks still hold for them.

    `digest` is the pair's `spec_digest` now.
    """
    if dry_run or held:
        return False  # a dry run is asked for its plan; held operations await the user
    for side in PairSide:
        mark, read = marks[side], reads[side]
        if (
            mark is None
            or pending[side]
            or suspicions[side] is not None
            or read.version is None
            or read.version != mark.version
            or not read.complete
            or mark.spec != digest
            or now >= mark.valid_until
        ):
            return False
    return True


def settles(
    *,
    plan: Plan,
    held: bool,
    errors: bool,
    pending: Mapping[PairSide, list[PendingWrite]],
    suspected: Mapping[PairSide, bool],
    believed: Mapping[PairSide, bool],
    recorded_changes: bool,
    reads: Mapping[PairSide, Read],
) -> bool:
    """Whether a run that did its work left its feature settled (see the module doc)."""
    return (
        not plan.operations
        and not held
        and not errors
        and not recorded_changes
        and all(
            not pending[side]
            and not suspected[side]
            and believed[side]
            and reads[side].version is not None
            for side in PairSide
        )
    )


def marks(
    reads: Mapping[PairSide, Read],
    providers: Mapping[PairSide, str],
    *,
    digest: str,
    now: datetime,
    tombstone_expiries: Mapping[PairSide, datetime | None],
) -> dict[PairSide, Settled]:
    """The marks a settled run leaves, valid until a tombstone expires or a day has passed."""
    valid_until = min(
        [now + SETTLED_FOR, *(t for t in tombstone_expiries.values() if t is not None)]
    )
    return {
        side: Settled(providers[side], version, digest, valid_until)
        for side in PairSide
        if (version := reads[side].version) is not None
    }
