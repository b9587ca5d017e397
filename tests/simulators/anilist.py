"""A stateful AniList simulator: GraphQL executed against the official schema.

`POST /` takes `{query, variables, operationName}` like graphql.anilist.co. Documents are parsed
and validated by graphql-core against AniList's published schema (`anilist/schema.graphql` in the
shared specs), so a document AniList would refuse is refused here too, with a 400 and an `errors`
list. Only when the specs are absent does it fall back to `FALLBACK_SDL`, an excerpt of that
schema with the fields CrossWatch uses (a test checks the excerpt against the original).

Resolvers exist for `Viewer`, `User` (with its anime `statistics` by status), `Page.airingSchedules`,
`MediaListCollection`, `Media`, `Page.media`, `SaveMediaListEntry` and `DeleteMediaListEntry`. Errors look like AniList's:
`{"errors": [{"message", "status", "locations"?, "validation"?}], "data": ...}` with the HTTP
status of the first error.

Switchable quirks (`Quirks`): scripted faults per request (429 with Retry-After and
X-RateLimit-*, 5xx, an empty 200), empty, tiny and malformed collections (what a fault harness
combines with the rest), a token that expires after N requests,
eventual consistency (a write shows in list reads only after N of them) and a forced
X-RateLimit-Remaining.

Rate limit: AniList serves `RATE_LIMIT` = 30 requests a minute and says so in
`X-RateLimit-Limit` on every reply, although its documentation still says 90
(`shared/research/provider-facts-2026.md`, citing mihonapp/mihon PR #3942, 2026-09). Every reply
carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`; a request beyond the limit is answered
429 with `Retry-After`, `X-RateLimit-Reset` (Unix time) and `X-RateLimit-Remaining: 0`, as
AniList's rate-limiting guide shows them. The minute is counted on `AniListState.clock`, which
tests that pace the client by fake time share with it (`Sim.client` does). The reading chosen
where the sources say nothing: the minute is a sliding window of the requests served (a refused
request does not count), and `Retry-After` is the wait until the oldest of them leaves it.
`Page(perPage)` is at most `MAX_PER_PAGE` = 50 (same source); a larger one is served 50.

Behaviour AniList does not document, chosen here and flagged as such: how POINT_3 smileys sit on
the 100-point scale (35/60/85), how raw scores round to coarser formats (half up), and the status
of an entry created without one (CURRENT).
"""

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
import functools
import json
import math
import os
from pathlib import Path
import re
import time
from typing import Any

import aiohttp
from aiohttp import web
from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    graphql,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

# The client's own pacing, for `Sim.client` only: what the simulator allows is its own.
from custom_components.crosswatch.clients.anilist.client import (
    RATE_WINDOW as CLIENT_RATE_WINDOW,
    REQUESTS_PER_MINUTE,
    AniListClient,
    tokens_from_pin,
)
from custom_components.crosswatch.clients.anilist.queries import DOCUMENTS
from custom_components.crosswatch.clients.http import RetryPolicy, Throttle
from tests.simulators.openapi import RECORDED, RecordedRequest, recording

ROOT = Path(__file__).resolve().parents[2]
RATE_LIMIT = 30  # requests a minute, as AniList serves them (see the module's docstring)
RATE_WINDOW = 60.0  # seconds
MAX_PER_PAGE = 50  # the largest Page(perPage) AniList serves
SCHEMA = web.AppKey("anilist_schema", GraphQLSchema)

STATUS_ORDER = ("CURRENT", "REPEATING", "COMPLETED", "PAUSED", "DROPPED", "PLANNING")
LIST_NAMES = {
    "CURRENT": "Watching",
    "REPEATING": "Rewatching",
    "COMPLETED": "Completed",
    "PAUSED": "Paused",
    "DROPPED": "Dropped",
    "PLANNING": "Planning",
}
SMILEY_RAW = {1: 35, 2: 60, 3: 85}

