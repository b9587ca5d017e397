"""What a provider knows about an item for one feature: listed, watched or rated.

Every payload can merge with another copy of itself, because one provider sometimes lists the
same item twice (a 4K and an HD library on Plex) and the snapshot folds such copies into one.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from .items import MediaItem


class Feature(StrEnum):
    """What a pair keeps in sync."""

    WATCHLIST = "watchlist"
    HISTORY = "history"
    RATINGS = "ratings"


@dataclass(frozen=True, slots=True)
class Listed:
    """On the watchlist, since `listed_at` where the provider says."""

    listed_at: datetime | None = None

    def merge(self, other: Listed) -> Listed:
        """The earliest known listing wins: that is when the user listed it."""
        if self.listed_at is None or (other.listed_at and other.listed_at < self.listed_at):
            return other
        return self


@dataclass(frozen=True, slots=True)
class Watched:
    """Watch history of one item.

    Providers that keep individual plays fill `plays` (sorted, oldest first). Providers that only
    keep a watched state give `play_count` and `last_watched_at`. `play_count` is never less than
    the number of known plays, and a watched item has a play count of at least 1.
    """

    plays: tuple[datetime, ...] = ()
    play_count: int = 1
    last_watched_at: datetime | None = None

    @classmethod
    def from_plays(cls, plays: tuple[datetime, ...] | list[datetime]) -> Watched:
        """History from individual plays (Trakt, SIMKL episodes)."""
        ordered = tuple(sorted(plays))
        return cls(ordered, max(1, len(ordered)), ordered[-1] if ordered else None)

    @classmethod
    def from_state(cls, play_count: int, last_watched_at: datetime | None) -> Watched:
        """History from a watched state (Plex viewCount/lastViewedAt, Jellyfin PlayCount)."""
        return cls((), max(1, play_count), last_watched_at)

    def merge(self, other: Watched) -> Watched:
        """Union of plays; the higher count and the later date."""
        plays = tuple(sorted(set(self.plays) | set(other.plays)))
        dates = [d for d in (self.last_watched_at, other.last_watched_at) if d is not None]
        return Watched(
            plays,
            max(self.play_count, other.play_count, len(plays)),
            max(dates) if dates else None,
        )


@dataclass(frozen=True, slots=True)
class Rated:
    """A rating on the normalized 1-10 scale (see ratings.py), rated at `rated_at`."""

    value: float
    rated_at: datetime | None = None

    def merge(self, other: Rated) -> Rated:
        """The most recent rating wins."""
        if other.rated_at and (self.rated_at is None or other.rated_at > self.rated_at):
            return other
        return self


type Payload = Listed | Watched | Rated


def dated_at(payload: Payload) -> datetime | None:
    """The service's date for what a payload says: listed, last watched or rated."""
    match payload:
        case Listed(listed_at=when) | Watched(last_watched_at=when) | Rated(rated_at=when):
            return when


@dataclass(frozen=True, slots=True)
class Entry:
    """One item in a feature snapshot, with what the provider knows about it."""

    item: MediaItem
    payload: Payload

    @property
    def key(self) -> str:
        """The canonical key of the item."""
        return self.item.key


def merge_payloads(first: Payload, second: Payload) -> Payload:
    """Merge two payloads of the same feature."""
    match first, second:
        case Listed(), Listed():
            return first.merge(second)
        case Watched(), Watched():
            return first.merge(second)
        case Rated(), Rated():
            return first.merge(second)
    raise TypeError(f"cannot merge {type(first).__name__} with {type(second).__name__}")


PAYLOAD_TYPES: Mapping[Feature, type[Listed] | type[Watched] | type[Rated]] = MappingProxyType(
    {Feature.WATCHLIST: Listed, Feature.HISTORY: Watched, Feature.RATINGS: Rated}
)
