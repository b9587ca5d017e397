"""What a `/sync/...` write sends, and what Trakt answers to it, as typed immutable values.

A write Trakt answered 2xx was taken, whatever its body says (or fails to say): its reply is
parsed without raising, and what cannot be read in it is left unsaid.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from ..http import JsonValue
from .models import Ids, IdValue, ListedIds, format_time, id_value, integral, json_object, whole

# -- what a sync write sends ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncDetail:
    """What a write says of one object besides where it is: a play's date, or a rating."""

    watched_at: datetime | None = None
    rating: int | None = None
    rated_at: datetime | None = None

    def to_json(self) -> dict[str, JsonValue]:
        """The fields set, as Trakt reads them."""
        fields: dict[str, JsonValue] = {}
        if self.watched_at is not None:
            fields["watched_at"] = format_time(self.watched_at)
        if self.rating is not None:
            fields["rating"] = self.rating
        if self.rated_at is not None:
            fields["rated_at"] = format_time(self.rated_at)
        return fields


@dataclass(frozen=True, slots=True)
class SyncEpisode:
    """An episode under a season of a show, by its number."""

    number: int
    detail: SyncDetail = SyncDetail()

    def to_json(self) -> dict[str, JsonValue]:
        """`{"number": ...}` with the detail's fields."""
        return {"number": self.number, **self.detail.to_json()}


@dataclass(frozen=True, slots=True)
class SyncSeason:
    """A season under a show: the season itself, or (with `episodes`) only those episodes."""

    number: int
    detail: SyncDetail = SyncDetail()
    episodes: tuple[SyncEpisode, ...] | None = None

    def to_json(self) -> dict[str, JsonValue]:
        """The season object; one that lists episodes means only those."""
        if self.episodes is None:
            return {"number": self.number, **self.detail.to_json()}
        return {"number": self.number, "episodes": [e.to_json() for e in self.episodes]}


@dataclass(frozen=True, slots=True)
class SyncObject:
    """One object of a top-level array, by its ids; a show may carry seasons instead."""

    ids: Ids
    detail: SyncDetail = SyncDetail()
    seasons: tuple[SyncSeason, ...] | None = None

    def to_json(self) -> dict[str, JsonValue]:
        """`{"ids": ...}` with the detail's fields, or with the seasons under it."""
        if self.seasons is None:
            return {"ids": dict(self.ids), **self.detail.to_json()}
        return {"ids": dict(self.ids), "seasons": [s.to_json() for s in self.seasons]}


@dataclass(frozen=True, slots=True)
class SyncBody:
    """The body of a `/sync/...` write: its four top-level arrays."""

    movies: tuple[SyncObject, ...] = ()
    shows: tuple[SyncObject, ...] = ()
    seasons: tuple[SyncObject, ...] = ()
    episodes: tuple[SyncObject, ...] = ()

    def to_json(self) -> dict[str, JsonValue]:
        """The arrays that hold anything, as Trakt reads them."""
        arrays = {
            "movies": self.movies,
            "shows": self.shows,
            "seasons": self.seasons,
            "episodes": self.episodes,
        }
        return {name: [o.to_json() for o in objects] for name, objects in arrays.items() if objects}


# -- what a sync write answers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotFoundSeason:
    """A season a not_found entry names; without a list of episodes, the whole season."""

    number: int | None
    episodes: tuple[int | None, ...] | None  # the episode numbers listed (None: unreadable)


@dataclass(frozen=True, slots=True)
class NotFoundEntry:
    """One object Trakt could not match, as far as it said.

    `names_seasons` tells a show that was not found at all from one whose seasons (or some of
    them) were not: the reply had a "seasons" key, even if what it held was not a list.
    """

    ids: ListedIds  # never empty
    names_seasons: bool = False
    seasons: tuple[NotFoundSeason, ...] | None = None  # None unless "seasons" held a list


@dataclass(frozen=True, slots=True)
class SyncReply:
    """A write's reply: counts per array, and what was not found (None: not said item by item).

    Only the arrays a reply held as lists are in `not_found`.
    """

    added: Mapping[str, int] = field(default_factory=dict)
    deleted: Mapping[str, int] = field(default_factory=dict)
    existing: Mapping[str, int] = field(default_factory=dict)
    not_found: Mapping[str, tuple[NotFoundEntry, ...]] | None = None


def parse_sync_reply(raw: object) -> SyncReply:
    """A write's reply; anything unreadable in it is left unsaid, never raised."""
    body = json_object(raw)
    not_found = body.get("not_found")
    listed: dict[str, tuple[NotFoundEntry, ...]] | None = None
    if isinstance(not_found, dict):
        listed = {
            str(name): tuple(e for e in map(_not_found_entry, entries) if e is not None)
            for name, entries in not_found.items()
            if isinstance(entries, list)
        }
    return SyncReply(
        _counts(body.get("added")),
        _counts(body.get("deleted")),
        _counts(body.get("existing")),
        MappingProxyType(listed) if listed is not None else None,
    )


def _not_found_entry(raw: object) -> NotFoundEntry | None:
    """An entry that could match a request: its ids a non-empty object of ids or nulls."""
    if not isinstance(raw, dict):
        return None
    ids = raw.get("ids")
    if not isinstance(ids, dict) or not ids:
        return None
    listed: dict[str, IdValue | None] = {}
    for name, value in ids.items():
        usable = id_value(value)
        if usable is None and value is not None:
            return None  # an id that is none: it matches nothing we sent
        listed[str(name)] = usable
    names_seasons = "seasons" in raw
    seasons = raw.get("seasons")
    parsed: tuple[NotFoundSeason, ...] | None = None
    if isinstance(seasons, list):
        parsed = tuple(
            NotFoundSeason(integral(s.get("number")), _episodes(s.get("episodes")))
            for s in seasons
            if isinstance(s, dict)
        )
    return NotFoundEntry(MappingProxyType(listed), names_seasons, parsed)


def _episodes(raw: object) -> tuple[int | None, ...] | None:
    if not isinstance(raw, list):
        return None
    return tuple(integral(e.get("number")) for e in raw if isinstance(e, dict))


def _counts(raw: object) -> Mapping[str, int]:
    counts = {str(k): v for k, value in json_object(raw).items() if (v := whole(value)) is not None}
    return MappingProxyType(counts)
