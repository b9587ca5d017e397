"""A stateful SIMKL simulator: one account, the sync endpoints, both sign-ins (V1 PIN, AUTH V2).

It follows the official blueprint (`shared/specs/simkl/simkl.apib`): the same methods, paths and
parameter names, the same reply shapes. What the blueprint leaves open is modelled on the
issue's description of the live service and marked as such:
- `date_from` compares with the date SIMKL files a change under: the `watched_at`, `added_at` or
  `rated_at` a write carried, else the time of the write. A back-dated write is therefore
  invisible to deltas, as on the live service.
- An expired PIN code answers `{"result": "KO", "message": "Code expired"}`; an unknown one 404.
- 401 replies carry `{"error": "user_token_failed"}`, a bad API key 403 `client_id_failed`.
- Every request must name the app in its URL, `app-name` and `app-version`, or it is answered
  412 (SIMKL's current docs, per `shared/research/provider-facts-2026.md`; the blueprint lists
  412 as `client_id_failed`, the body used here). The key may come as the `simkl-api-key` header
  or as `client_id` in the URL, which the docs accept. The one reading chosen: the OAuth2
  endpoints (`/oauth2/...`) do not ask for the app's name, since `shared/specs/simkl/auth-v2.md`
  (sections 5 and 14) does not know whether they do; the V1 endpoints do.

AUTH V2 (`/oauth2/...`, source `shared/specs/simkl/auth-v2.md`, § numbers are that page's):
- the device flow (§7): POST `/oauth2/device`, then the device grant on POST `/oauth2/token`,
  form bodies; `authorization_pending`, `slow_down` (a poll sooner than `interval`; the code's
  interval grows by 5 s), `expired_token` (after 900 s), `invalid_grant` (unknown or used code);
- tokens (§9, §10): access tokens `simkl_at_…` live 7 days, refresh tokens `simkl_rt_…` 180 days
  from their last use; a refresh kills the grant's previous access token at once and returns
  the same refresh token (not rotating); an expired or revoked refresh token is `invalid_grant`;
- scopes (§6): what was asked of `media:read`/`media:write`; none of them (omitted, misspelt)
  gives a read-only grant, whose writes answer 403 `insufficient_scope`; the reply always
  carries `scope`;
- revoke (§11): POST `/oauth2/revoke` ends the whole grant (either token) and always answers 200;
- an unknown client id (a V1 one included) is 401 `invalid_client` (§2, §7.4);
- the browser sign-in (§8): GET `/oauth2/authorize` is the consent page of a "Mobile, desktop &
  browser apps" app (`PKCE_CLIENT_ID`, §3), whose redirect URIs the test registers
  (`register_redirect_uri`) and which must match exactly (§3). It wants `response_type=code`,
  a `code_challenge` and `code_challenge_method=S256` (§8.1). The user's answer is
  `consent_declined`: allowed, it redirects with `code`, `state` and `iss=https://simkl.com`;
  declined, with `error=access_denied` and `state` (§8.2). POST `/oauth2/token` with
  `grant_type=authorization_code` takes the code once: the code is spent by the first exchange,
  failed ones included (§8.3); an unknown or spent code, another `redirect_uri` than the consent
  page's, another client, or a verifier whose S256 hash is not the challenge is `invalid_grant`.
  The grant has the scope the consent page was asked for, as a device grant has.
Readings chosen where the page is unsure: a declined code stays pending until it expires, as
R1 and L1 report (`SimklQuirks.device_denial_reported` switches to C1's `access_denied`);
`/oauth2` calls need `client_id` in the form and `app-name`/`app-version` in the URL like every
SIMKL call, and a missing one answers 412 as SIMKL's API does (§5 leaves this open: the
stricter reading); other missing form fields are RFC 6749's 400 `invalid_request`. The consent page,
where §8.1 only says `plain` "is rejected", answers 400 `invalid_request` without redirecting
to a challenge it refuses, as to an unknown client or redirect URI (RFC 6749 §4.1.2.1 forbids
redirecting to an unverified URI); authorization codes do not expire (the page gives no
lifetime). The /oauth2 POSTs take either V2 app's client id. V2 API calls
may send either app's client id; the V1 token keeps working (the sunset is not simulated).

The episode rows of a show the user marked completed come only with `include_all_episodes=yes`
(`shared/research/provider-facts-2026.md`, SIMKL; cenodude/CrossWatch PR #267): without it the
row has its counts but no `seasons`.

Scrobbles (`/scrobble/start|pause|stop`, the blueprint's Scrobble group): a movie, or a show's
or anime's episode by `season` and `number`, with the progress in percent. A stop at 80 % or
more marks the item watched as a history write would (action `scrobble`), dated by the
simulator's clock; below, it is kept as a pause. A second stop at 80 % or more of the same item
within the hour answers 409 with `watched_at` and `expires_at`, as the blueprint says, and
changes nothing. `SimklQuirks.scrobbles_down` answers every scrobble 503, not acted on.

Every call of the expensive endpoints is recorded, so tests can prove that the client never
polls `/sync/all-items` without a reason.

The calendar data files live on another host (`data.simkl.in/calendar/`), served here by
`simkl_calendar_app`: `tv.json` and `anime.json` list the episodes airing from the previous day
through the next 33 days (on `SimklState.calendar_now`, the wall clock by default), with the
title, the airing `date` (ISO 8601 with its offset), `url`, `ids` (`simkl_id`, `slug` and the
title's other ids) and `episode` (`season` for TV, `episode`, `url`), as SIMKL's files carry
them; they need no key or token, ignore query strings and carry `Last-Modified` (generated every
6 hours). Episodes air as the test schedules them (`SimklState.schedule`).
"""

import base64
from collections.abc import Awaitable, Callable
import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
import hashlib
import json
import re
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from yarl import URL

from tests.simulators.openapi import recording

type Json = Any

CLIENT_ID = "simkl-client-id"
TOKEN = "simkl-user-token"
V2_CLIENT_ID = "simkl-v2-device-client-id"  # a "TV, devices & command line" app (no secret)
PKCE_CLIENT_ID = "simkl-v2-browser-client-id"  # a "Mobile, desktop & browser apps" app (§3)
V2_CLIENT_IDS = frozenset({V2_CLIENT_ID, PKCE_CLIENT_ID})
ISSUER = "https://simkl.com"  # the `iss` of every authorization reply (§8.2, RFC 9207)
ACCESS_LIFETIME = timedelta(days=7)
REFRESH_LIFETIME = timedelta(days=180)
SCOPES = ("media:read", "media:write")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The calls that change the user's lists: a read-only grant is refused them.
WRITE_PATHS = frozenset(
    {
        "/sync/add-to-list",
        "/sync/history",
        "/sync/history/remove",
        "/sync/ratings",
        "/sync/ratings/remove",
        "/scrobble/start",
        "/scrobble/pause",
        "/scrobble/stop",
    }
)
SCROBBLE_WINDOW = timedelta(hours=1)  # a second stop of a recorded play within it answers 409
START = datetime(2024, 1, 1, tzinfo=UTC)
ACTIVITY_KEYS = {"movies": "movies", "shows": "tv_shows", "anime": "anime"}
SHOW_STATUSES = ("plantowatch", "watching", "completed", "hold", "dropped")
MOVIE_STATUSES = ("plantowatch", "completed", "dropped")
# The URL parameters that identify the app on every request, not the endpoint's own.
APP_PARAMS = ("client_id", "app-name", "app-version")