FALLBACK_SDL = """
scalar Json
scalar FuzzyDateInt

enum MediaType { ANIME MANGA }
enum MediaFormat { TV TV_SHORT MOVIE SPECIAL OVA ONA MUSIC MANGA NOVEL ONE_SHOT }
enum MediaListStatus { CURRENT PLANNING COMPLETED DROPPED PAUSED REPEATING }
enum ScoreFormat { POINT_100 POINT_10_DECIMAL POINT_10 POINT_5 POINT_3 }

type FuzzyDate { year: Int month: Int day: Int }
input FuzzyDateInput { year: Int month: Int day: Int }
type MediaTitle {
  romaji(stylised: Boolean): String
  english(stylised: Boolean): String
  userPreferred: String
}
type MediaListOptions { scoreFormat: ScoreFormat }
type User {
  id: Int!
  name: String!
  mediaListOptions: MediaListOptions
  statistics: UserStatisticTypes
}
type UserStatisticTypes { anime: UserStatistics manga: UserStatistics }
type UserStatistics { count: Int! statuses(limit: Int): [UserStatusStatistic] }
type UserStatusStatistic { count: Int! status: MediaListStatus }
type Deleted { deleted: Boolean }
type PageInfo { total: Int perPage: Int currentPage: Int lastPage: Int hasNextPage: Boolean }

type Media {
  id: Int!
  idMal: Int
  title: MediaTitle
  type: MediaType
  format: MediaFormat
  startDate: FuzzyDate
  episodes: Int
  duration: Int
  siteUrl: String
  mediaListEntry: MediaList
}

type AiringSchedule {
  id: Int!
  airingAt: Int!
  timeUntilAiring: Int!
  episode: Int!
  mediaId: Int!
  media: Media
}

enum AiringSort { ID ID_DESC MEDIA_ID MEDIA_ID_DESC TIME TIME_DESC EPISODE EPISODE_DESC }

type MediaList {
  id: Int!
  userId: Int!
  mediaId: Int!
  status: MediaListStatus
  score(format: ScoreFormat): Float
  progress: Int
  repeat: Int
  startedAt: FuzzyDate
  completedAt: FuzzyDate
  updatedAt: Int
  createdAt: Int
  media: Media
  user: User
}

type MediaListGroup {
  entries: [MediaList]
  name: String
  isCustomList: Boolean
  isSplitCompletedList: Boolean
  status: MediaListStatus
}

type MediaListCollection { lists: [MediaListGroup] user: User hasNextChunk: Boolean }

enum MediaListSort { MEDIA_ID MEDIA_ID_DESC UPDATED_TIME UPDATED_TIME_DESC }
enum MediaSort { POPULARITY_DESC SEARCH_MATCH }

type Page {
  pageInfo: PageInfo
  media(id: Int, id_in: [Int], type: MediaType, search: String, sort: [MediaSort]): [Media]
  mediaList(
    userId: Int
    type: MediaType
    status_in: [MediaListStatus]
    sort: [MediaListSort]
  ): [MediaList]
  airingSchedules(
    mediaId_in: [Int]
    airingAt_greater: Int
    airingAt_lesser: Int
    notYetAired: Boolean
    sort: [AiringSort]
  ): [AiringSchedule]
}

type Query {
  Page(page: Int, perPage: Int): Page
  Media(id: Int, idMal: Int, type: MediaType): Media
  MediaListCollection(
    userId: Int
    userName: String
    type: MediaType
    status: MediaListStatus
    forceSingleCompletedList: Boolean
    chunk: Int
    perChunk: Int
  ): MediaListCollection
  Viewer: User
  User(id: Int, name: String): User
}

type Mutation {
  SaveMediaListEntry(
    id: Int
    mediaId: Int
    status: MediaListStatus
    score: Float
    scoreRaw: Int
    progress: Int
    repeat: Int
    startedAt: FuzzyDateInput
    completedAt: FuzzyDateInput
  ): MediaList
  DeleteMediaListEntry(id: Int): Deleted
}
"""


def official_schema_path() -> Path:
    """Where the shared specs keep AniList's schema (it may not exist)."""
    specs = Path(os.environ.get("CROSSWATCH_SPECS", ROOT.parent / "shared" / "specs"))
    return specs / "anilist" / "schema.graphql"


def load_schema(path: Path | None = None) -> GraphQLSchema:
    """The official schema when it is there, else the embedded excerpt."""
    return _schema((path or official_schema_path()).resolve())


@functools.cache
def _schema(source: Path) -> GraphQLSchema:
    # Building the 150 kB SDL takes a while; every test shares one immutable schema.
    if source.is_file():
        return build_schema(source.read_text(encoding="utf-8"))
    return build_schema(FALLBACK_SDL)


class Malformed(StrEnum):
    """What a malformed list collection looks like (`Quirks.malformed_collections`)."""

    NULL_COLLECTION = "collection"  # `"MediaListCollection": null`, with no error
    NULL_LISTS = "lists"  # `"lists": null`
    NULL_ENTRIES = "entries"  # every list's `"entries": null`
    NOT_JSON = "html"  # a 200 with an HTML page, as a captive portal or a proxy sends


TINY_SIZE = 3  # how many entries a tiny collection holds


class Fault(StrEnum):
    """A fault the simulator answers one request with instead of executing it."""

    RATE_LIMITED = "429"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    EMPTY_200 = "empty"


@dataclass
class Quirks:
    """Switchable misbehaviour, all off by default."""

    script: deque[Fault | None] = field(default_factory=deque)  # one per request, front first
    retry_after: int = 2  # seconds, in the Retry-After of a scripted 429
    # The list faults count down per MediaListCollection query; a query takes the first with a
    # count left, in the order malformed, empty, tiny.
    empty_collections: int = 0  # the next N list collections come back with no lists
    # The next N list collections hold only the first TINY_SIZE entries, and no next chunk.
    tiny_collections: int = 0
    # The next N list collections are a 200 in `malformed_shape` instead.
    malformed_collections: int = 0
    malformed_shape: Malformed = Malformed.NULL_LISTS
    token_expires_after: int | None = None  # requests until every token stops working
    expired_http_status: int = 401  # the HTTP status of an expired-token reply
    visibility_lag: int = 0  # list reads a write stays invisible to
    remaining: int | None = None  # force X-RateLimit-Remaining to this value

    def schedule(self, fault: Fault, count: int = 1, *, after: int = 0) -> None:
        """Answer `count` requests with `fault`, starting after `after` more good ones."""
        while len(self.script) < after:
            self.script.append(None)
        script = list(self.script)
        for index in range(after, after + count):
            if index < len(script):
                script[index] = fault
            else:
                script.append(fault)
        self.script = deque(script)


