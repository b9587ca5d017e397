"""Complete reads of Jellyfin and Emby, kept and brought up to date by the server's changes.

Both servers answer `MinDateLastSavedForUser`: the items whose user data they saved at or after
a moment of their own clock. A complete read is kept with the moment its scan began (the first
page's `Date` header, less a margin). The next read asks from that moment (see
reads.changes_since): with nothing saved, the kept read is served again for one request; with a
few items saved (the user played an episode), the answer itself, paged, carries what a read
needs, and those items are folded onto the kept read: one that now holds the feature enters or
is updated, one that no longer does (unplayed, unrated, no longer identifiable) leaves. The
result is what a scan would show, served as the read and kept in turn. An answer that failed,
is partial, or lists more items than are worth reading apart folds nothing: the library is
scanned.

Where the next question asks from moves forward with each answer that listed items, one answer
behind: to the moment of the answer before it (the scan's, for the first). Every change is thus
asked about by two answers at least, so one short answer (a server that answers a few items and
a count to match) loses nothing. An answer that changes nothing the read holds is served as it is,
without a fold: each item it lists is one the last answer listed, holding what it held then,
or holds nothing of the feature and is not one the read holds (a play, to the watchlist's
question). Which items a read holds is kept as a Bloom filter of their ids (`HeldRows.ids`),
a few bits each: "not held" is sure, and a false "held" costs a fold, never a change. An empty
answer moves nothing.

The kept read holds the rows it is made of, one per library item (`KeptRead.rows`): copies of
one film are folded into one entry as a snapshot is built, so an unplayed copy must leave while
the other copy stays.

A kept read is neither served nor folded onto:
- once it is a day old (a day after its scan: folds do not make it younger): only a scan sees
  items deleted from the library, which changes no date;
- after a write of ours to its feature, until a scan shows every such write as we made it. A
  server behind a cache or a replica may show our write only reads later, dated when we made it,
  which is before the scan a kept read came from: no question would ask for it again, and the
  kept read would hide it. A write ten scans have not shown is waited for no longer: it never
  landed (the engine calls it a phantom), and the daily scan stands;
- when the engine asks for a fresh read (`forget`): before it believes a loss, and to verify
  our writes.

A kept read served again never shrinks. A folded one may (an unplay), but it is never the
evidence for a removal: the engine believes no loss from one read, and the fresh read it asks
for to confirm one (`forget`) is a scan. Kept reads are packed (engine/packed.py): a run that
settles never unpacks them, and a fold unpacks and packs in the executor.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import hashlib
import marshal
from typing import Final, cast
import zlib

from ...engine.packed import (
    ItemRow,
    PayloadRow,
    item_row,
    pack_rows,
    pack_snapshot,
    payload_row,
    row_item,
    row_payload,
)
from ...engine.payloads import Entry, Feature, Payload, Rated
from ...engine.provider import PackedRead, Read
from ...engine.ratings import RatingScale, same_rating
from ...engine.snapshot import Completeness, versioned
from .reads import Changes, LibraryItem, Scan, payload

# The first page's Date header is stamped when the reply is sent, after the query ran: a change
# saved in between is not in the scan, yet dated before the header. Asking from a minute before
# covers a slow first page; a change seen twice costs at most one more fold, never a lost change.
SINCE_MARGIN: Final = timedelta(minutes=1)
# Scans a write of ours may take to show before it is taken to have never landed.
SCANS_TO_SHOW_A_WRITE: Final = 10


# The Bloom filter of the ids a read holds: bits per id and bits set per id. About 1.7 % of
# the ids it does not hold pass for held (a fold that changes nothing); 125 KB at 100,000.
_BITS_PER_ID: Final = 10
_HASHES: Final = 3

# One library item holding the feature, as plain values: its id, its item and what it holds.
type _HeldRow = tuple[str, ItemRow, PayloadRow]


@dataclass(frozen=True, slots=True)
class HeldRows:
    """The library items a read is made of, one row each, packed (engine/packed.pack_rows)."""

    chunks: tuple[bytes, ...]
    count: int
    ids: bytes = b""  # a Bloom filter of the rows' ids (see `may_hold`)


def _bits(item_id: str, size: int) -> Iterator[int]:
    digest = hashlib.blake2b(item_id.encode(), digest_size=4 * _HASHES).digest()
    for n in range(_HASHES):
        yield int.from_bytes(digest[4 * n : 4 * n + 4], "little") % size


def _id_filter(ids: Iterable[str], count: int) -> bytes:
    size = max(64, count * _BITS_PER_ID)
    bits = bytearray((size + 7) // 8)
    for item_id in ids:
        for bit in _bits(item_id, size):
            bits[bit // 8] |= 1 << (bit % 8)
    return bytes(bits)


def may_hold(rows: HeldRows, item_id: str) -> bool:
    """Whether `rows` may hold the item `item_id`; False is sure."""
    size = len(rows.ids) * 8
    return size == 0 or all(rows.ids[bit // 8] >> (bit % 8) & 1 for bit in _bits(item_id, size))


@dataclass(frozen=True, slots=True)
class KeptRead:
    """A complete read, packed, and the moment of the server's clock to ask for changes from."""

    read: PackedRead
    since: datetime  # where the next question asks from
    read_at: float  # the provider's clock when its scan was read
    rows: HeldRows  # what the read is made of, one row per library item
    scanned: int  # rows the scan listed: what reading the feature in full costs
    # The moment of the last answer that listed items (less the margin): the next such answer
    # moves `since` here. None until one did.
    answered: datetime | None = None
    # What the last answer that listed items listed: each item's id and what it holds (None:
    # nothing), as folded onto `rows`.
    news: tuple[tuple[str, Entry | None], ...] = ()


