"""SIMKL's rows as the engine's items: the titles on the lists, the ratings, and their entries.

The client hands over typed rows; this module decides what they mean for sync. SIMKL's anime
seasons are series of their own, so they keep only anime-native ids (see ANIME_SERIES_IDS), and
a listed title's watched episodes become the history's entries, dated where SIMKL dates them.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from ...clients.simkl.models import ListedRow, Media, RatedRow
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Entry, Feature, Listed, Rated, Watched
from ...engine.provider import ProviderError
from ...engine.ratings import RatingScale, to_normalized

WATCHLIST_STATUS: Final = "plantowatch"
LIST_STATUSES: Final = ("plantowatch", "watching", "completed", "hold", "dropped")
# Ids that name the same title everywhere. SIMKL's slugs are its own and would collide with
# Trakt's in the shared "slug" namespace, so they are left out.
SHARED_IDS: Final = ("simkl", "imdb", "tmdb", "tvdb", "mal", "anidb", "anilist", "kitsu")
# SIMKL files each anime season as its own series but gives it the whole show's tvdb, tmdb and
# imdb ids; those would make "Attack on Titan season 2" the same item as the whole show, and
# its episode 1 the same as the show's S01E01. Anime series keep only anime-native ids.
ANIME_SERIES_IDS: Final = ("simkl", "mal", "anidb", "anilist", "kitsu")


class HasItem(Protocol):
    """A cached entry: a title on the lists or a rating, each about one item."""

    @property
    def item(self) -> MediaItem:
        """The item the entry is about."""
        ...


@dataclass(frozen=True, slots=True)
class Title:
    """One movie, show or anime on the user's lists, as far as sync needs it."""

    item: MediaItem
    status: str | None
    listed_at: datetime | None
    last_watched_at: datetime | None
    episodes: tuple[tuple[MediaItem, datetime | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Rating:
    """One rated title."""

    item: MediaItem
    value: int
    rated_at: datetime | None


type View[T: HasItem] = Mapping[str, Mapping[str, T]]  # bucket -> cache key -> entry


def parse_titles(bucket: str, rows: Sequence[ListedRow]) -> tuple[list[Title], list[MediaItem]]:
    """A bucket's listed titles (a list row never says that a title left the lists)."""
    return [_parse_title(bucket, row) for row in rows], []


def parse_ratings(bucket: str, rows: Sequence[RatedRow]) -> tuple[list[Rating], list[MediaItem]]:
    """A bucket's ratings, and the items a delta lists without one (their rating was deleted)."""
    rated: list[Rating] = []
    unrated: list[MediaItem] = []
    for row in rows:
        item = media_item(bucket, row.media)
        if row.rating is None:
            unrated.append(item)
        else:
            rated.append(Rating(item, row.rating, row.rated_at))
    return rated, unrated


def media_item(bucket: str, media: Media) -> MediaItem:
    """The item a row's media object names."""
    wanted: tuple[str, ...] = SHARED_IDS
    if media.movie:
        media_type = MediaType.MOVIE
    elif bucket == "anime":
        media_type, wanted = MediaType.ANIME, ANIME_SERIES_IDS
    else:
        media_type = MediaType.SHOW
    try:
        return MediaItem.create(
            media_type,
            title=media.title,
            year=media.year,
            ids={k: v for k, v in media.ids.items() if k in wanted},
        )
    except ValueError as err:
        raise ProviderError(f"a SIMKL {bucket} row names no title: {err}") from err


def _parse_title(bucket: str, row: ListedRow) -> Title:
    item = media_item(bucket, row.media)
    if not row.episodes:  # every movie, and every show without watched episodes
        return Title(item, row.status, row.added_to_watchlist_at, row.last_watched_at, ())
    show_ids = item.ids()
    episodes = tuple(
        (
            MediaItem.create(
                MediaType.EPISODE,
                title=item.title,
                year=item.year,
                show_ids=show_ids,
                season=episode.season,
                episode=episode.number,
            ),
            episode.watched_at,
        )
        for episode in row.episodes
    )
    return Title(item, row.status, row.added_to_watchlist_at, row.last_watched_at, episodes)


def _watched(when: datetime | None) -> Watched:
    return Watched.from_plays((when,)) if when else Watched.from_state(1, None)


def list_entries(feature: Feature, view: View[Title]) -> Iterator[Entry]:
    """The watchlist or the history the lists of titles hold."""
    for titles in view.values():
        for title in titles.values():
            if feature is Feature.WATCHLIST:
                if title.status == WATCHLIST_STATUS:
                    yield Entry(title.item, Listed(title.listed_at))
                continue
            for episode, watched_at in title.episodes:
                yield Entry(episode, _watched(watched_at))
            if title.status == "completed" and (
                title.item.type is MediaType.MOVIE or not title.episodes
            ):
                yield Entry(title.item, _watched(title.last_watched_at))


def rating_entries(feature: Feature, view: View[Rating]) -> Iterator[Entry]:
    """The ratings the ratings cache holds."""
    del feature  # the ratings cache holds ratings only
    for ratings in view.values():
        for rating in ratings.values():
            value = to_normalized(RatingScale.INTEGER_1_10, rating.value)
            if value is not None:
                yield Entry(rating.item, Rated(value, rating.rated_at))
