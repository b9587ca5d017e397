"""The account's Plex watchlist (Discover): reading it into entries, and what a write goes by.

The watchlist is Plex's online one, not the server's. It holds movies and shows only, by Plex
metadata id. Discover leaves the external ids out of some rows; the client looks those up in
Discover's per-item metadata. A title still without an external id borrows the ids of the
library item sharing its plex guid: without them it could only meet the same title on the other
side of a pair by its title and year (a weak match).

A write goes by the Plex metadata id: the item's own, else the library item's, else the one
Plex's metadata service matches to its imdb, tmdb or tvdb id.
"""

from collections.abc import Awaitable, Callable
from types import MappingProxyType

from ...clients.plex import Metadata, PlexClient
from ...clients.plex.client import TYPE_MOVIE, TYPE_SHOW
from ...engine.ids import Namespace
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Entry, Listed
from ...engine.snapshot import Completeness
from .library import Library, plex_ids

EXTERNAL = (Namespace.IMDB, Namespace.TMDB, Namespace.TVDB)
_KINDS = MappingProxyType({"movie": MediaType.MOVIE, "show": MediaType.SHOW})


async def read_watchlist(
    client: PlexClient, library_for_ids: Callable[[], Awaitable[Library | None]]
) -> tuple[list[Entry], Completeness]:
    """The watchlist's movies and shows, and how completely they were read.

    `library_for_ids` is asked at most once, and only when a title has no external id.
    """
    paged = await client.watchlist()
    entries: list[Entry] = []
    unreadable = 0
    library: Library | None = None
    for row in paged.items:
        kind = _KINDS.get(row.type or "")
        if kind is None:
            continue  # collections and the like: nothing the engine syncs
        try:
            item = _discover_item(row, kind)
        except ValueError, TypeError:
            unreadable += 1
            continue
        if not any(namespace in item.ids() for namespace in EXTERNAL):
            library = library or await library_for_ids()
            item = _enriched(item, library)
        entries.append(Entry(item, Listed(row.watchlisted_at)))
    failure = paged.failure
    if unreadable:
        note = f"{unreadable} records could not be read"
        failure = f"{failure}; {note}" if failure else note
    completeness = Completeness(
        all_pages=paged.all_pages,
        expected_total=paged.expected_total,
        seen_total=len(paged.items),
        failure=failure,
    )
    return entries, completeness


async def discover_target(
    client: PlexClient, library: Library | None, item: MediaItem
) -> tuple[str, MediaItem] | None:
    """The Plex metadata id a watchlist write goes by, and the item it names."""
    plex_id = item.ids().get(Namespace.PLEX)
    if plex_id is not None:
        return plex_id, item
    if library is not None:
        records, strong = library.find(item)
        for record in records if strong else ():
            if (library_id := record.item.ids().get(Namespace.PLEX)) is not None:
                return library_id, record.item
    plex_type = TYPE_MOVIE if item.type is MediaType.MOVIE else TYPE_SHOW
    kind = MediaType.MOVIE if item.type is MediaType.MOVIE else MediaType.SHOW
    ids = item.ids()
    for namespace in EXTERNAL:
        value = ids.get(namespace)
        if value is None:
            continue
        rows = await client.matches(plex_type, f"{namespace}://{value}")
        keyed = [(key, row) for row in rows if (key := row.rating_key)]
        if len({key for key, _ in keyed}) != 1:
            continue  # nothing, or several titles: ask by the next id
        rating_key, row = keyed[0]
        try:
            matched = _discover_item(row, kind)
        except ValueError, TypeError:
            matched = item
        return rating_key, matched
    return None


async def search_watchlistable(client: PlexClient, text: str) -> list[MediaItem]:
    """The films and shows Discover finds for `text`, best first, each by its Plex id.

    A hit without ids (a Guid list that could not be read) is left out: it could not be listed.
    """
    found: list[MediaItem] = []
    for row in await client.search(text):
        kind = _KINDS.get(row.type or "")
        if kind is None:
            continue
        try:
            found.append(_discover_item(row, kind))
        except ValueError, TypeError:
            continue
    return found


def _discover_item(row: Metadata, kind: MediaType) -> MediaItem:
    return MediaItem.create(kind, title=row.title, year=row.year, ids=plex_ids(row))


def _enriched(item: MediaItem, library: Library | None) -> MediaItem:
    """A watchlist item with the ids of the library item sharing its plex guid, if any."""
    if library is None:
        return item
    records, strong = library.find(item)
    for record in records if strong else ():
        if record.item.type is item.type:
            borrowed = MediaItem.from_tokens(
                item.type,
                title=item.title,
                year=item.year,
                season=None,
                episode=None,
                tokens=record.item.tokens,
                local_tokens=(),  # the ratingKey is the server's, not the watchlist's
            )
            return item.merged(borrowed)
    return item
