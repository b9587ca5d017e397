"""A stateful Plex simulator: a Plex Media Server, plex.tv, Discover and the metadata service.

Each host is its own aiohttp app over one shared `PlexSim` state (the paths of Discover and of
the metadata service collide with the server's `/library/...`). Paths, parameters, status codes
and `MediaContainer` shapes follow ../shared/specs/plex (the current PMS description, and the
0.0.3 description for plex.tv PINs and the Discover watchlist read); the Discover watchlist
writes and metadata matches, which no description covers, follow how Plex's own clients use them.

Discover, as it is in 2026 (../shared/research/provider-facts-2026.md, Plex; seerr-team/seerr
#2948 and #1914): its watchlist rows may come without the external-id list (`Guid`), and its
replies may list their records under `MediaContainer.Video` instead of `Metadata`. The sources
give no share of rows without ids; the reading chosen here is every third title of the catalogue
(in the order titles were added, so a title always comes the same way), switchable with
`Quirks.discover_rows_without_ids`. The `Video` shape is switched on with
`Quirks.discover_container`. The per-item metadata endpoint (`/library/metadata/{ratingKey}` on
Discover, the one seerr's report reads the Guids from; the 0.0.3 description's
`get-media-meta-data` and the current one's `getMetadataItem` have the same path on the server)
always carries the title's Guids. No source gives Discover a rate limit for it, so none is
simulated; `lookup_delay` and `lookup_error_status` slow it down or make it fail.

Like Plex, the server answers XML unless the client asks for JSON, pages every list with
`X-Plex-Container-Start`/`-Size` (query parameters or headers), says `size`, `totalSize` and
`offset`, and answers 401 to a token it does not know. Tests seed sections, movies, shows and
episodes with their guids, watched state, ratings and the watchlist, drive the PIN flow, and
switch on `Quirks` to reproduce what real servers do on a bad day.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import itertools
import json
from typing import Any

from aiohttp import web

from tests.simulators.openapi import recording

LIBRARY = "com.plexapp.plugins.library"
ACCOUNT_TOKEN = "account-token"
SERVER_TOKEN = "server-token"
CLIENT_ID = "crosswatch-test-client"
MACHINE_ID = "5f3e9a1c2b4d6e8f0a1b2c3d4e5f6a7b8c9d0e1f"
EPOCH = 1_700_000_000
type Json = Any
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_TYPES = {"movie": 1, "show": 2, "episode": 4}
# The fields `/library/all` filters (`field>>=value`) and sorts on, as Item attributes.
_FILTERED = {"viewCount": "view_count", "userRating": "user_rating"}
_DATES = {"lastViewedAt": "last_viewed_at", "lastRatedAt": "last_rated_at"}


class Malformed(StrEnum):
    """What a malformed list reply looks like (`Quirks.malformed_replies`)."""

    EMPTY_OBJECT = "{}"  # a 200 with `{}`: no MediaContainer at all
    EMPTY_CONTAINER = "container"  # `{"MediaContainer": {}}`: no size, no total, no list
    NULL_LIST = "null"  # the list (`Metadata`, `Directory`) is null beside the true counts
    NOT_JSON = "html"  # a 200 with an HTML page, as a captive portal or a proxy sends


class DiscoverContainer(StrEnum):
    """Which key Discover lists its records under (`Quirks.discover_container`)."""

    METADATA = "Metadata"
    VIDEO = "Video"  # seerr-team/seerr#2948: Discover sometimes answers this way


class ListFault(StrEnum):
    """A fault one list reply is answered with instead of the truth."""

    MALFORMED = "malformed"
    EMPTY = "empty"
    TINY = "tiny"


TINY_SIZE = 3  # how many items a tiny reply holds


@dataclass
class Quirks:
    """Faults and oddities real Plex servers show; tests switch them on.

    The list faults (`empty_replies`, `tiny_replies`, `malformed_replies`) count down per list
    reply: the section list, a section's items and the Discover watchlist, each only where
    `fault_path` (when set) is part of its path. A reply takes the first fault with a count left,
    in the order malformed, empty, tiny. They are what a fault harness combines with the rest.
    """

    plex_guid_only: bool = False  # items carry only their plex:// guid, no Guid list
    legacy_agents: bool = False  # items carry legacy agent guids (com.plexapp.agents.*) only
    rescans_before_writes: int = 0  # the next N library writes each meet a rescan: new ratingKeys
    revoked: bool = False  # every token is refused with 401
    page_delay: float = 0.0  # seconds every list page takes
    fault_path: str | None = None  # page faults below hit only lists whose path holds this
    timeout_on_page: int | None = None  # this page (1-based) hangs for `hang_seconds`
    hang_seconds: float = 2.0
    error_on_page: int | None = None  # this page answers `error_status`
    error_status: int = 503
    truncate_page: int | None = None  # this page loses its last item; totals stay the same
    visible_after_reads: int = 0  # a write shows in lists only after this many list reads
    # The signed-in account is a managed, home or shared user of the server, not its admin:
    # plex.tv lists the server as not owned, and the server answers 401 on play history (not
    # 403: ../shared/research/provider-facts-2026.md, Plex) while the user's own library works.
    non_admin: bool = False
    # The server refuses the tokens (401) everywhere, while plex.tv and Discover still take the
    # account token: the admin stopped sharing the server, or the server's token was revoked.
    server_revoked: bool = False
    pins_expire: bool = False  # PINs expire at once: polling them answers 404
    write_error_status: int | None = None  # scrobble, rate and watchlist writes answer this
    # Every Nth catalogue title (1-based, in the order added) comes without its Guid list in
    # Discover's watchlist rows; 0: every row has its ids. 3 by default (see the module).
    discover_rows_without_ids: int = 3
    discover_container: DiscoverContainer = DiscoverContainer.METADATA
    lookup_delay: float = 0.0  # seconds each per-item metadata reply takes
    lookup_error_status: int | None = None  # per-item metadata lookups answer this
    # The next N list replies are empty but well formed: size 0, totalSize 0.
    empty_replies: int = 0
    # The next N list replies hold only their list's first TINY_SIZE items, totalSize saying so.
    tiny_replies: int = 0
    # The next N list replies are a 200 in `malformed_shape` instead of a MediaContainer.
    malformed_replies: int = 0
    malformed_shape: Malformed = Malformed.EMPTY_OBJECT

    def take_list_fault(self, path: str) -> ListFault | None:
        """The fault the list reply at `path` is answered with, counted down; None: the truth."""
        if self.fault_path is not None and self.fault_path not in path:
            return None
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
    """A library item: a movie, a show or an episode."""

    rating_key: str
    kind: str
    section: str
    title: str
    year: int | None = None
    plex: str | None = None  # the 24-hex Plex metadata id
    imdb: str | None = None
    tmdb: int | None = None
    tvdb: int | None = None
    show_key: str | None = None  # episodes: the show's ratingKey
    season: int | None = None
    episode: int | None = None
    view_count: int = 0
    last_viewed_at: int | None = None
    user_rating: float | None = None
    last_rated_at: int | None = None
    added_at: int = EPOCH


@dataclass
class Title:
    """A title in Plex's online catalogue (Discover / metadata service)."""

    plex: str
    kind: str
    title: str
    year: int | None = None
    imdb: str | None = None
    tmdb: int | None = None
    tvdb: int | None = None