def pack_held(held: Iterable[tuple[str, Entry]]) -> HeldRows:
    """Library items (by id) and what each holds, packed (pure; for the executor)."""
    rows = list(held)
    chunks, count = pack_rows(
        rows, lambda row: (row[0], item_row(row[1].item), payload_row(row[1].payload))
    )
    return HeldRows(chunks, count, _id_filter((item_id for item_id, _ in rows), count))


def unpack_held(rows: HeldRows) -> Iterator[tuple[str, Entry]]:
    """What `pack_held` packed, in its order (pure; for the executor)."""
    for chunk in rows.chunks:
        # Only bytes `pack_held` made in this process are ever unpacked: nothing read from a
        # service or a file, so `marshal`'s lack of safety against crafted input is moot.
        plain = cast(tuple[_HeldRow, ...], marshal.loads(zlib.decompress(chunk)))  # noqa: S302
        for item_id, item, held in plain:
            yield item_id, Entry(row_item(item), row_payload(held))


def held_by(feature: Feature, items: Iterable[LibraryItem]) -> Iterator[tuple[str, Entry]]:
    """The library items that hold `feature`, by id, with what each holds."""
    for found in items:
        if (held := payload(feature, found)) is not None:
            yield found.id, Entry(found.item, held)


type News = tuple[tuple[str, Entry | None], ...]


def news_of(feature: Feature, changes: Changes) -> News:
    """Each item an answer listed, by id, with what it now holds of `feature` (None: nothing).

    A listed row the engine cannot identify holds nothing: a scan would leave it out too.
    """
    changed = dict(held_by(feature, changes.scan.items))
    return tuple((item_id, changed.get(item_id)) for item_id in dict.fromkeys(changes.listed))


def nothing_new(kept: KeptRead, news: News) -> bool:
    """Whether an answer changes nothing the kept read holds (see the module's docstring)."""
    last = dict(kept.news)
    return all(
        (item_id in last and last[item_id] == entry)
        or (entry is None and not may_hold(kept.rows, item_id))
        for item_id, entry in news
    )


def moved(kept: KeptRead, news: News, answered_at: datetime) -> KeptRead:
    """`kept` after an answer at `answered_at` that listed `news` (see the module's docstring)."""
    since = kept.since if kept.answered is None else kept.answered
    return replace(kept, since=since, answered=answered_at - SINCE_MARGIN, news=news)


@dataclass(frozen=True, slots=True)
class Folded:
    """A kept read brought up to date: the read to serve, and the kept read it becomes."""

    read: Read
    kept: KeptRead


def fold(kept: KeptRead, news: News) -> Folded:
    """The kept read with the items an answer listed folded on (pure; for the executor).

    Built as a scan builds its read, from one row per library item: a listed item that holds
    the feature takes its row's place (or enters at the end), any other listed item leaves.
    """
    packed = kept.read.packed
    feature = packed.feature
    held = dict(unpack_held(kept.rows))
    for item_id, entry in news:
        if entry is not None:
            held[item_id] = entry
        else:
            held.pop(item_id, None)
    completeness = Completeness(all_pages=True, seen_total=len(held))
    snapshot, version = versioned(packed.provider, feature, held.values(), completeness)
    if version is None:  # complete by construction: a snapshot of it always has a version
        raise ValueError("a folded read must be complete")
    read = PackedRead(pack_snapshot(snapshot), None, version)
    rows = pack_held(held.items())
    return Folded(Read(snapshot, None, version), replace(kept, read=read, rows=rows))


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

    def keep(
        self, feature: Feature, read: PackedRead | None, rows: HeldRows | None, scan: Scan
    ) -> None:
        """Take in a fresh scan: it shows some of our writes; keep its read if it shows all.

        `read` is the scan's read, packed, and `rows` what it is made of; None when it vouches
        for nothing (partial).
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
        if (
            read is not None
            and rows is not None
            and read.complete
            and scan.started_at is not None
            and not unseen
        ):
            since = scan.started_at - SINCE_MARGIN
            scanned = scan.completeness.seen_total or 0
            self._reads[feature] = KeptRead(read, since, now, rows, scanned)

    def update(self, feature: Feature, onto: KeptRead, updated: KeptRead) -> None:
        """Keep `updated`, the kept read `onto` brought up to date, unless `onto` went meanwhile.

        A write of ours, or the engine asking for a fresh read, while the changes were read
        dropped `onto`: then nothing is kept, and the next read scans.
        """
        if self._reads.get(feature) is onto:
            self._reads[feature] = updated

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
