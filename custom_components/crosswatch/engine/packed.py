"""Entries and snapshots kept between runs as compressed bytes instead of live objects.

A provider keeps its last complete read of each feature, so that a run with nothing to do costs
one request and no rebuild. As live objects, a read of 100,000 items is about 350,000 objects the
cycle collector tracks (entry, item, payload, ...) and 45 MB with the snapshot's maps; every full
pass of the collector walks each of them while Home Assistant's event loop waits (300 - 800 ms at
100,000 per side). Packed, the same read is fifty `bytes` objects of about 2 MB in all, which the
collector does not walk.

Packing and unpacking are pure and run in the executor. Rows are `marshal`ed tuples of plain
values in chunks, each compressed on its own, so that no single call holds the interpreter for
long. Unpacking builds items positionally from tokens already normalized: no id is parsed again.
Round trips are exact (`tests/engine/test_packed.py`).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
import marshal
from types import MappingProxyType
from typing import Final
import zlib

from .items import MediaItem, MediaType
from .payloads import Entry, Feature, Listed, Payload, Rated, Watched
from .snapshot import Completeness, Semantics, Snapshot

CHUNK: Final = 2_000  # entries per compressed chunk: a few milliseconds to unpack
_TYPES: Final = {member.value: member for member in MediaType}

# A payload as plain values: a tag, then its fields (datetimes as ISO text, exact to the zone).
type PayloadRow = (
    tuple[str, str | None]
    | tuple[str, float, str | None]
    | tuple[str, tuple[str, ...], int, str | None]
)
# An item as plain values: its fields in order (`MediaItem`'s own).
type ItemRow = tuple[
    str, str | None, int | None, int | None, int | None, tuple[str, ...], tuple[str, ...], str
]  # fmt: skip
type _Row = tuple[
    str, str | None, int | None, int | None, int | None, tuple[str, ...], tuple[str, ...], str,
    PayloadRow,
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class PackedEntries:
    """Entries in order, packed: `count` of them in compressed chunks."""

    chunks: tuple[bytes, ...]
    count: int

    @property
    def size(self) -> int:
        """Bytes held."""
        return sum(len(chunk) for chunk in self.chunks)


@dataclass(frozen=True, slots=True)
class PackedSnapshot:
    """A complete snapshot, packed: its provenance as it was, its entries as `PackedEntries`."""

    provider: str
    feature: Feature
    semantics: Semantics
    completeness: Completeness
    entries: PackedEntries

    @property
    def complete(self) -> bool:
        """As `Snapshot.complete` of the snapshot packed."""
        return self.semantics is Semantics.PRESENT and self.completeness.complete

    def __len__(self) -> int:
        """Number of distinct items, as `len()` of the snapshot packed."""
        return self.entries.count


# What a packed row may hold: what `marshal` writes and reads back exactly.
type Plain = str | int | float | bool | bytes | tuple[Plain, ...] | None


def pack_rows[T](entries: Iterable[T], row: Callable[[T], Plain]) -> tuple[tuple[bytes, ...], int]:
    """Each entry's `row` (plain values), marshalled in compressed chunks of CHUNK; the count.

    Pure; for the executor. Every packed form (snapshots here, SIMKL's library) chunks this way.
    """
    chunks: list[bytes] = []
    rows: list[Plain] = []
    count = 0
    for entry in entries:
        rows.append(row(entry))
        count += 1
        if len(rows) == CHUNK:
            chunks.append(zlib.compress(marshal.dumps(tuple(rows)), 1))
            rows = []
    if rows:
        chunks.append(zlib.compress(marshal.dumps(tuple(rows)), 1))
    return tuple(chunks), count


def pack_entries(entries: Iterable[Entry]) -> PackedEntries:
    """Entries as compressed chunks (pure; for the executor)."""
    return PackedEntries(*pack_rows(entries, _row))


def unpack_entries(packed: PackedEntries) -> Iterator[Entry]:
    """The entries `pack_entries` packed, in their order (pure; for the executor)."""
    item, entry = MediaItem, Entry
    for chunk in packed.chunks:
        # Only bytes `pack_entries` made in this process are ever unpacked: nothing read from
        # a service or a file, so `marshal`'s lack of safety against crafted input is moot.
        rows = marshal.loads(zlib.decompress(chunk))  # noqa: S302
        for kind, title, year, season, episode, tokens, local, key, payload in rows:
            yield entry(
                item(_TYPES[kind], title, year, season, episode, tokens, local, key),
                row_payload(payload),
            )


def pack_snapshot(snapshot: Snapshot) -> PackedSnapshot:
    """A complete present snapshot, packed (pure; for the executor).

    Only what `Snapshot.build` makes can be packed: a delta's removed tokens and a view's stand-ins
    are not kept.
    """
    if snapshot.semantics is not Semantics.PRESENT or snapshot.stand_ins or snapshot.removed:
        raise ValueError("only a present snapshot as read can be packed")
    return PackedSnapshot(
        snapshot.provider,
        snapshot.feature,
        snapshot.semantics,
        snapshot.completeness,
        pack_entries(snapshot.entries.values()),
    )


def unpack_snapshot(packed: PackedSnapshot) -> Snapshot:
    """The snapshot `pack_snapshot` packed (pure; for the executor).

    Its entries already share no token (a build folds copies of one item into one entry), so
    the maps are made directly, without the build's search for entries to fold.
    """
    entries: dict[str, Entry] = {}
    aliases: dict[str, str] = {}
    for entry in unpack_entries(packed.entries):
        item = entry.item
        key = item.key
        entries[key] = entry
        for text in (*item.tokens, *item.local_tokens):
            if text != key:
                aliases[text] = key
    return Snapshot(
        packed.provider,
        packed.feature,
        packed.semantics,
        packed.completeness,
        MappingProxyType(entries),
        MappingProxyType(aliases),
    )


def item_row(item: MediaItem) -> ItemRow:
    """An item as plain values, for `row_item` to make again (pure)."""
    return (
        item.type.value, item.title, item.year, item.season, item.episode, item.tokens,
        item.local_tokens, item.key,
    )  # fmt: skip


def row_item(row: ItemRow) -> MediaItem:
    """The item `item_row` made a row of, equal to it (no id is parsed again)."""
    kind, title, year, season, episode, tokens, local, key = row
    return MediaItem(_TYPES[kind], title, year, season, episode, tokens, local, key)


def when(at: datetime | None) -> str | None:
    """A datetime as ISO text, exact to the zone (None stays None)."""
    return None if at is None else at.isoformat()


def moment(text: str | None) -> datetime | None:
    """The datetime `when` wrote (None stays None)."""
    return None if text is None else datetime.fromisoformat(text)


def _row(entry: Entry) -> _Row:
    item = entry.item
    return (
        item.type.value, item.title, item.year, item.season, item.episode, item.tokens,
        item.local_tokens, item.key, payload_row(entry.payload),
    )  # fmt: skip


def payload_row(payload: Payload) -> PayloadRow:
    """A payload as plain values, for `row_payload` to make again (pure)."""
    match payload:
        case Listed(listed_at=listed_at):
            return ("l", when(listed_at))
        case Rated(value=value, rated_at=rated_at):
            return ("r", value, when(rated_at))
        case Watched(plays=plays, play_count=count, last_watched_at=last):
            return ("w", tuple(play.isoformat() for play in plays), count, when(last))


def row_payload(row: PayloadRow) -> Payload:
    """The payload `payload_row` made a row of, equal to it."""
    match row:
        case ("l", listed_at):
            return Listed(moment(listed_at))
        case ("r", value, rated_at):
            return Rated(value, moment(rated_at))
        case ("w", plays, count, last):
            return Watched(tuple(map(datetime.fromisoformat, plays)), count, moment(last))
    raise ValueError(f"not a packed payload: {row!r}")
