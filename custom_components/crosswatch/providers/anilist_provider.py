"""AniList as an engine provider: one account's anime list as watchlist, history and ratings.

How the list maps onto the engine's features:
- watchlist: entries with status PLANNING, listed at their creation;
- history: COMPLETED and REPEATING entries, and CURRENT ones with progress: a watched state of
  `1 + repeat` plays, last watched on the completion date (AniList keeps days, not times, so it
  reads as noon UTC, within a day of that date's any hour in any time zone);
- ratings: every entry with a score above 0, on the user's own score format.

Every read is the whole `MediaListCollection` (AniList has no activity watermark), in chunks
of 500, and one read serves all three features for a minute; any write drops it. After that
minute, a complete read is served again while the list's mark (the entry edited last and the
count of each status, one request) stands, for up to a day (see anilist_kept.py). A chunk
that fails after the first (a malformed reply included) makes the read partial, never short; a
first chunk that fails fails the read. Only a list read whole, not empty and no shorter than the
read before it is kept for reuse: an emptied or shrunken list is asked for again by the next
read, so a shrink is only ever confirmed by a fresh read, never by the cache.

Writes are one mutation per item, after one lookup of the live entries of the whole batch, so
the rules below are decided on what AniList holds now, not on a read from minutes ago:
- a watchlist add never turns a started, completed or dropped entry back into PLANNING;
- a watchlist removal deletes an entry only while it is still PLANNING (any other entry is
  already off the watchlist, and deleting it would take its history and score along);
- a history add sets COMPLETED with the episode count and the completion date, and never
  lowers a rewatch count or moves a completion date back;
- a history removal is refused (`anilist_keeps_history`): AniList can only unwatch a title by
  deleting its entry (score and notes with it) or by making it PLANNING again, which would put
  it on the watchlist and spread from there to every watchlist pair;
- a rating needs an entry (AniList keeps scores on list entries only); it is never the reason
  an entry is created, since that would claim the user plans or watched the title;
- an item without an AniList id cannot be written (`no_anilist_id`); ID backfill enriches it.
A batch cut short by an error raises, and nothing is lost by writing it again: every mutation
states the wanted end state, so repeating one is harmless.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time as day_time, timedelta
from functools import partial
import time
from typing import Final

from ..clients.anilist.client import AniListClient, GraphQLError
from ..clients.anilist.models import (
    COMPLETED,
    PLANNING,
    EntryChange,
    ListEntry,
    ListMark,
    LiveEntry,
    LiveMedia,
    SavedEntry,
    ScoreFormat,
    Viewer,
)
from ..clients.http import RateLimit
from ..clients.off_loop import off_loop
from ..engine.capabilities import Capabilities, HistorySupport
from ..engine.cursor import Checkpoint
from ..engine.items import MediaItem, MediaType
from ..engine.packed import pack_snapshot
from ..engine.payloads import Entry, Feature, Listed, Payload, Rated, Watched
from ..engine.plan import Action
from ..engine.provider import (
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
from ..engine.ratings import RatingScale, from_normalized, quantize, to_normalized
from ..engine.snapshot import Completeness, Snapshot, versioned
from .anilist_kept import KeptList
from .anilist_packing import PackedListEntries, pack_list_entries, unpack_list_entries
from .client_errors import client_cause, translates_client_errors, translating

BATCH_SIZE: Final = 10  # one lookup plus up to ten mutations: a third of a minute's budget
READ_REUSE_SECONDS: Final = 60.0
HISTORY_SUPPORT: Final = HistorySupport(
    multiple_plays=False, sets_watched_at=True, precision=timedelta(days=1)
)
_NOON: Final = day_time(12, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Collection:
    """One read of the whole list; its entries live, or packed between runs (`rest`)."""

    viewer: Viewer
    entries: tuple[ListEntry, ...] | PackedListEntries
    failure: str | None
    fetched_at: float
    number: int  # which read of the list this is (the reads built from it name it)


@dataclass(frozen=True, slots=True)
class _Built:
    """A feature's read, built from the list read numbered `number`, packed."""

    number: int
    read: PackedRead


def _counts_of(score_format: ScoreFormat, entries: tuple[ListEntry, ...]) -> ItemCounts:
    """The watched and rated entries a complete read of the list holds, counted (pure).

    A feature with a score that is not a value of the user's scale is not counted: its read is
    not complete either.
    """
    scale = RatingScale.for_anilist(score_format)
    counted: dict[Feature, int] = {}
    for feature in (Feature.HISTORY, Feature.RATINGS):
        try:
            counted[feature] = sum(
                1 for entry in entries if _payload(feature, entry, scale) is not None
            )
        except ValueError:
            continue
    return ItemCounts(counted, {})


