"""SIMKL's delta cache: each bucket as its last pulls showed it, and the stamps it reflects.

The cache never believes more than SIMKL's bodies showed:

- A bucket's activity stamps (its watermark, and the read's checkpoint) advance only together
  with a body that reflects them. A failed pull leaves the bucket's cache and stamps as they
  were and makes the snapshot partial.
- Which bodies count as "no rows". The blueprint says of `/sync/all-items`: "If a user doesn't
  have anything in his watchlists, the response will be `null`", and its examples key each
  bucket's rows by the bucket's name. So a `null` body, an empty one (our HTTP client cannot
  tell the two apart), or an object without the bucket's key is a bucket without rows; the
  ratings endpoint is read the same way. Anything else the blueprint does not document (a list
  where the object belongs, the bucket's key holding null or a string, a body that is not JSON,
  a row that names no title) is a failed pull of that bucket, never an empty list. The client
  reads the bodies so (`clients/simkl/models.py`); the adapter turns the rows into items.
- A delta (`date_from`) without rows legitimately means "nothing filed since then". But the
  activities said the bucket moved, so either the change is filed under an earlier date (SIMKL
  files a back-dated write under the date it was watched) or the stamp moved without one. Only a
  full pull tells which, so one follows at once and the stamps advance with it; taking the
  stamps from the empty delta would hide that change until the next one.
- A full pull without rows is reported to the engine as it was read (the engine judges shrinks
  and confirms them with a later fresh read), but it becomes the cache only once a second full
  pull agrees: until then the bucket keeps what it held and its next read pulls it in full
  again. An empty 200 is the classic hiccup, and a cache that kept it would serve an empty list
  until the stamps move again. Rows are never second-guessed: a short list is SIMKL's answer.
- A bucket is pulled in full when nothing is cached, when `removed_from_list` moved (a delta
  cannot show a removal), when the activities lack its section (we cannot know what changed,
  and a missing stamp is no evidence of change either), after our own writes (below), and at
  least once a day (`max_cache_age`): activities that stopped advancing for a while must not
  hide a change, a removal above all, for good.

Writes fold nothing into the cache: only fresh reads verify, and a cache that showed what SIMKL
answered `ok: true` or a count to would have the engine verify writes SIMKL silently dropped.
Our writes are back-dated, so no delta shows them; each write therefore marks the buckets it may
have touched (the ratings too when it deletes a title's rating), and those are pulled in full
until a full pull shows the write, or `SETTLE_PULLS` full pulls did not. SIMKL may serve a body
from before a write for a read or two; a write it dropped never shows, and the bound keeps what
that costs finite (the engine reports such writes as phantoms).
"""

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
import json
import secrets
from types import MappingProxyType
from typing import Final

from ...clients.off_loop import off_loop
from ...clients.simkl.models import BUCKETS, ListedRow, RatedRow, Stamps
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Entry, Feature, Rated
from ...engine.provider import (
    AccountLimitError,
    AccountLockedError,
    AuthError,
    ProviderError,
    RateLimitError,
    WriteRequest,
)
from ...engine.ratings import RatingScale, same_rating
from ...engine.snapshot import Completeness, Snapshot
from .packing import PackedBucket, pack_ratings, pack_titles
from .parse import (
    LIST_STATUSES,
    HasItem,
    Rating,
    Title,
    View,
    list_entries,
    parse_ratings,
    parse_titles,
    rating_entries,
)

REMOVED: Final = "removed_from_list"
RATED: Final = "rated_at"
# The two caches, by name: the lists of titles (watchlist and history) and the ratings.
LISTS: Final = "lists"
RATINGS: Final = "ratings"
# Full pulls a written bucket gets for the write to show. SIMKL may serve a body from before a
# write for a read or two; a write it silently dropped never shows (nor does one whose ids the
# view cannot match), and pulling in full for it forever would break SIMKL's polling rules.
SETTLE_PULLS: Final = 3

type CacheStamps = dict[str, str | None]  # as a cache keeps a bucket's activity stamps
# A bucket's entries by cache key, live; or packed between runs (`packing.py`).
type Held[T: HasItem] = Mapping[str, T] | PackedBucket[T]


