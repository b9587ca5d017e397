"""One scan of a Plex server's library: the records watched state and ratings are read from.

Watched state and ratings live on the server's library items (`viewCount`, `lastViewedAt`,
`userRating`, `lastRatedAt`), so one scan of every movie and show section serves both features
(the adapter decides how long a scan may be reused). A scan reads each section in pages and
adds up what the pages announced and reached, so a page that failed leaves the scan partial,
never short; a record it cannot make an item of counts against the features it would have held.

Items carry every id Plex gives them: the `guid` of the new agent (plex://...), its `Guid` list
(imdb/tmdb/tvdb), the legacy agents' guids (`com.plexapp.agents.imdb://tt...?lang=en`,
`...thetvdb://<show>/<season>/<episode>`), HAMA's, and the server's ratingKey as the local
`plex_key`. Episodes take their show's ids from the show records of the same section.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
import marshal
from types import MappingProxyType
from typing import cast
import zlib

from ...clients.off_loop import off_loop
from ...clients.plex import Metadata, PagedRead, PlexClient, Section
from ...clients.plex.client import TYPE_EPISODE, TYPE_MOVIE, TYPE_SHOW
from ...engine.ids import Namespace, parse_plex_guid, plex_guid_ids
from ...engine.items import MediaItem, MediaType, normalize_title, weak_key
from ...engine.packed import (
    CHUNK,
    ItemRow,
    PayloadRow,
    item_row,
    payload_row,
    row_item,
    row_payload,
)
from ...engine.payloads import Feature, Rated, Watched
from ...engine.ratings import RatingScale, to_normalized
from ...engine.snapshot import Completeness

# The item types a scan reads from each kind of section.
SCANNED_TYPES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {"movie": (TYPE_MOVIE,), "show": (TYPE_SHOW, TYPE_EPISODE)}
)


@dataclass(frozen=True, slots=True)
class LibraryRecord:
    """One library item of the server: its item, ratingKey, watched state and rating."""

    item: MediaItem
    rating_key: str
    watched: Watched | None
    rated: Rated | None


@dataclass(frozen=True, slots=True)
class Library:
    """One scan of the server's library, indexed by every token and by weak title key."""

    records: tuple[LibraryRecord, ...]
    completeness: Completeness
    unreadable: Mapping[Feature, int]  # records a feature would have needed but could not use
    read_at: float
    by_token: Mapping[str, tuple[int, ...]]
    by_title: Mapping[str, tuple[int, ...]]
    # Complete, and no smaller than the scan before it: fit to be served again without asking.
    reusable: bool = False
    stale: bool = False  # a write happened since: do not serve reads from it
    scan: int = 0  # which of the provider's scans this is (a packed one keeps its number)

    @property
    def count(self) -> int:
        """How many records the scan holds."""
        return len(self.records)

    @classmethod
    def build(
        cls,
        records: Sequence[LibraryRecord],
        completeness: Completeness,
        unreadable: Mapping[Feature, int],
        read_at: float,
    ) -> Library:
        """Index the records (not reusable until the adapter says so)."""
        by_token: dict[str, list[int]] = {}
        by_title: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            for text in (*record.item.tokens, *record.item.local_tokens):
                by_token.setdefault(text, []).append(index)
            by_title.setdefault(weak_key(record.item), []).append(index)
        return cls(
            tuple(records),
            completeness,
            MappingProxyType(dict(unreadable)),
            read_at,
            MappingProxyType({k: tuple(v) for k, v in by_token.items()}),
            MappingProxyType({k: tuple(v) for k, v in by_title.items()}),
        )

    def find(self, item: MediaItem) -> tuple[list[LibraryRecord], bool]:
        """Every copy of `item` in the library, and whether the match is by ids (strong).

        Copies of one film in two libraries share its ids, and each keeps its own state, so a
        write goes to all of them. Without a shared id, a single item of the same type, exact
        title and year is a weak match; several such items match nothing.

        A ratingKey counts only after the external ids found nothing, and only for an item of
        the same type and title: another Plex server's ratingKey (a Plex to Plex pair) looks
        just like ours and names a different item.
        """
        found: dict[int, None] = {}
        for text in item.tokens:
            found.update(dict.fromkeys(self.by_token.get(text, ())))
        if not found:
            for text in item.local_tokens:
                found.update(
                    (i, None)
                    for i in self.by_token.get(text, ())
                    if same_title(self.records[i].item, item)
                )
        if found:
            return [self.records[i] for i in found], True
        if item.title is None or item.year is None:
            return [], False
        same = [
            i
            for i in self.by_title.get(weak_key(item), ())
            if self.records[i].item.type == item.type
        ]
        if len(same) == 1:
            return [self.records[same[0]]], False
        return [], False


# A record as plain values: its item, ratingKey, watched state and rating.
type _RecordRow = tuple[ItemRow, str, PayloadRow | None, PayloadRow | None]