class SimError(Exception):
    """An error a resolver raises, rendered as AniList renders it."""

    def __init__(
        self, message: str, status: int, validation: Mapping[str, list[str]] | None = None
    ) -> None:
        """Keep the message, the status and any per-argument validation messages."""
        super().__init__(message)
        self.message = message
        self.status = status
        self.validation = validation


@dataclass
class SimMedia:
    """One anime in AniList's catalogue."""

    id: int
    romaji: str
    english: str | None = None
    year: int | None = None
    format: str = "TV"
    episodes: int | None = 12
    id_mal: int | None = None
    type: str = "ANIME"
    popularity: int = 0  # how many users list it: `sort: POPULARITY_DESC` orders by it
    duration: int | None = 24  # minutes an episode
    # Episodes and when they air (Unix seconds): the airing schedule.
    airings: dict[int, int] = field(default_factory=dict)


@dataclass
class SimUser:
    """An account with its token and score format."""

    id: int
    name: str
    token: str
    score_format: str = "POINT_10"


@dataclass
class SimEntry:
    """One list entry, scores kept on the 100-point scale as AniList keeps them."""

    id: int
    user_id: int
    media_id: int
    status: str
    score_raw: float = 0
    progress: int = 0
    repeat: int = 0
    started_at: tuple[int | None, int | None, int | None] | None = None
    completed_at: tuple[int | None, int | None, int | None] | None = None
    created_at: int = 0
    updated_at: int = 0
    custom_lists: tuple[str, ...] = ()
    hidden_from_status_lists: bool = False


@dataclass
class _Lagging:
    """What list reads show of an entry until a write becomes visible."""

    shown: SimEntry | None
    reads_left: int


@dataclass
class AniListState:
    """Everything the simulator holds; tests seed it and look inside."""

    media: dict[int, SimMedia] = field(default_factory=dict)
    users: dict[int, SimUser] = field(default_factory=dict)
    entries: dict[int, SimEntry] = field(default_factory=dict)
    quirks: Quirks = field(default_factory=Quirks)
    now: int = 1_700_000_000  # Unix seconds; advances one second per request
    requests: int = 0
    # What the rate limit's minute is counted on: monotonic seconds.
    clock: Callable[[], float] = field(default_factory=lambda: time.monotonic)
    served: deque[float] = field(default_factory=deque)  # when, on `clock`, within the minute
    refused: int = 0  # requests answered 429 for going over the limit (not scripted ones)
    mutations: list[str] = field(default_factory=list)  # names of mutations executed
    lagging: dict[int, _Lagging] = field(default_factory=dict)  # entry id -> stale view
    next_entry_id: int = 1000

    def add_media(self, media_id: int, romaji: str, **details: Any) -> SimMedia:
        """Put an anime in the catalogue."""
        media = SimMedia(media_id, romaji, **details)
        self.media[media_id] = media
        return media

    def add_user(
        self, user_id: int, name: str, token: str, score_format: str = "POINT_10"
    ) -> SimUser:
        """Create an account that `token` authenticates."""
        user = SimUser(user_id, name, token, score_format)
        self.users[user_id] = user
        return user

    def add_entry(self, user_id: int, media_id: int, status: str, **details: Any) -> SimEntry:
        """Put an entry on a user's list, as if the user had made it."""
        self.next_entry_id += 1
        entry = SimEntry(self.next_entry_id, user_id, media_id, status, **details)
        entry.created_at = entry.created_at or self.now
        entry.updated_at = entry.updated_at or self.now
        self.entries[entry.id] = entry
        return entry

    def entry_for(self, user_id: int, media_id: int) -> SimEntry | None:
        """The user's entry for a media, as stored (ignoring any lag)."""
        return next(
            (e for e in self.entries.values() if e.user_id == user_id and e.media_id == media_id),
            None,
        )

    def over_limit(self) -> float | None:
        """Count a request against the minute; the seconds to wait instead, when it is spent."""
        now = self.clock()
        while self.served and self.served[0] <= now - RATE_WINDOW:
            self.served.popleft()
        if len(self.served) >= RATE_LIMIT:
            self.refused += 1
            return self.served[0] + RATE_WINDOW - now
        self.served.append(now)
        return None

    def next_fault(self) -> Fault | None:
        """The scripted fault for this request, if any."""
        return self.quirks.script.popleft() if self.quirks.script else None

    def shown_entries(self, user_id: int) -> list[SimEntry]:
        """What a list read would show of a user's entries now, lag included."""
        shown: dict[int, SimEntry] = {e.id: e for e in self.entries.values()}
        for entry_id, lag in self.lagging.items():
            if lag.shown is None:
                shown.pop(entry_id, None)
            else:
                shown[entry_id] = lag.shown
        return sorted(
            (e for e in shown.values() if e.user_id == user_id),
            key=lambda e: (STATUS_ORDER.index(e.status), e.id),
        )

    def listed_entries(self, user_id: int) -> list[SimEntry]:
        """What a list read shows of a user's entries, lag included, and count the read."""
        shown = self.shown_entries(user_id)
        for entry_id, lag in list(self.lagging.items()):
            lag.reads_left -= 1
            if lag.reads_left <= 0:
                del self.lagging[entry_id]
        return shown

    def lag_write(self, entry_id: int, before: SimEntry | None) -> None:
        """Keep list reads showing `before` for the configured number of reads."""
        if self.quirks.visibility_lag > 0 and entry_id not in self.lagging:
            self.lagging[entry_id] = _Lagging(before, self.quirks.visibility_lag)


