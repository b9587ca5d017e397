"""A stateful MediaBrowser server: Jellyfin or Emby, with their differences and their quirks.

It follows the published descriptions (`shared/specs/jellyfin/openapi.json` for 10.11.11,
`openapi-12.0.0.normalized.yaml` for 12.0; `shared/specs/emby/openapi.json` for 4.8.11, whose
paths live under `/emby`): the same methods, paths and parameter names, the same reply shapes
(`Items`, `TotalRecordCount`, Jellyfin's `StartIndex`; `UserData`, `ProviderIds`). What the
descriptions leave open is modelled on the servers' behaviour and marked as such:
- query parameter names are matched case-insensitively, as ASP.NET and ServiceStack do;
- marking an item played with a date adds a play, without one only ensures one (Jellyfin's
  `MarkPlayed`); unplaying clears the count and the date;
- a UserData body (`POST .../UserData`) replaces every field it carries. Jellyfin's
  `UpdateUserItemDataDto` has only nullable fields, and .NET cannot tell an absent field from a
  null one, so absent or null means unchanged. Emby's `UserItemDataDto` is the whole user data:
  `Played`, `IsFavorite` and `PlaybackPositionTicks` are not nullable, so a body without them
  resets them to false/0, and its nullable `Rating`, `PlayCount` and `LastPlayedDate` are stored
  as sent, absent being null. That is why an Emby client must send the whole, current user data;
- every other user-data write (played, unplayed, favorite, unfavorite, delete rating) answers
  the item's whole user data after the write, as both descriptions say;
- deleting the like/dislike rating clears the numeric rating as well (`Likes` is derived from
  it on both servers);
- Jellyfin 12 refuses the legacy `X-Emby-Token`, `X-Emby-Authorization` and `api_key` forms.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
import hashlib
import itertools
import json
import re
from typing import Any
import unicodedata

from aiohttp import web
from aiohttp.typedefs import Middleware

from tests.simulators.openapi import recording

type Json = Any
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

START = datetime(2024, 1, 1, tzinfo=UTC)
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')
_PUBLIC = (
    "/System/Info/Public",
    "/Users/AuthenticateByName",
    "/QuickConnect/Enabled",
    "/QuickConnect/Initiate",
    "/QuickConnect/Connect",
    "/Users/AuthenticateWithQuickConnect",
)
_CASINGS = (str.capitalize, str.lower, str.upper, lambda key: key[0].lower() + key[1:].upper())


class Flavour(StrEnum):
    """Which server the simulator plays."""

    JELLYFIN = "jellyfin"
    EMBY = "emby"


class Malformed(StrEnum):
    """What a malformed item list looks like (`MediaBrowserQuirks.malformed_replies`)."""

    EMPTY_OBJECT = "{}"  # a 200 with `{}`: no Items, no TotalRecordCount
    NULL_ITEMS = "null"  # `"Items": null` beside the true TotalRecordCount
    NOT_JSON = "html"  # a 200 with an HTML page, as a captive portal or a proxy sends


class ListFault(StrEnum):
    """A fault one item list is answered with instead of the truth."""

    MALFORMED = "malformed"
    EMPTY = "empty"
    TINY = "tiny"


TINY_SIZE = 3  # how many items a tiny reply holds


@dataclass
class MediaBrowserQuirks:
    """Server behaviours a test can switch on.

    The three list faults count down per item list (`GET /Items` or `/Users/{id}/Items`, series
    lookups included); a list takes the first fault with a count left, in the order malformed,
    empty, tiny. They are what a fault harness combines with the others.
    """

    missing_provider_ids: float = 0.0  # this share of items is served without ProviderIds
    varied_casing: bool = False  # ProviderIds keys as Imdb, imdb, IMDB or iMDB, item by item
    visible_after_reads: int = 0  # a write shows in item lists only after this many of them
    token_revoked: bool = False  # every token is refused with 401
    slow_pages: float = 0.0  # seconds each item list takes to answer
    hang_at_start_index: int | None = None  # item lists from this index do not answer in time
    hangs: int | None = None  # how many such requests hang (None: all of them)
    hang_seconds: float = 2.0
    jellyfin12: bool = False  # Jellyfin 12: only `Authorization: MediaBrowser ... Token=`
    quick_connect: bool = True  # Jellyfin's Quick Connect switched on
    # The next N item lists answer an empty but well-formed 200 that claims TotalRecordCount 0.
    empty_replies: int = 0
    # The next N item lists answer only their first TINY_SIZE items and claim exactly that many.
    tiny_replies: int = 0
    # The next N item lists answer 200 with `malformed_shape` instead of a QueryResult.
    malformed_replies: int = 0
    malformed_shape: Malformed = Malformed.EMPTY_OBJECT

    def take_list_fault(self) -> ListFault | None:
        """The fault the next item list is answered with, counted down; None: the truth."""
        if self.malformed_replies > 0:
            self.malformed_replies -= 1
            return ListFault.MALFORMED
        if self.empty_replies > 0:
            self.empty_replies -= 1
            return ListFault.EMPTY
        if self.tiny_replies > 0:
            self.tiny_replies -= 1
            return ListFault.TINY
        return None


@dataclass
class Item:
    """A movie, series or episode in the library."""

    id: str
    type: str  # "Movie", "Series" or "Episode"
    name: str
    year: int | None
    provider_ids: dict[str, str]
    created: datetime
    series_id: str | None = None
    season: int | None = None
    episode: int | None = None


def wall_clock() -> datetime:
    """The server's clock in real time: the default."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A server clock that stands still (picklable, unlike a lambda): for seeding a world."""

    moment: datetime

    def __call__(self) -> datetime:
        """The moment, always."""
        return self.moment


