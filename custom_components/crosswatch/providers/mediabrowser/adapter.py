"""Jellyfin and Emby as CrossWatch providers: one MediaBrowser base, two flavours.

What the servers hold, and how it maps onto the engine's features:
- history: `UserData.Played`, `PlayCount` and `LastPlayedDate`, a watched state (no plays);
- watchlist: these servers have none, so **Favorites** (`UserData.IsFavorite`) stand in;
- ratings: `UserData.Rating`, a double from 0 to 10 (`DECIMAL_0_10`), with no date.

Reads page through the user's items (`StartIndex`/`Limit`, checked against `TotalRecordCount`).
Episodes carry their series' ProviderIds, fetched once per read by `SeriesId`. A page that fails
midway (a malformed reply included) ends the read as partial; episodes whose series could not be
fetched, or that a lookup did not return, are left out and the read is partial: keyed without
their series' ids they would look like other items, and their old keys like removals.

The library index writes resolve in is kept for `library_ttl` seconds, and only when the read it
came from was complete, not empty, and no smaller than the index before it: a write after an
emptied or shrunken read reads the library again instead of refusing items as not in it. Writes
change no item ids, so they leave the index in place (a 404 reads it again).

Writes act on library items, so every requested item is first resolved to one:
1. by our own item id, when the item came from this server;
2. by any external id (ProviderIds in any casing; episodes by the series' ids and numbering);
3. failing that, by an *exact* title and year match, only when exactly one library item has
   that title and year and none of its ids contradict the requested item. This is a weak match
   and is counted (`weak_matches`). Anything looser is refused: items without ProviderIds are
   the engine's write-through shadows' job (see engine/shadow.py), not guesswork's.
Items that cannot be resolved are rejected as `not_in_library`. A write answers `stored_as` =
the library item (with its local id) whenever that differs from the requested item, which is how
the engine learns to recognise library items that have no ProviderIds.

Each write changes only what it means to: played, favorite and rating removal go to their own
endpoints, and a rating goes alone in a UserData body on Jellyfin. Emby's UserData body is the
whole user data, so a rating write there carries the played state, play count, last played date
and favorite as they stand *now*: read from the item, overlaid with what the server answered
our own writes to it in the last `library_ttl` seconds. Those answers come straight from the
write, while a read may still lag behind it; without them a rating written after marking an item
played would unmark it again. (A change someone makes on the server between our write and the
rating, on the same item, is the one race Emby's API leaves open.)
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import logging
import time
from typing import ClassVar, Final

from ..clients.http import JsonValue
from ..clients.mediabrowser.client import (
    USER_STATE_FIELDS,
    Credentials,
    Flavour,
    MediaBrowserClient,
    ServerInfo,
)
from ..engine.capabilities import Capabilities, HistorySupport
from ..engine.cursor import Checkpoint
from ..engine.ids import LOCAL_NAMESPACES, Namespace, parse_provider_ids
from ..engine.items import MediaItem, MediaType, weak_key
from ..engine.payloads import Entry, Feature, Listed, Payload, Rated, Watched
from ..engine.plan import Action
from ..engine.provider import (
    AuthError,
    ProviderError,
    RateLimitError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ..engine.ratings import RatingScale, from_normalized, to_normalized
from ..engine.snapshot import Completeness, Snapshot
from .client_errors import HttpError, translates_client_errors, translating

_LOGGER = logging.getLogger(__name__)

NOT_IN_LIBRARY: Final = "not_in_library"
CAPABILITIES: Final = Capabilities(
    features=frozenset(Feature),
    # A watched state, dated to the second (Emby's DatePlayed is yyyyMMddHHmmss; we send
    # Jellyfin the same precision).
    history=HistorySupport(
        multiple_plays=False, sets_watched_at=True, precision=timedelta(seconds=1)
    ),
    rating_scale=RatingScale.DECIMAL_0_10,
    # Every item is one request; a modest batch keeps a run's progress committed often.
    batch_size=25,
    confirms_per_item=True,
)
# How long a library index built for writes is trusted before it is read again.
LIBRARY_TTL: Final = 300.0
# Series fetched per request by id: keeps the URL well under common proxy limits.
SERIES_PER_REQUEST: Final = 50

_ALL_TYPES: Final = ("Movie", "Series", "Episode")
# What each feature reads: item types and server-side filters.
_QUERIES: Final[Mapping[Feature, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    Feature.HISTORY: (("Movie", "Episode"), ("IsPlayed",)),
    Feature.WATCHLIST: (_ALL_TYPES, ("IsFavorite",)),
    # Neither server can filter on "has a rating": ratings read the whole library.
    Feature.RATINGS: (_ALL_TYPES, ()),
}
_MEDIA_TYPES: Final = {"Movie": MediaType.MOVIE, "Series": MediaType.SHOW}
# Errors that must reach the engine as they are instead of becoming a partial read.
_FATAL = (AuthError, RateLimitError)


@dataclass(frozen=True, slots=True)
class MediaBrowserAccount:
    """One user on one server: what the provider's key and name are made of."""

    server_id: str
    server_name: str
    user_id: str
    user_name: str


