"""Trakt's records as the engine's items and entries.

The client has already read each record's shape (`clients.trakt.models`); what is left here is
what only the engine can judge: whether a record names an item at all (ids or a title), and
whether its rating is one of Trakt's 1-10. A record that fails either is counted as unreadable,
never dropped in silence: it would look like an item the user removed.
"""

from collections.abc import Iterable
from datetime import datetime

from ...clients.trakt.models import HistoryRow, Media, RatingRow, RecordType, WatchlistRow
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Entry, Listed, Rated, Watched
from ...engine.ratings import RatingScale, to_normalized

_MEDIA_TYPES = {
    RecordType.MOVIE: MediaType.MOVIE,
    RecordType.SHOW: MediaType.SHOW,
    RecordType.SEASON: MediaType.SEASON,
    RecordType.EPISODE: MediaType.EPISODE,
}


def item_of(media: Media) -> MediaItem:
    """The item a record is about; ValueError when it names none (no ids and no title)."""
    kind = _MEDIA_TYPES[media.type]
    if kind in (MediaType.MOVIE, MediaType.SHOW):
        return MediaItem.create(kind, title=media.title, year=media.year, ids=media.ids)
    return MediaItem.create(
        kind,
        title=media.title,
        year=media.year,
        ids=media.ids,
        show_ids=media.show_ids,
        season=media.season,
        episode=media.episode,
    )


def watchlist_entries(rows: Iterable[WatchlistRow]) -> tuple[list[Entry], int]:
    """Entries of watchlist records, and how many named no item."""
    entries: list[Entry] = []
    unreadable = 0
    for row in rows:
        try:
            entries.append(Entry(item_of(row.media), Listed(row.listed_at)))
        except ValueError:
            unreadable += 1
    return entries, unreadable


def history_entries(rows: Iterable[HistoryRow]) -> tuple[list[Entry], int]:
    """One entry per item with all its plays, and how many plays named no item."""
    unreadable = 0
    plays: dict[str, tuple[MediaItem, list[datetime]]] = {}
    for row in rows:
        try:
            item = item_of(row.media)
        except ValueError:
            unreadable += 1
            continue
        plays.setdefault(item.key, (item, []))[1].append(row.watched_at)
    history = [Entry(item, Watched.from_plays(dates)) for item, dates in plays.values()]
    return history, unreadable


def rating_entries(rows: Iterable[RatingRow]) -> tuple[list[Entry], int]:
    """Entries of rating records, and how many named no item or no rating on Trakt's scale."""
    entries: list[Entry] = []
    unreadable = 0
    for row in rows:
        try:
            item = item_of(row.media)
            value = to_normalized(RatingScale.INTEGER_1_10, row.rating)
        except ValueError:
            unreadable += 1
            continue
        if value is None:  # unrated: a rating record without a rating
            unreadable += 1
            continue
        entries.append(Entry(item, Rated(value, row.rated_at)))
    return entries, unreadable
