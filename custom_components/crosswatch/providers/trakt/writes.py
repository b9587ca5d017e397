"""Trakt sync writes: where each item goes in a body, and what the reply says of each.

Only ids Trakt matches on are sent, never a bare title (Trakt resolves one to "the most current"
item of that name). Seasons and episodes go under their show, by numbering, whenever the show's
ids are known: every provider agrees on numbering, far fewer on an episode's own ids. A reply
answers item by item only through `not_found`; without it, every item's outcome is unknown.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import json

from ...clients.scrobble import ScrobbleBody, ScrobbleKind
from ...clients.trakt.models import (
    ListedIds,
)
from ...clients.trakt.sync import (
    NotFoundEntry,
    SyncBody,
    SyncDetail,
    SyncEpisode,
    SyncObject,
    SyncReply,
    SyncSeason,
)
from ...engine.ids import Namespace, normalize_id
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Feature, Payload, Rated, Watched
from ...engine.provider import ProviderError, WriteOutcome, WriteRequest
from ...engine.ratings import RatingScale, from_normalized

NO_USABLE_ID = "no id Trakt can match on"
# Ids Trakt matches on, per top-level array of a sync body, with their JSON types.
_SYNC_IDS: Mapping[str, tuple[str, ...]] = {
    "movies": ("trakt", "slug", "imdb", "tmdb"),
    "shows": ("trakt", "slug", "imdb", "tmdb", "tvdb"),
    "seasons": ("trakt", "tmdb", "tvdb"),
    "episodes": ("trakt", "tvdb", "imdb", "tmdb"),
}
_STRING_IDS = frozenset({"imdb", "slug"})
# What history and watchlist categories a write to one top-level array of a sync body touches.
_HISTORY_CATEGORY: Mapping[str, str] = {
    "movies": "movies",
    "shows": "episodes",
    "seasons": "episodes",
    "episodes": "episodes",
}
# Trakt takes what is watched off the watchlist: a movie; an episode's show, season and itself.
_CLEARED_BY_PLAYS: Mapping[str, tuple[str, ...]] = {
    "movies": ("movies",),
    "shows": ("shows", "seasons", "episodes"),
    "seasons": ("shows", "seasons", "episodes"),
    "episodes": ("shows", "seasons", "episodes"),
}
_NAMESPACES: Mapping[str, Namespace] = {
    "trakt": Namespace.TRAKT,
    "slug": Namespace.SLUG,
    "imdb": Namespace.IMDB,
    "tmdb": Namespace.TMDB,
    "tvdb": Namespace.TVDB,
}

type Category = tuple[Feature, str]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an item goes in a sync body: a top-level array, or nested under its show."""

    array: str
    ids: Mapping[str, int | str]
    season: int | None = None
    episode: int | None = None

    @property
    def nested(self) -> bool:
        """Whether the item goes under its show (a season or episode by its numbering)."""
        return self.array == "shows" and self.season is not None


def placement(item: MediaItem) -> Placement | None:
    """Where `item` goes in a sync body, or None when it has no id Trakt could match on."""
    own = item.ids()
    match item.type:
        case MediaType.MOVIE:
            ids = _sync_ids(own, "movies")
            return Placement("movies", ids) if ids else None
        case MediaType.SHOW | MediaType.ANIME:
            ids = _sync_ids(own, "shows")
            return Placement("shows", ids) if ids else None
    # Seasons and episodes: by their show and numbering, which every provider agrees on, else
    # by their own ids.
    show = _sync_ids(item.show_ids(), "shows")
    if show:
        return Placement("shows", show, item.season, item.episode)
    array = "episodes" if item.type is MediaType.EPISODE else "seasons"
    ids = _sync_ids(own, array)
    return Placement(array, ids) if ids else None


def scrobble_body(item: MediaItem, where: Placement, progress: float) -> ScrobbleBody | None:
    """A scrobble of a movie or an episode placed as a sync write places it; None otherwise."""
    if where.array == "movies":
        return ScrobbleBody(
            ScrobbleKind.MOVIE, where.ids, progress, title=item.title, year=item.year
        )
    if where.array == "episodes":
        return ScrobbleBody(ScrobbleKind.EPISODE, where.ids, progress)
    if where.nested and where.episode is not None:
        return ScrobbleBody(
            ScrobbleKind.SHOW_EPISODE, where.ids, progress, where.season, where.episode
        )
    return None  # a show or a season is not something that plays


def touched(feature: Feature, placements: Iterable[Placement], *, removing: bool) -> set[Category]:
    """The categories a write changes: its own, and the watchlist's that plays clear."""
    changed: set[Category] = set()
    for each in placements:
        array = each.array
        if each.nested:
            array = "seasons" if each.episode is None else "episodes"
        if feature is Feature.HISTORY:
            changed.add((feature, _HISTORY_CATEGORY[array]))
            if not removing:
                changed.update((Feature.WATCHLIST, c) for c in _CLEARED_BY_PLAYS[array])
        else:
            changed.add((feature, array))
    return changed


