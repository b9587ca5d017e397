"""SIMKL's replies as typed, immutable models, parsed once here so no raw JSON leaves the client.

Each parser checks exactly what the adapter needs and nothing more, and raises
`CrossWatchInvalidResponseError` for a shape it cannot use. Leniency is deliberate where the
blueprint allows it and is kept as SIMKL behaves:

- `/sync/all-items` and `/sync/ratings` answer `null` (which our HTTP client cannot tell from an
  empty body) when a list is empty, and key each bucket's rows by the bucket's name; so `null`
  and an object without the bucket's key are no rows. Any other shape (a list where the object
  belongs, the bucket's key holding null or a string, a row that is not an object or has no
  media object) is a failed pull, never an empty list.
- Dates that do not parse are no dates; ids that are not usable strings or numbers are left out
  (the engine would drop them too); a season without a number is skipped.

Write bodies go the other way: `SyncObject` is one standard media object of a sync write, and
`write_body` turns the objects into the JSON SIMKL takes.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from ..errors import CrossWatchInvalidResponseError
from ..http import JsonValue

# The three buckets of a SIMKL account: the path segment of /sync/all-items and /sync/ratings,
# and the key of the same bucket in /sync/activities.
BUCKETS: Final = ("movies", "shows", "anime")
ACTIVITY_KEYS: Final = {"movies": "movies", "shows": "tv_shows", "anime": "anime"}
# The groups of /users/{id}/stats, and the status whose count the watchlist is.
STATS_GROUPS: Final = ("movies", "tv", "anime")
PLAN_TO_WATCH: Final = "plantowatch"

type Stamps = Mapping[str, str | None]  # activity name -> ISO timestamp (None: not a string)


def expect_object(value: JsonValue, what: str) -> dict[str, JsonValue]:
    """The body as a JSON object, or a CrossWatchInvalidResponseError naming what was expected."""
    if not isinstance(value, dict):
        raise CrossWatchInvalidResponseError(
            f"SIMKL sent {type(value).__name__} where {what} was expected"
        )
    return value


def _time(value: JsonValue) -> datetime | None:
    """An aware UTC datetime, or None for anything that is not an ISO timestamp."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def wire_time(value: datetime) -> str:
    """A datetime as SIMKL's write bodies take it: UTC to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Account ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserSettings:
    """Whose token it is: `/users/settings`."""

    account_id: str
    name: str | None  # the user's display name, when SIMKL gives one


def parse_settings(body: JsonValue) -> UserSettings:
    """The account id (required) and the user's name from `/users/settings`."""
    settings = expect_object(body, "the user's settings")
    account = settings.get("account")
    user = settings.get("user")
    account_id = account.get("id") if isinstance(account, dict) else None
    if account_id is None or isinstance(account_id, bool):
        raise CrossWatchInvalidResponseError("SIMKL's settings did not name the account")
    name = user.get("name") if isinstance(user, dict) else None
    return UserSettings(str(account_id), str(name) if name else None)


@dataclass(frozen=True, slots=True)
class UserStats:
    """What `/users/{id}/stats` counts: the watchlist ("plantowatch") titles of each group."""

    plan_to_watch: Mapping[str, int]  # "movies", "tv", "anime" -> titles on the watchlist


def parse_stats(body: JsonValue) -> UserStats:
    """The watchlist count of each group; a group or status SIMKL leaves out counts 0."""
    stats = expect_object(body, "the user's statistics")
    counts: dict[str, int] = {}
    for name in STATS_GROUPS:
        group = stats.get(name)
        lists = group if isinstance(group, dict) else {}
        listed = lists.get(PLAN_TO_WATCH)
        count = listed.get("count", 0) if isinstance(listed, dict) else 0
        if not isinstance(count, int) or isinstance(count, bool):
            raise CrossWatchInvalidResponseError(
                f"SIMKL's statistics give no count for the {name} watchlist"
            )
        counts[name] = count
    return UserStats(counts)


# Activities ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activities:
    """When each bucket last changed: `/sync/activities`, by bucket name.

    A bucket whose section is missing, null or empty is left out: there is nothing to compare.
    """

    buckets: Mapping[str, Stamps]


