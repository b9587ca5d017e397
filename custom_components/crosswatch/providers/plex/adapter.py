"""Plex as an engine provider: a plex.tv account's watchlist, and its state on one server.

The adapter keeps the state a run needs between calls and decides each write's outcome; the
library scan is `library.py`, the Discover watchlist `watchlist.py`, and the wire is the client's.

Watched state and ratings come from one scan of the server's library, kept for `library_ttl`
seconds so that a run reading history and ratings reads the library once, and dropped after
every library write (a watchlist write does not touch it). After that, the last complete scan
is served again while the server's tallies of the feature stand, or caught up with the items
whose state changed since when that explains the tallies, for up to a day (kept.py).
Only a scan that was complete, not empty, and holds no fewer records than the scan before it is
reused: a partial, empty or shrunken scan is never served again without asking the server, so a
shrink is only ever confirmed by a fresh read. Play history (`/status/sessions/history/all`) is
admin-only and is never needed: `health()` only records whether the token may read it.

Plex has no activity stamp. Each read's checkpoint carries a digest of the snapshot's content as
its `etag`, a fingerprint of what was read. It is no evidence of real activity: a digest changes
with any shrink, a server's hiccup included.

Writes resolve the requested item to the server's library item by any shared id, else (only
for a unique match) by exact title and year, and name it in `stored_as`. Plex answers each call
on its own, so each written item is confirmed or rejected by its own reply. Plex cannot date a
play: a scrobble is dated when the server receives it. An item the scan shows watched already is
confirmed without a scrobble: one more would be a play of our own making (see _already_watched).
"""

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
import time