@dataclass
class PinState:
    """A PIN plex.tv issued."""

    id: int
    code: str
    client_identifier: str
    created_at: int
    expires_in: int = 1800
    auth_token: str | None = None


@dataclass
class PlexSim:
    """The state behind every Plex host: one account, its server and Plex's catalogue."""

    quirks: Quirks = field(default_factory=Quirks)
    account_token: str = ACCOUNT_TOKEN
    server_token: str = SERVER_TOKEN
    account_id: int = 1234567
    account_uuid: str = "9f8e7d6c5b4a3210"
    username: str = "alice"
    machine_id: str = MACHINE_ID
    server_name: str = "Living Room"
    connections: list[dict[str, Json]] = field(default_factory=list)
    server_listed: bool = True  # plex.tv lists this server among the account's resources
    other_servers: list[dict[str, Json]] = field(default_factory=list)  # more servers listed
    now: int = EPOCH
    sections: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (type, title)
    items: dict[str, Item] = field(default_factory=dict)
    catalogue: dict[str, Title] = field(default_factory=dict)
    watchlist: dict[str, int] = field(default_factory=dict)  # plex id -> watchlisted at
    plays: list[tuple[str, int]] = field(default_factory=list)  # (ratingKey, viewedAt)
    pins: dict[int, PinState] = field(default_factory=dict)
    auto_approve: bool = False  # the demo: a PIN is approved (with the account token) when polled
    list_reads: int = 0
    writes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)  # ratingKeys of per-item metadata lookups
    lookups_in_flight: int = 0
    most_lookups_in_flight: int = 0
    item_reads: list[str] = field(default_factory=list)  # ratingKeys read one at a time
    section_reads: int = 0  # pages of library sections listed (a library scan reads them all)
    # Plays a player finished that the server marks watched only after this many reads of the
    # item (its timeline report still on the way): ratingKey -> [reads left, the change].
    _lagging: dict[str, list[Any]] = field(default_factory=dict)
    _pending: list[list[Any]] = field(default_factory=list)
    _keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    _hex: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def tick(self, seconds: int = 60) -> int:
        """Advance the clock; the new time."""
        self.now += seconds
        return self.now

    # -- seeding --------------------------------------------------------------------------

    def add_section(self, key: str, kind: str, title: str | None = None) -> str:
        """A library section of type 'movie' or 'show'."""
        self.sections[key] = (kind, title or kind.title() + "s")
        return key

    def new_plex_id(self) -> str:
        """A fresh 24-hex Plex metadata id."""
        return f"5d77{next(self._hex):020x}"

    def add_title(self, kind: str, title: str, year: int | None = None, **ids: Any) -> Title:
        """A title of Plex's online catalogue (not necessarily in the library)."""
        plex = ids.pop("plex", None) or self.new_plex_id()
        entry = Title(plex, kind, title, year, **ids)
        self.catalogue[plex] = entry
        return entry

    def add_movie(self, section: str, title: str, year: int | None = None, **fields: Any) -> Item:
        """A movie in a section; it is in Plex's catalogue under its plex id."""
        return self._add("movie", section, title, year, **fields)

    def add_show(self, section: str, title: str, year: int | None = None, **fields: Any) -> Item:
        """A show in a section."""
        return self._add("show", section, title, year, **fields)

    def add_episode(self, show: Item, season: int, episode: int, **fields: Any) -> Item:
        """An episode of a show in the library."""
        fields.setdefault("plex", self.new_plex_id())
        item = Item(
            str(next(self._keys)), "episode", show.section, fields.pop("title", "Episode"),
            show_key=show.rating_key, season=season, episode=episode, **fields,
        )  # fmt: skip
        self.items[item.rating_key] = item
        return item

    def _add(self, kind: str, section: str, title: str, year: int | None, **fields: Any) -> Item:
        fields.setdefault("plex", self.new_plex_id())
        item = Item(str(next(self._keys)), kind, section, title, year, **fields)
        self.items[item.rating_key] = item
        if item.plex is not None and item.plex not in self.catalogue:
            self.catalogue[item.plex] = Title(
                item.plex, kind, title, year, item.imdb, item.tmdb, item.tvdb
            )
        return item

    def rescan(self) -> None:
        """A library rescan (or a re-add of the library): every item gets a new ratingKey."""
        renamed = {key: str(next(self._keys)) for key in self.items}
        items = {}
        for key, item in self.items.items():
            item.rating_key = renamed[key]
            if item.show_key is not None:
                item.show_key = renamed[item.show_key]
            items[item.rating_key] = item
        self.items = items

    def approve_pin(self, pin_id: int, token: str | None = None) -> None:
        """The user signs in and approves the PIN."""
        self.pins[pin_id].auth_token = token or self.account_token

    def expire_pin(self, pin_id: int) -> None:
        """The PIN runs out of time; plex.tv forgets it."""
        del self.pins[pin_id]

    def item(self, title: str, season: int | None = None, episode: int | None = None) -> Item:
        """The library item with that title (episodes: of that show, by number)."""
        for item in self.items.values():
            if item.kind == "episode":
                show = self.items[item.show_key or ""]
                if (show.title, item.season, item.episode) == (title, season, episode):
                    return item
            elif item.title == title and season is None:
                return item
        raise KeyError(title)

    def finish_play(self, item: Item, *, shown_after_item_reads: int = 0) -> int:
        """A player finished a play of `item`: the server counts it and dates it now.

        With `shown_after_item_reads`, the server shows the play only after that many reads of
        the item by its ratingKey (a watched flag that lags behind the end of the play).
        """
        viewed_at = self.tick(1)

        def change() -> None:
            item.view_count += 1
            item.last_viewed_at = viewed_at
            self.plays.append((item.rating_key, viewed_at))

        if shown_after_item_reads <= 0:
            change()
        else:
            self._lagging[item.rating_key] = [shown_after_item_reads, change]
        return viewed_at

    def _item_read(self, rating_key: str) -> None:
        self.item_reads.append(rating_key)
        lagging = self._lagging.get(rating_key)
        if lagging is None:
            return
        if lagging[0] <= 0:
            del self._lagging[rating_key]
            lagging[1]()
        else:
            lagging[0] -= 1

    # -- eventual consistency -------------------------------------------------------------

    def _later(self, change: Callable[[], None]) -> None:
        if self.quirks.visible_after_reads <= 0:
            change()
            return
        self._pending.append([self.quirks.visible_after_reads, change])

    def apply_delayed_writes(self) -> None:
        """Apply every write still waiting, in the order it was accepted.

        The user's own edit on the server comes after the writes it accepted before: applied
        later, a delayed write would undo an edit the user made after it.
        """
        waiting, self._pending = self._pending, []
        for _, change in waiting:
            change()

    def _list_read(self) -> None:
        self.list_reads += 1
        still = []
        for pending in self._pending:
            pending[0] -= 1
            if pending[0] < 0:
                pending[1]()
            else:
                still.append(pending)
        self._pending = still

    # -- rendering ------------------------------------------------------------------------

    def guids(self, entry: Item | Title) -> tuple[str, list[dict[str, str]]]:
        """The `guid` and `Guid` list of an item, as the quirks have it."""
        kind = entry.kind
        if self.quirks.legacy_agents:
            if isinstance(entry, Item) and kind == "episode":
                show = self.items[entry.show_key or ""]
                return (
                    f"com.plexapp.agents.thetvdb://{show.tvdb}/{entry.season}/{entry.episode}"
                    "?lang=en",
                    [],
                )
            if kind == "show":
                return f"com.plexapp.agents.thetvdb://{entry.tvdb}?lang=en", []
            if entry.imdb:
                return f"com.plexapp.agents.imdb://{entry.imdb}?lang=en", []
            return f"com.plexapp.agents.themoviedb://{entry.tmdb}?lang=en", []
        guid = f"plex://{kind}/{entry.plex}" if entry.plex else f"local://{entry_key(entry)}"
        if self.quirks.plex_guid_only:
            return guid, []
        ids = [
            {"id": f"{name}://{value}"}
            for name, value in (("imdb", entry.imdb), ("tmdb", entry.tmdb), ("tvdb", entry.tvdb))
            if value
        ]
        return guid, ids

    def render(self, item: Item, *, include_guids: bool) -> dict[str, Json]:
        """One library item as a `Metadata` row."""
        guid, ids = self.guids(item)
        row: dict[str, Json] = {
            "ratingKey": item.rating_key,
            "key": f"/library/metadata/{item.rating_key}",
            "guid": guid,
            "type": item.kind,
            "title": item.title,
            "addedAt": item.added_at,
            "librarySectionID": int(item.section),
        }
        if item.year is not None:
            row["year"] = item.year
        if include_guids and ids:
            row["Guid"] = ids
        if item.kind == "episode":
            show = self.items[item.show_key or ""]
            row |= {
                "grandparentRatingKey": show.rating_key,
                "grandparentKey": f"/library/metadata/{show.rating_key}",
                "grandparentGuid": self.guids(show)[0],
                "grandparentTitle": show.title,
                "parentIndex": item.season,
                "index": item.episode,
            }
        # Plex leaves out the state an item does not have.
        if item.view_count:
            row["viewCount"] = item.view_count
        if item.last_viewed_at is not None:
            row["lastViewedAt"] = item.last_viewed_at
        if item.user_rating is not None:
            row["userRating"] = item.user_rating
            row["lastRatedAt"] = item.last_rated_at
        return row

    def titles_listed_without_ids(self) -> set[str]:
        """The plex ids of the titles whose Guid list Discover's watchlist rows leave out."""
        every = self.quirks.discover_rows_without_ids
        if every <= 0:
            return set()
        return {plex for n, plex in enumerate(self.catalogue, start=1) if n % every == 0}

    def render_title(self, title: Title, *, include_guids: bool) -> dict[str, Json]:
        """A catalogue title as Discover and the metadata service send it."""
        guid, ids = self.guids(title) if not self.quirks.legacy_agents else (None, [])
        row: dict[str, Json] = {
            "ratingKey": title.plex,
            "key": f"/library/metadata/{title.plex}",
            "guid": guid or f"plex://{title.kind}/{title.plex}",
            "type": title.kind,
            "title": title.title,
            "addedAt": EPOCH,
        }
        if title.year is not None:
            row["year"] = title.year
        if include_guids and ids:
            row["Guid"] = ids
        return row


