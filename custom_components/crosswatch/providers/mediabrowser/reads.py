"""Reading a Jellyfin or Emby library: every page of a query, the episodes' series, the payloads.

Kept apart from the adapter because a read is the one place where the server's items become
the engine's: what makes an item identifiable, and what makes a read complete, is decided here.

Reads page through the user's items (`StartIndex`/`Limit`, checked against `TotalRecordCount`).
Episodes carry their series' ProviderIds, fetched once per read by `SeriesId`. A page that fails
midway (a malformed reply included) ends the read as partial; episodes whose series could not be
fetched, or that a lookup did not return, are left out and the read is partial: keyed without
their series' ids they would look like other items, and their old keys like removals.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ...clients.mediabrowser import Item, MediaBrowserClient, UserData
from ...clients.off_loop import off_loop
from ...engine.ids import parse_provider_ids
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Feature, Listed, Payload, Rated, Watched
from ...engine.provider import AuthError, ProviderError, RateLimitError
from ...engine.ratings import RatingScale, to_normalized
from ...engine.snapshot import Completeness
from ..client_errors import HttpError

# Series fetched per request by id: keeps the URL well under common proxy limits.
SERIES_PER_REQUEST: Final = 50

ALL_TYPES: Final = ("Movie", "Series", "Episode")
# What each feature reads: item types and server-side filters.
QUERIES: Final[Mapping[Feature, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    Feature.HISTORY: (("Movie", "Episode"), ("IsPlayed",)),
    Feature.WATCHLIST: (ALL_TYPES, ("IsFavorite",)),
    # Neither server can filter on "has a rating": ratings read the whole library.
    Feature.RATINGS: (ALL_TYPES, ()),
}
_MEDIA_TYPES: Final = {"Movie": MediaType.MOVIE, "Series": MediaType.SHOW}
# Errors that must reach the engine as they are instead of becoming a partial read.
FATAL: Final = (AuthError, RateLimitError)
_NO_USER_DATA: Final = UserData()


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One item of the server's library, as the engine sees it, with the user's data."""

    id: str
    item: MediaItem
    user_data: UserData


@dataclass(frozen=True, slots=True)
class Scan:
    """Library items read for one query, and the evidence of how complete the read was."""

    items: tuple[LibraryItem, ...]
    completeness: Completeness
    # The server's clock when it answered the first page: a change it saved after that moment
    # may be missing from the scan, one saved before it is in (see `changes_since`).
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """The items whose user data the server saved since a moment, read as a scan reads.

    `scan` holds those the engine can identify; `listed` is the id of every row the server
    listed, identified or not: a row no longer identifiable leaves the read as a scan's would.
    """

    scan: Scan
    listed: tuple[str, ...]


async def changes_since(
    client: MediaBrowserClient,
    user_id: str,
    types: Sequence[str],
    since: datetime,
    *,
    most: int,
) -> Changes:
    """The user's items of `types` whose user data the server saved at or after `since`.

    The answer to `MinDateLastSavedForUser`, paged and checked as a scan is, with the played
    mark, favourite and rating of each item: a play, an unplay, a favourite or a rating changed
    since then all list their item. Its first page is counted: with nothing saved, one request
    answers. More than `most` changed items read as partial after that first page: paging
    through them would cost about what a scan costs.
    """
    rows, completeness, started_at = await _pages(
        client, user_id, types, (), saved_since=since, most=most
    )
    listed = tuple(row.id for row in rows if row.id is not None)
    return Changes(await _identified(client, user_id, rows, completeness, started_at), listed)


async def scan(
    client: MediaBrowserClient,
    user_id: str,
    types: Sequence[str],
    filters: Sequence[str],
) -> Scan:
    """Every item of one query that the engine can identify, and how complete the read was."""
    rows, completeness, started_at = await _pages(client, user_id, types, filters)
    return await _identified(client, user_id, rows, completeness, started_at)


async def _identified(
    client: MediaBrowserClient,
    user_id: str,
    rows: Sequence[Item],
    completeness: Completeness,
    started_at: datetime | None,
) -> Scan:
    """The rows the engine can identify, their episodes' series fetched; a failure is partial."""
    series_ids = sorted(
        {row.series_id for row in rows if row.type == "Episode" and row.series_id is not None}
    )
    series, failure = await _series(client, user_id, series_ids)
    if failure is not None:
        completeness = Completeness(
            all_pages=completeness.all_pages,
            expected_total=completeness.expected_total,
            seen_total=completeness.seen_total,
            failure=completeness.failure or failure,
        )
    namespace = client.flavour.namespace

    def identified() -> tuple[LibraryItem, ...]:
        return tuple(
            found
            for row in rows
            if (
                found := library_item(
                    row, series, namespace=namespace, series_failed=failure is not None
                )
            )
            is not None
        )

    return Scan(await off_loop(identified, size=len(rows)), completeness, started_at)