def raw_from_format(score: float, score_format: str) -> float:
    """A score in the user's format on AniList's 100-point scale."""
    match score_format:
        case "POINT_100":
            return score
        case "POINT_10_DECIMAL" | "POINT_10":
            return score * 10
        case "POINT_5":
            return score * 20
        case _:  # POINT_3
            if score == 0:
                return 0
            if score not in SMILEY_RAW:
                raise SimError("validation", 400, {"score": ["The score must be between 0 and 3."]})
            return SMILEY_RAW[int(score)]


def format_from_raw(raw: float, score_format: str) -> float:
    """A 100-point score in the user's format (rounding half up)."""

    def half_up(value: Decimal, places: str = "1") -> Decimal:
        return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)

    number = Decimal(str(raw))
    match score_format:
        case "POINT_100":
            return float(half_up(number))
        case "POINT_10_DECIMAL":
            return float(half_up(number / 10, "0.1"))
        case "POINT_10":
            return float(half_up(number / 10))
        case "POINT_5":
            return float(half_up(number / 20))
        case _:  # POINT_3
            if raw == 0:
                return 0
            return 1 if raw <= 35 else 2 if raw <= 60 else 3


def _fuzzy(value: tuple[int | None, int | None, int | None] | None) -> dict[str, int | None]:
    year, month, day = value or (None, None, None)
    return {"year": year, "month": month, "day": day}


class _Context:
    """One request's view of the state: who is asking."""

    def __init__(self, state: AniListState, viewer: SimUser | None) -> None:
        self.state = state
        self.viewer = viewer
        self._listed: dict[int, list[SimEntry]] = {}  # user id -> this request's list read

    def listed(self, user_id: int) -> list[SimEntry]:
        """A user's entries as this request's list read shows them (counted once a request)."""
        if user_id not in self._listed:
            self._listed[user_id] = self.state.listed_entries(user_id)
        return self._listed[user_id]

    def shown(self, user_id: int) -> list[SimEntry]:
        """What this request shows of a user's entries, without counting a list read."""
        return self._listed.get(user_id) or self.state.shown_entries(user_id)

    def require_viewer(self) -> SimUser:
        if self.viewer is None:
            raise SimError("Unauthorized.", 401)
        return self.viewer

    def media(self, media: SimMedia) -> dict[str, Any]:
        state, viewer = self.state, self.viewer

        def entry(_info: Any) -> dict[str, Any] | None:
            found = state.entry_for(viewer.id, media.id) if viewer else None
            return self.entry(found) if found else None

        return {
            "id": media.id,
            "idMal": media.id_mal,
            # The viewer's preferred title language is not simulated: romaji, AniList's default.
            "title": {
                "romaji": media.romaji,
                "english": media.english,
                "userPreferred": media.romaji,
            },
            "type": media.type,
            "format": media.format,
            "startDate": {"year": media.year, "month": None, "day": None},
            "episodes": media.episodes,
            "duration": media.duration,
            "siteUrl": f"https://anilist.co/anime/{media.id}",
            "mediaListEntry": entry,
        }

    def entry(self, entry: SimEntry) -> dict[str, Any]:
        state, user = self.state, self.state.users.get(entry.user_id)

        def score(_info: Any, format: str | None = None) -> float:  # noqa: A002
            chosen = format or (user.score_format if user else "POINT_100")
            return format_from_raw(entry.score_raw, chosen)

        media = state.media.get(entry.media_id)
        return {
            "id": entry.id,
            "userId": entry.user_id,
            "mediaId": entry.media_id,
            "status": entry.status,
            "score": score,
            "progress": entry.progress,
            "repeat": entry.repeat,
            "startedAt": _fuzzy(entry.started_at),
            "completedAt": _fuzzy(entry.completed_at),
            "createdAt": entry.created_at,
            "updatedAt": entry.updated_at,
            "media": self.media(media) if media else None,
            "user": self.user(user) if user else None,
        }

    def user(self, user: SimUser) -> dict[str, Any]:

        def statuses(_info: Any, limit: int | None = None) -> list[dict[str, Any]]:
            # AniList's own statistics, counted apart from listing (the list faults do not
            # reach them) from what list reads show, so a lagging write is not counted yet.
            counts: dict[str, int] = {}
            for entry in self.shown(user.id):
                counts[entry.status] = counts.get(entry.status, 0) + 1
            rows = [{"status": status, "count": count} for status, count in counts.items()]
            return rows[:limit] if limit is not None else rows

        anime = {"count": len(self.shown(user.id)), "statuses": statuses}
        return {
            "id": user.id,
            "name": user.name,
            "mediaListOptions": {"scoreFormat": user.score_format},
            "statistics": {"anime": anime, "manga": None},
        }