def parse_activities(body: JsonValue) -> Activities:
    """Each bucket's stamps; a section that is neither an object nor null fails the read."""
    activities = expect_object(body, "the last activities")
    stamps: dict[str, Stamps] = {}
    for bucket in BUCKETS:
        section = activities.get(ACTIVITY_KEYS[bucket])
        if section is None:
            continue
        if not isinstance(section, dict):
            raise CrossWatchInvalidResponseError(
                f"SIMKL's activities for {bucket} are not an object"
            )
        if section:
            stamps[bucket] = {
                str(key): value if isinstance(value, str) else None
                for key, value in section.items()
            }
    return Activities(stamps)


# Rows of /sync/all-items and /sync/ratings ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Media:
    """The standard media object a row is about."""

    title: str | None
    year: int | None
    ids: Mapping[str, str]  # as SIMKL keys them; only strings and whole numbers, as text
    movie: bool  # filed as a movie: in the movies bucket, or an anime whose anime_type is movie


@dataclass(frozen=True, slots=True)
class WatchedEpisode:
    """One watched episode of a show or anime row."""

    season: int  # 1 for an anime's episodes, which SIMKL lists without seasons
    number: int
    watched_at: datetime | None


@dataclass(frozen=True, slots=True)
class ListedRow:
    """One title on the user's lists (`/sync/all-items`)."""

    media: Media
    status: str | None  # plantowatch, watching, completed, hold, dropped
    added_to_watchlist_at: datetime | None
    last_watched_at: datetime | None
    episodes: tuple[WatchedEpisode, ...]  # never for a movie


@dataclass(frozen=True, slots=True)
class RatedRow:
    """One row of `/sync/ratings`."""

    media: Media
    rating: int | None  # 1-10; None: listed without one (a delta lists a deleted rating so)
    rated_at: datetime | None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One title of `/search/{type}`, in the bucket the user's lists would file it in."""

    media: Media
    bucket: str  # movies, shows or anime


# Where each `endpoint_type` of a search result is filed on the user's lists.
_SEARCH_BUCKETS: Final = {"movies": "movies", "movie": "movies", "tv": "shows", "anime": "anime"}


def parse_search(body: JsonValue, kind: str) -> tuple[SearchResult, ...]:
    """A page of text search results; null (no match, like every empty SIMKL list) is none.

    Search results key SIMKL's own id as `simkl_id` (the lists say `simkl`), and carry no imdb
    id unless asked for full info. A result without a title object's basics is left out: a
    search is a suggestion, not an inventory.
    """
    if body is None:
        return ()
    if not isinstance(body, list):
        raise CrossWatchInvalidResponseError(f"SIMKL's {kind} search results are not a list")
    results: list[SearchResult] = []
    for raw in body:
        if not isinstance(raw, dict):
            continue
        bucket = _SEARCH_BUCKETS.get(str(raw.get("endpoint_type") or kind))
        title, year = raw.get("title"), raw.get("year")
        if bucket is None or not isinstance(title, str):
            continue
        ids = _ids(raw.get("ids"))
        if "simkl_id" in ids:
            ids["simkl"] = ids.pop("simkl_id")
        anime_type = raw.get("anime_type") or raw.get("type")
        movie = bucket == "movies" or (bucket == "anime" and anime_type == "movie")
        number = year if isinstance(year, int) and not isinstance(year, bool) else None
        results.append(SearchResult(Media(title, number, ids, movie), bucket))
    return tuple(results)


def bucket_rows(body: JsonValue, bucket: str) -> list[JsonValue]:
    """The rows of one bucket in an all-items or ratings reply (see the module docstring)."""
    if body is None:
        return []
    reply = expect_object(body, f"the {bucket} list")
    if bucket not in reply:
        return []
    rows = reply[bucket]
    if not isinstance(rows, list):
        raise CrossWatchInvalidResponseError(
            f"SIMKL's {bucket} list is not a list (it is {type(rows).__name__})"
        )
    return rows