@dataclass
class SimklQuirks:
    """SIMKL misbehaviours a test can switch on."""

    malformed_calendars: int = 0  # the next N calendar files answer an HTML error page (200)

    stale_reads_after_write: int = 0  # reads after a write serve the body from before it
    frozen_activities: bool = False  # /sync/activities stops advancing
    visible_after_reads: int = 0  # a write lands only after this many later reads
    rate_limit_storm: int = 0  # the next N requests answer 429
    retry_after: str = "1"  # the Retry-After those 429s carry
    server_errors: int = 0  # the next N all-items / ratings reads answer 503
    activity_errors: int = 0  # the next N activities calls answer 503
    truncated_bodies: int = 0  # the next N all-items / ratings bodies are cut short
    empty_bodies: int = 0  # the next N all-items / ratings reads answer 200 with no body
    token_revoked: bool = False  # the user revoked the app: 401 from now on
    ok_only_replies: bool = False  # writes answer {"ok": true} and nothing per item
    pin_codes_expire: bool = False  # every PIN code reads as expired
    # The activities JSON leaves out these buckets' sections ("movies", "shows", "anime").
    missing_activity_sections: tuple[str, ...] = ()
    # The next N activities calls each first move every bucket's `plantowatch`,
    # `removed_from_list` and `rated_at` stamps (and `all`) with no change to any content.
    unrelated_activity: int = 0
    # The next N all-items / ratings reads answer 200 with a shape the blueprint does not
    # document, in turn: the bucket's key holding null, holding a string, and the rows as a
    # top-level list where an object belongs.
    malformed_bodies: int = 0
    # Writes are accepted (adds answer {"ok": true}, removals their usual empty 200), but every
    # second accepted object (the 2nd, 4th, ... since the quirk was switched on) is silently
    # never stored: no list, rating or activity stamp changes for it.
    drop_writes: bool = False
    lost_write_replies: int = 0  # the next N writes are stored, then answered 503 (reply lost)
    # The next N full pulls (all-items or ratings without date_from) answer only the first 2
    # rows of each bucket.
    tiny_bodies: int = 0
    device_denial_reported: bool = False  # a declined device code answers access_denied
    scrobbles_down: bool = False  # every scrobble answers 503, not acted on


@dataclass
class Title:
    """A catalog entry SIMKL knows."""

    simkl: int
    kind: str  # "movies", "shows" or "anime"
    title: str
    year: int
    ids: dict[str, str]
    anime_type: str | None = None
    episodes: tuple[tuple[int, int], ...] = ()  # aired (season, number) pairs
    searched: int = 0  # how often people search for it: SIMKL's search ranks by this

    def object(self) -> dict[str, Json]:
        """The standard media object SIMKL nests in its rows."""
        return {
            "title": self.title,
            "poster": "00/000000",
            "year": self.year,
            "runtime": 45,
            "ids": {"simkl": self.simkl, "slug": self.title.lower().replace(" ", "-")} | self.ids,
        }


@dataclass(frozen=True)
class Airing:
    """An episode of a catalog title and when it airs (a date alone: the time is unknown)."""

    simkl: int
    season: int | None  # None for anime, which SIMKL numbers without seasons
    episode: int
    airs: datetime | date


@dataclass
class Listing:
    """One title on the user's lists."""

    status: str
    added_at: datetime
    changed_at: datetime  # what date_from compares with
    last_watched_at: datetime | None = None
    episodes: dict[tuple[int, int], datetime | None] = field(default_factory=dict)
    rating: int | None = None
    rated_at: datetime | None = None
    rating_changed_at: datetime | None = None


@dataclass
class Pin:
    """A PIN code in flight."""

    user_code: str
    created: datetime
    expires_in: int = 900
    interval: int = 5
    approved: bool = False
    last_poll: datetime | None = None


@dataclass
class DeviceCode:
    """A V2 device code in flight."""

    device_code: str
    user_code: str
    scope: str
    created: datetime
    expires_in: int = 900
    interval: int = 5
    approved: bool = False
    denied: bool = False
    used: bool = False
    last_poll: datetime | None = None


@dataclass
class AuthCode:
    """A code the consent page issued, with what its exchange must match (§8)."""

    code: str
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    used: bool = False


@dataclass
class Grant:
    """A V2 grant: one refresh token and its one live access token."""

    refresh_token: str
    access_token: str
    scopes: frozenset[str]
    access_expires: datetime
    refresh_expires: datetime
    revoked: bool = False
    refreshes: int = 0


@dataclass(frozen=True)
class Call:
    """One recorded read of an expensive endpoint."""

    endpoint: str  # "all-items" or "ratings"
    type: str | None
    status: str | None
    query: dict[str, str]  # the endpoint's own parameters (without `APP_PARAMS`)


def _own_query(request: web.Request) -> dict[str, str]:
    return {key: value for key, value in request.query.items() if key not in APP_PARAMS}


def _stamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _parse(value: Json) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def wall_clock() -> datetime:
    """Now, in UTC, by the wall clock (Home Assistant's tests freeze it)."""
    return datetime.now(UTC)