# Errors that must reach the engine as they are instead of becoming a partial read.
FATAL: Final = (AuthError, RateLimitError, AccountLockedError, AccountLimitError)


@dataclass(frozen=True, slots=True)
class Cache[T: HasItem]:
    """What a full pull (and the deltas after it) showed of one bucket, and the stamps it reflects.

    `stamps` is empty when the activities had no section for the bucket: nothing to compare.
    `entries` is read-only: only the `Library` holding the bucket changes it, with its index.
    Between runs they are packed (`Library.rest`); `live` makes them a mapping, off the loop.
    """

    stamps: CacheStamps
    entries: Held[T]  # cache key -> entry, or those entries packed
    pulled_at: datetime  # when the full pull under it was made


@dataclass(frozen=True, slots=True)
class Indexed[T: HasItem]:
    """One bucket's entries by cache key, and the keys of the entries holding each token.

    Built in a worker thread for a full pull (`index_bucket`): at 100,000 titles, indexing on
    the event loop would hold it for a third of a second. Adopted by the `Library` in one step.
    """

    held: dict[str, T]
    # token -> keys of the entries holding it, in the order they were put in place (the order
    # a walk of the bucket meets them); nearly always one, so a tuple is the smallest holder.
    index: dict[str, tuple[str, ...]]


def entries_of[T: HasItem](held: Held[T]) -> Mapping[str, T]:
    """A bucket's entries as a mapping: unpacked when packed (pure; for the executor).

    The keys come again from the entries (`_entry_key`), as the cache made them.
    """
    if isinstance(held, PackedBucket):
        return {_entry_key(entry.item): entry for entry in held.entries()}
    return held


def handed[T: HasItem](held: Held[T]) -> Held[T]:
    """A bucket's entries to hand a worker thread, which must not see them change.

    Live ones are copied (a write on the loop may change them meanwhile); packed ones are
    handed as they are (bytes never change).
    """
    return held if isinstance(held, PackedBucket) else dict(held)


def index_bucket[T: HasItem](entries: Iterable[T]) -> Indexed[T]:
    """A full pull's entries, indexed: pure, so it may run off the event loop."""
    held: dict[str, T] = {}
    for entry in entries:
        held[_entry_key(entry.item)] = entry  # a repeated key keeps its first place
    index: dict[str, tuple[str, ...]] = {}
    for key, entry in held.items():
        for token in _tokens(key, entry):
            index[token] = (*index.get(token, ()), key)
    return Indexed(held, index)


