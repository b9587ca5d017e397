"""Plex as an engine provider: a plex.tv account's watchlist, and its state on one server.

The watched state and the ratings are kept on one Plex Media Server.

Watched state and ratings live on the server's library items (`viewCount`, `lastViewedAt`,
`userRating`, `lastRatedAt`), so one scan of the library serves both features; the scan is kept
for `library_ttl` seconds so that a run reading history and ratings reads the library once, and
is dropped after every library write (a watchlist write does not touch it). Only a scan that was
complete, not empty, and holds no fewer records than the scan before it is reused: a partial,
empty or
shrunken scan is never served again without asking the server, so a shrink is only ever
confirmed by a fresh read. Play history (`/status/sessions/history/all`) is admin-only and
is never needed: `health()` only records whether the token may read it.

Plex has no activity stamp. Each read's checkpoint carries a digest of the snapshot's content as
its `etag`, a fingerprint of what was read. It is no evidence of real activity: a digest changes
with any shrink, a server's hiccup included.

Items carry every id Plex gives them: the `guid` of the new agent (plex://...), its `Guid` list
(imdb/tmdb/tvdb), the legacy agents' guids (`com.plexapp.agents.imdb://tt...?lang=en`,
`...thetvdb://<show>/<season>/<episode>`), HAMA's, and the server's ratingKey as the local
`plex_key`. Episodes take their show's ids from the show records of the same section.

Writes resolve the requested item to the server's library item by any shared id, else (only
for a unique match) by exact title and year, and name it in `stored_as`. Plex answers each call
on its own, so each written item is confirmed or rejected by its own reply. Plex cannot date a
play: a scrobble is dated when the server receives it.

The watchlist is Plex's online one (Discover). It holds movies and shows only, by Plex
metadata id: an item without a plex guid is looked up in the library, then by its imdb, tmdb or
tvdb id at Plex's metadata service.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
import hashlib
import time
from types import MappingProxyType

from ...clients.plex import Metadata, PagedRead, PlexAccount, PlexClient, Section
from ...clients.plex.client import TYPE_EPISODE, TYPE_MOVIE, TYPE_SHOW
from ...engine.capabilities import Capabilities, HistorySupport
from ...engine.cursor import Checkpoint
from ...engine.ids import Namespace, parse_plex_guid, plex_guid_ids
from ...engine.items import MediaItem, MediaType, normalize_title, weak_key
from ...engine.payloads import Entry, Feature, Listed, Payload, Rated, Watched
from ...engine.plan import Action
from ...engine.provider import (
    AuthError,
    ProviderError,
    RateLimitError,
    Read,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from ...engine.ratings import RatingScale, from_normalized, to_normalized
from ...engine.snapshot import Completeness, Snapshot
from ..client_errors import HttpError, translating

NOT_IN_LIBRARY = "not_in_library"
NOT_ON_PLEX = "not_found_on_plex"
WATCHLIST_TYPES = "Plex watchlists hold movies and shows only"
CONFLICT = "a conflict is never written"
LIBRARY_TTL = 60.0
_EXTERNAL = (Namespace.IMDB, Namespace.TMDB, Namespace.TVDB)
_WATCHLIST_KINDS = MappingProxyType({"movie": MediaType.MOVIE, "show": MediaType.SHOW})
# The item types a scan reads from each kind of section.
_SCANNED_TYPES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {"movie": (TYPE_MOVIE,), "show": (TYPE_SHOW, TYPE_EPISODE)}
)


@dataclass(frozen=True, slots=True)
class LibraryRecord:
    """One library item of the server: its item, ratingKey, watched state and rating."""

    item: MediaItem
    rating_key: str
    watched: Watched | None
    rated: Rated | None


@dataclass(frozen=True, slots=True)
class Library:
    """One scan of the server's library, indexed by every token and by weak title key."""

    records: tuple[LibraryRecord, ...]
    completeness: Completeness
    unreadable: Mapping[Feature, int]  # records a feature would have needed but could not use
    read_at: float
    by_token: Mapping[str, tuple[int, ...]]
    by_title: Mapping[str, tuple[int, ...]]
    # Complete, and no smaller than the scan before it: fit to be served again without asking.
    reusable: bool = False
    stale: bool = False  # a write happened since: do not serve reads from it

    @classmethod
    def build(
        cls,
        records: Sequence[LibraryRecord],
        completeness: Completeness,
        unreadable: Mapping[Feature, int],
        read_at: float,
        *,
        reusable: bool = False,
    ) -> Library:
        """Index the records."""
        by_token: dict[str, list[int]] = {}
        by_title: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            for text in (*record.item.tokens, *record.item.local_tokens):
                by_token.setdefault(text, []).append(index)
            by_title.setdefault(weak_key(record.item), []).append(index)
        return cls(
            tuple(records),
            completeness,
            MappingProxyType(dict(unreadable)),
            read_at,
            MappingProxyType({k: tuple(v) for k, v in by_token.items()}),
            MappingProxyType({k: tuple(v) for k, v in by_title.items()}),
            reusable,
        )

    def find(self, item: MediaItem) -> tuple[list[LibraryRecord], bool]:
        """Every copy of `item` in the library, and whether the match is by ids (strong).

        Copies of one film in two libraries share its ids, and each keeps its own state, so a
        write goes to all of them. Without a shared id, a single item of the same type, exact
        title and year is a weak match; several such items match nothing.

        A ratingKey counts only after the external ids found nothing, and only for an item of
        the same type and title: another Plex server's ratingKey (a Plex to Plex pair) looks
        just like ours and names a different item.
        """
        found: dict[int, None] = {}
        for text in item.tokens:
            found.update(dict.fromkeys(self.by_token.get(text, ())))
        if not found:
            for text in item.local_tokens:
                found.update(
                    (i, None)
                    for i in self.by_token.get(text, ())
                    if _same_title(self.records[i].item, item)
                )
        if found:
            return [self.records[i] for i in found], True
        if item.title is None or item.year is None:
            return [], False
        same = [
            i
            for i in self.by_title.get(weak_key(item), ())
            if self.records[i].item.type == item.type
        ]
        if len(same) == 1:
            return [self.records[same[0]]], False
        return [], False


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
        self._library: Library | None = None
        self._history_access: bool | None = None
        # Every movie and show section any scan met (key -> type): a section list that came
        # back short must not shrink what the server's own count is asked about.
        self._sections_met: dict[str, str] = {}

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

    # -- reads ----------------------------------------------------------------------------

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """A present snapshot of `feature`; a failed page makes it partial, never short."""
        if feature is Feature.WATCHLIST:
            entries, completeness = await self._read_watchlist()
        else:
            library = await self._fresh_library()
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
                completeness = replace(
                    completeness, failure=f"{failure}; {note}" if failure else note
                )
        snapshot = Snapshot.build(self.name, feature, entries, completeness)
        del checkpoint  # Plex has no activity stamp to compare with the last one
        return Read(
            snapshot,
            Checkpoint(
                provider=self.key,
                feature=feature,
                watermark=None,
                # A fingerprint of the content read, to tell an unchanged read from a changed
                # one; it changes with a hiccup's shrink as much as with the user's activity.
                etag=_digest(snapshot),
                updated_at=datetime.fromtimestamp(self._now(), UTC),
            ),
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
            for plex_type in _SCANNED_TYPES[kind]:
                counted += await self._client.section_count(section, plex_type)
        return counted == snapshot.completeness.seen_total

    def _meet(self, sections: Sequence[Section]) -> None:
        self._sections_met.update(
            (section.key, section.type) for section in sections if section.type in _SCANNED_TYPES
        )

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Scan the library again on the next read, however recent the last scan.

        The watchlist is read afresh every time, so there is nothing else to forget. The old
        scan stays at hand for resolving writes until the next one replaces it.
        """
        del validated
        if self._library is not None and feature is not Feature.WATCHLIST:
            self._library = replace(self._library, stale=True)

    async def _fresh_library(self) -> Library:
        library = self._library
        if (
            library is None
            or not library.reusable
            or library.stale
            or self._now() - library.read_at > self._ttl
        ):
            library = await self._scan_library()
        return library

    async def _library_for_writes(self) -> Library:
        """A scan to resolve written items in: the last one, unless it is unfit for reuse.

        Watched state and ratings going stale does not matter here, ratingKeys and ids do: a
        write after an empty or partial scan would find nothing and be refused.
        """
        if self._library is not None and self._library.reusable:
            return self._library
        return await self._scan_library()

    async def _scan_library(self) -> Library:
        sections = await self._client.sections()
        self._meet(sections)
        records: list[LibraryRecord] = []
        unreadable = {Feature.HISTORY: 0, Feature.RATINGS: 0}
        failures: list[str] = []
        expected: int | None = 0
        seen = 0
        all_pages = True

        def account(what: str, paged: PagedRead) -> None:
            nonlocal expected, seen, all_pages
            seen += len(paged.items)
            if expected is not None:
                expected = None if paged.expected_total is None else expected + paged.expected_total
            all_pages = all_pages and paged.all_pages
            if paged.failure:
                failures.append(f"{what}: {paged.failure}")

        for section in sections:
            if section.type == "movie":
                movies = await self._client.section_items(section.key, TYPE_MOVIE)
                account(f"section {section.key} movies", movies)
                _collect(records, unreadable, movies.items, MediaType.MOVIE, {})
            elif section.type == "show":
                shows = await self._client.section_items(section.key, TYPE_SHOW)
                account(f"section {section.key} shows", shows)
                show_map = _collect(records, unreadable, shows.items, MediaType.SHOW, {})
                episodes = await self._client.section_items(section.key, TYPE_EPISODE)
                account(f"section {section.key} episodes", episodes)
                _collect(records, unreadable, episodes.items, MediaType.EPISODE, show_map)
        completeness = Completeness(
            all_pages=all_pages,
            expected_total=expected,
            seen_total=seen,
            failure="; ".join(failures) or None,
        )
        previous = self._library
        library = Library.build(
            records,
            completeness,
            unreadable,
            self._now(),
            # An empty scan is never kept: asking again costs next to nothing if it is true.
            reusable=completeness.complete
            and bool(records)
            and (previous is None or len(records) >= len(previous.records)),
        )
        self._library = library
        return library

    async def _read_watchlist(self) -> tuple[list[Entry], Completeness]:
        paged = await self._client.watchlist()
        entries: list[Entry] = []
        unreadable = 0
        library: Library | None = None
        for row in paged.items:
            kind = _WATCHLIST_KINDS.get(row.type or "")
            if kind is None:
                continue  # collections and the like: nothing the engine syncs
            try:
                item = _discover_item(row, kind)
            except ValueError, TypeError:
                unreadable += 1
                continue
            if not any(namespace in item.ids() for namespace in _EXTERNAL):
                library = library or await self._library_for_enrichment()
                item = _enriched(item, library)
            entries.append(Entry(item, Listed(row.watchlisted_at)))
        failure = paged.failure
        if unreadable:
            note = f"{unreadable} records could not be read"
            failure = f"{failure}; {note}" if failure else note
        completeness = Completeness(
            all_pages=paged.all_pages,
            expected_total=paged.expected_total,
            seen_total=len(paged.items),
            failure=failure,
        )
        return entries, completeness

    async def _library_for_enrichment(self) -> Library | None:
        """The library, to lend ids to watchlist items that carry only Plex's own.

        Never an emptied, shrunken or partial scan: lending fewer ids would change the keys of
        watchlist items from one read to the next.
        """
        if self._library is not None and self._library.reusable:
            return self._library
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
            if self._library is not None:
                self._library = replace(self._library, stale=True)

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
            found = await self._discover_target(item)
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

    async def _discover_target(self, item: MediaItem) -> tuple[str, MediaItem] | None:
        """The Plex metadata id a watchlist write goes by, and the item it names."""
        plex_id = item.ids().get(Namespace.PLEX)
        if plex_id is not None:
            return plex_id, item
        if self._library is not None:
            records, strong = self._library.find(item)
            for record in records if strong else ():
                if (library_id := record.item.ids().get(Namespace.PLEX)) is not None:
                    return library_id, record.item
        plex_type = TYPE_MOVIE if item.type is MediaType.MOVIE else TYPE_SHOW
        kind = MediaType.MOVIE if item.type is MediaType.MOVIE else MediaType.SHOW
        ids = item.ids()
        for namespace in _EXTERNAL:
            value = ids.get(namespace)
            if value is None:
                continue
            rows = await self._client.matches(plex_type, f"{namespace}://{value}")
            keyed = [(key, row) for row in rows if (key := row.rating_key)]
            if len({key for key, _ in keyed}) != 1:
                continue  # nothing, or several titles: ask by the next id
            rating_key, row = keyed[0]
            try:
                matched = _discover_item(row, kind)
            except ValueError, TypeError:
                matched = item
            return rating_key, matched
        return None


def _same_title(ours: MediaItem, theirs: MediaItem) -> bool:
    """Whether two items agree on type and, where both have one, on the normalized title."""
    if ours.type is not theirs.type:
        return False
    if ours.title is None or theirs.title is None:
        return True
    return normalize_title(ours.title) == normalize_title(theirs.title)


def _failed(item: MediaItem, err: HttpError) -> WriteResult:
    """A refused call is rejected; a 5xx may have been applied before it failed: unknown."""
    outcome = WriteOutcome.UNKNOWN if err.status >= 500 else WriteOutcome.REJECTED
    return WriteResult(item, outcome, str(err))


# -- mapping Plex records to items and payloads -----------------------------------------------


def _guids(row: Metadata) -> tuple[str, ...]:
    """The record's guids; a ValueError when the client could not read its Guid list."""
    if row.guids is None:
        raise ValueError("a record whose Guid list is not a list")
    return row.guids


def _rating_key(row: Metadata) -> str:
    if row.rating_key is None:
        raise ValueError("a record without its ratingKey")
    return row.rating_key


@dataclass(frozen=True, slots=True)
class _Show:
    title: str | None
    year: int | None
    ids: Mapping[str, str]


def _collect(
    records: list[LibraryRecord],
    unreadable: dict[Feature, int],
    rows: Iterable[Metadata],
    kind: MediaType,
    shows: Mapping[str, _Show],
) -> dict[str, _Show]:
    """Append the records of `rows`; the shows among them by ratingKey (for their episodes)."""
    found: dict[str, _Show] = {}
    for row in rows:
        watched, rated = _watched(row), _rated(row)
        try:
            rating_key = _rating_key(row)
            if kind is MediaType.EPISODE:
                item = _episode(row, rating_key, shows)
            else:
                ids: dict[str, str] = {str(k): v for k, v in plex_guid_ids(_guids(row)).items()}
                item = MediaItem.create(
                    kind,
                    title=row.title,
                    year=row.year,
                    ids={**ids, Namespace.PLEX_KEY: rating_key},
                )
                if kind is MediaType.SHOW:
                    found[rating_key] = _Show(item.title, item.year, ids)
        except KeyError, ValueError, TypeError:
            # Only what a feature would have held counts against its completeness.
            if watched is not None:
                unreadable[Feature.HISTORY] += 1
            if rated is not None:
                unreadable[Feature.RATINGS] += 1
            continue
        records.append(LibraryRecord(item, rating_key, watched, rated))
    return found


def _episode(row: Metadata, rating_key: str, shows: Mapping[str, _Show]) -> MediaItem:
    parent = row.grandparent_rating_key
    show = shows.get(parent) if parent is not None else None
    season, number = row.parent_index, row.index
    own: dict[str, str] = {}
    show_ids: dict[str, str] = dict(show.ids) if show else {}
    for guid in _guids(row):
        parsed = parse_plex_guid(guid)
        if parsed is None:
            continue
        if parsed.episode is not None:
            # A legacy agent's episode guid: the show's id and the episode's position.
            show_ids.setdefault(parsed.namespace, parsed.value)
            season = season if season is not None else parsed.season
            number = number if number is not None else parsed.episode
        elif parsed.season is None:
            own.setdefault(parsed.namespace, parsed.value)
    if show is None:
        # The show record was not read: its guid on the episode still names it.
        for namespace, value in plex_guid_ids([row.grandparent_guid or ""]).items():
            show_ids.setdefault(namespace, value)
    return MediaItem.create(
        MediaType.EPISODE,
        title=show.title if show else row.grandparent_title,
        year=show.year if show else None,
        ids={**own, Namespace.PLEX_KEY: rating_key},
        show_ids=show_ids,
        season=season,
        episode=number,
    )


def _watched(row: Metadata) -> Watched | None:
    count = row.view_count or 0
    if count <= 0:
        return None
    return Watched.from_state(count, row.last_viewed_at)


def _rated(row: Metadata) -> Rated | None:
    if row.user_rating is None:
        return None
    try:
        value = to_normalized(RatingScale.HALF_STEPS_0_10, row.user_rating)
    except ValueError:
        return None
    return None if value is None else Rated(value, row.last_rated_at)


def _native_rating(feature: Feature, action: Action, payload: Payload | None) -> float | None:
    """The userRating to send (-1 removes one); None for a rating write without a rating."""
    if feature is not Feature.RATINGS or action is Action.REMOVE:
        return -1
    if not isinstance(payload, Rated):
        return None
    return from_normalized(RatingScale.HALF_STEPS_0_10, payload.value)


def _payload_of(record: LibraryRecord, feature: Feature) -> Payload | None:
    return record.watched if feature is Feature.HISTORY else record.rated


def _discover_item(row: Metadata, kind: MediaType) -> MediaItem:
    ids = {str(namespace): value for namespace, value in plex_guid_ids(_guids(row)).items()}
    return MediaItem.create(kind, title=row.title, year=row.year, ids=ids)


def _enriched(item: MediaItem, library: Library | None) -> MediaItem:
    """A watchlist item with the ids of the library item sharing its plex guid, if any."""
    if library is None:
        return item
    records, strong = library.find(item)
    for record in records if strong else ():
        if record.item.type is item.type:
            borrowed = MediaItem.from_tokens(
                item.type,
                title=item.title,
                year=item.year,
                season=None,
                episode=None,
                tokens=record.item.tokens,
                local_tokens=(),  # the ratingKey is the server's, not the watchlist's
            )
            return item.merged(borrowed)
    return item


def _digest(snapshot: Snapshot) -> str:
    """A validator of the snapshot's content, standing in for the ETag Plex does not send."""
    hasher = hashlib.sha256()
    for key in sorted(snapshot.entries):
        hasher.update(f"{key}={snapshot.entries[key].payload!r}\n".encode())
    hasher.update(snapshot.completeness.describe().encode())
    return hasher.hexdigest()[:32]
