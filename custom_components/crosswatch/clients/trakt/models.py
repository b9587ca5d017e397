"""What Trakt answers to reads, as typed immutable values (writes: `sync.py`).

Replies are parsed once, where they arrive (`TraktClient`), so the adapter above never sees
JSON. What a reply that has not the expected shape means depends on what the caller does with it:
- settings and every page of a list are needed as a whole: a 200 whose body lacks them, or has
  null where a list belongs, raises `CrossWatchInvalidResponseError` (a read failure), and
  never reads as "nothing";
- one record of a list that cannot be read is counted as malformed rather than dropped without
  a word: a record we cannot read would look like one the user removed;
- statistics keep only the counts they state; which one is missing matters only to the count
  the caller wants;
- activities never raise: unknown activity stamps only mean "read it again".

Ids keep what an id can be on the wire (an int or a string); integral floats are read as ints,
as JSON decoders may produce them. Activity stamps stay strings: they are only ever compared.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
class SearchHit:
    """One movie or show of `/search/{type}`, with Trakt's relevance score (higher first)."""

    media: Media
    score: float


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
    watched: int | None = None  # distinct items watched at least once (plays count each play)


@dataclass(frozen=True, slots=True)
class UserStats:
    """The counts `/users/{id}/stats` keeps apart from the lists."""

    movies: StatsGroup = StatsGroup()
    shows: StatsGroup = StatsGroup()
    seasons: StatsGroup = StatsGroup()
    episodes: StatsGroup = StatsGroup()

    def count(self, group: str, name: str) -> int | None:
        """The count `name` ("plays", "watched", "ratings") of `group` ("movies", ...), if given."""
        section = _stats_group(self, group)
        if section is None:
            return None
        return {
            "plays": section.plays,
            "watched": section.watched,
            "ratings": section.ratings,
        }.get(name)


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
    limits = json_object(raw).get("limits")
    watchlist = json_object(limits).get("watchlist")
    cap = whole(json_object(watchlist).get("item_count"))
    vip = json_object(user).get("vip")
    return UserSettings(
        slug, cap if cap is not None and cap > 0 else None, vip if isinstance(vip, bool) else None
    )


def parse_stats(raw: object) -> UserStats:
    """`/users/{id}/stats`: the plays, watched items and ratings counted per group."""
    body = json_object(raw)

    def group(name: str) -> StatsGroup:
        section = json_object(body.get(name))
        return StatsGroup(
            whole(section.get("plays")),
            whole(section.get("ratings")),
            whole(section.get("watched")),
        )

    return UserStats(group("movies"), group("shows"), group("seasons"), group("episodes"))


def parse_last_activities(raw: object) -> LastActivities:
    """`/sync/last_activities`: each stamp that is a non-empty string, the rest unknown."""
    body = json_object(raw)

    def category(name: str) -> CategoryActivity:
        group = json_object(body.get(name))
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
    return WatchlistRow(media, parse_time(json_object(raw).get("listed_at")))


def history_row(raw: object) -> HistoryRow | None:
    """One play, or None when it cannot be read (a play without its date included)."""
    media = _media(raw)
    watched_at = parse_time(json_object(raw).get("watched_at"))
    if media is None or watched_at is None:
        return None
    return HistoryRow(media, watched_at)


def rating_row(raw: object) -> RatingRow | None:
    """One rating record, or None when it cannot be read (its rating is judged by the caller)."""
    media = _media(raw)
    if media is None:
        return None
    body = json_object(raw)
    rating = body.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int | float | str):
        rating = None
    return RatingRow(media, rating, parse_time(body.get("rated_at")))


def search_hit(raw: object) -> SearchHit | None:
    """One movie or show of a text search, or None when it cannot be read."""
    media = _media(raw)
    if media is None or media.type not in (RecordType.MOVIE, RecordType.SHOW):
        return None
    score = json_object(raw).get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        score = 0.0
    return SearchHit(media, float(score))


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
        season, episode = whole(own.get("number")), None
        if season is None:
            return None
    else:
        season, episode = whole(own.get("season")), whole(own.get("number"))
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
    return Media(kind, title, whole(raw.get("year")), ids)


def _ids(raw: object) -> Ids | None:
    """An ids object, keeping what an id can be; None when it is not an object."""
    if not isinstance(raw, dict):
        return None
    ids: dict[str, IdValue] = {}
    for name, value in raw.items():
        usable = id_value(value)
        if usable is not None:
            ids[str(name)] = usable
    return MappingProxyType(ids)


def id_value(value: object) -> IdValue | None:
    """What an id can be on the wire: a string, or an int (integral floats included)."""
    if isinstance(value, str):
        return value
    return integral(value)


def _stats_group(stats: UserStats, name: str) -> StatsGroup | None:
    return {
        "movies": stats.movies,
        "shows": stats.shows,
        "seasons": stats.seasons,
        "episodes": stats.episodes,
    }.get(name)


def json_object(raw: object) -> Mapping[object, object]:
    """A JSON object, or an empty one for anything else."""
    return raw if isinstance(raw, dict) else {}


def _stamp(raw: object) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def whole(raw: object) -> int | None:
    """An int as JSON has it (never a bool)."""
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def integral(raw: object) -> int | None:
    """An int, or an integral float (as JSON decoders may give); never a bool."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return None