def _with_entries[C: (_Collection, KeptList[_Collection])](
    held: C | None, old: object, new: tuple[ListEntry, ...] | PackedListEntries
) -> C | None:
    """`held` holding `new` where it held `old` (the same entries, packed or unpacked)."""
    if isinstance(held, KeptList):
        collection = held.collection
        if collection.entries is old:
            return replace(held, collection=replace(collection, entries=new))
    elif held is not None and held.entries is old:
        return replace(held, entries=new)
    return held


def _read_of(
    provider: str, feature: Feature, collection: _Collection, list_entries: tuple[ListEntry, ...]
) -> Read:
    """One feature's read of the list: its entries, snapshot and content version.

    No checkpoint: AniList has no activity watermark, and one derived from the content would
    only fingerprint the very read it came from.
    """
    scale = RatingScale.for_anilist(collection.viewer.score_format)
    entries: list[Entry] = []
    unreadable = 0
    for entry in list_entries:
        try:
            payload = _payload(feature, entry, scale)
        except ValueError:
            unreadable += 1
            continue
        if payload is not None:
            entries.append(Entry(_item(entry), payload))
    failures = [collection.failure] if collection.failure else []
    if unreadable:
        failures.append(f"{unreadable} scores are not values of {scale}")
    completeness = Completeness(
        all_pages=collection.failure is None,
        seen_total=len(entries),
        failure="; ".join(failures) or None,
    )
    snapshot, version = versioned(provider, feature, entries, completeness)
    return Read(snapshot, None, version)


@dataclass(slots=True)
class _BatchState:
    """The live media of a batch, updated as its writes land."""

    scale: RatingScale
    media: dict[int, LiveMedia] = field(default_factory=dict)


