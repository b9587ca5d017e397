"""A stateful Trakt API simulator: one account, its watchlist, plays and ratings, and OAuth.

Paths, parameters, status codes and bodies follow ../shared/specs/trakt (the official contract
and the Apiary docs). Tests seed the catalogue and the account, drive the device flow
(approve/deny/expire a code), revoke access tokens, and switch on `Quirks` to reproduce what the
real service does on a bad day.

Every authed API reply carries `X-Ratelimit`, the JSON Trakt documents (name, period, limit,
remaining, until) for the bucket the call spends: GETs 1000 per 5 minutes, writes (POST, PUT,
DELETE) 1 per second. Trakt calls the header optional; the `no_ratelimit_header` quirk leaves
it out. Both limits are enforced, per user (the simulator has one): a call over its bucket's
limit answers 429 with `Retry-After`, the whole seconds until the bucket's period ends, and is
not acted on. Each bucket counts calls in fixed periods that start with the first call after
the last one ended (the `until` Trakt reports). The numbers: the write limit is the documented
1 call a second; for GETs the 2026 facts page names no new number, and the newest description
we have (specs/trakt/trakt.apib, mirrored 2026-04 from the official Apiary docs) still gives
AUTHED_API_GET_LIMIT as 1000 calls every 5 minutes, so that is what is enforced; should Trakt's
2026 tiers differ, `TraktSim.buckets` is where to change it. The limits are counted on
`TraktSim.rate_clock` (seconds): the wall clock by default; a test whose client paces itself on
a `FakeTime` hands the simulator the same clock, so that a second the client waited is a second
here too.

Paging as in 2026 (provider-facts-2026.md, Trakt; trakt/trakt-api#924 and PR #925): the
watchlist, the history and `/sync/watched` are always paged, `limit` defaults to 100 and a larger
one than 250 is silently clamped to 250 (`TraktSim.max_limit`; X-Pagination-Limit says what was
used). `/sync/ratings` is unpaged again: it answers the whole list and no pagination headers,
whatever `page` and `limit` say. The facts name lists and the collection as paged too; the
simulator serves neither.

The 2026 app rule (../shared/research/provider-facts-2026.md, Trakt): own API apps need VIP, and
free members' apps were deleted on 2026-07-31. `Quirks.app_deleted` answers 403 to every request
(OAuth and API alike: the facts say every request, public endpoints too), `Quirks.vip_required`
426 to every request. Where Trakt's body for these is not documented we send an empty JSON
object; trakt/trakt-api#902 shows an OAuth `invalid_client` body for a deleted app, which the
client does not rely on either way.

The user's calendar (`/calendars/{target}/shows/{start_date}/{days}`): `my` lists the episodes
that air in the window (UTC days from `start_date`) of every show the user played an episode of
or watchlisted, and single watchlisted episodes, less the shows in `TraktSim.hidden_calendar`;
`all` lists every episode of the catalogue that airs then. At most `CALENDAR_MAX_DAYS` (33) days
a request, as Trakt documents; Trakt does not say how it answers more, so the simulator refuses
it with 400 (chosen here). `extended=full` adds each episode's runtime and its own `first_aired`.
Episodes air when the catalogue says (`add_episode(..., first_aired=..., runtime=...)`).

Scrobbles (`/scrobble/start|pause|stop`), as the contract describes them: the body names a
movie or an episode by ids, or an episode by its show's ids with `season` and `number`, and the
progress in percent. Start and pause keep the progress (`TraktSim.scrobbles`, the playback
Trakt would offer to resume). A stop at 80 % or more records a play, dated by the wall clock as
Trakt dates it, with action `scrobble`; between 1 % and 80 % it is a pause; below 1 % it answers
422 and is ignored. A second stop at 80 % or more of the same item within
`TraktSim.scrobble_window` answers 409 with the `watched_at` of the play it kept and when the
item may be scrobbled again (`expires_at`), and records nothing. `Quirks.scrobbles_down` answers
every scrobble 503 without acting on it; `Quirks.lost_scrobble_replies` acts on the next ones,
then answers 503 (a reply lost on the way).
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import hashlib
import itertools
import json
import math
import re
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from tests.simulators.openapi import recording

CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"
VERIFICATION_URL = "https://trakt.tv/activate"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
CALENDAR_MAX_DAYS = 33  # the most days one calendar request may ask for
type Json = Any
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Quirks:
    """Faults and oddities the real service shows; tests switch them on."""

    stale_etag_after_write: bool = False  # after a watchlist write, any If-None-Match gets 304
    frozen_activities: bool = False  # last_activities never advance
    visible_after_reads: int = 0  # a write shows in that list only after this many reads of it
    rate_limit_storm: int = 0  # the next N API calls answer 429
    rate_limit_writes: int = 0  # the next N writes answer 429 (their bucket: 1 call a second)
    retry_after: int = 1  # seconds, sent with each 429
    server_error_on_page: int | None = None  # this page of any list answers 503 ...
    server_errors: int = 0  # ... this many times
    truncate_page: int | None = None  # this page of any list loses its last item
    empty_replies: int = 0  # the next N list reads answer an empty 200
    ok_only_replies: bool = False  # writes answer {"ok": true} without per-item detail
    locked: bool = False  # every API call answers 423
    slow_down_polls: int = 0  # the next N device-token polls answer 429
    write_errors: int = 0  # the next N writes are applied, then answer 503 (a lost reply)
    no_ratelimit_header: bool = False  # replies come without X-Ratelimit (Trakt: "optional")
    # Any If-None-Match on any list answers 304 with the tag it was asked about, whatever the
    # list holds now: a cache in front of Trakt that is stale for reasons of its own (unlike
    # `stale_etag_after_write`, which only follows our own watchlist writes).
    stale_etag: bool = False
    # Every /sync/last_activities call first moves the watchlisted_at, watched_at and rated_at
    # stamps of every category, with no list changing: Trakt moves them for changes that leave
    # a list as it was (a title listed and unlisted again, a rating set to what it was).
    unrelated_activity: bool = False
    # The next N list reads answer 200 with a body that is not the JSON list they promise. By
    # the number left before each one: 4k `not JSON` (an HTML error page), 4k+3 an object
    # where the list belongs, 4k+2 `null`, 4k+1 `{}`. Pagination headers are sent as usual.
    malformed_replies: int = 0
    no_total_header: bool = False  # list pages come without X-Pagination-Item-Count
    # The next N list reads answer only the list's first 3 rows, with pagination headers that
    # claim exactly that (one page, three items): a shrunken list that looks complete.
    tiny_replies: int = 0
    # Writes answer with their counts but no `not_found`: nothing said item by item.
    count_only_replies: bool = False
    # The 2026 app rule: the app (client id) was deleted, so every request answers 403 ...
    app_deleted: bool = False
    # ... or its owner's VIP ran out: every request answers 426 ("VIP required").
    vip_required: bool = False
    # The next N calendar reads answer 200 with an object where the calendar's list belongs.
    malformed_calendars: int = 0
    # Seconds a write waits, once applied, before it answers (longer than the client waits:
    # a timeout whose request was stored all the same).
    write_delay: float = 0.0
    scrobbles_down: bool = False  # every scrobble answers 503, not acted on
    lost_scrobble_replies: int = 0  # the next N scrobbles are acted on, then answer 503


@dataclass
class RateBucket:
    """One of Trakt's rate limits, counted over its own period of the simulator's rate clock."""

    name: str
    period: int  # seconds
    limit: int
    started: datetime | None = None
    used: int = 0

    def wait(self, now: datetime) -> float | None:
        """Seconds until a call may be made, or None when one may be made now."""
        if self.started is None or now >= self.started + timedelta(seconds=self.period):
            return None
        if self.used < self.limit:
            return None
        return (self.started + timedelta(seconds=self.period) - now).total_seconds()

    def spend(self, now: datetime, *, exhausted: bool = False) -> dict[str, Json]:
        """Count one call; the X-Ratelimit object Trakt would send with its reply.

        `exhausted`: the call was refused with a 429; it is not counted, and the report says
        nothing remains (a scripted 429 leaves the real count as it was).
        """
        if self.started is None or now >= self.started + timedelta(seconds=self.period):
            self.started, self.used = now, 0
        if not exhausted:
            self.used += 1
        until = self.started + timedelta(seconds=self.period)
        return {
            "name": self.name,
            "period": self.period,
            "limit": self.limit,
            "remaining": 0 if exhausted else max(0, self.limit - self.used),
            "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@dataclass
class Movie:
    """A movie in the catalogue."""

    trakt: int
    title: str
    year: int
    imdb: str | None = None
    tmdb: int | None = None
    slug: str | None = None

    def ids(self) -> dict[str, Json]:
        return {"trakt": self.trakt, "slug": self.slug, "imdb": self.imdb, "tmdb": self.tmdb}

    def render(self) -> dict[str, Json]:
        return {"title": self.title, "year": self.year, "ids": self.ids()}


@dataclass
class Episode:
    """An episode in the catalogue."""

    trakt: int
    season: int
    number: int
    title: str = ""
    tvdb: int | None = None
    imdb: str | None = None
    tmdb: int | None = None
    first_aired: datetime | None = None  # when it airs (or aired), if Trakt knows
    runtime: int | None = None  # minutes

    def ids(self) -> dict[str, Json]:
        return {"trakt": self.trakt, "tvdb": self.tvdb, "imdb": self.imdb, "tmdb": self.tmdb}

    def render(self) -> dict[str, Json]:
        return {
            "season": self.season,
            "number": self.number,
            "title": self.title,
            "ids": self.ids(),
        }


@dataclass
class Season:
    """A season in the catalogue."""

    trakt: int
    number: int
    tvdb: int | None = None
    tmdb: int | None = None
    episodes: dict[int, Episode] = field(default_factory=dict)

    def ids(self) -> dict[str, Json]:
        return {"trakt": self.trakt, "tvdb": self.tvdb, "tmdb": self.tmdb}

    def render(self) -> dict[str, Json]:
        return {"number": self.number, "ids": self.ids()}


@dataclass
class Show:
    """A show in the catalogue."""

    trakt: int
    title: str
    year: int
    imdb: str | None = None
    tmdb: int | None = None
    tvdb: int | None = None
    slug: str | None = None
    seasons: dict[int, Season] = field(default_factory=dict)

    def ids(self) -> dict[str, Json]:
        return {
            "trakt": self.trakt,
            "slug": self.slug,
            "tvdb": self.tvdb,
            "imdb": self.imdb,
            "tmdb": self.tmdb,
        }

    def render(self) -> dict[str, Json]:
        return {"title": self.title, "year": self.year, "ids": self.ids()}


@dataclass
class DeviceCodeState:
    """One device code and what the user did with it."""

    device_code: str
    user_code: str
    state: str = "pending"  # pending, approved, denied, expired, used


# Kinds of things the account lists, keyed by the trakt id of the movie/show/season/episode.
type Ref = tuple[str, int]

CATEGORY = {"movie": "movies", "show": "shows", "season": "seasons", "episode": "episodes"}
KIND = {plural: kind for kind, plural in CATEGORY.items()}


def stamp(moment: datetime) -> str:
    """A timestamp as Trakt writes them."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_stamp(text: str) -> datetime:
    """A Trakt timestamp as a datetime."""
    return datetime.fromisoformat(text)