@dataclass
class UserData:
    """One user's data on one item, and when the server last saved it.

    Every change of a field, whoever makes it (a write handler, a test, the harness), stamps
    `saved_at` from `clock`: the date `MinDateLastSavedForUser` filters on.
    """

    played: bool = False
    play_count: int = 0
    last_played: datetime | None = None
    is_favorite: bool = False
    rating: float | None = None
    position: int = 0
    clock: Callable[[], datetime] = field(default=wall_clock, compare=False, repr=False)
    saved_at: datetime | None = field(default=None, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        clock = vars(self).get("clock")  # None while __init__ runs: nothing is saved yet
        changed = name not in {"clock", "saved_at"} and getattr(self, name, value) != value
        super().__setattr__(name, value)
        if changed and clock is not None:
            super().__setattr__("saved_at", clock())

    def copy(self) -> UserData:
        """An independent copy, saved when this one was."""
        copied = UserData(
            self.played,
            self.play_count,
            self.last_played,
            self.is_favorite,
            self.rating,
            self.position,
            self.clock,
        )
        object.__setattr__(copied, "saved_at", self.saved_at)
        return copied


@dataclass
class User:
    """A server account."""

    id: str
    name: str
    password: str


@dataclass
class QuickConnectRequest:
    """A Quick Connect request in flight."""

    code: str
    secret: str
    device_id: str
    app: str
    version: str
    user_id: str | None = None


@dataclass
class _Pending:
    """A write not yet visible to reads."""

    reads_left: int
    user_id: str
    item_id: str
    data: UserData


def _stamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.0000000Z") if value else None


class MediaBrowserState:
    """The server's library, users, tokens and quirks."""

    def __init__(
        self,
        flavour: Flavour,
        *,
        quirks: MediaBrowserQuirks | None = None,
        server_name: str = "Living Room",
        version: str | None = None,
    ) -> None:
        """An empty server of the given flavour."""
        self.flavour = flavour
        self.quirks = quirks or MediaBrowserQuirks()
        self.server_id = hashlib.md5(f"server:{flavour}:{server_name}".encode()).hexdigest()  # noqa: S324
        self.server_name = server_name
        self.version = version or ("10.11.11" if flavour is Flavour.JELLYFIN else "4.8.11.0")
        self.items: dict[str, Item] = {}
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}  # token -> user id
        self.data: dict[tuple[str, str], UserData] = {}
        self.pending: list[_Pending] = []
        self.quick_connect: dict[str, QuickConnectRequest] = {}
        self.item_reads = 0
        self.counted_lists = 0  # item lists answered with a count of every match (Jellyfin's cost)
        # The server's clock: it dates saved user data and every item list's reply (`Date`).
        self.now: Callable[[], datetime] = wall_clock
        self._ids = itertools.count(1)

    def _clock(self) -> datetime:
        return self.now()

    @property
    def base(self) -> str:
        """Where the API is served: `/emby` for Emby, the root for Jellyfin."""
        return "/emby" if self.flavour is Flavour.EMBY else ""

    def _new_id(self) -> str:
        n = next(self._ids)
        if self.flavour is Flavour.EMBY:
            return str(1000 + n)  # Emby item ids are numbers
        return hashlib.md5(f"{self.server_id}:{n}".encode()).hexdigest()  # noqa: S324

    # Seeding --------------------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> User:
        """Create a user account."""
        user = User(hashlib.md5(f"user:{name}".encode()).hexdigest(), name, password)  # noqa: S324
        self.users[user.id] = user
        return user

    def issue_token(self, user: User) -> str:
        """A token for `user`, as a login would give."""
        token = hashlib.sha256(f"{user.id}:{len(self.tokens)}".encode()).hexdigest()[:32]
        self.tokens[token] = user.id
        return token

    def _add(self, item: Item) -> str:
        self.items[item.id] = item
        return item.id

    def add_movie(self, name: str, year: int | None, **provider_ids: str) -> str:
        """A movie with ProviderIds given as keyword arguments (Imdb="tt...", Tmdb="603")."""
        return self._add(Item(self._new_id(), "Movie", name, year, provider_ids, self._created()))

    def add_series(self, name: str, year: int | None, **provider_ids: str) -> str:
        """A series."""
        return self._add(Item(self._new_id(), "Series", name, year, provider_ids, self._created()))

    def add_episode(
        self, series_id: str, season: int | None, episode: int | None, **ids: str
    ) -> str:
        """An episode of a series, numbered as the server has it (None: unnumbered)."""
        series = self.items[series_id]
        return self._add(
            Item(
                self._new_id(),
                "Episode",
                f"Episode {episode}",
                series.year,
                ids,
                self._created(),
                series_id,
                season,
                episode,
            )
        )

    def _created(self) -> datetime:
        return START.replace(second=len(self.items) % 60, minute=len(self.items) // 60 % 60)

    def user_data(self, user_id: str, item_id: str) -> UserData:
        """What the user's data on an item is now (including writes not yet visible)."""
        return self.data.setdefault((user_id, item_id), UserData(clock=self._clock))

    def watch(self, user: User, item_id: str, when: datetime, count: int = 1) -> None:
        """The user watched the item `count` times, last at `when`."""
        data = self.user_data(user.id, item_id)
        data.played, data.play_count, data.last_played = True, count, when

    def favorite(self, user: User, item_id: str) -> None:
        """The user marked the item a favorite."""
        self.user_data(user.id, item_id).is_favorite = True

    def rate(self, user: User, item_id: str, rating: float | None) -> None:
        """The user rated the item (None: no rating)."""
        self.user_data(user.id, item_id).rating = rating

    def rescan(self) -> dict[str, str]:
        """A library rescan: every item gets a new id; user data follows. Returns old -> new."""
        moved = {old: self._new_id() for old in self.items}
        items: dict[str, Item] = {}
        for old, item in self.items.items():
            item.id = moved[old]
            if item.series_id is not None:
                item.series_id = moved[item.series_id]
            items[item.id] = item
        self.items = items
        self.data = {
            (user, moved.get(item, item)): data for (user, item), data in self.data.items()
        }
        return moved

    def approve_quick_connect(self, code: str, user: User) -> None:
        """The user enters the code in a logged-in Jellyfin app."""
        for request in self.quick_connect.values():
            if request.code == code:
                request.user_id = user.id

    # What reads see ------------------------------------------------------------------------

    def visible(self, user_id: str, item_id: str) -> UserData:
        """The user data reads show: writes still pending are not in it yet."""
        data = self.data.get((user_id, item_id), UserData(clock=self._clock))
        for pending in self.pending:
            if (pending.user_id, pending.item_id) == (user_id, item_id):
                return pending.data  # the state before the first pending write
        return data

    def _a_read_happened(self) -> None:
        self.item_reads += 1
        for pending in self.pending:
            pending.reads_left -= 1
        self.pending = [p for p in self.pending if p.reads_left > 0]

    def change(self, user_id: str, item_id: str, apply: Callable[[UserData], None]) -> UserData:
        """Apply a write; with eventual consistency, reads keep the old state for a while."""
        data = self.user_data(user_id, item_id)
        if self.quirks.visible_after_reads and not any(
            (p.user_id, p.item_id) == (user_id, item_id) for p in self.pending
        ):
            self.pending.append(
                _Pending(self.quirks.visible_after_reads, user_id, item_id, data.copy())
            )
        apply(data)
        return data

    def provider_ids(self, item: Item, ordinal: int) -> dict[str, str]:
        """The ProviderIds as served: possibly none, possibly in odd casing."""
        share = self.quirks.missing_provider_ids
        if share and int((ordinal + 1) * share) > int(ordinal * share):
            return {}
        if not self.quirks.varied_casing:
            return dict(item.provider_ids)
        casing = _CASINGS[ordinal % len(_CASINGS)]
        return {casing(key): value for key, value in item.provider_ids.items()}


def mediabrowser_app(state: MediaBrowserState) -> web.Application:
    """The server's HTTP API for `state`, recording every request."""
    app = web.Application(middlewares=[_guard(state)])
    h = _Handlers(state)
    b = state.base
    routes = [
        web.get(f"{b}/System/Info/Public", h.public_info),
        web.post(f"{b}/Users/AuthenticateByName", h.authenticate_by_name),
    ]
    if state.flavour is Flavour.JELLYFIN:
        routes += [
            web.get("/Users/Me", h.me),
            web.get("/Items", h.items),
            web.get("/Items/Counts", h.counts),
            web.get("/Items/{itemId}", h.item),
            web.post("/UserPlayedItems/{itemId}", h.played),
            web.delete("/UserPlayedItems/{itemId}", h.unplayed),
            web.post("/UserFavoriteItems/{itemId}", h.favorite),
            web.delete("/UserFavoriteItems/{itemId}", h.unfavorite),
            web.post("/UserItems/{itemId}/UserData", h.update_user_data),
            web.delete("/UserItems/{itemId}/Rating", h.delete_rating),
            web.get("/QuickConnect/Enabled", h.qc_enabled),
            web.post("/QuickConnect/Initiate", h.qc_initiate),
            web.get("/QuickConnect/Connect", h.qc_connect),
            web.post("/QuickConnect/Authorize", h.qc_authorize),
            web.post("/Users/AuthenticateWithQuickConnect", h.qc_authenticate),
        ]
    else:
        routes += [
            web.get("/emby/Users/{Id}", h.me),
            web.get("/emby/Users/{UserId}/Items", h.items),
            web.get("/emby/Items/Counts", h.counts),
            web.get("/emby/Users/{UserId}/Items/{Id}", h.item),
            web.post("/emby/Users/{UserId}/PlayedItems/{Id}", h.played),
            web.delete("/emby/Users/{UserId}/PlayedItems/{Id}", h.unplayed),
            web.post("/emby/Users/{UserId}/FavoriteItems/{Id}", h.favorite),
            web.delete("/emby/Users/{UserId}/FavoriteItems/{Id}", h.unfavorite),
            web.post("/emby/Users/{UserId}/Items/{ItemId}/UserData", h.update_user_data),
            web.delete("/emby/Users/{UserId}/Items/{Id}/Rating", h.delete_rating),
        ]
    app.add_routes(routes)
    return recording(app)


USER = "crosswatch_sim_user"  # the request key of the user a token belongs to


def _auth_fields(value: str | None, scheme: str) -> dict[str, str] | None:
    if not value or not value.startswith(f"{scheme} "):
        return None
    return dict(_AUTH_FIELD.findall(value))


def _client_fields(state: MediaBrowserState, request: web.Request) -> dict[str, str] | None:
    """The MediaBrowser client header in the forms this flavour (and version) accepts."""
    if state.flavour is Flavour.JELLYFIN:
        found = _auth_fields(request.headers.get("Authorization"), "MediaBrowser")
        if found is None and not state.quirks.jellyfin12:
            found = _auth_fields(request.headers.get("X-Emby-Authorization"), "MediaBrowser")
        return found
    for header in ("X-Emby-Authorization", "Authorization"):
        for scheme in ("Emby", "MediaBrowser"):
            if (found := _auth_fields(request.headers.get(header), scheme)) is not None:
                return found
    return None


def _token(state: MediaBrowserState, request: web.Request) -> str | None:
    fields = _client_fields(state, request) or {}
    if token := fields.get("Token"):
        return token
    if state.flavour is Flavour.JELLYFIN and state.quirks.jellyfin12:
        return None  # Jellyfin 12: no legacy header, no api_key
    query = {k.lower(): v for k, v in request.query.items()}
    return request.headers.get("X-Emby-Token") or query.get("api_key")


def _guard(state: MediaBrowserState) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(state.base)
        if path in _PUBLIC:
            return await handler(request)
        token = _token(state, request)
        if state.quirks.token_revoked or token not in state.tokens:
            return web.json_response({"error": "Access token is invalid or expired."}, status=401)
        request[USER] = state.tokens[token]
        return await handler(request)

    return guard


def _clean(name: str) -> str:
    """A name as both servers compare it in a search: case, accents and punctuation left out."""
    plain = unicodedata.normalize("NFKD", name.casefold())
    kept = "".join(c if c.isalnum() else " " for c in plain if not unicodedata.combining(c))
    return " ".join(kept.split())


def searched(items: list[Item], term: str) -> list[Item]:
    """`/Items?SearchTerm=`: the items whose clean name holds the clean term, best first.

    A name that is the term comes first, then one that starts with it, then the rest, each
    group by name.
    """
    wanted = _clean(term)
    if not wanted:
        return []
    hits = [item for item in items if wanted in _clean(item.name)]

    def rank(item: Item) -> tuple[int, str]:
        name = _clean(item.name)
        return (0 if name == wanted else 1 if name.startswith(wanted) else 2, name)

    return sorted(hits, key=rank)


def item_matches(
    item: Item,
    data: UserData,
    *,
    types: set[str],
    filters: set[str],
    ids: set[str],
    recursive: bool,
) -> bool:
    """Whether `/Items` with these parameters lists `item` (its user data as the user sees it)."""
    return not (
        (types and item.type not in types)
        or (ids and item.id not in ids)
        or (not recursive and not ids)
        or ("IsPlayed" in filters and not data.played)
        or ("IsUnplayed" in filters and data.played)
        or ("IsFavorite" in filters and not data.is_favorite)
    )


def _date_param(value: str | None) -> datetime | web.Response | None:
    """An ISO 8601 date query parameter (aware UTC), or the 400 both servers answer for junk.

    .NET writes seven fractional digits; Python reads six.
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value))
    except ValueError:
        return web.json_response({"error": f"not a date: {value}"}, status=400)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _query(request: web.Request) -> dict[str, str]:
    """Query parameters by lower-cased name: both servers ignore the case of names."""
    return {key.lower(): value for key, value in request.query.items()}


class _Handlers:
    def __init__(self, state: MediaBrowserState) -> None:
        self.state = state

    # Identity and login -------------------------------------------------------------------

    async def public_info(self, request: web.Request) -> web.Response:
        s = self.state
        body: dict[str, Json] = {
            "LocalAddress": "http://127.0.0.1:8096",
            "ServerName": s.server_name,
            "Version": s.version,
            "Id": s.server_id,
        }
        if s.flavour is Flavour.JELLYFIN:
            body |= {"ProductName": "Jellyfin Server", "StartupWizardCompleted": True}
        return web.json_response(body)

    def _auth_result(self, user: User, device_id: str) -> web.Response:
        token = self.state.issue_token(user)
        return web.json_response(
            {
                "User": self._user(user),
                "AccessToken": token,
                "ServerId": self.state.server_id,
                "SessionInfo": {"DeviceId": device_id, "UserId": user.id},
            }
        )

    def _user(self, user: User) -> dict[str, Json]:
        return {"Name": user.name, "Id": user.id, "ServerId": self.state.server_id}

    async def authenticate_by_name(self, request: web.Request) -> web.Response:
        fields = _client_fields(self.state, request)
        if not fields or not all(
            fields.get(k) for k in ("Client", "Device", "DeviceId", "Version")
        ):
            return web.json_response({"error": "the client header is missing"}, status=400)
        body = await request.json()
        for user in self.state.users.values():
            if user.name == body.get("Username") and user.password == body.get("Pw"):
                return self._auth_result(user, fields["DeviceId"])
        return web.json_response({"error": "Invalid username or password."}, status=401)

    async def me(self, request: web.Request) -> web.Response:
        user_id = request[USER]
        wanted = request.match_info.get("Id", user_id)
        if wanted != user_id:
            return web.json_response({"error": "forbidden"}, status=403)
        return web.json_response(self._user(self.state.users[user_id]))

    # Quick Connect (Jellyfin) --------------------------------------------------------------

    async def qc_enabled(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.quirks.quick_connect)

    def _qc(self, qc: QuickConnectRequest) -> dict[str, Json]:
        return {
            "Authenticated": qc.user_id is not None,
            "Secret": qc.secret,
            "Code": qc.code,
            "DeviceId": qc.device_id,
            "DeviceName": "Home Assistant",
            "AppName": qc.app,
            "AppVersion": qc.version,
            "DateAdded": _stamp(START),
        }

    async def qc_initiate(self, request: web.Request) -> web.Response:
        if not self.state.quirks.quick_connect:
            return web.Response(status=401, text="Quick connect is not active on this server.")
        fields = _client_fields(self.state, request) or {}
        if not fields.get("DeviceId"):
            return web.json_response({"error": "the client header is missing"}, status=400)
        n = len(self.state.quick_connect) + 1
        qc = QuickConnectRequest(
            f"{n:06d}", hashlib.sha256(f"qc{n}".encode()).hexdigest(),
            fields["DeviceId"], fields.get("Client", ""), fields.get("Version", ""),
        )  # fmt: skip
        self.state.quick_connect[qc.secret] = qc
        return web.json_response(self._qc(qc))

    async def qc_connect(self, request: web.Request) -> web.Response:
        qc = self.state.quick_connect.get(_query(request).get("secret", ""))
        if qc is None:
            return web.Response(status=404, text="Unknown quick connect secret.")
        return web.json_response(self._qc(qc))

    async def qc_authorize(self, request: web.Request) -> web.Response:
        code = _query(request).get("code", "")
        user = self.state.users[request[USER]]
        self.state.approve_quick_connect(code, user)
        return web.json_response(True)

    async def qc_authenticate(self, request: web.Request) -> web.Response:
        body = await request.json()
        qc = self.state.quick_connect.get(body.get("Secret", ""))
        if qc is None or qc.user_id is None:
            return web.json_response({"error": "Unknown or unauthorized secret."}, status=400)
        del self.state.quick_connect[qc.secret]
        return self._auth_result(self.state.users[qc.user_id], qc.device_id)

    # Items -----------------------------------------------------------------------------------

    def _user_for(self, request: web.Request) -> str | None:
        """The user a request acts for: the path's or the query's, never someone else's."""
        token_user: str = request[USER]
        named = request.match_info.get("UserId") or _query(request).get("userid")
        if named is not None and named != token_user:
            return None
        return token_user

    def _dto(self, item: Item, user_id: str, fields: set[str], ordinal: int) -> dict[str, Json]:
        s = self.state
        dto: dict[str, Json] = {
            "Name": item.name,
            "ServerId": s.server_id,
            "Id": item.id,
            "Type": item.type,
            "IsFolder": item.type == "Series",
        }
        if item.year is not None:
            dto["ProductionYear"] = item.year
        if "providerids" in fields:
            dto["ProviderIds"] = s.provider_ids(item, ordinal)
        if "datecreated" in fields:
            dto["DateCreated"] = _stamp(item.created)
        if item.type == "Episode":
            series = s.items.get(item.series_id or "")
            dto |= {"SeriesId": item.series_id, "SeriesName": series.name if series else None}
            if item.season is not None:
                dto["ParentIndexNumber"] = item.season
            if item.episode is not None:
                dto["IndexNumber"] = item.episode
        dto["UserData"] = self._user_data(s.visible(user_id, item.id), item.id)
        return dto

    def _user_data(self, data: UserData, item_id: str) -> dict[str, Json]:
        body: dict[str, Json] = {
            "PlaybackPositionTicks": data.position,
            "PlayCount": data.play_count,
            "IsFavorite": data.is_favorite,
            "Played": data.played,
            "Key": item_id,
            "ItemId": item_id,
        }
        if data.rating is not None:
            body["Rating"] = data.rating
        if data.last_played is not None:
            body["LastPlayedDate"] = _stamp(data.last_played)
        if self.state.flavour is Flavour.EMBY:
            body["ServerId"] = self.state.server_id
        return body

    async def counts(self, request: web.Request) -> web.Response:
        # The server's own count by type, apart from listing: the list faults do not reach it.
        # It counts what reads show, so a write not yet visible is not counted either.
        q = _query(request)
        user_id = self._user_for(request)
        if user_id is None:
            return web.json_response({"error": "forbidden"}, status=403)
        favorites = q.get("isfavorite", "").lower() == "true"
        body: dict[str, Json] = {
            f"{kind}Count": 0
            for kind in ("Movie", "Series", "Episode", "Artist", "Program", "Trailer", "Song",
                         "Album", "MusicVideo", "BoxSet", "Book")
        }  # fmt: skip
        total = 0
        for item in self.state.items.values():
            if favorites and not self.state.visible(user_id, item.id).is_favorite:
                continue
            key = f"{item.type}Count"
            if key in body:
                body[key] = int(body[key]) + 1
            total += 1
        body["ItemCount"] = total
        return web.json_response(body)

    async def items(self, request: web.Request) -> web.Response:
        s = self.state
        q = _query(request)
        user_id = self._user_for(request)
        if user_id is None:
            return web.json_response({"error": "forbidden"}, status=403)
        start = int(q.get("startindex", "0"))
        if s.quirks.slow_pages:
            await asyncio.sleep(s.quirks.slow_pages)
        if start == s.quirks.hang_at_start_index and (s.quirks.hangs is None or s.quirks.hangs > 0):
            if s.quirks.hangs is not None:
                s.quirks.hangs -= 1
            await _hang(request, s.quirks.hang_seconds)
        types = set(filter(None, q.get("includeitemtypes", "").split(",")))
        filters = set(filter(None, q.get("filters", "").split(",")))
        ids = set(filter(None, q.get("ids", "").split(",")))
        fields = {f.lower() for f in q.get("fields", "").split(",") if f}
        recursive = q.get("recursive", "false").lower() == "true"
        since = _date_param(q.get("mindatelastsavedforuser"))
        if isinstance(since, web.Response):
            return since
        ordered = sorted(s.items.values(), key=lambda i: (i.created, i.name, i.id))
        ordinal = {item.id: n for n, item in enumerate(ordered)}
        chosen = [
            item
            for item in ordered
            if item_matches(
                item, data := s.visible(user_id, item.id),
                types=types, filters=filters, ids=ids, recursive=recursive,
            )
            and (since is None or (data.saved_at is not None and data.saved_at >= since))
        ]  # fmt: skip
        if (term := q.get("searchterm")) is not None:
            chosen = searched(chosen, term)
        fault = s.quirks.take_list_fault()
        if fault is ListFault.EMPTY:
            chosen = []
        elif fault is ListFault.TINY:
            chosen = chosen[:TINY_SIZE]
        limit = int(q.get("limit", str(len(chosen))))
        page = chosen[start : start + limit]
        # Jellyfin takes the count only when asked (the default); told not to, it answers 0
        # beside a full page (jellyfin/jellyfin#16003, #17541). Emby counts every page.
        counting = s.flavour is Flavour.EMBY or q.get("enabletotalrecordcount", "true") != "false"
        s.counted_lists += counting
        body: dict[str, Json] = {
            "Items": [self._dto(item, user_id, fields, ordinal[item.id]) for item in page],
            "TotalRecordCount": len(chosen) if counting else 0,
        }
        if s.flavour is Flavour.JELLYFIN:
            body["StartIndex"] = start
        s._a_read_happened()
        if fault is ListFault.MALFORMED:
            return _malformed(s.quirks.malformed_shape, len(chosen))
        return web.json_response(body, headers={"Date": format_datetime(s.now(), usegmt=True)})

    async def item(self, request: web.Request) -> web.Response:
        user_id = self._user_for(request)
        item = self._item(request)
        if user_id is None or item is None:
            return web.json_response({"error": "not found"}, status=404)
        ordinal = list(self.state.items).index(item.id)
        return web.json_response(self._dto(item, user_id, {"providerids", "datecreated"}, ordinal))

    def _item(self, request: web.Request) -> Item | None:
        m = request.match_info
        return self.state.items.get(m.get("itemId") or m.get("Id") or m.get("ItemId") or "")

    # Writes ------------------------------------------------------------------------------------

    async def _write(
        self, request: web.Request, apply: Callable[[UserData], None], *, empty: bool = False
    ) -> web.Response:
        user_id = self._user_for(request)
        if user_id is None:
            return web.json_response({"error": "forbidden"}, status=403)
        item = self._item(request)
        if item is None:
            return web.json_response({"error": "Item not found."}, status=404)
        data = self.state.change(user_id, item.id, apply)
        if empty:
            return web.Response(status=200)
        return web.json_response(self._user_data(data, item.id))

    def _date_played(self, request: web.Request) -> datetime | web.Response | None:
        raw = _query(request).get("dateplayed")
        if raw is None:
            return None
        try:
            if self.state.flavour is Flavour.EMBY:
                return datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            return datetime.fromisoformat(raw).astimezone(UTC)
        except ValueError:
            return web.json_response({"error": f"bad DatePlayed {raw!r}"}, status=400)

    async def played(self, request: web.Request) -> web.Response:
        when = self._date_played(request)
        if isinstance(when, web.Response):
            return when

        def mark(data: UserData) -> None:
            # Jellyfin's and Emby's MarkPlayed: a dated play counts one more, else at least one.
            data.play_count = max(data.play_count + (1 if when else 0), 1)
            data.last_played = when or data.last_played or START
            data.played, data.position = True, 0

        return await self._write(request, mark)

    async def unplayed(self, request: web.Request) -> web.Response:
        def unmark(data: UserData) -> None:
            data.played, data.play_count, data.last_played, data.position = False, 0, None, 0

        return await self._write(request, unmark)

    async def favorite(self, request: web.Request) -> web.Response:
        return await self._write(request, lambda d: setattr(d, "is_favorite", True))

    async def unfavorite(self, request: web.Request) -> web.Response:
        return await self._write(request, lambda d: setattr(d, "is_favorite", False))

    async def delete_rating(self, request: web.Request) -> web.Response:
        return await self._write(request, lambda d: setattr(d, "rating", None))

    async def update_user_data(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict):
            return web.json_response({"error": "bad body"}, status=400)
        try:
            sent = _UserDataBody.parse(body)
        except (TypeError, ValueError) as err:
            return web.json_response({"error": f"bad user data: {err}"}, status=400)
        jellyfin = self.state.flavour is Flavour.JELLYFIN
        return await self._write(
            request, sent.apply_partial if jellyfin else sent.apply_whole, empty=not jellyfin
        )


@dataclass(frozen=True)
class _UserDataBody:
    """The state fields of a UserData body, None where the body has none (or null)."""

    rating: float | None
    played: bool | None
    is_favorite: bool | None
    play_count: int | None
    position: int | None
    last_played: datetime | None

    @classmethod
    def parse(cls, body: dict[str, Json]) -> _UserDataBody:
        def typed[T](name: str, kind: type[T]) -> T | None:
            value = body.get(name)
            if value is None:
                return None
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise TypeError(f"{name} is not a {kind.__name__}")
            return value

        last = typed("LastPlayedDate", str)
        return cls(
            typed("Rating", float),
            typed("Played", bool),
            typed("IsFavorite", bool),
            typed("PlayCount", int),
            typed("PlaybackPositionTicks", int),
            datetime.fromisoformat(last).astimezone(UTC) if last else None,
        )

    def apply_partial(self, data: UserData) -> None:
        """Jellyfin: every field sent replaces its value; absent or null leaves it as it is."""
        if self.rating is not None:
            data.rating = self.rating
        if self.played is not None:
            data.played = self.played
        if self.is_favorite is not None:
            data.is_favorite = self.is_favorite
        if self.play_count is not None:
            data.play_count = self.play_count
        if self.position is not None:
            data.position = self.position
        if self.last_played is not None:
            data.last_played = self.last_played

    def apply_whole(self, data: UserData) -> None:
        """Emby: the body is the new user data; what it leaves out takes its default."""
        data.rating = self.rating
        data.played = bool(self.played)
        data.is_favorite = bool(self.is_favorite)
        data.play_count = self.play_count or 0
        data.position = self.position or 0
        data.last_played = self.last_played


def _malformed(shape: Malformed, total: int) -> web.Response:
    """A 200 that is not the QueryResult it claims to be."""
    match shape:
        case Malformed.EMPTY_OBJECT:
            return web.json_response({})
        case Malformed.NULL_ITEMS:
            return web.Response(
                text=json.dumps({"Items": None, "TotalRecordCount": total}),
                content_type="application/json",
            )
        case Malformed.NOT_JSON:
            return web.Response(
                text="<html><body>Please log in</body></html>", content_type="text/html"
            )


async def _hang(request: web.Request, seconds: float) -> None:
    """Take `seconds` to answer, giving up as soon as the client has hung up."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.01)