def _root(context: _Context) -> dict[str, Callable[..., Any]]:
    """The root fields; graphql-core calls them with (info, **arguments)."""
    state = context.state

    def viewer(_info: Any) -> dict[str, Any]:
        return context.user(context.require_viewer())

    def user(_info: Any, id: int | None = None, name: str | None = None) -> dict[str, Any]:  # noqa: A002
        found = state.users.get(id or 0) or next(
            (u for u in state.users.values() if name is not None and u.name == name), None
        )
        if found is None:
            raise SimError("Not Found.", 404)
        return context.user(found)

    def media(_info: Any, **args: Any) -> dict[str, Any]:
        found = state.media.get(args.get("id") or 0) or next(
            (m for m in state.media.values() if args.get("idMal") and m.id_mal == args["idMal"]),
            None,
        )
        if found is None or (args.get("type") and found.type != args["type"]):
            raise SimError("Not Found.", 404)
        return context.media(found)

    def page(_info: Any, page: int = 1, perPage: int = 50) -> dict[str, Any]:  # noqa: N803
        per_page = max(1, min(perPage, MAX_PER_PAGE))
        # Whether the page's list goes on: known once the list was resolved (documents that
        # want it ask for pageInfo after the list).
        more: dict[str, bool | None] = {"hasNextPage": None}

        def paged[T](chosen: list[T]) -> list[T]:
            more["hasNextPage"] = len(chosen) > page * per_page
            return chosen[(page - 1) * per_page : page * per_page]

        def page_info(_info: Any) -> dict[str, Any]:
            return {"perPage": per_page, "currentPage": page, **more}

        def page_airing(_info: Any, **args: Any) -> list[dict[str, Any]]:
            wanted = args.get("mediaId_in")
            after, before = args.get("airingAt_greater"), args.get("airingAt_lesser")
            rows = [
                (at, episode, m)
                for m in state.media.values()
                if wanted is None or m.id in wanted
                for episode, at in m.airings.items()
                if (after is None or at > after)
                and (before is None or at < before)
                and (not args.get("notYetAired") or at > state.now)
            ]
            rows.sort(key=lambda row: (row[0], row[2].id, row[1]))
            return [
                {
                    "id": m.id * 10_000 + episode,
                    "airingAt": at,
                    "timeUntilAiring": at - state.now,
                    "episode": episode,
                    "mediaId": m.id,
                    "media": context.media(m),
                }
                for at, episode, m in paged(rows)
            ]

        def page_media(_info: Any, **args: Any) -> list[dict[str, Any]]:
            chosen = [
                m
                for m in sorted(state.media.values(), key=lambda m: m.id)
                if ("id" not in args or m.id == args["id"])
                and ("id_in" not in args or m.id in (args["id_in"] or []))
                and ("type" not in args or m.type == args["type"])
                and ("search" not in args or _found_by(m, args["search"] or ""))
            ]
            for order in reversed(args.get("sort") or []):
                if order == "POPULARITY_DESC":
                    chosen.sort(key=lambda m: -m.popularity)
                elif order == "SEARCH_MATCH":  # a title that is the whole search first
                    chosen.sort(key=lambda m: not _whole_title(m, args.get("search") or ""))
            return [context.media(m) for m in chosen[(page - 1) * per_page : page * per_page]]

        def page_media_list(_info: Any, **args: Any) -> list[dict[str, Any]]:
            # The entries as list reads show them, a lagging write included (the page is a list
            # read too); sorted as asked, of the orders the client uses.
            if args.get("userId") is None:
                raise SimError("validation", 400, {"userId": ["The user id is required."]})
            chosen = [
                e
                for e in context.listed(args["userId"])
                if (
                    (m := state.media.get(e.media_id)) is None or m.type == args.get("type", m.type)
                )
                and e.status in (args.get("status_in") or [e.status])
            ]
            for order in reversed(args.get("sort") or ["MEDIA_ID"]):
                field, descending = order.removesuffix("_DESC"), order.endswith("_DESC")
                key = {"UPDATED_TIME": "updated_at", "MEDIA_ID": "media_id"}[field]
                chosen.sort(key=lambda e: getattr(e, key), reverse=descending)
            return [context.entry(e) for e in paged(chosen)]

        return {
            "pageInfo": page_info,
            "media": page_media,
            "mediaList": page_media_list,
            "airingSchedules": page_airing,
        }

    def collection(_info: Any, **args: Any) -> dict[str, Any] | None:
        user = state.users.get(args.get("userId") or 0) or next(
            (u for u in state.users.values() if u.name == args.get("userName")), None
        )
        if args.get("type") is None:
            raise SimError("validation", 400, {"type": ["The type field is required."]})
        if user is None:
            raise SimError("Not Found.", 404)
        entries = [
            e
            for e in state.listed_entries(user.id)
            if (media := state.media.get(e.media_id)) is None or media.type == args["type"]
        ]
        quirks = state.quirks
        malformed: Malformed | None = None
        if quirks.malformed_collections > 0:
            quirks.malformed_collections -= 1
            malformed = quirks.malformed_shape
            if malformed is Malformed.NULL_COLLECTION:
                return None
        elif quirks.empty_collections > 0:
            quirks.empty_collections -= 1
            entries = []
        elif quirks.tiny_collections > 0:
            quirks.tiny_collections -= 1
            entries = entries[:TINY_SIZE]
        has_next = False
        if args.get("chunk") is not None:
            per_chunk = max(1, min(args.get("perChunk") or 500, 500))
            start = (args["chunk"] - 1) * per_chunk
            has_next = len(entries) > start + per_chunk
            entries = entries[start : start + per_chunk]
        lists: list[dict[str, Any]] = []
        for status in STATUS_ORDER:
            group = [e for e in entries if e.status == status and not e.hidden_from_status_lists]
            if group:
                lists.append(
                    {
                        "name": LIST_NAMES[status],
                        "status": status,
                        "isCustomList": False,
                        "isSplitCompletedList": False,
                        "entries": [context.entry(e) for e in group],
                    }
                )
        lists.extend(
            {
                "name": name,
                "status": None,
                "isCustomList": True,
                "isSplitCompletedList": False,
                "entries": [context.entry(e) for e in entries if name in e.custom_lists],
            }
            for name in sorted({n for e in entries for n in e.custom_lists})
        )
        if malformed is Malformed.NULL_ENTRIES:
            lists = [{**group, "entries": None} for group in lists]
        return {
            "lists": None if malformed is Malformed.NULL_LISTS else lists,
            "user": context.user(user),
            "hasNextChunk": has_next,
        }

    def save(_info: Any, **args: Any) -> dict[str, Any]:
        viewer = context.require_viewer()
        state.mutations.append("SaveMediaListEntry")
        if args.get("id") is not None:
            entry = state.entries.get(args["id"])
            if entry is None or entry.user_id != viewer.id:
                raise SimError("Not Found.", 404)
        else:
            media = state.media.get(args.get("mediaId") or 0)
            if media is None:
                raise SimError(
                    "validation", 400, {"mediaId": ["The selected media id is invalid."]}
                )
            entry = state.entry_for(viewer.id, media.id)
        before = replace(entry) if entry is not None else None
        if entry is None:
            state.next_entry_id += 1
            # Not documented: an entry created without a status; AniList's site starts CURRENT.
            entry = SimEntry(
                state.next_entry_id,
                viewer.id,
                args["mediaId"],
                args.get("status") or "CURRENT",
                created_at=state.now,
            )
            state.entries[entry.id] = entry
        _apply_save(state, entry, args, viewer)
        entry.updated_at = state.now
        state.lag_write(entry.id, before)
        return context.entry(entry)

    def delete(_info: Any, **args: Any) -> dict[str, Any]:
        viewer = context.require_viewer()
        state.mutations.append("DeleteMediaListEntry")
        entry = state.entries.get(args.get("id") or 0)
        if entry is None or entry.user_id != viewer.id:
            raise SimError("Not Found.", 404)
        del state.entries[entry.id]
        state.lag_write(entry.id, replace(entry))
        return {"deleted": True}

    return {
        "Viewer": viewer,
        "User": user,
        "Media": media,
        "Page": page,
        "MediaListCollection": collection,
        "SaveMediaListEntry": save,
        "DeleteMediaListEntry": delete,
    }