def _id_text(value: JsonValue) -> str | None:
    """An id value as text: strings as they are, whole numbers in digits; bools are no ids."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) else None


def _ids(raw: JsonValue) -> dict[str, str]:
    """The usable ids of a media object, as text (what the engine would keep of them)."""
    ids: dict[str, str] = {}
    if not isinstance(raw, dict):
        return ids
    for key, value in raw.items():
        text = _id_text(value)
        if text is not None:
            ids[str(key)] = text
    return ids


def _media(bucket: str, row: JsonValue) -> tuple[Media, dict[str, JsonValue]]:
    """The media object a row is about, and the row itself."""
    if not isinstance(row, dict):
        raise CrossWatchInvalidResponseError(f"a SIMKL {bucket} row is not an object")
    media = row.get("movie") if bucket == "movies" else row.get("show") or row.get("anime")
    if not isinstance(media, dict):
        raise CrossWatchInvalidResponseError(f"a SIMKL {bucket} row has no title object")
    title = media.get("title")
    year = media.get("year")
    try:
        number = int(year) if isinstance(year, int | str) and str(year).isdigit() else None
    except ValueError as err:  # a digit int() does not take, such as "²"
        raise CrossWatchInvalidResponseError(f"a SIMKL {bucket} row names no title: {err}") from err
    movie = bucket == "movies" or row.get("anime_type") == "movie"
    return Media(
        title if isinstance(title, str) else None, number, _ids(media.get("ids")), movie
    ), row


def _elements(bucket: str, value: JsonValue, what: str) -> list[JsonValue]:
    """The elements of a row's `episodes` or `seasons`: none when it is empty or null.

    An object or a string yields its keys or characters, as iterating it always has (they fail
    as episodes and are skipped as seasons); a number or true is no list at all.
    """
    if not value:
        return []
    if not isinstance(value, list | dict | str):
        raise CrossWatchInvalidResponseError(f"a SIMKL {bucket} row's {what} are not a list")
    return list(value)


def _episodes(bucket: str, row: Mapping[str, JsonValue]) -> tuple[WatchedEpisode, ...]:
    numbered = [(1, e) for e in _elements(bucket, row.get("episodes"), "episodes")]
    for season in _elements(bucket, row.get("seasons"), "seasons"):
        if isinstance(season, dict) and isinstance(number := season.get("number"), int):
            listed = _elements(bucket, season.get("episodes"), "episodes")
            numbered.extend((number, e) for e in listed)
    episodes: list[WatchedEpisode] = []
    for season_number, episode in numbered:
        if not isinstance(episode, dict) or not isinstance(number := episode.get("number"), int):
            raise CrossWatchInvalidResponseError(f"a SIMKL {bucket} episode has no number")
        episodes.append(WatchedEpisode(season_number, number, _time(episode.get("watched_at"))))
    return tuple(episodes)


def parse_listed(body: JsonValue, bucket: str) -> tuple[ListedRow, ...]:
    """The rows of one bucket of `/sync/all-items` (none for `null`)."""
    parsed: list[ListedRow] = []
    for raw in bucket_rows(body, bucket):
        media, row = _media(bucket, raw)
        status = row.get("status")
        parsed.append(
            ListedRow(
                media,
                status if isinstance(status, str) else None,
                _time(row.get("added_to_watchlist_at")),
                _time(row.get("last_watched_at")),
                () if media.movie else _episodes(bucket, row),
            )
        )
    return tuple(parsed)


def _rating(value: JsonValue) -> int | None:
    """SIMKL's 1-10 rating; None for none (null or 0). Numeric text counts, as SIMKL sends it."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if number.is_finite():
        number = +number  # rounded to the context's precision, as the engine's scales do
    if not number.is_finite() or not 0 <= number <= 10 or number != number.to_integral_value():
        raise CrossWatchInvalidResponseError(f"SIMKL sent a rating that is not 1-10: {value!r}")
    return int(number) or None


def parse_rated(body: JsonValue, bucket: str) -> tuple[RatedRow, ...]:
    """The rows of one bucket of `/sync/ratings` (none for `null`)."""
    parsed: list[RatedRow] = []
    for raw in bucket_rows(body, bucket):
        media, row = _media(bucket, raw)
        rating = _rating(row.get("user_rating"))
        rated_at = _time(row.get("user_rated_at")) if rating is not None else None
        parsed.append(RatedRow(media, rating, rated_at))
    return tuple(parsed)


