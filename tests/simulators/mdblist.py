"""A stateful MDBList simulator: one account, API-key auth and the user-data sync endpoints.

Built from `shared/specs/mdblist/README.md` (§ numbers below are that page's) and its derived
`openapi.yaml`; MDBList's own reference was not available, so every behaviour names its source
and, where the page is unsure, the reading chosen here.

- Auth (§1): the key comes as the `apikey` URL parameter on every request, POSTs included. A
  missing or wrong key answers 401 with a plain-text body (§5: "a body that may be plain text";
  reading: 401, not 403). The OAuth device login (§1) is not simulated: no public procedure
  registers a client id, so CrossWatch cannot use it.
- `GET /user` (§4.1): `user_id`, `username`, `api_requests` (the daily limit), the count used,
  `patron_status`, `is_supporter`, `patreon_pledge`.
- Quotas (§2): a daily request quota by tier (free 1,000; `DAILY_LIMITS`). Every request made
  with a valid key counts, `/user` included (reading: nothing says a call is free). Past it, 429
  with `Retry-After` in seconds until midnight UTC. The short-window throttle, 1,000 reads and
  300 writes per rolling 5 minutes (from MDBList's own plugin, not published docs) answers 429
  with `Retry-After` until the oldest call leaves the window. Reading: a refused call does not
  count against either limit.
- `GET /sync/last_activities` (§4.2): the stamps of the last change of each kind and
  `server_time`; `journal_at` is the only stamp an un-watch or un-rate moves. Reading: a
  watchlist removal moves `watchlisted_at` (the page does not say).
- Paging (§3): offset paging (`offset`, `limit`, `pagination.has_more`), as CrossWatch uses it;
  the cursor style is not simulated. Default `limit` 100 (§3, MCP), larger values capped at 5000
  (CrossWatch's cap; reading). `/sync/watched` and `/sync/ratings` page one list of all their
  rows, movies first, each page grouped back into its buckets (reading: the page does not say
  how buckets share a page). The watchlist also reports `total_movies` / `total_shows` (§3 [?]).
- Watchlist (§4.3, §7.1): rows carry `id` = the TMDb id, `imdb_id`, `tvdb_id`, `mediatype`,
  `release_year`, `watchlist_at`. Writes take flat id objects and match **IMDb or TMDb ids
  only** (the documented "IMDb or TMDb ID"; tvdb, trakt and the mdblist slug are ignored, the
  stricter reading of the unverified). Replies count per bucket: `added`/`existing`, `deleted`,
  and `not_found` as **counts** (the static-list docs and mdblist-cli shape, §4.6).
- `/sync/watched` (§4.4, §7.2): **only the latest watched state per item**, no play count: a
  write keeps the later of the stored and the sent `watched_at` and counts as `updated` when the
  item was watched already, `added` otherwise. Movies, and episodes nested under their show's
  ids (`shows[].seasons[].episodes[]`). Reads list movies and episodes, plus show roll-up rows
  (§4.4: clients should ignore them). `/sync/watched/remove` un-watches the whole item (§4.4).
- `/sync/ratings` (§4.5): integers 1-10 on movies and shows. Reading: a rating outside 1-10
  answers 400 in plain text (no source says what happens).
- `not_found` on sync writes (§4.6) lists the unmatched items per bucket as they were sent
  (`{"ids": {...}}`); an unknown episode of a known show is listed under `episodes` with its
  show's ids and its numbers (reading: the observed rows carry only ids).
- Removal replies count under `deleted` (§4.6 allows `deleted` or `removed`).

Quirks a test can switch on (`MdblistQuirks`): later pages failing with 503 (§5 lists 5xx
answers), to prove a read that breaks midway is never taken as complete.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from tests.simulators.openapi import recording

type Json = Any
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_KEY = "mdblist-api-key"
DAILY_LIMITS = {"free": 1_000, "1": 10_000, "2": 25_000, "3": 100_000, "vip": 250_000}
WINDOW = timedelta(minutes=5)
WINDOW_READS = 1_000
WINDOW_WRITES = 300
DEFAULT_LIMIT = 100
MAX_LIMIT = 5_000
START = datetime(2026, 11, 1, 12, tzinfo=UTC)
BUCKETS = ("movies", "shows", "seasons", "episodes")


@dataclass
class MdblistQuirks:
    """MDBList misbehaviours a test can switch on."""

    failing_later_pages: bool = False  # every GET with an offset past 0 answers 503


@dataclass
class Title:
    """A movie or show MDBList knows."""

    mediatype: str  # "movie" or "show"
    title: str
    year: int
    mdblist: str
    imdb: str | None = None
    tmdb: int | None = None
    tvdb: int | None = None
    trakt: int | None = None
    episodes: frozenset[tuple[int, int]] = frozenset()

    def ids(self) -> dict[str, Json]:
        """The `ids` object of a sync row."""
        ids = {"imdb": self.imdb, "tmdb": self.tmdb, "tvdb": self.tvdb, "trakt": self.trakt}
        return {k: v for k, v in ids.items() if v is not None} | {"mdblist": self.mdblist}

    def ref(self) -> dict[str, Json]:
        """The movie or show object of a sync row."""
        return {"title": self.title, "year": self.year, "ids": self.ids()}


@dataclass
class MdblistState:
    """One MDBList account, its quota and its lists."""

    api_key: str = API_KEY
    tier: str = "free"
    user_id: int = 4242
    username: str = "andrea"
    now: datetime = START
    catalog: list[Title] = field(default_factory=list)
    watchlist: dict[str, datetime] = field(default_factory=dict)  # mdblist slug -> listed at
    watched: dict[tuple[str, int, int], datetime] = field(default_factory=dict)  # (0, 0): movie
    ratings: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    changed: dict[tuple[str, str, int, int], datetime] = field(default_factory=dict)
    stamps: dict[str, datetime | None] = field(
        default_factory=lambda: dict.fromkeys(
            ("watchlisted_at", "watched_at", "episode_watched_at", "rated_at", "journal_at")
        )
    )
    used_today: int = 0
    day: datetime = START  # the day the count is of (START's, set right on the first call)
    reads: list[datetime] = field(default_factory=list)
    writes: list[datetime] = field(default_factory=list)
    quirks: MdblistQuirks = field(default_factory=MdblistQuirks)

    @property
    def daily_limit(self) -> int:
        """The tier's requests a day."""
        return DAILY_LIMITS[self.tier]

    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.now += timedelta(seconds=seconds)

    def add(self, title: Title) -> Title:
        """Put a title in the catalog."""
        self.catalog.append(title)
        return title

    def find(self, slug: str) -> Title:
        """A catalog title by its mdblist slug."""
        return next(t for t in self.catalog if t.mdblist == slug)

    def touch(self, stamp: str, key: tuple[str, str, int, int] | None = None) -> None:
        """Record a change: move its activity stamp (and the item's change time)."""
        self.now += timedelta(seconds=1)
        self.stamps[stamp] = self.now
        if key is not None:
            self.changed[key] = self.now

    def resolve(self, mediatype: str, ids: Json, wanted: tuple[str, ...]) -> Title | None:
        """The catalog title an id object names, looking only at the `wanted` ids."""
        if not isinstance(ids, dict):
            return None
        for title in self.catalog:
            if title.mediatype != mediatype:
                continue
            mine = title.ids()
            if any(k in ids and ids[k] is not None and mine.get(k) == ids[k] for k in wanted):
                return title
        return None

    def admit(self, write: bool) -> web.Response | None:
        """Count one request against the quotas, or the 429 that refuses it."""
        today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        if today != self.day:
            self.day, self.used_today = today, 0
        if self.used_today >= self.daily_limit:
            midnight = today + timedelta(days=1)
            wait = int((midnight - self.now).total_seconds()) + 1
            return _too_many("Daily API limit reached", wait)
        calls = self.writes if write else self.reads
        cap = WINDOW_WRITES if write else WINDOW_READS
        calls[:] = [c for c in calls if c > self.now - WINDOW]
        if len(calls) >= cap:
            wait = int((calls[0] + WINDOW - self.now).total_seconds()) + 1
            return _too_many("Too many requests", wait)
        calls.append(self.now)
        self.used_today += 1
        return None