def account_for(server: ServerInfo, credentials: Credentials) -> MediaBrowserAccount:
    """The account a login gave, on the server `/System/Info/Public` described."""
    return MediaBrowserAccount(server.id, server.name, credentials.user_id, credentials.user_name)


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One item of the server's library, as the engine sees it, with the user's data."""

    id: str
    item: MediaItem
    user_data: Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class _Written:
    """An item's user data as the server answered our last write to it, and when."""

    fields: Mapping[str, JsonValue]
    at: float


@dataclass(frozen=True, slots=True)
class _Scan:
    """Library items read for one query, and the evidence of how complete the read was."""

    items: tuple[LibraryItem, ...]
    completeness: Completeness


@dataclass(frozen=True, slots=True)
class _Library:
    """Every item of the library, indexed for resolving writes."""

    built_at: float
    complete: bool
    reusable: bool  # complete, not empty, no smaller than the index before: fit to keep
    by_id: Mapping[str, LibraryItem]
    by_token: Mapping[str, tuple[LibraryItem, ...]]
    by_title: Mapping[str, tuple[LibraryItem, ...]]


def parse_date(value: JsonValue) -> datetime | None:
    """A server date ("2024-05-01T20:00:00.0000000Z", seven fractional digits) as aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    head, dot, fraction = text.partition(".")
    if dot:
        # .NET writes ticks (7 digits); Python reads at most microseconds.
        digits = "".join(c for c in fraction if c.isdigit())
        text = f"{head}.{digits[:6]}{fraction[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _int(value: JsonValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ids(row: Mapping[str, JsonValue]) -> dict[str, str]:
    raw = row.get("ProviderIds")
    parsed = parse_provider_ids(raw if isinstance(raw, dict) else None)
    return {namespace.value: value for namespace, value in parsed.items()}


@translates_client_errors
async def sign_in(
    client: MediaBrowserClient, username: str, password: str
) -> tuple[MediaBrowserAccount, Credentials]:
    """Log in by name and password: the account (server and user) and the token to keep.

    The password goes to `/Users/AuthenticateByName` once and is kept nowhere.
    """
    server = await client.public_info()
    credentials = await client.authenticate_by_name(username, password)
    return account_for(server, credentials), credentials


class MediaBrowserProvider:
    """A Jellyfin or Emby user as the engine uses it; the flavour is the client's."""

    flavour: ClassVar[Flavour | None] = None  # set by the per-server subclasses

    def __init__(
        self,
        client: MediaBrowserClient,
        account: MediaBrowserAccount,
        *,
        clock: Callable[[], float] = time.monotonic,
        library_ttl: float = LIBRARY_TTL,
    ) -> None:
        """Bind a client (holding the user's token) to the account it belongs to."""
        if self.flavour is not None and client.flavour is not self.flavour:
            raise ValueError(
                f"{type(self).__name__} needs a {self.flavour.name} client, "
                f"not a {client.flavour.name} one"
            )
        self._client = translating(client)
        self._account = account
        self._flavour = client.flavour
        self._clock = clock
        self._library_ttl = library_ttl
        self._library: _Library | None = None
        self._library_lock = asyncio.Lock()
        # Item id -> what the server answered our last write to it. Not a read cache: it only
        # ever stands in for a read that may lag behind that write (see `_current_user_data`).
        self._written: dict[str, _Written] = {}
        self.weak_matches = 0  # writes resolved by exact title and year alone

    @property
    def key(self) -> str:
        """The account's stable id: `<flavour>:<server id>:<user id>`."""
        return f"{self._flavour.namespace}:{self._account.server_id}:{self._account.user_id}"

    @property
    def name(self) -> str:
        """How the account reads in plans, e.g. 'Jellyfin (alice on Living Room)'."""
        return f"{self._flavour.name} ({self._account.user_name} on {self._account.server_name})"

    @property
    def capabilities(self) -> Capabilities:
        """What Jellyfin and Emby hold and how they answer writes."""
        return CAPABILITIES

    @property
    def requests_made(self) -> int:
        """Every HTTP request this provider's client has made."""
        return self._client.http.requests.count

    @translates_client_errors
    async def health(self) -> None:
        """Check that the URL still reaches the same server and the token the same user.

        A server reinstalled at the same address has a new id: writing to it as if it were the
        old one would mix two libraries' baselines, so it is refused like a bad token.
        """
        server = await self._client.public_info()
        if server.id != self._account.server_id:
            raise AuthError(
                f"{self._flavour.name} at this address is now server {server.id}, "
                f"not {self._account.server_id}"
            )
        user_id = await self._client.current_user(self._account.user_id)
        if user_id != self._account.user_id:
            raise AuthError(f"the {self._flavour.name} token now belongs to user {user_id}")

    # Reads ---------------------------------------------------------------------------------

    @translates_client_errors
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """A present snapshot of one feature; a page that fails makes it partial.

        These servers expose no activity watermark, so no checkpoint is kept: every read is a
        full scan.
        """
        types, filters = _QUERIES[feature]
        scan = await self._scan(types, filters)
        if feature is Feature.RATINGS:
            # A ratings read is a whole-library read: it doubles as the index writes resolve in.
            self._library = self._index(scan)
        entries = [
            Entry(found.item, payload)
            for found in scan.items
            if (payload := _payload(feature, found)) is not None
        ]
        snapshot = Snapshot.build(self.key, feature, entries, scan.completeness)
        return Read(snapshot, None)

    @translates_client_errors
    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether the server's own count of the user's favourites agrees with the read.

        `/Items/Counts` counts favourites apart from listing them, so a list reply that lost
        favourites under complete-looking totals disagrees with it. Played state and ratings
        have no such count.
        """
        if snapshot.feature is not Feature.WATCHLIST:
            return None
        types, _ = _QUERIES[Feature.WATCHLIST]
        counted = await self._client.favorite_count(self._account.user_id, types)
        return counted == snapshot.completeness.seen_total

    async def _scan(self, types: Sequence[str], filters: Sequence[str]) -> _Scan:
        rows, completeness = await self._pages(types, filters)
        series_ids = sorted(
            {
                series
                for row in rows
                if row.get("Type") == "Episode" and isinstance(series := row.get("SeriesId"), str)
            }
        )
        series, failure = await self._series(series_ids)
        if failure is not None:
            completeness = Completeness(
                all_pages=completeness.all_pages,
                expected_total=completeness.expected_total,
                seen_total=completeness.seen_total,
                failure=completeness.failure or failure,
            )
        items = []
        for row in rows:
            found = self._library_item(row, series, series_failed=failure is not None)
            if found is not None:
                items.append(found)
        return _Scan(tuple(items), completeness)

    async def _pages(
        self, types: Sequence[str], filters: Sequence[str]
    ) -> tuple[list[Mapping[str, JsonValue]], Completeness]:
        """Every row of a query, page by page, and how sure we are that it is all of them."""
        rows: dict[str, Mapping[str, JsonValue]] = {}
        seen, start = 0, 0
        total: int | None = None
        failure: str | None = None
        while True:
            try:
                page = await self._client.items_page(
                    self._account.user_id,
                    types=types,
                    filters=filters,
                    start=start,
                    limit=self._client.page_size,
                )
            except _FATAL:
                raise
            except ProviderError as err:
                failure = f"the page at {start} failed: {err}"
                break
            if page.total is None:
                failure = "the server did not say how many items there are"
            elif total is not None and page.total != total:
                failure = f"the library changed while it was read ({total} -> {page.total})"
            total = page.total if total is None else total
            if failure is not None:
                break
            seen += len(page.items)
            for row in page.items:
                if isinstance(item_id := row.get("Id"), str):
                    rows[item_id] = row
            start += len(page.items)
            if not page.items or total is None or start >= total:
                break
        completeness = Completeness(
            all_pages=failure is None, expected_total=total, seen_total=seen, failure=failure
        )
        return list(rows.values()), completeness

    async def _series(
        self, series_ids: Sequence[str]
    ) -> tuple[dict[str, Mapping[str, JsonValue]], str | None]:
        """The series of the episodes read, by id; a failure says why some are missing."""
        found: dict[str, Mapping[str, JsonValue]] = {}
        for offset in range(0, len(series_ids), SERIES_PER_REQUEST):
            chunk = series_ids[offset : offset + SERIES_PER_REQUEST]
            try:
                page = await self._client.items_page(
                    self._account.user_id,
                    types=("Series",),
                    start=0,
                    limit=len(chunk),
                    ids=chunk,
                )
            except _FATAL:
                raise
            except ProviderError as err:
                return found, f"the series of some episodes could not be read: {err}"
            for row in page.items:
                if isinstance(item_id := row.get("Id"), str):
                    found[item_id] = row
        if missing := len(set(series_ids) - set(found)):
            # A lookup answered short (a hiccup, or a series hidden from this user): its
            # episodes cannot be keyed the way other providers know them.
            return found, f"{missing} series asked for by id were not returned"
        return found, None

    def _library_item(
        self,
        row: Mapping[str, JsonValue],
        series: Mapping[str, Mapping[str, JsonValue]],
        *,
        series_failed: bool,
    ) -> LibraryItem | None:
        """The engine's view of one row, or None for rows it cannot identify."""
        item_id = row.get("Id")
        kind = row.get("Type")
        if not isinstance(item_id, str) or not isinstance(kind, str):
            return None
        user_data = row.get("UserData")
        data = user_data if isinstance(user_data, dict) else {}
        ids = {**_ids(row), self._flavour.namespace: item_id}
        name = row.get("Name") if isinstance(row.get("Name"), str) else None
        try:
            if kind in _MEDIA_TYPES:
                item = MediaItem.create(
                    _MEDIA_TYPES[kind],
                    title=name,
                    year=_int(row.get("ProductionYear")),
                    ids=ids,
                )
                return LibraryItem(item_id, item, data)
            if kind != "Episode":
                return None
            season, number = _int(row.get("ParentIndexNumber")), _int(row.get("IndexNumber"))
            series_id = row.get("SeriesId")
            show = series.get(series_id) if isinstance(series_id, str) else None
            if season is None or number is None or (show is None and series_failed):
                # Unnumbered episodes cannot be matched; episodes whose series failed to load
                # would be keyed by ids no other provider uses, so the read leaves them out.
                return None
            show_name = row.get("SeriesName")
            item = MediaItem.create(
                MediaType.EPISODE,
                title=(show or {}).get("Name")
                or (show_name if isinstance(show_name, str) else None),
                year=_int((show or {}).get("ProductionYear")),
                ids=ids,
                show_ids=_ids(show) if show is not None else None,
                season=season,
                episode=number,
            )
        except ValueError:
            return None  # no id, no title: nothing to match it by
        return LibraryItem(item_id, item, data)

    # Writes --------------------------------------------------------------------------------

    @translates_client_errors
    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """Write one batch, one request per item; each result says what became of its item."""
        if action is Action.CONFLICT:
            return [
                WriteResult(r.item, WriteOutcome.REJECTED, "a conflict is never written")
                for r in requests
            ]
        library = await self._fresh_library()
        results: list[WriteResult] = []
        for request in requests:
            results.append(await self._write_one(library, feature, action, request))
            library = self._library or library
        return results

    async def _write_one(
        self, library: _Library, feature: Feature, action: Action, request: WriteRequest
    ) -> WriteResult:
        if (
            feature is Feature.RATINGS
            and action is not Action.REMOVE
            and not isinstance(request.payload, Rated)
        ):
            return WriteResult(request.item, WriteOutcome.REJECTED, "a rating write needs a rating")
        targets = self._resolve(library, request.item)
        if not targets:
            return self._unresolved(library, request)
        try:
            try:
                await self._apply(feature, action, request.payload, targets)
            except HttpError as err:
                if err.status != 404:
                    raise
                # A rescan hands out new item ids: read the library again and try once more.
                library = await self._fresh_library(force=True)
                targets = self._resolve(library, request.item)
                if not targets:
                    return self._unresolved(library, request)
                await self._apply(feature, action, request.payload, targets)
        except _FATAL:
            raise
        except HttpError as err:
            if err.status == 404:
                return WriteResult(request.item, WriteOutcome.REJECTED, NOT_IN_LIBRARY)
            if 400 <= err.status < 500:
                return WriteResult(request.item, WriteOutcome.REJECTED, str(err))
            return WriteResult(request.item, WriteOutcome.UNKNOWN, str(err))
        except ProviderError as err:
            # A timeout may or may not have landed: the engine verifies it on the next read.
            return WriteResult(request.item, WriteOutcome.UNKNOWN, str(err))
        stored = targets[0].item
        return WriteResult(
            request.item,
            WriteOutcome.CONFIRMED,
            stored_as=None if stored == request.item else stored,
        )

    def _unresolved(self, library: _Library, request: WriteRequest) -> WriteResult:
        reason = NOT_IN_LIBRARY if library.complete else f"{NOT_IN_LIBRARY} (library read partial)"
        return WriteResult(request.item, WriteOutcome.REJECTED, reason)

    async def _apply(
        self,
        feature: Feature,
        action: Action,
        payload: Payload | None,
        targets: Sequence[LibraryItem],
    ) -> None:
        user = self._account.user_id
        client = self._client
        for target in targets:
            # `known` is what the write itself says, kept when the server's answer says nothing.
            reply: Mapping[str, JsonValue] | None
            known: dict[str, JsonValue]
            match feature, action:
                case Feature.HISTORY, Action.REMOVE:
                    reply = await client.mark_unplayed(user, target.id)
                    known = {"Played": False, "PlayCount": 0, "LastPlayedDate": None}
                case Feature.HISTORY, _:
                    when = payload.last_watched_at if isinstance(payload, Watched) else None
                    reply = await client.mark_played(user, target.id, when)
                    known = {"Played": True}
                case Feature.WATCHLIST, _:
                    favorite = action is not Action.REMOVE
                    reply = await client.set_favorite(user, target.id, favorite)
                    known = {"IsFavorite": favorite}
                case Feature.RATINGS, Action.REMOVE:
                    reply = await client.clear_rating(user, target.id)
                    known = {"Rating": None}
                case Feature.RATINGS, _ if isinstance(payload, Rated):
                    native = float(from_normalized(RatingScale.DECIMAL_0_10, payload.value))
                    current = (
                        None
                        if self._flavour.partial_user_data
                        else await self._current_user_data(target.id)
                    )
                    reply = await client.set_rating(user, target.id, native, current)
                    known = {"Rating": native}
                case _:
                    continue
            self._remember(target.id, reply, known)

    async def _current_user_data(self, item_id: str) -> Mapping[str, JsonValue]:
        """The item's user data now: a fresh item read, under what our own writes answered.

        The item read may still show the state from before a write of ours (servers behind a
        cache, replicas); what the write answered is newer than that, so it wins.
        """
        read = await self._client.user_data(self._account.user_id, item_id)
        written = self._written.get(item_id)
        if written is None or self._clock() - written.at > self._library_ttl:
            return read
        return {**read, **written.fields}

    def _remember(
        self, item_id: str, reply: Mapping[str, JsonValue] | None, known: Mapping[str, JsonValue]
    ) -> None:
        now = self._clock()
        self._written = {
            key: written
            for key, written in self._written.items()
            if now - written.at <= self._library_ttl
        }
        if reply is not None:
            # The whole user data: a state field it leaves out is one the item does not have.
            fields: dict[str, JsonValue] = {
                name: reply.get(name)
                for name in USER_STATE_FIELDS
                if name in reply or name != "PlaybackPositionTicks"
            }
        else:
            before = self._written.get(item_id)
            fields = {**(before.fields if before is not None else {}), **known}
        self._written[item_id] = _Written(fields, now)

    # Resolving requested items to library items -----------------------------------------

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Index the library anew before the next write.

        Reads always scan the library; only the index writes resolve in is kept for a while.
        """
        del feature, validated
        self._library = None

    async def _fresh_library(self, *, force: bool = False) -> _Library:
        async with self._library_lock:
            library = self._library
            if (
                force
                or library is None
                or not library.reusable
                or self._clock() - library.built_at > self._library_ttl
            ):
                library = self._index(await self._scan(_ALL_TYPES, ()))
                self._library = library
            return library

    def _index(self, scan: _Scan) -> _Library:
        by_token: dict[str, list[LibraryItem]] = {}
        by_title: dict[str, list[LibraryItem]] = {}
        for found in scan.items:
            for text in (*found.item.tokens, *found.item.local_tokens):
                by_token.setdefault(text, []).append(found)
            if found.item.title and found.item.year:
                by_title.setdefault(weak_key(found.item), []).append(found)
        previous = self._library
        complete = scan.completeness.complete
        return _Library(
            self._clock(),
            complete,
            # An empty index is never kept: asking again costs next to nothing if it is true.
            complete
            and bool(scan.items)
            and (previous is None or len(scan.items) >= len(previous.by_id)),
            {found.id: found for found in scan.items},
            {text: tuple(items) for text, items in by_token.items()},
            {text: tuple(items) for text, items in by_title.items()},
        )

    def _resolve(self, library: _Library, item: MediaItem) -> tuple[LibraryItem, ...]:
        """The library items a requested item stands for (every copy of it), or none."""
        own = f"{self._flavour.namespace}:"
        for text in item.local_tokens:
            if text.startswith(own) and "#" not in text:
                found = library.by_id.get(text.removeprefix(own))
                # Another server of the same kind may use the same id for something else (Emby
                # ids are small numbers): the id counts only when the item agrees with it.
                if found is not None and _agrees(found.item, item):
                    return (found,)
        matches: dict[str, LibraryItem] = {}
        for text in item.tokens:
            for found in library.by_token.get(text, ()):
                if _same_kind(found.item, item):
                    matches.setdefault(found.id, found)
        if matches:
            return tuple(matches.values())
        return self._by_title(library, item)

    def _by_title(self, library: _Library, item: MediaItem) -> tuple[LibraryItem, ...]:
        """The one library item with exactly this title and year, if no id contradicts it."""
        if not item.title or not item.year:
            return ()
        candidates = [
            found
            for found in library.by_title.get(weak_key(item), ())
            if _same_kind(found.item, item) and not _contradicts(found.item, item)
        ]
        if len(candidates) != 1:
            return ()
        self.weak_matches += 1
        _LOGGER.info(
            "%s: matched %s by exact title and year only", self._flavour.name, item.label()
        )
        return (candidates[0],)


def _same_kind(found: MediaItem, wanted: MediaItem) -> bool:
    family = {MediaType.ANIME: MediaType.SHOW}
    return family.get(found.type, found.type) is family.get(wanted.type, wanted.type)


def _agrees(found: MediaItem, wanted: MediaItem) -> bool:
    """Whether a library item found by its local id is the requested item."""
    if found.type is not wanted.type:
        return False
    return bool(set(found.tokens) & set(wanted.tokens)) or weak_key(found) == weak_key(wanted)


def _contradicts(found: MediaItem, wanted: MediaItem) -> bool:
    """Whether the two items carry different ids in one namespace (a remake, a namesake)."""
    for mine, theirs in ((found.ids(), wanted.ids()), (found.show_ids(), wanted.show_ids())):
        for namespace, value in mine.items():
            if Namespace(namespace) in LOCAL_NAMESPACES:
                continue  # local ids differ between servers by nature
            if theirs.get(namespace) not in (None, value):
                return True
    return False


def _payload(feature: Feature, found: LibraryItem) -> Payload | None:
    data = found.user_data
    match feature:
        case Feature.HISTORY:
            if data.get("Played") is not True:
                return None
            return Watched.from_state(
                _int(data.get("PlayCount")) or 1, parse_date(data.get("LastPlayedDate"))
            )
        case Feature.WATCHLIST:
            return Listed() if data.get("IsFavorite") is True else None
        case Feature.RATINGS:
            raw = data.get("Rating")
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                return None
            try:
                value = to_normalized(RatingScale.DECIMAL_0_10, raw)
            except ValueError:
                return None
            return None if value is None else Rated(value)