def _apply_save(
    state: AniListState, entry: SimEntry, args: Mapping[str, Any], viewer: SimUser
) -> None:
    """Apply SaveMediaListEntry's arguments to an entry."""
    if args.get("status") is not None:
        entry.status = args["status"]
    if "scoreRaw" in args and args["scoreRaw"] is not None:
        if not 0 <= args["scoreRaw"] <= 100:
            raise SimError(
                "validation", 400, {"scoreRaw": ["The score raw must be between 0 and 100."]}
            )
        entry.score_raw = args["scoreRaw"]
    elif args.get("score") is not None:
        entry.score_raw = raw_from_format(args["score"], viewer.score_format)
    if args.get("progress") is not None:
        episodes = state.media[entry.media_id].episodes
        entry.progress = min(args["progress"], episodes) if episodes else args["progress"]
    if args.get("repeat") is not None:
        entry.repeat = args["repeat"]
    for key, attribute in (("startedAt", "started_at"), ("completedAt", "completed_at")):
        if args.get(key) is not None:
            value = args[key]
            setattr(entry, attribute, (value.get("year"), value.get("month"), value.get("day")))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _found_by(media: SimMedia, search: str) -> bool:
    """Whether a search finds `media`: every word in its romaji or English title."""
    wanted = set(_words(search))
    return bool(wanted) and any(
        wanted <= set(_words(title)) for title in (media.romaji, media.english) if title
    )


def _whole_title(media: SimMedia, search: str) -> bool:
    return any(_words(title) == _words(search) for title in (media.romaji, media.english) if title)


def _error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    rendered: dict[str, Any] = {
        "message": original.message if isinstance(original, SimError) else error.message,
        "status": original.status if isinstance(original, SimError) else 400,
    }
    if error.locations:
        rendered["locations"] = [{"line": at.line, "column": at.column} for at in error.locations]
    if isinstance(original, SimError) and original.validation:
        rendered["validation"] = dict(original.validation)
    return rendered