def entry_key(entry: Item | Title) -> str:
    """The local id an entry without a Plex metadata id goes by."""
    return entry.rating_key if isinstance(entry, Item) else entry.plex


# -- shared plumbing ----------------------------------------------------------------------------


def _token(request: web.Request) -> str | None:
    return request.headers.get("X-Plex-Token") or request.query.get("X-Plex-Token")


def _unauthorized() -> web.Response:
    return web.json_response(
        {"errors": [{"code": 1001, "message": "User could not be authenticated", "status": 401}]},
        status=401,
    )


def _authorized(sim: PlexSim, request: web.Request, *tokens: str) -> bool:
    return not sim.quirks.revoked and _token(request) in tokens


def _container(request: web.Request, container: dict[str, Json]) -> web.Response:
    """A MediaContainer as JSON when asked for, else as Plex's default XML."""
    headers = {}
    if "offset" in container:
        headers["X-Plex-Container-Start"] = str(container["offset"])
    if "totalSize" in container:
        headers["X-Plex-Container-Total-Size"] = str(container["totalSize"])
    if "application/json" not in request.headers.get("Accept", ""):
        attributes = " ".join(
            f'{k}="{v}"' for k, v in container.items() if isinstance(v, str | int | bool)
        )
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<MediaContainer {attributes}/>\n'
        return web.Response(text=body, content_type="text/xml", headers=headers)
    return web.json_response({"MediaContainer": container}, headers=headers)