class TraktSim:
    """The account and catalogue behind the simulated API."""

    def __init__(self, *, slug: str = "alice", watchlist_limit: int | None = None) -> None:
        """An empty account; seed it with the `add_*` and `seed_*` methods."""
        self.slug = slug
        # Watchlist items allowed (2026: 250 free, 5,000 VIP); None: the plan's, as `vip` says.
        self.watchlist_limit = watchlist_limit
        self.vip = False
        self.max_limit = 250  # the largest page Trakt serves; larger limits are clamped to it
        # Ratings allowed (2026: 10,000 free, 20,000 VIP); None: the plan's, as `vip` says.
        self.ratings_limit: int | None = None
        self.quirks = Quirks()
        self.movies: dict[int, Movie] = {}
        self.shows: dict[int, Show] = {}
        self.watchlist: list[dict[str, Json]] = []  # {"id", "ref", "listed_at"}
        self.history: list[dict[str, Json]] = []  # {"id", "ref", "watched_at", "action"}
        self.ratings: dict[Ref, tuple[int, str]] = {}
        self.hidden_calendar: set[int] = set()  # shows the user hid from the calendar
        # Scrobbles: each item's last (action, progress), and each play a stop recorded.
        self.scrobbles: dict[Ref, tuple[str, float]] = {}
        self.scrobbled: dict[Ref, datetime] = {}  # when a stop last recorded the item's play
        self.scrobble_calls: list[tuple[str, Json]] = []  # (action, body) as received
        self.scrobble_window = timedelta(hours=1)  # a repeated stop within it answers 409
        self.device_codes: dict[str, DeviceCodeState] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.issued_with: dict[str, str] = {}  # access token -> the refresh token of its pair
        self.revoked: list[str] = []  # access tokens revoked through /oauth/revoke, in order
        self.headers_seen: list[dict[str, str]] = []
        # Rate limits count on this clock (seconds; see the module's docstring).
        self.rate_clock: Callable[[], float] = time.monotonic
        self._client_time: FakeTime | None = None
        self.buckets = {
            "GET": RateBucket("AUTHED_API_GET_LIMIT", 300, 1000),
            "POST": RateBucket("AUTHED_API_POST_LIMIT", 1, 1),
        }
        self._ids = itertools.count(1000)
        self._clock = EPOCH
        self._activities: dict[str, dict[str, str]] = {}
        self._lagging: dict[str, tuple[Json, dict[str | None, int]]] = {}
        self._watchlist_written = False
        self.token_expires_in = 7 * 86400
        self.device_interval = 5  # seconds between polls, as Trakt asks; tests may lower it
        # The demo signs in without a human: a pending device code is approved on its first poll.
        self.auto_approve = False
        # When tokens are issued (epoch seconds): the simulated clock by default; tests whose
        # client judges expiry by the wall clock (Home Assistant's) set time.time.
        self.issued_at: Callable[[], float] = self._simulated_now
        for group, names in _ACTIVITY_FIELDS.items():
            self._activities[group] = dict.fromkeys(names, stamp(EPOCH))

    # -- seeding --------------------------------------------------------------------------

    def tick(self) -> datetime:
        """Advance the simulated clock by a second; every change happens at its own time."""
        self._clock += timedelta(seconds=1)
        return self._clock

    def add_movie(self, trakt: int, title: str, year: int, **ids: Json) -> Movie:
        """Put a movie in the catalogue."""
        movie = self.movies[trakt] = Movie(trakt, title, year, **ids)
        return movie

    def add_show(self, trakt: int, title: str, year: int, **ids: Json) -> Show:
        """Put a show in the catalogue."""
        show = self.shows[trakt] = Show(trakt, title, year, **ids)
        return show

    def add_episode(self, show: int, season: int, number: int, trakt: int, **ids: Json) -> Episode:
        """Put an episode (and its season) in the catalogue."""
        seasons = self.shows[show].seasons
        if season not in seasons:
            seasons[season] = Season(trakt=show * 100 + season, number=season)
        episode = seasons[season].episodes[number] = Episode(trakt, season, number, **ids)
        return episode

    def seed_watchlist(self, kind: str, trakt: int, listed_at: datetime | None = None) -> None:
        """List an item, as the user did on the website."""
        self._list((kind, trakt), listed_at or self.tick())
        self._moved(CATEGORY[kind], "watchlisted_at")

    def seed_play(self, kind: str, trakt: int, watched_at: datetime) -> None:
        """Record a play, as the user did on the website."""
        self._play((kind, trakt), stamp(watched_at), "watch")
        self._moved(CATEGORY[kind], "watched_at")

    def seed_rating(self, kind: str, trakt: int, rating: int, rated_at: datetime) -> None:
        """Rate an item, as the user did on the website."""
        self.ratings[(kind, trakt)] = (rating, stamp(rated_at))
        self._moved(CATEGORY[kind], "rated_at")

    def unlist(self, kind: str, trakt: int) -> None:
        """Take an item off the watchlist, as the user did on the website."""
        self.watchlist = [row for row in self.watchlist if row["ref"] != (kind, trakt)]
        self._moved(CATEGORY[kind], "watchlisted_at")

    def client_time(self) -> FakeTime:
        """A fake time for a test's client to pace itself on, which the rate limits count on too.

        One per simulator: a client made again (a restart) goes on from where the last one was.
        """
        if self._client_time is None:
            self._client_time = FakeTime()
            self.rate_clock = self._client_time.clock
        return self._client_time

    @property
    def watchlist_cap(self) -> int:
        """How many titles the watchlist may hold (provider-facts-2026.md: 250 / 5,000)."""
        if self.watchlist_limit is not None:
            return self.watchlist_limit
        return 5_000 if self.vip else 250

    @property
    def list_item_cap(self) -> int:
        """How many items one personal list may hold (provider-facts-2026.md: 250 / 5,000)."""
        return 5_000 if self.vip else 250

    @property
    def ratings_cap(self) -> int:
        """How many ratings the account may hold (provider-facts-2026.md: 10,000 / 20,000)."""
        if self.ratings_limit is not None:
            return self.ratings_limit
        return 20_000 if self.vip else 10_000

    def rate_now(self) -> datetime:
        """The rate clock's time, as a moment (for the `until` Trakt reports)."""
        return EPOCH + timedelta(seconds=self.rate_clock())

    def _simulated_now(self) -> float:
        return self._clock.timestamp()

    def issue_tokens(self) -> dict[str, Json]:
        """A fresh token pair, as /oauth/token would give it."""
        access, refresh = f"access-{next(self._ids)}", f"refresh-{next(self._ids)}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        self.issued_with[access] = refresh
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.token_expires_in,
            "refresh_token": refresh,
            "scope": "public",
            "created_at": int(self.issued_at()),
        }

    def revoke_access_tokens(self) -> None:
        """Access tokens stop working mid-run; the refresh token still does."""
        self.access_tokens.clear()

    def approve(self, user_code: str) -> None:
        """The user approves a device code."""
        self._code(user_code).state = "approved"

    def deny(self, user_code: str) -> None:
        """The user denies a device code."""
        self._code(user_code).state = "denied"

    def expire(self, user_code: str) -> None:
        """A device code runs out."""
        self._code(user_code).state = "expired"

    def _code(self, user_code: str) -> DeviceCodeState:
        return next(c for c in self.device_codes.values() if c.user_code == user_code)

    # -- state changes --------------------------------------------------------------------

    def _moved(self, group: str, name: str) -> None:
        if self.quirks.frozen_activities:
            return
        now = stamp(self.tick())
        self._activities[group][name] = now
        if name == "watchlisted_at":
            self._activities["watchlist"]["updated_at"] = now

    def _list(self, ref: Ref, listed_at: datetime) -> None:
        self.watchlist.append({"id": next(self._ids), "ref": ref, "listed_at": stamp(listed_at)})

    def _play(self, ref: Ref, watched_at: str, action: str) -> None:
        self.history.append(
            {"id": next(self._ids), "ref": ref, "watched_at": watched_at, "action": action}
        )

    def _before_write(self, feature: str) -> None:
        """Under eventual consistency, freeze what reads of `feature` show for a while."""
        reads = self.quirks.visible_after_reads
        if reads and feature not in self._lagging:
            state = {"watchlist": self.watchlist, "history": self.history}.get(
                feature, self.ratings
            )
            self._lagging[feature] = (copy.deepcopy(state), {})

    def _visible(self, feature: str, kind: str | None, current: Json, *, first_page: bool) -> Json:
        """What a read of one list shows: the frozen state for its first N reads after a write."""
        lag = self._lagging.get(feature)
        if lag is None:
            return current
        frozen, remaining = lag
        left = remaining.setdefault(kind, self.quirks.visible_after_reads)
        if left <= 0:
            return current
        if first_page:
            remaining[kind] = left - 1
        return frozen

    # -- lookups --------------------------------------------------------------------------

    def find(self, kind: str, ids: Json) -> Json:
        """Match ids as Trakt does: trakt, imdb, tmdb, tvdb, then slug."""
        if not isinstance(ids, dict):
            return None
        pool: Iterable[Any]
        match kind:
            case "movie":
                pool = self.movies.values()
            case "show":
                pool = self.shows.values()
            case "season":
                pool = [s for show in self.shows.values() for s in show.seasons.values()]
            case _:
                pool = [
                    e
                    for show in self.shows.values()
                    for s in show.seasons.values()
                    for e in s.episodes.values()
                ]
        for name in ("trakt", "imdb", "tmdb", "tvdb", "slug"):
            wanted = ids.get(name)
            if wanted is None:
                continue
            for thing in pool:
                if thing.ids().get(name) == wanted:
                    return thing
        return None

    def listed_refs(self) -> set[Ref]:
        """What the watchlist holds."""
        return {row["ref"] for row in self.watchlist}

    def calendar_shows(self) -> set[int]:
        """The shows on the user's calendar: played or watchlisted, and not hidden from it."""
        shows = {ref[1] for ref in self.listed_refs() if ref[0] == "show"}
        for play in self.history:
            if play["ref"][0] in ("episode", "season"):
                shows.add(self.show_of(play["ref"])[0].trakt)
        return shows - self.hidden_calendar

    def show_of(self, ref: Ref) -> tuple[Show, Season | None, Episode | None]:
        """The show (and season, episode) a season or episode ref belongs to."""
        kind, trakt = ref
        for show in self.shows.values():
            for season in show.seasons.values():
                if kind == "season" and season.trakt == trakt:
                    return show, season, None
                for episode in season.episodes.values():
                    if kind == "episode" and episode.trakt == trakt:
                        return show, season, episode
        raise KeyError(ref)

    def render_row(self, ref: Ref) -> dict[str, Json]:
        """The media part of a list record: type and object(s)."""
        kind, trakt = ref
        if kind == "movie":
            return {"type": "movie", "movie": self.movies[trakt].render()}
        if kind == "show":
            return {"type": "show", "show": self.shows[trakt].render()}
        show, season, episode = self.show_of(ref)
        own = episode.render() if episode else season.render()  # type: ignore[union-attr]
        return {"type": kind, kind: own, "show": show.render()}

    def activities(self) -> dict[str, Json]:
        """The last_activities body."""
        body: dict[str, Json] = {k: dict(v) for k, v in self._activities.items()}
        body["all"] = max(v for group in self._activities.values() for v in group.values())
        return body

    def etag(self, body: Json) -> str:
        """A strong validator of a body."""
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return f'"{digest[:20]}"'

    def stats(self) -> dict[str, Json]:
        """The /users/{id}/stats body: counts Trakt keeps apart from the lists themselves."""
        plays = dict.fromkeys(CATEGORY, 0)
        watched: dict[str, set[Ref]] = {kind: set() for kind in CATEGORY}
        for row in self.history:
            kind = row["ref"][0]
            plays[kind] += 1
            watched[kind].add(row["ref"])
        rated = {kind: sum(1 for ref in self.ratings if ref[0] == kind) for kind in CATEGORY}
        distribution = {str(n): 0 for n in range(1, 11)}
        for value, _ in self.ratings.values():
            distribution[str(value)] += 1

        def counts(kind: str, *, with_plays: bool) -> dict[str, Json]:
            body: dict[str, Json] = {"ratings": rated[kind], "comments": 0}
            if kind != "season":
                body |= {"watched": len(watched[kind]), "collected": 0}
            if with_plays:
                body |= {"plays": plays[kind], "minutes": 0}
            return body

        return {
            "movies": counts("movie", with_plays=True),
            "shows": counts("show", with_plays=False),
            "seasons": counts("season", with_plays=False),
            "episodes": counts("episode", with_plays=True),
            "network": {"friends": 0, "followers": 0, "following": 0},
            "ratings": {"total": len(self.ratings), "distribution": distribution},
        }

    def settings(self) -> dict[str, Json]:
        """The /users/settings body (every field the contract requires)."""
        sort = {"sort_how": "asc", "refresh": False, "simple_progress": False}
        return {
            "user": {
                "username": self.slug,
                "private": False,
                "name": self.slug.title(),
                "vip": self.vip,
                "vip_ep": False,
                "director": False,
                "ids": {
                    "slug": self.slug,
                    "trakt": 7,
                    "uuid": "b6589fc6ab0dc82cf12099d1c2d40ab994e8410c",
                },
                "joined_at": stamp(EPOCH),
                "images": {"avatar": {"full": "https://walter.trakt.tv/avatar.png"}},
                "vip_og": False,
                "vip_years": 0,
            },
            "permissions": {"commenting": True, "liking": True, "following": True},
            "browsing": {
                "hide_watching_now": False,
                "watch_only_once": False,
                "other_site_ratings": True,
                "release_date_ignore_runtime": False,
                "display_early_ratings": False,
                "hide_episode_type_tags": False,
                "hide_unsaved_filters_prompt": False,
                "spoilers": {},
                "calendar": {"hide_specials": False, "autoscroll": True},
                "progress": {
                    "on_deck": {**sort, "only_favorites": False},
                    "watched": {
                        **sort,
                        "include_specials": False,
                        "include_watchlisted": False,
                        "include_collected": False,
                        "use_last_activity": False,
                        "grid_view": False,
                    },
                },
                "watchnow": {"favorites": [], "only_favorites": False},
                "welcome": {"exit_step": None},
                "genres": {},
                "comments": {"blocked_uids": []},
                "recommendations": {"ignore_collected": False, "ignore_watchlisted": False},
                "rewatching": {"adjust_percentage": False},
                "profile": {
                    "favorites": {"sort_by": "rank", "sort_how": "asc"},
                    "most_watched_shows": {"sort_by": "plays", "tab": "all"},
                    "most_watched_movies": {"sort_by": "plays", "tab": "all"},
                },
            },
            "account": {"timezone": "Europe/Paris", "date_format": "dmy", "time_24hr": True},
            "limits": {
                "list": {"count": 2, "item_count": self.list_item_cap},
                "watchlist": {"item_count": self.watchlist_cap},
                "favorites": {"item_count": 50},
            },
        }