def _reply(
    state: AniListState, body: Mapping[str, Any] | None, status: int, **headers: str
) -> web.Response:
    remaining = state.quirks.remaining
    base = {
        "X-RateLimit-Limit": str(RATE_LIMIT),
        "X-RateLimit-Remaining": str(
            max(0, RATE_LIMIT - len(state.served)) if remaining is None else remaining
        ),
    }
    if remaining == 0:
        base["X-RateLimit-Reset"] = str(state.now + 30)
    text = "" if body is None else json.dumps(body)
    return web.Response(
        status=status, text=text, content_type="application/json", headers={**base, **headers}
    )


async def _handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.requests += 1
    state.now += 1
    if (wait := state.over_limit()) is not None:
        retry_after = max(1, math.ceil(wait))
        body = {"errors": [{"message": "Too Many Requests.", "status": 429}], "data": None}
        return _reply(
            state,
            body,
            429,
            **{
                "Retry-After": str(retry_after),
                "X-RateLimit-Reset": str(state.now + retry_after),
                "X-RateLimit-Remaining": "0",
            },
        )
    match state.next_fault():
        case Fault.RATE_LIMITED:
            body = {"errors": [{"message": "Too Many Requests.", "status": 429}], "data": None}
            return _reply(
                state,
                body,
                429,
                **{
                    "Retry-After": str(state.quirks.retry_after),
                    "X-RateLimit-Reset": str(state.now + state.quirks.retry_after),
                    "X-RateLimit-Remaining": "0",
                },
            )
        case Fault.SERVER_ERROR:
            body = {"errors": [{"message": "Internal Server Error", "status": 500}], "data": None}
            return _reply(state, body, 500)
        case Fault.BAD_GATEWAY:
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        case Fault.EMPTY_200:
            return _reply(state, None, 200)
        case None:
            pass
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        body = {"errors": [{"message": "Must provide query string.", "status": 400}], "data": None}
        return _reply(state, body, 400)
    quirks = state.quirks
    if (
        quirks.malformed_collections > 0
        and quirks.malformed_shape is Malformed.NOT_JSON
        and "MediaListCollection" in payload["query"]
    ):
        quirks.malformed_collections -= 1
        return web.Response(
            text="<html><body>Please sign in</body></html>", content_type="text/html"
        )
    viewer: SimUser | None = None
    authorization = request.headers.get("Authorization", "")
    if authorization:
        token = authorization.removeprefix("Bearer ").strip()
        viewer = next((u for u in state.users.values() if u.token == token), None)
        expires = state.quirks.token_expires_after
        if viewer is None or (expires is not None and state.requests > expires):
            expired = viewer is not None
            status = state.quirks.expired_http_status if expired else 400
            error_status = 401 if expired else 400
            body = {"errors": [{"message": "Invalid token", "status": error_status}], "data": None}
            return _reply(state, body, status)
    context = _Context(state, viewer)
    variables = payload.get("variables")
    result = await graphql(
        request.app[SCHEMA],
        payload["query"],
        root_value=_root(context),
        variable_values=variables if isinstance(variables, dict) else None,
        operation_name=payload.get("operationName"),
    )
    reply: dict[str, Any] = {"data": result.data}
    if result.errors:
        errors = [_error(error) for error in result.errors]
        reply["errors"] = errors
        return _reply(state, reply, int(errors[0]["status"]))
    return _reply(state, reply, 200)


STATE = web.AppKey("anilist_state", AniListState)


def build_app(state: AniListState, schema: GraphQLSchema | None = None) -> web.Application:
    """The simulator app over `state`, recording every request it receives."""
    app = web.Application()
    app[STATE] = state
    app[SCHEMA] = schema or load_schema()
    app.router.add_post("/", _handle)
    return recording(app)


@dataclass
class FakeTime:
    """A clock that only moves when something sleeps, so paced clients never really wait."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the wait and jump past it."""
        self.slept.append(seconds)
        self.now += seconds


ALICE_ID = 5_000_001
ALICE_TOKEN = "alice-token"


