"""AniList's kept list, packed between runs.

The provider keeps its last complete read of the list so that a run with nothing to do costs one
request (anilist_kept.py). As live objects, a list of 100,000 entries is 100,000 `ListEntry`
objects and their dates, held for as long as Home Assistant runs and walked by every full pass
of the cycle collector. Packed (engine/packed.py's chunks), it is a few dozen `bytes` objects.
Packing and unpacking are pure and run in the executor; round trips are exact.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
import marshal
import zlib

from ..clients.anilist.models import ListEntry
from ..engine.packed import Plain, moment, pack_rows, when


@dataclass(frozen=True, slots=True)
class PackedListEntries:
    """List entries in order, packed: `count` of them in compressed chunks."""

    chunks: tuple[bytes, ...]
    count: int

    def __len__(self) -> int:
        """Number of entries, as `len()` of the entries packed."""
        return self.count

    @property
    def size(self) -> int:
        """Bytes held."""
        return sum(len(chunk) for chunk in self.chunks)


def pack_list_entries(entries: Iterable[ListEntry]) -> PackedListEntries:
    """List entries as compressed chunks (pure; for the executor)."""
    return PackedListEntries(*pack_rows(entries, _row))


def unpack_list_entries(packed: PackedListEntries) -> tuple[ListEntry, ...]:
    """The entries `pack_list_entries` packed, in their order (pure; for the executor)."""
    return tuple(_entries(packed))


def _entries(packed: PackedListEntries) -> Iterator[ListEntry]:
    entry = ListEntry
    for chunk in packed.chunks:
        # Only bytes `pack_list_entries` made in this process are unpacked: nothing read from a
        # service or a file, so `marshal`'s lack of safety against crafted input is moot.
        rows = marshal.loads(zlib.decompress(chunk))  # noqa: S302
        for (
            entry_id, media_id, status, score, progress, repeat, created, updated, completed,
            id_mal, title, year, media_format,
        ) in rows:  # fmt: skip
            yield entry(
                entry_id, media_id, status, score, progress, repeat, moment(created),
                moment(updated), None if completed is None else date.fromisoformat(completed),
                id_mal, title, year, media_format,
            )  # fmt: skip


def _row(entry: ListEntry) -> Plain:
    return (
        entry.id, entry.media_id, entry.status, entry.score, entry.progress, entry.repeat,
        when(entry.created_at), when(entry.updated_at),
        None if entry.completed_at is None else entry.completed_at.isoformat(), entry.id_mal,
        entry.title, entry.year, entry.format,
    )  # fmt: skip