class SimklState:
    """The account, the catalog and the recordings behind one simulator app."""

    def __init__(self, *, account_id: int = 51, name: str = "Andrew Masyk") -> None:
        self.account_id = account_id
        self.name = name
        self.quirks = SimklQuirks()
        self.now = START
        self.catalog: dict[int, Title] = {}
        self.lists: dict[int, Listing] = {}
        self.activities: dict[str, dict[str, datetime | None]] = {
            bucket: dict.fromkeys(
                ("all", "rated_at", "playback", *self._statuses(bucket), "removed_from_list")
            )
            for bucket in ACTIVITY_KEYS
        }
        self.pins: dict[str, Pin] = {}
        self.pin_interval = 5  # seconds between polls, as SIMKL asks; tests may lower it
        self.auto_approve = False  # the demo: a PIN is approved on its first poll
        self.calls: list[Call] = []
        self.activity_calls = 0
        self.headers_seen: list[dict[str, str]] = []
        self._pending: list[list[Any]] = []
        self._stale: tuple[dict[int, Listing], int] | None = None
        self._malformed_served = 0  # which undocumented shape the next malformed body takes
        self._accepted_while_dropping = 0  # objects accepted since `drop_writes` was on
        self.device_codes: dict[str, DeviceCode] = {}
        self.grants: list[Grant] = []
        self.killed_tokens: set[str] = set()  # access tokens a refresh or revoke ended
        self._serial = 0  # grants issued so far
        self.redirect_uris: set[str] = set()  # registered on the browser app (PKCE_CLIENT_ID)
        self.consent_declined = False  # what the user answers on the consent page
        self.auth_codes: dict[str, AuthCode] = {}
        self.authorize_requests: list[dict[str, str]] = []  # the consent page's queries
        self.airings: list[Airing] = []
        # The calendar files' clock (a module function: worlds are pickled with their state).
        self.calendar_now: Callable[[], datetime] = wall_clock
        self.calendar_reads: list[str] = []  # the calendar files asked for, in order
        # Scrobbles: the session of each movie or episode (action, progress), when a stop last
        # recorded its play, and every call as received.
        self.scrobbles: dict[tuple[int, int, int], tuple[str, float]] = {}
        self.scrobbled: dict[tuple[int, int, int], datetime] = {}
        self.scrobble_calls: list[tuple[str, Json]] = []

    @staticmethod
    def _statuses(bucket: str) -> tuple[str, ...]:
        return MOVIE_STATUSES if bucket == "movies" else SHOW_STATUSES

    # The clock and the catalog -------------------------------------------------------------

    def tick(self) -> datetime:
        """Advance one second, so every change has its own timestamp."""
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        """Let time pass (PIN expiry, poll intervals)."""
        self.now += timedelta(seconds=seconds)

    def add_title(
        self,
        kind: str,
        simkl: int,
        title: str,
        year: int,
        *,
        anime_type: str | None = None,
        episodes: int = 0,
        **ids: str,
    ) -> Title:
        """Put a title in SIMKL's catalog (season 1 with `episodes` aired episodes)."""
        entry = Title(
            simkl,
            kind,
            title,
            year,
            dict(ids),
            anime_type,
            tuple((1, n) for n in range(1, episodes + 1)),
        )
        self.catalog[simkl] = entry
        return entry

    # What the user does on simkl.com ---------------------------------------------------------

    def schedule(self, simkl: int, season: int | None, episode: int, airs: datetime | date) -> None:
        """An episode of a catalog title airs then (what the calendar files list)."""
        self.airings.append(Airing(simkl, season, episode, airs))

    def user_lists(
        self,
        simkl: int,
        status: str,
        *,
        watched_at: datetime | None = None,
        episodes: dict[tuple[int, int], datetime | None] | None = None,
    ) -> None:
        """The user puts a title in a list (with watched episodes or a watched date)."""
        title = self.catalog[simkl]
        now = self.tick()
        listing = self.lists.get(simkl) or Listing(status, now, now)
        listing.status, listing.changed_at = status, now
        if watched_at is not None:
            listing.last_watched_at = watched_at
        if episodes:
            listing.episodes.update(episodes)
            dates = [d for d in listing.episodes.values() if d]
            listing.last_watched_at = max(dates) if dates else listing.last_watched_at
        self.lists[simkl] = listing
        self.touch(title.kind, status)

    def user_rates(self, simkl: int, rating: int | None) -> None:
        """The user rates a listed title (None: removes the rating)."""
        listing = self.lists[simkl]
        now = self.tick()
        listing.rating, listing.rated_at, listing.rating_changed_at = rating, now, now
        self.touch(self.catalog[simkl].kind, "rated_at")

    def user_removes(self, simkl: int) -> None:
        """The user removes a title from every list; its rating goes with it."""
        self.tick()
        listing = self.lists.pop(simkl)
        kind = self.catalog[simkl].kind
        self.touch(kind, "removed_from_list")
        if listing.rating is not None:
            self.touch(kind, "rated_at")

    def approve_pin(self, user_code: str) -> None:
        """The user enters the code at simkl.com/pin and grants access."""
        self.pins[user_code].approved = True

    def approve_device(self, user_code: str) -> None:
        """The user enters the V2 code at simkl.com/pin and allows CrossWatch."""
        next(c for c in self.device_codes.values() if c.user_code == user_code).approved = True

    def deny_device(self, user_code: str) -> None:
        """The user declines the V2 code."""
        next(c for c in self.device_codes.values() if c.user_code == user_code).denied = True

    def register_redirect_uri(self, uri: str) -> None:
        """The developer adds a redirect URI to the browser app on simkl.com (§3)."""
        self.redirect_uris.add(uri)

    def issue_grant(self, scope: str = "media:read media:write") -> Grant:
        """A new V2 grant of `scope` (what an approved code or a test's fixture gets)."""
        self._serial += 1
        serial = self._serial
        asked = frozenset(scope.split()) & frozenset(SCOPES)
        grant = Grant(
            refresh_token=f"simkl_rt_{serial:08d}",
            access_token=f"simkl_at_{serial:08d}_0",
            # Nothing valid asked for: the sign-in succeeds, read-only (§6).
            scopes=asked or frozenset({"media:read"}),
            access_expires=self.now + ACCESS_LIFETIME,
            refresh_expires=self.now + REFRESH_LIFETIME,
        )
        self.grants.append(grant)
        return grant

    def grant_of(self, token: str) -> Grant | None:
        """The grant a refresh or access token belongs to (expired ones included)."""
        return next((g for g in self.grants if token in (g.refresh_token, g.access_token)), None)

    def live_grant(self, access_token: str) -> Grant | None:
        """The grant whose live, unexpired access token this is."""
        grant = next((g for g in self.grants if g.access_token == access_token), None)
        if grant is None or grant.revoked or self.now >= grant.access_expires:
            return None
        return grant

    def touch(self, kind: str, key: str) -> None:
        """Move an activity timestamp (unless the activities quirk froze them)."""
        if self.quirks.frozen_activities:
            return
        section = self.activities[kind]
        section[key] = section["all"] = self.now

    def all_items_calls(self) -> list[Call]:
        """The recorded /sync/all-items reads."""
        return [c for c in self.calls if c.endpoint == "all-items"]

    # Quirk machinery ------------------------------------------------------------------------

    def _changing(self, change: Callable[[], None]) -> None:
        """Apply a write now, or after N reads when writes are eventually consistent."""
        if self.quirks.stale_reads_after_write and self._stale is None:
            self._stale = (copy.deepcopy(self.lists), self.quirks.stale_reads_after_write)
        if self.quirks.visible_after_reads:
            self._pending.append([self.quirks.visible_after_reads, change])
        else:
            change()

    def _accepts(self) -> bool:
        """Whether an accepted write object is really stored (`drop_writes` drops every 2nd)."""
        if not self.quirks.drop_writes:
            return True
        self._accepted_while_dropping += 1
        return self._accepted_while_dropping % 2 == 1

    def apply_delayed_writes(self) -> None:
        """Apply every write still waiting, in the order it was accepted.

        The user's own edit on the service comes after the writes it accepted before: applied
        later, a delayed write would undo an edit the user made after it.
        """
        waiting, self._pending = self._pending, []
        for _, change in waiting:
            change()

    def _a_read_happened(self) -> None:
        for waiting in self._pending:
            waiting[0] -= 1
        for waiting in [w for w in self._pending if w[0] <= 0]:
            self._pending.remove(waiting)
            waiting[1]()

    def _visible_lists(self) -> dict[int, Listing]:
        if self._stale is None:
            return self.lists
        lists, remaining = self._stale
        self._stale = (lists, remaining - 1) if remaining > 1 else None
        return lists

    def resolve(self, section: str, obj: Json) -> Title | None:
        """The catalog title a request object names by any of its ids."""
        ids = obj.get("ids") if isinstance(obj, dict) else None
        if not isinstance(ids, dict):
            return None
        kinds = ("movies", "anime") if section == "movies" else ("shows", "anime")
        for title in self.catalog.values():
            if title.kind not in kinds or (
                title.kind == "anime" and (section == "movies") != (title.anime_type == "movie")
            ):
                continue
            known = {"simkl": str(title.simkl), **title.ids}
            if any(str(ids.get(key)) == str(value) for key, value in known.items() if key in ids):
                return title
        return None