class Library[T: HasItem](Mapping[str, Cache[T]]):
    """One cache's buckets (bucket -> Cache), and an index that finds their entries by any token.

    The engine writes in batches of a hundred, and a first run of a large library makes a
    thousand of them: each must find its titles without walking the whole cache (which held the
    event loop for seconds at 100,000 titles). So the index is kept up to date as entries come
    and go, and only this class changes the entries, so nothing can change one without the other.

    An entry is found by any of its item's tokens or its cache key. When several entries share a
    token, the one a walk of the buckets (in their order) and their entries meets first wins,
    exactly as an index built afresh by such a walk (first token seen kept) would answer.

    Between runs (`rest`) each bucket is kept packed, without its index: a few megabytes instead
    of tens, and nothing for the cycle collector to walk. What needs the entries (`merge`,
    `where`, `find`) asks for them live first (`live`, which unpacks and indexes them in the
    executor); a packed bucket's entries and its version are the ones it had live.
    """

    def __init__(self, pack: Callable[[Iterable[T]], PackedBucket[T]] | None = None) -> None:
        """Start without buckets: a bucket never pulled has no cache.

        `pack` packs a bucket's entries (`packing.py`); without it, buckets stay live.
        """
        self._pack = pack
        self._caches: dict[str, Cache[T]] = {}
        # What each live Cache's `entries` shows, indexed; a packed bucket has none.
        self._buckets: dict[str, Indexed[T]] = {}
        # Every change counts, and the count is this library's own: see `version`.
        self._library = secrets.token_hex(8)
        self._changes = 0

    @property
    def version(self) -> str:
        """Names what the buckets hold now: it changes with every change to any of them.

        Unique to this library (a provider made anew starts a new one), so equal versions
        mean the same entries.
        """
        return f"{self._library}.{self._changes}"

    def __getitem__(self, bucket: str) -> Cache[T]:
        """The bucket's cache."""
        return self._caches[bucket]

    def __iter__(self) -> Iterator[str]:
        """The buckets, in the order they were first cached."""
        return iter(self._caches)

    def __len__(self) -> int:
        """How many buckets are cached."""
        return len(self._caches)

    def clear(self) -> None:
        """Forget every bucket, as if never pulled."""
        self._caches.clear()
        self._buckets.clear()
        self._changes += 1

    def replace(
        self, bucket: str, stamps: CacheStamps, entries: Iterable[T], pulled_at: datetime
    ) -> Mapping[str, T]:
        """Make a full pull's entries the bucket's cache; return them as the cache holds them."""
        return self.adopt(bucket, stamps, index_bucket(entries), pulled_at)

    def adopt(
        self, bucket: str, stamps: CacheStamps, indexed: Indexed[T], pulled_at: datetime
    ) -> Mapping[str, T]:
        """`replace`, with the entries indexed already (`index_bucket`, off the loop)."""
        self._changes += 1
        self._buckets[bucket] = indexed
        entries = MappingProxyType(indexed.held)
        self._caches[bucket] = Cache(stamps, entries, pulled_at)
        return entries

    def packed(self, bucket: str) -> bool:
        """Whether the bucket is cached packed (`live` unpacks it)."""
        return bucket in self._caches and bucket not in self._buckets

    async def live(self, buckets: Iterable[str] | None = None) -> None:
        """Make the buckets (by default, every one) live and indexed: unpacked in the executor.

        Once per run at most: they stay live until the run ends (`rest`).
        """
        for bucket in list(self._caches if buckets is None else buckets):
            cache = self._caches.get(bucket)
            if cache is None or not isinstance(packed := cache.entries, PackedBucket):
                continue
            indexed = await off_loop(partial(_unpacked, packed), size=len(packed))
            if self._caches.get(bucket) is cache:  # unchanged meanwhile
                self._buckets[bucket] = indexed
                self._caches[bucket] = replace(cache, entries=MappingProxyType(indexed.held))

    async def rest(self) -> None:
        """Pack every live bucket (in the executor) and drop its index, until a run needs it.

        Nothing the buckets hold changes: neither their entries, their order nor `version`.
        A bucket that changes while it is being packed stays live.
        """
        if self._pack is None:
            return
        for bucket, indexed in list(self._buckets.items()):
            cache = self._caches[bucket]
            entries = list(indexed.held.values())  # a copy: the loop may change the bucket
            packed = await off_loop(partial(self._pack, entries), size=len(entries))
            if self._caches.get(bucket) is cache and self._buckets.get(bucket) is indexed:
                del self._buckets[bucket]
                self._caches[bucket] = replace(cache, entries=packed)

    def merge(
        self,
        bucket: str,
        stamps: CacheStamps,
        fresh: Iterable[T],
        cleared: Iterable[MediaItem] = (),
    ) -> Mapping[str, T]:
        """Fold a delta into a cached bucket: drop what it cleared, put re-read rows in place.

        The bucket must be live (`live`).
        """
        indexed = self._live(bucket)
        self._changes += 1
        for item in cleared:
            _drop(indexed, item)
        for entry in fresh:
            _drop(indexed, entry.item)
            key = _entry_key(entry.item)
            indexed.held[key] = entry  # after the drop: a re-read row goes last, as in a fresh dict
            for token in _tokens(key, entry):
                indexed.index[token] = (*indexed.index.get(token, ()), key)
        self._caches[bucket] = replace(self._caches[bucket], stamps=stamps)
        return MappingProxyType(indexed.held)

    def _live(self, bucket: str) -> Indexed[T]:
        if self.packed(bucket):
            raise RuntimeError(f"SIMKL's cached {bucket} are packed: make them live first")
        return self._buckets[bucket]

    def where(self, item: MediaItem, among: Sequence[str] | None = None) -> tuple[str, str] | None:
        """(bucket, cache key) of the entry held for `item` (by any of its tokens), if any.

        `among` limits the search to those buckets, walked in that order (by default, every
        bucket in the cache's order): a bucket a read could not see must not be found. The
        buckets searched must be live (`live`).
        """
        order = [
            (b, self._live(b)) for b in (self._caches if among is None else among) if b in self
        ]
        for token in (*item.tokens, item.key):
            for bucket, indexed in order:
                keys = indexed.index.get(token)
                if keys:
                    return bucket, keys[0]
        return None

    def find(self, item: MediaItem, among: Sequence[str] | None = None) -> T | None:
        """The entry held for `item` (by any of its tokens), if any; `among` as for `where`."""
        place = self.where(item, among)
        return None if place is None else self._live(place[0]).held[place[1]]


