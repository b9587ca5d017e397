"""What Trakt answers, and what a sync write sends, as typed immutable values.

Replies are parsed once, where they arrive (`TraktClient`), so the adapter above never sees
JSON. What a reply that has not the expected shape means depends on what the caller does with it:
- settings and every page of a list are needed as a whole: a 200 whose body lacks them, or has
  null where a list belongs, raises `CrossWatchInvalidResponseError` (a read failure), and
  never reads as "nothing";
- one record of a list that cannot be read is counted as malformed rather than dropped without
  a word: a record we cannot read would look like one the user removed;
- statistics keep only the counts they state; which one is missing matters only to the count
  the caller wants;
- activities and write replies never raise: unknown activity stamps only mean "read it again",
  and a write Trakt answered 2xx was taken, whatever its body says (or fails to say).

Ids keep what an id can be on the wire (an int or a string); integral floats are read as ints,
as JSON decoders may produce them. Activity stamps stay strings: they are only ever compared.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from ..errors import CrossWatchInvalidResponseError

type IdValue = int | str
type Ids = Mapping[str, IdValue]
# A not_found entry's ids: null is kept, as it is skipped when matching rather than compared.
type ListedIds = Mapping[str, IdValue | None]
type Rating = int | float | str  # as sent; the rating scale is the engine's to apply
type RowParser[T] = Callable[[object], T | None]  # one record, or None when it is malformed

_EMPTY_IDS: Ids = MappingProxyType({})


class RecordType(StrEnum):
    """What a watchlist, history or ratings record is about."""

    MOVIE = "movie"
    SHOW = "show"
    SEASON = "season"
    EPISODE = "episode"


@dataclass(frozen=True, slots=True)
class Media:
    """The movie, show, season or episode of one record.

    A season's or episode's title and year are its show's, as Trakt gives no other.
    """

    type: RecordType
    title: str | None
    year: int | None
    ids: Ids  # its own
    show_ids: Ids = _EMPTY_IDS  # a season's or episode's show's
    season: int | None = None
    episode: int | None = None


@dataclass(frozen=True, slots=True)
class WatchlistRow:
    """One record of `/sync/watchlist/{category}`."""

    media: Media
    listed_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One play of `/sync/history/{category}`: a record without its date is malformed."""

    media: Media
    watched_at: datetime


@dataclass(frozen=True, slots=True)
class RatingRow:
    """One record of `/sync/ratings/{category}`."""

    media: Media
    rating: Rating | None
    rated_at: datetime | None


@dataclass(frozen=True, slots=True)
class PagedRead[T]:
    """Every record a paginated read reached, and the evidence of how far it got."""

    records: tuple[T, ...]  # the records that could be read
    rows: int  # every record the pages held, malformed ones included
    malformed: int  # records that could not be read
    expected_total: int | None  # X-Pagination-Item-Count of the first page, when it was sent
    page_count: int | None  # X-Pagination-Page-Count of the first page, when it was sent
    all_pages: bool  # every announced page was read (one page assumed when none was announced)
    failure: str | None
    etag: str | None  # the first page's validator
    digest: str  # of the records as sent: whether a later body is the same
    # The endpoint is unpaged (2026: /sync/ratings) and its reply came without pagination
    # headers: by the contract, that reply is the whole list.
    unpaged: bool = False


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """How many items a Trakt plan allows in each list (Trakt's limits for 2026)."""

    watchlist: int
    ratings: int
    history: int


# "Updating Trakt limits for 2026" (Trakt forum, tabulated in Taxel/PlexTraktSync PR #2485;
# ../shared/research/provider-facts-2026.md). Over a limit, a write answers 420.
FREE_LIMITS = PlanLimits(watchlist=250, ratings=10_000, history=100_000)
VIP_LIMITS = PlanLimits(watchlist=5_000, ratings=20_000, history=100_000)


@dataclass(frozen=True, slots=True)
class UserSettings:
    """What `/users/settings` says of the account: its slug, plan and watchlist limit."""

    slug: str
    watchlist_limit: int | None  # None when Trakt did not say
    vip: bool | None = None  # whether the account has VIP; None when Trakt did not say

    @property
    def plan_limits(self) -> PlanLimits | None:
        """The limits of the account's plan, when Trakt said which plan it has."""
        if self.vip is None:
            return None
        return VIP_LIMITS if self.vip else FREE_LIMITS


@dataclass(frozen=True, slots=True)
class StatsGroup:
    """One group of `/users/{id}/stats`: None where Trakt gave no count."""

    plays: int | None = None
    ratings: int | None = None