_ACTIVITY_FIELDS = {
    "movies": (
        "watched_at", "collected_at", "rated_at", "watchlisted_at", "favorited_at",
        "commented_at", "paused_at", "hidden_at",
    ),
    "episodes": (
        "watched_at", "collected_at", "rated_at", "watchlisted_at", "commented_at", "paused_at",
    ),
    "shows": (
        "rated_at", "watchlisted_at", "favorited_at", "commented_at", "hidden_at", "dropped_at",
    ),
    "seasons": ("rated_at", "watchlisted_at", "commented_at", "hidden_at"),
    "comments": ("liked_at", "reacted_at", "blocked_at"),
    "lists": ("liked_at", "reacted_at", "updated_at", "commented_at"),
    "watchlist": ("updated_at",),
    "favorites": ("updated_at",),
    "collaborations": ("updated_at",),
    "account": ("settings_at", "followed_at", "following_at", "pending_at", "requested_at"),
    "saved_filters": ("updated_at",),
    "notes": ("updated_at",),
}  # fmt: skip

SIM = web.AppKey("trakt_sim", TraktSim)


def make_app(sim: TraktSim) -> web.Application:
    """The simulated API and OAuth on one server, recording every request for conformance checks.

    The client reads a base URL other than Trakt's own as a test server that serves OAuth too
    (`clients.trakt.client.auth_url_for`). `make_apps` serves the two hosts apart, as Trakt does.
    """
    app = _recording_app(sim)
    api = _Api(sim)
    _oauth_routes(app, api)
    _api_routes(app, api)
    return app