def _too_many(text: str, wait: int) -> web.Response:
    return web.Response(status=429, text=text, headers={"Retry-After": str(wait)})


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(value: Json) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def mdblist_app(state: MdblistState) -> web.Application:
    """The simulator app over `state`, recording every request for conformance checks."""
    app = web.Application(middlewares=[_guard(state)])
    h = _Handlers(state)
    app.router.add_get("/user", h.user)
    app.router.add_get("/search/{mediatype}", h.search)
    app.router.add_get("/sync/last_activities", h.activities)
    app.router.add_get("/watchlist/items", h.watchlist)
    app.router.add_post("/watchlist/items/add", h.watchlist_add)
    app.router.add_post("/watchlist/items/remove", h.watchlist_remove)
    app.router.add_get("/sync/watched", h.watched)
    app.router.add_post("/sync/watched", h.watch)
    app.router.add_post("/sync/watched/remove", h.unwatch)
    app.router.add_get("/sync/ratings", h.ratings)
    app.router.add_post("/sync/ratings", h.rate)
    app.router.add_post("/sync/ratings/remove", h.unrate)
    return recording(app)


def _guard(state: MdblistState) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.query.get("apikey") != state.api_key:
            return web.Response(status=401, text="Invalid API key")
        refused = state.admit(request.method == "POST")
        if refused is not None:
            return refused
        if state.quirks.failing_later_pages and request.query.get("offset", "0") != "0":
            return web.Response(status=503, text="Service Unavailable")
        return await handler(request)

    return guard