@dataclass(frozen=True, slots=True)
class UserStats:
    """The counts `/users/{id}/stats` keeps apart from the lists."""

    movies: StatsGroup = StatsGroup()
    shows: StatsGroup = StatsGroup()
    seasons: StatsGroup = StatsGroup()
    episodes: StatsGroup = StatsGroup()

    def count(self, group: str, name: str) -> int | None:
        """The count `name` ("plays", "ratings") of `group` ("movies", ...), if Trakt gave it."""
        section = _stats_group(self, group)
        if section is None:
            return None
        return {"plays": section.plays, "ratings": section.ratings}.get(name)


@dataclass(frozen=True, slots=True)
class CategoryActivity:
    """When one category of `/sync/last_activities` last changed: None where Trakt did not say."""

    watched_at: str | None = None
    rated_at: str | None = None
    watchlisted_at: str | None = None


@dataclass(frozen=True, slots=True)
class LastActivities:
    """The activity stamps of each category; `unreadable` says why there were none at all."""

    movies: CategoryActivity = CategoryActivity()
    shows: CategoryActivity = CategoryActivity()
    seasons: CategoryActivity = CategoryActivity()
    episodes: CategoryActivity = CategoryActivity()
    unreadable: str | None = None

    def category(self, name: str) -> CategoryActivity:
        """The stamps of "movies", "shows", "seasons" or "episodes" (none for anything else)."""
        return {
            "movies": self.movies,
            "shows": self.shows,
            "seasons": self.seasons,
            "episodes": self.episodes,
        }.get(name, CategoryActivity())


# -- what a sync write sends ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncDetail:
    """What a write says of one object besides where it is: a play's date, or a rating."""

    watched_at: datetime | None = None
    rating: int | None = None
    rated_at: datetime | None = None

    def to_json(self) -> dict[str, object]:
        """The fields set, as Trakt reads them."""
        fields: dict[str, object] = {}
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

    def to_json(self) -> dict[str, object]:
        """`{"number": ...}` with the detail's fields."""
        return {"number": self.number, **self.detail.to_json()}


@dataclass(frozen=True, slots=True)
class SyncSeason:
    """A season under a show: the season itself, or (with `episodes`) only those episodes."""

    number: int
    detail: SyncDetail = SyncDetail()
    episodes: tuple[SyncEpisode, ...] | None = None

    def to_json(self) -> dict[str, object]:
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

    def to_json(self) -> dict[str, object]:
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

    def to_json(self) -> dict[str, object]:
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


# -- parsing ----------------------------------------------------------------------------------


def parse_time(text: object) -> datetime | None:
    """A Trakt timestamp ('2014-09-01T09:10:11.000Z') as an aware datetime, or None."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """A datetime as Trakt writes them, in UTC to the millisecond."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_settings(raw: object) -> UserSettings:
    """`/users/settings`; without the account's slug the reply is unusable."""
    user = raw.get("user") if isinstance(raw, dict) else None
    ids = user.get("ids") if isinstance(user, dict) else None
    slug = ids.get("slug") if isinstance(ids, dict) else None
    if not isinstance(slug, str) or not slug:
        raise CrossWatchInvalidResponseError("Trakt sent settings without the account's slug")
    limits = _object(raw).get("limits")
    watchlist = _object(limits).get("watchlist")
    cap = _whole(_object(watchlist).get("item_count"))
    vip = _object(user).get("vip")
    return UserSettings(
        slug, cap if cap is not None and cap > 0 else None, vip if isinstance(vip, bool) else None
    )


def parse_stats(raw: object) -> UserStats:
    """`/users/{id}/stats`: the plays and ratings counted per group."""
    body = _object(raw)

    def group(name: str) -> StatsGroup:
        section = _object(body.get(name))
        return StatsGroup(_whole(section.get("plays")), _whole(section.get("ratings")))

    return UserStats(group("movies"), group("shows"), group("seasons"), group("episodes"))


def parse_last_activities(raw: object) -> LastActivities:
    """`/sync/last_activities`: each stamp that is a non-empty string, the rest unknown."""
    body = _object(raw)

    def category(name: str) -> CategoryActivity:
        group = _object(body.get(name))
        return CategoryActivity(
            _stamp(group.get("watched_at")),
            _stamp(group.get("rated_at")),
            _stamp(group.get("watchlisted_at")),
        )

    return LastActivities(
        category("movies"), category("shows"), category("seasons"), category("episodes")
    )