@dataclass(frozen=True, slots=True)
class TraktApps:
    """Trakt's two hosts over one account: the API (api.trakt.tv) and OAuth (auth.trakt.tv)."""

    api: web.Application
    auth: web.Application


def make_apps(sim: TraktSim) -> TraktApps:
    """The API and OAuth as two servers, as the 2026 contract declares them (`servers`).

    Each answers only its own paths (404 for the other's), so a client that sends OAuth to the
    API host, or the reverse, fails as it would against Trakt.
    """
    api, auth = _Api(sim), _recording_app(sim)
    _oauth_routes(auth, api)
    served = _recording_app(sim)
    _api_routes(served, api)
    return TraktApps(served, auth)


def _recording_app(sim: TraktSim) -> web.Application:
    app = web.Application()
    app[SIM] = sim
    recording(app)
    app.middlewares.append(_app_rule(sim))
    return app


def _oauth_routes(app: web.Application, api: _Api) -> None:
    app.router.add_post("/oauth/device/code", api.device_code)
    app.router.add_post("/oauth/device/token", api.device_token)
    app.router.add_post("/oauth/token", api.token)
    app.router.add_post("/oauth/revoke", api.revoke)


def _api_routes(app: web.Application, api: _Api) -> None:
    app.router.add_get("/users/settings", api.authed(api.user_settings))
    app.router.add_get("/sync/last_activities", api.authed(api.last_activities))
    app.router.add_get("/users/{id}/stats", api.authed(api.user_stats))
    for feature in ("watchlist", "history", "ratings"):
        reader = api.authed(api.reader(feature))
        app.router.add_get(f"/sync/{feature}", reader)
        app.router.add_get(f"/sync/{feature}/{{type}}", reader)
        app.router.add_post(f"/sync/{feature}", api.authed(api.writer(feature, remove=False)))
        app.router.add_post(f"/sync/{feature}/remove", api.authed(api.writer(feature, remove=True)))
    app.router.add_get("/sync/watched/{type}", api.authed(api.watched))
    app.router.add_get("/search/{type}", api.authed(api.search))
    for action in ("start", "pause", "stop"):
        app.router.add_post(f"/scrobble/{action}", api.authed(api.scrobbler(action)))
    app.router.add_get(
        "/calendars/{target}/shows/{start_date}/{days}", api.authed(api.calendar_shows)
    )


