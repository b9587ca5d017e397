"""MDBList's replies as typed values, parsed at the edge: nothing raw leaves the client.

Shapes follow `shared/specs/mdblist/README.md` (§ numbers are that page's). Where MDBList is
known to answer in two ways (the removal counts as `deleted` or `removed`, `not_found` as items
or as counts, §4.6), both are accepted. Anything else unexpected is an invalid reply.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Final

from ..errors import CrossWatchInvalidResponseError
from ..http import JsonValue

# The ids MDBList gives and takes (§3); its own slug (`mdblist`) is kept apart.
ID_KEYS: Final = ("imdb", "tmdb", "tvdb", "trakt")
BUCKETS: Final = ("movies", "shows", "seasons", "episodes")

type Ids = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class User:
    """GET /user: whose key this is and the account's daily request quota."""

    user_id: int
    username: str
    daily_limit: int | None
    used_today: int | None


@dataclass(frozen=True, slots=True)
class Activities:
    """GET /sync/last_activities: when each kind of change last happened, and server time."""

    stamps: Mapping[str, str | None]
    server_time: str | None


@dataclass(frozen=True, slots=True)
class ListedRow:
    """One watchlist row (its `id` is the TMDb id, §7.6)."""

    mediatype: str  # "movie" or "show"
    title: str | None
    year: int | None
    ids: Ids
    listed_at: datetime | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One title of a `/search/{mediatype}` reply, in MDBList's order (its relevance)."""

    mediatype: str  # "movie" or "show"
    title: str | None
    year: int | None
    ids: Ids


@dataclass(frozen=True, slots=True)
class WatchedRow:
    """One movie or episode of /sync/watched (show and season roll-ups are left out)."""

    title: str | None
    year: int | None
    ids: Ids  # the movie's, or the episode's show's
    season: int | None  # None for a movie
    number: int | None
    watched_at: datetime | None


@dataclass(frozen=True, slots=True)
class RatedRow:
    """One rated movie or show of /sync/ratings."""

    mediatype: str  # "movie" or "show"
    title: str | None
    year: int | None
    ids: Ids
    rating: int
    rated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Page[T]:
    """One page of rows and whether more follow."""

    rows: tuple[T, ...]
    has_more: bool
    total: int | None = None  # what the watchlist announces (movies and shows), when it does


@dataclass(frozen=True, slots=True)
class NotFound:
    """The unmatched items of one bucket: the items themselves, or only how many."""

    items: tuple[Ids, ...] = ()
    count: int = 0
    itemized: bool = True


@dataclass(frozen=True, slots=True)
class WriteReply:
    """What a write reply says per bucket (§4.6)."""

    done: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    not_found: Mapping[str, NotFound] = field(default_factory=lambda: MappingProxyType({}))


def _invalid(what: str) -> CrossWatchInvalidResponseError:
    return CrossWatchInvalidResponseError(f"MDBList sent {what}")


def expect_object(body: JsonValue, what: str) -> dict[str, JsonValue]:
    """`body` as a JSON object, or an invalid-reply error naming `what` it should be."""
    if not isinstance(body, dict):
        raise _invalid(f"no object for {what}")
    return body