def _unpacked[T: HasItem](packed: PackedBucket[T]) -> Indexed[T]:
    """A packed bucket, live and indexed as it was (pure; for the executor)."""
    return index_bucket(packed.entries())


def _drop[T: HasItem](indexed: Indexed[T], item: MediaItem) -> None:
    """Drop every entry of a bucket that holds one of the item's tokens or its key."""
    doomed = {key for token in {*item.tokens, item.key} for key in indexed.index.get(token, ())}
    for key in doomed:
        entry = indexed.held.pop(key)
        for token in _tokens(key, entry):
            left = tuple(k for k in indexed.index[token] if k != key)
            if left:
                indexed.index[token] = left
            else:
                del indexed.index[token]


@dataclass(frozen=True, slots=True)
class Kind[T: HasItem, R]:
    """One of the two caches, and how to fill it (from rows of type R) and read it out."""

    name: str  # LISTS or RATINGS
    caches: Library[T]
    keys: tuple[str, ...]  # the activity stamps that say the cached content changed
    fetch: Callable[[str, str | None], Awaitable[Sequence[R]]]  # (bucket, date_from) -> rows
    # A bucket's rows -> the entries they hold, and the items they say no longer count
    # (a rating delta lists a deleted rating as a row without one).
    parse: Callable[[str, Sequence[R]], tuple[list[T], list[MediaItem]]]
    entries: Callable[[Feature, View[T]], Iterator[Entry]]


@dataclass(frozen=True, slots=True)
class Pulled[T: HasItem]:
    """What one read learned of a cache's buckets."""

    view: dict[str, Held[T]]  # bucket -> entries as this read saw them (packed: unchanged)
    stamps: dict[str, CacheStamps]  # bucket -> the stamps its cache reflects (none: not known)
    fresh: frozenset[str]  # the buckets this read pulled in full
    failed: frozenset[str]
    # Buckets whose full pull came back empty and was not kept: the read saw them empty while
    # the cache (and its index) still holds the earlier rows.
    unkept: frozenset[str]
    failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Seen[T: HasItem]:
    """One bucket as a read saw it."""

    entries: Held[T]
    full: bool  # pulled in full
    kept: bool = True  # what the cache now holds (not an empty full pull it did not keep)


@dataclass(frozen=True, slots=True)
class Awaited:
    """A write that no full pull of the buckets it may have touched has shown yet."""

    cache: str  # LISTS or RATINGS
    buckets: frozenset[str]
    # The feature whose view shows the write; None when no view can (a season's episodes are
    # SIMKL's to know): one full pull of its buckets settles it.
    feature: Feature | None
    item: MediaItem
    payload: Rated | None  # compared when the write set a rating
    removal: bool
    pulls: int = 0  # full pulls of all its buckets that did not show it