def simkl_app(state: SimklState) -> web.Application:
    """The simulator app over `state`, recording every request for conformance checks."""
    app = web.Application(middlewares=[_guard(state)])
    handlers = _Handlers(state)
    app.router.add_get("/oauth/pin", handlers.pin)
    app.router.add_get("/oauth/pin/{USER_CODE}", handlers.pin_status)
    app.router.add_get("/oauth2/authorize", handlers.authorize)
    app.router.add_post("/oauth2/device", handlers.device)
    app.router.add_post("/oauth2/token", handlers.token)
    app.router.add_post("/oauth2/revoke", handlers.revoke)
    app.router.add_post("/users/settings", handlers.settings)
    app.router.add_post("/users/{user_id}/stats", handlers.stats)
    app.router.add_get("/sync/activities", handlers.activities)
    # The blueprint's prose and examples call /sync/activities with POST as well.
    app.router.add_post("/sync/activities", handlers.activities)
    app.router.add_get("/sync/all-items", handlers.all_items)
    app.router.add_get("/sync/all-items/{type}", handlers.all_items)
    app.router.add_get("/sync/all-items/{type}/{status}", handlers.all_items)
    app.router.add_get("/search/{type}", handlers.search)
    app.router.add_post("/sync/add-to-list", handlers.add_to_list)
    app.router.add_post("/sync/history/remove", handlers.history_remove)
    app.router.add_post("/sync/history", handlers.history)
    app.router.add_post("/sync/ratings/remove", handlers.ratings_remove)
    app.router.add_post("/sync/ratings", handlers.ratings_add)
    app.router.add_post("/sync/ratings/{type}", handlers.ratings_get)
    app.router.add_post("/sync/ratings/{type}/{rating}", handlers.ratings_get)
    for action in ("start", "pause", "stop"):
        app.router.add_post(f"/scrobble/{action}", partial(handlers.scrobble, action))
    return recording(app)