def _int(value: JsonValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _when(value: JsonValue) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise _invalid(f"a date that is not ISO 8601: {text!r}") from err


def _ids(value: JsonValue) -> Ids:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise _invalid("an ids field that is not an object")
    ids = {k: str(v) for k, v in value.items() if k in ID_KEYS and v not in (None, "", 0)}
    return MappingProxyType(ids)


def _rows(body: dict[str, JsonValue], bucket: str) -> list[JsonValue]:
    rows = body.get(bucket)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise _invalid(f"{bucket} that is not a list")
    return rows


def _has_more(body: dict[str, JsonValue]) -> bool:
    pagination = body.get("pagination")
    if pagination is None:
        return False
    if not isinstance(pagination, dict) or not isinstance(pagination.get("has_more"), bool):
        raise _invalid("pagination without has_more")
    return bool(pagination["has_more"])


def parse_user(body: JsonValue) -> User:
    """GET /user; a reply that names no user is invalid."""
    data = expect_object(body, "the user")
    user_id, username = _int(data.get("user_id")), _text(data.get("username"))
    if user_id is None or username is None:
        raise _invalid("a user without user_id or username")
    return User(
        user_id, username, _int(data.get("api_requests")), _int(data.get("api_requests_count"))
    )


def parse_activities(body: JsonValue) -> Activities:
    """GET /sync/last_activities."""
    data = expect_object(body, "the last activities")
    stamps = {k: _text(v) for k, v in data.items() if k != "server_time" and k.endswith("_at")}
    return Activities(MappingProxyType(stamps), _text(data.get("server_time")))


def parse_watchlist(body: JsonValue) -> Page[ListedRow]:
    """One page of GET /watchlist/items."""
    data = expect_object(body, "a watchlist page")
    rows: list[ListedRow] = []
    for bucket, mediatype in (("movies", "movie"), ("shows", "show")):
        for row in _rows(data, bucket):
            if not isinstance(row, dict):
                raise _invalid("a watchlist row that is not an object")
            ids = dict(_ids(row.get("ids")))
            for key, field_name in (("tmdb", "id"), ("imdb", "imdb_id"), ("tvdb", "tvdb_id")):
                value = row.get(field_name)
                if value not in (None, "", 0):
                    ids.setdefault(key, str(value))
            rows.append(
                ListedRow(
                    str(row.get("mediatype") or mediatype),
                    _text(row.get("title")),
                    _int(row.get("release_year")),
                    MappingProxyType(ids),
                    _when(row.get("watchlist_at")),
                )
            )
    pagination = data.get("pagination")
    total = None
    if isinstance(pagination, dict):
        movies, shows = _int(pagination.get("total_movies")), _int(pagination.get("total_shows"))
        total = None if movies is None or shows is None else movies + shows
    return Page(tuple(rows), _has_more(data), total)


# A search hit's id fields, as the engine names them.
_SEARCH_IDS: Final = {
    "imdbid": "imdb",
    "tmdbid": "tmdb",
    "tvdbid": "tvdb",
    "traktid": "trakt",
}


def parse_search(body: JsonValue, mediatype: str) -> tuple[SearchHit, ...]:
    """GET /search/{mediatype}: the titles found, each with the ids MDBList gave (none: 0/null)."""
    data = expect_object(body, "a search reply")
    found = data.get("search")
    if not isinstance(found, list):
        raise _invalid("a search reply without its titles")
    hits: list[SearchHit] = []
    for row in found:
        if not isinstance(row, dict):
            raise _invalid("a search hit that is not an object")
        given = row.get("ids")
        given_ids = given if isinstance(given, dict) else {}
        ids = {
            name: str(value)
            for key, name in _SEARCH_IDS.items()
            if (value := given_ids.get(key)) not in (None, "", 0)
            and isinstance(value, str | int)
            and not isinstance(value, bool)
        }
        hits.append(
            SearchHit(
                str(row.get("type") or mediatype),
                _text(row.get("title")),
                _int(row.get("year")),
                MappingProxyType(ids),
            )
        )
    return tuple(hits)


def _ref(row: dict[str, JsonValue], key: str) -> dict[str, JsonValue]:
    ref = row.get(key)
    if not isinstance(ref, dict):
        raise _invalid(f"a row without its {key} object")
    return ref


def parse_watched(body: JsonValue) -> Page[WatchedRow]:
    """One page of GET /sync/watched: movies and episodes (roll-ups are ignored, §4.4)."""
    data = expect_object(body, "a watched page")
    rows: list[WatchedRow] = []
    for row in _rows(data, "movies"):
        watched = expect_object(row, "a watched movie")
        movie = _ref(watched, "movie")
        rows.append(
            WatchedRow(
                _text(movie.get("title")),
                _int(movie.get("year")),
                _ids(movie.get("ids")),
                None,
                None,
                _when(watched.get("last_watched_at") or watched.get("watched_at")),
            )
        )
    for row in _rows(data, "episodes"):
        watched = expect_object(row, "a watched episode")
        episode = _ref(watched, "episode")
        show = _ref(episode, "show")
        season, number = _int(episode.get("season")), _int(episode.get("number"))
        if season is None or number is None:
            raise _invalid("an episode without its season and number")
        rows.append(
            WatchedRow(
                _text(show.get("title")),
                _int(show.get("year")),
                _ids(show.get("ids")),
                season,
                number,
                _when(watched.get("last_watched_at") or watched.get("watched_at")),
            )
        )
    return Page(tuple(rows), _has_more(data))


def parse_ratings(body: JsonValue) -> Page[RatedRow]:
    """One page of GET /sync/ratings: rated movies and shows."""
    data = expect_object(body, "a ratings page")
    rows: list[RatedRow] = []
    for bucket, key in (("movies", "movie"), ("shows", "show")):
        for row in _rows(data, bucket):
            rated = expect_object(row, f"a rated {key}")
            ref = _ref(rated, key)
            rating = _int(rated.get("rating"))
            if rating is None:
                continue  # a null rating: nothing rated (§4.5)
            if not 1 <= rating <= 10:
                raise _invalid(f"a rating outside 1-10: {rating}")
            rows.append(
                RatedRow(
                    key,
                    _text(ref.get("title")),
                    _int(ref.get("year")),
                    _ids(ref.get("ids")),
                    rating,
                    _when(rated.get("rated_at")),
                )
            )
    return Page(tuple(rows), _has_more(data))


def _not_found(value: JsonValue) -> NotFound:
    if isinstance(value, list):
        items = []
        for entry in value:
            ids = entry.get("ids") if isinstance(entry, dict) else None
            items.append(_ids(ids if ids is not None else entry))
        return NotFound(tuple(items), len(items))
    count = _int(value)
    if count is None:
        raise _invalid("a not_found entry that is neither a list nor a count")
    return NotFound(count=count, itemized=False)


def parse_write_reply(body: JsonValue) -> WriteReply:
    """A write reply; an empty body (204, §4.6) says nothing per bucket."""
    if body is None:
        return WriteReply()
    data = expect_object(body, "a write reply")
    done: dict[str, int] = {}
    for group in ("added", "existing", "updated", "deleted", "removed"):
        counts = data.get(group)
        if counts is None:
            continue
        if not isinstance(counts, dict):
            raise _invalid(f"{group} that is not an object of counts")
        for bucket, value in counts.items():
            count = _int(value)
            if count is None:
                raise _invalid(f"{group}.{bucket} that is not a count")
            done[bucket] = done.get(bucket, 0) + count
    missing = data.get("not_found")
    not_found: dict[str, NotFound] = {}
    if missing is not None:
        if not isinstance(missing, dict):
            raise _invalid("not_found that is not an object")
        not_found = {bucket: _not_found(value) for bucket, value in missing.items()}
    return WriteReply(MappingProxyType(done), MappingProxyType(not_found))


# Write objects -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncEpisode:
    """An episode of a show object in a sync write."""

    number: int
    watched_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncSeason:
    """A season of a show object in a sync write, with its episodes."""

    number: int
    episodes: tuple[SyncEpisode, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncObject:
    """A movie or show in a `/sync/...` write: ids nested, dates and rating where they apply."""

    ids: Ids
    watched_at: datetime | None = None
    rating: int | None = None
    rated_at: datetime | None = None
    seasons: tuple[SyncSeason, ...] = ()


def wire_ids(ids: Ids, keys: tuple[str, ...] = ID_KEYS) -> dict[str, JsonValue]:
    """Ids as MDBList takes them: IMDb's as text, the numeric ones as numbers."""
    wire: dict[str, JsonValue] = {}
    for key in keys:
        value = ids.get(key)
        if value is not None:
            wire[key] = value if key == "imdb" or not value.isdigit() else int(value)
    return wire


def _stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def sync_json(obj: SyncObject) -> dict[str, JsonValue]:
    """One sync write object as JSON."""
    body: dict[str, JsonValue] = {"ids": wire_ids(obj.ids)}
    if obj.watched_at is not None:
        body["watched_at"] = _stamp(obj.watched_at)
    if obj.rating is not None:
        body["rating"] = obj.rating
    if obj.rated_at is not None:
        body["rated_at"] = _stamp(obj.rated_at)
    if obj.seasons:
        body["seasons"] = [
            {
                "number": season.number,
                "episodes": [
                    {"number": e.number}
                    | ({} if e.watched_at is None else {"watched_at": _stamp(e.watched_at)})
                    for e in season.episodes
                ],
            }
            for season in obj.seasons
        ]
    return body