class AniListProvider:
    """One AniList account as the engine sees it."""

    def __init__(
        self,
        client: AniListClient,
        *,
        user_id: int,
        user_name: str,
        score_format: str = RatingScale.ANILIST_POINT_10.value,
        reuse_for: float = READ_REUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Bind the client to the account its token was validated for (see validate_token)."""
        self._client = translating(client)
        self._user_id = user_id
        self._user_name = user_name
        self._scale = RatingScale.for_anilist(score_format)
        self._reuse_for = reuse_for
        self._clock = clock
        self._lock = asyncio.Lock()
        self._collection: _Collection | None = None
        self._kept: KeptList[_Collection] | None = None
        self._last_size: int | None = None  # entries of the last list read whole
        self._reads_taken = 0  # list reads fetched, to number them
        # The watched and rated entries of the last list read whole, counted as it arrived.
        self._whole_counts: ItemCounts | None = None
        # The complete read of each feature built from a list read, handed back while that
        # list read is served (the kept list): equal entries make an equal read.
        self._built: dict[Feature, _Built] = {}

    @property
    def key(self) -> str:
        """Keyed by user id, which survives a rename."""
        return f"anilist:{self._user_id}"

    @property
    def name(self) -> str:
        """The account as plans name it."""
        return f"AniList ({self._user_name})"

    @property
    def capabilities(self) -> Capabilities:
        """A watched state with day precision, on the user's current score format."""
        return Capabilities(
            features=frozenset(Feature),
            history=HISTORY_SUPPORT,
            rating_scale=self._scale,
            batch_size=BATCH_SIZE,
            confirms_per_item=True,
        )

    @property
    def requests_made(self) -> int:
        """Requests the client has made."""
        return self._client.requests_made

    @property
    def rate_limit(self) -> RateLimit | None:
        """The quota AniList last reported (X-RateLimit-* headers)."""
        return self._client.rate_limit

    @translates_client_errors
    async def health(self) -> None:
        """Raise AuthError for an expired or foreign token, ProviderError when AniList is down."""
        if self._client.tokens.expires_within(0):
            raise AuthError("the AniList token has expired; paste a new one")
        self._adopt(await self._client.viewer())

    def _adopt(self, viewer: Viewer) -> None:
        # Writing one account's sync into another's list would be worse than not syncing.
        if viewer.id != self._user_id:
            raise AuthError(
                f"the AniList token belongs to {viewer.name} ({viewer.id}), "
                f"not to {self._user_name} ({self._user_id})"
            )
        self._user_name = viewer.name
        self._scale = RatingScale.for_anilist(viewer.score_format)

    @translates_client_errors
    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> AnyRead:
        """The whole list, filtered to one feature.

        AniList has no activity watermark, so no checkpoint is returned: a watermark derived
        from the content would only fingerprint the very read it came from.
        """
        collection = await self._read_collection()
        built = self._built.get(feature)
        if built is not None and built.number == collection.number:
            return built.read  # the kept list, served again: its snapshot is built already
        list_entries = await self._live_entries(collection)
        read = await off_loop(
            partial(_read_of, self.name, feature, collection, list_entries),
            size=len(list_entries),
        )
        if read.snapshot.complete and read.version is not None:
            size = len(read.snapshot)
            packed = await off_loop(partial(pack_snapshot, read.snapshot), size=size)
            self._built[feature] = _Built(collection.number, PackedRead(packed, None, read.version))
        return read

    async def rest(self) -> None:
        """Between runs, keep the list read packed: a few megabytes instead of tens.

        The reads built from it are kept packed already (`_built`), so a run that is served
        the kept list again never unpacks it.
        """
        async with self._lock:
            held = (self._collection, self._kept.collection if self._kept else None)
            live = next(
                (c.entries for c in held if c is not None and isinstance(c.entries, tuple)), None
            )
            if live is None:
                return
            packed = await off_loop(partial(pack_list_entries, live), size=len(live))
            self._collection = _with_entries(self._collection, live, packed)
            self._kept = _with_entries(self._kept, live, packed)

    async def _live_entries(self, collection: _Collection) -> tuple[ListEntry, ...]:
        """The collection's entries, unpacked in the executor if it rested (once a run)."""
        held = collection.entries
        if not isinstance(held, PackedListEntries):
            return held
        async with self._lock:
            current = self._collection
            if (
                current is not None
                and current.number == collection.number
                and isinstance(current.entries, tuple)
            ):
                return current.entries  # another feature's read unpacked it meanwhile
            live = await off_loop(partial(unpack_list_entries, held), size=len(held))
            # Live again until the run ends: the next feature's read unpacks nothing.
            self._collection = _with_entries(self._collection, held, live)
            self._kept = _with_entries(self._kept, held, live)
            return live

    async def count_items(self, *, ask: bool) -> ItemCounts:
        """The watched and rated entries of the list the provider keeps, with no request.

        AniList's statistics count statuses, not what is synced (an entry being watched with
        no episode seen yet is no history), so the count is the last list read whole, taken as
        it arrived (the to-do list's first read is one: a watchlist read reads the whole list).
        Until then, nothing is counted. `ask` changes nothing: AniList serves 30 requests a
        minute.
        """
        del ask
        return self._whole_counts or ItemCounts({}, {})

    @translates_client_errors
    async def count_agrees(self, snapshot: Snapshot) -> bool | None:
        """Whether AniList's own statistics count as many PLANNING entries as the read saw.

        The user statistics count the list by status apart from listing it, so a collection
        that came back short disagrees with them. Watched state and scores have no such count
        that maps one to one onto what is synced.
        """
        if snapshot.feature is not Feature.WATCHLIST:
            return None
        counts = await self._client.status_counts(self._user_id)
        return counts.get(PLANNING, 0) == snapshot.completeness.seen_total

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Ask AniList again on the next read (one list serves every feature).

        With `validated`, read the whole list again, whatever its mark says.
        """
        del feature
        self._collection = None
        if validated:
            self._kept = None
            self._built.clear()

    async def _read_collection(self) -> _Collection:
        async with self._lock:
            cached = self._collection
            if cached is not None and self._clock() - cached.fetched_at < self._reuse_for:
                return cached
            mark = await self._mark()
            kept = self._kept
            if kept is not None and mark is not None and kept.stands(mark, self._clock()):
                self._collection = replace(kept.collection, fetched_at=self._clock())
                return self._collection
            collection = await self._fetch_collection()
            size, previous = len(collection.entries), self._last_size
            whole = collection.failure is None
            keep = whole and size > 0 and (previous is None or size >= previous)
            self._collection = collection if keep else None
            self._kept = (
                KeptList(collection, mark, collection.fetched_at)
                if keep and mark is not None
                else None
            )
            if whole:
                self._last_size = size
            return collection

    async def _mark(self) -> ListMark | None:
        """The list's mark, taken before a read; None when AniList could not say."""
        try:
            return await self._client.latest_change(self._user_id)
        except AuthError, RateLimitError:
            raise
        except ProviderError:
            return None  # the whole list is read, and nothing is kept

    async def _fetch_collection(self) -> _Collection:
        viewer = await self._client.viewer()
        self._adopt(viewer)
        seen: dict[int, ListEntry] = {}
        malformed = 0
        failure: str | None = None
        number = 1
        while True:
            try:
                chunk = await self._client.collection_chunk(viewer.id, viewer.score_format, number)
            except AuthError:
                raise
            except ProviderError as err:
                if number == 1:
                    raise
                failure = f"chunk {number} of the list could not be read: {err}"
                break
            malformed += chunk.malformed
            # An entry shows in its status list and again in each custom list it is on.
            for entry in chunk.entries:
                seen.setdefault(entry.id, entry)
            if not chunk.has_next:
                break
            number += 1
        if failure is None and malformed:
            failure = f"{malformed} list entries could not be read"
        self._reads_taken += 1
        entries = tuple(seen.values())
        if failure is None:  # a list read whole: what the account sensors count
            counting = partial(_counts_of, viewer.score_format, entries)
            self._whole_counts = await off_loop(counting, size=len(entries))
        return _Collection(viewer, entries, failure, self._clock(), self._reads_taken)

    @property
    def search_name(self) -> str:
        """Search results are AniList's."""
        return "AniList"

    @translates_client_errors
    async def search_titles(self, text: str) -> Sequence[MediaItem]:
        """Anime AniList finds for `text`: its best match first, then the most popular."""
        return [
            MediaItem.create(
                MediaType.MOVIE if found.format == "MOVIE" else MediaType.ANIME,
                title=found.title,
                year=found.year,
                ids={"anilist": found.id, "mal": found.id_mal},
            )
            for found in await self._client.search(text)
        ]

    @translates_client_errors
    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """Write one batch: one lookup, then one mutation per item that needs one."""
        results: list[WriteResult | None] = [None] * len(requests)
        wanted: dict[int, list[int]] = {}
        for index, request in enumerate(requests):
            media_id = _anilist_id(request.item)
            if media_id is None:
                results[index] = _rejected(request, "no_anilist_id")
            elif action is Action.CONFLICT:
                results[index] = _rejected(request, "conflicts_are_not_written")
            else:
                wanted.setdefault(media_id, []).append(index)
        if wanted:
            # Whatever happens next may change the list: the next read must be a fresh one.
            self._collection = self._kept = None
            self._built.clear()
            lookup = await self._client.lookup(list(wanted))
            self._adopt(lookup.viewer)
            state = _BatchState(
                RatingScale.for_anilist(lookup.viewer.score_format), dict(lookup.media)
            )
            for media_id, indexes in wanted.items():
                for index in indexes:
                    results[index] = await self._write_one(
                        feature, action, requests[index], media_id, state
                    )
        return [result for result in results if result is not None]

    async def _write_one(
        self,
        feature: Feature,
        action: Action,
        request: WriteRequest,
        media_id: int,
        state: _BatchState,
    ) -> WriteResult:
        media = state.media.get(media_id)
        if media is None:
            if action is Action.REMOVE:
                return _confirmed(request)  # no such anime: nothing of it is on the list
            return _rejected(request, "not_found")
        try:
            match feature:
                case Feature.WATCHLIST:
                    return await self._write_watchlist(action, request, media, state)
                case Feature.HISTORY:
                    return await self._write_history(action, request, media, state)
                case Feature.RATINGS:
                    return await self._write_rating(action, request, media, state)
        except ProviderError as err:
            refused = client_cause(err, GraphQLError)
            if refused is not None and refused.not_found:
                return _rejected(request, "not_found")
            if refused is not None and refused.invalid:
                return _rejected(request, f"invalid: {err}")
            raise

    async def _write_watchlist(
        self, action: Action, request: WriteRequest, media: LiveMedia, state: _BatchState
    ) -> WriteResult:
        entry = media.entry
        if action is Action.REMOVE:
            if entry is None or entry.status != PLANNING:
                return _confirmed(request)  # off the watchlist; a started entry is history
            if not await self._client.delete_entry(entry.id):
                return _rejected(request, "not_deleted")
            state.media[media.id] = LiveMedia(media.id, media.episodes, None)
            return _confirmed(request)
        if entry is not None:
            if entry.status == PLANNING:
                return _confirmed(request)
            return _rejected(request, f"on_list_as_{entry.status.lower()}")
        saved = await self._save(state, media, EntryChange(media.id, status=PLANNING))
        return _outcome(request, saved is not None and saved.status == PLANNING)

    async def _write_history(
        self, action: Action, request: WriteRequest, media: LiveMedia, state: _BatchState
    ) -> WriteResult:
        entry = media.entry
        if action is Action.REMOVE:
            if entry is None or not entry.in_history:
                return _confirmed(request)
            return _rejected(request, "anilist_keeps_history")
        if not isinstance(request.payload, Watched):
            return _rejected(request, "not_a_watched_state")
        change = _history_change(media, request.payload)
        if change is None:
            return _confirmed(request)  # the entry already shows it watched
        saved = await self._save(state, media, change)
        return _outcome(request, saved is not None and saved.status == COMPLETED)

    async def _write_rating(
        self, action: Action, request: WriteRequest, media: LiveMedia, state: _BatchState
    ) -> WriteResult:
        entry = media.entry
        if action is Action.REMOVE:
            if entry is None or entry.score_raw == 0:
                return _confirmed(request)
            saved = await self._save(state, media, EntryChange(media.id, score_raw=0))
            return _outcome(request, saved is not None and saved.score == 0)
        if not isinstance(request.payload, Rated):
            return _rejected(request, "not_a_rating")
        if entry is None:
            return _rejected(request, "not_on_list")
        scale, value = state.scale, request.payload.value
        if scale is RatingScale.ANILIST_POINT_3:
            # Where AniList puts smileys on its 100-point scale is not documented: say the smiley.
            change = EntryChange(media.id, score=from_normalized(scale, value))
        else:
            # Every other format's steps are whole points of 100, so the raw score is exact.
            change = EntryChange(media.id, score_raw=round(quantize(scale, value) * 10))
        saved = await self._save(state, media, change)
        stored = to_normalized(scale, saved.score) if saved is not None else None
        return _outcome(request, stored == quantize(scale, value))

    async def _save(
        self, state: _BatchState, media: LiveMedia, change: EntryChange
    ) -> SavedEntry | None:
        saved = await self._client.save_entry(change, ScoreFormat(state.scale.value))
        if saved is not None:
            previous = media.entry
            completed = change.completed_at
            state.media[media.id] = LiveMedia(
                media.id,
                media.episodes,
                LiveEntry(
                    saved.id,
                    saved.status,
                    saved.progress,
                    saved.repeat,
                    # Later writes in the batch only ask whether a score is set at all.
                    saved.score,
                    completed
                    if completed is not None
                    else previous.completed_at
                    if previous is not None
                    else None,
                ),
            )
        return saved


def _history_change(media: LiveMedia, watched: Watched) -> EntryChange | None:
    """The change that records `watched`, or None when the entry already shows it."""
    entry = media.entry
    status: str | None = None
    progress: int | None = None
    repeat: int | None = None
    completed_at: date | None = None
    if entry is None or entry.status != COMPLETED:
        status = COMPLETED
        if media.episodes:
            progress = media.episodes
    rewatches = watched.play_count - 1
    if rewatches > (entry.repeat if entry is not None else 0):
        repeat = rewatches
    if watched.last_watched_at is not None:
        day = watched.last_watched_at.astimezone(UTC).date()
        if entry is None or entry.completed_at is None or day > entry.completed_at:
            completed_at = day
    if status is None and repeat is None and completed_at is None:
        return None
    return EntryChange(
        media.id, status=status, progress=progress, repeat=repeat, completed_at=completed_at
    )


def _item(entry: ListEntry) -> MediaItem:
    """The anime (or anime film) an entry is of."""
    return MediaItem.create(
        MediaType.MOVIE if entry.format == "MOVIE" else MediaType.ANIME,
        title=entry.title,
        year=entry.year,
        ids={"anilist": entry.media_id, "mal": entry.id_mal},
    )


def _payload(feature: Feature, entry: ListEntry, scale: RatingScale) -> Payload | None:
    """What `entry` says for `feature`, or None when it is not part of it."""
    match feature:
        case Feature.WATCHLIST:
            if entry.status != PLANNING:
                return None
            return Listed(entry.created_at or entry.updated_at)
        case Feature.HISTORY:
            if not entry.in_history:
                return None
            watched_at = (
                datetime.combine(entry.completed_at, _NOON)
                if entry.completed_at is not None
                else entry.updated_at
            )
            return Watched.from_state(1 + entry.repeat, watched_at)
        case Feature.RATINGS:
            value = to_normalized(scale, entry.score)
            return None if value is None else Rated(value, entry.updated_at)


def _outcome(request: WriteRequest, stored: bool) -> WriteResult:
    # A reply that does not show the wanted state proves nothing either way: verification will.
    return WriteResult(request.item, WriteOutcome.CONFIRMED if stored else WriteOutcome.UNKNOWN)


def _confirmed(request: WriteRequest) -> WriteResult:
    return WriteResult(request.item, WriteOutcome.CONFIRMED)


def _rejected(request: WriteRequest, reason: str) -> WriteResult:
    return WriteResult(request.item, WriteOutcome.REJECTED, reason)


def _anilist_id(item: MediaItem) -> int | None:
    value = item.ids().get("anilist")
    return int(value) if value is not None else None