from ...clients.off_loop import off_loop
from ...clients.plex import PlexAccount, PlexClient, Section
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.items import MediaItem, MediaType
from ...engine.packed import PackedSnapshot, pack_snapshot
from ...engine.payloads import Entry, Feature, Payload, Rated
from ...engine.plan import Action
from ...engine.provider import (
    AnyRead,
    AuthError,
    ItemCounts,
    PackedRead,
    ProviderError,
    RateLimitError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ...engine.ratings import RatingScale, from_normalized
from ...engine.snapshot import Snapshot, partial as partial_read, versioned
from ..client_errors import HttpError, translating
from .kept import STATE_OF, KeptScan, LibraryMark, catch_up, library_mark
from .library import (
    SCANNED_TYPES,
    Library,
    LibraryRecord,
    PackedLibrary,
    pack_library,
    read_one,
    scan,
    unpack_library,
)
from .watchlist import discover_target, read_watchlist, search_watchlistable

NOT_IN_LIBRARY = "not_in_library"
NOT_ON_PLEX = "not_found_on_plex"
WATCHLIST_TYPES = "Plex watchlists hold movies and shows only"
CONFLICT = "a conflict is never written"
LIBRARY_TTL = 60.0

__all__ = [
    "CONFLICT",
    "LIBRARY_TTL",
    "NOT_IN_LIBRARY",
    "NOT_ON_PLEX",
    "WATCHLIST_TYPES",
    "Library",
    "LibraryRecord",
    "PlexProvider",
]


class PlexProvider:
    """One plex.tv account and one of its servers, as the engine sees them."""

    def __init__(
        self,
        client: PlexClient,
        *,
        account: PlexAccount | None = None,
        server_id: str | None = None,
        library_ttl: float = LIBRARY_TTL,
        title_matches: bool = True,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Wrap a client.

        `account` and `server_id` (the server's machine identifier), when known from setup,
        keep `key` stable before `health()` learns them. `title_matches` allows a write to land
        on the one library item of the same type, exact title and year when no id matches.
        """
        self._client = translating(client)
        self._account = account
        self._server_id = server_id
        self._ttl = library_ttl
        self._title_matches = title_matches
        self._now = now
        # The last scan: packed between runs (`rest`), made live again when a run needs it.
        self._library: Library | PackedLibrary | None = None
        self._scans = 0  # scans made: each is numbered (`Library.scan`)
        self._history_access: bool | None = None
        # Every movie and show section any scan met (key -> type): a section list that came
        # back short must not shrink what the server's own count is asked about.
        self._sections_met: dict[str, str] = {}
        # The last complete scan and the marks taken before it, served again while they stand.
        self._kept: KeptScan | None = None
        # Each feature's complete snapshot, with the scan it was built from (by its number).
        self._built: dict[Feature, tuple[int, PackedSnapshot, str]] = {}

    @property
    def key(self) -> str:
        """'plex:<account uuid>@<server machine id>', as far as known."""
        key = f"plex:{self._account.uuid}" if self._account else "plex"
        return f"{key}@{self._server_id}" if self._server_id else key

    @property
    def name(self) -> str:
        """'Plex (<username>)'."""
        return f"Plex ({self._account.username})" if self._account else "Plex"

    @property
    def capabilities(self) -> Capabilities:
        """A watched state without dates we can set, half-step ratings, per-item answers."""
        return Capabilities(
            features=frozenset(Feature),
            history=HistorySupport(multiple_plays=False, sets_watched_at=False),
            rating_scale=RatingScale.HALF_STEPS_0_10,
            batch_size=25,  # one request per item: small chunks keep progress committed
            confirms_per_item=True,
        )

    @property
    def play_history_available(self) -> bool | None:
        """Whether the token may read the server's play history (admins only); None: unknown.

        Watched state never depends on it: it comes from the library items themselves.
        """
        return self._history_access

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, to every Plex host."""
        return self._client.requests_made

    async def health(self) -> None:
        """Ask the server who it is, plex.tv whose the token is, and probe history access."""
        self._server_id = await self._client.machine_identifier()
        self._account = await self._client.account()
        # /identity answers without a token: the history probe is what checks the server's.
        self._history_access = await self._client.history_access()

    async def count_items(self, *, ask: bool) -> ItemCounts:
        """The library items the account played and rated, as the server tallies them.

        The tallies filter on the very fields a scan reads each item's state from (a play
        count, a rating above 0), one request per tallied type and feature, so they count the
        items a complete scan holds. Unasked, nothing is counted.
        """
        if not ask:
            return ItemCounts({}, {})
        counted: dict[Feature, int] = {}
        for feature in STATE_OF:
            mark = await library_mark(self._client, feature)
            counted[feature] = sum(tally.count for tally in mark.tallies)
        return ItemCounts(counted, {})

    # -- search ---------------------------------------------------------------------------

    @property
    def search_name(self) -> str:
        """Search results are Plex Discover's (the watchlist is Discover's)."""
        return "Plex"

    async def search_titles(self, text: str) -> Sequence[MediaItem]:
        """Films and shows Discover finds for `text`, in its order; each carries its Plex id."""
        return await search_watchlistable(self._client, text)

    # -- reads ----------------------------------------------------------------------------

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> AnyRead:
        """A present snapshot of `feature`; a failed page makes it partial, never short."""
        del checkpoint  # Plex has no activity stamp to compare with the last one
        if feature is Feature.WATCHLIST:
            entries, completeness = await read_watchlist(self._client, self._library_for_enrichment)
            snapshot, version = await off_loop(
                partial(versioned, self.name, feature, entries, completeness), size=len(entries)
            )
            return Read(snapshot, self._checkpoint(feature, version), version)
        fresh = await self._fresh_library(feature)
        built = self._built.get(feature)
        if built is not None and built[0] == fresh.scan:
            _, packed, version = built  # a kept scan served again: never unpacked
            return PackedRead(packed, self._checkpoint(feature, version), version)
        library = await self._live(fresh)
        snapshot, read_version = await off_loop(
            partial(_library_snapshot, self.name, feature, library), size=len(library.records)
        )
        if snapshot.complete and read_version is not None:
            kept = await off_loop(partial(pack_snapshot, snapshot), size=len(snapshot))
            self._built[feature] = (library.scan, kept, read_version)
        return Read(snapshot, self._checkpoint(feature, read_version), read_version)

    async def read_item(self, feature: Feature, local_id: str) -> Read:
        """A partial read of `feature` holding the library item `local_id` (its ratingKey).

        One request (two for an episode, whose show lends its ids), the item built as a scan
        builds it. An item the server does not have, or that does not hold the feature (not
        watched, not rated), leaves the read empty; it is partial all the same.
        """
        if feature is Feature.WATCHLIST:
            raise ProviderError("the watchlist is not read one item at a time")
        try:
            record = await read_one(self._client, local_id)
        except ValueError as err:
            raise ProviderError(str(err)) from err
        payload = _payload_of(record, feature) if record is not None else None
        entries = [Entry(record.item, payload)] if record is not None and payload else []
        snapshot = Snapshot.build(
            self.name, feature, entries, partial_read(f"the library item {local_id} only")
        )
        return Read(snapshot, None)

    async def find_item(self, local_id: str) -> MediaItem | None:
        """The library item `local_id` (its ratingKey), watched or not, built as a scan does.

        What a live scrobble sends its tracker (engine/scrobble.py): asked once per play.
        """
        try:
            record = await read_one(self._client, local_id)
        except ValueError as err:
            raise ProviderError(str(err)) from err
        return record.item if record is not None else None

    def _checkpoint(self, feature: Feature, version: str | None) -> Checkpoint:
        return Checkpoint(
            provider=self.key,
            feature=feature,
            watermark=None,
            # A fingerprint of the content read (its version; a partial read has none, and only
            # complete reads keep their checkpoint). It changes with a hiccup's shrink as much
            # as with the user's activity.
            etag=version,
            updated_at=datetime.fromtimestamp(self._now(), UTC),
        )

    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether the server's own count of library items agrees with `snapshot`'s scan.

        Watched state and ratings come from one scan of the library, so a list reply that lost
        items shows up as plays and ratings the user seems to have removed. The server counts
        each section's items apart from listing them: a scan that saw fewer items than it
        counts was short, whatever its totals said. The Discover watchlist has no such count.
        """
        if snapshot.feature is Feature.WATCHLIST:
            return None
        self._meet(await self._client.sections())
        counted = 0
        for section, kind in self._sections_met.items():
            for plex_type in SCANNED_TYPES[kind]:
                counted += await self._client.section_count(section, plex_type)
        return counted == snapshot.completeness.seen_total

    def _meet(self, sections: Sequence[Section]) -> None:
        self._sections_met.update(
            (section.key, section.type) for section in sections if section.type in SCANNED_TYPES
        )

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Ask the server again on the next read, however recent the last scan.

        Without `validated`, a kept scan is still served if its marks stand (the asking); with
        it, the library is scanned again. The watchlist is read afresh every time, so there is
        nothing else to forget. The old scan stays at hand for resolving writes until the next
        one replaces it.
        """
        if feature is Feature.WATCHLIST:
            return
        self._library = _staled(self._library)
        if validated:
            self._drop_kept()

    def _drop_kept(self) -> None:
        self._kept = None
        self._built.clear()

    async def rest(self) -> None:
        """Between runs, keep the last scan packed (a few megabytes instead of a hundred).

        The scan the reads keep (`KeptScan`) is the same scan, packed once.
        """
        kept = self._kept
        live = {id(x): x for x in (self._library, kept and kept.library) if isinstance(x, Library)}
        packed = {
            key: await off_loop(partial(pack_library, x), size=x.count) for key, x in live.items()
        }
        if isinstance(self._library, Library) and id(self._library) in packed:
            self._library = packed[id(self._library)]
        if kept is not None and self._kept is kept and id(kept.library) in packed:
            self._kept = replace(kept, library=packed[id(kept.library)])

    async def _live(self, library: Library | PackedLibrary) -> Library:
        """The scan, live: unpacked in the executor when it is packed (once a run).

        The provider then holds it live (as its last scan, and as the kept one) until it rests.
        """
        if isinstance(library, Library):
            return library
        live = await off_loop(partial(unpack_library, library), size=library.count)
        if self._library is library:
            self._library = live
        if self._kept is not None and self._kept.library is library:
            self._kept = replace(self._kept, library=live)
        return live

    async def _fresh_library(self, feature: Feature) -> Library | PackedLibrary:
        """A scan that shows `feature` as it is now.

        The last scan within its TTL, else the kept scan while the feature's mark stands
        (kept.py), else a new scan.
        """
        library = self._library
        if (
            library is not None
            and library.reusable
            and not library.stale
            and self._now() - library.read_at <= self._ttl
        ):
            return library
        kept = self._kept
        mark = await self._mark(feature)
        if kept is not None and mark is not None and kept.stands(feature, mark, self._now()):
            self._library = kept.library
            return kept.library
        if (
            kept is not None
            and mark is not None
            and (caught := await self._caught_up(kept, feature, mark))
        ):
            return caught
        # Every feature's mark, taken before the scan: a change during it shows at the next ask.
        marks = {feature: mark} | {
            other: await self._mark(other) for other in STATE_OF if other is not feature
        }
        library = await self._scan_library()
        if library.reusable:
            known = {f: m for f, m in marks.items() if m is not None}
            self._kept = KeptScan(library, known) if known else None
        return library

    async def _caught_up(
        self, kept: KeptScan, feature: Feature, mark: LibraryMark
    ) -> Library | None:
        """The kept scan caught up with what moved the feature's mark (kept.py), if it can be.

        Within the day of its full scan only; kept with the feature's new mark, as a scan of its
        own (a new number), whose other features' snapshots are the kept scan's.
        """
        before = kept.marks.get(feature)
        if before is None or not kept.within_day(self._now()):
            return None
        live = await self._live(kept.library)
        holding = self._kept  # the kept scan, live now
        if holding is None or holding.library is not live:
            return None
        caught = await catch_up(self._client, live, feature, before, mark)
        if caught is None or self._kept is not holding:
            return None  # or a write dropped the kept scan meanwhile
        self._scans += 1
        library = replace(caught, scan=self._scans)
        for other, (scan_number, packed, version) in list(self._built.items()):
            if other is not feature and scan_number == live.scan:
                self._built[other] = (library.scan, packed, version)
        self._kept = KeptScan(library, {**holding.marks, feature: mark})
        self._library = library
        return library

    async def _mark(self, feature: Feature) -> LibraryMark | None:
        """The feature's mark now; None when the server could not say (a scan then stands)."""
        try:
            return await library_mark(self._client, feature)
        except AuthError, RateLimitError:
            raise
        except ProviderError:
            return None

    async def _library_for_writes(self) -> Library:
        """A scan to resolve written items in: the last one, unless it is unfit for reuse.

        Watched state and ratings going stale does not matter here, ratingKeys and ids do: a
        write after an empty or partial scan would find nothing and be refused.
        """
        if self._library is not None and self._library.reusable:
            return await self._live(self._library)
        return await self._scan_library()

    async def _scan_library(self) -> Library:
        # The kept scan belongs to the scans the reads take (_fresh_library keeps it again).
        self._drop_kept()
        sections = await self._client.sections()
        self._meet(sections)
        library = await scan(self._client, sections, self._now)
        previous = self._library
        self._scans += 1
        library = replace(
            library,
            # An empty scan is never kept: asking again costs next to nothing if it is true.
            reusable=library.completeness.complete
            and bool(library.records)
            and (previous is None or library.count >= previous.count),
            scan=self._scans,
        )
        self._library = library
        return library

    async def _library_for_enrichment(self) -> Library | None:
        """The library, to lend ids to watchlist items that carry only Plex's own.

        Never an emptied, shrunken or partial scan: lending fewer ids would change the keys of
        watchlist items from one read to the next.
        """
        if self._library is not None and self._library.reusable:
            return await self._live(self._library)
        try:
            return await self._scan_library()
        except AuthError, RateLimitError:
            raise
        except ProviderError:
            return None  # the watchlist stands without the extra ids

    # -- writes ---------------------------------------------------------------------------

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """Write one batch, one request per item; each item answered by its own reply."""
        if action is Action.CONFLICT:
            return [WriteResult(r.item, WriteOutcome.REJECTED, CONFLICT) for r in requests]
        if feature is Feature.WATCHLIST:
            # Discover only: the library scan holds nothing a watchlist write changes.
            return [await self._write_watchlist(action, request) for request in requests]
        try:
            return [await self._write_library(feature, action, request) for request in requests]
        finally:
            # Even a batch cut short may have changed watched state or ratings.
            self._drop_kept()
            self._library = _staled(self._library)

    async def _write_library(
        self, feature: Feature, action: Action, request: WriteRequest
    ) -> WriteResult:
        item = request.item
        rating = _native_rating(feature, action, request.payload)
        if rating is None:
            return WriteResult(item, WriteOutcome.REJECTED, "a rating write needs a rating")
        library = await self._library_for_writes()
        rescanned = False
        while True:
            records, strong = library.find(item)
            if not strong and not self._title_matches:
                records = []
            if not records:
                reason = NOT_IN_LIBRARY
                if not library.completeness.complete:
                    reason += " (the library could not be read in full)"
                return WriteResult(item, WriteOutcome.REJECTED, reason)
            try:
                for record in records:
                    if _already_watched(feature, action, record):
                        continue
                    await self._apply(feature, action, record.rating_key, rating)
            except HttpError as err:
                # A library rescan hands out new ratingKeys: find the item again, once.
                if err.status == 404 and not rescanned:
                    rescanned = True
                    library = await self._scan_library()
                    continue
                if err.status == 404:
                    return WriteResult(item, WriteOutcome.REJECTED, NOT_IN_LIBRARY)
                return _failed(item, err)
            except AuthError, RateLimitError:
                raise
            except ProviderError as err:
                # A timeout or a 5xx: the call may or may not have landed.
                return WriteResult(item, WriteOutcome.UNKNOWN, str(err))
            stored = records[0].item
            return WriteResult(
                item, WriteOutcome.CONFIRMED, stored_as=stored if stored != item else None
            )

    async def _apply(
        self, feature: Feature, action: Action, rating_key: str, rating: float
    ) -> None:
        if feature is Feature.RATINGS:
            await self._client.rate(rating_key, rating)
        elif action is Action.REMOVE:
            await self._client.unscrobble(rating_key)
        else:
            await self._client.scrobble(rating_key)

    async def _write_watchlist(self, action: Action, request: WriteRequest) -> WriteResult:
        item = request.item
        if item.type not in (MediaType.MOVIE, MediaType.SHOW, MediaType.ANIME):
            return WriteResult(item, WriteOutcome.REJECTED, WATCHLIST_TYPES)
        try:
            library = None if self._library is None else await self._live(self._library)
            found = await discover_target(self._client, library, item)
            if found is None:
                return WriteResult(item, WriteOutcome.REJECTED, NOT_ON_PLEX)
            rating_key, stored = found
            if action is Action.REMOVE:
                await self._client.remove_from_watchlist(rating_key)
            else:
                await self._client.add_to_watchlist(rating_key)
        except HttpError as err:
            return _failed(item, err)
        except AuthError, RateLimitError:
            raise
        except ProviderError as err:
            return WriteResult(item, WriteOutcome.UNKNOWN, str(err))
        return WriteResult(
            item, WriteOutcome.CONFIRMED, stored_as=stored if stored != item else None
        )


def _staled(library: Library | PackedLibrary | None) -> Library | PackedLibrary | None:
    """The scan, marked stale: a write happened since (None stays None)."""
    if isinstance(library, Library):
        return replace(library, stale=True)
    if isinstance(library, PackedLibrary):
        return replace(library, stale=True)
    return None


def _already_watched(feature: Feature, action: Action, record: LibraryRecord) -> bool:
    """Whether marking `record` watched would only count our write as one more play.

    Plex keeps a watched state, so the engine only ever asks to mark an unwatched item watched.
    A scan that shows it watched already (an earlier read hid it) makes a scrobble a play of our
    own making, dated now: the next read would show it as a new play, and a two-way pair would
    carry it back to the side we copied from.
    """
    return feature is Feature.HISTORY and action is Action.ADD and record.watched is not None


def _failed(item: MediaItem, err: HttpError) -> WriteResult:
    """A refused call is rejected; a 5xx may have been applied before it failed: unknown."""
    outcome = WriteOutcome.UNKNOWN if err.status >= 500 else WriteOutcome.REJECTED
    return WriteResult(item, outcome, str(err))


def _native_rating(feature: Feature, action: Action, payload: Payload | None) -> float | None:
    """The userRating to send (-1 removes one); None for a rating write without a rating."""
    if feature is not Feature.RATINGS or action is Action.REMOVE:
        return -1
    if not isinstance(payload, Rated):
        return None
    return from_normalized(RatingScale.HALF_STEPS_0_10, payload.value)


def _library_snapshot(
    provider: str, feature: Feature, library: Library
) -> tuple[Snapshot, str | None]:
    """The snapshot of `feature` a scan shows, and its version (a job for the executor)."""
    completeness = library.completeness
    entries = [
        Entry(record.item, payload)
        for record in library.records
        if (payload := _payload_of(record, feature)) is not None
    ]
    if unreadable := library.unreadable.get(feature):
        # A record we cannot read would look like an item the user removed.
        note = f"{unreadable} records could not be read"
        failure = completeness.failure
        completeness = replace(completeness, failure=f"{failure}; {note}" if failure else note)
    return versioned(provider, feature, entries, completeness)


def _payload_of(record: LibraryRecord, feature: Feature) -> Payload | None:
    return record.watched if feature is Feature.HISTORY else record.rated