def watchlist_row(raw: object) -> WatchlistRow | None:
    """One watchlist record, or None when it cannot be read."""
    media = _media(raw)
    if media is None:
        return None
    return WatchlistRow(media, parse_time(_object(raw).get("listed_at")))


def history_row(raw: object) -> HistoryRow | None:
    """One play, or None when it cannot be read (a play without its date included)."""
    media = _media(raw)
    watched_at = parse_time(_object(raw).get("watched_at"))
    if media is None or watched_at is None:
        return None
    return HistoryRow(media, watched_at)


def rating_row(raw: object) -> RatingRow | None:
    """One rating record, or None when it cannot be read (its rating is judged by the caller)."""
    media = _media(raw)
    if media is None:
        return None
    body = _object(raw)
    rating = body.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int | float | str):
        rating = None
    return RatingRow(media, rating, parse_time(body.get("rated_at")))


def parse_sync_reply(raw: object) -> SyncReply:
    """A write's reply; anything unreadable in it is left unsaid, never raised."""
    body = _object(raw)
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


def _media(raw: object) -> Media | None:
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in RecordType:
        return None
    kind = RecordType(kind)
    if kind in (RecordType.MOVIE, RecordType.SHOW):
        return _titled(kind, raw.get(kind.value))
    own = raw.get(kind.value)
    if not isinstance(own, dict):
        return None
    if kind is RecordType.SEASON:
        season, episode = _whole(own.get("number")), None
        if season is None:
            return None
    else:
        season, episode = _whole(own.get("season")), _whole(own.get("number"))
        if season is None or episode is None:
            return None
    show = _titled(RecordType.SHOW, raw.get("show"))
    ids = _ids(own.get("ids"))
    if show is None or ids is None:
        return None
    return Media(kind, show.title, show.year, ids, show.ids, season, episode)


def _titled(kind: RecordType, raw: object) -> Media | None:
    """A movie or show object: its title, year and ids (which it must have)."""
    if not isinstance(raw, dict):
        return None
    title, ids = raw.get("title"), _ids(raw.get("ids"))
    if ids is None or (title is not None and not isinstance(title, str)):
        return None
    return Media(kind, title, _whole(raw.get("year")), ids)


def _ids(raw: object) -> Ids | None:
    """An ids object, keeping what an id can be; None when it is not an object."""
    if not isinstance(raw, dict):
        return None
    ids: dict[str, IdValue] = {}
    for name, value in raw.items():
        usable = _id(value)
        if usable is not None:
            ids[str(name)] = usable
    return MappingProxyType(ids)


def _id(value: object) -> IdValue | None:
    if isinstance(value, str):
        return value
    return _int(value)


def _not_found_entry(raw: object) -> NotFoundEntry | None:
    """An entry that could match a request: its ids a non-empty object of ids or nulls."""
    if not isinstance(raw, dict):
        return None
    ids = raw.get("ids")
    if not isinstance(ids, dict) or not ids:
        return None
    listed: dict[str, IdValue | None] = {}
    for name, value in ids.items():
        usable = _id(value)
        if usable is None and value is not None:
            return None  # an id that is none: it matches nothing we sent
        listed[str(name)] = usable
    names_seasons = "seasons" in raw
    seasons = raw.get("seasons")
    parsed: tuple[NotFoundSeason, ...] | None = None
    if isinstance(seasons, list):
        parsed = tuple(
            NotFoundSeason(_int(s.get("number")), _episodes(s.get("episodes")))
            for s in seasons
            if isinstance(s, dict)
        )
    return NotFoundEntry(MappingProxyType(listed), names_seasons, parsed)


def _episodes(raw: object) -> tuple[int | None, ...] | None:
    if not isinstance(raw, list):
        return None
    return tuple(_int(e.get("number")) for e in raw if isinstance(e, dict))


def _counts(raw: object) -> Mapping[str, int]:
    counts = {str(k): v for k, value in _object(raw).items() if (v := _whole(value)) is not None}
    return MappingProxyType(counts)


def _stats_group(stats: UserStats, name: str) -> StatsGroup | None:
    return {
        "movies": stats.movies,
        "shows": stats.shows,
        "seasons": stats.seasons,
        "episodes": stats.episodes,
    }.get(name)


def _object(raw: object) -> Mapping[object, object]:
    return raw if isinstance(raw, dict) else {}


def _stamp(raw: object) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def _whole(raw: object) -> int | None:
    """An int as JSON has it (never a bool)."""
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def _int(raw: object) -> int | None:
    """An int, or an integral float (as JSON decoders may give); never a bool."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return None