def _app_rule(sim: TraktSim) -> Middleware:
    """Trakt's 2026 refusals of the app itself, before anything else looks at a request."""

    @web.middleware
    async def refuse(request: web.Request, handler: Handler) -> web.StreamResponse:
        if sim.quirks.app_deleted:
            return web.json_response({}, status=403)
        if sim.quirks.vip_required:
            return web.json_response(
                {}, status=426, headers={"X-Upgrade-URL": "https://trakt.tv/vip"}
            )
        return await handler(request)

    return refuse


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


class _Api:
    """The request handlers."""

    def __init__(self, sim: TraktSim) -> None:
        self.sim = sim

    # -- OAuth ----------------------------------------------------------------------------

    async def device_code(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("client_id") != CLIENT_ID:
            return _error(401, "invalid_client", "unknown client")
        number = next(self.sim._ids)
        code = DeviceCodeState(f"device-{number}", f"USER{number}")
        self.sim.device_codes[code.device_code] = code
        return web.json_response(
            {
                "device_code": code.device_code,
                "user_code": code.user_code,
                "verification_url": VERIFICATION_URL,
                "expires_in": 600,
                "interval": self.sim.device_interval,
            }
        )

    async def device_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.sim.quirks.slow_down_polls:
            self.sim.quirks.slow_down_polls -= 1
            return web.json_response({}, status=429)
        if body.get("client_id") != CLIENT_ID or body.get("client_secret") != CLIENT_SECRET:
            return _error(401, "invalid_client", "unknown client")
        code = self.sim.device_codes.get(body.get("code"))
        if code is None:
            return web.json_response({}, status=404)
        if self.sim.auto_approve and code.state == "pending":
            code.state = "approved"
        status = {"pending": 400, "denied": 418, "expired": 410, "used": 409}.get(code.state)
        if status is not None:
            return web.json_response({}, status=status)
        code.state = "used"
        return web.json_response(self.sim.issue_tokens())

    async def token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("client_id") != CLIENT_ID or body.get("client_secret") != CLIENT_SECRET:
            return _error(401, "invalid_client", "unknown client")
        refresh = body.get("refresh_token")
        if (
            body.get("grant_type") != "refresh_token"
            or body.get("redirect_uri") != "urn:ietf:wg:oauth:2.0:oob"
            or refresh not in self.sim.refresh_tokens
        ):
            return _error(401, "invalid_grant", "The provided authorization grant is invalid")
        self.sim.refresh_tokens.discard(refresh)  # single use
        return web.json_response(self.sim.issue_tokens())

    async def revoke(self, request: web.Request) -> web.Response:
        """Revoke an access token and its authorization: the pair's refresh token dies too.

        Like OAuth's token revocation (RFC 7009), an unknown or already revoked token is no
        error: 200 either way, once the app has proved itself.
        """
        body = await request.json()
        if body.get("client_id") != CLIENT_ID or body.get("client_secret") != CLIENT_SECRET:
            return _error(401, "invalid_client", "unknown client")
        token = body.get("token")
        if not isinstance(token, str):
            return _error(400, "invalid_request", "token is required")
        self.sim.access_tokens.discard(token)
        self.sim.refresh_tokens.discard(self.sim.issued_with.pop(token, ""))
        self.sim.revoked.append(token)
        return web.json_response({})

    # -- API gate -------------------------------------------------------------------------

    def authed(self, handler: Handler) -> Handler:
        async def gate(request: web.Request) -> web.StreamResponse:
            sim, quirks = self.sim, self.sim.quirks
            sim.headers_seen.append(dict(request.headers))
            if request.headers.get("trakt-api-key") != CLIENT_ID:
                return web.json_response({}, status=403)
            if request.headers.get("trakt-api-version") != "2":
                return web.json_response({}, status=400)
            if request.method == "POST" and request.content_type != "application/json":
                return web.json_response({}, status=412)
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer not in sim.access_tokens:
                return _error(401, "invalid_token", "The access token is invalid")
            if quirks.locked:
                return web.json_response(
                    {},
                    status=423,
                    headers={"X-Account-Locked": "true", "X-Account-Deactivated": "false"},
                )
            write = request.method != "GET"
            bucket = sim.buckets["POST" if write else "GET"]
            now = sim.rate_now()
            wait = bucket.wait(now)
            if wait is not None:  # over the limit: refused, not acted on
                reply = web.json_response(
                    {}, status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))}
                )
                return self._with_quota(reply, bucket.spend(now, exhausted=True))
            if quirks.rate_limit_storm or (write and quirks.rate_limit_writes):
                if quirks.rate_limit_storm:
                    quirks.rate_limit_storm -= 1
                else:
                    quirks.rate_limit_writes -= 1
                reply = web.json_response(
                    {}, status=429, headers={"Retry-After": str(quirks.retry_after)}
                )
                return self._with_quota(reply, bucket.spend(now, exhausted=True))
            response = await handler(request)
            return self._with_quota(response, bucket.spend(now))

        return gate

    def _with_quota(
        self, response: web.StreamResponse, quota: dict[str, Json]
    ) -> web.StreamResponse:
        if not self.sim.quirks.no_ratelimit_header:
            response.headers["X-Ratelimit"] = json.dumps(quota, separators=(",", ":"))
        return response

    async def user_settings(self, request: web.Request) -> web.Response:
        return web.json_response(self.sim.settings())

    async def user_stats(self, request: web.Request) -> web.Response:
        if request.match_info["id"] not in ("me", self.sim.slug):
            return web.json_response({}, status=404)
        return web.json_response(self.sim.stats())

    async def last_activities(self, request: web.Request) -> web.Response:
        sim = self.sim
        if sim.quirks.unrelated_activity:
            for group in CATEGORY.values():
                for name in ("watchlisted_at", "watched_at", "rated_at"):
                    if name in _ACTIVITY_FIELDS[group]:
                        sim._moved(group, name)
        return web.json_response(sim.activities())

    # -- reads ----------------------------------------------------------------------------

    def reader(self, feature: str) -> Handler:
        async def read(request: web.Request) -> web.StreamResponse:
            sim, quirks = self.sim, self.sim.quirks
            kind = KIND.get(request.match_info.get("type", "all"))
            query = request.query
            paged = feature != "ratings"  # 2026: /sync/ratings is unpaged again
            page, limit = _paging(sim, query) if paged else (1, None)
            rows = self._rows(feature, kind, first_page=page == 1)
            if quirks.empty_replies:
                quirks.empty_replies -= 1
                rows = []
            if page == quirks.server_error_on_page and quirks.server_errors:
                quirks.server_errors -= 1
                return web.json_response({"error": "overloaded"}, status=503)
            asked = request.headers.get("If-None-Match")
            if asked and quirks.stale_etag:
                return web.Response(status=304, headers={"ETag": asked})
            headers: dict[str, str] = {}
            body = rows
            if quirks.tiny_replies:
                quirks.tiny_replies -= 1
                page, rows = 1, rows[:3]
            if limit:
                count = max(1, -(-len(rows) // limit))
                body = rows[(page - 1) * limit : page * limit]
                headers = {
                    "X-Pagination-Page": str(page),
                    "X-Pagination-Limit": str(limit),
                    "X-Pagination-Page-Count": str(count),
                    "X-Pagination-Item-Count": str(len(rows)),
                }
                if quirks.no_total_header:
                    del headers["X-Pagination-Item-Count"]
            if page == quirks.truncate_page and body:
                body = body[:-1]
            if feature == "watchlist":
                tag = sim.etag(body)
                headers["ETag"] = tag
                if asked == tag or (
                    asked and quirks.stale_etag_after_write and sim._watchlist_written
                ):
                    return web.Response(status=304, headers=headers)
            if quirks.malformed_replies:
                left = quirks.malformed_replies
                quirks.malformed_replies -= 1
                return _malformed(left, body, headers)
            return web.json_response(body, headers=headers)

        return read

    def _rows(self, feature: str, kind: str | None, *, first_page: bool) -> list[Json]:
        sim = self.sim
        if feature == "watchlist":
            listed = sim._visible(feature, kind, sim.watchlist, first_page=first_page)
            return [
                {"rank": rank, "id": row["id"], "listed_at": row["listed_at"], "notes": None,
                 **sim.render_row(row["ref"])}
                for rank, row in enumerate(listed, start=1)
                if kind is None or row["ref"][0] == kind
            ]  # fmt: skip
        if feature == "history":
            plays = sim._visible(feature, kind, sim.history, first_page=first_page)
            ordered = sorted(plays, key=lambda p: (p["watched_at"], p["id"]), reverse=True)
            return [
                {"id": p["id"], "watched_at": p["watched_at"], "action": p["action"],
                 **sim.render_row(p["ref"])}
                for p in ordered
                if kind is None or p["ref"][0] == kind
            ]  # fmt: skip
        rated = sim._visible(feature, kind, sim.ratings, first_page=first_page)
        return [
            {"rated_at": rated_at, "rating": rating, **sim.render_row(ref)}
            for ref, (rating, rated_at) in sorted(
                rated.items(), key=lambda kv: kv[1][1], reverse=True
            )
            if kind is None or ref[0] == kind
        ]

    async def calendar_shows(self, request: web.Request) -> web.Response:
        sim, info = self.sim, request.match_info
        if info["target"] not in ("my", "all"):
            return web.json_response({}, status=404)
        try:
            start = datetime.fromisoformat(info["start_date"]).replace(tzinfo=UTC)
            days = int(info["days"])
        except ValueError:
            return web.json_response({}, status=400)
        if not 1 <= days <= CALENDAR_MAX_DAYS:
            return web.json_response({}, status=400)
        end = start + timedelta(days=days)
        if sim.quirks.malformed_calendars:
            sim.quirks.malformed_calendars -= 1
            return web.json_response({"error": "temporarily unavailable"})
        full = request.query.get("extended", "").startswith("full")
        followed = sim.calendar_shows() if info["target"] == "my" else set(sim.shows)
        listed_episodes = {ref[1] for ref in sim.listed_refs() if ref[0] == "episode"}
        body: list[dict[str, Json]] = []
        for show in sim.shows.values():
            for season in show.seasons.values():
                for episode in season.episodes.values():
                    aired = episode.first_aired
                    if aired is None or not start <= aired < end:
                        continue
                    if show.trakt not in followed and episode.trakt not in listed_episodes:
                        continue
                    rendered = episode.render()
                    if full:
                        rendered |= {"first_aired": stamp(aired), "runtime": episode.runtime}
                    body.append(
                        {"first_aired": stamp(aired), "episode": rendered, "show": show.render()}
                    )
        body.sort(key=lambda row: row["first_aired"])
        http_date = "%a, %d %b %Y %H:%M:%S GMT"
        headers = {
            "X-Start-Date": start.strftime(http_date),
            "X-End-Date": (end - timedelta(seconds=1)).strftime(http_date),
        }
        return web.json_response(body, headers=headers)

    async def watched(self, request: web.Request) -> web.Response:
        sim = self.sim
        kind = KIND.get(request.match_info["type"])
        if kind not in ("movie", "show"):
            return web.json_response({}, status=404)
        grouped: dict[int, list[str]] = {}
        for play in sim.history:
            ref = play["ref"]
            if kind == "movie" and ref[0] == "movie":
                grouped.setdefault(ref[1], []).append(play["watched_at"])
            elif kind == "show" and ref[0] == "episode":
                grouped.setdefault(sim.show_of(ref)[0].trakt, []).append(play["watched_at"])
        body = [
            {
                "plays": len(dates),
                "last_watched_at": max(dates),
                "last_updated_at": max(dates),
                "type": kind,
                kind: (sim.movies[trakt] if kind == "movie" else sim.shows[trakt]).render(),
            }
            for trakt, dates in grouped.items()
        ]
        page, limit = _paging(sim, request.query)
        count = max(1, -(-len(body) // limit))
        headers = {
            "X-Pagination-Page": str(page),
            "X-Pagination-Limit": str(limit),
            "X-Pagination-Page-Count": str(count),
            "X-Pagination-Item-Count": str(len(body)),
        }
        return web.json_response(body[(page - 1) * limit : page * limit], headers=headers)

    # -- search ---------------------------------------------------------------------------

    async def search(self, request: web.Request) -> web.Response:
        """`/search/{movie|show}?query=`: titles holding every word of the query, by score.

        Like Trakt's engine, an unescaped operator character (`:` in "Mission: Impossible")
        is no part of the text: `:` names a field, so a title with a colon in it is not found
        unless the colon is escaped. Scores favour a title that is the whole query, then the
        catalogue's order; pages default to 10 results.
        """
        sim = self.sim
        kind = request.match_info["type"]
        if kind not in ("movie", "show"):
            return web.json_response([])  # people, episodes and lists are not simulated
        query = request.query.get("query", "")
        if _unescaped(query, ":"):
            return web.json_response([])
        words = _search_words(query.replace("\\", ""))
        catalogue: list[Movie | Show] = (
            list(sim.movies.values()) if kind == "movie" else list(sim.shows.values())
        )
        hits: list[dict[str, Json]] = []
        for rank, media in enumerate(catalogue):
            title = _search_words(media.title)
            if not words or not set(words) <= set(title):
                continue
            score = (100.0 if title == words else 50.0) - rank * 0.01
            hits.append({"type": kind, "score": round(score, 3), kind: media.render()})
        hits.sort(key=lambda hit: -float(hit["score"]))
        page = max(1, int(request.query.get("page", "1")))
        limit = min(max(1, int(request.query.get("limit", "10"))), sim.max_limit)
        headers = {
            "X-Pagination-Page": str(page),
            "X-Pagination-Limit": str(limit),
            "X-Pagination-Page-Count": str(max(1, -(-len(hits) // limit))),
            "X-Pagination-Item-Count": str(len(hits)),
        }
        return web.json_response(hits[(page - 1) * limit : page * limit], headers=headers)

    # -- writes ---------------------------------------------------------------------------

    def writer(self, feature: str, *, remove: bool) -> Handler:
        async def write(request: web.Request) -> web.Response:
            body = await request.json()
            resolved, not_found = self._resolve(body)
            sim = self.sim
            if feature == "history" and remove:
                known = {play["id"] for play in sim.history}
                not_found["ids"] = [i for i in body.get("ids", []) if i not in known]
            if not remove and feature in ("watchlist", "ratings"):
                held = (
                    {row["ref"] for row in sim.watchlist}
                    if feature == "watchlist"
                    else set(sim.ratings)
                )
                cap = sim.watchlist_cap if feature == "watchlist" else sim.ratings_cap
                new = {ref for ref, _ in resolved} - held
                if len(held) + len(new) > cap:  # 420: over the plan's limit, nothing stored
                    return web.json_response(
                        {},
                        status=420,
                        headers={
                            "X-Upgrade-URL": "https://trakt.tv/vip",
                            "X-VIP-User": str(sim.vip).lower(),
                            "X-Account-Limit": str(cap),
                        },
                    )
            sim._before_write(feature)
            if feature == "history" and not remove:
                sim._before_write("watchlist")
            apply = getattr(self, f"_{feature}_{'remove' if remove else 'add'}")
            counts, status = apply(resolved, body)
            if sim.quirks.write_delay:
                await asyncio.sleep(sim.quirks.write_delay)
            if sim.quirks.write_errors:
                sim.quirks.write_errors -= 1
                return web.json_response({"error": "overloaded"}, status=503)
            if sim.quirks.ok_only_replies:
                return web.json_response({"ok": True}, status=status)
            if sim.quirks.count_only_replies:
                return web.json_response(counts, status=status)
            return web.json_response({**counts, "not_found": not_found}, status=status)

        return write

    def scrobbler(self, action: str) -> Handler:
        async def scrobble(request: web.Request) -> web.Response:
            body = await request.json()
            sim = self.sim
            sim.scrobble_calls.append((action, body))
            if sim.quirks.scrobbles_down:
                return web.json_response({"error": "overloaded"}, status=503)
            progress = body.get("progress") if isinstance(body, dict) else None
            if not isinstance(progress, int | float) or not 0 <= progress <= 100:
                return web.json_response({}, status=422)
            ref = self._scrobbled_ref(body)
            if ref is None:
                return web.json_response({}, status=404)
            now = datetime.now(UTC)
            done = action
            if action == "stop":
                if progress < 1:
                    return web.json_response({}, status=422)
                if progress >= 80:
                    last = sim.scrobbled.get(ref)
                    if last is not None and now - last < sim.scrobble_window:
                        return web.json_response(
                            {"watched_at": stamp(last),
                             "expires_at": stamp(last + sim.scrobble_window)},
                            status=409,
                        )  # fmt: skip
                    sim._before_write("history")
                    sim._play(ref, stamp(now), "scrobble")
                    sim._moved(CATEGORY[ref[0]], "watched_at")
                    sim.scrobbled[ref] = now
                    sim.scrobbles.pop(ref, None)
                    done = "scrobble"
                else:
                    done = "pause"
            if done != "scrobble":
                sim.scrobbles[ref] = (done, float(progress))
            reply: dict[str, Json] = {
                "id": 0 if done == "start" else next(sim._ids),
                "action": done,
                "progress": float(progress),
                "sharing": {"twitter": False, "mastodon": False, "tumblr": False},
                **sim.render_row(ref),
            }
            reply.pop("type", None)
            if sim.quirks.lost_scrobble_replies:
                sim.quirks.lost_scrobble_replies -= 1
                return web.json_response({"error": "overloaded"}, status=503)
            return web.json_response(reply, status=201)

        return scrobble

    def _scrobbled_ref(self, body: Json) -> Ref | None:
        """What a scrobble names: a movie or an episode by ids, or by its show and numbering."""
        sim = self.sim
        if not isinstance(body, dict):
            return None
        movie, episode, show = body.get("movie"), body.get("episode"), body.get("show")
        if isinstance(movie, dict):
            found = sim.find("movie", movie.get("ids"))
            return ("movie", found.trakt) if found is not None else None
        if not isinstance(episode, dict):
            return None
        if isinstance(show, dict):
            series = sim.find("show", show.get("ids"))
            season = series.seasons.get(episode.get("season")) if series is not None else None
            found = season.episodes.get(episode.get("number")) if season is not None else None
        else:
            found = sim.find("episode", episode.get("ids"))
        return ("episode", found.trakt) if found is not None else None

    def _resolve(self, body: Json) -> tuple[list[tuple[Ref, Json]], Json]:
        """Every (ref, detail object) a sync body names, and what it named that does not exist."""
        sim = self.sim
        resolved: list[tuple[Ref, Json]] = []
        not_found: dict[str, list[Json]] = {name: [] for name in KIND}
        for plural, kind in KIND.items():
            for obj in body.get(plural, []):
                found = sim.find(kind, obj.get("ids"))
                if found is None:
                    not_found[plural].append(obj)
                    continue
                if kind != "show" or "seasons" not in obj:
                    resolved.append(((kind, found.trakt), obj))
                    continue
                missing: list[Json] = []
                for season_obj in obj["seasons"]:
                    season = found.seasons.get(season_obj.get("number"))
                    if season is None:
                        missing.append(season_obj)
                        continue
                    if "episodes" not in season_obj:
                        resolved.append((("season", season.trakt), season_obj))
                        continue
                    lost = []
                    for episode_obj in season_obj["episodes"]:
                        episode = season.episodes.get(episode_obj.get("number"))
                        if episode is None:
                            lost.append(episode_obj)
                        else:
                            resolved.append((("episode", episode.trakt), episode_obj))
                    if lost:
                        missing.append({"number": season.number, "episodes": lost})
                if missing:
                    not_found["shows"].append({"ids": obj["ids"], "seasons": missing})
        return resolved, not_found

    def _episodes_of(self, ref: Ref) -> list[Ref]:
        kind, trakt = ref
        if kind in ("movie", "episode"):
            return [ref]
        sim = self.sim
        if kind == "show":
            show = sim.shows[trakt]
            seasons = list(show.seasons.values())
        else:
            seasons = [sim.show_of(ref)[1]]  # type: ignore[list-item]
        return [("episode", e.trakt) for s in seasons for e in s.episodes.values()]

    def _watchlist_add(self, resolved: list[tuple[Ref, Json]], body: Json) -> tuple[Json, int]:
        sim = self.sim
        added, existing = _zero(), _zero()
        listed = {row["ref"] for row in sim.watchlist}
        for ref, _ in resolved:
            if ref in listed:
                existing[CATEGORY[ref[0]]] += 1
                continue
            sim._list(ref, sim.tick())
            listed.add(ref)
            added[CATEGORY[ref[0]]] += 1
            sim._moved(CATEGORY[ref[0]], "watchlisted_at")
        sim._watchlist_written = True
        return {"added": added, "existing": existing, "list": self._list_info()}, 201

    def _watchlist_remove(self, resolved: list[tuple[Ref, Json]], body: Json) -> tuple[Json, int]:
        sim = self.sim
        deleted = _zero()
        for ref, _ in resolved:
            before = len(sim.watchlist)
            sim.watchlist = [row for row in sim.watchlist if row["ref"] != ref]
            if len(sim.watchlist) < before:
                deleted[CATEGORY[ref[0]]] += 1
                sim._moved(CATEGORY[ref[0]], "watchlisted_at")
        sim._watchlist_written = True
        return {"deleted": deleted, "list": self._list_info()}, 200

    def _list_info(self) -> Json:
        return {"updated_at": self.sim.activities()["watchlist"]["updated_at"],
                "item_count": len(self.sim.watchlist)}  # fmt: skip

    def _history_add(self, resolved: list[tuple[Ref, Json]], body: Json) -> tuple[Json, int]:
        sim = self.sim
        added = {"movies": 0, "episodes": 0}
        for ref, obj in resolved:
            watched_at = obj.get("watched_at") or stamp(sim.tick())
            for play in self._episodes_of(ref):
                sim._play(play, watched_at, "watch")
                added[CATEGORY[play[0]]] += 1
                sim._moved(CATEGORY[play[0]], "watched_at")
            # Watching takes the item (an episode: its show and season) off the watchlist.
            gone = {ref}
            if ref[0] in ("season", "episode"):
                show, season, _ = sim.show_of(ref)
                gone |= {("show", show.trakt), ("season", season.trakt)}  # type: ignore[union-attr]
            for row in [row for row in sim.watchlist if row["ref"] in gone]:
                sim.watchlist.remove(row)
                sim._moved(CATEGORY[row["ref"][0]], "watchlisted_at")
        return {"added": added, "updated": {"movies": 0, "episodes": 0}}, 201

    def _history_remove(self, resolved: list[tuple[Ref, Json]], body: Json) -> tuple[Json, int]:
        sim = self.sim
        deleted = {"movies": 0, "episodes": 0}
        refs = {play for ref, _ in resolved for play in self._episodes_of(ref)}
        ids = set(body.get("ids", []))
        kept = []
        for play in sim.history:
            if play["ref"] in refs or play["id"] in ids:
                deleted[CATEGORY[play["ref"][0]]] += 1
                sim._moved(CATEGORY[play["ref"][0]], "watched_at")
            else:
                kept.append(play)
        sim.history = kept
        return {"deleted": deleted}, 200

    def _ratings_add(self, resolved: list[tuple[Ref, Json]], body: Json) -> tuple[Json, int]:
        sim = self.sim
        added = _zero()
        for ref, obj in resolved:
            rated_at = obj.get("rated_at") or stamp(sim.tick())
            sim.ratings[ref] = (int(obj["rating"]), rated_at)
            added[CATEGORY[ref[0]]] += 1
            sim._moved(CATEGORY[ref[0]], "rated_at")
        return {"added": added}, 201

    def _ratings_remove(self, resolved: list[tuple[Ref, Json]], body: Json) -> tuple[Json, int]:
        sim = self.sim
        deleted = _zero()
        for ref, _ in resolved:
            if sim.ratings.pop(ref, None) is not None:
                deleted[CATEGORY[ref[0]]] += 1
                sim._moved(CATEGORY[ref[0]], "rated_at")
        return {"deleted": deleted}, 200


def _search_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _unescaped(query: str, character: str) -> bool:
    """Whether `character` occurs in `query` without a backslash before it."""
    return re.search(rf"(?<!\\){re.escape(character)}", query) is not None


def _paging(sim: TraktSim, query: Any) -> tuple[int, int]:
    """The page and page size Trakt serves for a query: default 100, at most `max_limit`."""
    page = max(1, int(query.get("page", "1")))
    limit = min(max(1, int(query.get("limit", "100"))), sim.max_limit)
    return page, limit


def _malformed(left: int, body: list[Json], headers: dict[str, str]) -> web.Response:
    """A 200 that is not the JSON list it should be; which one depends on `left` (see Quirks)."""
    match left % 4:
        case 0:
            return web.Response(
                text="<html><body>Bad gateway</body></html>",
                content_type="application/json",
                headers=headers,
            )
        case 3:
            return web.json_response({"items": body}, headers=headers)
        case 2:
            return web.json_response(None, headers=headers)
        case _:
            return web.json_response({}, headers=headers)


def _zero() -> dict[str, int]:
    return dict.fromkeys(("movies", "shows", "seasons", "episodes"), 0)


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def seed_catalogue(sim: TraktSim) -> None:
    """A small catalogue: two movies, a show with two seasons, and a movie Trakt lacks ids for."""
    sim.add_movie(1, "The Matrix", 1999, imdb="tt0133093", tmdb=603, slug="the-matrix-1999")
    sim.add_movie(2, "Heat", 1995, imdb="tt0113277", tmdb=949, slug="heat-1995")
    sim.add_show(10, "Dark", 2017, imdb="tt5753856", tmdb=70523, tvdb=334824, slug="dark")
    sim.add_episode(10, 1, 1, 101, tvdb=5000101, imdb="tt5000101")
    sim.add_episode(10, 1, 2, 102, tvdb=5000102)
    sim.add_episode(10, 2, 1, 201, tvdb=5000201)


def seed_upcoming(sim: TraktSim, now: datetime) -> None:
    """Shows the user follows, with episodes airing in the coming week (after `now`).

    Severance is watchlisted (two episodes this week, one in nine days), Dark was played (one
    episode in three days), The Bear was played but is hidden from the calendar, and Slow
    Horses airs but the user neither watched nor listed it.
    """
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    sim.add_show(20, "Severance", 2022, imdb="tt11280740", tmdb=95396, slug="severance")
    sim.add_episode(
        20,
        2,
        5,
        2005,
        title="Trojan's Horse",
        first_aired=day + timedelta(days=1, hours=2),
        runtime=55,
    )
    sim.add_episode(
        20, 2, 6, 2006, title="Attila", first_aired=day + timedelta(days=8, hours=2), runtime=52
    )
    sim.add_episode(10, 3, 1, 301, title="Deja-vu", first_aired=day + timedelta(days=3, hours=20))
    sim.add_show(30, "The Bear", 2022, slug="the-bear")
    sim.add_episode(30, 4, 1, 3001, first_aired=day + timedelta(days=2, hours=4), runtime=30)
    sim.add_episode(30, 3, 10, 3000)
    sim.add_show(40, "Slow Horses", 2022, slug="slow-horses")
    sim.add_episode(40, 5, 1, 4001, first_aired=day + timedelta(days=2, hours=21), runtime=50)
    sim.seed_watchlist("show", 20)
    sim.seed_play("episode", 101, day - timedelta(days=30))
    sim.seed_play("episode", 3000, day - timedelta(days=30))
    sim.hidden_calendar.add(30)