@dataclass(frozen=True, slots=True)
class PackedLibrary:
    """A scan kept between runs: its records as compressed rows, without their indexes.

    At 100,000 records a live scan and its indexes are over 100 MB of objects the cycle
    collector walks; packed, a few megabytes of bytes (issue 16). Everything a run decides
    before it needs the records (`reusable`, `stale`, `read_at`, `scan`) is at hand;
    `unpack_library` (in the executor) makes the scan live again, indexes and all.
    """

    chunks: tuple[bytes, ...]
    count: int
    completeness: Completeness
    unreadable: Mapping[Feature, int]
    read_at: float
    reusable: bool
    stale: bool
    scan: int


def pack_library(library: Library) -> PackedLibrary:
    """A scan, packed (pure; for the executor)."""
    chunks: list[bytes] = []
    records = library.records
    for start in range(0, len(records), CHUNK):
        rows = tuple(_record_row(record) for record in records[start : start + CHUNK])
        chunks.append(zlib.compress(marshal.dumps(rows), 1))
    return PackedLibrary(
        tuple(chunks),
        len(records),
        library.completeness,
        library.unreadable,
        library.read_at,
        library.reusable,
        library.stale,
        library.scan,
    )


def unpack_library(packed: PackedLibrary) -> Library:
    """The scan `pack_library` packed, indexed again (pure; for the executor)."""
    records: list[LibraryRecord] = []
    for chunk in packed.chunks:
        # Only bytes `pack_library` made in this process are ever unpacked: nothing read from
        # a service or a file, so `marshal`'s lack of safety against crafted input is moot.
        rows = cast(tuple[_RecordRow, ...], marshal.loads(zlib.decompress(chunk)))  # noqa: S302
        records.extend(
            LibraryRecord(
                row_item(item),
                rating_key,
                None if watched is None else cast(Watched, row_payload(watched)),
                None if rated is None else cast(Rated, row_payload(rated)),
            )
            for item, rating_key, watched, rated in rows
        )
    built = Library.build(records, packed.completeness, packed.unreadable, packed.read_at)
    return replace(built, reusable=packed.reusable, stale=packed.stale, scan=packed.scan)


def _record_row(record: LibraryRecord) -> _RecordRow:
    return (
        item_row(record.item),
        record.rating_key,
        None if record.watched is None else payload_row(record.watched),
        None if record.rated is None else payload_row(record.rated),
    )


async def scan(
    client: PlexClient, sections: Sequence[Section], now: Callable[[], float]
) -> Library:
    """Read every movie and show section into one scan, dated when the last page came in.

    Whether the scan may be served again is the adapter's call: it is built not reusable.
    """
    records: list[LibraryRecord] = []
    unreadable = {Feature.HISTORY: 0, Feature.RATINGS: 0}
    failures: list[str] = []
    expected: int | None = 0
    seen = 0
    all_pages = True

    def account(what: str, paged: PagedRead) -> None:
        nonlocal expected, seen, all_pages
        seen += len(paged.items)
        if expected is not None:
            expected = None if paged.expected_total is None else expected + paged.expected_total
        all_pages = all_pages and paged.all_pages
        if paged.failure:
            failures.append(f"{what}: {paged.failure}")

    for section in sections:
        if section.type == "movie":
            movies = await client.section_items(section.key, TYPE_MOVIE)
            account(f"section {section.key} movies", movies)
            await off_loop(
                partial(_collect, records, unreadable, movies.items, MediaType.MOVIE, {}),
                size=len(movies.items),
            )
        elif section.type == "show":
            shows = await client.section_items(section.key, TYPE_SHOW)
            account(f"section {section.key} shows", shows)
            show_map = await off_loop(
                partial(_collect, records, unreadable, shows.items, MediaType.SHOW, {}),
                size=len(shows.items),
            )
            episodes = await client.section_items(section.key, TYPE_EPISODE)
            account(f"section {section.key} episodes", episodes)
            await off_loop(
                partial(_collect, records, unreadable, episodes.items, MediaType.EPISODE, show_map),
                size=len(episodes.items),
            )
    completeness = Completeness(
        all_pages=all_pages,
        expected_total=expected,
        seen_total=seen,
        failure="; ".join(failures) or None,
    )
    # Indexing 100,000 records held the event loop for 0.3 - 0.5 s: the executor builds it.
    built = partial(Library.build, records, completeness, unreadable, now())
    return await off_loop(built, size=len(records))


async def read_one(client: PlexClient, rating_key: str) -> LibraryRecord | None:
    """One library item by its ratingKey, built as a scan builds it; None if there is none.

    An episode's show is read too: the episode takes its show's ids from it, as in a scan. A
    record that cannot be made an item is a ValueError (never an item with fewer ids than a
    scan gives it, which would key it apart from its baseline entry).
    """
    row = await client.library_item(rating_key)
    if row is None:
        return None
    records: list[LibraryRecord] = []
    unreadable = {Feature.HISTORY: 0, Feature.RATINGS: 0}
    if row.type == "episode":
        parent = row.grandparent_rating_key
        show = await client.library_item(parent) if parent is not None else None
        shows = _collect([], dict(unreadable), [show], MediaType.SHOW, {}) if show else {}
        _collect(records, unreadable, [row], MediaType.EPISODE, shows)
    elif row.type in ("movie", "show"):
        kind = MediaType.MOVIE if row.type == "movie" else MediaType.SHOW
        _collect(records, unreadable, [row], kind, {})
    else:
        return None  # music, photos, clips: nothing a pair syncs
    if not records:
        raise ValueError(f"the library item {rating_key} could not be read")
    return records[0]


