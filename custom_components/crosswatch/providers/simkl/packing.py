"""SIMKL's cached buckets as compressed bytes between runs, and back.

At 100,000 titles a bucket's entries and their index are about 80 MB of live objects, which the
cycle collector walks on every full pass (issue 16: at most 30 MB may stay held between runs).
Between runs a bucket is kept as `PackedBucket`: its entries as `marshal`ed tuples of plain
values, in compressed chunks of `CHUNK` (`engine/packed.py` does the same for snapshots). A run
that needs the entries (a delta to merge, writes to look titles up for) unpacks them in the
executor, once per run; one with nothing to do never does.

Packing and unpacking are pure: they run in a worker thread on values the loop no longer
changes. Round trips are exact (`tests/providers/test_simkl_packing.py`).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
import marshal
from typing import cast
import zlib

from ...engine.packed import ItemRow, item_row, moment, pack_rows, row_item, when
from .parse import HasItem, Rating, Title

type _Episode = tuple[ItemRow, str | None]
type TitleRow = tuple[ItemRow, str | None, str | None, str | None, tuple[_Episode, ...]]
type RatingRow = tuple[ItemRow, int, str | None]


@dataclass(frozen=True, slots=True)
class PackedBucket[T: HasItem]:
    """A bucket's entries in their order, packed: `count` of them in compressed chunks.

    `decode` turns one chunk back into its entries (the codec that packed them).
    """

    chunks: tuple[bytes, ...]
    count: int
    decode: Callable[[bytes], list[T]]

    def __len__(self) -> int:
        """How many entries are packed."""
        return self.count

    def entries(self) -> Iterator[T]:
        """The entries, in the order they were packed (pure; for the executor)."""
        for chunk in self.chunks:
            yield from self.decode(chunk)

    @property
    def size(self) -> int:
        """Bytes held."""
        return sum(len(chunk) for chunk in self.chunks)


def _loads(chunk: bytes) -> object:
    # Only bytes this module packed in this process are ever unpacked: nothing read from a
    # service or a file, so `marshal`'s lack of safety against crafted input is moot.
    return marshal.loads(zlib.decompress(chunk))  # noqa: S302


def _title_row(title: Title) -> TitleRow:
    return (
        item_row(title.item),
        title.status,
        when(title.listed_at),
        when(title.last_watched_at),
        tuple((item_row(episode), when(at)) for episode, at in title.episodes),
    )


def _titles(chunk: bytes) -> list[Title]:
    rows = cast(tuple[TitleRow, ...], _loads(chunk))
    return [
        Title(
            row_item(item),
            status,
            moment(listed_at),
            moment(last_watched_at),
            tuple((row_item(episode), moment(at)) for episode, at in episodes),
        )
        for item, status, listed_at, last_watched_at, episodes in rows
    ]


def _rating_row(rating: Rating) -> RatingRow:
    return (item_row(rating.item), rating.value, when(rating.rated_at))


def _ratings(chunk: bytes) -> list[Rating]:
    rows = cast(tuple[RatingRow, ...], _loads(chunk))
    return [Rating(row_item(item), value, moment(rated_at)) for item, value, rated_at in rows]


def pack_titles(titles: Iterable[Title]) -> PackedBucket[Title]:
    """A bucket of the lists of titles, packed (pure; for the executor)."""
    return PackedBucket(*pack_rows(titles, _title_row), _titles)


def pack_ratings(ratings: Iterable[Rating]) -> PackedBucket[Rating]:
    """A bucket of the ratings, packed (pure; for the executor)."""
    return PackedBucket(*pack_rows(ratings, _rating_row), _ratings)