def _paging(request: web.Request, default_size: int | None) -> tuple[int, int | None]:
    def value(name: str) -> str | None:
        return request.query.get(name) or request.headers.get(name)

    start = int(value("X-Plex-Container-Start") or 0)
    size = value("X-Plex-Container-Size")
    return start, int(size) if size is not None else default_size


def _malformed(
    request: web.Request, shape: Malformed, list_key: str, container: dict[str, Json]
) -> web.Response:
    """A 200 that is not the MediaContainer it should be."""
    match shape:
        case Malformed.EMPTY_OBJECT:
            return web.json_response({})
        case Malformed.EMPTY_CONTAINER:
            return web.json_response({"MediaContainer": {}})
        case Malformed.NULL_LIST:
            body = {"MediaContainer": {**container, list_key: None}}
            return web.Response(text=json.dumps(body), content_type="application/json")
        case Malformed.NOT_JSON:
            return web.Response(
                text="<html><body>Please sign in</body></html>", content_type="text/html"
            )


async def _page(
    sim: PlexSim,
    request: web.Request,
    rows: Sequence[Any],
    extra: dict[str, Json],
    *,
    default_size: int | None = None,
    faults: bool = True,
    list_key: str = "Metadata",
    render: Callable[[Any], dict[str, Json]] | None = None,
) -> web.StreamResponse:
    """One page of a list, with the quirks' faults (`faults`: the list faults too).

    With `render`, `rows` are the items themselves, rendered only once on the page: a page of
    one record out of 100,000 then renders one.
    """
    quirks = sim.quirks
    fault = quirks.take_list_fault(request.path) if faults else None
    if fault is ListFault.EMPTY:
        rows = []
    elif fault is ListFault.TINY:
        rows = rows[:TINY_SIZE]
    start, size = _paging(request, default_size)
    number = start // size + 1 if size else 1
    faulty = quirks.fault_path is None or quirks.fault_path in request.path
    if quirks.page_delay:
        await asyncio.sleep(quirks.page_delay)
    if faulty and quirks.timeout_on_page == number:
        await asyncio.sleep(quirks.hang_seconds)
    if faulty and quirks.error_on_page == number:
        return web.Response(status=quirks.error_status, text="Service Unavailable")
    total = len(rows)
    page = rows[start : start + size] if size is not None else rows[start:]
    if faulty and quirks.truncate_page == number and page:
        page = page[:-1]
    container: dict[str, Json] = {**extra, "size": len(page), "totalSize": total, "offset": start}
    if fault is ListFault.MALFORMED:
        return _malformed(request, quirks.malformed_shape, list_key, container)
    if page:
        container[list_key] = [render(row) for row in page] if render is not None else page
    return _container(request, container)


def _moment(sim: PlexSim, value: str) -> int | None:
    """A media query's date: epoch seconds, or `+N`/`-N` seconds from the server's now."""
    try:
        number = int(value)
    except ValueError:
        return None
    return sim.now + number if value[:1] in "+-" else number


# -- Plex Media Server ----------------------------------------------------------------------------