def _sync_ids(ids: Mapping[str, str], array: str) -> dict[str, int | str]:
    usable: dict[str, int | str] = {}
    for name in _SYNC_IDS[array]:
        value = ids.get(name)
        if value is None:
            continue
        usable[name] = value if name in _STRING_IDS else int(value)
    return usable


def _details(feature: Feature, payload: Payload | None, removing: bool) -> list[SyncDetail]:
    """What to send of each object besides where it is: one detail each (history: per play)."""
    if removing:
        return [SyncDetail()]
    if feature is Feature.HISTORY and isinstance(payload, Watched):
        dates = payload.plays or ((payload.last_watched_at,) if payload.last_watched_at else ())
        # No date at all: one play, which Trakt dates at the time it receives it.
        return [SyncDetail(watched_at=d) for d in dates] or [SyncDetail()]
    if feature is Feature.RATINGS and isinstance(payload, Rated):
        rating = int(from_normalized(RatingScale.INTEGER_1_10, payload.value))
        return [SyncDetail(rating=rating, rated_at=payload.rated_at)]
    if feature is Feature.RATINGS:
        raise ProviderError("a rating write needs the rating to write")
    return [SyncDetail()]


@dataclass(slots=True)
class _SeasonDraft:
    """A season of a show in a body being built, listing the episodes sent under it."""

    number: int
    episodes: list[SyncEpisode] = field(default_factory=list)


@dataclass(slots=True)
class _ShowDraft:
    """A show in a body being built, with the seasons (or episodes) sent under it."""

    ids: Mapping[str, int | str]
    seasons: list[SyncSeason | _SeasonDraft] = field(default_factory=list)

    def done(self) -> SyncObject:
        seasons = (
            s if isinstance(s, SyncSeason) else SyncSeason(s.number, episodes=tuple(s.episodes))
            for s in self.seasons
        )
        return SyncObject(self.ids, seasons=tuple(seasons))


def body(
    feature: Feature, sent: Sequence[tuple[WriteRequest, Placement]], removing: bool
) -> SyncBody:
    """The sync body of one batch: each item once (history: once per play), shows merged."""
    arrays: dict[str, list[SyncObject | _ShowDraft]] = {name: [] for name in _SYNC_IDS}
    shows: dict[str, _ShowDraft] = {}
    for request, where in sent:
        details = _details(feature, request.payload, removing)
        number = where.season if where.nested else None
        if number is None:
            arrays[where.array].extend(SyncObject(where.ids, d) for d in details)
            continue
        key = json.dumps(dict(where.ids), sort_keys=True)
        show = shows.get(key)
        if show is None:
            show = shows[key] = _ShowDraft(where.ids)
            arrays["shows"].append(show)
        if where.episode is None:
            # A season of its own: an object that also lists episodes would only mean those.
            show.seasons.append(SyncSeason(number, details[0]))
            continue
        season = next(
            (s for s in show.seasons if isinstance(s, _SeasonDraft) and s.number == number),
            None,
        )
        if season is None:
            season = _SeasonDraft(number)
            show.seasons.append(season)
        season.episodes.extend(SyncEpisode(where.episode, d) for d in details)
    done = {
        name: tuple(o if isinstance(o, SyncObject) else o.done() for o in objects)
        for name, objects in arrays.items()
    }
    return SyncBody(done["movies"], done["shows"], done["seasons"], done["episodes"])


def outcomes(
    reply: SyncReply, placements: Sequence[Placement]
) -> list[tuple[WriteOutcome, str | None]]:
    """Per placement: rejected when `not_found` lists it, else confirmed; unknown without detail."""
    if reply.not_found is None:
        return [(WriteOutcome.UNKNOWN, None)] * len(placements)
    return [
        (WriteOutcome.REJECTED, "not_found")
        if listed(reply.not_found, each)
        else (WriteOutcome.CONFIRMED, None)
        for each in placements
    ]


def listed(not_found: Mapping[str, Sequence[NotFoundEntry]], where: Placement) -> bool:
    """Whether a reply's `not_found` names the item sent at `where`."""
    for entry in not_found.get(where.array, ()):
        if not _same_ids(entry.ids, where.ids):
            continue
        if not where.nested:
            if not entry.names_seasons:
                return True
            continue
        if entry.seasons is None:
            return True  # the show itself was not found: nothing under it was written
        for season in entry.seasons:
            if season.number != where.season:
                continue
            if season.episodes is None:
                return True  # the whole season was not found
            if where.episode is not None and where.episode in season.episodes:
                return True
    return False


def _same_ids(listed_ids: ListedIds, sent: Mapping[str, int | str]) -> bool:
    """Whether a not_found entry's ids are (a subset of) the ids we sent for an item."""
    for name, value in listed_ids.items():
        if value is None:
            continue
        namespace = _NAMESPACES.get(name)
        if namespace is None or name not in sent:
            return False
        if normalize_id(namespace, value) != normalize_id(namespace, sent[name]):
            return False
    return True