async def _pages(
    client: MediaBrowserClient,
    user_id: str,
    types: Sequence[str],
    filters: Sequence[str],
    *,
    saved_since: datetime | None = None,
    most: int | None = None,
) -> tuple[list[Item], Completeness, datetime | None]:
    """Every row of a query, page by page, how sure we are that it is all of them, and when.

    `saved_since` asks only for the items whose user data was saved since then; a first count
    above `most` ends the read there, as partial.

    The server counts the items on the first page and again on the one that should be the
    last: the pages between are not counted (a count is a query of its own on a large Jellyfin
    library), yet a library that changed during the read still shows in the two counts.
    """
    rows: dict[str, Item] = {}
    started_at: datetime | None = None
    seen, start = 0, 0
    total: int | None = None
    failure: str | None = None
    limit = client.page_size
    while True:
        counted = total is None or start + limit >= total
        try:
            page = await client.items_page(
                user_id,
                types=types,
                filters=filters,
                start=start,
                limit=limit,
                counted=counted,
                saved_since=saved_since,
            )
        except FATAL:
            raise
        except ProviderError as err:
            failure = f"the page at {start} failed: {err}"
            break
        if counted and page.total is None:
            failure = "the server did not say how many items there are"
        elif total is not None and page.total is not None and page.total != total:
            failure = f"the library changed while it was read ({total} -> {page.total})"
        elif total is None and most is not None and page.total is not None and page.total > most:
            failure = f"{page.total} items changed, more than {most} are worth reading apart"
        total = page.total if total is None else total
        started_at = started_at or page.served_at
        if failure is not None:
            break
        seen += len(page.items)
        for row in page.items:
            if row.id is not None:
                rows[row.id] = row
        start += len(page.items)
        if not page.items or total is None or start >= total:
            break
    completeness = Completeness(
        all_pages=failure is None, expected_total=total, seen_total=seen, failure=failure
    )
    return list(rows.values()), completeness, started_at


async def _series(
    client: MediaBrowserClient, user_id: str, series_ids: Sequence[str]
) -> tuple[dict[str, Item], str | None]:
    """The series of the episodes read, by id; a failure says why some are missing."""
    found: dict[str, Item] = {}
    for offset in range(0, len(series_ids), SERIES_PER_REQUEST):
        chunk = series_ids[offset : offset + SERIES_PER_REQUEST]
        try:
            page = await client.items_page(
                user_id, types=("Series",), start=0, limit=len(chunk), ids=chunk, counted=False
            )
        except FATAL:
            raise
        except ProviderError as err:
            return found, f"the series of some episodes could not be read: {err}"
        for row in page.items:
            if row.id is not None:
                found[row.id] = row
    if missing := len(set(series_ids) - set(found)):
        # A lookup answered short (a hiccup, or a series hidden from this user): its
        # episodes cannot be keyed the way other providers know them.
        return found, f"{missing} series asked for by id were not returned"
    return found, None


async def read_one(client: MediaBrowserClient, user_id: str, item_id: str) -> LibraryItem | None:
    """One library item by its id, with the user's data, built as a scan builds it.

    One request (two for an episode: its series lends the show's ids, as in a scan). None when
    the server has no such item (404, or 400 for an id it cannot parse) or cannot identify it.
    The client must raise the engine's errors (the adapter's translating client).
    """
    try:
        row = await client.item(user_id, item_id)
    except HttpError as err:
        if err.status in (400, 404):
            return None
        raise
    series: dict[str, Item] = {}
    failed = False
    if row.type == "Episode" and row.series_id is not None:
        try:
            series[row.series_id] = await client.item(user_id, row.series_id)
        except HttpError as err:
            if err.status not in (400, 404):
                raise
            failed = True
    return library_item(row, series, namespace=client.flavour.namespace, series_failed=failed)


def _ids(row: Item) -> dict[str, str]:
    parsed = parse_provider_ids(row.provider_ids)
    return {namespace.value: value for namespace, value in parsed.items()}


def library_item(
    row: Item, series: Mapping[str, Item], *, namespace: str, series_failed: bool
) -> LibraryItem | None:
    """The engine's view of one row, or None for rows it cannot identify."""
    item_id, kind = row.id, row.type
    if item_id is None or kind is None:
        return None
    data = row.user_data or _NO_USER_DATA
    ids = {**_ids(row), namespace: item_id}
    try:
        if kind in _MEDIA_TYPES:
            item = MediaItem.create(
                _MEDIA_TYPES[kind], title=row.name, year=row.production_year, ids=ids
            )
            return LibraryItem(item_id, item, data)
        if kind != "Episode":
            return None
        season, number = row.season_number, row.episode_number
        show = series.get(row.series_id) if row.series_id is not None else None
        if season is None or number is None or (show is None and series_failed):
            # Unnumbered episodes cannot be matched; episodes whose series failed to load
            # would be keyed by ids no other provider uses, so the read leaves them out.
            return None
        item = MediaItem.create(
            MediaType.EPISODE,
            title=(show.name if show is not None else None) or row.series_name,
            year=show.production_year if show is not None else None,
            ids=ids,
            show_ids=_ids(show) if show is not None else None,
            season=season,
            episode=number,
        )
    except ValueError:
        return None  # no id, no title: nothing to match it by
    return LibraryItem(item_id, item, data)


def payload(feature: Feature, found: LibraryItem) -> Payload | None:
    """What one library item holds for a feature, or None when it holds nothing there."""
    data = found.user_data
    match feature:
        case Feature.HISTORY:
            if data.played is not True:
                return None
            return Watched.from_state(data.play_count or 1, data.last_played)
        case Feature.WATCHLIST:
            return Listed() if data.is_favorite is True else None
        case Feature.RATINGS:
            if data.rating is None:
                return None
            try:
                value = to_normalized(RatingScale.DECIMAL_0_10, data.rating)
            except ValueError:
                return None
            return None if value is None else Rated(value)