def seed_example(state: AniListState, score_format: str = "POINT_10_DECIMAL") -> SimUser:
    """A realistic catalogue and one user's list covering every status."""
    state.add_media(1, "Cowboy Bebop", english="Cowboy Bebop", year=1998, episodes=26, id_mal=1)
    state.add_media(
        5114,
        "Hagane no Renkinjutsushi: FULLMETAL ALCHEMIST",
        english="Fullmetal Alchemist: Brotherhood",
        year=2009,
        episodes=64,
        id_mal=5114,
    )
    state.add_media(
        21519,
        "Kimi no Na wa.",
        english="Your Name.",
        year=2016,
        format="MOVIE",
        episodes=1,
        id_mal=32281,
    )
    state.add_media(
        16498, "Shingeki no Kyojin", english="Attack on Titan", year=2013, episodes=25,
        id_mal=16498,
    )  # fmt: skip
    state.add_media(
        20958, "Shingeki no Kyojin 2", english="Attack on Titan Season 2", year=2017,
        episodes=12, id_mal=25777,
    )  # fmt: skip
    state.add_media(21, "ONE PIECE", english="ONE PIECE", year=1999, episodes=None, id_mal=21)
    state.add_media(9253, "Steins;Gate", english="Steins;Gate", year=2011, episodes=24)
    state.add_media(30, "Shin Seiki Evangelion", english="Neon Genesis Evangelion", year=1995,
                    episodes=26, id_mal=30)  # fmt: skip
    state.add_media(30002, "Berserk", year=None, format="MANGA", episodes=None, type="MANGA")
    user = state.add_user(ALICE_ID, "alice", ALICE_TOKEN, score_format)
    state.add_entry(ALICE_ID, 1, "COMPLETED", score_raw=90, progress=26, repeat=1,
                    completed_at=(2021, 3, 4), created_at=1_600_000_000, updated_at=1_615_000_000)  # fmt: skip
    state.add_entry(ALICE_ID, 5114, "PLANNING", created_at=1_650_000_000, updated_at=1_650_000_500)
    state.add_entry(ALICE_ID, 21519, "COMPLETED", score_raw=85, progress=1,
                    completed_at=(2020, 1, 2), updated_at=1_577_000_000)  # fmt: skip
    state.add_entry(ALICE_ID, 16498, "CURRENT", progress=10, updated_at=1_690_000_000)
    state.add_entry(ALICE_ID, 20958, "CURRENT", progress=0)
    state.add_entry(ALICE_ID, 21, "PAUSED", progress=500)
    state.add_entry(ALICE_ID, 9253, "DROPPED", score_raw=60, progress=4, updated_at=1_680_000_000)
    state.add_entry(ALICE_ID, 30002, "CURRENT", progress=30)  # manga: not on the anime list
    return user


def document_problems(schema: GraphQLSchema, request: RecordedRequest) -> list[str]:
    """What AniList would refuse in one recorded request: the document and its variables."""
    body = request.body
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return [f"{request.method} {request.path}: not a GraphQL request: {body!r}"]
    document = parse(body["query"])
    problems = [error.message for error in validate(schema, document)]
    if problems:
        return problems
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), body.get("variables") or {}
    )
    return [error.message for error in coerced] if isinstance(coerced, list) else []


@dataclass
class Sim:
    """A running simulator and what a client needs to talk to it."""

    state: AniListState
    app: web.Application
    url: str
    time: FakeTime
    session: aiohttp.ClientSession

    def client(self, token: str = ALICE_TOKEN, **options: Any) -> AniListClient:
        """A client paced by fake time as by default (or by `throttle`), retrying without backoff."""
        options.setdefault(
            "throttle",
            Throttle(
                limit=REQUESTS_PER_MINUTE,
                window=CLIENT_RATE_WINDOW,
                clock=self.time.clock,
                sleep=self.time.sleep,
            ),
        )
        options.setdefault("retry", RetryPolicy(backoff=0))
        return AniListClient(
            self.session,
            tokens_from_pin(token),
            base_url=self.url,
            sleep=self.time.sleep,
            wall_clock=lambda: float(self.state.now),
            **options,
        )

    @property
    def recorded(self) -> list[RecordedRequest]:
        """Every request the simulator received."""
        return self.app[RECORDED]

    def check_client_documents(self) -> None:
        """Assert that every client document received was one AniList would accept.

        Documents tests sent themselves (to see how errors look) are not the client's.
        """
        if not official_schema_path().is_file():
            return
        schema = load_schema(official_schema_path())
        for request in self.recorded:
            if isinstance(request.body, dict) and request.body.get("query") in DOCUMENTS:
                assert document_problems(schema, request) == [], request.body


async def start_sim(
    serve: Callable[[web.Application], Awaitable[str]], session: aiohttp.ClientSession
) -> Sim:
    """Serve a simulator seeded with alice's list; its minute runs on the clients' fake time."""
    state = AniListState()
    seed_example(state)
    fake_time = FakeTime()
    state.clock = fake_time.clock
    app = build_app(state)
    return Sim(state, app, await serve(app), fake_time, session)


def seed_upcoming(state: AniListState, now: datetime) -> SimUser:
    """Alice's list (`seed_example`), with anime airing in the coming week (after `now`)."""
    user = seed_example(state)
    seed_airing(state, now)
    return user


def seed_airing(state: AniListState, now: datetime) -> None:
    """Anime airing in the coming week (after `now`) on alice's lists (`seed_example`'s).

    Frieren's second season is CURRENT (episodes in one and in eight days), Kaijuu 8-gou's
    third PLANNING (a first episode in three days, its duration not yet known), and Steins;Gate
    0, airing in two days, was DROPPED: it stays off the calendar.
    """
    day = int(datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp())
    hours = 3600
    frieren = state.add_media(182255, "Sousou no Frieren 2nd Season", year=2026, duration=24)
    frieren.airings.update({5: day + 39 * hours, 6: day + 207 * hours})
    kaijuu = state.add_media(190000, "Kaijuu 8-gou 3rd Season", year=2026, duration=None)
    kaijuu.airings[1] = day + 3 * 24 * hours + 14 * hours
    zero = state.add_media(21127, "Steins;Gate 0", year=2026)
    zero.airings[13] = day + 2 * 24 * hours
    state.add_entry(ALICE_ID, 182255, "CURRENT", progress=4)
    state.add_entry(ALICE_ID, 190000, "PLANNING")
    state.add_entry(ALICE_ID, 21127, "DROPPED", progress=2)