class DeltaCache:
    """Both caches of one account (the lists of titles, the ratings) and the writes they await.

    `lists` and `ratings` map each bucket to its cache; a bucket never pulled has none. Each
    finds its entries by token (`Library.where`, `Library.find`).
    """

    def __init__(
        self,
        all_items: Callable[[str, str | None], Awaitable[Sequence[ListedRow]]],
        ratings: Callable[[str, str | None], Awaitable[Sequence[RatedRow]]],
        *,
        now: Callable[[], datetime],
        max_cache_age: timedelta,
    ) -> None:
        """Bind the two fetches (bucket, date_from) -> rows, and the clock."""
        self._now = now
        self._max_cache_age = max_cache_age
        self.lists: Library[Title] = Library(pack_titles)
        self.ratings: Library[Rating] = Library(pack_ratings)
        self.list_kind = Kind(
            LISTS, self.lists, LIST_STATUSES, all_items, parse_titles, list_entries
        )
        self.rating_kind = Kind(
            RATINGS, self.ratings, (RATED,), ratings, parse_ratings, rating_entries
        )
        # (cache, bucket) whose last full pull had no rows and was not kept.
        self._empty_once: set[tuple[str, str]] = set()
        self.awaited: list[Awaited] = []

    def last_seen[T: HasItem, R](self, kind: Kind[T, R]) -> dict[str, Held[T]] | None:
        """Every bucket of `kind` as the last full pulls showed it; None when one is unknown.

        A bucket never pulled is unknown. One whose first full pull came back empty was seen
        empty. One whose full pull came back empty after rows (a suspect pull, not kept until
        a second one agrees) is unknown too: the cache holds rows that pull did not show.
        """
        seen: dict[str, Held[T]] = {}
        for bucket in BUCKETS:
            held = kind.caches.get(bucket)
            if (kind.name, bucket) in self._empty_once:
                if held is not None:
                    return None
                seen[bucket] = {}
            elif held is not None:
                seen[bucket] = held.entries
            else:
                return None
        return seen

    def forget(self, feature: Feature | None) -> None:
        """Drop the caches the feature reads (the lists for watchlist and history), as if cold."""
        forgotten: set[str] = set()
        if feature is not Feature.RATINGS:
            self.lists.clear()
            forgotten.add(LISTS)
        if feature in (None, Feature.RATINGS):
            self.ratings.clear()
            forgotten.add(RATINGS)
        # A cold start again: an empty full pull must be confirmed anew.
        self._empty_once = {place for place in self._empty_once if place[0] not in forgotten}

    async def live(self) -> None:
        """Make both caches live, to look titles up in (unpacked in the executor; once a run)."""
        await self.lists.live()
        await self.ratings.live()

    async def rest(self) -> None:
        """Pack both caches until a run needs them (`Library.rest`)."""
        await self.lists.rest()
        await self.ratings.rest()

    def refused(self, awaited: Iterable[Awaited], items: set[int]) -> None:
        """Stop waiting for the writes of `awaited` whose items (by identity) SIMKL refused.

        SIMKL stored nothing for what it refused: there is nothing to wait for.
        """
        dropped = {id(a) for a in awaited if id(a.item) in items}
        self.awaited = [a for a in self.awaited if id(a) not in dropped]

    async def refresh[T: HasItem, R](
        self, kind: Kind[T, R], stamps: Mapping[str, Stamps], owner: str
    ) -> Pulled[T]:
        """Bring one cache's buckets up to the activities, and say what this read saw."""
        # Only writes made before this read began can be judged by what it pulls.
        before = {id(awaited) for awaited in self.awaited}
        view: dict[str, Held[T]] = {}
        fresh: set[str] = set()
        failed: set[str] = set()
        unkept: set[str] = set()
        failures: list[str] = []
        for bucket in BUCKETS:
            try:
                seen = await self._refresh_bucket(kind, bucket, stamps.get(bucket))
            except FATAL:
                raise
            except ProviderError as err:
                failed.add(bucket)
                failures.append(f"{bucket}: {err}")
                cache = kind.caches.get(bucket)
                if cache is not None:
                    view[bucket] = cache.entries  # what is known, in a partial snapshot
                continue
            view[bucket] = seen.entries
            if seen.full:
                fresh.add(bucket)
            if not seen.kept:
                unkept.add(bucket)
        await self._settle(kind, view, frozenset(fresh), before, owner)
        kept = {
            bucket: dict(cache.stamps)
            for bucket, cache in kind.caches.items()
            if cache.stamps and bucket not in failed
        }
        return Pulled(
            view, kept, frozenset(fresh), frozenset(failed), frozenset(unkept), tuple(failures)
        )

    async def _refresh_bucket[T: HasItem, R](
        self, kind: Kind[T, R], bucket: str, now: Stamps | None
    ) -> _Seen[T]:
        """The bucket as this read sees it."""
        cache = kind.caches.get(bucket)
        if cache is None or not now or self._full_pull_due(kind.name, bucket, cache, now):
            return await self._pull_in_full(kind, bucket, cache, now)
        if all(now.get(key) == cache.stamps.get(key) for key in kind.keys):
            return _Seen(cache.entries, full=False)  # nothing moved: the cache is what SIMKL holds
        since = cache.stamps.get("all") or max(
            (stamp for key in kind.keys if (stamp := cache.stamps.get(key))), default=None
        )
        if since is not None:
            rows = await kind.fetch(bucket, since)
            if rows:
                kept, cleared = await off_loop(partial(kind.parse, bucket, rows), size=len(rows))
                await kind.caches.live((bucket,))  # a delta is merged into the live entries
                return _Seen(kind.caches.merge(bucket, dict(now), kept, cleared), full=False)
            # The bucket moved, yet nothing is filed since: a change filed under an earlier
            # date, or a stamp that moved without one. Only a full pull tells.
        return await self._pull_in_full(kind, bucket, cache, now)

    def _full_pull_due[T: HasItem](
        self, cache_name: str, bucket: str, cache: Cache[T], now: Stamps
    ) -> bool:
        place = (cache_name, bucket)
        return (
            now.get(REMOVED) != cache.stamps.get(REMOVED)  # a delta cannot show a removal
            # Activities that stopped advancing for a while (SIMKL's own caches) must not hide
            # a change for good: at least one full pull a day.
            or self._now() - cache.pulled_at >= self._max_cache_age
            or place in self._empty_once  # an empty full pull waits for a second one
            or any(a.cache == cache_name and bucket in a.buckets for a in self.awaited)
        )

    async def _pull_in_full[T: HasItem, R](
        self, kind: Kind[T, R], bucket: str, cache: Cache[T] | None, now: Stamps | None
    ) -> _Seen[T]:
        rows = await kind.fetch(bucket, None)

        def parsed_and_indexed() -> Indexed[T]:
            kept, _ = kind.parse(bucket, rows)
            return index_bucket(kept)

        indexed = await off_loop(parsed_and_indexed, size=len(rows))
        place = (kind.name, bucket)
        known = cache is None or len(cache.entries) > 0
        if not indexed.held and place not in self._empty_once and known:
            # Reported as read, but not the base for later reads until a second full pull
            # agrees: the cache and its stamps stay as they were.
            self._empty_once.add(place)
            return _Seen({}, full=True, kept=False)
        self._empty_once.discard(place)
        return _Seen(kind.caches.adopt(bucket, dict(now or {}), indexed, self._now()), full=True)

    async def _settle[T: HasItem, R](
        self,
        kind: Kind[T, R],
        view: Mapping[str, Held[T]],
        fresh: frozenset[str],
        judged: set[int],
        owner: str,
    ) -> None:
        """Stop waiting for writes that a full pull of all their buckets showed (or never will).

        `judged` names (by identity) the awaited writes this read may judge. The views they are
        judged by are built in a worker thread, on copies; writes awaited meanwhile (a write on
        the loop) are kept as they are.
        """
        considered = [
            a
            for a in self.awaited
            if id(a) in judged and a.cache == kind.name and a.buckets <= fresh
        ]
        wanted = {(a.feature, a.buckets) for a in considered if a.feature is not None}
        copies = {
            (feature, buckets): {b: handed(view[b]) for b in buckets} for feature, buckets in wanted
        }

        def built() -> dict[tuple[Feature, frozenset[str]], Snapshot]:
            return {
                (feature, buckets): Snapshot.build(
                    owner,
                    feature,
                    kind.entries(feature, {b: entries_of(h) for b, h in held.items()}),
                    Completeness(all_pages=True),
                )
                for (feature, buckets), held in copies.items()
            }

        size = sum(len(entries) for held in copies.values() for entries in held.values())
        shown = await off_loop(built, size=size)
        settled: dict[int, Awaited | None] = {}  # by identity: what replaces it (None: done)
        for awaited in considered:
            if awaited.feature is None:
                settled[id(awaited)] = None  # nothing to look for: this full pull was it
            elif _shows(shown[awaited.feature, awaited.buckets], awaited):
                settled[id(awaited)] = None
            elif awaited.pulls + 1 < SETTLE_PULLS:
                settled[id(awaited)] = replace(awaited, pulls=awaited.pulls + 1)
            else:
                settled[id(awaited)] = None
        waiting: list[Awaited] = []
        for awaited in self.awaited:
            if id(awaited) not in settled:
                waiting.append(awaited)
            elif (again := settled[id(awaited)]) is not None:
                waiting.append(again)
        self.awaited = waiting

    def await_writes(
        self, feature: Feature, removal: bool, requests: Iterable[WriteRequest]
    ) -> list[Awaited]:
        """Mark the buckets each write may touch for full pulls until a full pull shows it.

        Both caches must be live (`live`): each write's title is looked up in them.
        """
        added: list[Awaited] = []
        for request in requests:
            item = request.item
            title = _title_of(item)
            found = self.lists.where(title) or self.ratings.where(title)
            place = found[0] if found else None
            # SIMKL files a title in one bucket for good; one it never showed us may be filed
            # as anime whatever section we sent it in.
            buckets = frozenset(
                (place,)
                if place
                else ("movies" if title.type is MediaType.MOVIE else "shows", "anime")
            )
            rating = request.payload if isinstance(request.payload, Rated) else None
            own = RATINGS if feature is Feature.RATINGS else LISTS
            checked = feature if _checkable(feature, item) else None
            added.append(Awaited(own, buckets, checked, item, rating, removal))
            if removal and feature is not Feature.RATINGS and item is title:
                # history/remove of a title deletes its rating as well.
                added.append(Awaited(RATINGS, buckets, Feature.RATINGS, item, None, True))
            if feature is Feature.RATINGS and not removal:
                # Rating a title that is not listed lists it (a movie as completed, a show as
                # watching), and rating a listed movie may move it to completed: SIMKL's to say.
                added.append(Awaited(LISTS, buckets, None, item, None, False))
        self.awaited.extend(added)
        return added


