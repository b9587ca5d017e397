"""The library index writes resolve in, and how a requested item is found in it.

Kept apart from the adapter because resolving is where a write could land on the wrong item:
the rules for what counts as the same item live here, in one place.

Writes act on library items, so every requested item is first resolved to one:
1. by our own item id, when the item came from this server;
2. by any external id (ProviderIds in any casing; episodes by the series' ids and numbering);
3. failing that, by an *exact* title and year match, only when exactly one library item has
   that title and year and none of its ids contradict the requested item. This is a weak match
   (the adapter counts it as `weak_matches`). Anything looser is refused: items without
   ProviderIds are the engine's write-through shadows' job (see engine/shadow.py), not
   guesswork's.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
import marshal
from typing import cast
import zlib

from ...clients.mediabrowser.models import UserData
from ...engine.ids import LOCAL_NAMESPACES, Namespace
from ...engine.items import MediaItem, MediaType, weak_key
from ...engine.packed import CHUNK, ItemRow, item_row, row_item
from .reads import LibraryItem, Scan


@dataclass(frozen=True, slots=True)
class Library:
    """Every item of the library, indexed for resolving writes."""

    built_at: float
    complete: bool
    reusable: bool  # complete, not empty, no smaller than the index before: fit to keep
    by_id: Mapping[str, LibraryItem]
    by_token: Mapping[str, tuple[LibraryItem, ...]]
    by_title: Mapping[str, tuple[LibraryItem, ...]]
    items: tuple[LibraryItem, ...] = ()  # as the scan listed them: what the maps are made of

    @property
    def count(self) -> int:
        """How many distinct items the index holds."""
        return len(self.by_id)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The library items a requested item stands for, and whether only its title said so."""

    targets: tuple[LibraryItem, ...]
    weak: bool = False


def index(scan: Scan, previous: Library | PackedLibrary | None, now: float) -> Library:
    """The index of a whole-library scan; `previous` is the index it replaces."""
    complete = scan.completeness.complete
    return _indexed(
        scan.items,
        now,
        complete,
        # An empty index is never kept: asking again costs next to nothing if it is true.
        complete and bool(scan.items) and (previous is None or len(scan.items) >= previous.count),
    )


def _indexed(
    items: tuple[LibraryItem, ...], built_at: float, complete: bool, reusable: bool
) -> Library:
    by_token: dict[str, list[LibraryItem]] = {}
    by_title: dict[str, list[LibraryItem]] = {}
    for found in items:
        for text in (*found.item.tokens, *found.item.local_tokens):
            by_token.setdefault(text, []).append(found)
        if found.item.title and found.item.year:
            by_title.setdefault(weak_key(found.item), []).append(found)
    return Library(
        built_at,
        complete,
        reusable,
        {found.id: found for found in items},
        {text: tuple(items) for text, items in by_token.items()},
        {text: tuple(items) for text, items in by_title.items()},
        items,
    )


# A library item as plain values: its id, its item, and the user's data field by field.
type _UserDataRow = tuple[
    float | None, bool | None, int | None, str | None, bool | None, int | None, frozenset[str]
]
type _ItemRow = tuple[str, ItemRow, _UserDataRow]


@dataclass(frozen=True, slots=True)
class PackedLibrary:
    """A write index kept between runs: the scan's items as compressed rows, without the maps.

    At 100,000 items the index is tens of megabytes of objects the cycle collector walks;
    packed, a few megabytes of bytes (issue 16). `unpack_library` (in the executor) makes the
    same index again; what decides whether it may be used (`built_at`, `reusable`) is at hand.
    """

    built_at: float
    complete: bool
    reusable: bool
    chunks: tuple[bytes, ...]
    count: int  # distinct items, as `Library.count`
    rows: int  # items as the scan listed them


def pack_library(library: Library) -> PackedLibrary:
    """A write index, packed (pure; for the executor)."""
    items = library.items
    chunks = tuple(
        zlib.compress(marshal.dumps(_rows(items[start : start + CHUNK])), 1)
        for start in range(0, len(items), CHUNK)
    )
    return PackedLibrary(
        library.built_at, library.complete, library.reusable, chunks, library.count, len(items)
    )


def unpack_library(packed: PackedLibrary) -> Library:
    """The write index `pack_library` packed, made again from its items (pure; for the executor)."""
    items: list[LibraryItem] = []
    for chunk in packed.chunks:
        # Only bytes `pack_library` made in this process are ever unpacked: nothing read from
        # a service or a file, so `marshal`'s lack of safety against crafted input is moot.
        rows = cast(tuple[_ItemRow, ...], marshal.loads(zlib.decompress(chunk)))  # noqa: S302
        items.extend(
            LibraryItem(item_id, row_item(item), UserData(*data)) for item_id, item, data in rows
        )
    return _indexed(tuple(items), packed.built_at, packed.complete, packed.reusable)


def _rows(items: Iterable[LibraryItem]) -> tuple[_ItemRow, ...]:
    return tuple(
        (
            found.id,
            item_row(found.item),
            (
                found.user_data.rating,
                found.user_data.played,
                found.user_data.play_count,
                found.user_data.last_played_date,
                found.user_data.is_favorite,
                found.user_data.playback_position_ticks,
                found.user_data.present,
            ),
        )
        for found in items
    )


def resolve(library: Library, item: MediaItem, namespace: str) -> Resolved:
    """The library items a requested item stands for (every copy of it), or none.

    `namespace` is this server's kind ("jellyfin" or "emby"): local ids in it are ours.
    """
    own = f"{namespace}:"
    for text in item.local_tokens:
        if text.startswith(own) and "#" not in text:
            found = library.by_id.get(text.removeprefix(own))
            # Another server of the same kind may use the same id for something else (Emby
            # ids are small numbers): the id counts only when the item agrees with it.
            if found is not None and _agrees(found.item, item):
                return Resolved((found,))
    matches: dict[str, LibraryItem] = {}
    for text in item.tokens:
        for found in library.by_token.get(text, ()):
            if _same_kind(found.item, item):
                matches.setdefault(found.id, found)
    if matches:
        return Resolved(tuple(matches.values()))
    return _by_title(library, item)


def _by_title(library: Library, item: MediaItem) -> Resolved:
    """The one library item with exactly this title and year, if no id contradicts it."""
    if not item.title or not item.year:
        return Resolved(())
    candidates = [
        found
        for found in library.by_title.get(weak_key(item), ())
        if _same_kind(found.item, item) and not _contradicts(found.item, item)
    ]
    if len(candidates) != 1:
        return Resolved(())
    return Resolved((candidates[0],), weak=True)


def _same_kind(found: MediaItem, wanted: MediaItem) -> bool:
    family = {MediaType.ANIME: MediaType.SHOW}
    return family.get(found.type, found.type) is family.get(wanted.type, wanted.type)


def _agrees(found: MediaItem, wanted: MediaItem) -> bool:
    """Whether a library item found by its local id is the requested item."""
    if found.type is not wanted.type:
        return False
    return bool(set(found.tokens) & set(wanted.tokens)) or weak_key(found) == weak_key(wanted)


def _contradicts(found: MediaItem, wanted: MediaItem) -> bool:
    """Whether the two items carry different ids in one namespace (a remake, a namesake)."""
    for mine, theirs in ((found.ids(), wanted.ids()), (found.show_ids(), wanted.show_ids())):
        for namespace, value in mine.items():
            if Namespace(namespace) in LOCAL_NAMESPACES:
                continue  # local ids differ between servers by nature
            if theirs.get(namespace) not in (None, value):
                return True
    return False
