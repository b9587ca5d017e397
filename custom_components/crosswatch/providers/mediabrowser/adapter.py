"""Jellyfin and Emby as CrossWatch providers: one MediaBrowser base, two flavours.

What the servers hold, and how it maps onto the engine's features:
- history: `UserData.Played`, `PlayCount` and `LastPlayedDate`, a watched state (no plays);
- watchlist: these servers have none, so **Favorites** (`UserData.IsFavorite`) stand in;
- ratings: `UserData.Rating`, a double from 0 to 10 (`DECIMAL_0_10`), with no date.

This module is what the engine talks to; how a read pages (`reads`), how a write finds its item
(`library`) and how a user-data write leaves the rest alone (`writes`) each live apart.

A complete read is kept and brought up to date by what the server says changed since it began:
a run asks one question per feature instead of scanning the library, and reads only the items
the answer lists, if any (see `kept`).

The library index writes resolve in is kept for `library_ttl` seconds, and only when the read it
came from was complete, not empty, and no smaller than the index before it: a write after an
emptied or shrunken read reads the library again instead of refusing items as not in it. Writes
change no item ids, so they leave the index in place (a 404 reads it again).

Items that cannot be resolved are rejected as `not_in_library`. A write answers `stored_as` =
the library item (with its local id) whenever that differs from the requested item, which is how
the engine learns to recognise library items that have no ProviderIds.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
import logging
import time
from typing import ClassVar, Final

from ...clients.mediabrowser import Credentials, Flavour, MediaBrowserClient, ServerInfo
from ...clients.off_loop import off_loop
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.items import MediaItem
from ...engine.packed import pack_snapshot
from ...engine.payloads import Entry, Feature, Rated
from ...engine.plan import Action
from ...engine.provider import (
    AnyRead,
    AuthError,
    ItemCounts,
    PackedRead,
    ProviderError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ...engine.ratings import RatingScale
from ...engine.snapshot import Snapshot, partial as partial_read, versioned
from ..client_errors import HttpError, translates_client_errors, translating
from .kept import (
    Folded,
    KeptRead,
    KeptReads,
    News,
    fold,
    held_by,
    moved,
    news_of,
    nothing_new,
    pack_held,
)
from .library import Library, PackedLibrary, index, pack_library, resolve, unpack_library
from .reads import (
    ALL_TYPES,
    FATAL,
    QUERIES,
    LibraryItem,
    Scan,
    changes_since,
    library_item,
    payload,
    read_one,
    scan,
)
from .writes import UserDataWriter

_LOGGER = logging.getLogger(__name__)

NOT_IN_LIBRARY: Final = "not_in_library"
# What "add by title" searches: the kinds a watchlist (the favourites) lists, a page of hits.
SEARCHED_TYPES: Final = ("Movie", "Series")
SEARCH_LIMIT: Final = 20
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
# How long a kept read may stand in for a scan while the server reports no change.
FULL_READ_EVERY: Final = 24 * 3600.0


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
        full_read_every: float = FULL_READ_EVERY,
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
        # The write index: packed between runs (`rest`), made live again when writes need it.
        self._library: Library | PackedLibrary | None = None
        self._library_lock = asyncio.Lock()
        self._kept = KeptReads(clock, full_read_every)
        self._writer = UserDataWriter(self._client, account.user_id, clock=clock, ttl=library_ttl)
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
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> AnyRead:
        """A present snapshot of one feature; a page that fails makes it partial.

        No checkpoint is kept: the kept read (see the module's docstring) is the provider's.
        """
        types, filters = QUERIES[feature]
        if (kept := self._kept.usable(feature)) is not None and (
            served := await self._since(feature, kept, types)
        ) is not None:
            return served
        found = await self._scan(types, filters)
        if feature is Feature.RATINGS:
            # A ratings read is a whole-library read: it doubles as the index writes resolve in.
            self._library = await self._index(found)

        def indexed() -> tuple[Snapshot, str | None]:
            entries = [entry for _, entry in held_by(feature, found.items)]
            return versioned(self.key, feature, entries, found.completeness)

        snapshot, version = await off_loop(indexed, size=len(found.items))
        packed_read, rows = None, None
        if version is not None:  # complete: kept, packed, for the reads that follow
            packed = await off_loop(partial(pack_snapshot, snapshot), size=len(snapshot))
            packed_read = PackedRead(packed, None, version)
            held = partial(pack_held, held_by(feature, found.items))
            rows = await off_loop(held, size=len(found.items))
        self._kept.keep(feature, packed_read, rows, found)
        return Read(snapshot, None, version)

    async def read_item(self, feature: Feature, local_id: str) -> Read:
        """A partial read of `feature` holding the library item `local_id` (the server's id).

        Built as a scan builds it; an item the server does not have, or that does not hold the
        feature, leaves the read empty. It is partial all the same: it says nothing of the rest.
        """
        found = await read_one(self._client, self._account.user_id, local_id)
        held = payload(feature, found) if found is not None else None
        entries = [Entry(found.item, held)] if found is not None and held is not None else []
        completeness = partial_read(f"the library item {local_id} only")
        return Read(Snapshot.build(self.key, feature, entries, completeness), None)

    async def find_item(self, local_id: str) -> MediaItem | None:
        """The library item `local_id`, watched or not, built as a scan builds it.

        What a live scrobble sends its tracker (engine/scrobble.py): asked once per play.
        """
        found = await read_one(self._client, self._account.user_id, local_id)
        return found.item if found is not None else None

    async def _since(
        self, feature: Feature, kept: KeptRead, types: Sequence[str]
    ) -> AnyRead | None:
        """`kept`, brought up to date by what the server saved since it began; None: scan.

        Nothing saved: the kept read as it was (one request). A few items saved: they are read
        from the question's own answer and folded on (see `kept`). An answer that failed, is
        partial, or lists more items than a scan is worth is no word on what changed.
        """
        most = max(self._client.page_size, kept.scanned // 2)
        try:
            changes = await changes_since(
                self._client, self._account.user_id, types, kept.since, most=most
            )
        except FATAL:
            raise
        except ProviderError:
            return None
        answered_at = changes.scan.started_at
        if not changes.scan.completeness.complete or answered_at is None:
            return None
        if not changes.listed:
            return kept.read

        def weighed() -> tuple[News, bool]:
            news = news_of(feature, changes)
            return news, nothing_new(kept, news)

        # An answer may list up to half the library (`most`): weighed off the loop when large.
        news, unchanged = await off_loop(weighed, size=len(changes.listed))
        if unchanged:
            self._kept.update(feature, kept, moved(kept, news, answered_at))
            return kept.read
        folding = partial(fold, kept, news)
        folded: Folded = await off_loop(folding, size=kept.rows.count + len(news))
        self._kept.update(feature, kept, moved(folded.kept, news, answered_at))
        return folded.read

    @translates_client_errors
    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether the server's own count of the user's favourites agrees with the read.

        `/Items/Counts` counts favourites apart from listing them, so a list reply that lost
        favourites under complete-looking totals disagrees with it. Played state and ratings
        have no such count.
        """
        if snapshot.feature is not Feature.WATCHLIST:
            return None
        types, _ = QUERIES[Feature.WATCHLIST]
        counted = await self._client.favorite_count(self._account.user_id, types)
        return counted == snapshot.completeness.seen_total

    @translates_client_errors
    async def count_items(self, *, ask: bool) -> ItemCounts:
        """The played movies and episodes the server counts: one request, when asked.

        One page of one played item with the server's total: the items a history read holds.
        Neither server can filter on "has a rating", so rated items are untold.
        """
        untold = {
            Feature.RATINGS: (
                f"{self._flavour.name} cannot count rated items without reading the library"
            )
        }
        if not ask:
            return ItemCounts({}, untold)
        types, filters = QUERIES[Feature.HISTORY]
        page = await self._client.items_page(
            self._account.user_id, types=types, filters=filters, start=0, limit=1
        )
        if page.total is None:
            raise ProviderError(f"{self._flavour.name} sent no total of the played items")
        return ItemCounts({Feature.HISTORY: page.total}, untold)

    # Search ----------------------------------------------------------------------------------

    @property
    def search_name(self) -> str:
        """Search results are the server's library's."""
        return self._flavour.name

    @translates_client_errors
    async def search_titles(self, text: str) -> Sequence[MediaItem]:
        """Films and shows of the server's library whose name holds `text`, best first.

        The watchlist is the user's favourites, so only what the library holds can be listed.
        Each hit carries the server's own id, which a watchlist write goes by.
        """
        page = await self._client.search(
            self._account.user_id, text, types=SEARCHED_TYPES, limit=SEARCH_LIMIT
        )
        namespace = self._flavour.namespace
        found: list[MediaItem] = []
        for row in page.items:
            hit = library_item(row, {}, namespace=namespace, series_failed=False)
            if hit is not None:
                found.append(hit.item)
        return found

    async def _scan(self, types: Sequence[str], filters: Sequence[str]) -> Scan:
        return await scan(self._client, self._account.user_id, types, filters)

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
            if isinstance(self._library, Library):
                library = self._library  # a rescan for one request serves the next ones
        return results

    async def _write_one(
        self, library: Library, feature: Feature, action: Action, request: WriteRequest
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
                await self._writer.apply(feature, action, request.payload, targets)
            except HttpError as err:
                if err.status != 404:
                    raise
                # A rescan hands out new item ids: read the library again and try once more.
                library = await self._fresh_library(force=True)
                targets = self._resolve(library, request.item)
                if not targets:
                    return self._unresolved(library, request)
                await self._writer.apply(feature, action, request.payload, targets)
        except FATAL:
            raise
        except HttpError as err:
            if err.status == 404:
                return WriteResult(request.item, WriteOutcome.REJECTED, NOT_IN_LIBRARY)
            if 400 <= err.status < 500:
                return WriteResult(request.item, WriteOutcome.REJECTED, str(err))
            self._wrote(feature, action, request, targets)
            return WriteResult(request.item, WriteOutcome.UNKNOWN, str(err))
        except ProviderError as err:
            # A timeout may or may not have landed: the engine verifies it on the next read.
            self._wrote(feature, action, request, targets)
            return WriteResult(request.item, WriteOutcome.UNKNOWN, str(err))
        self._wrote(feature, action, request, targets)
        stored = targets[0].item
        return WriteResult(
            request.item,
            WriteOutcome.CONFIRMED,
            stored_as=None if stored == request.item else stored,
        )

    def _wrote(
        self,
        feature: Feature,
        action: Action,
        request: WriteRequest,
        targets: Sequence[LibraryItem],
    ) -> None:
        """Reads of `feature` scan until one shows what this write left (see `kept`)."""
        written = None if action is Action.REMOVE else request.payload
        self._kept.wrote(feature, (target.id for target in targets), written)

    def _unresolved(self, library: Library, request: WriteRequest) -> WriteResult:
        reason = NOT_IN_LIBRARY if library.complete else f"{NOT_IN_LIBRARY} (library read partial)"
        return WriteResult(request.item, WriteOutcome.REJECTED, reason)

    # Resolving requested items to library items -----------------------------------------

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Index the library anew before the next write; with `validated`, scan on the next read.

        A kept read is served only once the server vouched that nothing changed, so only a
        read the engine wants fresh from the library itself drops it.
        """
        self._library = None
        if validated:
            self._kept.forget(feature)

    async def rest(self) -> None:
        """Between runs, keep the write index packed (a few megabytes instead of tens)."""
        async with self._library_lock:
            library = self._library
            if isinstance(library, Library):
                self._library = await off_loop(
                    partial(pack_library, library), size=len(library.items)
                )

    async def _fresh_library(self, *, force: bool = False) -> Library:
        async with self._library_lock:
            library = self._library
            if (
                force
                or library is None
                or not library.reusable
                or self._clock() - library.built_at > self._library_ttl
            ):
                library = await self._index(await self._scan(ALL_TYPES, ()))
                self._library = library
            elif isinstance(library, PackedLibrary):
                library = await off_loop(partial(unpack_library, library), size=library.rows)
                self._library = library
            return library

    async def _index(self, found: Scan) -> Library:
        """The write index of a whole-library scan, built in the executor.

        On the loop, 100,000 items held it for 0.4 s.
        """
        indexing = partial(index, found, self._library, self._clock())
        return await off_loop(indexing, size=len(found.items))

    def _resolve(self, library: Library, item: MediaItem) -> tuple[LibraryItem, ...]:
        """The library items a requested item stands for (every copy of it), or none."""
        resolved = resolve(library, item, self._flavour.namespace)
        if resolved.weak:
            self.weak_matches += 1
            _LOGGER.info(
                "%s: matched %s by exact title and year only", self._flavour.name, item.label()
            )
        return resolved.targets
