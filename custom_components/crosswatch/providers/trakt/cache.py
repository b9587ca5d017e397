"""What the Trakt adapter keeps of earlier reads, and when a kept read may stand in for a new one.

Trakt's lists lag behind its activities and behind our own writes, and its 304s have vouched for
lists that had changed; so a category read in full is kept with the activity stamp it is known
to reflect, and reused only while that stamp holds, nothing has unsettled it, and it is not too
old. This module holds the rules; `adapter` decides when to ask them:
- A stamp that moved while the body stayed the same is no proof the body caught up: the
  category is read again on every read until its body changes, or until `settle_reads` reads and
  `settle_time` have passed. Our writes start the same wait for the categories they touch.
- Nothing read under no stamp is kept.
- A body with fewer records than the kept one is never kept until another read confirms it.
- A kept read older than `max_age` is read again in full, in case activities stop advancing.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ...clients.trakt.models import PagedRead
from ...engine.packed import PackedEntries
from ...engine.payloads import Entry
from .writes import Category

_PAGINATION_UNPROVEN = (
    "records read, and no X-Pagination-Item-Count or X-Pagination-Page-Count"
    " to show that was all of them"
)


@dataclass(frozen=True, slots=True)
class CategoryRead:
    """One category as just read, and whether that read proves it saw all of it."""

    entries: tuple[Entry, ...]
    paged: PagedRead[object]
    unreadable: int  # records that could not be mapped to an entry

    @property
    def rows(self) -> int:
        """Records read (history: plays), unreadable ones included."""
        return self.paged.rows

    @property
    def problem(self) -> str | None:
        """Why this read is not provably the whole category, or None when it is."""
        paged, rows = self.paged, self.rows
        announced = paged.expected_total
        reasons: list[str] = []
        if paged.failure is not None:
            counted = f"{rows} of {announced} announced" if announced is not None else f"{rows}"
            reasons.append(f"{paged.failure} ({counted} records read)")
        elif announced is not None:
            if announced != rows:
                reasons.append(f"{rows} of {announced} announced records read")
        elif paged.page_count is None and not paged.unpaged:
            # One page with no count at all: Trakt may have paged it at another size, or
            # dropped the headers; what was read may be any part of the list.
            reasons.append(f"{rows} {_PAGINATION_UNPROVEN}")
        if self.unreadable:
            # A row we cannot read would look like an item the user removed.
            reasons.append(f"{self.unreadable} records could not be read")
        return "; ".join(reasons) or None

    @property
    def proven_total(self) -> int | None:
        """The category's size as the evidence shows it, or None when it cannot."""
        if self.problem is not None:
            return None
        return self.paged.expected_total if self.paged.expected_total is not None else self.rows


@dataclass(frozen=True, slots=True)
class Kept:
    """One category as last read in full: its entries (packed) and the evidence of that read."""

    entries: PackedEntries
    rows: int  # records read (history: plays)
    digest: str  # of the records as read: whether a later body is the same
    activity: str  # the activity stamp this body was read under
    etag: str | None
    read_at: float


@dataclass(frozen=True, slots=True)
class _Unsettled:
    """A category whose body may lag behind a change: read again until it shows one."""

    since: float
    reads: int  # complete reads since the change
    digest: str | None  # the body before the change, when it was known


class ReadCache:
    """The categories kept from complete reads, and those that must be read again."""

    def __init__(
        self,
        *,
        settle_reads: int,
        settle_time: float,
        max_age: float,
        now: Callable[[], float],
    ) -> None:
        """Keep reads by (feature, category); times in seconds, as `now` gives them."""
        self._settle_reads = settle_reads
        self._settle_time = settle_time
        self._max_age = max_age
        self._now = now
        self._kept: dict[Category, Kept] = {}
        self._unsettled: dict[Category, _Unsettled] = {}

    def reusable(self, key: Category, stamp: str | None) -> Kept | None:
        """The kept read of `key`, if it may stand in for a read under `stamp`."""
        kept = self._kept.get(key)
        if (
            kept is None
            or stamp is None
            or kept.activity != stamp
            or key in self._unsettled
            or self._now() - kept.read_at > self._max_age
        ):
            return None
        return kept

    def keep(
        self, key: Category, got: CategoryRead, stamp: str | None, packed: PackedEntries
    ) -> None:
        """Keep a complete read under the stamp it was read under, unless that proves nothing.

        `packed` is `got.entries` packed, as it is kept between reads.
        """
        before = self._kept.get(key)
        digest = got.paged.digest
        unsettled = self._unsettled.get(key)
        if unsettled is not None:
            reads = unsettled.reads + 1
            changed = unsettled.digest is not None and digest != unsettled.digest
            waited = (
                reads >= self._settle_reads and self._now() - unsettled.since >= self._settle_time
            )
            if changed or waited:
                del self._unsettled[key]
            else:
                self._unsettled[key] = replace(unsettled, reads=reads)
        elif (
            before is not None
            and stamp is not None
            and stamp != before.activity
            and digest == before.digest
        ):
            # The stamp moved, the body did not: a change Trakt's lists do not show yet, or one
            # that left them as they were. Read it again until the body changes (or long
            # enough to call it the latter).
            self._unsettled[key] = _Unsettled(self._now(), 1, digest)
        if stamp is None:
            return  # no stamp vouches for this body; an earlier pair, if any, still holds
        if before is not None and got.rows < before.rows:
            # Fewer records than last time, the classic hiccup when it is none at all: report
            # it as read (the engine's drop guard judges it), but only a second read that
            # agrees may stand in for later reads.
            self._kept.pop(key, None)
            return
        self._kept[key] = Kept(packed, got.rows, digest, stamp, got.paged.etag, self._now())

    def written(self, touched: Iterable[Category]) -> None:
        """Make the next reads fetch what a write touched, whatever activities say."""
        for key in touched:
            kept = self._kept.get(key)
            self._unsettled[key] = _Unsettled(self._now(), 0, kept.digest if kept else None)

    def forget(self, keys: Iterable[Category]) -> None:
        """Drop the kept reads of `keys`: the next read fetches them in full."""
        for key in keys:
            self._kept.pop(key, None)