type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guard(state: SimklState) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/calendar/"):
            return await handler(request)  # the data host's files: public, no API rules
        state.headers_seen.append(dict(request.headers))
        if state.quirks.rate_limit_storm > 0:
            state.quirks.rate_limit_storm -= 1
            return web.json_response(
                {"error": "rate_limit"},
                status=429,
                headers={"Retry-After": state.quirks.retry_after},
            )
        if request.path == "/oauth2/authorize":
            return await handler(request)  # the browser's page, not an API call
        if request.path.startswith("/oauth2/"):
            return await _oauth2_guard(request, handler)
        if not (request.query.get("app-name") and request.query.get("app-version")):
            return web.json_response({"error": "client_id_failed", "code": 412}, status=412)
        key = request.headers.get("simkl-api-key") or request.query.get("client_id")
        if key not in (CLIENT_ID, *V2_CLIENT_IDS):
            return web.json_response({"error": "client_id_failed"}, status=403)
        if request.path.startswith("/oauth/"):
            return await handler(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        grant = state.live_grant(bearer)
        if grant is not None:
            if request.path in WRITE_PATHS and "media:write" not in grant.scopes:
                return web.json_response({"error": "insufficient_scope", "code": 403}, status=403)
        elif state.quirks.token_revoked or bearer != TOKEN:
            return web.json_response({"error": "user_token_failed"}, status=401)
        return await handler(request)

    return guard


async def _oauth2_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The parameters every /oauth2 call needs (412 when missing) and a V2 client id (401)."""
    form = await request.post()
    missing = [p for p in ("app-name", "app-version") if not request.query.get(p)]
    if not form.get("client_id"):
        missing.append("client_id")
    if missing:
        return web.json_response(
            {"error": "missing_parameters", "missing": missing, "code": 412}, status=412
        )
    if form.get("client_id") not in V2_CLIENT_IDS:
        return web.json_response({"error": "invalid_client"}, status=401)
    return await handler(request)


def _s256(verifier: str) -> str:
    """RFC 7636's S256: the verifier's SHA-256, base64url without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _oauth_error(error: str, status: int = 400) -> web.Response:
    return web.json_response({"error": error}, status=status)


class _Handlers:
    def __init__(self, state: SimklState) -> None:
        self.state = state

    # Auth ------------------------------------------------------------------------------------

    async def pin(self, request: web.Request) -> web.Response:
        if request.query.get("client_id") != CLIENT_ID:
            return web.json_response({"result": "KO", "message": "client_id_failed"})
        code = f"K{len(self.state.pins) + 1:04d}"
        self.state.pins[code] = Pin(code, self.state.now, interval=self.state.pin_interval)
        return web.json_response(
            {
                "result": "OK",
                "device_code": f"DEVICE{code}",
                "user_code": code,
                "verification_url": "https://simkl.com/pin/",
                "expires_in": 900,
                "interval": self.state.pin_interval,
            }
        )

    async def pin_status(self, request: web.Request) -> web.Response:
        pin = self.state.pins.get(request.match_info["USER_CODE"])
        if pin is None:
            return web.json_response({"error": "not_found"}, status=404)
        now = self.state.now
        expired = now - pin.created >= timedelta(seconds=pin.expires_in)
        if self.state.quirks.pin_codes_expire or expired:
            return web.json_response({"result": "KO", "message": "Code expired"})
        too_soon = pin.last_poll is not None and now - pin.last_poll < timedelta(
            seconds=pin.interval
        )
        pin.last_poll = now
        if self.state.auto_approve:
            pin.approved = True
        if too_soon:
            return web.json_response({"result": "KO", "message": "Slow down"})
        if pin.approved:
            return web.json_response({"result": "OK", "access_token": TOKEN})
        return web.json_response({"result": "KO", "message": "Authorization pending"})

    async def device(self, request: web.Request) -> web.Response:
        state = self.state
        scope = str((await request.post()).get("scope") or "")
        serial = len(state.device_codes) + 1
        code = DeviceCode(
            f"dc-{serial:06d}", f"V2CD-{serial:04d}", scope, state.now, interval=state.pin_interval
        )
        state.device_codes[code.device_code] = code
        return web.json_response(
            {
                "device_code": code.device_code,
                "user_code": code.user_code,
                "verification_uri": "https://simkl.com/pin",
                "verification_uri_complete": f"https://simkl.com/pin?user_code={code.user_code}",
                "expires_in": code.expires_in,
                "interval": code.interval,
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type = form.get("grant_type")
        if grant_type == DEVICE_GRANT:
            return self._device_grant(str(form.get("device_code") or ""))
        if grant_type == "refresh_token":
            return self._refresh_grant(str(form.get("refresh_token") or ""))
        if grant_type == "authorization_code":
            return self._code_grant({key: str(value) for key, value in form.items()})
        if not grant_type:
            return _oauth_error("invalid_request")
        return _oauth_error("unsupported_grant_type")

    def _device_grant(self, device_code: str) -> web.Response:
        state = self.state
        if not device_code:
            return _oauth_error("invalid_request")
        code = state.device_codes.get(device_code)
        if code is None or code.used:
            return _oauth_error("invalid_grant")
        now = state.now
        if now - code.created >= timedelta(seconds=code.expires_in):
            return _oauth_error("expired_token")
        too_soon = code.last_poll is not None and now - code.last_poll < timedelta(
            seconds=code.interval
        )
        code.last_poll = now
        if state.auto_approve:
            code.approved = True
        if too_soon:
            code.interval += 5
            return _oauth_error("slow_down")
        if code.denied and state.quirks.device_denial_reported:
            return _oauth_error("access_denied")
        if not code.approved or code.denied:
            return _oauth_error("authorization_pending")
        code.used = True
        return self._token_reply(state.issue_grant(code.scope))

    async def authorize(self, request: web.Request) -> web.Response:
        """The consent page: check the request, then redirect with the user's answer."""
        query = dict(request.query)
        self.state.authorize_requests.append(query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != PKCE_CLIENT_ID:
            return _oauth_error("invalid_client")
        if redirect_uri not in self.state.redirect_uris:
            return _oauth_error("invalid_request")  # never redirect to an unregistered URI
        if query.get("response_type") != "code":
            return _oauth_error("unsupported_response_type")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return _oauth_error("invalid_request")
        answer: dict[str, str]
        if self.state.consent_declined:
            answer = {"error": "access_denied"}
        else:
            code = AuthCode(
                f"ac-{len(self.state.auth_codes) + 1:06d}",
                PKCE_CLIENT_ID,
                redirect_uri,
                query["code_challenge"],
                query.get("scope", ""),
            )
            self.state.auth_codes[code.code] = code
            answer = {"code": code.code}
        if "state" in query:
            answer["state"] = query["state"]
        answer["iss"] = ISSUER
        raise web.HTTPFound(URL(redirect_uri).update_query(answer))

    def _code_grant(self, form: dict[str, str]) -> web.Response:
        if not all(form.get(k) for k in ("code", "redirect_uri", "code_verifier")):
            return _oauth_error("invalid_request")
        code = self.state.auth_codes.get(form["code"])
        if code is None or code.used:
            return _oauth_error("invalid_grant")
        code.used = True  # spent now, whatever follows (§8.3)
        if (
            form["client_id"] != code.client_id
            or form["redirect_uri"] != code.redirect_uri
            or _s256(form["code_verifier"]) != code.challenge
        ):
            return _oauth_error("invalid_grant")
        return self._token_reply(self.state.issue_grant(code.scope))

    def _refresh_grant(self, refresh_token: str) -> web.Response:
        state = self.state
        if not refresh_token:
            return _oauth_error("invalid_request")
        grant = next((g for g in state.grants if g.refresh_token == refresh_token), None)
        if grant is None or grant.revoked or state.now >= grant.refresh_expires:
            return _oauth_error("invalid_grant")
        # One live access token per grant: the previous one stops working now.
        state.killed_tokens.add(grant.access_token)
        grant.refreshes += 1
        grant.access_token = f"{grant.refresh_token.replace('_rt_', '_at_')}_{grant.refreshes}"
        grant.access_expires = state.now + ACCESS_LIFETIME
        grant.refresh_expires = state.now + REFRESH_LIFETIME
        return self._token_reply(grant)

    def _token_reply(self, grant: Grant) -> web.Response:
        return web.json_response(
            {
                "access_token": grant.access_token,
                "token_type": "Bearer",
                "expires_in": int(ACCESS_LIFETIME.total_seconds()),
                "refresh_token": grant.refresh_token,
                "scope": " ".join(s for s in SCOPES if s in grant.scopes),
            }
        )

    async def revoke(self, request: web.Request) -> web.Response:
        grant = self.state.grant_of(str((await request.post()).get("token") or ""))
        if grant is not None:
            grant.revoked = True
            self.state.killed_tokens.add(grant.access_token)
        return web.json_response({})  # always 200, whatever the token was

    async def settings(self, request: web.Request) -> web.Response:
        del request
        return web.json_response(
            {
                "user": {"name": self.state.name, "joined_at": "2007-11-04T22:04:46Z"},
                "account": {"id": self.state.account_id, "timezone": "UTC", "type": "free"},
                "connections": {"facebook": False},
            }
        )

    async def stats(self, request: web.Request) -> web.Response:
        """Counts per list, kept apart from the lists themselves (`tv` is the shows bucket)."""
        if request.match_info["user_id"] != str(self.state.account_id):
            return web.json_response({"error": "user_not_found"}, status=404)
        body: dict[str, Json] = {"total_mins": 0}
        for kind, name in (("movies", "movies"), ("shows", "tv"), ("anime", "anime")):
            lists: dict[str, Json] = {"total_mins": 0}
            for listing_id, listing in self.state.lists.items():
                if self.state.catalog[listing_id].kind != kind:
                    continue
                empty = {"mins": 0} if kind == "movies" else {"watched_episodes_count": 0}
                counted = lists.setdefault(listing.status, {**empty, "count": 0})
                counted["count"] += 1
                if kind != "movies":
                    seen = sum(1 for when in listing.episodes.values() if when is not None)
                    counted["watched_episodes_count"] += seen
            body[name] = lists
        return web.json_response(body, status=201)

    # Reads -----------------------------------------------------------------------------------

    async def activities(self, request: web.Request) -> web.Response:
        del request
        state = self.state
        state.activity_calls += 1
        state._a_read_happened()
        if state.quirks.activity_errors > 0:
            state.quirks.activity_errors -= 1
            return web.json_response({"error": "server_error"}, status=503)
        if state.quirks.unrelated_activity > 0:
            state.quirks.unrelated_activity -= 1
            state.tick()
            for bucket in ACTIVITY_KEYS:
                for key in ("plantowatch", "removed_from_list", "rated_at"):
                    state.touch(bucket, key)
        body: dict[str, Json] = {
            "all": _stamp(
                max((s["all"] for s in state.activities.values() if s["all"]), default=None)
            ),
            "settings": {"all": "2023-10-10T09:17:15Z"},
        }
        for bucket, key in ACTIVITY_KEYS.items():
            if bucket not in state.quirks.missing_activity_sections:
                body[key] = {k: _stamp(v) for k, v in state.activities[bucket].items()}
        return web.json_response(body)

    def _faulty(self) -> web.Response | None:
        quirks = self.state.quirks
        if quirks.server_errors > 0:
            quirks.server_errors -= 1
            return web.json_response({"error": "server_error"}, status=503)
        return None

    def _misshapen(self, kind: str, body: Json, *, full: bool) -> Json:
        """The body as the malformed or tiny quirks serve it (unchanged when both are off)."""
        quirks, state = self.state.quirks, self.state
        if quirks.malformed_bodies > 0:
            quirks.malformed_bodies -= 1
            shape = state._malformed_served % 3
            state._malformed_served += 1
            rows = (body or {}).get(kind) or []
            return [{kind: None}, {kind: "temporarily unavailable"}, rows][shape]
        if full and quirks.tiny_bodies > 0:
            quirks.tiny_bodies -= 1
            return {bucket: rows[:2] for bucket, rows in body.items()} if body else body
        return body

    def _reply(self, body: Json) -> web.Response:
        quirks = self.state.quirks
        text = json.dumps(body)
        if quirks.empty_bodies > 0:
            quirks.empty_bodies -= 1
            text = ""
        elif quirks.truncated_bodies > 0:
            quirks.truncated_bodies -= 1
            text = text[: max(1, len(text) // 2)]
        return web.Response(text=text, content_type="application/json")

    async def search(self, request: web.Request) -> web.Response:
        """GET /search/{movie|tv|anime}?q=: titles holding every word, most searched first.

        As SIMKL documents it: ranked by what people search most, not by how well the title
        matches ("John Wick: Chapter 2" before "John Wick"); `simkl_id`, `slug` and `tmdb` only
        (an imdb id needs `extended=full`); at most 50 a page.
        """
        state = self.state
        kind = request.match_info["type"]
        state.calls.append(Call("search", kind, None, _own_query(request)))
        if (fault := self._faulty()) is not None:
            return fault
        bucket = {"movie": "movies", "tv": "shows", "anime": "anime"}.get(kind)
        if bucket is None:
            return web.json_response({"error": "wrong_type"}, status=400)
        words = set(re.findall(r"\w+", request.query.get("q", "").casefold()))
        found = [
            title
            for title in state.catalog.values()
            if title.kind == bucket
            and words
            and words <= set(re.findall(r"\w+", title.title.casefold()))
        ]
        found.sort(key=lambda title: -title.searched)
        limit = min(max(1, int(request.query.get("limit", "10"))), 50)
        body = [
            {
                "title": title.title,
                "year": title.year,
                "poster": "00/000000",
                "endpoint_type": "movies" if bucket == "movies" else kind,
                "ids": {
                    "simkl_id": title.simkl,
                    "slug": title.title.lower().replace(" ", "-"),
                    **({"tmdb": title.ids["tmdb"]} if "tmdb" in title.ids else {}),
                },
                **({"anime_type": title.anime_type} if title.anime_type else {}),
            }
            for title in found[:limit]
        ]
        return web.json_response(body)

    async def all_items(self, request: web.Request) -> web.Response:
        state = self.state
        kind = request.match_info.get("type") or None
        status = request.match_info.get("status") or None
        state.calls.append(Call("all-items", kind, status, _own_query(request)))
        state._a_read_happened()
        if (fault := self._faulty()) is not None:
            return fault
        since = _parse(request.query.get("date_from"))
        full = request.query.get("extended", "").startswith("full")
        dated = request.query.get("episode_watched_at") == "yes"
        every_episode = request.query.get("include_all_episodes") == "yes"
        body: dict[str, list[Json]] = {}
        for simkl, listing in sorted(state._visible_lists().items()):
            title = state.catalog[simkl]
            if (kind and title.kind != kind) or (status and listing.status != status):
                continue
            if since is not None and listing.changed_at <= since:
                continue
            episodes = every_episode or listing.status != "completed"
            row = self._row(title, listing, full=full and episodes, dated=dated)
            body.setdefault(title.kind, []).append(row)
        # "If a user doesn't have anything in his watchlists, the response will be null".
        shaped = self._misshapen(kind or "movies", body or None, full=since is None)
        return self._reply(shaped)

    @staticmethod
    def _row(title: Title, listing: Listing, *, full: bool, dated: bool) -> dict[str, Json]:
        row: dict[str, Json] = {
            "added_to_watchlist_at": _stamp(listing.added_at),
            "last_watched_at": _stamp(listing.last_watched_at),
            "user_rated_at": _stamp(listing.rated_at),
            "user_rating": listing.rating,
            "status": listing.status,
        }
        if title.kind == "movies":
            row["movie"] = title.object()
            return row
        watched = sorted(listing.episodes)
        row |= {
            "last_watched": f"S{watched[-1][0]:02d}E{watched[-1][1]:02d}" if watched else None,
            "next_to_watch": None,
            "watched_episodes_count": len(watched),
            "total_episodes_count": len(title.episodes),
            "not_aired_episodes_count": 0,
        }
        if title.kind == "anime":
            row["anime_type"] = title.anime_type or "tv"
        row["show"] = title.object()
        if full and watched:
            seasons: dict[int, list[Json]] = {}
            for season, number in watched:
                episode: dict[str, Json] = {"number": number}
                if dated:
                    episode["watched_at"] = _stamp(listing.episodes[season, number])
                seasons.setdefault(season, []).append(episode)
            row["seasons"] = [{"number": s, "episodes": e} for s, e in sorted(seasons.items())]
        return row

    async def ratings_get(self, request: web.Request) -> web.Response:
        state = self.state
        kind = request.match_info["type"]
        wanted = request.match_info.get("rating")
        state.calls.append(Call("ratings", kind, wanted, _own_query(request)))
        state._a_read_happened()
        if (fault := self._faulty()) is not None:
            return fault
        since = _parse(request.query.get("date_from"))
        values = {int(v) for v in wanted.split(",")} if wanted else None
        rows: list[Json] = []
        for simkl, listing in sorted(state._visible_lists().items()):
            title = state.catalog[simkl]
            if title.kind != kind:
                continue
            if since is None:
                if listing.rating is None:
                    continue
            elif listing.rating_changed_at is None or listing.rating_changed_at <= since:
                continue
            if values is not None and listing.rating not in values:
                continue
            row: dict[str, Json] = {
                "last_watched_at": _stamp(listing.last_watched_at),
                "user_rated_at": _stamp(listing.rated_at),
                "user_rating": listing.rating,
                "status": listing.status,
            }
            row["movie" if kind == "movies" else "show"] = title.object()
            rows.append(row)
        return self._reply(
            self._misshapen(kind, {kind: rows} if rows else None, full=since is None)
        )

    # Writes ----------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, list[Json]]:
        body = await request.json()
        return {k: v for k, v in body.items() if isinstance(v, list)}

    def _answer(self, body: Json) -> web.Response:
        """The reply to a write that was applied: `body`, unless a quirk says otherwise.

        `body` None is the blueprint's empty 200 of the removal endpoints.
        """
        quirks = self.state.quirks
        if quirks.lost_write_replies > 0:
            quirks.lost_write_replies -= 1
            return web.json_response({"error": "server_error"}, status=503)
        if body is None:
            return web.Response(status=200)
        if quirks.ok_only_replies or quirks.drop_writes:
            return web.json_response({"ok": True})
        return web.json_response(body)

    async def add_to_list(self, request: web.Request) -> web.Response:
        state = self.state
        added: dict[str, list[Json]] = {"movies": [], "shows": []}
        not_found: dict[str, list[Json]] = {"movies": [], "shows": []}
        for section, objects in (await self._body(request)).items():
            for obj in objects:
                title = state.resolve(section, obj)
                status = obj.get("to")
                if title is None or status not in state._statuses(title.kind):
                    not_found.setdefault(section, []).append(obj)
                    continue
                added.setdefault(section, []).append(obj)
                if state._accepts():
                    state._changing(self._lister(title, status, _parse(obj.get("added_at"))))
        return self._answer({"added": added, "not_found": not_found})

    def _lister(self, title: Title, status: str, added_at: datetime | None) -> Callable[[], None]:
        def change() -> None:
            state = self.state
            now = state.tick()
            listing = state.lists.get(title.simkl) or Listing(status, added_at or now, now)
            listing.status, listing.changed_at = status, added_at or now
            state.lists[title.simkl] = listing
            state.touch(title.kind, status)

        return change

    async def history(self, request: web.Request) -> web.Response:
        state = self.state
        counts = {"movies": 0, "shows": 0, "episodes": 0}
        statuses: list[Json] = []
        not_found: dict[str, list[Json]] = {"movies": [], "shows": [], "episodes": []}
        for section, objects in (await self._body(request)).items():
            for obj in objects:
                title = state.resolve(section, obj)
                if title is None:
                    not_found.setdefault(section, []).append(obj)
                    continue
                marks = self._marks(title, obj)
                counts["movies" if title.kind == "movies" else "shows"] += 1
                counts["episodes"] += len(marks)
                status = "completed" if title.kind == "movies" else "watching"
                statuses.append(
                    {
                        "request": obj,
                        "response": {
                            "status": status,
                            "simkl_type": {"movies": "movie", "shows": "tv"}.get(
                                title.kind, "anime"
                            ),
                            "anime_type": title.anime_type,
                        },
                    }
                )
                if state._accepts():
                    state._changing(self._watcher(title, _parse(obj.get("watched_at")), marks))
        return self._answer({"added": counts | {"statuses": statuses}, "not_found": not_found})

    @staticmethod
    def _marks(title: Title, obj: Json) -> dict[tuple[int, int], datetime | None]:
        """The episodes a history object marks, with their dates."""
        if title.kind == "movies" or title.anime_type == "movie":
            return {}
        default = _parse(obj.get("watched_at"))
        seasons = obj.get("seasons")
        if obj.get("episodes"):
            seasons = [{"number": 1, "episodes": obj["episodes"]}]
        if not seasons:
            return dict.fromkeys(title.episodes, default)
        marks: dict[tuple[int, int], datetime | None] = {}
        for season in seasons:
            when = _parse(season.get("watched_at")) or default
            if "episodes" not in season:
                marks |= {e: when for e in title.episodes if e[0] == season["number"]}
            for episode in season.get("episodes", []):
                marks[season["number"], episode["number"]] = (
                    _parse(episode.get("watched_at")) or when
                )
        return marks

    def _watcher(
        self,
        title: Title,
        watched_at: datetime | None,
        marks: dict[tuple[int, int], datetime | None],
    ) -> Callable[[], None]:
        def change() -> None:
            state = self.state
            now = state.tick()
            listing = state.lists.get(title.simkl) or Listing("completed", now, now)
            if marks:
                listing.episodes.update({k: v or now for k, v in marks.items()})
                done = set(title.episodes) <= set(listing.episodes)
                listing.status = "completed" if done else "watching"
                dates = [d for d in marks.values() if d]
            else:
                listing.status = "completed"
                dates = [watched_at or now]
            latest = max(dates) if dates else now
            listing.last_watched_at = max(d for d in (listing.last_watched_at, latest) if d)
            # SIMKL files the change under the date it was watched: a back-dated write does not
            # show in a date_from delta.
            listing.changed_at = latest
            state.lists[title.simkl] = listing
            state.touch(title.kind, listing.status)

        return change

    async def scrobble(self, action: str, request: web.Request) -> web.Response:
        """A scrobble call (the blueprint's Scrobble group): start, pause, or stop.

        A stop at 80 % or more marks the movie or episode watched, as a history write does, and
        a second such stop within the hour answers 409 with the play it kept; a stop below 80 %
        is kept as a pause. SIMKL dates the play by its own clock.
        """
        state = self.state
        body = await request.json()
        state.scrobble_calls.append((action, body))
        if state.quirks.scrobbles_down:
            return web.json_response({"error": "server_error"}, status=503)
        progress = body.get("progress") if isinstance(body, dict) else None
        if not isinstance(progress, int | float) or not 0 <= progress <= 100:
            return web.json_response({"error": "progress_invalid"}, status=400)
        found = self._scrobbled(body)
        if found is None:
            return web.json_response({"error": "id_err"}, status=404)
        title, key, section = found
        done = action
        if action == "stop" and progress >= 80:
            now = state.tick()
            last = state.scrobbled.get(key)
            if last is not None and now - last < SCROBBLE_WINDOW:
                return web.json_response(
                    {"watched_at": _stamp(last), "expires_at": _stamp(last + SCROBBLE_WINDOW)},
                    status=409,
                )
            episode = (key[1], key[2])
            marks: dict[tuple[int, int], datetime | None] = (
                {} if episode == (0, 0) else {episode: now}
            )
            state._changing(self._watcher(title, now, marks))
            state.scrobbled[key] = now
            state.scrobbles.pop(key, None)
            done = "scrobble"
        elif action == "stop":
            done = "pause"
        if done != "scrobble":
            state.scrobbles[key] = (done, float(progress))
        reply: dict[str, Json] = {
            "id": 0 if done == "start" else int(state.tick().timestamp() * 1000),
            "action": done,
            "progress": float(progress),
            section: title.object(),
        }
        if key[1:] != (0, 0):
            reply["episode"] = {"season": key[1], "number": key[2]}
        return web.json_response(reply, status=201)

    def _scrobbled(self, body: Json) -> tuple[Title, tuple[int, int, int], str] | None:
        """The title (and episode) a scrobble names: a movie, or a show or anime's episode."""
        if not isinstance(body, dict):
            return None
        if isinstance(body.get("movie"), dict):
            title = self.state.resolve("movies", body["movie"])
            return (title, (title.simkl, 0, 0), "movie") if title is not None else None
        episode = body.get("episode")
        section = "show" if isinstance(body.get("show"), dict) else "anime"
        if not isinstance(episode, dict) or not isinstance(body.get(section), dict):
            return None
        title = self.state.resolve("shows", body[section])
        if title is None:
            return None
        numbering = (episode.get("season", 1), episode.get("number"))
        if numbering not in title.episodes:
            return None
        return title, (title.simkl, *numbering), section

    async def history_remove(self, request: web.Request) -> web.Response:
        state = self.state
        for section, objects in (await self._body(request)).items():
            for obj in objects:
                title = state.resolve(section, obj)
                if title is not None and title.simkl in state.lists and state._accepts():
                    state._changing(self._unwatcher(title, obj.get("seasons")))
        # The blueprint documents an empty 200 for removals.
        return self._answer(None)

    def _unwatcher(self, title: Title, seasons: Json) -> Callable[[], None]:
        def change() -> None:
            state = self.state
            state.tick()
            listing = state.lists.get(title.simkl)
            if listing is None:
                return
            if not seasons:
                del state.lists[title.simkl]
                state.touch(title.kind, "removed_from_list")
                if listing.rating is not None:
                    state.touch(title.kind, "rated_at")
                return
            for season in seasons:
                numbers = {e["number"] for e in season.get("episodes", [])}
                for key in [k for k in listing.episodes if k[0] == season["number"]]:
                    if not numbers or key[1] in numbers:
                        del listing.episodes[key]
            listing.changed_at = state.now
            state.touch(title.kind, listing.status)

        return change

    async def ratings_add(self, request: web.Request) -> web.Response:
        state = self.state
        counts = {"movies": 0, "shows": 0}
        statuses: list[Json] = []
        not_found: dict[str, list[Json]] = {"movies": [], "shows": []}
        for section, objects in (await self._body(request)).items():
            for obj in objects:
                title = state.resolve(section, obj)
                rating = obj.get("rating")
                if title is None or not isinstance(rating, int) or not 1 <= rating <= 10:
                    not_found.setdefault(section, []).append(obj)
                    continue
                counts[section] = counts.get(section, 0) + 1
                listing = state.lists.get(title.simkl)
                auto = "completed" if title.kind == "movies" else "watching"
                statuses.append(
                    {"request": obj, "response": {"status": listing.status if listing else auto}}
                )
                if state._accepts():
                    state._changing(self._rater(title, rating, _parse(obj.get("rated_at"))))
        return self._answer({"added": counts | {"statuses": statuses}, "not_found": not_found})

    def _rater(
        self, title: Title, rating: int | None, rated_at: datetime | None
    ) -> Callable[[], None]:
        def change() -> None:
            state = self.state
            now = state.tick()
            listing = state.lists.get(title.simkl)
            if listing is None:
                if rating is None:
                    return
                # "If the show/anime or movie is rated before it was in user's list, show will be
                # automatically added to Watching list and the movie to I've seen this list."
                status = "completed" if title.kind == "movies" else "watching"
                listing = Listing(status, now, now)
                state.lists[title.simkl] = listing
                state.touch(title.kind, status)
            listing.rating = rating
            listing.rated_at = (rated_at or now) if rating is not None else None
            listing.rating_changed_at = rated_at or now
            state.touch(title.kind, "rated_at")

        return change

    async def ratings_remove(self, request: web.Request) -> web.Response:
        state = self.state
        for section, objects in (await self._body(request)).items():
            for obj in objects:
                title = state.resolve(section, obj)
                if title is not None and state._accepts():
                    state._changing(self._rater(title, None, None))
        return self._answer(None)


CALENDAR_FILES = {"tv.json": "shows", "anime.json": "anime"}


def simkl_calendar_app(state: SimklState) -> web.Application:
    """SIMKL's calendar data host: the rolling `tv.json` and `anime.json` files."""
    app = web.Application()
    add_calendar_routes(app, state)
    return app


async def _calendar_file(state: SimklState, request: web.Request) -> web.Response:
    """A calendar file, as SIMKL's data host serves it (see the module's docstring)."""
    name = request.match_info["file"]
    if name not in CALENDAR_FILES:
        return web.Response(status=404, text="Not Found")
    state.calendar_reads.append(name)
    if state.quirks.malformed_calendars:
        state.quirks.malformed_calendars -= 1
        return web.Response(text="<html><body>502 Bad Gateway</body></html>")
    now = state.calendar_now()
    generated = now.replace(hour=now.hour - now.hour % 6, minute=0, second=0, microsecond=0)
    first = (now - timedelta(days=1)).date()
    last = (now + timedelta(days=33)).date()
    body: list[Json] = []
    for airing in sorted(state.airings, key=lambda a: str(a.airs)):
        title = state.catalog[airing.simkl]
        day = airing.airs.date() if isinstance(airing.airs, datetime) else airing.airs
        if title.kind != CALENDAR_FILES[name] or not first <= day <= last:
            continue
        slug = title.title.lower().replace(" ", "-")
        url = f"https://simkl.com/{'anime' if title.kind == 'anime' else 'tv'}/{title.simkl}/{slug}"
        episode: dict[str, Json] = {
            "episode": airing.episode,
            "url": f"{url}/episode-{airing.episode}",
        }
        if airing.season is not None:
            episode["season"] = airing.season
        body.append(
            {
                "title": title.title,
                "poster": "00/000000",
                "date": airing.airs.isoformat(),
                "rank": 100,
                "url": url,
                "ids": {"simkl_id": title.simkl, "slug": slug} | title.ids,
                "episode": episode,
            }
        )
    headers = {"Last-Modified": generated.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    return web.json_response(body, headers=headers)


def add_calendar_routes(app: web.Application, state: SimklState) -> web.Application:
    """Serve the calendar files under `/calendar` on `app` too (the API's simulator, say).

    SIMKL's own API host does not; a client given another base URL than SIMKL's asks its base
    URL for them (`clients.simkl.calendar.calendar_url_for`), as the demo's simulators serve.
    """
    app.router.add_get("/calendar/{file}", partial(_calendar_file, state))
    return app


def seed_upcoming(state: SimklState, now: datetime) -> None:
    """Titles the user follows on SIMKL, with episodes airing in the coming week (after `now`).

    The user watches Shogun (an episode in two days, one in 32) and plans to watch Frieren (an anime, one
    in four days, and one dated without a time in six); Fallout is completed and Andor dropped,
    so their episodes stay off the calendar; Severance airs but is on no list of the user's.
    """
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    state.add_title("shows", 201, "Shogun", 2024, imdb="tt2788316")
    state.add_title("anime", 301, "Frieren", 2023, anime_type="tv", mal="52991")
    state.add_title("shows", 202, "Fallout", 2024)
    state.add_title("shows", 203, "Andor", 2022)
    state.add_title("shows", 204, "Severance", 2022)
    state.user_lists(201, "watching")
    state.user_lists(301, "plantowatch")
    state.user_lists(202, "completed")
    state.user_lists(203, "dropped")
    state.schedule(201, 2, 3, day + timedelta(days=2, hours=1))
    state.schedule(201, 2, 4, day + timedelta(days=32, hours=1))  # in the file, past a window
    state.schedule(301, None, 29, day + timedelta(days=4, hours=15))
    state.schedule(301, None, 30, (day + timedelta(days=6)).date())
    state.schedule(202, 2, 1, day + timedelta(days=1))
    state.schedule(203, 3, 1, day + timedelta(days=1))
    state.schedule(204, 2, 7, day + timedelta(days=3))