def _page(request: web.Request, rows: list[tuple[str, Json]]) -> tuple[dict[str, Json], bool]:
    try:
        offset = max(0, int(request.query.get("offset", "0")))
        limit = min(MAX_LIMIT, max(1, int(request.query.get("limit", str(DEFAULT_LIMIT)))))
    except ValueError as err:
        raise web.HTTPBadRequest(text="offset and limit must be integers") from err
    chosen = rows[offset : offset + limit]
    grouped: dict[str, Json] = {}
    for bucket, row in chosen:
        grouped.setdefault(bucket, []).append(row)
    return grouped, offset + limit < len(rows)


class _Handlers:
    def __init__(self, state: MdblistState) -> None:
        self.state = state

    async def user(self, request: web.Request) -> web.Response:
        s = self.state
        return web.json_response(
            {
                "user_id": s.user_id,
                "username": s.username,
                "api_requests": s.daily_limit,
                "api_requests_count": s.used_today,
                "patron_status": "active_patron" if s.tier != "free" else "",
                "is_supporter": s.tier != "free",
                "patreon_pledge": 0,
            }
        )

    async def activities(self, request: web.Request) -> web.Response:
        s = self.state
        body: dict[str, Json] = {k: _stamp(v) for k, v in s.stamps.items()}
        body |= {"season_watched_at": None, "collected_at": None, "dropped_at": None}
        body["server_time"] = _stamp(s.now)
        return web.json_response(body)

    # Watchlist ------------------------------------------------------------------------------

    async def search(self, request: web.Request) -> web.Response:
        # Not in the derived description: the path, `query` and the reply's shape are those of
        # the command-line client the spec cites ([3p E1]). MDBList ranks by its relevance; here
        # a title that is the query comes first, then one that starts with it, then the rest,
        # each in catalogue order (the catalogue's order stands in for popularity).
        mediatype = request.match_info["mediatype"]
        if mediatype not in ("movie", "show", "any"):
            return web.Response(status=400, text="Invalid media type")
        query = " ".join(request.query.get("query", "").casefold().split())
        if not query:
            return web.Response(status=400, text="query is required")
        found = [
            title
            for title in self.state.catalog
            if mediatype in ("any", title.mediatype) and query in title.title.casefold()
        ]

        def rank(title: Title) -> int:
            name = title.title.casefold()
            return 0 if name == query else 1 if name.startswith(query) else 2

        found.sort(key=rank)
        rows: list[Json] = [
            {
                "id": title.mdblist,
                "title": title.title,
                "year": title.year,
                "score": 70,
                "score_average": 70,
                "type": title.mediatype,
                "ids": {
                    "imdbid": title.imdb,
                    "tmdbid": title.tmdb,
                    "traktid": title.trakt,
                    "malid": None,
                    "tvdbid": title.tvdb,
                },
            }
            for title in found
        ]
        return web.json_response({"search": rows, "total": len(rows)})

    async def watchlist(self, request: web.Request) -> web.Response:
        s = self.state
        rows: list[tuple[str, Json]] = []
        for mediatype, bucket in (("movie", "movies"), ("show", "shows")):
            for slug, listed_at in s.watchlist.items():
                title = s.find(slug)
                if title.mediatype != mediatype:
                    continue
                row = {
                    "id": title.tmdb,
                    "rank": len(rows) + 1,
                    "adult": 0,
                    "title": title.title,
                    "imdb_id": title.imdb,
                    "tvdb_id": title.tvdb,
                    "language": "en",
                    "mediatype": mediatype,
                    "release_year": title.year,
                    "spoken_language": "en",
                    "watchlist_at": _stamp(listed_at),
                }
                rows.append((bucket, row))
        grouped, more = _page(request, rows)
        total = {b: sum(1 for bucket, _ in rows if bucket == b) for b in ("movies", "shows")}
        pagination = {
            "has_more": more,
            "total_movies": total["movies"],
            "total_shows": total["shows"],
        }
        return web.json_response(
            {"movies": grouped.get("movies", []), "shows": grouped.get("shows", [])}
            | {"pagination": pagination}
        )

    async def _listed(self, request: web.Request) -> list[tuple[str, Title | None]]:
        body = await _json(request)
        found: list[tuple[str, Title | None]] = []
        for bucket, mediatype in (("movies", "movie"), ("shows", "show")):
            found.extend(
                (bucket, self.state.resolve(mediatype, obj, ("imdb", "tmdb")))
                for obj in body.get(bucket) or []
            )
        return found

    async def watchlist_add(self, request: web.Request) -> web.Response:
        added, existing, missing = _counts(2), _counts(2), _counts(2)
        for bucket, title in await self._listed(request):
            if title is None:
                missing[bucket] += 1
            elif title.mdblist in self.state.watchlist:
                existing[bucket] += 1
            else:
                self.state.touch("watchlisted_at")
                self.state.watchlist[title.mdblist] = self.state.now
                added[bucket] += 1
        return web.json_response({"added": added, "existing": existing, "not_found": missing})

    async def watchlist_remove(self, request: web.Request) -> web.Response:
        deleted, missing = _counts(2), _counts(2)
        for bucket, title in await self._listed(request):
            if title is None:
                missing[bucket] += 1
            elif self.state.watchlist.pop(title.mdblist, None) is not None:
                self.state.touch("watchlisted_at")
                deleted[bucket] += 1
        return web.json_response({"deleted": deleted, "not_found": missing})

    # Watched --------------------------------------------------------------------------------

    def _since(self, request: web.Request) -> datetime | None:
        return _parse(request.query.get("since"))

    async def watched(self, request: web.Request) -> web.Response:
        s, since = self.state, self._since(request)
        movies: list[tuple[str, Json]] = []
        episodes: list[tuple[str, Json]] = []
        shows: dict[str, datetime] = {}
        for (slug, season, number), when in sorted(s.watched.items()):
            if (
                since is not None
                and s.changed.get(("watched", slug, season, number), when) <= since
            ):
                continue
            title = s.find(slug)
            if title.mediatype == "movie":
                movies.append(("movies", {"movie": title.ref(), "last_watched_at": _stamp(when)}))
                continue
            shows[slug] = max(when, shows.get(slug, when))
            episode = {"season": season, "number": number, "show": title.ref()}
            episodes.append(("episodes", {"episode": episode, "last_watched_at": _stamp(when)}))
        rollups = [
            ("shows", {"show": s.find(slug).ref(), "last_watched_at": _stamp(when)})
            for slug, when in shows.items()
        ]
        grouped, more = _page(request, [*movies, *rollups, *episodes])
        return web.json_response({b: grouped.get(b, []) for b in BUCKETS} | _more(more))

    async def _watch_items(
        self, request: web.Request
    ) -> list[tuple[str, Json, tuple[str, int, int] | None, datetime | None]]:
        """Each sent movie or episode: its bucket, as sent, its key (None: unknown), its date."""
        body = await _json(request)
        wanted = ("imdb", "tmdb", "tvdb", "trakt", "mdblist")
        items: list[tuple[str, Json, tuple[str, int, int] | None, datetime | None]] = []
        for obj in body.get("movies") or []:
            title = self.state.resolve("movie", (obj or {}).get("ids"), wanted)
            key = None if title is None else (title.mdblist, 0, 0)
            items.append(("movies", _sent(obj), key, _parse((obj or {}).get("watched_at"))))
        for obj in body.get("shows") or []:
            ids = (obj or {}).get("ids")
            title = self.state.resolve("show", ids, wanted)
            if title is None:
                items.append(("shows", _sent(obj), None, None))
                continue
            for season in obj.get("seasons") or []:
                for episode in season.get("episodes") or []:
                    pair = (season.get("number"), episode.get("number"))
                    known = pair in title.episodes
                    key = (title.mdblist, pair[0], pair[1]) if known else None
                    sent = {"ids": ids, "season": pair[0], "number": pair[1]}
                    when = _parse(episode.get("watched_at") or season.get("watched_at"))
                    items.append(("episodes", sent, key, when or _parse(obj.get("watched_at"))))
        return items

    async def watch(self, request: web.Request) -> web.Response:
        s = self.state
        added, updated, missing = _counts(4), _counts(4), _lists()
        for bucket, sent, key, when in await self._watch_items(request):
            if key is None:
                missing[bucket].append(sent)
                continue
            stamp = "watched_at" if bucket == "movies" else "episode_watched_at"
            known = s.watched.get(key)
            s.touch(stamp, ("watched", *key))
            # Only the latest state is kept: the later of the stored and the sent date.
            latest = when or s.now
            s.watched[key] = latest if known is None else max(known, latest)
            (updated if known is not None else added)[bucket] += 1
        return web.json_response({"added": added, "updated": updated, "not_found": missing})

    async def unwatch(self, request: web.Request) -> web.Response:
        s = self.state
        deleted, missing = _counts(4), _lists()
        for bucket, sent, key, _ in await self._watch_items(request):
            if key is None:
                missing[bucket].append(sent)
            elif s.watched.pop(key, None) is not None:
                s.touch("journal_at", ("watched", *key))
                deleted[bucket] += 1
        return web.json_response({"deleted": deleted, "not_found": missing})

    # Ratings --------------------------------------------------------------------------------

    async def ratings(self, request: web.Request) -> web.Response:
        s, since = self.state, self._since(request)
        rows: list[tuple[str, Json]] = []
        for mediatype, bucket, ref in (("movie", "movies", "movie"), ("show", "shows", "show")):
            for slug, (rating, rated_at) in s.ratings.items():
                title = s.find(slug)
                if title.mediatype != mediatype:
                    continue
                if since is not None and s.changed.get(("rated", slug, 0, 0), rated_at) <= since:
                    continue
                row = {ref: title.ref(), "rating": rating, "rated_at": _stamp(rated_at)}
                rows.append((bucket, row))
        grouped, more = _page(request, rows)
        return web.json_response({b: grouped.get(b, []) for b in BUCKETS} | _more(more))

    async def _rated_items(self, request: web.Request) -> list[tuple[str, Json, Title | None]]:
        body = await _json(request)
        wanted = ("imdb", "tmdb", "tvdb", "trakt", "mdblist")
        items: list[tuple[str, Json, Title | None]] = []
        for bucket, mediatype in (("movies", "movie"), ("shows", "show")):
            for obj in body.get(bucket) or []:
                title = self.state.resolve(mediatype, (obj or {}).get("ids"), wanted)
                items.append((bucket, obj, title))
        return items

    async def rate(self, request: web.Request) -> web.Response:
        s = self.state
        items = await self._rated_items(request)
        for _, obj, _ in items:
            rating = (obj or {}).get("rating")
            if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 10:
                return web.Response(status=400, text="rating must be an integer from 1 to 10")
        added, updated, missing = _counts(4), _counts(4), _lists()
        for bucket, obj, title in items:
            if title is None:
                missing[bucket].append(_sent(obj))
                continue
            known = title.mdblist in s.ratings
            s.touch("rated_at", ("rated", title.mdblist, 0, 0))
            s.ratings[title.mdblist] = (obj["rating"], _parse(obj.get("rated_at")) or s.now)
            (updated if known else added)[bucket] += 1
        return web.json_response({"added": added, "updated": updated, "not_found": missing})

    async def unrate(self, request: web.Request) -> web.Response:
        s = self.state
        deleted, missing = _counts(4), _lists()
        for bucket, obj, title in await self._rated_items(request):
            if title is None:
                missing[bucket].append(_sent(obj))
            elif s.ratings.pop(title.mdblist, None) is not None:
                s.touch("journal_at", ("rated", title.mdblist, 0, 0))
                deleted[bucket] += 1
        return web.json_response({"deleted": deleted, "not_found": missing})


async def _json(request: web.Request) -> dict[str, Json]:
    try:
        body = await request.json()
    except ValueError as err:
        raise web.HTTPBadRequest(text="body is not JSON") from err
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be an object")
    return body


def _sent(obj: Json) -> Json:
    return {"ids": (obj or {}).get("ids")}


def _counts(buckets: int) -> dict[str, int]:
    return dict.fromkeys(BUCKETS[: 2 if buckets == 2 else 4], 0)


def _lists() -> dict[str, list[Json]]:
    return {bucket: [] for bucket in BUCKETS}


def _more(more: bool) -> dict[str, Json]:
    return {"pagination": {"has_more": more}}