# Writes ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncEpisode:
    """One episode of a season in a sync write."""

    number: int | None  # None only for an item that lost its numbering; sent as null
    watched_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncSeason:
    """One season in a sync write: some of its episodes, or (without `episodes`) all of it."""

    number: int | None  # None only for an item that lost its numbering; sent as null
    episodes: tuple[SyncEpisode, ...] | None = None
    watched_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncObject:
    """One standard media object of a sync write; fields left None are not sent.

    `seasons` is None when the body has no seasons at all, and empty when it has the key with
    nothing in it (what folding a second object of one title into the first gives).
    """

    ids: Mapping[str, str | int]
    title: str | None = None
    year: int | None = None
    to: str | None = None  # add-to-list: the list it goes to
    added_at: datetime | None = None
    watched_at: datetime | None = None
    seasons: tuple[SyncSeason, ...] | None = None
    rating: int | None = None
    rated_at: datetime | None = None


def _stamped(body: dict[str, JsonValue], key: str, when: datetime | None) -> dict[str, JsonValue]:
    if when is not None:
        body[key] = wire_time(when)
    return body


def _season_json(season: SyncSeason) -> dict[str, JsonValue]:
    body: dict[str, JsonValue] = {"number": season.number}
    if season.episodes is not None:
        body["episodes"] = [
            _stamped({"number": e.number}, "watched_at", e.watched_at) for e in season.episodes
        ]
    return _stamped(body, "watched_at", season.watched_at)


def _object_json(obj: SyncObject) -> dict[str, JsonValue]:
    body: dict[str, JsonValue] = {}
    if obj.title:
        body["title"] = obj.title
    if obj.year:
        body["year"] = obj.year
    body["ids"] = dict(obj.ids)
    if obj.to is not None:
        body["to"] = obj.to
    _stamped(body, "added_at", obj.added_at)
    _stamped(body, "watched_at", obj.watched_at)
    if obj.seasons is not None:
        body["seasons"] = [_season_json(season) for season in obj.seasons]
    if obj.rating is not None:
        body["rating"] = obj.rating
    return _stamped(body, "rated_at", obj.rated_at)


def write_body(sections: Mapping[str, Sequence[SyncObject]]) -> dict[str, JsonValue]:
    """The JSON of a sync write: each section ("movies", "shows") and its objects."""
    return {section: [_object_json(obj) for obj in objs] for section, objs in sections.items()}


@dataclass(frozen=True, slots=True)
class Echo:
    """An item a write reply names; `ids` holds its non-null ids as text (empty: none named)."""

    ids: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WriteReply:
    """What SIMKL answered to a sync write, as far as it says anything per item.

    Watchlist adds echo each item under `added` (and its `statuses`' requests); history, rating
    and removal replies give counts only. A reply that is not an object (an empty body) says
    nothing: every field is empty.
    """

    added: Mapping[str, tuple[Echo, ...]]  # section -> the items it echoes as added
    statuses: tuple[Echo, ...]  # the request of each `added.statuses` entry
    counts: Mapping[str, int]  # section -> how many it counts as added, when it only counts
    not_found: Mapping[str, tuple[Echo, ...]]  # section -> the items it could not match


def _echo(value: JsonValue) -> Echo:
    ids = value.get("ids") if isinstance(value, dict) else None
    if not isinstance(ids, dict):
        return Echo({})
    return Echo({str(k): str(v) for k, v in ids.items() if v is not None})


def _echoes(section: JsonValue) -> dict[str, tuple[Echo, ...]]:
    if not isinstance(section, dict):
        return {}
    return {
        str(name): tuple(_echo(item) for item in items)
        for name, items in section.items()
        if isinstance(items, list) and name != "statuses"
    }


def parse_write_reply(body: JsonValue) -> WriteReply:
    """The per-item parts of a sync write's reply; a reply of another shape says nothing."""
    if not isinstance(body, dict):
        return WriteReply({}, (), {}, {})
    added = body.get("added")
    statuses = added.get("statuses") if isinstance(added, dict) else None
    counts = (
        {str(k): v for k, v in added.items() if isinstance(v, int) and not isinstance(v, bool)}
        if isinstance(added, dict)
        else {}
    )
    requests = (
        tuple(_echo(s.get("request")) for s in statuses if isinstance(s, dict))
        if isinstance(statuses, list)
        else ()
    )
    return WriteReply(_echoes(added), requests, counts, _echoes(body.get("not_found")))
