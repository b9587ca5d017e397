"""Complete reads of Jellyfin and Emby, served again while the server reports no change.

Both servers answer `MinDateLastSavedForUser`: the items whose user data they saved at or after
a moment of their own clock. A complete read is kept with the moment its scan began (the first
page's `Date` header, less a margin), and served again while a question from that moment finds
nothing (see reads.changed_since). A no-change run then asks one question per feature instead of
scanning the whole library.

A kept read is never served:
- once it is a day old: only a scan sees items deleted from the library, which changes no date;
- after a write of ours to its feature, until a scan shows every such write as we made it. A
  server behind a cache or a replica may show our write only reads later, dated when we made it,
  which is before the scan a kept read came from: no question would ask for it again, and the
  kept read would hide it. A write ten scans have not shown is waited for no longer: it never
  landed (the engine calls it a phantom), and the daily scan stands;
- when the engine asks for a fresh read (`forget`): before it believes a loss, and to verify
  our writes.

A kept read never shrinks, so it is never evidence of a removal. It is kept packed
(engine/packed.py): a run that settles never unpacks it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from ...engine.payloads import Feature, Payload, Rated
from ...engine.provider import PackedRead
from ...engine.ratings import RatingScale, same_rating
from .reads import LibraryItem, Scan, payload

# The first page's Date header is stamped when the reply is sent, after the query ran: a change
# saved in between is not in the scan, yet dated before the header. Asking from a minute before
# covers a slow first page; a change seen twice costs one more scan, never a lost change.
SINCE_MARGIN: Final = timedelta(minutes=1)
# Scans a write of ours may take to show before it is taken to have never landed.
SCANS_TO_SHOW_A_WRITE: Final = 10


@dataclass(frozen=True, slots=True)
class KeptRead:
    """A complete read, packed, and the moment of the server's clock to ask for changes from."""

    read: PackedRead
    since: datetime
    read_at: float  # the provider's clock when it was read


@dataclass(frozen=True, slots=True)
class _Written:
    """What one write of ours left on one library item, for a scan to show."""

    present: bool  # whether the item holds the feature afterwards
    rating: float | None  # for a rating written: its value (normalized)
    scans_left: int = SCANS_TO_SHOW_A_WRITE


class KeptReads:
    """The kept read of each feature, and our writes no scan has shown yet."""

    def __init__(self, clock: Callable[[], float], full_read_every: float) -> None:
        """Keep reads for at most `full_read_every` seconds of `clock`."""
        self._clock = clock
        self._full_read_every = full_read_every
        self._reads: dict[Feature, KeptRead] = {}
        self._unseen: dict[Feature, dict[str, _Written]] = {}

    def usable(self, feature: Feature) -> KeptRead | None:
        """The kept read of `feature`, unless it is a day old (then it is dropped)."""
        kept = self._reads.get(feature)
        if kept is not None and self._clock() - kept.read_at >= self._full_read_every:
            del self._reads[feature]
            return None
        return kept

    def keep(self, feature: Feature, read: PackedRead | None, scan: Scan) -> None:
        """Take in a fresh scan: it shows some of our writes; keep its read if it shows all.

        `read` is the scan's read, packed; None when it vouches for nothing (partial).
        """
        self._reads.pop(feature, None)
        unseen = self._unseen.get(feature, {})
        now = self._clock()
        if unseen:
            shown = {found.id: found for found in scan.items}
            self._unseen[feature] = unseen = {
                item_id: replace(written, scans_left=written.scans_left - 1)
                for item_id, written in unseen.items()
                if written.scans_left > 1 and not _shows(feature, shown.get(item_id), written)
            }
        if read is not None and read.complete and scan.started_at is not None and not unseen:
            self._reads[feature] = KeptRead(read, scan.started_at - SINCE_MARGIN, now)

    def wrote(self, feature: Feature, item_ids: Iterable[str], written: Payload | None) -> None:
        """A write of ours (`written`: None for a removal) may have changed these items."""
        self._reads.pop(feature, None)
        rating = written.value if isinstance(written, Rated) else None
        mark = _Written(present=written is not None, rating=rating)
        unseen = self._unseen.setdefault(feature, {})
        for item_id in item_ids:
            unseen[item_id] = mark

    def forget(self, feature: Feature | None = None) -> None:
        """Serve no kept read of `feature` (None: of any) before the next scan."""
        if feature is None:
            self._reads.clear()
        else:
            self._reads.pop(feature, None)


def _shows(feature: Feature, found: LibraryItem | None, written: _Written) -> bool:
    """Whether a scan's item (None: not listed) shows what our write left on it."""
    held = None if found is None else payload(feature, found)
    if not written.present:
        return held is None
    if held is None:
        return False
    if not isinstance(held, Rated) or written.rating is None:
        return True
    scale = RatingScale.DECIMAL_0_10
    return same_rating(held.value, written.rating, scale, scale)