def make_server_app(sim: PlexSim) -> web.Application:
    """The Plex Media Server."""
    app = web.Application()
    tokens = (sim.server_token, sim.account_token)

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if sim.quirks.server_revoked or not _authorized(sim, request, *tokens):
                return _unauthorized()
            return await handler(request)

        return wrapper

    async def identity(request: web.Request) -> web.StreamResponse:
        # /identity answers without a token, as on real servers.
        return _container(
            request,
            {"size": 0, "claimed": True, "machineIdentifier": sim.machine_id, "version": "1.41.3"},
        )

    async def sections(request: web.Request) -> web.StreamResponse:
        directories = [
            {
                "key": key, "type": kind, "title": title, "uuid": f"uuid-{key}",
                "language": "en-US", "agent": "tv.plex.agents.movie", "scanner": "Plex Scanner",
            }
            for key, (kind, title) in sim.sections.items()
        ]  # fmt: skip
        fault = sim.quirks.take_list_fault(request.path)
        if fault is ListFault.EMPTY:
            directories = []
        elif fault is ListFault.TINY:
            directories = directories[:TINY_SIZE]
        container: dict[str, Json] = {"size": len(directories), "title1": "Plex Library"}
        if fault is ListFault.MALFORMED:
            return _malformed(request, sim.quirks.malformed_shape, "Directory", container)
        return _container(request, {**container, "Directory": directories})

    async def section_all(request: web.Request) -> web.StreamResponse:
        section = request.match_info["sectionId"]
        if section not in sim.sections:
            return web.Response(status=404, text="Not Found")
        sim._list_read()
        sim.section_reads += 1
        wanted = request.query.get("type")
        default_kind = "movie" if sim.sections[section][0] == "movie" else "show"
        kind_id = int(wanted) if wanted else _TYPES[default_kind]
        include_guids = request.query.get("includeGuids") == "1"
        rows = [
            sim.render(item, include_guids=include_guids)
            for item in sim.items.values()
            if item.section == section and _TYPES.get(item.kind) == kind_id
        ]
        extra = {"librarySectionID": int(section), "allowSync": True, "identifier": LIBRARY}
        return await _page(sim, request, rows, extra)

    async def library_all(request: web.Request) -> web.StreamResponse:
        # Every section's items of one type, filtered and sorted by a media query. Only the
        # shapes the client sends are served: a state's field above 0, a date after a moment,
        # and a sort on a date, descending.
        try:
            kind_id = int(request.query["type"])
        except KeyError, ValueError:
            return web.Response(status=400, text="Bad Request")
        items = [i for i in sim.items.values() if _TYPES.get(i.kind) == kind_id]
        listed_since = False  # the items changed since a moment, not a tally
        for name, value in request.query.items():
            if name.endswith(">>"):
                attribute = _FILTERED.get(name[:-2])
                if attribute is not None:
                    bound = float(value)
                    items = [i for i in items if (getattr(i, attribute) or 0) > bound]
                    continue
                # A date after a moment (`>>=`; an item without the date is not): epoch
                # seconds, or with a sign, seconds from the server's now.
                attribute = _DATES.get(name[:-2])
                if attribute is None:
                    return web.Response(status=400, text="Bad Request")
                moment = _moment(sim, value)
                if moment is None:
                    return web.Response(status=400, text="Bad Request")
                items = [i for i in items if (getattr(i, attribute) or -1) > moment]
                listed_since = True
            elif name.endswith(("<", ">", "!")):
                # An operator the client does not send (a date knows no `>=` nor `<=`).
                return web.Response(status=400, text="Bad Request")
        if sort := request.query.get("sort"):
            name, _, how = sort.partition(":")
            attribute = _DATES.get(name)
            if attribute is None or how not in ("", "desc"):
                return web.Response(status=400, text="Bad Request")
            dated = [i for i in items if getattr(i, attribute) is not None]
            dated.sort(key=lambda i: getattr(i, attribute), reverse=how == "desc")
            items = dated + [i for i in items if getattr(i, attribute) is None]
        include_guids = request.query.get("includeGuids") == "1"
        # A tally is an aggregate across sections the client asks a page of one of: the list
        # faults are for the lists synced (a fault there only costs the client a scan). The
        # items changed since a date are a list the client reads: the faults reach it.
        return await _page(
            sim, request, items, {"identifier": LIBRARY}, faults=listed_since,
            render=lambda item: sim.render(item, include_guids=include_guids),
        )  # fmt: skip

    async def first_characters(request: web.Request) -> web.StreamResponse:
        # The server's own count of a section's items, by first letter. It is an aggregate the
        # server computes apart from listing the items, so the list faults do not reach it.
        section = request.match_info["sectionId"]
        if section not in sim.sections:
            return web.Response(status=404, text="Not Found")
        wanted = request.query.get("type")
        default_kind = "movie" if sim.sections[section][0] == "movie" else "show"
        kind_id = int(wanted) if wanted else _TYPES[default_kind]
        groups: dict[str, int] = {}
        for item in sim.items.values():
            if item.section == section and _TYPES.get(item.kind) == kind_id:
                first = item.title[:1].upper()
                letter = first if first.isalpha() else "#"
                groups[letter] = groups.get(letter, 0) + 1
        directories: list[Json] = [
            {"key": letter, "title": letter, "size": size}
            for letter, size in sorted(groups.items())
        ]
        container: dict[str, Json] = {"size": len(directories)}
        if directories:
            container["Directory"] = directories
        return _container(request, container)

    async def history(request: web.Request) -> web.StreamResponse:
        if sim.quirks.non_admin:
            # Admin only; current servers answer a non-admin's valid token with 401.
            return _unauthorized()
        rows = [
            {
                "historyKey": f"/status/sessions/history/{index}",
                "ratingKey": key,
                "key": f"/library/metadata/{key}",
                "title": sim.items[key].title if key in sim.items else "",
                "type": sim.items[key].kind if key in sim.items else "movie",
                "viewedAt": viewed_at,
                "accountID": 1,
            }
            for index, (key, viewed_at) in enumerate(sim.plays, start=1)
        ]
        # Only the health probe reads it, one row: the list faults are for the lists synced.
        return await _page(sim, request, rows, {}, faults=False)

    def library_call(apply: Callable[[Item, web.Request], web.Response | None]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if sim.quirks.write_error_status is not None:
                return web.Response(status=sim.quirks.write_error_status, text="Error")
            if request.query.get("identifier") != LIBRARY:
                return web.Response(status=404, text="No such media provider")
            key = request.query.get("key")
            if not key:
                return web.Response(status=400, text="Bad Request")
            if sim.quirks.rescans_before_writes > 0:
                sim.quirks.rescans_before_writes -= 1
                sim.rescan()
            item = sim.items.get(key)
            if item is None:
                return web.Response(status=404, text="Not Found")
            refused = apply(item, request)
            if refused is not None:
                return refused
            sim.writes.append((request.path, dict(request.query)))
            return web.Response(status=200)

        return handler

    def scrobble(item: Item, request: web.Request) -> None:
        viewed_at = sim.tick(1)  # a server dates the play when it takes the request

        def change() -> None:
            item.view_count += 1
            item.last_viewed_at = viewed_at
            sim.plays.append((item.rating_key, viewed_at))

        sim._later(change)

    def unscrobble(item: Item, request: web.Request) -> None:
        def change() -> None:
            item.view_count = 0
            item.last_viewed_at = None

        sim._later(change)

    def rate(item: Item, request: web.Request) -> web.Response | None:
        try:
            rating = float(request.query["rating"])
        except KeyError, ValueError:
            return web.Response(status=400, text="Bad Request")
        if rating != -1 and not (0 <= rating <= 10 and (rating * 2).is_integer()):
            return web.Response(status=400, text="Bad Request")
        rated_at = sim.tick()

        def change() -> None:
            if rating == -1:
                item.user_rating, item.last_rated_at = None, None
            else:
                item.user_rating, item.last_rated_at = rating, rated_at

        sim._later(change)
        return None

    async def metadata_item(request: web.Request) -> web.StreamResponse:
        # One library item by its ratingKey (the description's getMetadataItem), with its
        # Guids as the server always sends them on this endpoint.
        key = request.match_info["ids"]  # one ratingKey: the description's name for the path
        sim._item_read(key)
        item = sim.items.get(key)
        if item is None:
            return web.Response(status=404, text="Not Found")
        container: dict[str, Json] = {
            "size": 1, "allowSync": True, "identifier": LIBRARY,
            "librarySectionID": int(item.section), "Metadata": [sim.render(item, include_guids=True)],
        }  # fmt: skip
        return _container(request, container)

    app.router.add_get("/identity", identity)
    app.router.add_get("/library/metadata/{ids}", guarded(metadata_item))
    app.router.add_get("/library/sections/all", guarded(sections))
    app.router.add_get("/library/all", guarded(library_all))
    app.router.add_get("/library/sections/{sectionId}/all", guarded(section_all))
    app.router.add_get("/library/sections/{sectionId}/firstCharacters", guarded(first_characters))
    app.router.add_get("/status/sessions/history/all", guarded(history))
    app.router.add_put("/:/scrobble", guarded(library_call(scrobble)))
    app.router.add_put("/:/unscrobble", guarded(library_call(unscrobble)))
    app.router.add_put("/:/rate", guarded(library_call(rate)))
    return recording(app)


# -- plex.tv --------------------------------------------------------------------------------------


def make_plex_tv_app(sim: PlexSim) -> web.Application:
    """plex.tv: PINs, the account and its resources, under /api/v2."""
    app = web.Application()
    pin_ids = itertools.count(7001)

    def render_pin(pin: PinState) -> dict[str, Json]:
        expires = pin.created_at + pin.expires_in
        return {
            "id": pin.id,
            "code": pin.code,
            "product": "CrossWatch",
            "trusted": False,
            "qr": f"https://plex.tv/api/v2/pins/qr/{pin.code}",
            "clientIdentifier": pin.client_identifier,
            "location": {
                "code": "NL",
                "continent_code": "EU",
                "country": "Netherlands",
                "city": "Amsterdam",
                "european_union_member": True,
                "time_zone": "Europe/Amsterdam",
                "postal_code": "1012",
                "in_privacy_restricted_country": True,
                "in_privacy_restricted_region": True,
                "subdivisions": "North Holland",
                "coordinates": "52.37, 4.89",
            },
            "expiresIn": max(0, expires - sim.now),
            "createdAt": _iso(pin.created_at),
            "expiresAt": _iso(expires),
            "authToken": pin.auth_token,
            "newRegistration": None,
        }

    async def create_pin(request: web.Request) -> web.StreamResponse:
        client = request.headers.get("X-Plex-Client-Identifier")
        if not client:
            return web.json_response(
                {"errors": [{"code": 1000, "message": "X-Plex-Client-Identifier is missing",
                             "status": 400}]},
                status=400,
            )  # fmt: skip
        pin_id = next(pin_ids)
        strong = request.query.get("strong") == "true"
        code = f"{pin_id:x}".rjust(25, "k") if strong else f"{pin_id % 10000:04d}"
        pin = PinState(pin_id, code, client, sim.now, 0 if sim.quirks.pins_expire else 1800)
        sim.pins[pin_id] = pin
        return web.json_response(render_pin(pin), status=201)

    async def get_pin(request: web.Request) -> web.StreamResponse:
        pin = sim.pins.get(int(request.match_info["pinID"]))
        client = request.headers.get("X-Plex-Client-Identifier")
        # plex.tv forgets an expired PIN, and shows a PIN only to the client that asked for it.
        if (
            pin is None
            or pin.client_identifier != client
            or sim.now >= pin.created_at + pin.expires_in
        ):
            return web.json_response(
                {"errors": [{"code": 1020, "message": "Code not found or expired", "status": 404}]},
                status=404,
            )
        if sim.auto_approve and pin.auth_token is None:
            sim.approve_pin(pin.id)
        return web.json_response(render_pin(pin))

    async def user(request: web.Request) -> web.StreamResponse:
        if not _authorized(sim, request, sim.account_token):
            return _unauthorized()
        return web.json_response(
            {
                "id": sim.account_id, "uuid": sim.account_uuid, "username": sim.username,
                "title": sim.username, "friendlyName": sim.username,
                "email": f"{sim.username}@example.com", "authToken": sim.account_token,
                "hasPassword": True, "joinedAt": EPOCH, "twoFactorEnabled": False,
            }
        )  # fmt: skip

    async def resources(request: web.Request) -> web.StreamResponse:
        if not _authorized(sim, request, sim.account_token):
            return _unauthorized()
        common = {
            "productVersion": "1.41.3", "platform": "Linux", "platformVersion": "6.1",
            "device": "PC", "createdAt": "2023-01-01T00:00:00Z",
            "lastSeenAt": "2024-01-01T00:00:00Z", "ownerId": None, "sourceTitle": None,
            "publicAddress": "203.0.113.7", "home": False, "synced": False, "relay": True,
            "presence": True, "httpsRequired": False, "publicAddressMatches": True,
            "dnsRebindingProtection": False, "natLoopbackSupported": True,
        }  # fmt: skip
        server: dict[str, Json] = {
            **common, "name": sim.server_name, "product": "Plex Media Server",
            "clientIdentifier": sim.machine_id, "provides": "server",
            "accessToken": sim.server_token, "owned": not sim.quirks.non_admin,
            "connections": sim.connections,
        }  # fmt: skip
        player: dict[str, Json] = {
            **common, "name": "Phone", "product": "Plex for Android",
            "clientIdentifier": "phone-1", "provides": "client,player",
            "accessToken": "phone-token", "owned": True, "connections": [],
        }  # fmt: skip
        others = [{**common, "product": "Plex Media Server", "provides": "server",
                   "owned": True, **other} for other in sim.other_servers]  # fmt: skip
        return web.json_response([player, *([server] if sim.server_listed else []), *others])

    app.router.add_post("/api/v2/pins", create_pin)
    app.router.add_get("/api/v2/pins/{pinID}", get_pin)
    app.router.add_get("/api/v2/user", user)
    app.router.add_get("/api/v2/resources", resources)
    return recording(app)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


# -- Discover and the metadata service ----------------------------------------------------------


def make_discover_app(sim: PlexSim) -> web.Application:
    """discover.provider.plex.tv: the watchlist."""
    app = web.Application()

    async def watchlist(request: web.Request) -> web.StreamResponse:
        if not _authorized(sim, request, sim.account_token):
            return _unauthorized()
        sim._list_read()
        include_guids = request.query.get("includeGuids") == "1"
        without_ids = sim.titles_listed_without_ids()
        rows = [
            sim.render_title(
                sim.catalogue[plex], include_guids=include_guids and plex not in without_ids
            )
            for plex in sorted(sim.watchlist, key=lambda p: -sim.watchlist[p])
        ]
        extra = {"librarySectionID": "watchlist", "librarySectionTitle": "Watchlist",
                 "identifier": "tv.plex.provider.discover"}  # fmt: skip
        # Discover pages by 50 unless asked otherwise.
        return await _page(
            sim, request, rows, extra, default_size=50, list_key=sim.quirks.discover_container
        )

    async def metadata_item(request: web.Request) -> web.StreamResponse:
        # One title with its Guids; the key it is listed under follows `discover_container`.
        if not _authorized(sim, request, sim.account_token):
            return _unauthorized()
        plex = request.match_info["ratingKey"]
        sim.lookups.append(plex)
        sim.lookups_in_flight += 1
        sim.most_lookups_in_flight = max(sim.most_lookups_in_flight, sim.lookups_in_flight)
        try:
            if sim.quirks.lookup_delay:
                await asyncio.sleep(sim.quirks.lookup_delay)
        finally:
            sim.lookups_in_flight -= 1
        if sim.quirks.lookup_error_status is not None:
            return web.Response(status=sim.quirks.lookup_error_status, text="Error")
        title = sim.catalogue.get(plex)
        if title is None:
            return web.Response(status=404, text="Not Found")
        row = sim.render_title(title, include_guids=True)
        container: dict[str, Json] = {
            "size": 1, "identifier": "tv.plex.provider.metadata",
            sim.quirks.discover_container: [row],
        }  # fmt: skip
        return _container(request, container)

    def action(add: bool) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if not _authorized(sim, request, sim.account_token):
                return _unauthorized()
            plex = request.query.get("ratingKey", "")
            if sim.quirks.write_error_status is not None:
                return web.Response(status=sim.quirks.write_error_status, text="Error")
            if plex not in sim.catalogue:
                return web.Response(status=404, text="Not Found")
            sim.writes.append((request.path, dict(request.query)))
            listed_at = sim.tick()

            def change() -> None:
                if add:
                    sim.watchlist.setdefault(plex, listed_at)
                else:
                    sim.watchlist.pop(plex, None)

            sim._later(change)
            return web.Response(status=200)

        return handler

    async def search(request: web.Request) -> web.StreamResponse:
        # Discover's search as Plex's apps use it: hits grouped by provider (`SearchResults`),
        # each hit's record under `Metadata` (or `Video`: `discover_container`), without Guids
        # (Discover leaves them out of its lists: provider-facts-2026.md, Plex). Discover ranks
        # by its relevance; here a title that is the query comes first, then one starting with
        # it, then the rest, each in catalogue order.
        if not _authorized(sim, request, sim.account_token):
            return _unauthorized()
        query = " ".join(request.query.get("query", "").casefold().split())
        if not query:
            return web.Response(status=400, text="Bad Request")
        kinds = {"movies": "movie", "tv": "show"}
        wanted = {
            kinds[name]
            for name in request.query.get("searchTypes", "movies,tv").split(",")
            if name in kinds
        }
        found = [
            title
            for title in sim.catalogue.values()
            if title.kind in wanted and query in title.title.casefold()
        ]

        def rank(title: Title) -> int:
            name = title.title.casefold()
            return 0 if name == query else 1 if name.startswith(query) else 2

        found.sort(key=rank)
        limit = int(request.query.get("limit", "30"))
        hits: list[Json] = [
            {
                "score": round(1 - rank(title) / 4, 2),
                sim.quirks.discover_container: sim.render_title(title, include_guids=False),
            }
            for title in found[:limit]
        ]
        group: dict[str, Json] = {"id": "external", "title": "Movies & Shows", "size": len(hits)}
        if hits:
            group["SearchResult"] = hits
        container: dict[str, Json] = {
            "size": len(hits),
            "identifier": "tv.plex.provider.discover",
            "SearchResults": [group],
        }
        return _container(request, container)

    app.router.add_get("/library/sections/watchlist/{filter}", watchlist)
    app.router.add_get("/library/search", search)
    app.router.add_get("/library/metadata/{ratingKey}", metadata_item)
    app.router.add_put("/actions/addToWatchlist", action(add=True))
    app.router.add_put("/actions/removeFromWatchlist", action(add=False))
    return recording(app)


def make_metadata_app(sim: PlexSim) -> web.Application:
    """metadata.provider.plex.tv: external ids to Plex metadata ids."""
    app = web.Application()

    async def matches(request: web.Request) -> web.StreamResponse:
        if not _authorized(sim, request, sim.account_token):
            return _unauthorized()
        scheme, separator, value = request.query.get("guid", "").partition("://")
        if not separator or scheme not in ("imdb", "tmdb", "tvdb"):
            return web.Response(status=404, text="Not Found")
        kind = {"1": "movie", "2": "show"}.get(request.query.get("type", ""))
        found = [
            sim.render_title(title, include_guids=True)
            for title in sim.catalogue.values()
            if (kind is None or title.kind == kind) and str(getattr(title, scheme) or "") == value
        ]
        container: dict[str, Json] = {"size": len(found), "identifier": "tv.plex.provider.metadata"}
        if found:
            container["Metadata"] = found
        return _container(request, container)

    app.router.add_get("/library/metadata/matches", matches)
    return recording(app)


@dataclass(frozen=True)
class PlexApps:
    """The four hosts of one simulated Plex world."""

    server: web.Application
    plex_tv: web.Application
    discover: web.Application
    metadata: web.Application


def make_apps(sim: PlexSim) -> PlexApps:
    """Every Plex host over one state."""
    return PlexApps(
        make_server_app(sim), make_plex_tv_app(sim), make_discover_app(sim), make_metadata_app(sim)
    )


def seed_library(sim: PlexSim) -> dict[str, Item]:
    """A small library: two movie sections (one film in both), a show with three episodes."""
    sim.add_section("1", "movie", "Movies")
    sim.add_section("2", "show", "TV Shows")
    sim.add_section("3", "movie", "Movies 4K")
    sim.add_section("9", "artist", "Music")
    matrix = sim.add_movie("1", "The Matrix", 1999, imdb="tt0133093", tmdb=603,
                           view_count=2, last_viewed_at=EPOCH - 86400,
                           user_rating=9.0, last_rated_at=EPOCH - 3600)  # fmt: skip
    heat = sim.add_movie("1", "Heat", 1995, imdb="tt0113277", tmdb=949)
    matrix_4k = sim.add_movie("3", "The Matrix", 1999, imdb="tt0133093", tmdb=603,
                              plex=matrix.plex)  # fmt: skip
    dark = sim.add_show("2", "Dark", 2017, imdb="tt5753856", tmdb=70523, tvdb=334824,
                        user_rating=8.0, last_rated_at=EPOCH - 7200)  # fmt: skip
    e1 = sim.add_episode(dark, 1, 1, tvdb=6321901, view_count=1, last_viewed_at=EPOCH - 500)
    e2 = sim.add_episode(dark, 1, 2, tvdb=6321902)
    e3 = sim.add_episode(dark, 2, 1, tvdb=7000001, user_rating=7.5, last_rated_at=EPOCH - 100)
    return {"matrix": matrix, "heat": heat, "matrix_4k": matrix_4k, "dark": dark,
            "e1": e1, "e2": e2, "e3": e3}  # fmt: skip