def same_title(ours: MediaItem, theirs: MediaItem) -> bool:
    """Whether two items agree on type and, where both have one, on the normalized title."""
    if ours.type is not theirs.type:
        return False
    if ours.title is None or theirs.title is None:
        return True
    return normalize_title(ours.title) == normalize_title(theirs.title)


# -- mapping Plex records to items and payloads -----------------------------------------------


def plex_ids(row: Metadata) -> dict[str, str]:
    """The ids of the whole item a record names (a ValueError when its Guid list was unreadable)."""
    return {str(k): v for k, v in plex_guid_ids(_guids(row)).items()}


def _guids(row: Metadata) -> tuple[str, ...]:
    """The record's guids; a ValueError when the client could not read its Guid list."""
    if row.guids is None:
        raise ValueError("a record whose Guid list is not a list")
    return row.guids


def _rating_key(row: Metadata) -> str:
    if row.rating_key is None:
        raise ValueError("a record without its ratingKey")
    return row.rating_key


@dataclass(frozen=True, slots=True)
class _Show:
    title: str | None
    year: int | None
    ids: Mapping[str, str]


def _collect(
    records: list[LibraryRecord],
    unreadable: dict[Feature, int],
    rows: Iterable[Metadata],
    kind: MediaType,
    shows: Mapping[str, _Show],
) -> dict[str, _Show]:
    """Append the records of `rows`; the shows among them by ratingKey (for their episodes)."""
    found: dict[str, _Show] = {}
    for row in rows:
        watched, rated = _watched(row), _rated(row)
        try:
            rating_key = _rating_key(row)
            if kind is MediaType.EPISODE:
                item = _episode(row, rating_key, shows)
            else:
                ids = plex_ids(row)
                item = MediaItem.create(
                    kind,
                    title=row.title,
                    year=row.year,
                    ids={**ids, Namespace.PLEX_KEY: rating_key},
                )
                if kind is MediaType.SHOW:
                    found[rating_key] = _Show(item.title, item.year, ids)
        except KeyError, ValueError, TypeError:
            # Only what a feature would have held counts against its completeness.
            if watched is not None:
                unreadable[Feature.HISTORY] += 1
            if rated is not None:
                unreadable[Feature.RATINGS] += 1
            continue
        records.append(LibraryRecord(item, rating_key, watched, rated))
    return found


def _episode(row: Metadata, rating_key: str, shows: Mapping[str, _Show]) -> MediaItem:
    parent = row.grandparent_rating_key
    show = shows.get(parent) if parent is not None else None
    season, number = row.parent_index, row.index
    own: dict[str, str] = {}
    show_ids: dict[str, str] = dict(show.ids) if show else {}
    for guid in _guids(row):
        parsed = parse_plex_guid(guid)
        if parsed is None:
            continue
        if parsed.episode is not None:
            # A legacy agent's episode guid: the show's id and the episode's position.
            show_ids.setdefault(parsed.namespace, parsed.value)
            season = season if season is not None else parsed.season
            number = number if number is not None else parsed.episode
        elif parsed.season is None:
            own.setdefault(parsed.namespace, parsed.value)
    if show is None:
        # The show record was not read: its guid on the episode still names it.
        for namespace, value in plex_guid_ids([row.grandparent_guid or ""]).items():
            show_ids.setdefault(namespace, value)
    return MediaItem.create(
        MediaType.EPISODE,
        title=show.title if show else row.grandparent_title,
        year=show.year if show else None,
        ids={**own, Namespace.PLEX_KEY: rating_key},
        show_ids=show_ids,
        season=season,
        episode=number,
    )


def state_of(row: Metadata, feature: Feature) -> Watched | Rated | None:
    """What a record of `row` holds for `feature` (history: watched; ratings: rated)."""
    return _watched(row) if feature is Feature.HISTORY else _rated(row)


def held_by(record: LibraryRecord, feature: Feature) -> Watched | Rated | None:
    """What `record` holds for `feature`."""
    return record.watched if feature is Feature.HISTORY else record.rated


def holding(
    record: LibraryRecord, feature: Feature, state: Watched | Rated | None
) -> LibraryRecord:
    """`record` holding `state` for `feature` instead; its item and other feature unchanged."""
    if feature is Feature.HISTORY:
        return replace(record, watched=state if isinstance(state, Watched) else None)
    return replace(record, rated=state if isinstance(state, Rated) else None)


def _watched(row: Metadata) -> Watched | None:
    count = row.view_count or 0
    if count <= 0:
        return None
    return Watched.from_state(count, row.last_viewed_at)


def _rated(row: Metadata) -> Rated | None:
    if row.user_rating is None:
        return None
    try:
        value = to_normalized(RatingScale.HALF_STEPS_0_10, row.user_rating)
    except ValueError:
        return None
    return None if value is None else Rated(value, row.last_rated_at)