def serialize(stamps: Mapping[str, Mapping[str, str | None]]) -> str:
    """The stamps a read saw, as the watermark of its checkpoint."""
    return json.dumps(stamps, sort_keys=True, separators=(",", ":"))


def _checkable(feature: Feature, item: MediaItem) -> bool:
    """Whether the feature's view can show a write of `item`.

    History lists movies and episodes; a title's or a season's episodes are SIMKL's to know.
    """
    if item.type is MediaType.SEASON:
        return False
    if feature is Feature.HISTORY:
        return item.type in (MediaType.MOVIE, MediaType.EPISODE)
    return True


def _shows(view: Snapshot, awaited: Awaited) -> bool:
    """Whether a fresh view shows the write as made (a removal: the item is gone)."""
    found = view.find(awaited.item)
    if awaited.removal:
        return found is None
    if found is None:
        return False
    if awaited.payload is not None and isinstance(found.payload, Rated):
        scale = RatingScale.INTEGER_1_10
        return same_rating(awaited.payload.value, found.payload.value, scale, scale)
    return True


def _entry_key(item: MediaItem) -> str:
    """Cache key: SIMKL's own id when the item has one, so a re-read replaces its row."""
    return next((t for t in item.tokens if t.startswith("simkl:")), item.key)


def _tokens[T: HasItem](key: str, entry: T) -> Iterable[str]:
    """What finds an entry: its item's tokens and its cache key (each once)."""
    return dict.fromkeys((*entry.item.tokens, key))


def _title_of(item: MediaItem) -> MediaItem:
    """The show an episode or season belongs to; a title itself otherwise."""
    if item.type not in (MediaType.EPISODE, MediaType.SEASON):
        return item
    return MediaItem.create(MediaType.SHOW, title=item.title, year=item.year, ids=item.show_ids())
